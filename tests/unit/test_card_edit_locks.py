"""The per-card edit lock in Redis (bot/store/spaces.py CardEditLocks): taken only while the space lists the card,
one holder at a time, kept and let go only by its owner, and a dead holder's lock times out."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.domain import Card, Tenant
from bot.store.keys import Keys
from bot.store.spaces import CardEditLocks, SpaceRecords

TENANT = Tenant("T0001")
SPACE_ID = "abc"
CARD, OTHER = Card("C1", "100.000001", "room"), Card("C1", "200.000001", "room")


async def test_a_card_is_locked_only_while_listed_and_only_by_one(redis_client: aioredis.Redis) -> None:
    spaces, locks = SpaceRecords(redis_client, Keys()), CardEditLocks(redis_client, Keys())
    assert await locks.take(TENANT, SPACE_ID, CARD, 5_000) == (False, None), "not listed yet"
    await spaces.add_card(TENANT, SPACE_ID, CARD)
    await spaces.add_card(TENANT, SPACE_ID, OTHER)

    listed, owner = await locks.take(TENANT, SPACE_ID, CARD, 5_000)
    assert listed and owner
    assert await locks.take(TENANT, SPACE_ID, CARD, 5_000) == (True, None), "someone else is editing it"
    assert await locks.editing(TENANT, [CARD, OTHER]) == [CARD]
    assert not await locks.renew(TENANT, CARD, "not-the-owner", 5_000)
    await locks.release(TENANT, CARD, "not-the-owner")
    assert await locks.editing(TENANT, [CARD]) == [CARD]
    assert await locks.renew(TENANT, CARD, owner, 5_000)
    await locks.release(TENANT, CARD, owner)
    assert await locks.editing(TENANT, [CARD, OTHER]) == []

    await spaces.forget_cards(TENANT, SPACE_ID, [CARD])
    assert await locks.take(TENANT, SPACE_ID, CARD, 5_000) == (False, None), "retired: nobody edits it"
    assert await locks.editing(TENANT, []) == []


async def test_a_dead_holders_lock_times_out(redis_client: aioredis.Redis) -> None:
    spaces, locks = SpaceRecords(redis_client, Keys()), CardEditLocks(redis_client, Keys())
    await spaces.add_card(TENANT, SPACE_ID, CARD)
    assert (await locks.take(TENANT, SPACE_ID, CARD, 20))[1]
    await asyncio.sleep(0.05)
    assert await locks.editing(TENANT, [CARD]) == []
    assert (await locks.take(TENANT, SPACE_ID, CARD, 5_000))[1]
