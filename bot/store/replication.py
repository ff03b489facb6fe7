"""`WAIT 1` after writes of records that must not be lost (links, rooms, installations, pending sign-ins), when the
primary has a replica: a failover right after the write then can't drop what Slack was told was done.

Under Sentinel a write counts only once a replica has it. During a failover the old master keeps accepting writes
on the connections already open to it until the sentinels demote it, and it then resyncs from the new master and
drops them: WAIT is what tells those writes apart (the replica being promoted has left it, so WAIT answers 0).
Such a write raises StorageUnavailable (the user is told to try again) and the pool's idle connections are closed,
so the next command asks the sentinels for the master again instead of writing to the old one. Every Sentinel
write of this kind waits, whatever INFO said last: a master that just lost its replica must not look like one
that never had any.

Whether a replica is configured is read from `INFO replication` (connected replicas), again every RECHECK seconds.
The wait is bounded (WAIT_MS): a replica that lags or is gone never blocks a command; the write stands on the primary
and a log line says it was not confirmed. Pair it with `min-replicas-to-write 1` on the primary (README,
operations) so that a primary cut off from every replica refuses writes instead of accepting ones it would lose.

WAIT counts what its own connection wrote, so it goes in the same non-transactional pipeline as the write. Redis
Cluster routes a pipeline's commands per slot and has no connection to WAIT on: there the writes are not waited for.

Writes made through another client (the job queue's, coredis) are confirmed by a receipt: that client sets a key in
the same transaction as its write, and `confirm` deletes the key and WAITs here. The replication offset is the
master's, not the connection's, so the WAIT after the delete covers every write the master took before it; and a
receipt that isn't there says the other client wrote to another node (an old master).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.commands.core import AsyncScript

from bot.errors import StorageUnavailable

__all__ = ["RECHECK", "WAIT_MS", "Replicas"]

log = logging.getLogger(__name__)

WAIT_MS = 500
RECHECK = 30.0


class Replicas:
    def __init__(self, redis: Redis, *, wait_ms: int = WAIT_MS) -> None:
        self._redis = redis
        self._wait_ms = wait_ms
        self._replicas = 0
        self._checked_at = float("-inf")
        self._cluster = isinstance(cast(object, redis), RedisCluster)  # connect() casts a cluster to Redis
        self._sentinel = not self._cluster and isinstance(redis.connection_pool, SentinelConnectionPool)

    async def waiting(self) -> bool:
        """Whether writes are WAITed for (a replica is configured, or always under Sentinel; never on a cluster)."""
        return await self._configured()

    async def _configured(self) -> bool:
        if self._cluster:
            return False
        if self._sentinel:
            return True
        if time.monotonic() - self._checked_at > RECHECK:
            info = await self._redis.info("replication")
            self._replicas = int(info.get("connected_slaves", 0))
            self._checked_at = time.monotonic()
        return self._replicas > 0

    async def kept(self, pipe: Pipeline, what: str) -> list[Any]:
        """Run `pipe` (transaction=False: one connection), then WAIT 1 on that connection when a replica is
        configured. Returns the pipeline's own results."""
        waiting = await self._configured()
        if waiting:
            pipe.wait(1, self._wait_ms)
        results = list(await pipe.execute())
        if not waiting:
            return results
        if int(results[-1]) < 1 and self._sentinel:
            await self._redis.connection_pool.disconnect(inuse_connections=False)
            raise StorageUnavailable(f"{what} was not confirmed by a replica: the master may be changing")
        if int(results[-1]) < 1:
            log.warning("%s saved, but no replica confirmed it within %d ms: kept on the primary only",
                        what, self._wait_ms)
        return results[:-1]

    async def confirm(self, receipt: str, what: str) -> bool:
        """Another client's write is on the master this client writes to, and kept: `receipt`, a key that write set
        beside it, is deleted and WAITed for. False when the receipt isn't there (that write went to another node);
        the pool's idle connections are then dropped, so the next command asks the sentinels for the master again.
        Raises StorageUnavailable when no replica confirmed it under Sentinel, as `kept` does."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(receipt)
        (found,) = await self.kept(pipe, what)
        if not found:
            await self._redis.connection_pool.disconnect(inuse_connections=False)
        return bool(found)

    async def script(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Any], what: str) -> None:
        """Run a write script, then WAIT as `kept` does (a cluster pipeline can't carry scripts: there it runs
        alone)."""
        if self._cluster:
            await script(keys=keys, args=args)
            return
        pipe = self._redis.pipeline(transaction=False)
        await script(keys=keys, args=args, client=pipe)
        await self.kept(pipe, what)
