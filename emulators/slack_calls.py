"""The Slack emulator's Calls API: `calls.add`, `calls.info`, `calls.update`, `calls.end`,
`calls.participants.add` and `calls.participants.remove`, their Tier 3 rate limit, and the `call` block check.

Facts from reference/slack-platform.md §6 and §10 and Slack's method pages (as mirrored in slack-ruby/slack-api-ref):
required arguments, the user objects (`{"slack_id"}` or `{"external_id", "display_name", "avatar_url"?}`),
`created_by` required with a bot token, `inactive_call` once ended, `bad_users` when a user added is already in the
call or a user removed is not, `invalid_call_id` for an unknown id. Everything else is marked `# guess:`.
"""

from __future__ import annotations

import copy
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from emulators.slack.models import JSON, ApiError, MethodCall

if TYPE_CHECKING:
    from emulators.slack.state import SlackState

__all__ = ["CALL_METHODS", "CALL_SCOPES", "CallObjects", "add_call_routes", "call_block_errors"]

TIER3_PER_MINUTE: Final = 50  # reference §6: "T3 50+/min", per method per workspace per app
WINDOW: Final = 60.0


@dataclass
class CallObject:
    id: str
    team_id: str
    app_id: str
    external_unique_id: str
    join_url: str
    created_by: str
    date_start: int
    title: str | None = None
    external_display_id: str | None = None
    desktop_app_join_url: str | None = None
    users: list[JSON] = field(default_factory=list)
    date_end: int | None = None
    duration: int | None = None

    def out(self) -> JSON:
        body: JSON = {"id": self.id, "date_start": self.date_start, "external_unique_id": self.external_unique_id,
                      "join_url": self.join_url, "created_by": self.created_by, "users": copy.deepcopy(self.users)}
        for name in ("title", "external_display_id", "desktop_app_join_url", "date_end", "duration"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return body


class CallObjects:
    """The calls registered with the emulated Slack, and the rate windows of the Calls methods.

    Switches: `enabled` (False: the workspace's admins turned Calls off), `per_minute` (None: no rate limit),
    `duplicate_unique_id` ("same": a second `calls.add` with a known external_unique_id answers the existing call;
    "error": it fails with `invalid_arguments`; Slack documents only that the id must be unique).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.calls: dict[str, CallObject] = {}
        self.enabled = True
        self.per_minute: int | None = TIER3_PER_MINUTE
        self.duplicate_unique_id = "same"  # guess: see the class docstring
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._seq = 0

    def get(self, call_id: str) -> JSON | None:
        with self._lock:
            call = self.calls.get(call_id)
            return call.out() if call else None

    def all(self) -> list[JSON]:
        with self._lock:
            return [c.out() for c in self.calls.values()]

    def throttle(self, team_id: str, method: str, now: float) -> None:
        """Count one request; over the limit, `ratelimited` (HTTP 429) with Retry-After until a slot frees."""
        if self.per_minute is None:
            return
        with self._lock:
            window = self._windows.setdefault((team_id, method), deque())
            while window and window[0] <= now - WINDOW:
                window.popleft()
            if len(window) >= self.per_minute:
                retry = max(1, math.ceil(window[0] + WINDOW - now))
                # guess: a refused request does not count (Slack doesn't say), and the window slides
                raise ApiError("ratelimited", status=429, headers={"Retry-After": str(retry)})
            window.append(now)

    def new_id(self) -> str:
        with self._lock:
            self._seq += 1
            return f"R{self._seq:08d}"


def _objects(s: SlackState) -> CallObjects:
    return s.call_objects


def _enter(s: SlackState, c: MethodCall) -> CallObjects:
    objects = _objects(s)
    objects.throttle(c.tok.team_id, c.method, s.now())
    if not objects.enabled:
        raise ApiError("not_implemented")  # guess: what Slack answers where admins disabled third-party calls
    return objects


def _users(s: SlackState, c: MethodCall, *, required: bool, named: bool = True) -> list[JSON]:
    raw = c.params.obj("users", "invalid_arguments")
    if raw is None:
        if required:
            raise ApiError("invalid_arguments")  # guess: the name for a missing required argument
        return []
    if not isinstance(raw, list):
        raise ApiError("invalid_arguments")
    users: list[JSON] = []
    for user in raw:
        if not isinstance(user, dict):
            raise ApiError("invalid_arguments")
        if "slack_id" in user:
            if str(user["slack_id"]) not in s._users:
                raise ApiError("user_not_found")
            users.append({"slack_id": str(user["slack_id"])})
        elif isinstance(user.get("external_id"), str) and user["external_id"]:
            # guess: display_name is needed for an external user (Slack shows it); avatar_url stays optional
            if named and (not isinstance(user.get("display_name"), str) or not user["display_name"]):
                raise ApiError("invalid_arguments")
            users.append({k: str(user[k]) for k in ("external_id", "display_name", "avatar_url") if user.get(k)})
        else:
            raise ApiError("invalid_arguments")
    return users


def _key(user: JSON) -> tuple[str, str]:
    return ("slack_id", user["slack_id"]) if "slack_id" in user else ("external_id", user["external_id"])


def _own_call(s: SlackState, c: MethodCall, *, active: bool) -> CallObject:
    call_id = c.params.get("id")
    if not call_id:
        raise ApiError("invalid_arguments")  # guess: name for a missing id
    call = _objects(s).calls.get(call_id)
    if call is None or call.team_id != c.tok.team_id or call.app_id != s.app_id:
        raise ApiError("invalid_call_id")
    if active and call.date_end is not None:
        raise ApiError("inactive_call")
    return call


def _calls_add(s: SlackState, c: MethodCall) -> JSON:
    objects, p = _enter(s, c), c.params
    unique, join_url = p.get("external_unique_id"), p.get("join_url")
    if not unique or not join_url:
        raise ApiError("invalid_arguments")
    created_by = p.get("created_by")
    if c.tok.kind == "user":
        created_by = created_by or c.tok.user_id
    if not created_by:
        raise ApiError("invalid_created_by")  # required with a bot token
    if created_by not in s._users:
        raise ApiError("invalid_created_by")
    start_raw = p.get("date_start")
    try:
        date_start = int(float(start_raw)) if start_raw is not None else int(s.now())
    except ValueError:
        raise ApiError("invalid_start_time") from None
    if date_start <= 0:
        raise ApiError("invalid_start_time")
    users = _users(s, c, required=False)
    with objects._lock:
        for existing in objects.calls.values():
            if existing.external_unique_id == unique and existing.team_id == c.tok.team_id:
                if objects.duplicate_unique_id == "same":
                    return {"call": existing.out()}
                raise ApiError("invalid_arguments")
        call = CallObject(objects.new_id(), c.tok.team_id, s.app_id, unique, join_url, created_by, date_start,
                          title=p.get("title"), external_display_id=p.get("external_display_id"),
                          desktop_app_join_url=p.get("desktop_app_join_url"), users=users)
        objects.calls[call.id] = call
        return {"call": call.out()}


def _calls_info(s: SlackState, c: MethodCall) -> JSON:
    _enter(s, c)
    return {"call": _own_call(s, c, active=False).out()}


def _calls_update(s: SlackState, c: MethodCall) -> JSON:
    _enter(s, c)
    call = _own_call(s, c, active=False)
    for name in ("title", "join_url", "desktop_app_join_url"):  # the only updatable fields (reference §6)
        value = c.params.get(name)
        if value is not None:
            setattr(call, name, value)
    return {"call": call.out()}


def _calls_end(s: SlackState, c: MethodCall) -> JSON:
    _enter(s, c)
    call = _own_call(s, c, active=True)
    raw = c.params.get("duration")
    try:
        duration = int(float(raw)) if raw is not None else None
    except ValueError:
        raise ApiError("invalid_arguments") from None
    call.date_end = int(s.now())
    call.duration = duration if duration is not None else max(call.date_end - call.date_start, 0)
    return {}


def _calls_participants_add(s: SlackState, c: MethodCall) -> JSON:
    _enter(s, c)
    call = _own_call(s, c, active=True)
    users = _users(s, c, required=True)
    present = {_key(u) for u in call.users}
    if any(_key(u) in present for u in users) or len({_key(u) for u in users}) != len(users):
        raise ApiError("bad_users")  # Slack's page shows "ok": true beside it; an error is taken as ok: false
    call.users.extend(users)
    return {}


def _calls_participants_remove(s: SlackState, c: MethodCall) -> JSON:
    _enter(s, c)
    call = _own_call(s, c, active=True)
    users = _users(s, c, required=True, named=False)  # an external user is known by its external_id
    gone = {_key(u) for u in users}
    if not gone <= {_key(u) for u in call.users}:
        raise ApiError("bad_users")
    call.users = [u for u in call.users if _key(u) not in gone]
    return {}


CALL_METHODS: Final = {
    "calls.add": _calls_add,
    "calls.info": _calls_info,
    "calls.update": _calls_update,
    "calls.end": _calls_end,
    "calls.participants.add": _calls_participants_add,
    "calls.participants.remove": _calls_participants_remove,
}
CALL_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    **{m: ("calls:write",) for m in CALL_METHODS if m != "calls.info"},
    "calls.info": ("calls:read",),
}


def call_block_errors(s: SlackState, team_id: str, blocks: Any) -> list[str]:
    """A `call` block must name a call this app registered in this workspace."""
    errs: list[str] = []
    if not isinstance(blocks, list):
        return errs
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") != "call":
            continue
        call = _objects(s).calls.get(str(block.get("call_id") or ""))
        if call is None or call.team_id != team_id or call.app_id != s.app_id:
            errs.append(f"[ERROR] invalid call_id [json-pointer:/blocks/{i}/call_id]")  # guess: wording
    return errs


# -- control routes ------------------------------------------------------------------------------------------


def _state(request: web.Request) -> SlackState:
    from emulators.slack.api import STATE_KEY

    return request.app[STATE_KEY]


async def _ctl_call_objects(request: web.Request) -> web.StreamResponse:
    objects = _state(request).call_objects
    if request.method == "POST":
        body: JSON = await request.json()
        if "enabled" in body:
            objects.enabled = bool(body["enabled"])
        if "per_minute" in body:
            objects.per_minute = None if body["per_minute"] is None else int(body["per_minute"])
        if "duplicate_unique_id" in body:
            objects.duplicate_unique_id = str(body["duplicate_unique_id"])
    return web.json_response({"calls": objects.all(), "enabled": objects.enabled, "per_minute": objects.per_minute})


def add_call_routes(app: web.Application) -> None:
    app.router.add_route("*", "/_emulator/call_objects", _ctl_call_objects)
