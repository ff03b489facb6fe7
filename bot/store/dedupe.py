"""At-most-once markers: the first caller to claim an id wins, later ones (retries, double clicks) see False."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store.errors import translated, translated_function
from bot.store.keys import Keys

__all__ = ["SignedDeliveries", "claim"]

# Slack refuses timestamps older than 5 minutes, so a signature can't be replayed after that; a little margin.
SIGNATURE_TTL = 6 * 60


@translated_function
async def claim(redis: Redis, key: str, ttl_seconds: int) -> bool:
    """SET NX EX in one round trip: atomic across processes, and it expires so the marker can't pile up."""
    return bool(await redis.set(key, b"1", nx=True, ex=ttl_seconds))


@translated
class SignedDeliveries:
    """Each signed Slack request is accepted once: a replay of the same bytes within Slack's window is dropped."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def first(self, signature: str) -> bool:
        return await claim(self._redis, self._keys.signature_seen(signature.removeprefix("v0=")), SIGNATURE_TTL)
