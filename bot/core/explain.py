"""Translate Google's errors into refusals a Slack user understands, per operation.

The same HTTP status means different things per call: a 403 on a read means the app may not see the space
(scope), on end or patch it means the caller isn't the owner.
"""

from __future__ import annotations

import math
from typing import Literal

from bot.core.errors import (
    InvalidSettings,
    MissingScope,
    NothingLive,
    NotOwner,
    ReauthRequired,
    Remedy,
    ServiceUnavailable,
    SlowDown,
    UnknownMeeting,
    UserFacingError,
)
from bot.googleapi import errors as google_api

__all__ = ["Operation", "explain"]

Operation = Literal["create", "read", "end", "patch", "history"]

READONLY_SCOPE = "https://www.googleapis.com/auth/meetings.space.readonly"
SETTINGS_SCOPE = "https://www.googleapis.com/auth/meetings.space.settings"


def explain(
    error: google_api.GoogleApiError, operation: Operation, label: str, owner_user_id: str | None = None, *,
    made_by_meetbot: bool = True,
) -> UserFacingError:
    """`label` names the meeting as the user wrote it (a code or link)."""
    if isinstance(error, google_api.NotFound):
        return UnknownMeeting(
            f"Google doesn't know the meeting {label}. Check the link or code: codes also expire after "
            "a year without use."
        )
    if isinstance(error, google_api.PermissionDenied):
        return _permission(error, operation, label, owner_user_id, made_by_meetbot)
    if isinstance(error, google_api.Unauthenticated):
        return ReauthRequired("Google didn't accept meetbot's access to your account any more.")
    if isinstance(error, google_api.RateLimited):
        wait = math.ceil(error.retry_after) if error.retry_after else 30
        return SlowDown(f"Google is rate-limiting meetbot right now. Try again in {wait} seconds.", wait)
    if isinstance(error, google_api.FailedPrecondition) and operation == "end":
        return NothingLive(f"There's no live call in {label} to end: nobody is in it right now.")
    if isinstance(error, google_api.InvalidArgument) and operation == "patch":
        return InvalidSettings(f"Google refused those settings: {error.message}")
    if isinstance(error, google_api.ApiTimeout) and operation == "create":
        # Sent and not answered in time: Google may well have made it (create has no idempotency key to ask).
        return ServiceUnavailable("Google Meet took too long to answer, so no meeting was posted, but Google may "
                                  "have made one anyway: check meet.google.com before trying again.")
    if isinstance(error, google_api.ApiTimeout):
        return ServiceUnavailable(_unavailable(operation, "took too long to answer"))
    return ServiceUnavailable(_unavailable(operation, "isn't answering right now"))


def _unavailable(operation: Operation, what: str) -> str:
    if operation == "create":
        return f"Google Meet {what}, so no meeting was posted. Please try again in a minute."
    if operation in ("end", "patch"):
        return f"Google Meet {what}; the meeting may not have changed. Please check it and try again in a minute."
    return f"Google Meet {what}. Please try again in a minute."


def _permission(
    error: google_api.PermissionDenied, operation: Operation, label: str, owner_user_id: str | None,
    made_by_meetbot: bool,
) -> UserFacingError:
    if error.is_missing_scope:
        needed = SETTINGS_SCOPE if operation == "patch" else READONLY_SCOPE
        return MissingScope(
            f"Your Google connection doesn't let meetbot do that: it needs `{needed.rsplit('/', 1)[1]}` access.",
            remedy=Remedy.RECONNECT)
    if operation in ("end", "patch") and not made_by_meetbot:
        # The created scope reaches only spaces this app made: for the owner of any other space, Google's 403
        # says nothing about ownership.
        # meetbot has no record of starting it, so either could be why; say both, plainly.
        doing = "end" if operation == "end" else "change the settings of"
        return MissingScope(
            f"Google didn't let meetbot {doing} {label}. Only the meeting's owner can, and through meetbot only for "
            "meetings started with meetbot. For a meeting started in Google Meet, Calendar or another app, its "
            "owner can do it there, or allow meetbot to manage meeting settings (`meetings.space.settings`).",
            remedy=Remedy.RECONNECT)
    if operation in ("end", "patch"):
        doing = "end" if operation == "end" else "change the settings of"
        return NotOwner(f"Only the meeting's owner can {doing} {label}.", owner_user_id)
    return MissingScope(
        f"meetbot can't see {label} with your Google connection. It was probably created outside meetbot, and "
        "meetbot may only read meetings it created unless you allow `meetings.space.readonly`.",
        remedy=Remedy.RECONNECT)
