"""One INFO line per user action: what was asked, by which Slack team and user, how it ended, how long it took and
how many Google calls it made (the Google clients count them here, through a context variable that follows the
action's own tasks).

    action /meet new by T0001/U0ALICE: ok in 212 ms, 1 Google call

In JSON logs the same facts are fields: action, team, user, outcome, ms, google_calls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["Action", "action", "google_call", "outcome"]

log = logging.getLogger("bot.actions")


@dataclass(slots=True)
class Action:
    what: str  # a fixed name ("/meet new", "end-click"): never what the person typed
    team: str
    user: str
    outcome: str = "ok"  # ok, deferred (runs again later), not_linked, refused, unavailable, error
    google_calls: int = 0
    quiet: bool = False  # the action goes on elsewhere (a job), which writes its line
    started: float = field(default_factory=time.perf_counter)


_CURRENT: ContextVar[Action | None] = ContextVar("meetbot_action", default=None)


def google_call() -> None:
    current = _CURRENT.get()
    if current is not None:
        current.google_calls += 1


def outcome(value: str) -> None:
    """How the current action ended, when it ended otherwise than well (said where the failure is answered)."""
    current = _CURRENT.get()
    if current is not None:
        current.outcome = value


@contextmanager
def action(what: str, team: str, user: str) -> Iterator[Action]:
    current = Action(what, team, user)
    token = _CURRENT.set(current)
    try:
        yield current
    except BaseException:
        if current.outcome == "ok":
            current.outcome = "error"
        raise
    finally:
        _CURRENT.reset(token)
        if not current.quiet:
            _line(current)


def _line(done: Action) -> None:
    ms = round((time.perf_counter() - done.started) * 1000)
    calls = done.google_calls
    log.info("action %s by %s/%s: %s in %d ms, %d Google call%s", done.what, done.team, done.user, done.outcome, ms,
             calls, "" if calls == 1 else "s",
             extra={"action": done.what, "team": done.team, "user": done.user, "outcome": done.outcome, "ms": ms,
                    "google_calls": calls})
