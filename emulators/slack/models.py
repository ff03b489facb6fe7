"""What the Slack emulator's modules share: `JSON`, `ApiError`, the merged `Params` of a call, and its records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

JSON = dict[str, Any]

# Parameters that slack_sdk JSON-encodes into a string when it sends a form body.
JSON_PARAMS: Final[frozenset[str]] = frozenset(
    {"blocks", "attachments", "unfurls", "view", "user_auth_blocks", "metadata", "users"}
)


class ApiError(Exception):
    """A Web API failure: `{"ok": false, "error": ...}` plus optional extra fields."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        messages: list[str] | None = None,
        extra: JSON | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.headers = headers or {}  # e.g. Retry-After on a 429
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
class MethodCall:
    """One Web API call as a method handler sees it."""

    method: str
    params: Params
    token: TokenInfo | None
    basic: tuple[str, str] | None

    @property
    def tok(self) -> TokenInfo:
        if self.token is None:
            raise ApiError("not_authed")
        return self.token
