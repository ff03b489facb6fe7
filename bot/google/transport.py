"""A google-auth transport over httpx, so google-auth's credential objects refresh without `requests`.

google-auth's refresh logic is synchronous (`Credentials.refresh(request)`), so this implements the sync
`google.auth.transport.Request` over an `httpx.Client`; `run_refresh` runs a refresh on a worker thread so the
event loop never blocks. google-auth's own async stack (`google.auth.aio`) has no user or service-account
credentials with refresh yet, so it doesn't fit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from google.auth import exceptions as gexc
from google.auth import transport

from bot.googleapi.calls import NO_ANSWER, answered
from bot.googleapi.tls import shared_tls

__all__ = ["FALLBACK_LIFETIME", "HttpxRequest", "HttpxResponse", "epoch_seconds", "run_refresh"]

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
FALLBACK_LIFETIME = 3000.0  # seconds, for a token answer without expires_in (Google always sends it)


class HttpxResponse(transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxRequest(transport.Request):
    """Callable google-auth uses for every HTTP call. Thread-safe: httpx.Client pools connections under a lock."""

    def __init__(self, client: httpx.Client | None = None, timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self._client = client or httpx.Client(timeout=timeout, verify=shared_tls())
        self._owned = client is None
        self._timeout = timeout

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> HttpxResponse:
        try:
            response = self._client.request(
                method, url, content=body, headers=headers, timeout=self._timeout if timeout is None else timeout
            )
        except httpx.HTTPError as error:
            answered(_operation(url), NO_ANSWER)
            # Only the exception's type: its message may quote the request, and nothing of a request may reach a log.
            message = f"{type(error).__name__} talking to Google"
            raise gexc.TransportError(message) from None  # type: ignore[no-untyped-call]
        answered(_operation(url), response.status_code)
        return HttpxResponse(response)

    def close(self) -> None:
        if self._owned:
            self._client.close()


def _operation(url: str) -> str:
    """google-auth calls the token endpoint (refresh, jwt-bearer) and the keys that sign Google's tokens."""
    path = httpx.URL(url).path
    if path.endswith("/token"):
        return "oauth.token"
    return "oauth.certs" if "cert" in path else "oauth.other"


async def run_refresh(credentials: Any, request: HttpxRequest) -> None:
    """`credentials.refresh(request)` off the event loop; google-auth errors propagate unchanged."""
    await asyncio.to_thread(credentials.refresh, request)


def epoch_seconds(expiry: datetime | None) -> float | None:
    """google-auth keeps expiries as naive UTC datetimes."""
    if expiry is None:
        return None
    return (expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)).timestamp()
