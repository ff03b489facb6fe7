"""Domain errors. Each carries `reason`: plain words a Slack user can act on, never a token or a stack trace.

`reason` is plain text, not markup: it may quote what a user typed or what Google said, and the Slack edge
escapes all of it. A person it names travels as data (`person`, a Slack user id, and what they are to the
meeting), so the edge can mention them without trusting the text.

    UserFacingError
     ├── NotLinked, ReauthRequired, DelegationRefused, DelegationInUse   (who you are at Google)
     ├── ServiceUnavailable                                              (Redis or Google is down; retry later)
     │    ├── StorageUnavailable                                         (Redis: raised by store/ itself)
     │    └── SlowDown                                                   (Google is rate-limiting; retry_after)
     ├── BadReference, UnknownMeeting                                     (which meeting)
     ├── NotOwner, MissingScope                                           (Google's role and scope rules)
     └── NothingLive, InvalidSettings                                     (what can be done now)

The root, ServiceUnavailable and StorageUnavailable live in bot/errors.py, below store/, which raises the last one.
"""

from __future__ import annotations

from bot.errors import Remedy, ServiceUnavailable, StorageUnavailable, UserFacingError

__all__ = [
    "BadReference",
    "DelegationInUse",
    "DelegationRefused",
    "InvalidSettings",
    "MissingScope",
    "NotLinked",
    "NotOwner",
    "NothingLive",
    "ReauthRequired",
    "Remedy",
    "ServiceUnavailable",
    "SlowDown",
    "StorageUnavailable",
    "UnknownMeeting",
    "UserFacingError",
]


class NotLinked(UserFacingError):
    def __init__(self, reason: str = "Your Google account isn't connected to meetbot yet.") -> None:
        super().__init__(reason)


class ReauthRequired(UserFacingError):
    def __init__(
        self, reason: str = "Google no longer accepts meetbot's access to your account (it was revoked or expired)."
    ) -> None:
        super().__init__(reason)


class DelegationRefused(UserFacingError):
    pass


class DelegationInUse(UserFacingError):
    def __init__(
        self,
        reason: str = "This workspace uses domain-wide delegation: meetbot acts as your Google account "
        "automatically, so there is nothing to connect.",
    ) -> None:
        super().__init__(reason)


class SlowDown(ServiceUnavailable):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class BadReference(UserFacingError):
    pass


class UnknownMeeting(UserFacingError):
    pass


class NotOwner(UserFacingError):
    def __init__(self, reason: str, owner_user_id: str | None = None) -> None:
        super().__init__(reason, person=owner_user_id, person_is="owns it")
        self.owner_user_id = owner_user_id


class MissingScope(UserFacingError):
    pass


class NothingLive(UserFacingError):
    pass


class InvalidSettings(UserFacingError):
    pass
