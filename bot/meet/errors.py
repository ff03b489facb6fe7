"""Errors raised by `bot.meet`.

Everything this package raises on purpose derives from `MeetError`, so a caller can always catch one class:

    MeetError
    ├── InvalidMeetingReference (also ValueError)  links.py: text that is not a usable meeting link/code/name
    ├── InvalidResourceName (also ValueError)      a malformed resource name, refused locally, nothing sent
    │   └── MeetingCodeNotAllowed                  a code alias given to patch/end (they take only spaces/{id})
    ├── InvalidToken (also ValueError)             an empty or malformed access token, refused locally
    ├── MeetTransportError                         no HTTP answer: connect refused, reset, protocol error
    │   └── MeetTimeout                            ... or the connect/read/pool timeout ran out
    ├── MeetProtocolError                          an answer that is not what the API promises (bad JSON)
    └── MeetApiError                               Google answered with an error (google.rpc.Status envelope)
        ├── InvalidArgument                        400 INVALID_ARGUMENT / OUT_OF_RANGE (and other 400s)
        ├── FailedPrecondition                     400 FAILED_PRECONDITION (e.g. end with no live conference)
        ├── Unauthenticated                        401: token missing, invalid, expired
        ├── PermissionDenied                       403: see .reason, .is_missing_scope
        ├── NotFound                               404
        ├── AlreadyExists                          409 ALREADY_EXISTS (e.g. a member that is already one)
        ├── RateLimited                            429 RESOURCE_EXHAUSTED, .retry_after
        └── Unavailable                            503 UNAVAILABLE (and a bare 502), .retry_after

Other statuses (409 ABORTED, 500, 504, ...) come out as a plain `MeetApiError`. "Google can't be reached right now" is
`(Unavailable, MeetTransportError)`.

No message built here ever contains a credential: errors carry only what Google answered and the operation name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "AlreadyExists",
    "FailedPrecondition",
    "InvalidArgument",
    "InvalidMeetingReference",
    "InvalidResourceName",
    "InvalidToken",
    "MeetApiError",
    "MeetError",
    "MeetProtocolError",
    "MeetTimeout",
    "MeetTransportError",
    "MeetingCodeNotAllowed",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "Unauthenticated",
    "Unavailable",
    "error_from_response",
]

_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


class MeetError(Exception):
    """Base of every error raised by `bot.meet`."""


class InvalidMeetingReference(MeetError, ValueError):
    """Text that is not a usable meeting reference. `.reason` is a sentence fit to show the user."""

    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.text = text


class InvalidResourceName(MeetError, ValueError):
    """A resource name that doesn't match the method's pattern; refused before anything is sent."""


class MeetingCodeNotAllowed(InvalidResourceName):
    """patch and endActiveConference accept only `spaces/{id}`: resolve the code with get_space first."""


class InvalidToken(MeetError, ValueError):
    """The credential is empty or has characters no bearer token has. The message never quotes it."""


class MeetTransportError(MeetError):
    """The request got no HTTP answer (connection refused or reset, protocol error)."""


class MeetTimeout(MeetTransportError):
    """A connect, read, write or pool timeout ran out."""


class MeetProtocolError(MeetError):
    """A success status with a body that isn't the JSON object the API promises."""


class MeetApiError(MeetError):
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


class InvalidArgument(MeetApiError):
    pass


class FailedPrecondition(MeetApiError):
    pass


class Unauthenticated(MeetApiError):
    @property
    def is_expired(self) -> bool:
        return self.reason == "ACCESS_TOKEN_EXPIRED"


class PermissionDenied(MeetApiError):
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


class NotFound(MeetApiError):
    pass


class AlreadyExists(MeetApiError):
    pass


class RateLimited(MeetApiError):
    pass


class Unavailable(MeetApiError):
    pass



_BY_CODE: dict[str, type[MeetApiError]] = {
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
_BY_STATUS: dict[int, type[MeetApiError]] = {
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
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, operation: str | None = None
) -> MeetApiError:
    """Build the typed error for a non-2xx answer. Never raises: any body yields a readable error."""
    envelope = _envelope(body)
    if envelope is None:
        code = _CODE_FOR_STATUS.get(status, "UNKNOWN")
        message = _readable_text(body) or f"HTTP {status}"
        cls = _BY_STATUS.get(status, MeetApiError)
        return cls(status, code, message, retry_after=_retry_after_header(headers), operation=operation)

    raw_code = envelope.get("status")
    code = raw_code if isinstance(raw_code, str) and raw_code else _CODE_FOR_STATUS.get(status, "UNKNOWN")
    raw_message = envelope.get("message")
    message = raw_message if isinstance(raw_message, str) and raw_message else f"HTTP {status}"
    raw_details = envelope.get("details")
    details = tuple(d for d in raw_details if isinstance(d, dict)) if isinstance(raw_details, list) else ()

    reason = domain = None
    metadata: dict[str, str] = {}
    retry_after = _retry_after_header(headers)
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

    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, MeetApiError)
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


def _envelope(body: bytes) -> dict[str, Any] | None:
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
