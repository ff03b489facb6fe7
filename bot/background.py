"""Bounded background work: Slack gets its answer first, Google work runs after, capped so it can't starve acks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.ack_deadline import cleared

__all__ = ["BackgroundTasks"]

log = logging.getLogger(__name__)


class BackgroundTasks:
    """Runs coroutines as tasks, at most `limit` at once; `drain()` lets them finish within a bound at shutdown."""

    def __init__(self, limit: int = 256) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str = "work") -> asyncio.Task[None] | None:
        if self._closing:
            work.close()
            log.warning("shutting down: dropped background %s", name)
            return None
        task = asyncio.get_running_loop().create_task(self._run(work, name), name=name)
        self._tasks.add(task)  # a strong reference, or the loop may collect a running task
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, work: Coroutine[Any, Any, None], name: str) -> None:
        cleared()  # spawned from an ack path, it runs after the ack: not bound by the ack's deadline
        async with self._slots:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background %s failed", name)

    async def drain(self, within: float) -> int:
        """Stop taking work, wait up to `within` seconds, cancel what is left. Returns how many were cancelled."""
        self._closing = True
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=within)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        return len(pending)
