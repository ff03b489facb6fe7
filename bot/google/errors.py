"""Errors raised by `bot.google`. Messages carry Google's error code and description, never a token or a code.

    GoogleAuthError
    ├── InvalidGrant            invalid_grant: refresh token revoked or expired, code reused/expired, PKCE mismatch
    ├── InvalidClient           invalid_client / unauthorized_client: the app's own credentials are wrong
    ├── GoogleAuthUnavailable   no usable answer: network error, timeout, 5xx, 429
    └── DelegationRefused       domain-wide delegation refused for this user (`reason` says why in plain words)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.auth import exceptions as gexc

__all__ = [
    "DelegationRefused",
    "GoogleAuthError",
    "GoogleAuthUnavailable",
    "InvalidClient",
    "InvalidGrant",
    "from_refresh_error",
    "from_token_response",
]


class GoogleAuthError(Exception):
    def __init__(self, message: str, *, error: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.error = error  # Google's OAuth error code, e.g. "invalid_grant"
        self.status = status


class InvalidGrant(GoogleAuthError):
    pass


class InvalidClient(GoogleAuthError):
    pass


class GoogleAuthUnavailable(GoogleAuthError):
    pass


class DelegationRefused(GoogleAuthError):
    def __init__(self, reason: str, *, error: str | None = None, status: int | None = None) -> None:
        super().__init__(reason, error=error, status=status)
        self.reason = reason


_RETRYABLE_ERRORS = frozenset({"internal_failure", "server_error", "temporarily_unavailable"})


def classify(error: str | None, description: str, status: int | None, retryable: bool = False) -> GoogleAuthError:
    """One OAuth error answer → the matching exception."""
    message = f"{error or 'error'}: {description}" if description else (error or "error")
    if retryable or error in _RETRYABLE_ERRORS or status is None or status == 429 or status >= 500:
        return GoogleAuthUnavailable(f"Google sign-in is unavailable ({message})", error=error, status=status)
    if error == "invalid_grant":
        return InvalidGrant(message, error=error, status=status)
    if error in ("invalid_client", "unauthorized_client"):
        return InvalidClient(message, error=error, status=status)
    return GoogleAuthError(message, error=error, status=status)


def from_token_response(status: int, body: Any) -> GoogleAuthError:
    """A non-200 answer of a token, revoke or userinfo endpoint."""
    if not isinstance(body, Mapping) or not isinstance(body.get("error"), str):
        # No OAuth error object: a proxy's HTML page or similar. Treat 4xx as a plain failure, the rest as outage.
        return classify(None, f"HTTP {status}", status if status < 500 else None)
    description = body.get("error_description")
    return classify(body["error"], description if isinstance(description, str) else "", status)


def from_refresh_error(error: gexc.GoogleAuthError) -> GoogleAuthError:
    """google-auth's RefreshError/TransportError → ours. google-auth puts the decoded error body in args[1]."""
    if isinstance(error, gexc.TransportError):
        return GoogleAuthUnavailable("Google sign-in is unreachable", error=None, status=None)
    body = error.args[1] if len(error.args) > 1 else None
    if "Reauthentication is needed" in str(error.args[0] if error.args else ""):
        # invalid_grant with error_subtype rapt_required: Google wants the user to sign in again.
        return InvalidGrant("invalid_grant: reauthentication required", error="invalid_grant", status=400)
    if not isinstance(body, Mapping) or not isinstance(body.get("error"), str):
        # A body that isn't an OAuth error object comes from a proxy or an outage, not from Google's OAuth logic.
        return GoogleAuthUnavailable("Google sign-in gave no usable answer")
    description = body.get("error_description")
    retryable = bool(getattr(error, "retryable", False))
    return classify(body["error"], description if isinstance(description, str) else "", 400, retryable)
