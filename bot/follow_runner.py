"""The loops over shared lease schedules, in every process that runs jobs (web and `python -m bot worker`): followed
meetings (read when due), rooms whose members follow their channel (checked hourly), and Pub/Sub pull delivery.

Each tick claims what a schedule says is due (a lease: a process that dies mid-run hands it back) and runs those
entries concurrently, a bounded number at a time. An idle tick costs one Redis script call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot import metrics
from bot.domain import Tenant

__all__ = ["EventToCard", "FollowRunner", "PullLoop"]

log = logging.getLogger(__name__)

Claim = Callable[[int], Awaitable[list[tuple[Tenant, str]]]]
Refresh = Callable[[Tenant, str], Awaitable[None]]


class FollowRunner:
    def __init__(self, claim: Claim, refresh: Refresh, *, tick: float = 0.5, batch: int = 32,
                 concurrency: int = 16) -> None:
        self._claim = claim
        self._refresh = refresh
        self._tick = tick
        self._batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Something is due now (an event arrived here): claim at once instead of at the next tick."""
        self._woken.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="follow-runner")

    async def stop(self, within: float) -> None:
        """Stop claiming; reads under way get `within` seconds (an unfinished one is claimed again elsewhere)."""
        self._stopping.set()
        self._woken.set()
        if self._task is not None:
            await self._task
        if self._running:
            _, late = await asyncio.wait(self._running, timeout=within)
            for task in late:
                task.cancel()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                due = await self._claim(self._batch)
            except Exception as error:  # Redis down: try again next tick
                log.warning("following paused: %s", type(error).__name__)
                due = []
            for tenant, space_id in due:
                await self._slots.acquire()
                task = asyncio.create_task(self._one(tenant, space_id), name="follow")
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            if len(due) < self._batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), self._tick)
                self._woken.clear()

    async def _one(self, tenant: Tenant, space_id: str) -> None:
        try:
            await self._refresh(tenant, space_id)
        except Exception as error:
            # The schedule already set a backoff; the reason is logged without any token or URL.
            log.warning("a followed meeting was not refreshed: %s", type(error).__name__)
        finally:
            self._slots.release()


class PullLoop:
    """Pull delivery (GOOGLE_PUBSUB_SUBSCRIPTION): pull, hand each event to the intake, acknowledge what it took.
    An event the intake couldn't take (Redis down) is left unacknowledged, so Pub/Sub delivers it again."""

    def __init__(self, pull: Callable[[int], Awaitable[list[tuple[str, Any]]]],
                 ack: Callable[[list[str]], Awaitable[None]], accept: Callable[[Any], Awaitable[object]],
                 *, idle: float = 0.5, batch: int = 100) -> None:
        self._pull, self._ack, self._accept = pull, ack, accept
        self._idle, self._batch = idle, batch
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._pulling = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="pubsub-pull")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            if self._pulling:  # a pull Pub/Sub holds open: left unanswered, its messages come back later
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            taken: list[str] = []
            try:
                self._pulling = True
                try:
                    received = await self._pull(self._batch)
                finally:
                    self._pulling = False
                for ack_id, event in received:
                    try:
                        await self._accept(event)
                        taken.append(ack_id)
                    except Exception as error:
                        log.warning("a pulled event was left for redelivery: %s", type(error).__name__)
                await self._ack(taken)
            except Exception as error:
                log.warning("pulling events failed: %s", type(error).__name__)
                received = []
            if not received:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._idle)


class EventToCard:
    """The event-to-card lag, in the process an event arrived in (it wakes this process's runner, which reads the
    space): from the event's arrival to the end of the read and card edits it caused. Events that arrive while a
    read is due are one wait, measured from the first."""

    LIMIT = 10_000  # spaces whose events await a read here; past it (reads failing for long), start again

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._arrived: dict[tuple[str, str], float] = {}

    def arrived(self, tenant: Tenant, space_id: str) -> None:
        if len(self._arrived) >= self.LIMIT:
            self._arrived.clear()
        self._arrived.setdefault((tenant.tag, space_id), self._clock())

    def wrap(self, refresh: Refresh) -> Refresh:
        async def timed(tenant: Tenant, space_id: str) -> None:
            await refresh(tenant, space_id)
            arrived = self._arrived.pop((tenant.tag, space_id), None)
            if arrived is not None:
                metrics.event_to_card(self._clock() - arrived)

        return timed
