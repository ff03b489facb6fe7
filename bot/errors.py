"""The errors every layer may raise and the Slack edge explains, kept at the bottom of the house (DESIGN §2).

They live below store/ so that a Redis outage is one error from the store that notices it to the reply that
explains it: store/ (and jobs/) raise `StorageUnavailable`, core/ catches and raises it as the `ServiceUnavailable`
it is, and neither imports the other. core/errors.py builds the domain's refusals on `UserFacingError`.

`reason` is plain text, not markup: the Slack edge escapes all of it.
"""

from __future__ import annotations

__all__ = ["ServiceUnavailable", "StorageUnavailable", "UserFacingError"]

STORAGE_DOWN = ("meetbot's storage isn't answering right now, so it couldn't finish that. Please try again in a "
                "minute.")


class UserFacingError(Exception):
    """An expected refusal or failure, explained to the user in `reason`."""

    def __init__(self, reason: str, *, person: str | None = None, person_is: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.person = person  # a Slack user id the reply names, e.g. the meeting's owner
        self.person_is = person_is  # what they are, completing "<them> …", e.g. "owns it"


class ServiceUnavailable(UserFacingError):
    """Redis or Google is down: nothing is wrong with the request, try again later."""


class StorageUnavailable(ServiceUnavailable):
    """Redis didn't answer (connection refused or lost, timed out, pool exhausted), and nothing else counts as one.
    One wording wherever it shows; `cause` names what failed for logs (e.g. "ConnectionError"), never a secret."""

    def __init__(self, cause: str = "") -> None:
        super().__init__(STORAGE_DOWN)
        self.cause = cause
