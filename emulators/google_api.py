"""What every Google API emulator here shares, shaped like Google's front end: the google.rpc.Status error
envelope, camelCase names and RFC 3339 timestamps, AIP-158 paging, the query string and bearer token of a request,
the record of every call, and the `/_emulator/` control routes. `meet.py` and `events.py` build on it.
See /work/shared/reference/meet-api.md §1-§5.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import hashlib
import json
import re
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------------------------
# Errors: google.rpc.Status envelope (§5.1)

CANONICAL = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    409: "The operation was aborted.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "Internal error encountered.",
    502: "The service is currently unavailable.",
    503: "The service is currently unavailable.",
    504: "The request timed out.",
}
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
JSON_UTF8 = "application/json; charset=UTF-8"


class ApiError(Exception):
    """An error answer of the Meet API; `envelope()` is its google.rpc.Status JSON."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code_name: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message or DEFAULT_MESSAGES.get(status, "Unknown error.")
        self.code_name = code_name or CANONICAL.get(status, "UNKNOWN")
        self.details = list(details)
        self.headers = dict(headers or {})
        super().__init__(f"{status} {self.code_name}: {self.message}")

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.status, "message": self.message, "status": self.code_name}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def error_info(
    reason: str, metadata: Mapping[str, str] | None = None, domain: str = "googleapis.com"
) -> dict[str, Any]:
    info: dict[str, Any] = {"@type": ERROR_INFO, "reason": reason, "domain": domain}
    if metadata:
        info["metadata"] = dict(metadata)
    return info


def retry_info(seconds: float) -> dict[str, Any]:
    return {"@type": RETRY_INFO, "retryDelay": f"{seconds:g}s"}


def invalid_argument(message: str, field_path: str | None = None) -> ApiError:
    details = []
    if field_path is not None:
        details.append({"@type": BAD_REQUEST, "fieldViolations": [{"field": field_path, "description": message}]})
    return ApiError(400, message, details=details)


# ---------------------------------------------------------------------------------------------------------------
# Names and timestamps


def to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@cache
def signing_key() -> rsa.RSAPrivateKey:
    """The RSA key the emulators sign with (OAuth id tokens, Pub/Sub push tokens): one per process. Making a
    2048-bit key costs 50-200 ms of CPU, and every test starts fresh emulators; what tells two signers apart is
    their key id and certificate, which each still makes its own. A forgery uses a key of its own."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def fmt_time(when: datetime) -> str:
    """RFC 3339 UTC with 0, 3 or 6 fractional digits and a `Z`, as proto3 JSON prints a Timestamp."""
    base = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    micros = when.microsecond
    if micros == 0:
        return base + "Z"
    if micros % 1000 == 0:
        return f"{base}.{micros // 1000:03d}Z"
    return f"{base}.{micros:06d}Z"


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (nanoseconds are truncated to microseconds); ValueError when malformed."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    frac = (m.group(7) or "").ljust(6, "0")[:6]
    zone = m.group(8).upper().replace("Z", "+00:00")
    return datetime.fromisoformat(
        f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}.{frac}{zone}"
    ).astimezone(UTC)



# ---------------------------------------------------------------------------------------------------------------
# Pagination (AIP-158): cursor tokens bound to the query, stable under concurrent inserts


def parse_page_size(raw: str | None, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except ValueError:
        raise invalid_argument(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"", "page_size") from None
    if size < 0:
        raise invalid_argument("page_size must not be negative.", "page_size")
    return default if size == 0 else min(size, maximum)


def time_key(when: datetime) -> str:
    """A sortable fixed-width rendering of a timestamp, for page cursors."""
    return f"{when:%Y-%m-%dT%H:%M:%S.%f}"


def query_digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def paginate(
    items: Sequence[T],
    sort_key: Callable[[T], tuple[str, str]],
    page_size: int,
    page_token: str | None,
    digest: str,
) -> tuple[list[T], str | None]:
    """Sort `items` by `sort_key` descending and cut the page after the token's cursor.
    Returns the page and the next token (None on the last page)."""
    items = sorted(items, key=sort_key, reverse=True)
    start = 0
    if page_token:
        cursor = _decode_token(page_token, digest)
        start = next((i for i, item in enumerate(items) if sort_key(item) < cursor), len(items))
    page = list(items[start : start + page_size])
    if start + page_size >= len(items) or not page:
        return page, None
    last = sort_key(page[-1])
    raw = json.dumps({"q": digest, "k": list(last)}, separators=(",", ":")).encode()
    return page, base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, digest: str) -> tuple[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        key = data["k"]
        if data["q"] != digest or not (isinstance(key, list) and len(key) == 2):
            raise ValueError("token of another query")
        return (str(key[0]), str(key[1]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid_argument("Invalid page token.", "page_token") from None



def offset_page(items: Sequence[T], page_size: int, page_token: str | None, digest: str) -> tuple[list[T], str | None]:
    """A page of `items` in their own order, with an offset token bound to the query (for lists whose order is
    insertion order, such as Workspace Events subscriptions)."""
    start = 0
    if page_token:
        try:
            got, _, offset = base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4)).decode().partition(":")
            if got != digest:
                raise ValueError("another query's token")
            start = int(offset)
        except ValueError:
            raise invalid_argument("Invalid page token.", "page_token") from None
    page = list(items[start : start + page_size])
    if start + page_size >= len(items):
        return page, None
    return page, base64.urlsafe_b64encode(f"{digest}:{start + page_size}".encode()).decode().rstrip("=")


def list_body(key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    """A list response in proto3 JSON: empty list and last-page token omitted."""
    out: dict[str, Any] = {}
    if items:
        out[key] = items
    if token:
        out["nextPageToken"] = token
    return out


# ---------------------------------------------------------------------------------------------------------------
# HTTP: what a request says, and Google's JSON answers


def query_of(request: web.Request, strip_dollar: bool = True) -> dict[str, str]:
    """Query parameters (last value wins; ';' is not a separator), `$`-prefixed system names without the `$`."""
    pairs = urllib.parse.parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True, separator="&")
    return {(k[1:] if strip_dollar and k.startswith("$") else k): v for k, v in pairs}


def bearer_of(request: web.Request, query: Mapping[str, str] | None = None) -> str | None:
    """The bearer token of the Authorization header; with `query`, also an `access_token` (or `oauth_token`)
    query parameter, as Google's front end accepts one."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    if query is None:
        return None
    return query.get("access_token") or query.get("oauth_token") or None


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", charset="UTF-8", headers=headers
    )


def error_response(exc: ApiError) -> web.Response:
    return json_response(exc.status, exc.envelope(), exc.headers)


# ---------------------------------------------------------------------------------------------------------------
# The record of calls, and the /_emulator/ control routes


class CallLog:
    """Every API call an emulator answered, for tests to read: {route, method, path, query, body, user, status}.
    Mixed into an emulator's state, which guards it with its own `_lock`."""

    _lock: threading.Lock | threading.RLock
    _calls: list[dict[str, Any]]

    @property
    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._calls)

    def calls_to(self, route: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["route"] == route]

    def _record_call(self, call: dict[str, Any]) -> None:
        with self._lock:
            self._calls.append(call)


def call_entry(request: web.Request, route: str, query: Mapping[str, str], body: Any, user: str | None,
               status: int) -> dict[str, Any]:
    """One entry of a CallLog."""
    return {"route": route, "method": request.method, "path": request.path, "query": dict(query), "body": body,
            "user": user, "status": status}


Control = Callable[[dict[str, Any]], Any]


def control(fn: Control) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A `/_emulator/` route: the JSON body and the query as one dict in, `fn`'s result (awaited if it is a
    coroutine) as JSON out; a KeyError is a 404, an ApiError its own status, a bad value a 400."""

    async def handler(request: web.Request) -> web.Response:
        try:
            raw = await request.read()
            data = json.loads(raw) if raw else {}
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            data.update(request.query)
            result = fn(data)
            if asyncio.iscoroutine(result):
                result = await result
        except KeyError as exc:
            return json_response(404, {"error": str(exc.args[0] if exc.args else exc)})
        except ApiError as exc:
            return json_response(exc.status, {"error": exc.message})
        except (ValueError, TypeError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, {} if result is None else result)

    return handler


def add_controls(app: web.Application, routes: Sequence[tuple[str, str, Control]]) -> None:
    """(method, path under /_emulator/, fn) each as a control route."""
    for method, path, fn in routes:
        app.router.add_route(method, f"/_emulator/{path}", control(fn))
