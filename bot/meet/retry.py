"""When to retry a read: truncated exponential backoff with jitter, Retry-After honoured, inside a total deadline.

Only reads (spaces.get, conferenceRecords.*, participants.list) are ever retried, and only on 429, 503 and transport
failures. The deadline (default 2.0 s) counts from the start of the call, so a command answered inside Slack's
3-second budget keeps about a second for everything else; a wait that would cross it is not started: the last
error is raised at once, still carrying `retry_after` for the user-facing message.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from bot.googleapi.errors import ApiStatusError, GoogleApiError

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    deadline: float = 2.0  # seconds from the first attempt; no wait may end past it
    max_attempts: int = 5  # first try included
    initial_backoff: float = 0.1
    multiplier: float = 2.0
    max_backoff: float = 1.0  # the "truncated" in truncated exponential backoff
    jitter: float = 0.1  # up to this many seconds added at random, so clients don't retry in lockstep

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """The wait before retry number `retry` (1 = the first retry), ignoring Retry-After."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return base + rand() * self.jitter

    def next_wait(
        self, retry: int, error: GoogleApiError, elapsed: float, rand: Callable[[], float] = random.random
    ) -> float | None:
        """Seconds to sleep before retry number `retry`, or None: give up and raise `error` now."""
        if retry >= self.max_attempts:
            return None
        wait = self.backoff(retry, rand)
        retry_after = error.retry_after if isinstance(error, ApiStatusError) else None
        if retry_after is not None:
            wait = max(wait, retry_after)
        if elapsed + wait > self.deadline:
            return None
        return wait


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1)
