"""Slack's HTTP requests come in here. Nothing is parsed before the signature and timestamp check out.

Order: the v0 signature and timestamp on the raw bytes (401), then UTF-8 and the payload's shape (400), and only
then Bolt. A refusal writes at most one short log line per period, however many requests are refused, so a flood
of garbage can't fill the disk.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest

__all__ = ["MAX_AGE_SECONDS", "Admitted", "FrontDoor", "Refused", "shape_problem"]

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 300  # Slack's own window: older (or future) timestamps are refused
LOG_PERIOD_SECONDS = 10.0

_INTERACTIVE = {"block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion"}


@dataclass(frozen=True, slots=True)
class Admitted:
    request: AsyncBoltRequest
    text: str  # the body, decoded
    signature: str  # `v0=…`: unique per delivery, the key of the replay check


@dataclass(frozen=True, slots=True)
class Refused:
    status: int  # 401 unsigned or stale, 400 signed but malformed
    why: str


class _QuietLog:
    """One line per period, with a count of what was held back: refusals must not be a way to flood the log."""

    def __init__(self, period: float, clock: Callable[[], float]) -> None:
        self._period = period
        self._clock = clock
        self._next = 0.0
        self._held = 0

    def warning(self, message: str) -> None:
        now = self._clock()
        if now < self._next:
            self._held += 1
            return
        held, self._held, self._next = self._held, 0, now + self._period
        log.warning("%s%s", message, f" (and {held} more refused since the last line)" if held else "")


class FrontDoor:
    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock
        self._log = _QuietLog(LOG_PERIOD_SECONDS, time.monotonic)

    def admit(self, raw: bytes, headers: Mapping[str, str], query: str = "") -> Admitted | Refused:
        signature = headers.get("X-Slack-Signature", "")
        if not self._signed(raw, headers.get("X-Slack-Request-Timestamp", ""), signature):
            return self._refuse(401, "invalid or stale Slack signature")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return self._refuse(400, "signed request whose body is not UTF-8")
        try:  # Bolt parses the body and reads its ids here; a malformed body raises instead of answering 500 later
            request = AsyncBoltRequest(body=text, query=query, headers=dict(headers))
        except Exception:
            return self._refuse(400, "signed request with a malformed body")
        problem = shape_problem(request.body)
        if problem is not None:
            return self._refuse(400, f"signed request {problem}")
        return Admitted(request, text, signature)

    def _signed(self, raw: bytes, timestamp: str, signature: str) -> bool:
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        if abs(self._clock() - int(timestamp)) > MAX_AGE_SECONDS:
            return False
        expected = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
        return signature.isascii() and hmac.compare_digest("v0=" + expected, signature)

    def _refuse(self, status: int, why: str) -> Refused:
        self._log.warning(f"refused a Slack request ({status}): {why}")
        return Refused(status, why)


def _is_str(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _dict_or_none(body: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        if body.get(name) is not None and not isinstance(body[name], dict):
            return f"with a malformed `{name}`"
    return None


def shape_problem(body: Any) -> str | None:
    """What a signed payload lacks that the listeners rely on, or None. Unknown payload types pass to Bolt."""
    if not isinstance(body, dict) or not body:
        return "with an empty or non-object body"
    if "ssl_check" in body:
        return None
    if "command" in body:
        missing = [f for f in ("team_id", "user_id", "channel_id", "trigger_id") if not _is_str(body.get(f))]
        return f"without {', '.join(missing)}" if missing else None
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        return "with a malformed `type`"
    if kind in _INTERACTIVE:
        return _interactive_problem(kind, body)
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not _is_str(event.get("type")):
            return "without an event"
        if not _is_str(body.get("team_id")) or not _is_str(body.get("event_id")):
            return "without team_id or event_id"
        if not isinstance(body.get("authorizations") or [], list):
            return "with malformed authorizations"
    return None


def _interactive_problem(kind: str, body: Mapping[str, Any]) -> str | None:
    user = body.get("user")
    if not isinstance(user, dict) or not _is_str(user.get("id")):
        return "without a user"
    team = body.get("team")
    if not _is_str(user.get("team_id")) and not (isinstance(team, dict) and _is_str(team.get("id"))):
        return "without a team"
    malformed = _dict_or_none(body, "team", "enterprise", "channel", "container", "message", "view")
    if malformed:
        return malformed
    if kind in ("block_actions", "shortcut", "message_action") and not _is_str(body.get("trigger_id")):
        return "without trigger_id"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(
            isinstance(a, dict) and _is_str(a.get("action_id")) for a in actions
        ):
            return "without actions"
    if kind in ("view_submission", "view_closed") and not (
        isinstance(body.get("view"), dict) and _is_str(body["view"].get("id"))
    ):
        return "without a view"
    return None
