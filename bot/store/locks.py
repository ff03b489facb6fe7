"""Short locks shared by every process: SET NX PX with a random owner token, renewed and released only by that
owner (compare-and-expire, compare-and-delete in one script each), so a holder whose lock timed out can't extend or
delete the next holder's. A holder that dies just lets its lock expire.

The stores that need one (a person's token refresh, their presence, a card's edit) build their own keys and
translate Redis failures; this module only says how a lock is taken, kept and let go.
"""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

__all__ = ["OwnedLocks", "new_owner"]

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def new_owner() -> str:
    return secrets.token_hex(16)


class OwnedLocks:
    """The lock operations over one Redis client, on whatever key the caller names."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._release = redis.register_script(RELEASE)
        self._renew = redis.register_script(RENEW)

    async def take(self, key: str, ttl_ms: int) -> str | None:
        """The owner token, or None while someone else holds the lock."""
        owner = new_owner()
        return owner if await self._redis.set(key, owner, nx=True, px=ttl_ms) else None

    async def release(self, key: str, owner: str) -> bool:
        """False when the lock was no longer this owner's (it timed out, and perhaps someone else took it)."""
        return bool(await self._release(keys=[key], args=[owner]))

    async def renew(self, key: str, owner: str, ttl_ms: int) -> bool:
        """Extend the lock while its owner still works; False when it is no longer theirs."""
        return bool(await self._renew(keys=[key], args=[owner, ttl_ms]))

    async def held(self, key: str) -> bool:
        return bool(await self._redis.exists(key))
