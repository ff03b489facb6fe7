"""The errors every layer may raise and the Slack edge explains, kept at the bottom of the house (DESIGN §2).

They live below store/ so that a Redis outage is one error from the store that notices it to the reply that
explains it: store/ (and jobs/) raise `StorageUnavailable`, core/ catches and raises it as the `ServiceUnavailable`
it is, and neither imports the other. core/errors.py builds the domain's refusals on `UserFacingError`.

`reason` is plain text, not markup: the Slack edge escapes all of it.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Remedy", "ServiceUnavailable", "StorageUnavailable", "UserFacingError"]

STORAGE_DOWN = ("meetbot's storage isn't answering right now, so it couldn't finish that. Please try again in a "
                "minute.")


class Remedy(Enum):
    """What the person can do about a refusal, as data: the edge words it in its own terms (a Slack command)."""

    RECONNECT = "reconnect"  # connect the Google account again, granting what the reason says is missing
    LOOK_AGAIN = "look_again"  # look at the result again in a moment (someone else's change is under way)
    NEW_ROOM = "new_room"  # the channel's room is gone: make a new one


class UserFacingError(Exception):
    """An expected refusal or failure, explained to the user in `reason`, and what they can do in `remedy`."""

    def __init__(self, reason: str, *, person: str | None = None, person_is: str = "",
                 remedy: Remedy | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.person = person  # a Slack user id the reply names, e.g. the meeting's owner
        self.person_is = person_is  # what they are, completing "<them> …", e.g. "owns it"
        self.remedy = remedy


class ServiceUnavailable(UserFacingError):
    """Redis or Google is down: nothing is wrong with the request, try again later."""


class StorageUnavailable(ServiceUnavailable):
    """Redis didn't answer (connection refused or lost, timed out, pool exhausted), and nothing else counts as one.
    One wording wherever it shows; `cause` names what failed for logs (e.g. "ConnectionError"), never a secret."""

    def __init__(self, cause: str = "") -> None:
        super().__init__(STORAGE_DOWN)
        self.cause = cause
