"""One Redis connection pool for the process, built from REDIS_URL (redis://, rediss:// or unix://)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

__all__ = ["StoreUnavailable", "connect", "is_unavailable"]

# Failures that mean "Redis can't be reached right now": the caller answers "try again" instead of crashing.
# Only redis-py's own connection and timeout errors (it wraps socket errors in them): a TimeoutError or an aiohttp
# connection error is also an OSError, and counting those would blame Redis for a slow Slack or Google.
StoreUnavailable = (RedisConnectionError, RedisTimeoutError)


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


def is_unavailable(error: BaseException) -> bool:
    return isinstance(error, StoreUnavailable)
