"""At-most-once markers: the first caller to claim an id wins, later ones (retries, double clicks) see False."""

from __future__ import annotations

from redis.asyncio import Redis

__all__ = ["claim"]


async def claim(redis: Redis, key: str, ttl_seconds: int) -> bool:
    """SET NX EX in one round trip: atomic across processes, and it expires so the marker can't pile up."""
    return bool(await redis.set(key, b"1", nx=True, ex=ttl_seconds))
