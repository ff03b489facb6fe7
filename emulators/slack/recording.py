"""The traffic record of the Slack emulator: every API call and response_url post, and the injected faults."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from typing import TYPE_CHECKING

from emulators.slack.models import JSON, Fault


class TrafficLog:
    """SlackState's calls record and fault queue (a mixin: SlackState supplies `_lock` and `now`)."""

    _lock: threading.RLock

    if TYPE_CHECKING:

        def now(self) -> float: ...

    def _init_traffic(self) -> None:
        self._calls: list[JSON] = []
        self._response_posts: list[JSON] = []
        self._faults: list[Fault] = []

    def inject_fault(
        self,
        method: str,
        status: int = 500,
        retry_after: int | None = None,
        count: int = 1,
        body: JSON | str | None = None,
        delay: float = 0.0,
    ) -> None:
        """The next `count` calls of `method` answer `status` (429 adds Retry-After). `method` may be "*" or
        "response_url". status 200 with no body only delays the real answer by `delay` seconds."""
        with self._lock:
            self._faults.append(Fault(method, status, retry_after, count, body, delay))

    def faults_left(self) -> int:
        """Calls still to be faulted: 0 once every injected fault was taken (its call arrived, delayed or not)."""
        with self._lock:
            return sum(fault.remaining for fault in self._faults)

    # -- reading ---------------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[JSON]:
        """Every API call so far: method, args, token, time, status, ok, error, response, body_format."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def calls_from(self, start: int) -> list[JSON]:
        """The calls recorded after the first `start`: a reader that keeps its place copies only what is new
        (the sandbox's page asks several times a second, and the whole log grows for as long as it runs)."""
        with self._lock:
            return copy.deepcopy(self._calls[start:])

    def refused_calls(self) -> list[JSON]:
        """The calls Slack answered with an error."""
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if not c["ok"]]

    def calls_to(self, method: str) -> list[JSON]:
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if c["method"] == method]

    def response_posts(self, name: str | None = None) -> list[JSON]:
        with self._lock:
            return [copy.deepcopy(p) for p in self._response_posts if name is None or p["name"] == name]

    async def wait_for_calls(
        self, method: str, n: int = 1, timeout: float = 5.0  # noqa: ASYNC109 - the polling deadline
    ) -> list[JSON]:
        """Poll until at least n calls of `method` were recorded; returns them. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            found = _enough(self.calls_to(method), n, deadline, f"{n} call(s) of {method}")
            if found is not None:
                return found
            await asyncio.sleep(0.01)

    def wait_for_calls_blocking(self, method: str, n: int = 1, timeout: float = 5.0) -> list[JSON]:
        """Blocking variant of wait_for_calls. Do not use it on the event loop that runs the bot."""
        deadline = time.monotonic() + timeout
        while (found := _enough(self.calls_to(method), n, deadline, f"{n} call(s) of {method}")) is None:
            time.sleep(0.01)
        return found

    async def wait_for_response_posts(
        self, name: str | None = None, n: int = 1, timeout: float = 5.0  # noqa: ASYNC109
    ) -> list[JSON]:
        deadline = time.monotonic() + timeout
        while True:
            found = _enough(self.response_posts(name), n, deadline, f"{n} post(s) to {name}")
            if found is not None:
                return found
            await asyncio.sleep(0.01)

    def wait_for_response_posts_blocking(
        self, name: str | None = None, n: int = 1, timeout: float = 5.0
    ) -> list[JSON]:
        deadline = time.monotonic() + timeout
        while (found := _enough(self.response_posts(name), n, deadline, f"{n} post(s) to {name}")) is None:
            time.sleep(0.01)
        return found

    # -- recording, used by the HTTP layer -------------------------------------------------------------------

    def take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                wildcard = fault.method == "*" and method != "response_url"
                if (fault.method == method or wildcard) and fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return copy.copy(fault)
            return None

    def record_call(
        self,
        method: str,
        args: JSON,
        token: str | None,
        status: int,
        response: JSON | str,
        *,
        http_method: str = "POST",
        body_format: str = "none",
        started: float | None = None,
    ) -> None:
        with self._lock:
            ok = isinstance(response, dict) and response.get("ok") is True
            self._calls.append(
                {
                    "method": method,
                    "args": copy.deepcopy(args),
                    "token": token,
                    "time": started if started is not None else self.now(),
                    "status": status,
                    "ok": ok,
                    "error": response.get("error") if isinstance(response, dict) else None,
                    "response": copy.deepcopy(response),
                    "http_method": http_method,
                    "body_format": body_format,
                }
            )

    def record_response_post(self, name: str, raw: bytes, status: int, response: JSON | str) -> None:
        """Record a response_url POST answered by an injected fault."""
        with self._lock:
            self._response_posts.append(
                {
                    "name": name,
                    "time": self.now(),
                    "body": None,
                    "raw": raw.decode("utf-8", "replace"),
                    "status": status,
                    "response": copy.deepcopy(response),
                }
            )



def _enough(found: list[JSON], n: int, deadline: float, what: str) -> list[JSON] | None:
    """`found` once it holds n items; None to keep polling; TimeoutError past the deadline."""
    if len(found) >= n:
        return found
    if time.monotonic() >= deadline:
        raise TimeoutError(f"waited for {what}, saw {len(found)}")
    return None
