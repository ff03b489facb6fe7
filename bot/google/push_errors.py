"""Errors of Pub/Sub push intake (bot/web.py's `/google/events`). A Google API's own errors are the shared tree in
bot/googleapi/errors.py.

    PushRejected                   a Pub/Sub push whose bearer token does not verify (answer 401)
    MalformedEvent (ValueError)    a push body or Pub/Sub message that is not a Workspace event
"""

from __future__ import annotations

__all__ = ["MalformedEvent", "PushRejected"]


class PushRejected(Exception):
    """`.reason` says in plain words why (never quoting the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedEvent(ValueError):
    pass
