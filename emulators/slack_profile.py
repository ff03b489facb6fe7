"""The Slack emulator's user-token methods: `users.profile.get`, `users.profile.set`, `dnd.setSnooze`,
`dnd.endSnooze`, `dnd.info` and `auth.revoke`, and control routes to read a person's status and to change it "by
hand" (as if they had edited it in Slack), or to sign them out of the app (Slack's `tokens_revoked` event).

Facts from reference/slack-platform.md §10 and Slack's method pages: the scopes (`users.profile:read`,
`users.profile:write`, `dnd:write`), a user token sets only its own user's profile, `status_text` up to 100
characters, `status_expiration` a Unix time (0: none) after which Slack clears the status, `auth.revoke` answers
`revoked: true` (or `false` with `test=1`) and the token then answers `token_revoked`. Everything else is marked
`# guess:`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from emulators.slack.models import JSON, ApiError, MethodCall

if TYPE_CHECKING:
    from emulators.slack.state import SlackState

__all__ = ["PROFILE_METHODS", "PROFILE_SCOPES", "Profiles", "add_profile_routes"]

STATUS_TEXT_MAX: Final = 100  # reference §10
_EMOJI: Final = re.compile(r"^:[a-z0-9_+'\-]+(::skin-tone-[2-6])?:$")
TOO_LONG_MODES: Final = ("error", "truncate")


@dataclass
class Status:
    text: str = ""
    emoji: str = ""
    expiration: int = 0  # Unix time; 0: no expiry

    def out(self) -> JSON:
        return {"status_text": self.text, "status_emoji": self.emoji, "status_expiration": self.expiration}


@dataclass
class Snooze:
    until: int  # Unix time


class Profiles:
    """Each person's status and snooze, and the switches for what Slack doesn't document.

    `too_long` ("error" or "truncate"): what users.profile.set does with a status_text past 100 characters.
    guess: Slack documents the limit but not the answer; "error" answers `invalid_profile`.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._status: dict[str, Status] = {}
        self._snooze: dict[str, Snooze] = {}
        self.too_long = "error"
        self.history: list[JSON] = []  # every status change, by the API or by hand, oldest first

    def status(self, user_id: str, now: float) -> Status:
        """The status as Slack shows it now: one past its expiration is cleared."""
        with self._lock:
            status = self._status.get(user_id, Status())
            if status.expiration and now >= status.expiration:
                status = self._status[user_id] = Status()
            return Status(status.text, status.emoji, status.expiration)

    def set_status(self, user_id: str, status: Status, now: float, *, by: str) -> None:
        with self._lock:
            self._status[user_id] = Status(status.text, status.emoji, status.expiration)
            self.history.append({"user": user_id, "by": by, "time": now, **status.out()})

    def snoozed_until(self, user_id: str, now: float) -> int | None:
        with self._lock:
            snooze = self._snooze.get(user_id)
            if snooze is None or now >= snooze.until:
                self._snooze.pop(user_id, None)
                return None
            return snooze.until

    def snooze(self, user_id: str, until: int) -> None:
        with self._lock:
            self._snooze[user_id] = Snooze(until)

    def end_snooze(self, user_id: str) -> bool:
        with self._lock:
            return self._snooze.pop(user_id, None) is not None


def _profiles(s: SlackState) -> Profiles:
    return s.profiles


def _target(s: SlackState, c: MethodCall) -> str:
    """The user whose profile is read or written: the token's own, unless `user` names another."""
    tok = c.tok
    wanted = c.params.get("user") or tok.user_id
    if wanted not in s._users:
        raise ApiError("user_not_found")
    return wanted


def _profile_out(s: SlackState, user_id: str) -> JSON:
    user = s._users[user_id]
    return {
        "real_name": user["real_name"],
        "display_name": user["name"],
        "email": user["email"],
        **_profiles(s).status(user_id, s.now()).out(),
    }


def _users_profile_get(s: SlackState, c: MethodCall) -> JSON:
    # guess: any token with users.profile:read may read any member's profile (Slack allows it for members)
    return {"profile": _profile_out(s, _target(s, c))}


def _users_profile_set(s: SlackState, c: MethodCall) -> JSON:
    user_id = _target(s, c)
    # A token sets only its own user's profile (reference §10); only an admin's may set another's.
    # guess: the error for a non-admin's token (Slack's page lists not_admin)
    admin = c.tok.kind == "user" and bool(s._users.get(c.tok.user_id, {}).get("is_admin"))
    if user_id != c.tok.user_id and not admin:
        raise ApiError("not_admin")
    if c.tok.kind != "user":
        raise ApiError("not_allowed_token_type")  # guess: bot tokens cannot write a person's profile
    profile = c.params.obj("profile", "invalid_profile")
    name, value = c.params.get("name"), c.params.get("value")
    if profile is None and name is not None:
        profile = {name: value or ""}
    if not isinstance(profile, dict):
        raise ApiError("invalid_profile")
    profiles = _profiles(s)
    current = profiles.status(user_id, s.now())
    text = str(profile.get("status_text", current.text) or "")
    emoji = str(profile.get("status_emoji", current.emoji) or "")
    raw_expiration = profile.get("status_expiration", current.expiration if "status_text" not in profile else 0)
    try:
        expiration = int(raw_expiration or 0)
    except (TypeError, ValueError):
        raise ApiError("invalid_profile") from None  # guess
    if len(text) > STATUS_TEXT_MAX:
        if profiles.too_long == "error":
            raise ApiError("invalid_profile")  # guess: see Profiles
        text = text[:STATUS_TEXT_MAX]
    if emoji and not _EMOJI.match(emoji):
        raise ApiError("profile_status_set_failed_not_emoji_syntax")
    profiles.set_status(user_id, Status(text, emoji, expiration), s.now(), by="api")
    return {"profile": _profile_out(s, user_id), "username": s._users[user_id]["name"]}


def _dnd_state(s: SlackState, user_id: str) -> JSON:
    until = _profiles(s).snoozed_until(user_id, s.now())
    out: JSON = {"dnd_enabled": False, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1,
                 "snooze_enabled": until is not None}
    if until is not None:
        out["snooze_endtime"] = until
        out["snooze_remaining"] = max(0, until - int(s.now()))
        out["snooze_is_indefinite"] = False
    return out


def _user_only(c: MethodCall) -> str:
    if c.tok.kind != "user":
        raise ApiError("not_allowed_token_type")  # DND belongs to a person
    return c.tok.user_id


def _dnd_set_snooze(s: SlackState, c: MethodCall) -> JSON:
    user_id = _user_only(c)
    raw = c.params.get("num_minutes")
    if raw is None or raw == "":
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: num_minutes"])  # guess
    try:
        minutes = int(raw)
    except ValueError:
        raise ApiError("invalid_arguments") from None  # guess
    if minutes <= 0:
        raise ApiError("invalid_arguments")  # guess
    _profiles(s).snooze(user_id, int(s.now()) + minutes * 60)
    state = _dnd_state(s, user_id)
    return {k: state[k] for k in ("snooze_enabled", "snooze_endtime", "snooze_remaining", "snooze_is_indefinite")}


def _dnd_end_snooze(s: SlackState, c: MethodCall) -> JSON:
    user_id = _user_only(c)
    if not _profiles(s).end_snooze(user_id):
        raise ApiError("snooze_not_active")
    return _dnd_state(s, user_id)


def _dnd_info(s: SlackState, c: MethodCall) -> JSON:
    return _dnd_state(s, c.params.get("user") or c.tok.user_id)


def _auth_revoke(s: SlackState, c: MethodCall) -> JSON:
    """Revokes the token it is called with (reference §10); `test=1` only says it would."""
    if c.params.flag("test"):
        return {"revoked": False}
    s.revoke_token(c.tok.token)
    return {"revoked": True}


PROFILE_METHODS: Final = {
    "users.profile.get": _users_profile_get,
    "users.profile.set": _users_profile_set,
    "dnd.setSnooze": _dnd_set_snooze,
    "dnd.endSnooze": _dnd_end_snooze,
    "dnd.info": _dnd_info,
    "auth.revoke": _auth_revoke,
}
PROFILE_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    "users.profile.get": ("users.profile:read",),
    "users.profile.set": ("users.profile:write",),
    "dnd.setSnooze": ("dnd:write",),
    "dnd.endSnooze": ("dnd:write",),
    "dnd.info": ("dnd:read",),
}


# -- control routes ------------------------------------------------------------------------------------------


def _state(request: web.Request) -> SlackState:
    from emulators.slack.api import STATE_KEY

    return request.app[STATE_KEY]


def _person(s: SlackState, user_id: str) -> JSON:
    profiles = s.profiles
    return {"user": user_id, **profiles.status(user_id, s.now()).out(),
            "snoozed_until": profiles.snoozed_until(user_id, s.now())}


async def _ctl_status(request: web.Request) -> web.StreamResponse:
    """GET ?user=U: their status now. POST {"user", "status_text", "status_emoji", "status_expiration"?}: they
    change it by hand in Slack. POST {"too_long": "error"|"truncate"} sets the switch."""
    s = _state(request)
    if request.method == "POST":
        body: Any = await request.json()
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text='{"error": "json_not_object"}', content_type="application/json")
        if "too_long" in body:
            if body["too_long"] not in TOO_LONG_MODES:
                raise web.HTTPBadRequest(text='{"error": "too_long is error or truncate"}',
                                         content_type="application/json")
            s.profiles.too_long = str(body["too_long"])
        if "user" in body:
            user_id = str(body["user"])
            status = Status(str(body.get("status_text", "")), str(body.get("status_emoji", "")),
                            int(body.get("status_expiration", 0) or 0))
            s.profiles.set_status(user_id, status, s.now(), by="hand")
            return web.json_response({"ok": True, **_person(s, user_id)})
        return web.json_response({"ok": True, "too_long": s.profiles.too_long})
    user_id = request.query.get("user", "")
    return web.json_response({"ok": True, **_person(s, user_id)})


async def _ctl_sign_out(request: web.Request) -> web.StreamResponse:
    """POST {"user"}: the person removed the app from their account: their user tokens stop working, and the
    answer carries the `tokens_revoked` event (and its envelope) Slack sends the app."""
    s = _state(request)
    body: Any = await request.json()
    user_id = str(body.get("user", "")) if isinstance(body, dict) else ""
    revoked = s.revoke_user_tokens(user_id)
    event: JSON = {"type": "tokens_revoked", "tokens": {"oauth": [user_id] if revoked else [], "bot": []},
                   "event_ts": f"{s.now():.6f}"}
    return web.json_response({"ok": True, "revoked": revoked, "event": event, "envelope": s.event_envelope(event)})


def add_profile_routes(app: web.Application) -> None:
    app.router.add_route("*", "/_emulator/status", _ctl_status)
    app.router.add_post("/_emulator/sign_out", _ctl_sign_out)
