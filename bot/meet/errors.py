"""The errors `bot.meet` refuses with before anything is sent; Google's own answers come out as the shared tree in
bot/googleapi/errors.py, so a caller can still catch everything the Meet client raises as `GoogleApiError`:

    GoogleApiError (bot/googleapi/errors.py)
    ├── InvalidMeetingReference (also ValueError)  links.py: text that is not a usable meeting link/code/name
    ├── InvalidResourceName (also ValueError)      a malformed resource name, refused locally, nothing sent
    │   └── MeetingCodeNotAllowed                  a code alias given to patch/end (they take only spaces/{id})
    ├── InvalidToken (also ValueError)             an empty or malformed access token, refused locally
    └── ApiTransportError, ApiProtocolError, ApiStatusError and its eight: as Google's other APIs

No message built here ever contains a credential.
"""

from __future__ import annotations

from bot.googleapi.errors import GoogleApiError

__all__ = ["InvalidMeetingReference", "InvalidResourceName", "InvalidToken", "MeetingCodeNotAllowed"]


class InvalidMeetingReference(GoogleApiError, ValueError):
    """Text that is not a usable meeting reference. `.reason` is a sentence fit to show the user."""

    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.text = text


class InvalidResourceName(GoogleApiError, ValueError):
    """A resource name that doesn't match the method's pattern; refused before anything is sent."""


class MeetingCodeNotAllowed(InvalidResourceName):
    """patch and endActiveConference accept only `spaces/{id}`: resolve the code with get_space first."""


class InvalidToken(GoogleApiError, ValueError):
    """The credential is empty or has characters no bearer token has. The message never quotes it."""
