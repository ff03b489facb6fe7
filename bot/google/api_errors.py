"""Errors of Google's JSON APIs that `bot.google` calls (Workspace Events, Pub/Sub), and of Pub/Sub push intake.

    GoogleApiError
    ├── ApiTransportError          no HTTP answer: connect refused, reset, timeout
    │   └── ApiReadTimeout         sent, and no answer within the read timeout
    ├── ApiProtocolError           an answer that is not what the API promises (not JSON, missing fields)
    ├── OperationPending           a long-running operation was still running after the polls we allow
    └── ApiStatusError             Google answered with an error (google.rpc.Status, also inside an Operation)
        ├── InvalidArgument        400 INVALID_ARGUMENT (and other 400s)
        ├── FailedPrecondition     400 FAILED_PRECONDITION (e.g. reactivating an active subscription)
        ├── Unauthenticated        401: the token is missing, expired or revoked
        ├── PermissionDenied       403: `.reason` tells a missing scope from a refusal
        ├── NotFound               404
        ├── AlreadyExists          409 ALREADY_EXISTS (one subscription per user and target)
        ├── RateLimited            429 RESOURCE_EXHAUSTED, `.retry_after`
        └── Unavailable            5xx, `.retry_after`
    PushRejected                   a Pub/Sub push whose bearer token does not verify (answer 401)
    MalformedEvent (ValueError)    a push body or Pub/Sub message that is not a Workspace event

No message built here contains a token: errors carry Google's code, message and ErrorInfo reason only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AlreadyExists",
    "ApiProtocolError",
    "ApiReadTimeout",
    "ApiStatusError",
    "ApiTransportError",
    "FailedPrecondition",
    "GoogleApiError",
    "InvalidArgument",
    "MalformedEvent",
    "NotFound",
    "OperationPending",
    "PermissionDenied",
    "PushRejected",
    "RateLimited",
    "Unauthenticated",
    "Unavailable",
    "error_from_response",
    "error_from_status",
]

_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


class GoogleApiError(Exception):
    """Base of the errors of Google's JSON APIs called from `bot.google`."""


class ApiTransportError(GoogleApiError):
    pass


class ApiReadTimeout(ApiTransportError):
    """The request went out and no answer came within the read timeout."""


class ApiProtocolError(GoogleApiError):
    pass


class OperationPending(GoogleApiError):
    def __init__(self, operation: str) -> None:
        super().__init__(f"{operation} was not done after polling")
        self.operation = operation


class ApiStatusError(GoogleApiError):
    """`status` (HTTP), `code` ("NOT_FOUND"), `message`, `reason` (first ErrorInfo), `retry_after` (seconds)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        reason: str | None = None,
        retry_after: float | None = None,
        operation: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason
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
    pass


class PermissionDenied(ApiStatusError):
    @property
    def is_missing_scope(self) -> bool:
        return self.reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


class NotFound(ApiStatusError):
    pass


class AlreadyExists(ApiStatusError):
    pass


class RateLimited(ApiStatusError):
    pass


class Unavailable(ApiStatusError):
    pass


class PushRejected(Exception):
    """`.reason` says in plain words why (never quoting the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedEvent(ValueError):
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
_BY_STATUS: dict[int, type[ApiStatusError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    429: RateLimited,
    500: Unavailable,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
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


def error_from_status(
    status: int, error: Mapping[str, Any], retry_after: float | None = None, operation: str | None = None
) -> ApiStatusError:
    """A google.rpc.Status object (the `error` of an envelope or of an Operation) → the typed error."""
    code = error.get("status")
    if not isinstance(code, str) or not code:
        grpc = error.get("code")
        code, status = _GRPC_CODES.get(grpc, ("UNKNOWN", status)) if isinstance(grpc, int) else ("UNKNOWN", status)
    message = error.get("message") if isinstance(error.get("message"), str) else f"HTTP {status}"
    reason = None
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict):
            continue
        if detail.get("@type") == _ERROR_INFO and reason is None and isinstance(detail.get("reason"), str):
            reason = detail["reason"]
        if detail.get("@type") == _RETRY_INFO and retry_after is None:
            retry_after = _seconds(detail.get("retryDelay"))
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, ApiStatusError)
    return cls(status, code, str(message), reason=reason, retry_after=retry_after, operation=operation)


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, operation: str | None = None
) -> ApiStatusError:
    """The typed error for a non-2xx answer; any body yields a readable error."""
    retry_after = _seconds(headers.get("Retry-After"))
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        cls = _BY_STATUS.get(status, ApiStatusError)
        return cls(status, "UNKNOWN", f"HTTP {status}", retry_after=retry_after, operation=operation)
    return error_from_status(status, error, retry_after, operation)


def _seconds(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return float(value.strip().removesuffix("s"))
    except ValueError:
        return None
