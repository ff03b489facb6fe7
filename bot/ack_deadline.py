"""One deadline over everything Slack waits on: the signed-request de-duplication, the listener's store calls and
the job enqueue share ACK_BUDGET seconds, so a Redis that stalls (it accepts connections and never answers) costs
the ack at most that, then the honest "storage unavailable" reply, as a dead Redis does. Each Redis call has its
own 1 s timeout and one retry: several of them one after another took 4 to 9 s, past Slack's 3.

The deadline lives in a context variable set around the ack path (web.py for HTTP, app.with_ack_deadline for
Socket Mode); the store and the job queue bound their calls by it. Work that runs after the ack (background
tasks, jobs) starts with no deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Coroutine, Iterator
from contextvars import ContextVar
from typing import TypeVar

__all__ = ["ACK_BUDGET", "AckDeadlinePassed", "bounded", "cleared", "starting"]

ACK_BUDGET = 1.5  # seconds: Slack allows 3, and the reply itself still has to travel

T = TypeVar("T")

_DEADLINE: ContextVar[float | None] = ContextVar("ack_deadline", default=None)
_BOUNDED: ContextVar[bool] = ContextVar("ack_bounded", default=False)


class AckDeadlinePassed(Exception):
    """A call on the ack path would have gone past the ack's deadline; the callers turn it into "unavailable"."""


@contextlib.contextmanager
def starting(budget: float | None = None) -> Iterator[None]:
    """The ack path begins: everything under it shares one deadline, `budget` (ACK_BUDGET) seconds from now (or the
    one already set by an outer `starting`: the deadline is never moved later)."""
    seconds = ACK_BUDGET if budget is None else budget
    token = _DEADLINE.set(_DEADLINE.get() or asyncio.get_running_loop().time() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def cleared() -> None:
    """In a task that outlives the ack (it inherited the ack path's context): no deadline here."""
    _DEADLINE.set(None)


async def bounded(call: Awaitable[T]) -> T:
    """`call`, cut off at the ack's deadline when there is one (AckDeadlinePassed); as is otherwise. Calls nested
    in a bounded one run under the outer bound (two timeouts firing at once would cancel the task twice)."""
    deadline = _DEADLINE.get()
    if deadline is None or _BOUNDED.get():
        return await call
    loop = asyncio.get_running_loop()
    if loop.time() >= deadline:
        if isinstance(call, Coroutine):
            call.close()  # never started: no command half-sent on a connection
        raise AckDeadlinePassed()
    inside = _BOUNDED.set(True)
    try:
        async with asyncio.timeout_at(deadline):
            return await call
    except TimeoutError as error:
        if loop.time() < deadline:
            raise  # the call's own timeout, not ours
        raise AckDeadlinePassed() from error
    finally:
        _BOUNDED.reset(inside)
