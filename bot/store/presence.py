"""`/meet presence` in Redis: each person's choice (and whether they want Do Not Disturb too), the calls meetbot
sees them in, the status meetbot holds for them (what they had before, and what meetbot set), the snooze beside it,
and a short lock so one process at a time changes their status.

All of a person's records share their hash tag (one slot); the choices, the hold and the snooze are fields of one
hash. None has a TTL: a hold lost would leave a status meetbot can never restore, a snooze lost one it never ends.
The calls set expires after CALLS_TTL without a sighting, so a call that nobody reads again (following stopped)
counts as over.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis

from bot.domain import SlackStatus, SnoozeHold, StatusHold, Tenant
from bot.json_values import JsonObject, parse_object
from bot.store.errors import translated
from bot.store.keys import Keys
from bot.store.locks import OwnedLocks

__all__ = ["CALLS_TTL", "PresenceRecords"]

CALLS_TTL = 4 * 3600
_ON, _HOLD, _DND, _SNOOZE = "on", "hold", "dnd", "snooze"


@translated
class PresenceRecords:
    """The PresenceMemory port (bot/core/presence.py)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._locks = OwnedLocks(redis)

    async def is_on(self, tenant: Tenant, user_id: str) -> bool:
        return bool(await self._redis.hexists(self._keys.presence(tenant, user_id), _ON))

    async def turn_on(self, tenant: Tenant, user_id: str) -> None:
        await self._redis.hset(self._keys.presence(tenant, user_id), _ON, "1")
        await self._redis.sadd(self._keys.presence_people(tenant), user_id)

    async def turn_off(self, tenant: Tenant, user_id: str) -> bool:
        """The choices and the calls go together (one slot, one transaction); a hold and a snooze stay until they are
        given back (`drop_hold`, `drop_snooze`). True if it was on."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.hexists(self._keys.presence(tenant, user_id), _ON)
        pipe.hdel(self._keys.presence(tenant, user_id), _ON, _DND)
        pipe.delete(self._keys.presence_calls(tenant, user_id))
        was_on, _, _ = await pipe.execute()
        await self._redis.srem(self._keys.presence_people(tenant), user_id)
        return bool(was_on)

    async def people(self, tenant: Tenant) -> list[str]:
        return sorted(_text(u) for u in await self._redis.smembers(self._keys.presence_people(tenant)))

    async def opted_in(self, tenant: Tenant, user_ids: list[str]) -> list[str]:
        """Which of these people turned presence on (one round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hexists(self._keys.presence(tenant, user_id), _ON)
        return [u for u, on in zip(user_ids, await pipe.execute(), strict=True) if on]

    async def seen(self, tenant: Tenant, user_id: str, conference: str, present: bool) -> None:
        key = self._keys.presence_calls(tenant, user_id)
        pipe = self._redis.pipeline(transaction=True)
        if present:
            pipe.sadd(key, conference)
            pipe.expire(key, CALLS_TTL)
        else:
            pipe.srem(key, conference)
        await pipe.execute()

    async def in_call(self, tenant: Tenant, user_id: str) -> bool:
        return bool(await self._redis.scard(self._keys.presence_calls(tenant, user_id)))

    async def hold(self, tenant: Tenant, user_id: str) -> StatusHold | None:
        raw = await self._redis.hget(self._keys.presence(tenant, user_id), _HOLD)
        if raw is None:
            return None
        data = parse_object(_text(raw), "a held status")
        return StatusHold(SlackStatus(**data["before"]), SlackStatus(**data["ours"]), float(data["since"]))

    async def keep_hold(self, tenant: Tenant, user_id: str, hold: StatusHold) -> None:
        record = {"before": _status(hold.before), "ours": _status(hold.ours), "since": hold.since}
        await self._redis.hset(self._keys.presence(tenant, user_id), _HOLD, json.dumps(record))

    async def drop_hold(self, tenant: Tenant, user_id: str) -> None:
        await self._redis.hdel(self._keys.presence(tenant, user_id), _HOLD)

    async def want_dnd(self, tenant: Tenant, user_id: str, on: bool) -> None:
        """Do Not Disturb during calls, or not. Listed among the people (`people`) so an uninstall forgets it too."""
        if on:
            await self._redis.hset(self._keys.presence(tenant, user_id), _DND, "1")
            await self._redis.sadd(self._keys.presence_people(tenant), user_id)
        else:
            await self._redis.hdel(self._keys.presence(tenant, user_id), _DND)

    async def dnd(self, tenant: Tenant, user_id: str) -> tuple[bool, SnoozeHold | None]:
        """Whether they want DND, and the snooze meetbot holds for the call (one round trip)."""
        wanted, raw = await self._redis.hmget(self._keys.presence(tenant, user_id), [_DND, _SNOOZE])
        if raw is None:
            return wanted is not None, None
        data = parse_object(_text(raw), "a held snooze")
        return wanted is not None, SnoozeHold(int(data["until"]), bool(data["ours"]))

    async def keep_snooze(self, tenant: Tenant, user_id: str, snooze: SnoozeHold) -> None:
        record = json.dumps({"until": snooze.until, "ours": snooze.ours})
        await self._redis.hset(self._keys.presence(tenant, user_id), _SNOOZE, record)

    async def drop_snooze(self, tenant: Tenant, user_id: str) -> None:
        await self._redis.hdel(self._keys.presence(tenant, user_id), _SNOOZE)

    async def lock(self, tenant: Tenant, user_id: str, ttl_ms: int) -> str | None:
        return await self._locks.take(self._keys.presence_lock(tenant, user_id), ttl_ms)

    async def unlock(self, tenant: Tenant, user_id: str, owner: str) -> None:
        await self._locks.release(self._keys.presence_lock(tenant, user_id), owner)


def _status(status: SlackStatus) -> JsonObject:
    return {"text": status.text, "emoji": status.emoji, "expiration": status.expiration}


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
