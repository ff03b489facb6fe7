"""One Redis client for the process: a single node (redis://, rediss:// or unix://), a Redis Cluster through
redis-py's RedisCluster (REDIS_URL is any node), or the master that redis-py's Sentinel names."""

from __future__ import annotations

from typing import cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry  # the asyncio one: redis-py 8 warns at every start when given the sync one
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.config import Settings
from bot.store.errors import translated_function
from bot.store.replication import Replicas

__all__ = ["RedisClient", "connect", "connect_to", "writable"]

RedisClient = Redis  # the client type, for the composition root; nothing above store/ imports redis itself
PROBE_TTL = 60


CONNECT_TIMEOUT = 1.0
SOCKET_TIMEOUT = 1.0


def connect(url: str, *, mode: str = "standalone", sentinels: tuple[tuple[str, int], ...] = (),
            sentinel_master: str | None = None, max_connections: int = 64) -> Redis:
    """A pooled client. Short timeouts keep a dead Redis from eating Slack's 3-second budget.

    Every mode reconnects on its own: a single node when it comes back, a cluster as slots move, a sentinel set
    by asking the sentinels for the new master after a failover. No restart is ever needed.
    """
    retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1)
    if mode == "cluster":
        cluster = RedisCluster.from_url(url, max_connections=max_connections, retry=retry,
                                        decode_responses=False, socket_connect_timeout=CONNECT_TIMEOUT,
                                        socket_timeout=SOCKET_TIMEOUT)
        # The store uses the commands both clients share (every multi-key call stays inside one hash tag).
        return cast(Redis, cluster)
    if mode == "sentinel":
        assert sentinel_master is not None
        timeouts = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": SOCKET_TIMEOUT}
        sentinel = Sentinel(list(sentinels), sentinel_kwargs=timeouts,
                            socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=SOCKET_TIMEOUT)
        master = sentinel.master_for(sentinel_master, redis_class=Redis, retry=retry,
                                     retry_on_error=[RedisConnectionError], decode_responses=False)
        return cast(Redis, master)
    # A blocking pool: a burst waits briefly for a free connection instead of failing as if Redis were down.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=1.0,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=SOCKET_TIMEOUT,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
        retry_on_error=[RedisConnectionError],
        decode_responses=False,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


def connect_to(settings: Settings) -> Redis:
    """The client the settings describe (REDIS_URL, REDIS_MODE, REDIS_SENTINELS, REDIS_SENTINEL_MASTER)."""
    return connect(settings.redis_url, mode=settings.redis_mode, sentinels=settings.redis_sentinels,
                   sentinel_master=settings.redis_sentinel_master)


@translated_function
async def writable(redis: Redis, probe_key: str) -> bool:
    """Redis accepts a write (readiness proves a write, not a PING: a replica or a full disk answers PING). Under
    Sentinel, a write a replica confirmed: a master whose replica is gone (just after a failover) takes no link."""
    pipe = redis.pipeline(transaction=False)
    pipe.set(probe_key, b"1", ex=PROBE_TTL)
    return bool((await Replicas(redis).kept(pipe, "the readiness probe"))[0])
