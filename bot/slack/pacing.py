"""Creates wait their turn in Google's per-project quota (CreatePacer), shared by the jobs that make a space: the
start of a meeting and a channel room. One slot is reserved per job and kept in its progress record, so a re-run
never reserves twice; a create that must wait tells the user at once, once, in plain words and roughly when, and
the job retries then. A 429 that still comes (another quota) is deferred the same way, by its Retry-After."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.errors import SlowDown
from bot.core.ports import CreatePacer, Progress
from bot.googleapi import calls
from bot.jobs.queue import Retry, tries_left
from bot.slack.responder import Reply
from bot.slack.views.blocks import notice

__all__ = ["CreateTurns"]

ON_TIME = 0.05  # a slot this close is taken now rather than after a retry


@dataclass(frozen=True, slots=True)
class CreateTurns:
    pacer: CreatePacer

    async def run(self, create: Callable[[], Awaitable[None]], progress: Progress, tell: Reply, what: str) -> None:
        """Run `create` (which makes the space, noting "space" in `progress`) in its turn. `what` names it for
        the user: "yours" (a meeting), "your room"."""
        try:
            await self._paced(progress, tell, what)
            await create()
        except SlowDown as limited:
            if not tries_left():
                raise  # the last try: the caller answers it in plain words, with when to try again
            wait = limited.retry_after or 30
            calls.quota_wait("create", wait)
            await self._queued(progress, tell, what, wait)
            raise Retry(wait) from None

    async def _paced(self, progress: Progress, tell: Reply, what: str) -> None:
        """Wait for this create's slot in the project's quota, reserved once per job (a re-run keeps it)."""
        done = await progress.done()
        if "space" in done:
            return
        if "slot" in done:
            slot = float(done["slot"])
        else:
            slot = time.time() + await self.pacer.reserve()
            await progress.note("slot", f"{slot:.3f}")
        left = slot - time.time()
        if left > ON_TIME:
            calls.quota_wait("create", left)
            await self._queued(progress, tell, what, left)
            raise Retry(left)

    async def _queued(self, progress: Progress, tell: Reply, what: str, wait: float) -> None:
        """Google's create quota is spent for now: say once that it is coming, and when."""
        if "told_queued" in await progress.done():
            return
        seconds = max(1, round(wait))
        await tell(**notice(f"Google is busy creating meetings right now, so {what} is queued: it will be posted "
                            f"here in about {seconds} second{'s' if seconds != 1 else ''}.",
                            emoji=":hourglass_flowing_sand:"))
        await progress.note("told_queued", str(seconds))
