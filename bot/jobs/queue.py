"""The job queue: named async jobs taking a JSON payload, enqueued under the caller's own id.

- The id is Slack's own (trigger_id, action_ts, event id): a retried or double-clicked request enqueues once.
- A job is run at least once: a worker that dies holding one (kill -9) has it reclaimed by another after
  `IDLE_TIMEOUT`. Jobs keep their own progress records so that a re-run resumes instead of repeating.
- `Retry(after)` asks for another try later (Google or Slack said 429/503); any other exception is the job's
  last word, so jobs catch and report their own failures. On its last try (`tries_left() == 0`) a job must answer
  instead of asking for another: a Retry then would end it silently.
- The queue's keys share one Redis Cluster hash tag, `{meetbot}`.
- Each payload is sealed to its job id and kind (jobs/sealed.py). One that can't be opened as its own job's (copied
  from another job, expired, unreadable) never runs: the person it was for is told through the notice target stored
  beside it at enqueue, and a warning is logged without its contents. So is one that opens but whose job raises
  Unopenable: a shape this version doesn't run (queued by an older version).

streaq is pinned exactly (7 majors in 18 months). Its worker would install its own SIGTERM handler even with
`handle_signals=False`; meetbot owns its signals, so that hook is disabled here and `stop()` is called instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from coredis.exceptions import ConnectionError as CoredisConnectionError
from coredis.exceptions import ResponseError as CoredisResponseError
from streaq import Worker
from streaq.types import Streaq, StreaqRetry
from streaq.utils import now_ms

from bot import metrics
from bot.ack_deadline import AckDeadlinePassed, bounded
from bot.errors import StorageUnavailable
from bot.jobs.sealed import SEAL_TTL, Unopenable, open_sealed, seal
from bot.store.crypto import TokenCipher, UnreadableRecord
from bot.store.errors import refused_in_failover
from bot.store.replication import Replicas

__all__ = ["IDLE_TIMEOUT", "JobQueue", "Payload", "Retry", "tries_left"]

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Job = Callable[[Payload], Awaitable[None]]
Unopened = Callable[[Payload], Awaitable[None]]

QUEUE = "{meetbot}"  # one hash tag: every key of the queue lives in one Cluster slot
IDLE_TIMEOUT = 5.0  # seconds before a job held by a dead worker is taken over
JOB_TIMEOUT = 60.0
MAX_TRIES = 5
CONNECT_WAIT = 1.0  # how long an enqueue waits for the queue's connection before saying Redis is down
PICKUP_SECONDS = 0.3
_TRIES_LEFT = contextvars.ContextVar("tries_left", default=0)
ENQUEUED_AT = "_enqueued_at"  # carried in the payload (wall clock: another process may start it) for the start lag


def tries_left() -> int:
    """In a running job: how many more tries it gets after this one (0: this is its last)."""
    return _TRIES_LEFT.get()


class Retry(StreaqRetry):
    """Try this job again after `after` seconds (a 429's Retry-After, a 503's backoff)."""

    def __init__(self, after: float) -> None:
        super().__init__(delay=timedelta(seconds=max(after, 0.1)))


class _OwnSignals(Worker[Any]):
    async def signal_handler(self, scope: Any) -> None:  # meetbot's server handles SIGTERM and calls stop()
        return


class JobQueue:
    def __init__(self, redis_url: str, *, mode: str = "standalone", sentinels: tuple[tuple[str, int], ...] = (),
                 sentinel_master: str | None = None, cipher: TokenCipher | None = None, concurrency: int = 32,
                 idle_timeout: float = IDLE_TIMEOUT, replicas: Replicas | None = None) -> None:
        def dumps(data: Any) -> bytes | str:
            # default=repr: streaq also stores a failed job's result, an exception
            text = json.dumps(data, separators=(",", ":"), default=repr)
            return cipher.encrypt(text) if cipher else text

        def loads(raw: bytes) -> Any:
            return json.loads(cipher.decrypt(raw) if cipher else raw)

        self._cipher = cipher
        self._replicas = replicas
        self._unopened: Unopened | None = None
        self._options: dict[str, Any] = {
            "redis_url": redis_url,
            **_topology(redis_url, mode, sentinels, sentinel_master),
            "queue_name": QUEUE,
            # Payloads carry response_urls (each a capability to post into a channel): sealed like tokens.
            "serializer": dumps,
            "deserializer": loads,
            "handle_signals": False,
            "prefetch": 1,  # a dying worker strands at most what it runs, not a buffer of others' jobs
            "idle_timeout": idle_timeout,
            "concurrency": concurrency,
        }
        # Producers only enqueue, consumers run jobs; a streaq worker can't be entered again once Redis dropped
        # it, so each connection gets a fresh one with every job registered.
        self._consumer = _OwnSignals(**self._options)
        self._registrations: list[tuple[Callable[[str], Awaitable[None]], dict[str, Any]]] = []
        self._running: asyncio.Task[None] | None = None
        self._owner: asyncio.Task[None] | None = None
        self._producer: _OwnSignals | None = None
        self._ready = asyncio.Event()
        self._reconnect = asyncio.Event()

    def job(self, name: str, *, timeout: float = JOB_TIMEOUT, max_tries: int = MAX_TRIES) -> Callable[[Job], Job]:
        """Register `fn(payload)` under `name`; every process that runs jobs must register the same ones."""

        def register(fn: Job) -> Job:
            async def run(sealed: str) -> None:
                context = registered.context
                try:
                    payload = open_sealed(self._cipher, sealed, context.task_id, name)
                except Unopenable as why:
                    await self._refuse(context.task_id, name, str(why))
                    return
                tries = context.tries
                _TRIES_LEFT.set(max_tries - tries)
                enqueued = payload.pop(ENQUEUED_AT, None)
                first = tries == 1 and isinstance(enqueued, int | float)
                metrics.job_started(name, time.time() - enqueued if first else None)
                try:
                    await fn(payload)
                except Unopenable as why:  # opened, but of a shape this version doesn't run (an older one's)
                    await self._refuse(context.task_id, name, str(why))
                except Retry:
                    metrics.job_retried(name)
                    raise
                except asyncio.CancelledError:
                    raise  # shutdown hands it back; not the job's failure
                except BaseException:
                    metrics.job_failed(name)
                    raise
                finally:
                    metrics.job_finished(name)

            run.__qualname__ = name
            options: dict[str, Any] = {"name": name, "timeout": timedelta(seconds=timeout), "max_tries": max_tries,
                                       "silent": True}
            registered = self._consumer.task(**options)(run)
            self._registrations.append((run, options))
            return fn

        return register

    def on_unopened(self, tell: Unopened) -> None:
        """`tell(notice)`: what to do for the person a job was for when its payload can't be opened (the `notice`
        given at enqueue: where to reach them)."""
        self._unopened = tell

    async def enqueue(self, name: str, payload: Payload, job_id: str, *,
                      notice: Mapping[str, object] | None = None) -> None:
        """Durably queue the job (one Redis round trip); a second enqueue under the same id is dropped. `notice`:
        where to tell its person if the job can't be opened (see on_unopened). Raises StorageUnavailable when Redis
        doesn't answer, like every other store, also when it doesn't answer within the ack's deadline
        (bot/ack_deadline.py)."""
        try:
            await bounded(self._enqueue(name, payload, job_id, notice))
        except AckDeadlinePassed as error:
            raise StorageUnavailable("no answer within the ack's deadline") from error

    async def _enqueue(self, name: str, payload: Payload, job_id: str, notice: Mapping[str, object] | None
                       ) -> None:
        sealed = seal(self._cipher, job_id, name, {**payload, ENQUEUED_AT: time.time()})
        # With replicas, a job counts as queued only once a replica has it (the store's rule for records that must
        # not be lost): a failover must not drop work the ack promised. See bot/store/replication.py, `confirm`.
        receipt = self._replicas is not None and await self._replicas.waiting()
        for attempt in (1, 2):
            producer = await self._connected_producer()
            try:
                task = producer.registry[name].enqueue(sealed)
                task.id = job_id
                now = now_ms()
                data = await task.serialize(now)
                # streaq's own publish, in one transaction with the notice (the same hash tag, one round trip)
                async with producer.redis.pipeline(transaction=True) as pipe:
                    if notice is not None:
                        pipe.set(_notice_key(producer, job_id), seal(self._cipher, job_id, NOTICE, notice),
                                 ex=SEAL_TTL)
                    if receipt:
                        pipe.set(_receipt_key(producer, job_id), b"1", ex=RECEIPT_TTL)
                    producer.publish_task(pipe, task, data, now, lib=Streaq(pipe))
            except CoredisResponseError as error:
                # A Redis that restarted without persistence (or a fresh node after a failover) has lost streaq's
                # Lua library: the owner reconnects, which loads it again. A node that lost its replicas or was
                # demoted refuses the write: a fresh connection finds the master the sentinels name now.
                failover = refused_in_failover(str(error))
                if "Function not found" not in str(error) and not failover:
                    raise
                if attempt == 2:
                    if failover:
                        raise StorageUnavailable(str(error).rsplit(": ", 1)[-1]) from error
                    raise
                self._reconnect_producer()
                continue
            except Exception as error:
                if _redis_down(error):
                    raise StorageUnavailable(type(error).__name__) from error
                raise
            if not receipt or await self._kept(producer, job_id, last=attempt == 2):
                return
            # The queue's connection wrote to a node that isn't the master (an old one, during a failover): once
            # more on a fresh connection. The same id: if the first did reach the master, this one is dropped.
            self._reconnect_producer()

    async def _kept(self, producer: _OwnSignals, job_id: str, *, last: bool) -> bool:
        assert self._replicas is not None
        try:
            if await self._replicas.confirm(_receipt_key(producer, job_id), "a queued job"):
                return True
            why = "the job queue's connection wrote to a node that is not the master"
        except StorageUnavailable as error:
            why = str(error)
        if last:
            raise StorageUnavailable(why)
        return False

    def _reconnect_producer(self) -> None:
        self._reconnect.set()
        self._ready.clear()

    async def queued(self) -> int:
        """Jobs waiting, including ones scheduled for a later try. Raises StorageUnavailable like enqueue."""
        producer = await self._connected_producer()
        try:
            return await producer.queue_size()
        except Exception as error:
            if _redis_down(error):
                raise StorageUnavailable(type(error).__name__) from error
            raise

    async def _refuse(self, job_id: str, name: str, why: str) -> None:
        """A job whose payload can't be opened as its own: it never runs, and its person is told if we can."""
        log.warning("job %s (%s) was not run: its payload is %s", job_id, name, why)
        if self._unopened is None:
            return
        worker = self._consumer
        try:
            raw = await worker.redis.get(_notice_key(worker, job_id))
            notice = open_sealed(self._cipher, raw.decode() if isinstance(raw, bytes) else raw, job_id, NOTICE)
        except (Unopenable, UnreadableRecord):
            log.warning("job %s: nobody could be told (its notice is missing or can't be opened)", job_id)
            return
        await self._unopened(notice)

    async def _connected_producer(self) -> _OwnSignals:
        self.open()
        try:
            await asyncio.wait_for(self._ready.wait(), CONNECT_WAIT)
        except TimeoutError:
            raise StorageUnavailable("the job queue can't reach Redis") from None
        assert self._producer is not None
        return self._producer

    def open(self) -> None:
        """Start the task that owns the producer's connection (entered and left in that one task, as coredis
        and anyio require), reconnecting it with a backoff whenever Redis drops it."""
        if self._owner is None:
            self._owner = asyncio.create_task(self._own_producer(), name="jobs-producer")

    async def _own_producer(self) -> None:
        backoff = 0.2
        while True:
            producer = self._fresh()
            try:
                async with producer:
                    self._producer, backoff = producer, 0.2
                    self._ready.set()
                    await self._reconnect.wait()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not _redis_down(error):
                    log.exception("the job queue's connection failed")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self._ready.clear()
                self._reconnect.clear()

    def start(self) -> None:
        """Run jobs in this process, in the background, until stop(); restarted if Redis drops it."""
        if self._running is None:
            self._running = asyncio.create_task(self._supervise(), name="jobs")

    async def _supervise(self) -> None:
        backoff = 0.5
        while True:
            try:
                await self._consumer.run_async()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not _redis_down(error):
                    log.exception("the job worker stopped; restarting it")
                else:
                    log.warning("the job worker lost Redis; retrying in %.1f s", backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            self._consumer = self._fresh()

    def _fresh(self) -> _OwnSignals:
        """A new streaq worker with every registered job (a used one can't be entered again)."""
        worker = _OwnSignals(**self._options)
        for run, options in self._registrations:
            worker.task(**options)(run)
        return worker

    async def stop(self, grace: float) -> None:
        """Stop taking jobs; running ones get `grace` seconds, then are handed back (another process re-runs
        them after IDLE_TIMEOUT): nothing is cancelled silently."""
        if self._running is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + grace
            # A job enqueued a moment ago may still be on its way from the stream to a consumer: give it a beat to
            # start, then let what runs finish within the grace period.
            await asyncio.sleep(min(PICKUP_SECONDS, grace))
            while loop.time() < deadline:
                if not self._consumer.running():
                    break
                await asyncio.sleep(0.05)
            left = self._consumer.running()
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._running
            if left:
                log.warning("%d job(s) still running at shutdown were handed back for another process", left)
            self._running = None
        if self._owner is not None:
            self._owner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._owner
            self._owner = None


NOTICE = "notice"


def _notice_key(worker: Worker[Any], job_id: str) -> str:
    """Beside streaq's own keys, under the queue's hash tag."""
    return f"{worker.prefix}:notice:{job_id}"


RECEIPT_TTL = 60  # seconds: a receipt is deleted within the enqueue's deadline; this only bounds a stray one


def _receipt_key(worker: Worker[Any], job_id: str) -> str:
    """Beside streaq's own keys, under the queue's hash tag (one transaction with the job)."""
    return f"{worker.prefix}:receipt:{job_id}"


def _redis_down(error: BaseException) -> bool:
    """coredis' connection errors and timeouts, and a node refusing writes mid-failover, also when anyio wraps them
    in an ExceptionGroup."""
    if isinstance(error, BaseExceptionGroup):
        return any(_redis_down(inner) for inner in error.exceptions)
    if isinstance(error, CoredisResponseError):
        return refused_in_failover(str(error))
    return isinstance(error, CoredisConnectionError | TimeoutError | ConnectionError)


def _topology(url: str, mode: str, sentinels: tuple[tuple[str, int], ...], master: str | None) -> dict[str, Any]:
    """streaq's own connection options for the same Redis the store uses (it talks through coredis)."""
    if mode == "cluster":
        parts = urlsplit(url)
        return {"cluster_nodes": [(parts.hostname or "localhost", parts.port or 6379)]}
    if mode == "sentinel":
        return {"sentinel_nodes": list(sentinels), "sentinel_master": master or "mymaster"}
    return {}
