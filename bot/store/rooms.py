"""Channel rooms: one persistent meeting per channel. Room records carry no TTL: losing one loses a team's room.

Changes to a channel's room go through a short lock (SET NX EX with an owner token, released by compare-and-delete),
so two people running `/meet room new` at once can't both win.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict

from redis.asyncio import Redis

from bot.domain import Room, Tenant
from bot.store.errors import translated
from bot.store.keys import Keys
from bot.store.locks import OwnedLocks
from bot.store.replication import Replicas

__all__ = ["Room", "RoomStore"]

LOCK_SECONDS = 30
# KEYS[1] the lock; ARGV[1] the owner, ARGV[2] its life (s). Taken when free or already this owner's.
_TAKE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""


@translated
class RoomStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._replicas = Replicas(redis)
        self._locks = OwnedLocks(redis)

    async def get(self, tenant: Tenant, channel_id: str) -> Room | None:
        raw = await self._redis.get(self._keys.room(tenant, channel_id))
        if not raw:
            return None
        try:
            return Room(**json.loads(raw))
        except (TypeError, ValueError):
            return None

    async def put(self, tenant: Tenant, channel_id: str, room: Room, *, previous: Room | None = None) -> None:
        """Save the room and keep the creator's list of rooms in step (one pipelined round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._keys.room(tenant, channel_id), json.dumps(asdict(room)))
        if previous is not None and previous.creator_user_id != room.creator_user_id:
            pipe.srem(self._keys.rooms_started(tenant, previous.creator_user_id), channel_id)
        pipe.sadd(self._keys.rooms_started(tenant, room.creator_user_id), channel_id)
        await self._replicas.kept(pipe, "a room")

    async def delete(self, tenant: Tenant, room: Room, channel_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(self._keys.room(tenant, channel_id))
        pipe.srem(self._keys.rooms_started(tenant, room.creator_user_id), channel_id)
        await pipe.execute()

    async def recap_default(self, tenant: Tenant) -> bool | None:
        raw = await self._redis.get(self._keys.recap_default(tenant))
        return None if raw is None else raw in (b"on", "on")

    async def set_recap_default(self, tenant: Tenant, on: bool) -> None:
        await self._redis.set(self._keys.recap_default(tenant), "on" if on else "off")

    async def channels_started_by(self, tenant: Tenant, user_id: str) -> list[str]:
        members = await self._redis.smembers(self._keys.rooms_started(tenant, user_id))
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    async def lock(self, tenant: Tenant, channel_id: str, owner: str | None = None) -> str | None:
        """An owner token when this caller may change the room now, None when someone else is changing it. A job
        passes the token its earlier run took, so that its re-run after a crash takes back the lock that run held."""
        token = owner or secrets.token_urlsafe(16)
        taken = await self._redis.eval(_TAKE, 1, self._keys.room_lock(tenant, channel_id), token, str(LOCK_SECONDS))
        return token if taken else None

    async def unlock(self, tenant: Tenant, channel_id: str, owner: str) -> None:
        await self._locks.release(self._keys.room_lock(tenant, channel_id), owner)
