"""The one error tree of Google's REST APIs (Meet, Workspace Events, Pub/Sub), shared by bot/meet and bot/google.

Each client translates in one place (its send function): httpx failures and Google's error answers become these, and
nothing else leaves it. A caller can always catch `GoogleApiError`:

    GoogleApiError
    ├── ApiTransportError                          no HTTP answer: connect refused, reset, protocol error
    │   └── ApiTimeout                             ... or the connect/read/pool timeout ran out
    │       └── ApiReadTimeout                     sent, and no answer within the read timeout
    ├── ApiProtocolError                           an answer that is not what the API promises (not JSON, no name)
    ├── OperationPending                           a long-running operation was still running after our polls
    └── ApiStatusError                             Google answered with an error (google.rpc.Status envelope, also
        │                                          inside an Operation)
        ├── InvalidArgument                        400 INVALID_ARGUMENT / OUT_OF_RANGE (and other 400s)
        ├── FailedPrecondition                     400 FAILED_PRECONDITION (e.g. end with no live conference)
        ├── Unauthenticated                        401: token missing, invalid, expired
        ├── PermissionDenied                       403: see .reason, .is_missing_scope
        ├── NotFound                               404
        ├── AlreadyExists                          409 ALREADY_EXISTS (e.g. a member that is already one)
        ├── RateLimited                            429 RESOURCE_EXHAUSTED, .retry_after
        └── Unavailable                            503 UNAVAILABLE (and a bare 502), .retry_after

Other statuses (409 ABORTED, 500, 504, ...) come out as a plain `ApiStatusError`. "Google can't be reached right now"
is `(Unavailable, ApiTransportError)`. bot/meet adds the errors it refuses locally (meet/errors.py).

No message built here ever contains a credential: errors carry only what Google answered and the operation name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from bot.json_values import ReadJson

__all__ = [
    "AlreadyExists",
    "ApiProtocolError",
    "ApiReadTimeout",
    "ApiStatusError",
    "ApiTimeout",
    "ApiTransportError",
    "FailedPrecondition",
    "GoogleApiError",
    "InvalidArgument",
    "NotFound",
    "OperationPending",
    "PermissionDenied",
    "RateLimited",
    "Unauthenticated",
    "Unavailable",
    "error_from_response",
    "error_from_status",
]

_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


class GoogleApiError(Exception):
    """Base of every error a call to Google's REST APIs raises."""


class ApiTransportError(GoogleApiError):
    """The request got no HTTP answer (connection refused or reset, protocol error)."""


class ApiTimeout(ApiTransportError):
    """A connect, read, write or pool timeout ran out."""


class ApiReadTimeout(ApiTimeout):
    """The request went out and no answer came within the read timeout."""


class ApiProtocolError(GoogleApiError):
    """A success status with a body that isn't what the API promises (not a JSON object, a field missing)."""


class OperationPending(GoogleApiError):
    """A long-running operation was not done after the polls we allow."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"{operation} was not done after polling")
        self.operation = operation


class ApiStatusError(GoogleApiError):
    """Google answered with an error status.

    `status` is the HTTP status, `code` the canonical name ("NOT_FOUND"), `message` Google's text, `details` the raw
    `details[]` list, `reason`/`domain`/`metadata` come from the first `google.rpc.ErrorInfo`, and `retry_after`
    (seconds) from a `Retry-After` header or `google.rpc.RetryInfo`. `operation` names the call ("spaces.get").
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: tuple[Mapping[str, Any], ...] = (),
        reason: str | None = None,
        domain: str | None = None,
        metadata: Mapping[str, str] | None = None,
        retry_after: float | None = None,
        operation: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.reason = reason
        self.domain = domain
        self.metadata: Mapping[str, str] = metadata or {}
        self.retry_after = retry_after
        self.operation = operation
        where = f"{operation}: " if operation else ""
        why = f" [{reason}]" if reason else ""
        super().__init__(f"{where}{status} {code}: {message}{why}")


class InvalidArgument(ApiStatusError):
    pass


class FailedPrecondition(ApiStatusError):
    pass


class Unauthenticated(ApiStatusError):
    @property
    def is_expired(self) -> bool:
        return self.reason == "ACCESS_TOKEN_EXPIRED"


class PermissionDenied(ApiStatusError):
    """403. A missing scope and "you may not do this to that space" both arrive as 403; `.reason` tells them apart."""

    @property
    def is_missing_scope(self) -> bool:
        return self.reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"

    @property
    def is_service_disabled(self) -> bool:
        return self.reason == "SERVICE_DISABLED"

    @property
    def is_caller_refused(self) -> bool:
        """The token is fine; the caller just isn't allowed (e.g. not the owner)."""
        return not (self.is_missing_scope or self.is_service_disabled)


class NotFound(ApiStatusError):
    pass


class AlreadyExists(ApiStatusError):
    pass


class RateLimited(ApiStatusError):
    pass


class Unavailable(ApiStatusError):
    pass


_BY_CODE: dict[str, type[ApiStatusError]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "OUT_OF_RANGE": InvalidArgument,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "NOT_FOUND": NotFound,
    "ALREADY_EXISTS": AlreadyExists,
    "RESOURCE_EXHAUSTED": RateLimited,
    "UNAVAILABLE": Unavailable,
}
# Used when the body names no (known) canonical code: the HTTP status decides, as in google-api-core.
_BY_STATUS: dict[int, type[ApiStatusError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    429: RateLimited,
    502: Unavailable,  # a gateway's own error page: as transient as a 503
    503: Unavailable,
}
_CODE_FOR_STATUS = {
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
# google.rpc.Code numbers, as an Operation's `error.code` carries them
_GRPC_CODES = {
    3: ("INVALID_ARGUMENT", 400),
    5: ("NOT_FOUND", 404),
    6: ("ALREADY_EXISTS", 409),
    7: ("PERMISSION_DENIED", 403),
    8: ("RESOURCE_EXHAUSTED", 429),
    9: ("FAILED_PRECONDITION", 400),
    14: ("UNAVAILABLE", 503),
    16: ("UNAUTHENTICATED", 401),
}
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, operation: str | None = None
) -> ApiStatusError:
    """Build the typed error for a non-2xx answer. Never raises: any body yields a readable error."""
    envelope = _envelope(body)
    if envelope is None:
        code = _CODE_FOR_STATUS.get(status, "UNKNOWN")
        message = _readable_text(body) or f"HTTP {status}"
        cls = _BY_STATUS.get(status, ApiStatusError)
        return cls(status, code, message, retry_after=_retry_after_header(headers), operation=operation)
    return error_from_status(status, envelope, _retry_after_header(headers), operation)


def error_from_status(
    status: int, error: Mapping[str, Any], retry_after: float | None = None, operation: str | None = None
) -> ApiStatusError:
    """A google.rpc.Status object (the `error` of an envelope, or of a finished Operation) → the typed error."""
    raw_code = error.get("status")
    grpc = error.get("code")
    if isinstance(raw_code, str) and raw_code:
        code = raw_code
    elif isinstance(grpc, int) and grpc in _GRPC_CODES:  # an Operation's error names its code by number only
        code, status = _GRPC_CODES[grpc]
    else:
        code = _CODE_FOR_STATUS.get(status, "UNKNOWN")
    raw_message = error.get("message")
    message = raw_message if isinstance(raw_message, str) and raw_message else f"HTTP {status}"
    raw_details = error.get("details")
    details = tuple(d for d in raw_details if isinstance(d, dict)) if isinstance(raw_details, list) else ()

    reason = domain = None
    metadata: dict[str, str] = {}
    for detail in details:
        kind = detail.get("@type")
        if kind == _ERROR_INFO and reason is None:
            reason = _opt_str(detail.get("reason"))
            domain = _opt_str(detail.get("domain"))
            meta = detail.get("metadata")
            if isinstance(meta, dict):
                metadata = {str(k): str(v) for k, v in meta.items()}
        elif kind == _RETRY_INFO and retry_after is None:
            retry_after = _duration_seconds(detail.get("retryDelay"))

    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, ApiStatusError)
    return cls(
        status,
        code,
        message,
        details=details,
        reason=reason,
        domain=domain,
        metadata=metadata,
        retry_after=retry_after,
        operation=operation,
    )


def _envelope(body: bytes) -> ReadJson | None:
    try:
        data = json.loads(body)
    except ValueError:  # also covers UnicodeDecodeError
        return None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # $.xgafv=1-style batch wrapping; cheap to accept
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    return error if isinstance(error, dict) else None


def _readable_text(body: bytes) -> str:
    # An HTML error page from a proxy or load balancer: keep the words, drop the markup.
    text = body.decode("utf-8", errors="replace")
    text = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    return text[:200] + ("…" if len(text) > 200 else "")


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _duration_seconds(value: object) -> float | None:
    """google.protobuf.Duration JSON ("30s", "1.5s") → seconds."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1))
    elif isinstance(value, dict):  # {"seconds": 30, "nanos": 0} if someone sends the message form
        try:
            return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
    return None


def _retry_after_header(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
