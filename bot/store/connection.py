"""One Redis connection pool for the process, built from REDIS_URL (redis://, rediss:// or unix://)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from bot.store.errors import StoreUnavailable, is_unavailable, translated_function

__all__ = ["RedisClient", "StoreUnavailable", "connect", "is_unavailable", "writable"]

RedisClient = Redis  # the client type, for the composition root; nothing above store/ imports redis itself
PROBE_TTL = 60


def connect(url: str, *, max_connections: int = 64) -> Redis:
    """A pooled client. Short timeouts keep a dead Redis from eating Slack's 3-second budget.

    The pool reconnects on its own, so the bot recovers when Redis comes back without a restart.
    """
    # A blocking pool: a burst waits briefly for a free connection instead of failing as if Redis were down.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=1.0,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
        retry_on_error=[RedisConnectionError],
        decode_responses=False,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections




@translated_function
async def writable(redis: Redis, probe_key: str) -> bool:
    """Redis accepts a write (readiness proves a write, not a PING: a replica or a full disk answers PING)."""
    return bool(await redis.set(probe_key, b"1", ex=PROBE_TTL))
