"""The shared schedule of followed meetings, on a real Redis: leases, coalesced pokes, and a poke during a read."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.domain import Tenant
from bot.store.keys import Keys
from bot.store.live import FollowSchedule

TEAM = Tenant("T0001")


async def test_a_claimed_space_is_leased_and_comes_back_when_its_reader_dies(redis_client: aioredis.Redis) -> None:
    schedule = FollowSchedule(redis_client, Keys(), window=2.0)
    await schedule.at(TEAM, "s1", 100.0)
    assert await schedule.claim(100.0, 15.0, 10) == [(TEAM, "s1")]
    assert await schedule.claim(110.0, 15.0, 10) == [], "leased: no second reader"
    assert await schedule.claim(115.0, 15.0, 10) == [(TEAM, "s1")], "the lease ran out: claimed again"


async def test_pokes_are_coalesced_from_the_last_read(redis_client: aioredis.Redis) -> None:
    schedule = FollowSchedule(redis_client, Keys(), window=2.0)
    await schedule.at(TEAM, "s1", 100.0)
    await schedule.claim(100.0, 15.0, 10)
    await schedule.at(TEAM, "s1", 400.0, read_at=100.0)  # read done; next safety read in 300 s
    assert await schedule.poke(TEAM, "s1", 100.5, 2.0)
    assert await schedule.claim(101.9, 15.0, 10) == [], "not before the window since the last read"
    assert await schedule.claim(102.0, 15.0, 10) == [(TEAM, "s1")]
    assert not await schedule.poke(TEAM, "unfollowed", 100.0, 2.0), "a space nobody follows is not scheduled"


async def test_a_poke_during_a_read_is_read_again_after_it(redis_client: aioredis.Redis) -> None:
    """The bug this guards: the poke moved the due time under the lease (a second reader at once), and then the
    read's own rescheduling overwrote it, so the announced change waited for the 300 s safety net."""
    schedule = FollowSchedule(redis_client, Keys(), window=2.0)
    await schedule.at(TEAM, "s1", 100.0)
    await schedule.claim(100.0, 15.0, 10)  # a read starts at 100
    await schedule.poke(TEAM, "s1", 100.3, 2.0)  # an event arrives while it runs
    assert await schedule.claim(100.4, 15.0, 10) == [], "no second reader while the first holds the lease"
    await schedule.at(TEAM, "s1", 400.0, read_at=100.0)  # the read ends and asks for its safety-net read
    assert await schedule.claim(101.9, 15.0, 10) == []
    assert await schedule.claim(102.0, 15.0, 10) == [(TEAM, "s1")], "read again one window after the first"
