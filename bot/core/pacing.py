"""Pacing Meet writes within Google's per-user write quota: in this process, or shared by every process (Redis)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.domain import Actor, Tenant

__all__ = ["WRITES_PER_MINUTE", "Pacer", "SharedWritePacer", "WritePacer"]

WRITES_PER_MINUTE = 100  # Google's per-user write quota for the Meet API (reference §8)


class Pacer(Protocol):
    async def slot(self, actor: Actor) -> None:
        """Wait until `actor` may make one more Meet write."""
        ...


class WritePacer:
    """At most `per_minute` writes in any `window` seconds, per Google user (in this process)."""

    def __init__(self, per_minute: int = WRITES_PER_MINUTE, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit, self._window, self._clock = per_minute, window, clock
        self._sent: dict[tuple[Tenant, str], deque[float]] = {}
        self._locks: dict[tuple[Tenant, str], asyncio.Lock] = {}

    async def slot(self, actor: Actor) -> None:
        key = (actor.tenant, actor.user_id)
        sent = self._sent.setdefault(key, deque())
        async with self._locks.setdefault(key, asyncio.Lock()):
            while True:
                now = self._clock()
                while sent and now - sent[0] >= self._window:
                    sent.popleft()
                if len(sent) < self._limit:
                    sent.append(now)
                    return
                await asyncio.sleep(self._window - (now - sent[0]))


class SharedWritePacer:
    """The per-user window kept where every process sees it (Redis): `reserve` answers how long to wait."""

    def __init__(self, reserve: Callable[[Tenant, str], Awaitable[float]]) -> None:
        self._reserve = reserve

    async def slot(self, actor: Actor) -> None:
        wait = await self._reserve(actor.tenant, actor.user_id)
        if wait > 0:
            await asyncio.sleep(wait)

