"""Event intake's Redis work, on a real Redis: one round trip to read whether an event was taken before and which
followed space it is about, one to poke that space and mark the event taken (never marked without the poke).
bench_live measures what that is worth in pushes per second."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.domain import Tenant
from bot.store.keys import Keys
from bot.store.live import EventRoutes, FollowSchedule, WorkspaceEventsSeen

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


async def test_a_poke_marks_its_event_taken_in_the_same_round_trip(redis_client: aioredis.Redis) -> None:
    schedule, seen = FollowSchedule(redis_client, Keys()), WorkspaceEventsSeen(redis_client, Keys())
    assert not await schedule.poke(TEAM, "s1", 99.0, 2.0)  # loads the script, as a process's first poke does
    await schedule.at(TEAM, "s1", 500.0)
    before = await round_trips(redis_client)
    assert await schedule.poke(TEAM, "s1", 100.0, 2.0, taken="e1")
    assert await round_trips(redis_client) - before == 2  # the poke with its mark, and the INFO that counted it
    assert await schedule.claim(100.0, 15.0, 10) == [(TEAM, "s1")], "poked: due now, not at 500"
    assert (await seen.look_up("e1"))[0]
    assert not await schedule.poke(TEAM, "unfollowed", 100.0, 2.0, taken="e2")
    assert (await seen.look_up("e2"))[0], "taken: nothing to do for it, and a redelivery is a duplicate"


async def test_a_redis_that_lost_its_scripts_still_pokes_before_the_mark_counts(
    redis_client: aioredis.Redis,
) -> None:
    schedule, seen = FollowSchedule(redis_client, Keys()), WorkspaceEventsSeen(redis_client, Keys())
    await schedule.at(TEAM, "s1", 500.0)
    await redis_client.script_flush()  # as after a restart or a failover
    assert await schedule.poke(TEAM, "s1", 100.0, 2.0, taken="e1")
    assert await schedule.claim(100.0, 15.0, 10) == [(TEAM, "s1")]
    assert (await seen.look_up("e1"))[0]


async def test_a_poke_that_fails_leaves_its_event_unmarked(redis_client: aioredis.Redis) -> None:
    """Marked but not poked would turn Pub/Sub's redelivery into a dropped duplicate: the event would be lost."""
    keys = Keys()
    schedule, seen = FollowSchedule(redis_client, keys), WorkspaceEventsSeen(redis_client, keys)
    await redis_client.set(keys.schedule("follow")[0], "not a sorted set")  # the poke script fails on it
    with pytest.raises(ResponseError):
        await schedule.poke(TEAM, "s1", 100.0, 2.0, taken="e1")
    assert await seen.look_up("e1") == (False, None)
