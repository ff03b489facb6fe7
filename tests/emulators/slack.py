"""A faithful stand-in for the Slack Web API, served over real HTTP on 127.0.0.1.

It follows /work/shared/reference/slack-platform.md (payload shapes, methods, error names, Block Kit limits)
and the method specs mirrored in slack-ruby/slack-api-ref. Behaviour the reference does not pin down is marked
`# guess:`.

What it serves:
- `/api/<method>`: the Web API methods the bot calls. Form, JSON and query-string parameters; bearer, form or
  query tokens; `ok`/`error` bodies with Slack's error names; `missing_scope` with `needed`/`provided`;
  `X-OAuth-Scopes`.
- `/commands/<name>`: `response_url` targets (5 uses within 30 minutes), recorded.
- `/oauth/v2/authorize`: auto-consenting OAuth authorize page that redirects with a code (for install tests).
- `/_emulator/...`: control routes mirroring the `SlackState` API for processes that cannot reach the object.

In-process use::

    with SlackEmulator() as emu:
        emu.state.add_channel("C1", "general")
        client = AsyncWebClient(token="xoxb-test", base_url=emu.api_url)

Standalone: `python -m tests.emulators.slack --port 8001` (bot token `xoxb-test`, team `T0001`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import hashlib
import json
import re
import secrets
import string
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web

from tests.emulators._server import BackgroundServer, run_standalone
from tests.emulators.slack_socket import SocketMode

JSON = dict[str, Any]

# The bot scopes of the reference manifest (§7), plus channels:join, im:write and bookmarks:read which
# conversations.join / conversations.open / bookmarks.list need.
DEFAULT_BOT_SCOPES: Final[tuple[str, ...]] = (
    "commands",
    "chat:write",
    "chat:write.public",
    "links:read",
    "links:write",
    "users:read",
    "users:read.email",
    "channels:read",
    "channels:join",
    "groups:read",
    "im:read",
    "im:write",
    "mpim:read",
    "calls:read",
    "calls:write",
    "bookmarks:read",
    "bookmarks:write",
    "pins:write",
)

# Any one of these scopes admits the method (reference §6). Methods absent here need no scope.
METHOD_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.unfurl": ("links:write",),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "conversations.join": ("channels:join",),
    "conversations.open": ("im:write", "mpim:write"),
    "bookmarks.add": ("bookmarks:write",),
    "bookmarks.edit": ("bookmarks:write",),
    "bookmarks.remove": ("bookmarks:write",),
    "bookmarks.list": ("bookmarks:read",),
    "pins.add": ("pins:write",),
    "pins.remove": ("pins:write",),
    "calls.add": ("calls:write",),
    "calls.update": ("calls:write",),
    "calls.end": ("calls:write",),
    "calls.participants.add": ("calls:write",),
    "calls.participants.remove": ("calls:write",),
    "calls.info": ("calls:read",),
}

# Parameters that slack_sdk JSON-encodes into a string when it sends a form body.
JSON_PARAMS: Final[frozenset[str]] = frozenset(
    {"blocks", "attachments", "unfurls", "view", "users", "user_auth_blocks", "metadata"}
)

RESPONSE_URL_MAX_USES: Final = 5  # reference §2
RESPONSE_URL_TTL: Final = 30 * 60.0  # reference §2
TRIGGER_TTL: Final = 3.0  # reference §2
OAUTH_CODE_TTL: Final = 10 * 60.0  # guess: Slack documents codes as short-lived; ten minutes assumed
TOKEN_LIFETIME: Final = 43200  # reference §5: rotated tokens expire after 12 h

_TRIGGER_RE: Final = re.compile(r"^\d+\.\d+\.[0-9A-Za-z]+$")  # guess: Slack documents "132456.7890123.abcdef"
_EMOJI_RE: Final = re.compile(r"^:[a-z0-9_+'\-]+:$")
_ID_ALPHABET: Final = string.digits + string.ascii_uppercase


class ApiError(Exception):
    """A Web API failure: `{"ok": false, "error": ...}` plus optional extra fields."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        messages: list[str] | None = None,
        extra: JSON | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.messages = messages
        self.extra = extra or {}

    def body(self) -> JSON:
        out: JSON = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            out["response_metadata"] = {"messages": list(self.messages)}
        return out


class Params:
    """The merged parameters of one API call (query string + form or JSON body)."""

    def __init__(self, raw: Mapping[str, Any], body_format: str) -> None:
        self.raw: dict[str, Any] = dict(raw)
        self.body_format = body_format

    def get(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes")

    def obj(self, name: str, error: str) -> Any:
        """A JSON-valued parameter: decoded from a string (form bodies) or taken as is (JSON bodies)."""
        value = self.raw.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                message = f"[ERROR] failed to parse json [json-pointer:/{name}]"
                raise ApiError(error, messages=[message]) from None
        return value

    def recorded(self) -> JSON:
        """What tests see as `args`: JSON-valued parameters decoded whatever the encoding was."""
        out: JSON = {}
        for key, value in self.raw.items():
            if key in JSON_PARAMS and isinstance(value, str):
                try:
                    out[key] = json.loads(value)
                except ValueError:
                    out[key] = value
            else:
                out[key] = value
        return out


@dataclass
class TokenInfo:
    token: str
    kind: str  # "bot" | "user"
    team_id: str
    user_id: str
    scopes: tuple[str, ...]
    bot_id: str | None = None
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class Team:
    id: str
    name: str
    domain: str
    bot_user_id: str
    bot_id: str
    enterprise_id: str | None = None
    enterprise_name: str | None = None


@dataclass
class Fault:
    method: str
    status: int
    retry_after: int | None
    remaining: int
    body: JSON | str | None
    delay: float


@dataclass
class ResponseUrl:
    name: str
    created: float
    uses: int = 0
    channel: str | None = None
    user: str | None = None
    message_ts: str | None = None


@dataclass
class OAuthCode:
    code: str
    team_id: str
    user_id: str
    scopes: tuple[str, ...]
    user_scopes: tuple[str, ...]
    redirect_uri: str | None
    expires_at: float


@dataclass
class LinkShare:
    urls: tuple[str, ...]
    channel: str
    message_ts: str
    unfurl_id: str
    source: str
    user: str


@dataclass
class ApiResult:
    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Call:
    method: str
    params: Params
    token: TokenInfo | None
    basic: tuple[str, str] | None

    @property
    def tok(self) -> TokenInfo:
        if self.token is None:
            raise ApiError("not_authed")
        return self.token


def _base36(n: int, width: int) -> str:
    digits = ""
    while n:
        n, rem = divmod(n, 36)
        digits = _ID_ALPHABET[rem] + digits
    return digits.rjust(width, "0")


def _tz_fields(tz: str) -> tuple[str, int]:
    try:
        now = datetime.now(zoneinfo.ZoneInfo(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return ("Coordinated Universal Time", 0)
    offset = now.utcoffset()
    # guess: Slack's tz_label is a long name ("Pacific Daylight Time"); the zone abbreviation stands in.
    return (now.tzname() or tz, int(offset.total_seconds()) if offset else 0)


# ------------------------------------------------------------------------------------------------------------
# Block Kit validation (reference §8). Error wording mimics Slack's `response_metadata.messages`.


def _too_long(errs: list[str], value: Any, limit: int, pointer: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        errs.append(f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]")


def _too_many(errs: list[str], value: Any, limit: int, pointer: str) -> None:
    if isinstance(value, list) and len(value) > limit:
        errs.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")


def _text_object(errs: list[str], obj: Any, limit: int, pointer: str, *, required: bool = False) -> None:
    if obj is None:
        if required:
            errs.append(f"[ERROR] missing required field: text [json-pointer:{pointer}]")
        return
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        errs.append(f"[ERROR] failed to match all allowed schemas [json-pointer:{pointer}]")
        return
    _too_long(errs, obj.get("text"), limit, f"{pointer}/text")


def _validate_element(errs: list[str], el: Any, pointer: str) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errs.append(f"[ERROR] missing required field: type [json-pointer:{pointer}]")
        return
    _too_long(errs, el.get("action_id"), 255, f"{pointer}/action_id")
    if el["type"] == "button":
        _text_object(errs, el.get("text"), 75, f"{pointer}/text", required=True)
        _too_long(errs, el.get("value"), 2000, f"{pointer}/value")
        _too_long(errs, el.get("url"), 3000, f"{pointer}/url")
        if el.get("style") not in (None, "primary", "danger"):
            errs.append(f"[ERROR] must be one of the allowed values [json-pointer:{pointer}/style]")
    options = el.get("options")
    _too_many(errs, options, 100, f"{pointer}/options")
    if isinstance(options, list):
        for i, opt in enumerate(options):
            if isinstance(opt, dict):
                _text_object(errs, opt.get("text"), 75, f"{pointer}/options/{i}/text")
                _too_long(errs, opt.get("value"), 150, f"{pointer}/options/{i}/value")
    _initial_options(errs, el, pointer)


def _option_key(opt: Any) -> tuple[Any, Any, Any] | None:
    """What makes two option objects "the same option": value and text (type and string)."""
    if not isinstance(opt, dict):
        return None
    text = opt.get("text")
    # guess: Slack's exact comparison is undocumented; `emoji` and `description` are not compared.
    if isinstance(text, dict):
        return (opt.get("value"), text.get("type"), text.get("text"))
    return (opt.get("value"), None, text)


def _all_options(el: JSON) -> list[Any]:
    """The element's `options`, or the options inside its `option_groups`."""
    found: list[Any] = []
    if isinstance(el.get("options"), list):
        found.extend(el["options"])
    groups = el.get("option_groups")
    if isinstance(groups, list):
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("options"), list):
                found.extend(group["options"])
    return found


def _initial_options(errs: list[str], el: JSON, pointer: str) -> None:
    """`initial_option(s)` of static menus, radio buttons and checkboxes must be among the element's options."""
    kind = el["type"]
    # guess: wording; Slack documents only that an initial option must exactly match one of the options.
    message = "[ERROR] must match one of the provided options [json-pointer:{}]"
    if kind in ("static_select", "radio_buttons") and el.get("initial_option") is not None:
        choices = {_option_key(o) for o in _all_options(el)} - {None}
        if _option_key(el["initial_option"]) not in choices:
            errs.append(message.format(f"{pointer}/initial_option"))
    elif kind in ("multi_static_select", "checkboxes") and el.get("initial_options") is not None:
        initial = el["initial_options"]
        if not isinstance(initial, list):
            errs.append(f"[ERROR] must be an array [json-pointer:{pointer}/initial_options]")
            return
        choices = {_option_key(o) for o in _all_options(el)} - {None}
        for i, opt in enumerate(initial):
            if _option_key(opt) not in choices:
                errs.append(message.format(f"{pointer}/initial_options/{i}"))


def validate_blocks(blocks: list[Any], pointer: str, max_blocks: int) -> list[str]:
    """Slack-style error messages for a block list (empty when valid)."""
    errs: list[str] = []
    _too_many(errs, blocks, max_blocks, pointer)
    # Only the block_ids the caller sent: Slack fills in the missing ones after validation (_with_block_ids).
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        bp = f"{pointer}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errs.append(f"[ERROR] missing required field: type [json-pointer:{bp}]")
            continue
        block_id = block.get("block_id")
        _too_long(errs, block_id, 255, f"{bp}/block_id")
        if isinstance(block_id, str):
            # guess: wording. An empty block_id counts as an id too (slack-go#823: two empty ones are refused).
            if block_id in seen_ids:
                errs.append(f"[ERROR] duplicate block_id {json.dumps(block_id)} [json-pointer:{bp}/block_id]")
            seen_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            fields = block.get("fields")
            _text_object(errs, block.get("text"), 3000, f"{bp}/text")
            _too_many(errs, fields, 10, f"{bp}/fields")
            if isinstance(fields, list):
                for j, fld in enumerate(fields):
                    _text_object(errs, fld, 2000, f"{bp}/fields/{j}")
            if block.get("text") is None and not fields:
                # guess: wording
                errs.append(f"[ERROR] must provide either text or fields [json-pointer:{bp}]")
            if block.get("accessory") is not None:
                _validate_element(errs, block["accessory"], f"{bp}/accessory")
        elif kind == "header":
            _text_object(errs, block.get("text"), 150, f"{bp}/text", required=True)
        elif kind in ("context", "actions"):
            elements = block.get("elements")
            if not isinstance(elements, list):
                errs.append(f"[ERROR] missing required field: elements [json-pointer:{bp}]")
                continue
            _too_many(errs, elements, 10 if kind == "context" else 25, f"{bp}/elements")
            if kind == "actions":
                for j, el in enumerate(elements):
                    _validate_element(errs, el, f"{bp}/elements/{j}")
        elif kind == "input":
            _text_object(errs, block.get("label"), 2000, f"{bp}/label", required=True)
            _text_object(errs, block.get("hint"), 2000, f"{bp}/hint")
            _validate_element(errs, block.get("element"), f"{bp}/element")
        elif kind == "image":
            _too_long(errs, block.get("image_url"), 3000, f"{bp}/image_url")
            _too_long(errs, block.get("alt_text"), 2000, f"{bp}/alt_text")
        elif kind == "markdown":
            _too_long(errs, block.get("text"), 12000, f"{bp}/text")
    return errs


def validate_view(view: JSON, allowed_types: tuple[str, ...]) -> list[str]:
    errs: list[str] = []
    if view.get("type") not in allowed_types:
        errs.append("[ERROR] must be one of the allowed values [json-pointer:/view/type]")
        return errs
    if view["type"] == "modal":
        _text_object(errs, view.get("title"), 24, "/view/title", required=True)
        _text_object(errs, view.get("submit"), 24, "/view/submit")
        _text_object(errs, view.get("close"), 24, "/view/close")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        errs.append("[ERROR] missing required field: blocks [json-pointer:/view/blocks]")
    else:
        errs.extend(validate_blocks(blocks, "/view/blocks", 100))
    _too_long(errs, view.get("private_metadata"), 3000, "/view/private_metadata")
    _too_long(errs, view.get("callback_id"), 255, "/view/callback_id")
    _too_long(errs, view.get("external_id"), 255, "/view/external_id")
    return errs


# ------------------------------------------------------------------------------------------------------------


class SlackState:
    """Everything the emulator knows and has seen. Thread-safe: the server thread and tests share it."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T0001",
        *,
        team_name: str = "Emulated Workspace",
        team_domain: str = "emulated",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_name: str = "meet",
        app_id: str = "A0MEET",
        client_id: str = "1111.2222",
        client_secret: str = "emulator-client-secret",
        scopes: Iterable[str] = DEFAULT_BOT_SCOPES,
        enterprise_id: str | None = None,
        token_rotation: bool = False,
        unfurl_domains: Iterable[str] = ("meet.google.com",),
        strict_unfurls: bool = False,
        installer_user_id: str = "U0INSTALLER",
        oauth_redirect_uri: str | None = None,
        auth_prompt_dismissed_by: Iterable[str] = (),
    ) -> None:
        self._lock = threading.RLock()
        self.socket_mode = SocketMode()
        self.bot_token = bot_token
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = tuple(scopes)
        self.enterprise_id = enterprise_id
        self.token_rotation = token_rotation
        self.unfurl_domains = tuple(unfurl_domains)
        # guess: with strict_unfurls off, chat.unfurl does not insist on a known channel, message or
        # unfurl_id.
        self.strict_unfurls = strict_unfurls
        self.installer_user_id = installer_user_id
        # The app's configured redirect URL: /oauth/v2/authorize falls back to it when the request has none.
        self.oauth_redirect_uri = oauth_redirect_uri
        # Users who answered chat.unfurl's authentication prompt with "never ask again": a later chat.unfurl
        # that asks them to authenticate fails with cannot_prompt.
        self.auth_prompt_dismissed_by = tuple(auth_prompt_dismissed_by)
        self._clock_offset = 0.0
        self._seq = 0
        self._last_ts_micro = 0
        self._init_runtime()
        self._init_config()

    # -- set-up ----------------------------------------------------------------------------------------------

    def _init_config(self) -> None:
        self._teams: dict[str, Team] = {}
        self._users: dict[str, JSON] = {}
        self._channels: dict[str, JSON] = {}
        self._tokens: dict[str, TokenInfo] = {}
        self._refresh_tokens: dict[str, TokenInfo] = {}
        self._dismissed_auth_prompts: set[str] = set(self.auth_prompt_dismissed_by)
        self.add_team(
            self.team_id,
            self.team_name,
            domain=self.team_domain,
            bot_user_id=self.bot_user_id,
            bot_id=self.bot_id,
            enterprise_id=self.enterprise_id,
        )
        self.add_token(self.bot_token, kind="bot", team_id=self.team_id, scopes=self.scopes)

    def _init_runtime(self) -> None:
        self._calls: list[JSON] = []
        self._response_posts: list[JSON] = []
        self._response_urls: dict[str, ResponseUrl] = {}
        self._faults: list[Fault] = []
        self._messages: dict[str, list[JSON]] = {}
        self._ephemeral: dict[str, list[JSON]] = {}
        self._views: dict[str, JSON] = {}
        self._home_views: dict[str, str] = {}
        self._bookmarks: dict[str, JSON] = {}
        self._pins: dict[str, dict[str, JSON]] = {}
        self._slack_calls: dict[str, JSON] = {}
        self._unfurls: list[JSON] = []
        self._shares: list[LinkShare] = []
        self._triggers: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._oauth_codes: dict[str, OAuthCode] = {}

    def reset(self, keep_config: bool = False) -> None:
        """Forget all traffic and runtime data. Unless keep_config, users, channels, teams and tokens too."""
        with self._lock:
            self._init_runtime()
            self._clock_offset = 0.0
            if not keep_config:
                self._init_config()

    def add_team(
        self,
        team_id: str,
        name: str,
        *,
        domain: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
    ) -> None:
        with self._lock:
            team = Team(
                id=team_id,
                name=name,
                domain=domain or re.sub(r"[^a-z0-9-]", "", name.lower().replace(" ", "-")) or team_id.lower(),
                # guess: bot user / bot ids of other workspaces are derived from the team id
                bot_user_id=bot_user_id or f"U{team_id[1:]}BOT",
                bot_id=bot_id or f"B{team_id[1:]}BOT",
                enterprise_id=enterprise_id,
                enterprise_name=enterprise_name or (f"{name} Grid" if enterprise_id else None),
            )
            self._teams[team_id] = team
            self._users[team.bot_user_id] = {
                "id": team.bot_user_id,
                "team_id": team_id,
                "name": self.bot_name,
                "deleted": False,
                "real_name": self.bot_name,
                "tz": "America/Los_Angeles",
                "email": None,
                "is_admin": False,
                "is_owner": False,
                "is_bot": True,
                "bot_id": team.bot_id,
            }

    def add_user(
        self,
        id: str,
        name: str,
        email: str | None = None,
        is_admin: bool = False,
        tz: str = "America/Los_Angeles",
        *,
        real_name: str | None = None,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
        locale: str = "en-US",
    ) -> JSON:
        with self._lock:
            user: JSON = {
                "id": id,
                "team_id": team_id or self.team_id,
                "name": name,
                "deleted": deleted,
                "real_name": real_name or name,
                "tz": tz,
                "email": email,
                "is_admin": is_admin or is_owner,
                "is_owner": is_owner,
                "is_bot": is_bot,
                "bot_id": None,
                "locale": locale,
            }
            self._users[id] = user
            return self._user_out(user, include_email=True, include_locale=True)

    def add_channel(
        self,
        id: str,
        name: str,
        is_member: bool = True,
        is_private: bool = False,
        is_im: bool = False,
        *,
        is_mpim: bool = False,
        is_archived: bool = False,
        user: str | None = None,
        members: Iterable[str] | None = None,
        topic: str = "",
        purpose: str = "",
    ) -> JSON:
        """A conversation. `user` is the other party of an IM; `members` (if given) limits postEphemeral."""
        with self._lock:
            channel: JSON = {
                "id": id,
                "name": name,
                "is_member": is_member,
                "is_private": is_private or is_mpim,
                "is_im": is_im,
                "is_mpim": is_mpim,
                "is_archived": is_archived,
                "user": user,
                "members": list(members) if members is not None else None,
                "created": int(self.now()),
                "topic": topic,
                "purpose": purpose,
            }
            self._channels[id] = channel
            return self._channel_out(channel)

    def add_token(
        self,
        token: str,
        *,
        kind: str = "bot",
        team_id: str | None = None,
        user_id: str | None = None,
        scopes: Iterable[str] | None = None,
        expires_in: float | None = None,
    ) -> TokenInfo:
        """Make a token valid. Bot tokens act as the team's bot user; user tokens need user_id."""
        with self._lock:
            team = self._teams[team_id or self.team_id]
            if kind not in ("bot", "user"):
                raise ValueError(f"kind must be 'bot' or 'user', not {kind!r}")
            if kind == "user" and not user_id:
                raise ValueError("a user token needs user_id")
            info = TokenInfo(
                token=token,
                kind=kind,
                team_id=team.id,
                user_id=user_id or team.bot_user_id,
                scopes=tuple(scopes) if scopes is not None else (self.scopes if kind == "bot" else ()),
                bot_id=team.bot_id if kind == "bot" else None,
                expires_at=self.now() + expires_in if expires_in is not None else None,
            )
            self._tokens[token] = info
            return info

    def dismiss_auth_prompt(self, user_id: str, dismissed: bool = True) -> None:
        """`user_id` chose "never ask again" on an unfurl's authentication prompt (dismissed=False undoes it).

        From then on chat.unfurl calls that ask for user authentication (user_auth_required, user_auth_message,
        user_auth_url or user_auth_blocks) for links this user shared answer cannot_prompt.
        """
        with self._lock:
            if dismissed:
                self._dismissed_auth_prompts.add(user_id)
            else:
                self._dismissed_auth_prompts.discard(user_id)

    def dismissed_auth_prompts(self) -> set[str]:
        with self._lock:
            return set(self._dismissed_auth_prompts)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            if token in self._tokens:
                self._tokens[token].revoked = True

    def token_info(self, token: str) -> TokenInfo | None:
        with self._lock:
            info = self._tokens.get(token)
            return copy.copy(info) if info else None

    def add_message(
        self,
        channel: str,
        text: str,
        user: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        blocks: list[JSON] | None = None,
    ) -> str:
        """A message somebody else posted (for chat.unfurl, pins, message shortcuts). Returns its ts."""
        with self._lock:
            msg: JSON = {
                "type": "message",
                "user": user,
                "text": text,
                "ts": ts or self._next_ts(),
                "team": self._users.get(user, {}).get("team_id", self.team_id),
            }
            if blocks is not None:
                msg["blocks"] = copy.deepcopy(blocks)
            if thread_ts:
                msg["thread_ts"] = thread_ts
            self._messages.setdefault(channel, []).append(msg)
            return str(msg["ts"])

    def issue_trigger_id(self) -> str:
        """A trigger_id as Slack puts into interactive payloads; views.open honours its 3-second life."""
        with self._lock:
            self._seq += 1
            trigger = f"{self._seq}{secrets.randbelow(10**6):06d}.{int(self.now())}.{secrets.token_hex(16)}"
            self._triggers[trigger] = self.now()
            return trigger

    def issue_oauth_code(
        self,
        *,
        team_id: str | None = None,
        user_id: str | None = None,
        scopes: Iterable[str] | None = None,
        user_scopes: Iterable[str] = (),
        redirect_uri: str | None = None,
    ) -> str:
        """A one-time code for oauth.v2.access, as if `user_id` had approved the install in `team_id`."""
        with self._lock:
            team = team_id or self.team_id
            if team not in self._teams:
                self.add_team(team, f"Workspace {team}")
            code = f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}.{secrets.token_hex(32)}"
            self._oauth_codes[code] = OAuthCode(
                code=code,
                team_id=team,
                user_id=user_id or self.installer_user_id,
                scopes=tuple(scopes) if scopes is not None else self.scopes,
                user_scopes=tuple(user_scopes),
                redirect_uri=redirect_uri,
                expires_at=self.now() + OAUTH_CODE_TTL,
            )
            return code

    def register_response_url(
        self,
        name: str,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> None:
        """Issue (or re-issue) response_url `name`. `channel` lets in_channel replies land in messages()."""
        with self._lock:
            self._response_urls[name] = ResponseUrl(
                name=name, created=self.now(), channel=channel, user=user, message_ts=message_ts
            )

    def share_links(
        self,
        urls: Iterable[str],
        *,
        channel: str,
        user: str,
        source: str = "conversations_history",
        message_ts: str | None = None,
    ) -> JSON:
        """Somebody shares links: returns the `link_shared` event (reference §3) to send to the bot.

        For source "conversations_history" a message carrying the links is stored in `channel` (unless
        message_ts names an existing one). chat.unfurl then only accepts these URLs for this message or
        unfurl_id.
        """
        with self._lock:
            links = tuple(urls)
            if source == "composer":
                # Composer events carry a placeholder channel/ts that is not a real message (slack-go#999).
                ts = f"{user}.{int(self.now())}.{secrets.token_hex(8)}"
                ev_channel = "COMPOSER"
            else:
                ev_channel = channel
                ts = message_ts or self.add_message(channel, " ".join(f"<{u}>" for u in links), user)
            unfurl_id = f"{user}-{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}"
            self._shares.append(
                LinkShare(
                    urls=links,
                    channel=ev_channel,
                    message_ts=ts,
                    unfurl_id=unfurl_id,
                    source=source,
                    user=user,
                )
            )
            chan = self._channels.get(channel)
            return {
                "type": "link_shared",
                "channel": ev_channel,
                "is_bot_user_member": bool(chan and chan["is_member"]),
                "user": user,
                "message_ts": ts,
                "unfurl_id": unfurl_id,
                "source": source,
                "links": [{"domain": (urlsplit(u).hostname or ""), "url": u} for u in links],
                "event_ts": self._next_ts(),
            }

    def event_envelope(self, event: JSON, *, team_id: str | None = None) -> JSON:
        """Wrap an event in the Events API envelope (reference §3)."""
        with self._lock:
            team = self._teams[team_id or self.team_id]
            return {
                "token": "verification-token-unused",
                "team_id": team.id,
                "api_app_id": self.app_id,
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{_base36(secrets.randbelow(36**10), 10)}",
                "event_time": int(self.now()),
                "authorizations": [
                    {
                        "enterprise_id": team.enterprise_id,
                        "team_id": team.id,
                        "user_id": team.bot_user_id,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
                "event_context": f"4-{secrets.token_urlsafe(24)}",
            }

    def inject_fault(
        self,
        method: str,
        status: int = 500,
        retry_after: int | None = None,
        count: int = 1,
        body: JSON | str | None = None,
        delay: float = 0.0,
    ) -> None:
        """The next `count` calls of `method` answer `status` (429 adds Retry-After). `method` may be "*" or
        "response_url". status 200 with no body only delays the real answer by `delay` seconds."""
        with self._lock:
            self._faults.append(Fault(method, status, retry_after, count, body, delay))

    def advance_time(self, seconds: float) -> None:
        """Move the emulator's clock forward (expiry of triggers, response_urls, codes and tokens)."""
        with self._lock:
            self._clock_offset += seconds

    def now(self) -> float:
        return time.time() + self._clock_offset

    # -- reading ---------------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[JSON]:
        """Every API call so far: method, args, token, time, status, ok, error, response, body_format."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def calls_to(self, method: str) -> list[JSON]:
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if c["method"] == method]

    def response_posts(self, name: str | None = None) -> list[JSON]:
        with self._lock:
            return [copy.deepcopy(p) for p in self._response_posts if name is None or p["name"] == name]

    def messages(self, channel: str) -> list[JSON]:
        with self._lock:
            return sorted(copy.deepcopy(self._messages.get(channel, [])), key=lambda m: float(m["ts"]))

    def ephemeral_messages(self, channel: str) -> list[JSON]:
        """Ephemeral messages in `channel`; each carries an emulator-only `recipient` field."""
        with self._lock:
            return copy.deepcopy(self._ephemeral.get(channel, []))

    def message(self, channel: str, ts: str) -> JSON | None:
        with self._lock:
            msg = self._find_message(channel, ts)
            return copy.deepcopy(msg) if msg else None

    def view(self, view_id: str) -> JSON | None:
        with self._lock:
            return copy.deepcopy(self._views.get(view_id))

    def home_view(self, user_id: str) -> JSON | None:
        with self._lock:
            vid = self._home_views.get(user_id)
            return copy.deepcopy(self._views[vid]) if vid else None

    def bookmarks(self, channel: str | None = None) -> list[JSON]:
        with self._lock:
            found = [b for b in self._bookmarks.values() if channel is None or b["channel_id"] == channel]
            return copy.deepcopy(found)

    def pins(self, channel: str) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(list(self._pins.get(channel, {}).values()))

    def slack_calls(self) -> dict[str, JSON]:
        """Calls API objects (calls.add) by id."""
        with self._lock:
            return copy.deepcopy(self._slack_calls)

    def unfurls(self) -> list[JSON]:
        """Accepted chat.unfurl requests, oldest first. `user` (emulator-only) is who shared the links."""
        with self._lock:
            return copy.deepcopy(self._unfurls)

    def users(self) -> dict[str, JSON]:
        with self._lock:
            return {
                k: self._user_out(u, include_email=True, include_locale=True) for k, u in self._users.items()
            }

    def channels(self) -> dict[str, JSON]:
        with self._lock:
            return {k: self._channel_out(c) for k, c in self._channels.items()}

    def snapshot(self) -> JSON:
        with self._lock:
            return {
                "users": self.users(),
                "channels": self.channels(),
                "messages": copy.deepcopy(self._messages),
                "ephemeral": copy.deepcopy(self._ephemeral),
                "views": copy.deepcopy(self._views),
                "home_views": dict(self._home_views),
                "bookmarks": self.bookmarks(),
                "pins": copy.deepcopy(self._pins),
                "slack_calls": self.slack_calls(),
                "unfurls": self.unfurls(),
                "now": self.now(),
            }

    async def wait_for_calls(
        self, method: str, n: int = 1, timeout: float = 5.0  # noqa: ASYNC109 - the polling deadline
    ) -> list[JSON]:
        """Poll until at least n calls of `method` were recorded; returns them. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_to(method)
            if len(found) >= n:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"waited {timeout}s for {n} call(s) of {method}, saw {len(found)}")
            await asyncio.sleep(0.01)

    def wait_for_calls_blocking(self, method: str, n: int = 1, timeout: float = 5.0) -> list[JSON]:
        """Blocking variant of wait_for_calls. Do not use it on the event loop that runs the bot."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_to(method)
            if len(found) >= n:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"waited {timeout}s for {n} call(s) of {method}, saw {len(found)}")
            time.sleep(0.01)

    async def wait_for_response_posts(
        self, name: str | None = None, n: int = 1, timeout: float = 5.0  # noqa: ASYNC109
    ) -> list[JSON]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.response_posts(name)
            if len(found) >= n:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"waited {timeout}s for {n} post(s) to {name}, saw {len(found)}")
            await asyncio.sleep(0.01)

    def wait_for_response_posts_blocking(
        self, name: str | None = None, n: int = 1, timeout: float = 5.0
    ) -> list[JSON]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.response_posts(name)
            if len(found) >= n:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"waited {timeout}s for {n} post(s) to {name}, saw {len(found)}")
            time.sleep(0.01)

    # -- plumbing used by the HTTP layer ---------------------------------------------------------------------

    def take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                wildcard = fault.method == "*" and method != "response_url"
                if (fault.method == method or wildcard) and fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return copy.copy(fault)
            return None

    def record_call(
        self,
        method: str,
        args: JSON,
        token: str | None,
        status: int,
        response: JSON | str,
        *,
        http_method: str = "POST",
        body_format: str = "none",
        started: float | None = None,
    ) -> None:
        with self._lock:
            ok = isinstance(response, dict) and response.get("ok") is True
            self._calls.append(
                {
                    "method": method,
                    "args": copy.deepcopy(args),
                    "token": token,
                    "time": started if started is not None else self.now(),
                    "status": status,
                    "ok": ok,
                    "error": response.get("error") if isinstance(response, dict) else None,
                    "response": copy.deepcopy(response),
                    "http_method": http_method,
                    "body_format": body_format,
                }
            )

    def handle_api(
        self,
        method: str,
        params: Params,
        *,
        token: str | None,
        basic: tuple[str, str] | None = None,
        http_method: str = "POST",
    ) -> ApiResult:
        with self._lock:
            started = self.now()
            headers: dict[str, str] = {}
            needed = METHOD_SCOPES.get(method, ())
            if needed:
                headers["X-Accepted-OAuth-Scopes"] = ",".join(needed)
            status = 200
            try:
                handler = _API[method]
                info: TokenInfo | None = None
                if method not in _NO_AUTH:
                    info = self._authenticate(token)
                    headers["X-OAuth-Scopes"] = ",".join(info.scopes)
                    if needed:
                        _require(info, *needed)
                body: JSON = {"ok": True, **handler(self, _Call(method, params, info, basic))}
            except ApiError as exc:
                status = exc.status
                body = exc.body()
            self.record_call(
                method,
                params.recorded(),
                token,
                status,
                body,
                http_method=http_method,
                body_format=params.body_format,
                started=started,
            )
            return ApiResult(status, copy.deepcopy(body), headers)

    def record_response_post(self, name: str, raw: bytes, status: int, response: JSON | str) -> None:
        """Record a response_url POST answered by an injected fault."""
        with self._lock:
            self._response_posts.append(
                {
                    "name": name,
                    "time": self.now(),
                    "body": None,
                    "raw": raw.decode("utf-8", "replace"),
                    "status": status,
                    "response": copy.deepcopy(response),
                }
            )

    def handle_response_post(self, name: str, raw: bytes, content_type: str) -> tuple[int, str]:
        """A POST to a response_url. Returns (status, text body) as Slack's hooks endpoint would."""
        with self._lock:
            now = self.now()
            record: JSON = {"name": name, "time": now, "body": None, "raw": raw.decode("utf-8", "replace")}

            def answer(status: int, text: str) -> tuple[int, str]:
                record["status"] = status
                record["response"] = text
                self._response_posts.append(record)
                return status, text

            url = self._response_urls.get(name)
            if url is None:
                # guess: a response_url the emulator never issued counts as freshly issued (payloads built by
                # hand in tests); Slack would refuse an unknown one.
                url = ResponseUrl(name=name, created=now)
                self._response_urls[name] = url
            if now - url.created > RESPONSE_URL_TTL:
                return answer(404, "expired_url")  # guess: status and body text
            if url.uses >= RESPONSE_URL_MAX_USES:
                return answer(404, "used_url")
            payload: Any
            try:
                text = raw.decode("utf-8")
                if content_type == "application/x-www-form-urlencoded" or text.startswith("payload="):
                    payload = json.loads(dict(parse_qsl(text)).get("payload", ""))
                else:
                    payload = json.loads(text)
            except ValueError:
                return answer(400, "invalid_payload")
            if not isinstance(payload, dict):
                return answer(400, "invalid_payload")
            record["body"] = payload
            has_content = payload.get("text") or payload.get("blocks") or payload.get("attachments")
            if not has_content and not payload.get("delete_original"):
                return answer(400, "no_text")
            if isinstance(payload.get("blocks"), list):
                errs = validate_blocks(payload["blocks"], "/blocks", 50)
                if errs:
                    return answer(400, "invalid_blocks")
            url.uses += 1
            self._apply_response_post(url, payload)
            return answer(200, "ok")

    # -- internals -------------------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        micro = int(self.now() * 1_000_000)
        if micro <= self._last_ts_micro:
            micro = self._last_ts_micro + 1
        self._last_ts_micro = micro
        return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"

    def _new_id(self, prefix: str, width: int = 8) -> str:
        self._seq += 1
        return f"{prefix}{_base36(self._seq * 7919 + secrets.randbelow(7919), width)}"

    def _new_hash(self) -> str:
        return f"{int(self.now())}.{secrets.token_hex(4)}"

    def _authenticate(self, token: str | None) -> TokenInfo:
        if not token:
            raise ApiError("not_authed")
        info = self._tokens.get(token)
        if info is None:
            raise ApiError("invalid_auth")
        if info.revoked:
            raise ApiError("token_revoked")
        if info.expires_at is not None and self.now() >= info.expires_at:
            raise ApiError("token_expired")
        return info

    def _user_out(self, user: JSON, *, include_email: bool, include_locale: bool = False) -> JSON:
        tz_label, tz_offset = _tz_fields(user["tz"])
        profile: JSON = {
            "real_name": user["real_name"],
            "display_name": user["name"],
            "real_name_normalized": user["real_name"],
            "display_name_normalized": user["name"],
            "avatar_hash": "g" + hashlib.sha1(user["id"].encode()).hexdigest()[:11],
            "image_48": f"https://avatars.example.invalid/{user['id']}_48.png",
            "image_72": f"https://avatars.example.invalid/{user['id']}_72.png",
            "team": user["team_id"],
        }
        if user["is_bot"]:
            profile["bot_id"] = user["bot_id"]
            profile["api_app_id"] = self.app_id
            profile["always_active"] = True
        elif include_email and user["email"]:
            profile["email"] = user["email"]
        out: JSON = {
            "id": user["id"],
            "team_id": user["team_id"],
            "name": user["name"],
            "deleted": user["deleted"],
            "real_name": user["real_name"],
            "tz": user["tz"],
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": user["is_admin"],
            "is_owner": user["is_owner"],
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user["is_bot"],
            "is_app_user": False,
            "updated": 1700000000,
        }
        if include_locale:
            out["locale"] = user.get("locale", "en-US")
        return out

    def _channel_out(self, ch: JSON, *, include_num_members: bool = False) -> JSON:
        if ch["is_im"]:
            out: JSON = {
                "id": ch["id"],
                "created": ch["created"],
                "is_im": True,
                "is_org_shared": False,
                "user": ch["user"],
                "is_user_deleted": False,
                "priority": 0,
            }
        else:
            out = {
                "id": ch["id"],
                "name": ch["name"],
                "is_channel": not ch["is_private"],
                "is_group": False,
                "is_im": False,
                "is_mpim": ch["is_mpim"],
                "is_private": ch["is_private"],
                "created": ch["created"],
                "is_archived": ch["is_archived"],
                "is_general": ch["name"] == "general",
                "unlinked": 0,
                "name_normalized": ch["name"],
                "is_shared": False,
                "is_org_shared": False,
                "is_ext_shared": False,
                "is_pending_ext_shared": False,
                "pending_shared": [],
                "context_team_id": self.team_id,
                "creator": "",
                "is_member": ch["is_member"],
                "topic": {"value": ch["topic"], "creator": "", "last_set": 0},
                "purpose": {"value": ch["purpose"], "creator": "", "last_set": 0},
                "previous_names": [],
            }
        if include_num_members:
            out["num_members"] = len(ch["members"]) if ch["members"] is not None else 0  # guess: unknown = 0
        return out

    def _channel_by_ref(self, ref: str) -> JSON | None:
        ch = self._channels.get(ref)
        if ch is None:
            name = ref.removeprefix("#")
            ch = next((c for c in self._channels.values() if c["name"] == name and not c["is_im"]), None)
        return ch

    def _visible_channel(self, ref: str | None) -> JSON:
        """A conversation the bot can see: unknown ones and private ones it is not in do not exist for it."""
        ch = self._channels.get(ref) if ref else None
        if ch is None or (not ch["is_member"] and (ch["is_private"] or ch["is_im"])):
            raise ApiError("channel_not_found")
        return ch

    def _open_im(self, user_id: str) -> tuple[JSON, bool]:
        existing = next((c for c in self._channels.values() if c["is_im"] and c["user"] == user_id), None)
        if existing is not None:
            return existing, True
        # guess: IM ids are derived from the user id
        self.add_channel(f"D{user_id[1:]}", user_id, is_member=True, is_im=True, user=user_id)
        return self._channels[f"D{user_id[1:]}"], False

    def _postable_channel(self, tok: TokenInfo, ref: str | None, *, open_im: bool) -> JSON:
        if not ref:
            raise ApiError("channel_not_found")
        ch = self._channel_by_ref(ref)
        if ch is None and open_im and ref[:1] in ("U", "W") and ref in self._users:
            # chat.postMessage to a user id posts in the app's DM with that user.
            ch, _ = self._open_im(ref)
        if ch is None:
            raise ApiError("channel_not_found")
        if ch["is_archived"]:
            raise ApiError("is_archived")
        if not ch["is_member"]:
            if ch["is_private"] or ch["is_im"]:
                raise ApiError("channel_not_found")
            if "chat:write.public" not in tok.scopes:
                raise ApiError("not_in_channel")
        return ch

    def _content(self, p: Params, *, require: bool) -> tuple[str | None, list[Any] | None, list[Any] | None]:
        text = p.get("text")
        markdown_text = p.get("markdown_text")
        blocks = p.obj("blocks", "invalid_blocks_format")
        attachments = p.obj("attachments", "invalid_attachments")
        if markdown_text is not None:
            if text is not None or blocks is not None:
                raise ApiError("markdown_text_conflict")
            text = markdown_text
        if blocks is not None:
            if not isinstance(blocks, list):
                raise ApiError("invalid_blocks_format")
            errs = validate_blocks(blocks, "/blocks", 50)
            if errs:
                raise ApiError("invalid_blocks", messages=errs)
        if attachments is not None:
            if not isinstance(attachments, list):
                raise ApiError("invalid_attachments")
            if len(attachments) > 100:
                raise ApiError("too_many_attachments")
        if require and not text and not blocks and not attachments:
            raise ApiError("no_text")
        if text is not None and len(text) > 40000:
            raise ApiError("msg_too_long")
        return text, blocks, attachments

    def _with_block_ids(self, blocks: list[Any]) -> list[Any]:
        out = copy.deepcopy(blocks)
        for block in out:
            if isinstance(block, dict) and "block_id" not in block:
                # Slack assigns a short random block_id to blocks sent without one.
                alphabet = string.ascii_letters + string.digits
                block["block_id"] = "".join(secrets.choice(alphabet) for _ in range(5))
        return out

    def _bot_profile(self, tok: TokenInfo) -> JSON:
        return {
            "id": tok.bot_id,
            "app_id": self.app_id,
            "name": self.bot_name,
            "icons": {"image_48": "https://avatars.example.invalid/bot_48.png"},
            "deleted": False,
            "updated": 1700000000,
            "team_id": tok.team_id,
        }

    def _find_message(self, channel: str, ts: str) -> JSON | None:
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    def _apply_response_post(self, url: ResponseUrl, payload: JSON) -> None:
        if url.channel is None:
            return
        team = self._teams[self.team_id]
        original = self._find_message(url.channel, url.message_ts) if url.message_ts else None
        if payload.get("delete_original") and original is not None:
            self._messages[url.channel].remove(original)
            return
        msg: JSON = {
            "type": "message",
            "user": team.bot_user_id,
            "bot_id": team.bot_id,
            "app_id": self.app_id,
            "text": payload.get("text") or "",
            "team": team.id,
        }
        if isinstance(payload.get("blocks"), list):
            msg["blocks"] = self._with_block_ids(payload["blocks"])
        if payload.get("thread_ts"):
            msg["thread_ts"] = payload["thread_ts"]
        if payload.get("replace_original") and original is not None:
            original.update(msg)
            return
        msg["ts"] = self._next_ts()
        if payload.get("response_type") == "in_channel":
            self._messages.setdefault(url.channel, []).append(msg)
        else:
            msg["recipient"] = url.user
            self._ephemeral.setdefault(url.channel, []).append(msg)

    def _use_trigger(self, p: Params) -> None:
        trigger = p.get("trigger_id") or p.get("interactivity_pointer")
        if not trigger:
            # guess: error name for a missing trigger_id
            raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: trigger_id"])
        if not _TRIGGER_RE.match(trigger):
            raise ApiError("invalid_trigger_id")
        if trigger in self._used_triggers:
            raise ApiError("exchanged_trigger_id")
        issued = self._triggers.get(trigger)
        if issued is not None and self.now() - issued > TRIGGER_TTL:
            raise ApiError("expired_trigger_id")
        self._used_triggers.add(trigger)

    def _view_param(self, p: Params, allowed: tuple[str, ...]) -> JSON:
        view = p.obj("view", "invalid_arguments")
        if view is None:
            raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: view"])
        if not isinstance(view, dict):
            raise ApiError("invalid_arguments", messages=["[ERROR] must be an object [json-pointer:/view]"])
        errs = validate_view(view, allowed)
        if errs:
            raise ApiError("invalid_arguments", messages=errs)
        return view

    def _build_view(self, tok: TokenInfo, view: JSON, *, existing: JSON | None) -> JSON:
        external_id = view.get("external_id") or ""
        if external_id:
            for other in self._views.values():
                same = existing is not None and other["id"] == existing["id"]
                if other["external_id"] == external_id and not same:
                    raise ApiError("duplicate_external_id")
        view_id = existing["id"] if existing else self._new_id("V")
        out: JSON = {
            "id": view_id,
            "team_id": tok.team_id,
            "type": view["type"],
            "blocks": self._with_block_ids(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": existing["previous_view_id"] if existing else None,
            "root_view_id": existing["root_view_id"] if existing else view_id,
            "app_id": self.app_id,
            "external_id": external_id,
            "app_installed_team_id": tok.team_id,
            "bot_id": tok.bot_id,
        }
        if view["type"] == "modal":
            out["title"] = view.get("title")
        self._views[view_id] = out
        return copy.deepcopy(out)

    def _bookmark_channel(self, p: Params) -> JSON:
        # guess: bookmarks follow the visibility rule (unknown or private-and-not-member: channel_not_found)
        return self._visible_channel(p.get("channel_id"))

    def _call_users(self, p: Params) -> list[JSON]:
        users = p.obj("users", "invalid_arguments")
        if users is None:
            return []
        if not isinstance(users, list):
            raise ApiError("invalid_arguments", messages=["[ERROR] must be an array [json-pointer:/users]"])
        out: list[JSON] = []
        for u in users:
            if isinstance(u, dict) and u.get("slack_id"):
                if u["slack_id"] not in self._users:
                    raise ApiError("user_not_found")
                out.append({"slack_id": u["slack_id"]})
            elif isinstance(u, dict) and u.get("external_id"):
                out.append({k: u[k] for k in ("external_id", "display_name", "avatar_url") if k in u})
            else:
                raise ApiError("invalid_arguments", messages=["[ERROR] a user needs slack_id or external_id"])
        return out

    def _slack_call(self, p: Params) -> JSON:
        call_id = p.get("id")
        call = self._slack_calls.get(call_id) if call_id else None
        if call is None:
            raise ApiError("invalid_call_id")
        return call

    def _install_response(self, code: OAuthCode) -> JSON:
        team = self._teams[code.team_id]
        bot = self._issue_token("bot", team.id, team.bot_user_id, code.scopes)
        out: JSON = {
            "app_id": self.app_id,
            "authed_user": {"id": code.user_id},
            "scope": ",".join(code.scopes),
            "token_type": "bot",
            "access_token": bot["access_token"],
            "bot_user_id": team.bot_user_id,
            "team": {"id": team.id, "name": team.name},
            "enterprise": _enterprise(team),
            "is_enterprise_install": False,
        }
        for key in ("refresh_token", "expires_in"):
            if key in bot:
                out[key] = bot[key]
        if code.user_scopes:
            user = self._issue_token("user", team.id, code.user_id, code.user_scopes)
            out["authed_user"] = {
                "id": code.user_id,
                "scope": ",".join(code.user_scopes),
                "token_type": "user",
                **user,
            }
        return out

    def _issue_token(self, kind: str, team_id: str, user_id: str, scopes: tuple[str, ...]) -> JSON:
        prefix = "xoxb" if kind == "bot" else "xoxp"
        rand = f"{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"
        if self.token_rotation:
            token = f"xoxe.{prefix}-1-{rand}"
            info = self.add_token(
                token, kind=kind, team_id=team_id, user_id=user_id, scopes=scopes, expires_in=TOKEN_LIFETIME
            )
            refresh = f"xoxe-1-{secrets.token_hex(24)}"
            self._refresh_tokens[refresh] = info
            return {"access_token": token, "refresh_token": refresh, "expires_in": TOKEN_LIFETIME}
        token = f"{prefix}-{team_id[1:]}-{rand}"
        self.add_token(token, kind=kind, team_id=team_id, user_id=user_id, scopes=scopes)
        return {"access_token": token}


def _enterprise(team: Team) -> JSON | None:
    return {"id": team.enterprise_id, "name": team.enterprise_name} if team.enterprise_id else None


def _require(tok: TokenInfo, *scopes: str) -> None:
    if not any(s in tok.scopes for s in scopes):
        raise ApiError("missing_scope", extra={"needed": ",".join(scopes), "provided": ",".join(tok.scopes)})


# ------------------------------------------------------------------------------------------------------------
# Web API methods. Each returns the success body without "ok"; failures raise ApiError.


def _auth_test(s: SlackState, c: _Call) -> JSON:
    tok = c.tok
    team = s._teams[tok.team_id]
    out: JSON = {
        "url": f"https://{team.domain}.slack.com/",
        "team": team.name,
        "user": s._users.get(tok.user_id, {}).get("name", tok.user_id),
        "team_id": team.id,
        "user_id": tok.user_id,
    }
    if tok.kind == "bot":
        out["bot_id"] = tok.bot_id
    if team.enterprise_id:
        out["enterprise_id"] = team.enterprise_id
    out["is_enterprise_install"] = False
    return out


def _auth_revoke(s: SlackState, c: _Call) -> JSON:
    if c.params.flag("test"):
        return {"revoked": False}
    c.tok.revoked = True
    return {"revoked": True}


def _chat_post_message(s: SlackState, c: _Call) -> JSON:
    tok, p = c.tok, c.params
    ch = s._postable_channel(tok, p.get("channel"), open_im=True)
    text, blocks, attachments = s._content(p, require=True)
    metadata = p.obj("metadata", "invalid_metadata_format")
    msg: JSON = {
        "user": tok.user_id,
        "type": "message",
        "ts": s._next_ts(),
        "text": text or "",
        "team": tok.team_id,
    }
    if tok.kind == "bot":
        msg.update({"bot_id": tok.bot_id, "app_id": s.app_id, "bot_profile": s._bot_profile(tok)})
    if blocks is not None:
        msg["blocks"] = s._with_block_ids(blocks)
    if attachments is not None:
        msg["attachments"] = [{"id": i + 1, **a} for i, a in enumerate(attachments) if isinstance(a, dict)]
    if p.get("thread_ts"):
        msg["thread_ts"] = p.get("thread_ts")
        if p.flag("reply_broadcast"):
            msg["subtype"] = "thread_broadcast"
    if isinstance(metadata, dict):
        msg["metadata"] = metadata
    s._messages.setdefault(ch["id"], []).append(msg)
    return {"channel": ch["id"], "ts": msg["ts"], "message": copy.deepcopy(msg)}


def _chat_post_ephemeral(s: SlackState, c: _Call) -> JSON:
    tok, p = c.tok, c.params
    # guess: same membership rules as chat.postMessage
    ch = s._postable_channel(tok, p.get("channel"), open_im=False)
    user = p.get("user")
    if not user or user not in s._users or (ch["members"] is not None and user not in ch["members"]):
        raise ApiError("user_not_in_channel")
    text, blocks, attachments = s._content(p, require=True)
    msg: JSON = {
        "type": "message",
        "subtype": "bot_message",
        "user": tok.user_id,
        "bot_id": tok.bot_id,
        "text": text or "",
        "ts": s._next_ts(),
        "recipient": user,
    }
    if blocks is not None:
        msg["blocks"] = s._with_block_ids(blocks)
    if attachments is not None:
        msg["attachments"] = attachments
    if p.get("thread_ts"):
        msg["thread_ts"] = p.get("thread_ts")
    s._ephemeral.setdefault(ch["id"], []).append(msg)
    return {"message_ts": msg["ts"]}


def _own_message(s: SlackState, c: _Call, cant: str) -> tuple[JSON, JSON]:
    ch = s._visible_channel(c.params.get("channel"))
    ts = c.params.get("ts")
    msg = s._find_message(ch["id"], ts) if ts else None
    if msg is None:
        raise ApiError("message_not_found")
    if msg.get("user") != c.tok.user_id:
        raise ApiError(cant)
    return ch, msg


def _chat_update(s: SlackState, c: _Call) -> JSON:
    ch, msg = _own_message(s, c, "cant_update_message")
    text, blocks, attachments = s._content(c.params, require=False)
    if text is None and blocks is None and attachments is None:
        raise ApiError("no_text")
    if text is not None:
        msg["text"] = text
    # Blocks and attachments left out keep their previous value; an empty list removes them.
    if blocks is not None:
        if blocks:
            msg["blocks"] = s._with_block_ids(blocks)
        else:
            msg.pop("blocks", None)
    if attachments is not None:
        msg["attachments"] = attachments
    msg["edited"] = {"user": c.tok.user_id, "ts": s._next_ts()}
    return {"channel": ch["id"], "ts": msg["ts"], "text": msg["text"], "message": copy.deepcopy(msg)}


def _chat_delete(s: SlackState, c: _Call) -> JSON:
    ch, msg = _own_message(s, c, "cant_delete_message")
    s._messages[ch["id"]].remove(msg)
    s._pins.get(ch["id"], {}).pop(msg["ts"], None)
    return {"channel": ch["id"], "ts": msg["ts"]}


def _chat_unfurl(s: SlackState, c: _Call) -> JSON:
    p = c.params
    channel, ts = p.get("channel"), p.get("ts")
    unfurl_id, source = p.get("unfurl_id"), p.get("source")
    if unfurl_id or source:
        if not unfurl_id:
            raise ApiError("missing_unfurl_id")
        if not source:
            raise ApiError("missing_source")
        if source not in ("composer", "conversations_history"):
            raise ApiError("invalid_source")
    elif channel or ts:
        if not channel:
            raise ApiError("missing_channel")
        if not ts:
            raise ApiError("missing_ts")
    else:
        # guess: neither pair given
        hint = "[ERROR] either channel and ts or unfurl_id and source are required"
        raise ApiError("invalid_arguments", messages=[hint])
    unfurls = p.obj("unfurls", "invalid_unfurls_format")
    metadata = p.obj("metadata", "invalid_metadata_format")
    if unfurls is None and metadata is None:
        raise ApiError("missing_unfurls")
    if unfurls is not None and not isinstance(unfurls, dict):
        raise ApiError("invalid_unfurls_format")
    unfurls = unfurls or {}
    for url, value in unfurls.items():
        if not isinstance(value, dict):
            raise ApiError("cannot_parse_attachment")
        if isinstance(value.get("blocks"), list):
            errs = validate_blocks(value["blocks"], f"/unfurls/{url}/blocks", 50)
            if errs:
                raise ApiError("invalid_blocks", messages=errs)
        host = (urlsplit(url).hostname or "").lower()
        if not any(host == d or host.endswith("." + d) for d in s.unfurl_domains):
            raise ApiError("cannot_unfurl_url")
    if unfurl_id:
        share = next((sh for sh in s._shares if sh.unfurl_id == unfurl_id), None)
        if share is None and s.strict_unfurls:
            raise ApiError("invalid_unfurl_id")
    else:
        share = next((sh for sh in s._shares if sh.channel == channel and sh.message_ts == ts), None)
    message = s._find_message(share.channel, share.message_ts) if share else None
    if share is None and channel and ts:
        if channel not in s._channels:
            if s.strict_unfurls:
                raise ApiError("cannot_find_channel")
        else:
            message = s._find_message(channel, ts)
            if message is None and s.strict_unfurls:
                raise ApiError("cannot_find_message")
    for url in unfurls:
        if share is not None and url not in share.urls:
            raise ApiError("cannot_unfurl_url")
        if share is None and message is not None and url not in str(message.get("text", "")):
            raise ApiError("cannot_unfurl_message")
    user_auth_blocks = p.obj("user_auth_blocks", "invalid_blocks_format")
    asks_for_auth = (
        p.flag("user_auth_required")
        or p.get("user_auth_message") is not None
        or p.get("user_auth_url") is not None
        or user_auth_blocks is not None
    )
    # guess: the prompted user is the one who shared the links (or, with no recorded share, the author of the
    # message); Slack does not say how it decides, nor whether anything is shown when it refuses: nothing is.
    sharer = share.user if share else (message.get("user") if message else None)
    if asks_for_auth and sharer in s._dismissed_auth_prompts:
        raise ApiError("cannot_prompt")
    record: JSON = {
        "channel": share.channel if share else channel,
        "ts": share.message_ts if share else ts,
        "unfurl_id": unfurl_id or (share.unfurl_id if share else None),
        "source": source or (share.source if share else None),
        "unfurls": copy.deepcopy(unfurls),
        "user_auth_required": p.flag("user_auth_required"),
        "user_auth_message": p.get("user_auth_message"),
        "user_auth_url": p.get("user_auth_url"),
        "user_auth_blocks": user_auth_blocks,
        "user": sharer,
        "metadata": metadata,
        "time": s.now(),
    }
    s._unfurls.append(record)
    if message is not None and not record["user_auth_required"]:
        # Each URL gets one attachment; calling again for the same message replaces it (reference §3).
        attachments = [a for a in message.get("attachments", []) if a.get("app_unfurl_url") not in unfurls]
        for url, value in unfurls.items():
            attachment: JSON = {"id": len(attachments) + 1, "app_unfurl_url": url, "is_app_unfurl": True}
            attachment.update({"app_id": s.app_id, **copy.deepcopy(value)})
            attachments.append(attachment)
        message["attachments"] = attachments
    return {}


def _views_open(s: SlackState, c: _Call) -> JSON:
    view = s._view_param(c.params, ("modal",))
    s._use_trigger(c.params)
    return {"view": s._build_view(c.tok, view, existing=None)}


def _views_push(s: SlackState, c: _Call) -> JSON:
    view = s._view_param(c.params, ("modal",))
    s._use_trigger(c.params)
    # guess: the emulator does not track which modal a trigger came from, so the view stack is not modelled.
    return {"view": s._build_view(c.tok, view, existing=None)}


def _views_update(s: SlackState, c: _Call) -> JSON:
    p = c.params
    view_id, external_id = p.get("view_id"), p.get("external_id")
    if not view_id and not external_id:
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: view_id"])  # guess
    existing = (
        s._views.get(view_id)
        if view_id
        else next((v for v in s._views.values() if v["external_id"] == external_id), None)
    )
    if existing is None:
        raise ApiError("not_found")
    view = s._view_param(p, (existing["type"],))
    given = p.get("hash")
    if given and given != existing["hash"]:
        raise ApiError("hash_conflict")
    return {"view": s._build_view(c.tok, view, existing=existing)}


def _views_publish(s: SlackState, c: _Call) -> JSON:
    p = c.params
    user_id = p.get("user_id")
    if not user_id:
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: user_id"])
    if user_id not in s._users:
        raise ApiError("invalid_arguments", messages=["invalid `user_id`"])
    view = s._view_param(p, ("home",))
    existing_id = s._home_views.get(user_id)
    existing = s._views.get(existing_id) if existing_id else None
    given = p.get("hash")
    # guess: a hash sent before any Home view exists is ignored rather than a conflict
    if given and existing is not None and given != existing["hash"]:
        raise ApiError("hash_conflict")
    out = s._build_view(c.tok, view, existing=existing)
    s._home_views[user_id] = out["id"]
    return {"view": out}


def _users_info(s: SlackState, c: _Call) -> JSON:
    user = s._users.get(c.params.get("user") or "")
    if user is None:
        raise ApiError("user_not_found")
    return {
        "user": s._user_out(
            user,
            include_email="users:read.email" in c.tok.scopes,
            include_locale=c.params.flag("include_locale"),
        )
    }


def _users_lookup_by_email(s: SlackState, c: _Call) -> JSON:
    email = (c.params.get("email") or "").strip().lower()
    # guess: the match ignores case
    user = next((u for u in s._users.values() if u["email"] and u["email"].lower() == email), None)
    if user is None or not email:
        raise ApiError("users_not_found")
    return {"user": s._user_out(user, include_email=True)}


def _conversations_info(s: SlackState, c: _Call) -> JSON:
    ch = s._visible_channel(c.params.get("channel"))
    if ch["is_im"]:
        scope = "im:read"
    elif ch["is_mpim"]:
        scope = "mpim:read"
    elif ch["is_private"]:
        scope = "groups:read"
    else:
        scope = "channels:read"
    _require(c.tok, scope)
    return {"channel": s._channel_out(ch, include_num_members=c.params.flag("include_num_members"))}


def _conversations_join(s: SlackState, c: _Call) -> JSON:
    ref = c.params.get("channel")
    ch = s._channels.get(ref) if ref else None
    if ch is None or (ch["is_private"] and not ch["is_member"]):
        raise ApiError("channel_not_found")
    if ch["is_im"] or ch["is_mpim"] or ch["is_private"]:
        raise ApiError("method_not_supported_for_channel_type")
    if ch["is_archived"]:
        raise ApiError("is_archived")
    out: JSON = {}
    if ch["is_member"]:
        out = {"warning": "already_in_channel", "response_metadata": {"warnings": ["already_in_channel"]}}
    else:
        ch["is_member"] = True
        if ch["members"] is not None and c.tok.user_id not in ch["members"]:
            ch["members"].append(c.tok.user_id)
    return {"channel": s._channel_out(ch), **out}


def _conversations_open(s: SlackState, c: _Call) -> JSON:
    channel = c.params.get("channel")
    if channel:
        return {"channel": {"id": s._visible_channel(channel)["id"]}, "no_op": True, "already_open": True}
    users = [u for u in (c.params.get("users") or "").split(",") if u]
    if not users:
        raise ApiError("users_list_not_supplied")
    if len(users) > 1:
        raise ApiError("not_implemented")  # guess: the emulator does not model multi-person DMs
    if users[0] not in s._users:
        raise ApiError("user_not_found")
    ch, existed = s._open_im(users[0])
    out: JSON = {"channel": {"id": ch["id"]}}
    if existed:
        out.update({"no_op": True, "already_open": True})
    return out


def _bookmark_out(b: JSON) -> JSON:
    return copy.deepcopy(b)


def _bookmarks_add(s: SlackState, c: _Call) -> JSON:
    p = c.params
    ch = s._bookmark_channel(p)
    title, kind, link, emoji = p.get("title"), p.get("type"), p.get("link"), p.get("emoji")
    if not title:
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: title"])  # guess
    if kind != "link":
        raise ApiError("invalid_bookmark_type")
    if not link or not re.match(r"^https?://", link) or len(link) > 2048:
        raise ApiError("invalid_link")
    if len(title) > 256:
        raise ApiError("invalid_arguments", messages=["[ERROR] must be less than 257 characters"])  # guess
    if emoji and not _EMOJI_RE.match(emoji):
        raise ApiError("invalid_emoji")
    bookmark: JSON = {
        "id": s._new_id("Bk", 10),
        "channel_id": ch["id"],
        "title": title,
        "link": link,
        "emoji": emoji,
        "icon_url": None,  # guess: Slack fills a favicon here
        "type": "link",
        "entity_id": None,
        "date_created": int(s.now()),
        "date_updated": 0,
        "rank": "g",
        "last_updated_by_user_id": c.tok.user_id,
        "last_updated_by_team_id": c.tok.team_id,
        "shortcut_id": None,
        "app_id": s.app_id if c.tok.kind == "bot" else None,
    }
    s._bookmarks[bookmark["id"]] = bookmark
    return {"bookmark": _bookmark_out(bookmark)}


def _find_bookmark(s: SlackState, c: _Call) -> JSON:
    ch = s._bookmark_channel(c.params)
    bookmark = s._bookmarks.get(c.params.get("bookmark_id") or "")
    if bookmark is None or bookmark["channel_id"] != ch["id"]:
        raise ApiError("not_found")
    return bookmark


def _bookmarks_edit(s: SlackState, c: _Call) -> JSON:
    bookmark = _find_bookmark(s, c)
    p = c.params
    link, emoji, title = p.get("link"), p.get("emoji"), p.get("title")
    if link is not None and (not re.match(r"^https?://", link) or len(link) > 2048):
        raise ApiError("invalid_link")
    if emoji and not _EMOJI_RE.match(emoji):
        raise ApiError("invalid_emoji")
    for key, value in (("title", title), ("link", link), ("emoji", emoji)):
        if value is not None:
            bookmark[key] = value
    bookmark["date_updated"] = int(s.now())
    bookmark["last_updated_by_user_id"] = c.tok.user_id
    return {"bookmark": _bookmark_out(bookmark)}


def _bookmarks_remove(s: SlackState, c: _Call) -> JSON:
    bookmark = _find_bookmark(s, c)
    del s._bookmarks[bookmark["id"]]
    return {}


def _bookmarks_list(s: SlackState, c: _Call) -> JSON:
    ch = s._bookmark_channel(c.params)
    return {"bookmarks": [_bookmark_out(b) for b in s._bookmarks.values() if b["channel_id"] == ch["id"]]}


def _pin_target(s: SlackState, c: _Call) -> tuple[JSON, str]:
    ref = c.params.get("channel")
    ch = s._channels.get(ref) if ref else None
    if ch is None or (not ch["is_member"] and (ch["is_private"] or ch["is_im"])):
        raise ApiError("channel_not_found")
    ts = c.params.get("timestamp")
    if not ts:
        raise ApiError("no_item_specified")
    if not re.match(r"^\d+\.\d+$", ts):
        raise ApiError("bad_timestamp")
    return ch, ts


def _pins_add(s: SlackState, c: _Call) -> JSON:
    ch, ts = _pin_target(s, c)
    if not ch["is_member"]:
        raise ApiError("not_in_channel")  # guess: a bot must be in a public channel to pin there
    msg = s._find_message(ch["id"], ts)
    if msg is None:
        raise ApiError("message_not_found")
    pins = s._pins.setdefault(ch["id"], {})
    if ts in pins:
        raise ApiError("already_pinned")
    pins[ts] = {
        "type": "message",
        "created": int(s.now()),
        "created_by": c.tok.user_id,
        "channel": ch["id"],
        "message": copy.deepcopy(msg),
    }
    return {}


def _pins_remove(s: SlackState, c: _Call) -> JSON:
    ch, ts = _pin_target(s, c)
    pins = s._pins.get(ch["id"], {})
    if ts not in pins:
        if s._find_message(ch["id"], ts) is None:
            raise ApiError("message_not_found")
        raise ApiError("no_pin")
    del pins[ts]
    return {}


def _calls_add(s: SlackState, c: _Call) -> JSON:
    p = c.params
    external_unique_id, join_url = p.get("external_unique_id"), p.get("join_url")
    for name, value in (("external_unique_id", external_unique_id), ("join_url", join_url)):
        if not value:
            raise ApiError("invalid_arguments", messages=[f"[ERROR] missing required field: {name}"])
    created_by = p.get("created_by") or (c.tok.user_id if c.tok.kind == "user" else None)
    # guess: a missing or unknown created_by (required with a bot token) is invalid_created_by
    if not created_by or created_by not in s._users:
        raise ApiError("invalid_created_by")
    date_start = p.get("date_start")
    if date_start is not None and not date_start.isdigit():
        raise ApiError("invalid_start_time")
    # guess: a reused external_unique_id is accepted and creates another Call
    call: JSON = {
        "id": s._new_id("R"),
        "date_start": int(date_start) if date_start else int(s.now()),
        "external_unique_id": external_unique_id,
        "join_url": join_url,
        "users": s._call_users(p),
    }
    for key in ("desktop_app_join_url", "external_display_id", "title"):
        if p.get(key):
            call[key] = p.get(key)
    s._slack_calls[call["id"]] = call
    return {"call": copy.deepcopy(call)}


def _calls_update(s: SlackState, c: _Call) -> JSON:
    call = s._slack_call(c.params)
    for key in ("title", "join_url", "desktop_app_join_url"):
        if c.params.get(key) is not None:
            call[key] = c.params.get(key)
    return {"call": copy.deepcopy(call)}


def _calls_end(s: SlackState, c: _Call) -> JSON:
    call = s._slack_call(c.params)
    if "date_end" in call:
        raise ApiError("inactive_call")
    duration = c.params.get("duration")
    seconds = int(duration) if duration and duration.isdigit() else max(0, int(s.now()) - call["date_start"])
    # guess: the ended Call reports date_end (and the emulator keeps the duration it was given)
    call["date_end"] = call["date_start"] + seconds
    call["duration"] = seconds
    return {}


def _calls_info(s: SlackState, c: _Call) -> JSON:
    return {"call": copy.deepcopy(s._slack_call(c.params))}  # guess: unknown id -> invalid_call_id


def _calls_participants_add(s: SlackState, c: _Call) -> JSON:
    call = s._slack_call(c.params)
    for user in s._call_users(c.params):
        if user not in call["users"]:
            call["users"].append(user)
    return {}


def _calls_participants_remove(s: SlackState, c: _Call) -> JSON:
    call = s._slack_call(c.params)
    gone = s._call_users(c.params)
    call["users"] = [u for u in call["users"] if u not in gone]
    return {}


def _oauth_v2_access(s: SlackState, c: _Call) -> JSON:
    p = c.params
    client_id, client_secret = c.basic if c.basic else (p.get("client_id"), p.get("client_secret"))
    if not client_id or client_id != s.client_id:
        raise ApiError("invalid_client_id")
    if client_secret != s.client_secret:
        raise ApiError("bad_client_secret")
    grant_type = p.get("grant_type")
    if grant_type == "refresh_token":
        info = s._refresh_tokens.pop(p.get("refresh_token") or "", None)
        if info is None:
            raise ApiError("invalid_refresh_token")
        team = s._teams[info.team_id]
        issued = s._issue_token(info.kind, info.team_id, info.user_id, info.scopes)
        out: JSON = {
            "app_id": s.app_id,
            "scope": ",".join(info.scopes),
            "token_type": info.kind,
            **issued,
            "team": {"id": team.id, "name": team.name},
            "enterprise": _enterprise(team),
            "is_enterprise_install": False,
        }
        if info.kind == "bot":
            out["bot_user_id"] = team.bot_user_id
        else:
            out["user_id"] = info.user_id  # guess
        # guess: the access token that was refreshed stays valid until it expires
        return out
    if grant_type not in (None, "", "authorization_code"):
        raise ApiError("invalid_grant_type")
    code = s._oauth_codes.pop(p.get("code") or "", None)
    if code is None or s.now() > code.expires_at:
        raise ApiError("invalid_code")
    if code.redirect_uri and p.get("redirect_uri") != code.redirect_uri:
        raise ApiError("bad_redirect_uri")
    return s._install_response(code)


_API: Final[dict[str, Callable[[SlackState, _Call], JSON]]] = {
    "auth.test": _auth_test,
    "auth.revoke": _auth_revoke,
    "chat.postMessage": _chat_post_message,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.update": _chat_update,
    "chat.delete": _chat_delete,
    "chat.unfurl": _chat_unfurl,
    "views.open": _views_open,
    "views.push": _views_push,
    "views.update": _views_update,
    "views.publish": _views_publish,
    "users.info": _users_info,
    "users.lookupByEmail": _users_lookup_by_email,
    "conversations.info": _conversations_info,
    "conversations.join": _conversations_join,
    "conversations.open": _conversations_open,
    "bookmarks.add": _bookmarks_add,
    "bookmarks.edit": _bookmarks_edit,
    "bookmarks.remove": _bookmarks_remove,
    "bookmarks.list": _bookmarks_list,
    "pins.add": _pins_add,
    "pins.remove": _pins_remove,
    "calls.add": _calls_add,
    "calls.update": _calls_update,
    "calls.end": _calls_end,
    "calls.info": _calls_info,
    "calls.participants.add": _calls_participants_add,
    "calls.participants.remove": _calls_participants_remove,
    "oauth.v2.access": _oauth_v2_access,
}
_NO_AUTH: Final = frozenset({"oauth.v2.access"})

# ------------------------------------------------------------------------------------------------------------
# HTTP layer

STATE_KEY: Final = web.AppKey("slack_state", SlackState)


def _json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=dict(headers or {}),
    )


def _auth_header(request: web.Request) -> tuple[str | None, tuple[str, str] | None]:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return None, (user, password)
    return None, None


async def _read_params(request: web.Request) -> tuple[dict[str, Any], str, str | None]:
    """(params, body format, token parameter). Query args fill in what the body lacks."""
    query: dict[str, Any] = {k: request.query.getone(k) for k in request.query}
    body: dict[str, Any] = {}
    body_format = "query" if query else "none"
    token: str | None = None
    if request.method == "POST" and request.body_exists:
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            try:
                decoded = json.loads(raw or b"{}")
            except ValueError:
                raise ApiError("invalid_json") from None
            if not isinstance(decoded, dict):
                raise ApiError("json_not_object")
            body = decoded
            body_format = "json"
            # Slack ignores a token inside a JSON body: JSON callers must send the Authorization header.
            body.pop("token", None)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            body = {k: v for k, v in form.items() if isinstance(v, str)}
            body_format = "form"
            token = body.pop("token", None)
        else:
            raw = await request.read()
            if raw.strip():
                # guess: other content types are read as a form, like Slack's lenient parser
                try:
                    body = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                except UnicodeDecodeError:
                    raise ApiError("invalid_form_data") from None
                body_format = "form"
                token = body.pop("token", None)
    # guess: a token in the query string is accepted (Slack refuses it for apps created after 2021-02-24)
    query_token = query.pop("token", None)
    token = token or (str(query_token) if query_token else None)
    return {**query, **body}, body_format, token


def _fault_response(fault: Fault) -> tuple[web.Response, JSON | str]:
    headers: dict[str, str] = {}
    if fault.status == 429 or fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
    body = fault.body
    if body is None:
        if fault.status == 429:
            body = {"ok": False, "error": "ratelimited"}
        elif fault.status == 503:
            body = {"ok": False, "error": "service_unavailable"}  # guess: Slack may also send an HTML page
        else:
            body = {"ok": False, "error": "fatal_error"}  # guess
    if isinstance(body, dict):
        return _json_response(body, fault.status, headers), body
    return web.Response(text=body, status=fault.status, content_type="text/html", headers=headers), body


async def _api_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    method = request.match_info["method"]
    if method not in _API:
        body: JSON = {"ok": False, "error": "unknown_method"}
        state.record_call(method, {}, None, 404, body, http_method=request.method)
        return _json_response(body, 404)
    bearer, basic = _auth_header(request)
    try:
        raw, body_format, token_param = await _read_params(request)
    except ApiError as exc:
        state.record_call(method, {}, bearer, exc.status, exc.body(), http_method=request.method)
        return _json_response(exc.body(), exc.status)
    token = bearer or token_param
    params = Params(raw, body_format)
    fault = state.take_fault(method)
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if not (fault.status == 200 and fault.body is None):
            response, sent = _fault_response(fault)
            state.record_call(
                method,
                params.recorded(),
                token,
                fault.status,
                sent,
                http_method=request.method,
                body_format=body_format,
            )
            return response
    result = state.handle_api(method, params, token=token, basic=basic, http_method=request.method)
    return _json_response(result.body, result.status, result.headers)


async def _response_url_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    name = request.match_info["name"]
    raw = await request.read()
    fault = state.take_fault("response_url")
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if not (fault.status == 200 and fault.body is None):
            response, sent = _fault_response(fault)
            state.record_response_post(name, raw, fault.status, sent)
            return response
    status, text = state.handle_response_post(name, raw, request.content_type)
    # guess: Slack's hooks endpoint answers text/html
    return web.Response(text=text, status=status, content_type="text/html")


async def _authorize_handler(request: web.Request) -> web.StreamResponse:
    """Auto-consent OAuth authorize page (guess: stands in for slack.com/oauth/v2/authorize)."""
    state = request.app[STATE_KEY]
    q = request.query
    if q.get("client_id") != state.client_id:
        return web.Response(text="invalid_client_id", status=400)
    redirect_uri = q.get("redirect_uri") or state.oauth_redirect_uri
    if not redirect_uri:
        return web.Response(text="bad_redirect_uri", status=400)
    code = state.issue_oauth_code(
        team_id=q.get("team") or None,
        user_id=q.get("user_id") or None,  # emulator-only: pick the approving user
        scopes=[s for s in q.get("scope", "").split(",") if s] or None,
        user_scopes=[s for s in q.get("user_scope", "").split(",") if s],
        # oauth.v2.access must repeat redirect_uri only if the authorize request carried one
        redirect_uri=q.get("redirect_uri") or None,
    )
    query = {"code": code}
    if "state" in q:
        query["state"] = q["state"]
    sep = "&" if "?" in redirect_uri else "?"
    raise web.HTTPFound(f"{redirect_uri}{sep}{urlencode(query)}")


# -- control routes ------------------------------------------------------------------------------------------


async def _control_body(request: web.Request) -> JSON:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "invalid_json"}', content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "json_not_object"}', content_type="application/json")
    return body


def _need(body: JSON, key: str) -> Any:
    if key not in body:
        text = json.dumps({"error": f"missing {key}"})
        raise web.HTTPBadRequest(text=text, content_type="application/json")
    return body[key]


_USER_OPTIONS: Final = (
    "email", "is_admin", "tz", "real_name", "is_owner", "is_bot", "deleted", "team_id", "locale"
)
_CHANNEL_OPTIONS: Final = (
    "is_member", "is_private", "is_im", "is_mpim", "is_archived", "user", "members", "topic", "purpose"
)


def _pick(body: JSON, keys: Iterable[str]) -> JSON:
    return {k: body[k] for k in keys if k in body}


async def _ctl_users(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    if request.method == "GET":
        return _json_response({"users": state.users()})
    body = await _control_body(request)
    user = state.add_user(
        str(_need(body, "id")),
        str(_need(body, "name")),
        **_pick(body, _USER_OPTIONS),
    )
    return _json_response({"ok": True, "user": user})


async def _ctl_channels(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    if request.method == "GET":
        return _json_response({"channels": state.channels()})
    body = await _control_body(request)
    channel = state.add_channel(
        str(_need(body, "id")),
        str(_need(body, "name")),
        **_pick(body, _CHANNEL_OPTIONS),
    )
    return _json_response({"ok": True, "channel": channel})


async def _ctl_tokens(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    info = request.app[STATE_KEY].add_token(
        str(_need(body, "token")), **_pick(body, ("kind", "team_id", "user_id", "scopes", "expires_in"))
    )
    return _json_response({"ok": True, "token": info.token, "user_id": info.user_id, "team_id": info.team_id})


async def _ctl_teams(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    request.app[STATE_KEY].add_team(
        str(_need(body, "id")),
        str(_need(body, "name")),
        **_pick(body, ("domain", "bot_user_id", "bot_id", "enterprise_id", "enterprise_name")),
    )
    return _json_response({"ok": True})


async def _ctl_calls(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    method = request.query.get("method")
    return _json_response({"calls": state.calls_to(method) if method else state.calls})


async def _ctl_response_posts(request: web.Request) -> web.StreamResponse:
    return _json_response({"posts": request.app[STATE_KEY].response_posts(request.query.get("name"))})


async def _ctl_response_urls(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    name = str(body.get("name") or f"r{secrets.token_hex(6)}")
    request.app[STATE_KEY].register_response_url(name, **_pick(body, ("channel", "user", "message_ts")))
    url = f"{request.scheme}://{request.host}/commands/{name}"
    return _json_response({"ok": True, "name": name, "url": url})


async def _ctl_faults(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    request.app[STATE_KEY].inject_fault(
        str(_need(body, "method")), **_pick(body, ("status", "retry_after", "count", "body", "delay"))
    )
    return _json_response({"ok": True})


async def _ctl_reset(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    request.app[STATE_KEY].reset(keep_config=bool(body.get("keep_config", False)))
    return _json_response({"ok": True})


async def _ctl_messages(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    if request.method == "GET":
        channel = request.query.get("channel", "")
        return _json_response(
            {"messages": state.messages(channel), "ephemeral": state.ephemeral_messages(channel)}
        )
    body = await _control_body(request)
    ts = state.add_message(
        str(_need(body, "channel")),
        str(_need(body, "text")),
        str(_need(body, "user")),
        **_pick(body, ("ts", "thread_ts", "blocks")),
    )
    return _json_response({"ok": True, "ts": ts})


async def _ctl_links(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    state = request.app[STATE_KEY]
    event = state.share_links(
        [str(u) for u in _need(body, "urls")],
        channel=str(_need(body, "channel")),
        user=str(_need(body, "user")),
        **_pick(body, ("source", "message_ts")),
    )
    return _json_response({"ok": True, "event": event, "envelope": state.event_envelope(event)})


async def _ctl_auth_prompts(request: web.Request) -> web.StreamResponse:
    """GET: who dismissed the unfurl authentication prompt. POST {"user", "dismissed"?}: dismiss (or undo)."""
    state = request.app[STATE_KEY]
    if request.method == "POST":
        body = await _control_body(request)
        state.dismiss_auth_prompt(str(_need(body, "user")), bool(body.get("dismissed", True)))
    return _json_response({"ok": True, "dismissed": sorted(state.dismissed_auth_prompts())})


async def _ctl_triggers(request: web.Request) -> web.StreamResponse:
    return _json_response({"ok": True, "trigger_id": request.app[STATE_KEY].issue_trigger_id()})


async def _ctl_oauth_codes(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    code = request.app[STATE_KEY].issue_oauth_code(
        **_pick(body, ("team_id", "user_id", "scopes", "user_scopes", "redirect_uri"))
    )
    return _json_response({"ok": True, "code": code})


async def _ctl_clock(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    state = request.app[STATE_KEY]
    state.advance_time(float(body.get("advance", 0)))
    return _json_response({"ok": True, "now": state.now()})


async def _ctl_state(request: web.Request) -> web.StreamResponse:
    return _json_response(request.app[STATE_KEY].snapshot())


def build_app(state: SlackState | None = None) -> web.Application:
    app = web.Application()
    app[STATE_KEY] = state if state is not None else SlackState()
    app[STATE_KEY].socket_mode.install(app)
    app.router.add_route("*", "/api/{method}", _api_handler)
    app.router.add_post("/commands/{name}", _response_url_handler)
    app.router.add_get("/oauth/v2/authorize", _authorize_handler)
    app.router.add_route("*", "/_emulator/users", _ctl_users)
    app.router.add_route("*", "/_emulator/channels", _ctl_channels)
    app.router.add_post("/_emulator/tokens", _ctl_tokens)
    app.router.add_post("/_emulator/teams", _ctl_teams)
    app.router.add_get("/_emulator/calls", _ctl_calls)
    app.router.add_get("/_emulator/response_posts", _ctl_response_posts)
    app.router.add_post("/_emulator/response_urls", _ctl_response_urls)
    app.router.add_post("/_emulator/faults", _ctl_faults)
    app.router.add_post("/_emulator/reset", _ctl_reset)
    app.router.add_route("*", "/_emulator/messages", _ctl_messages)
    app.router.add_post("/_emulator/links", _ctl_links)
    app.router.add_post("/_emulator/triggers", _ctl_triggers)
    app.router.add_route("*", "/_emulator/auth_prompts", _ctl_auth_prompts)
    app.router.add_post("/_emulator/oauth_codes", _ctl_oauth_codes)
    app.router.add_post("/_emulator/clock", _ctl_clock)
    app.router.add_get("/_emulator/state", _ctl_state)
    return app


class SlackEmulator:
    """The Slack emulator on a background thread: `with SlackEmulator() as emu: ... emu.api_url ...`."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T0001",
        *,
        state: SlackState | None = None,
        **options: Any,
    ) -> None:
        """`options` go to SlackState (team_name, bot_user_id, scopes, client_id, token_rotation, ...)."""
        if state is None:
            state = SlackState(bot_token=bot_token, team_id=team_id, **options)
        self.state = state
        self.app = build_app(self.state)
        self._server: BackgroundServer | None = None

    @property
    def bot_token(self) -> str:
        return self.state.bot_token

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackEmulator is not started")
        return self._server.url

    @property
    def api_url(self) -> str:
        """The value for SLACK_API_URL / AsyncWebClient(base_url=...)."""
        return self.url + "/api/"

    @property
    def authorize_url(self) -> str:
        """For AsyncOAuthSettings(authorization_url=...)."""
        return self.url + "/oauth/v2/authorize"

    def response_url(
        self,
        name: str = "r1",
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """Issue a response_url; POSTs to it are recorded under `name` (see state.response_posts)."""
        self.state.register_response_url(name, channel=channel, user=user, message_ts=message_ts)
        return f"{self.url}/commands/{name}"

    def start(self) -> SlackEmulator:
        self._server = BackgroundServer(self.app).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    run_standalone(build_app, "Slack Web API emulator")
