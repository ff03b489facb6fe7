"""Waiting in tests: the one way to poll until something holds, or fail saying what never came.

`eventually` blocks its thread while it waits: for work that runs elsewhere (a bot in a process of its own, an
in-process bot on its own thread and loop, the emulators' threads). `eventually_async` lets the test's event loop
run while it waits: for work on that loop (the `edge` harness's jobs, a task the test started), and for checks that
are themselves coroutines. A test that must show that something did *not* happen waits for the bot's jobs to be
done instead (tests/support/jobs.py `settled`)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

__all__ = ["What", "eventually", "eventually_async"]

What = str | Callable[[], str]
"""What the wait is for, as the failure says it; a callable is asked when the wait fails (a process's log then)."""


def eventually(check: Callable[[], Any], what: What, within: float = 15.0, *, every: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy (returned), or fail saying what never came. `check` is asked
    once more when the time is up; an AssertionError it raises fails the wait at once (a check that also asserts
    on each look)."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(_never(what, within, found))
        time.sleep(every)


async def eventually_async(check: Callable[[], Any], what: What, within: float = 15.0, *, every: float = 0.02
                           ) -> Any:
    """`eventually` for checks on this event loop's own work (it keeps running while we wait). `check` may return
    an awaitable (an `async def` check): its result is what counts."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(_never(what, within, found))
        await asyncio.sleep(every)


def _never(what: What, within: float, last: Any) -> str:
    """The failure: what never came, and the last answer the check gave when that says more than False or None
    (an empty list, a count of 0, a status)."""
    said = what() if callable(what) else what
    seen = "" if last is None or isinstance(last, bool) else f" (last seen: {_short(last)})"
    return f"waited {within:g}s for {said}{seen}"


def _short(value: Any, limit: int = 500) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
