"""What event intake reads before it acts, on a real Redis: whether the event was taken before and which followed
space it is about, in one round trip (bench_live measures what that is worth in pushes per second)."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.domain import Tenant
from bot.store.keys import Keys
from bot.store.live import EventRoutes, WorkspaceEventsSeen

TEAM, OTHER = Tenant("T0001"), Tenant("T0002", "E0001")
SUB, CONF = "subscriptions/sub-a", "conferenceRecords/conf-1"


async def round_trips(redis: aioredis.Redis) -> int:
    """Read events the server has handled (one per round trip), not counting this INFO's own."""
    return int((await redis.info("stats"))["total_reads_processed"])


async def test_look_up_tries_subscription_space_then_conference(redis_client: aioredis.Redis) -> None:
    routes, seen = EventRoutes(redis_client, Keys()), WorkspaceEventsSeen(redis_client, Keys())
    await routes.link(TEAM, "s1", subscription=SUB, conference=CONF)
    await routes.link(OTHER, "s2")
    assert await seen.look_up("e1", subscription=SUB, space_id="s2", conference=CONF) == (False, (TEAM, "s1"))
    assert await seen.look_up("e1", subscription="subscriptions/gone", space_id="s2") == (False, (OTHER, "s2"))
    assert await seen.look_up("e1", space_id="unknown", conference=CONF) == (False, (TEAM, "s1"))
    assert await seen.look_up("e1", subscription="subscriptions/gone", space_id="unknown") == (False, None)
    assert await seen.look_up("e1") == (False, None)
    await seen.done("e1")
    assert await seen.look_up("e1", space_id="s2") == (True, (OTHER, "s2"))
    assert await seen.look_up("e2", space_id="s2") == (False, (OTHER, "s2"))


async def test_look_up_is_one_round_trip(redis_client: aioredis.Redis) -> None:
    routes, seen = EventRoutes(redis_client, Keys()), WorkspaceEventsSeen(redis_client, Keys())
    await routes.link(TEAM, "s1", conference=CONF)
    before = await round_trips(redis_client)
    found = await seen.look_up("e1", subscription="subscriptions/gone", space_id="unknown", conference=CONF)
    assert found == (False, (TEAM, "s1"))
    assert await round_trips(redis_client) - before == 2  # the look-up, and the INFO that counted it
