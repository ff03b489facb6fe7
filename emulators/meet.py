"""A faithful local stand-in for the Google Meet REST API v2 and Google OAuth 2.0, served on 127.0.0.1.

    with MeetEmulator() as emu:                 # emu.url = http://127.0.0.1:PORT (MEET_API_URL)
        token = emu.state.mint_token("alice@example.com", ["meetings.space.created"])
        ...                                      # GET/POST emu.url + "/v2/spaces"..., OAuth at emu.auth_url etc.
        emu.state.join("spaces/abc", user="bob@example.com")

Meet routes (Google's paths): POST /v2/spaces, GET|PATCH /v2/spaces/{id|code}, POST /v2/spaces/{id}:endActiveConference,
GET /v2/conferenceRecords[/{id}[/participants]]. OAuth: GET /o/oauth2/v2/auth, POST /token, POST /revoke,
GET /v1/userinfo, GET /oauth2/v3/certs. Test controls under /_emulator/ mirror the `MeetState` methods.
Standalone: `python -m emulators.meet --port N`.

By resource: spaces (meet_spaces.py), space members (meet_members.py), conference records and participants
(meet_records.py), participant sessions and artifacts (meet_live.py), OAuth (meet_oauth.py); each a mixin of
`MeetState`, which holds the state, the options and the lock. What every Google emulator shares (the error envelope,
paging, the call log, the control routes) is in google_api.py.

Behaviour follows /work/shared/reference/meet-api.md. Where the reference marks a behaviour unverified or inferred,
the code says `# unverified:` and the behaviour is a constructor option of `MeetState` / `MeetEmulator`. The
`# unverified:` options (`RUNTIME_OPTIONS`) can also be changed on a running emulator, for tests that drive it from
another process: `state.configure(non_owner_config="partial")`, or `POST /_emulator/options` with the JSON body
`{"non_owner_config": "partial"}` (answers the effective options; `GET /_emulator/options` reads them). `reset()`
restores the options the emulator was constructed with.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import fnmatch
import json
import secrets
import string
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from emulators._server import BackgroundServer, run_standalone
from emulators.google_api import (
    CANONICAL,
    ApiError,
    CallLog,
    add_controls,
    bearer_of,
    call_entry,
    error_info,
    error_response,
    invalid_argument,
    json_response,
    query_of,
    retry_info,
    to_camel,
)
from emulators.meet_live import LIVE_METHODS, LIVE_PARAMS, LiveMeet
from emulators.meet_live import route as any_route
from emulators.meet_members import MEMBER_LIMIT_ERRORS, REFUSED_EMAIL_ERRORS, MembersApi
from emulators.meet_models import (
    ACCESS_TYPE,
    METHOD_PARAMS,
    METHODS,
    SYSTEM_PARAMS,
    Caller,
    Fault,
    Member,
    Record,
    Space,
    build_defaults,
)
from emulators.meet_oauth import CREATED, READONLY, SETTINGS, OAuthReply, OAuthState
from emulators.meet_records import RecordsApi
from emulators.meet_spaces import MEET_URI, SpacesApi

__all__ = ["NON_OWNER_CONFIG_MODES", "RUNTIME_OPTIONS", "MeetEmulator", "MeetState", "build_app"]

METHODS.update(LIVE_METHODS)  # participant sessions and artifacts: emulators/meet_live.py
METHOD_PARAMS.update(LIVE_PARAMS)
_ALNUM = string.ascii_letters + string.digits

OAUTH_ROUTES = {
    "/o/oauth2/v2/auth": ("GET", "oauth.authorize"),
    "/token": ("POST", "oauth.token"),
    "/revoke": ("POST", "oauth.revoke"),
    "/v1/userinfo": ("GET", "oauth.userinfo"),
    "/oauth2/v3/certs": ("GET", "oauth.certs"),
}
AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
REALM = 'Bearer realm="https://accounts.google.com/"'
# unverified (§12): what spaces.get shows of `config` to a caller who is not the space's owner.
NON_OWNER_CONFIG_MODES = ("absent", "empty", "partial", "full")
# Options `configure()` / POST /_emulator/options may change at run time: the `# unverified:` ones.
RUNTIME_OPTIONS = (
    "default_access_type",
    "non_owner_status",
    "alias_write_status",
    "end_without_conference_status",
    "foreign_app_status",
    "unknown_created_only_status",
    "non_owner_config",
    "hidden_record_status",
    "participant_sees_all_space_records",
    "output_only_mask_paths",
    "end_when_empty",
    "reassign_code_on_expiry",
    *("member_limit", "member_reads", "refused_member_emails"),  # spaces.members (MeetState members section)
    *("member_limit_error", "refused_email_error"),  # spaces.members.create: the error shapes Google may use
    *("create_quota_per_project", "create_quota_per_user"),  # spaces.create per minute (reference §8); 0 = off
    "calendar_owner",  # whose a Calendar meeting made by a delegate is (`calendar_meeting`)
    # OAuthState's
    "refresh_token_requires_prompt_consent",
    "revoke_access_token_revokes_refresh",
    "extra_redirect_params",
)
_STATUS_OPTIONS = frozenset({"non_owner_status", "alias_write_status", "foreign_app_status", "hidden_record_status",
                             "unknown_created_only_status"})
_BOOL_OPTIONS = frozenset(
    {
        "participant_sees_all_space_records",
        "end_when_empty",
        "reassign_code_on_expiry",
        "refresh_token_requires_prompt_consent",
        "revoke_access_token_revokes_refresh",
    }
)
# spaces.create quotas per minute (§8: 100 per project, 10 per user; documented, so off unless a test asks): 0 = off.
# unverified: whether a refused create counts against the quota; here only admitted creates count.
_QUOTA_OPTION_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    name: (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0")
    for name in ("create_quota_per_project", "create_quota_per_user")
}
# spaces.members options (all unverified, §13): name → (check, what a valid value is).
_MEMBER_OPTION_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    # the per-space member limit Google doesn't document (the Meet UI allows 25 co-hosts); 0 = no limit
    "member_limit": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0"),
    # who may list/get a space's members: only its owner, or anyone who can reach the space
    "member_reads": (lambda v: v in ("owner", "anyone"), "'owner' or 'anyone'"),
    # fnmatch patterns of emails Google refuses as members (e.g. accounts it can't invite)
    "refused_member_emails": (
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of email patterns"),
}
_MEMBER_OPTION_CHECKS["member_limit_error"] = (lambda v: v in MEMBER_LIMIT_ERRORS,
                                               " or ".join(repr(m) for m in MEMBER_LIMIT_ERRORS))
_MEMBER_OPTION_CHECKS["refused_email_error"] = (lambda v: v in REFUSED_EMAIL_ERRORS,
                                                " or ".join(repr(m) for m in REFUSED_EMAIL_ERRORS))
# unverified (§4.2 infers "owner ≈ creator / organizer"): whose space a Calendar meeting is in the Meet API when a
# delegate made the event on the organiser's calendar: the "organiser"'s (Calendar puts it on their event) or its
# "creator"'s (the account that made it). With no delegate both are the organiser.
CALENDAR_OWNERS = ("organiser", "creator")
_CALENDAR_OPTION_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "calendar_owner": (lambda v: v in CALENDAR_OWNERS, " or ".join(repr(v) for v in CALENDAR_OWNERS)),
}
_COUNTED_OPTION_CHECKS = {**_QUOTA_OPTION_CHECKS, **_MEMBER_OPTION_CHECKS, **_CALENDAR_OPTION_CHECKS}
STATE_KEY: web.AppKey[MeetState] = web.AppKey("meet_state")  # the MeetState behind an app
BODY_KEY: web.RequestKey[Any] = web.RequestKey("body")  # parsed request body (JSON, form dict, raw text or None)
USER_KEY: web.RequestKey[str | None] = web.RequestKey("user")  # email the call acted for, for the call log


# ---------------------------------------------------------------------------------------------------------------
# State


class MeetState(SpacesApi, RecordsApi, MembersApi, LiveMeet, OAuthState, CallLog):
    """Everything the emulator knows; every public method is thread-safe (tests call them from any thread).
    `calls`: every Meet and OAuth call so far (CallLog)."""

    # Run-time options (RUNTIME_OPTIONS; the constructor documents them), set by `_apply_options`.
    default_access_type: str
    non_owner_status: int
    alias_write_status: int
    end_without_conference_status: int
    foreign_app_status: int
    unknown_created_only_status: int
    non_owner_config: str
    hidden_record_status: int
    participant_sees_all_space_records: bool
    output_only_mask_paths: str
    end_when_empty: bool
    reassign_code_on_expiry: bool
    defaults: dict[str, Any]  # the effective SpaceConfig new spaces get (default_access_type + default_config)

    def __init__(
        self,
        *,
        # unverified: a user's/org's default access type (reference §2.2: "user's default / admin-controlled").
        default_access_type: str = "TRUSTED",
        # overrides of the other effective SpaceConfig defaults (camelCase, enum names), e.g. {"moderation": "ON"}
        default_config: Mapping[str, Any] | None = None,
        # unverified: status for non-owner patch/endActiveConference (403 PERMISSION_DENIED, or 404).
        non_owner_status: int = 403,
        # unverified: status for a meeting-code alias on patch/endActiveConference (400 INVALID_ARGUMENT or 404).
        alias_write_status: int = 400,
        # unverified: endActiveConference without a live conference (400 FAILED_PRECONDITION; 200 = silently {}).
        end_without_conference_status: int = 400,
        # unverified: a meetings.space.created-only token on a space another app created (403 "Permission denied on
        # resource MeetingSpace (or it might not exist)", third-party report).
        foreign_app_status: int = 403,
        # unverified: a meetings.space.created-only token asking for a code or id that doesn't exist: 404, or the
        # same 403 as for another app's space ("...or it might not exist" suggests Google may not tell them apart).
        unknown_created_only_status: int = 404,
        # unverified (§12): what non-owners' spaces.get shows of `config`: "absent" (omitted; the default when None),
        # "empty" (`config: {}`), "partial" (only accessType and entryPointAccess) or "full" (the whole config).
        non_owner_config: str | None = None,
        # deprecated spelling of non_owner_config: True = "absent", False = "full".
        hide_config_from_non_owners: bool | None = None,
        # unverified: status for a conference record the caller may not see (403, or 404).
        hidden_record_status: int = 403,
        # unverified: a participant of one conference sees every record of the space (True) or only their own.
        participant_sees_all_space_records: bool = False,
        # unverified: output-only paths (meetingUri, activeConference, ...) in updateMask: "ignore" or "reject" (400).
        output_only_mask_paths: str = "ignore",
        # unverified: end the conference when the last participant leaves (real Meet does, after a while).
        end_when_empty: bool = False,
        # unverified: a space whose code expired gets a fresh code (True) or none (False).
        reassign_code_on_expiry: bool = True,
        # documented: a conference record expires 30 days after the conference ends (then 404).
        record_ttl_seconds: float = 30 * 86400,
        # inferred (§11.17): requests without Authorization act as this user with every Meet scope (None: 401).
        anonymous_user: str | None = None,
        **oauth_options: Any,
    ) -> None:
        member_options = {k: oauth_options.pop(k) for k in _COUNTED_OPTION_CHECKS if k in oauth_options}
        super().__init__(**oauth_options)
        self.member_limit, self.member_reads, self.refused_member_emails = 0, "owner", []
        self.member_limit_error, self.refused_email_error = MEMBER_LIMIT_ERRORS[0], REFUSED_EMAIL_ERRORS[0]
        self.create_quota_per_project = self.create_quota_per_user = 0
        self.calendar_owner = "organiser"
        self._default_config = copy.deepcopy(dict(default_config or {}))
        options = _checked_options(
            {
                **member_options,
                "default_access_type": default_access_type,
                "non_owner_status": non_owner_status,
                "alias_write_status": alias_write_status,
                "end_without_conference_status": end_without_conference_status,
                "foreign_app_status": foreign_app_status,
                "unknown_created_only_status": unknown_created_only_status,
                "non_owner_config": non_owner_config,
                "hide_config_from_non_owners": hide_config_from_non_owners,
                "hidden_record_status": hidden_record_status,
                "participant_sees_all_space_records": participant_sees_all_space_records,
                "output_only_mask_paths": output_only_mask_paths,
                "end_when_empty": end_when_empty,
                "reassign_code_on_expiry": reassign_code_on_expiry,
            },
            defaults={"non_owner_config": "absent"},
        )
        self._apply_options(options)
        self.record_ttl_seconds = record_ttl_seconds
        self.anonymous_user = anonymous_user
        self._constructed_options = self.options()  # what reset() restores
        self._reset_meet()

    # spaces.members run-time options (unverified, §13): see `_MEMBER_OPTION_CHECKS`; set in `_reset_members`.
    member_limit: int
    member_reads: str
    refused_member_emails: list[str]
    member_limit_error: str
    refused_email_error: str
    create_quota_per_project: int
    create_quota_per_user: int
    calendar_owner: str

    # -- run-time options ----------------------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        """The current value of every run-time option (`RUNTIME_OPTIONS`)."""
        with self._lock:
            return {name: copy.deepcopy(getattr(self, name)) for name in RUNTIME_OPTIONS}

    def configure(self, **options: Any) -> dict[str, Any]:
        """Change `# unverified:` options of a running emulator (names in `RUNTIME_OPTIONS`, values as the constructor
        takes them; `hide_config_from_non_owners` is accepted and mapped). All or nothing: an unknown name raises
        TypeError and a bad value ValueError before anything changes. Returns the effective options."""
        checked = _checked_options(options)
        with self._lock:
            self._apply_options(checked)
            return self.options()

    def _apply_options(self, options: Mapping[str, Any]) -> None:
        with self._lock:
            if "default_access_type" in options:
                self.defaults = build_defaults(options["default_access_type"], self._default_config)
            for name, value in options.items():
                setattr(self, name, dict(value) if name == "extra_redirect_params" else value)

    def _reset_meet(self) -> None:
        self._spaces: dict[str, Space] = {}
        self._code_index: dict[str, str] = {}  # meeting code → space id
        self._records: dict[str, Record] = {}
        self._faults: list[Fault] = []
        self._creates: list[tuple[float, str]] = []  # (time, user) of admitted creates in the last minute
        self._calls: list[dict[str, Any]] = []
        self.latency = 0.0
        self._last_time = datetime.fromtimestamp(0, UTC)
        self._members: dict[str, dict[str, Member]] = {}  # space id → member id → member
        self._admissions: dict[str, str] = {}  # participant name → "admitted" | "knocked" (its latest join)
        self._reset_live()

    def reset(self) -> None:
        """Forget everything: spaces, records, users, tokens, clients, faults, calls, latency, clock offset; options
        changed by `configure` return to their constructed values."""
        with self._lock:
            self._reset_oauth()
            self._reset_meet()
            self._time_offset = 0.0
            self._apply_options(self._constructed_options)

    # -- helpers -------------------------------------------------------------------------------------------------
    def _now(self) -> datetime:
        """Strictly increasing timestamps, so every start/join has a distinct, ordered time."""
        now = datetime.fromtimestamp(self.now(), UTC)
        if now <= self._last_time:
            now = self._last_time + timedelta(microseconds=1)
        self._last_time = now
        return now

    def _new_code(self) -> str:
        while True:
            parts = ("".join(secrets.choice(string.ascii_lowercase) for _ in range(n)) for n in (3, 4, 3))
            code = "-".join(parts)
            if code not in self._code_index:
                return code

    def _new_id(self, taken: Mapping[str, Any], length: int = 12) -> str:
        while True:
            ident = "".join(secrets.choice(_ALNUM) for _ in range(length))
            if ident not in taken:
                return ident

    def _resolve(self, ref: str) -> Space | None:
        """`spaces/{id}`, a bare id (case-sensitive) or a meeting code, with or without `spaces/` (any case)."""
        ref = ref.strip()
        ident = ref.removeprefix("spaces/")
        if ident in self._spaces:
            return self._spaces[ident]
        code = ident.lower().removeprefix(MEET_URI)
        return self._spaces.get(self._code_index.get(code, ""))

    def _space_or_raise(self, ref: str) -> Space:
        found = self._resolve(ref)
        if found is None:
            raise KeyError(f"no space {ref!r}")
        return found

    def _live_records(self) -> list[Record]:
        """Records not yet past their expireTime (expired ones answer 404, §11.14)."""
        now = datetime.fromtimestamp(self.now(), UTC)
        return [r for r in self._records.values() if r.expire is None or r.expire > now]

    # -- test controls: faults and calls -----------------------------------------------------------------------
    def inject_fault(
        self,
        route: str,
        status: int,
        retry_after: float | None = None,
        delay: float = 0.0,
        count: int = 1,
        body: str | None = None,
    ) -> None:
        """The next `count` calls of `route` ("spaces.get", "oauth.token", ...; fnmatch patterns; "*" = every
        Meet route) wait `delay` seconds, then answer `status` (0: answer normally). 429 adds Retry-After and
        RetryInfo when `retry_after` is given; `body` replaces the error body verbatim."""
        with self._lock:
            self._faults.append(Fault(route, status, retry_after, delay, count, body))

    def faults_left(self) -> int:
        """Calls still to be faulted: 0 once every injected fault was taken (its call arrived, delayed or not)."""
        with self._lock:
            return sum(fault.count for fault in self._faults)

    def clear_faults(self) -> None:
        """Every route answers normally again (faults not yet used up are dropped)."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self, route: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                hit = route in METHODS if fault.route == "*" else fnmatch.fnmatchcase(route, fault.route)
                if hit:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def set_latency(self, seconds: float) -> None:
        """Every Meet route answers after this many seconds."""
        with self._lock:
            self.latency = seconds


    # -- Meet API ---------------------------------------------------------------------------------------------
    def authenticate(self, token: str | None, route: str, enum_ints: bool) -> Caller:
        """Bearer token → caller, enforcing the method's scopes (401 / 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT)."""
        allowed, rpc = METHODS[route]
        if not token and self.anonymous_user:
            with self._lock:
                email = self._user(self.anonymous_user).email
            return Caller(email, frozenset({CREATED, READONLY, SETTINGS}), "meetbot", enum_ints, False)
        found, reason = self.lookup_token(token)
        if found is None or reason:
            missing = reason == "CREDENTIALS_MISSING"
            message = (
                "Request is missing required authentication credential. "
                if missing
                else "Request had invalid authentication credentials. "
            ) + AUTH_HELP
            raise ApiError(
                401,
                message,
                details=[error_info(reason, {"service": "meet.googleapis.com", "method": rpc})],
                headers={"WWW-Authenticate": REALM if missing else f'{REALM}, error="invalid_token"'},
            )
        if not allowed & set(found.scopes):
            raise ApiError(
                403,
                "Request had insufficient authentication scopes.",
                details=[
                    error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", {"service": "meet.googleapis.com", "method": rpc})
                ],
                headers={
                    "WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{" ".join(sorted(allowed))}"'
                },
            )
        created_only = allowed & set(found.scopes) == {CREATED}
        return Caller(found.user, frozenset(found.scopes), found.client_id, enum_ints, created_only)


def _checked_options(options: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate run-time option values (TypeError: unknown name; ValueError: bad value) and map the deprecated
    `hide_config_from_non_owners` to `non_owner_config`. `defaults` fill options left None."""
    values = dict(options)
    unknown = sorted(set(values) - set(RUNTIME_OPTIONS) - {"hide_config_from_non_owners"})
    if unknown:
        raise TypeError(f"unknown option {unknown[0]!r}; options settable at run time: {', '.join(RUNTIME_OPTIONS)}")
    if "hide_config_from_non_owners" in values:
        hide = values.pop("hide_config_from_non_owners")
        if hide is not None:
            if not isinstance(hide, bool):
                raise ValueError(f"hide_config_from_non_owners must be true or false (got {hide!r})")
            mapped = "absent" if hide else "full"
            if values.get("non_owner_config") not in (None, mapped):
                raise ValueError(
                    f"hide_config_from_non_owners={hide} means non_owner_config={mapped!r}, "
                    f"which contradicts non_owner_config={values['non_owner_config']!r}; give only non_owner_config"
                )
            values["non_owner_config"] = mapped
    for name, default in (defaults or {}).items():
        if values.get(name) is None:
            values[name] = default
    for name, value in values.items():
        _check_option(name, value)
    return values


def _check_option(name: str, value: Any) -> None:
    def bad(expected: str) -> ValueError:
        return ValueError(f"{name} must be {expected} (got {value!r})")

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    statuses = ", ".join(str(s) for s in sorted(CANONICAL))
    if name == "non_owner_config":
        if value not in NON_OWNER_CONFIG_MODES:
            raise bad("one of " + ", ".join(repr(m) for m in NON_OWNER_CONFIG_MODES))
    elif name == "output_only_mask_paths":
        if value not in ("ignore", "reject"):
            raise bad("'ignore' or 'reject'")
    elif name == "default_access_type":
        if value not in ACCESS_TYPE.names[1:]:
            raise bad("one of " + ", ".join(repr(n) for n in ACCESS_TYPE.names[1:]))
    elif name in _STATUS_OPTIONS:
        if not (is_int(value) and value in CANONICAL):
            raise bad(f"an HTTP error status with a google.rpc code ({statuses})")
    elif name == "end_without_conference_status":
        if not (is_int(value) and (value in (0, 200) or value in CANONICAL)):
            raise bad(f"0 or 200 (answer {{}}) or an HTTP error status ({statuses})")
    elif name in _BOOL_OPTIONS:
        if not isinstance(value, bool):
            raise bad("true or false")
    elif name in _COUNTED_OPTION_CHECKS:
        check, expected = _COUNTED_OPTION_CHECKS[name]
        if not check(value):
            raise bad(expected)
    elif name == "extra_redirect_params":
        if not (
            isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        ):
            raise bad("an object of string values")
    else:  # pragma: no cover - RUNTIME_OPTIONS and the checks above are kept in step
        raise AssertionError(f"no check for option {name!r}")






# ---------------------------------------------------------------------------------------------------------------
# HTTP


def _route_of(request: web.Request) -> str | None:
    """The method name the call log and faults use; None for control routes."""
    path = request.rel_url.raw_path
    if path.startswith("/_emulator/"):
        return None
    if path in OAUTH_ROUTES:
        return OAUTH_ROUTES[path][1]
    found = any_route(request.method, path)
    return found[0] if found else "unknown"










def _fault_response(fault: Fault, route: str) -> web.Response:
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    if fault.body is not None:
        try:
            json.loads(fault.body)
            kind = "application/json"
        except ValueError:
            kind = "text/html"
        return web.Response(status=fault.status, text=fault.body, content_type=kind, charset="UTF-8", headers=headers)
    if route.startswith("oauth."):
        error = "temporarily_unavailable" if fault.status in (429, 503) else "server_error"
        body: dict[str, Any] = {"error": error, "error_description": f"Injected fault {fault.status}."}
        return json_response(fault.status, body, headers)
    details: list[dict[str, Any]] = []
    message = None
    if fault.status == 429:
        message = (
            "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user' "
            "of service 'meet.googleapis.com'."
        )
        details.append(
            error_info(
                "RATE_LIMIT_EXCEEDED", {"service": "meet.googleapis.com", "quota_limit": "RequestsPerMinutePerUser"}
            )
        )
    if fault.retry_after is not None:
        details.append(retry_info(fault.retry_after))
    return error_response(ApiError(fault.status, message, details=details, headers=headers))


async def _parse_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return text


def build_app(state: MeetState | None = None) -> web.Application:
    """The aiohttp application serving `state` (a fresh MeetState when None)."""
    state = state if state is not None else MeetState()

    @web.middleware
    async def instrument(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        route = _route_of(request)
        if route is None:
            return await _plain_errors(request, handler)
        body = await _parse_body(request)
        request[BODY_KEY] = body
        query = query_of(request, strip_dollar=False)
        request[USER_KEY] = state.token_user(bearer_of(request, query))
        if route in METHODS and state.latency:
            await asyncio.sleep(state.latency)
        fault = state._take_fault(route)
        response: web.StreamResponse | None = None
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status:
                response = _fault_response(fault, route)
        if response is None:
            response = await _plain_errors(request, handler)
        state._record_call(call_entry(request, route, query, body, request.get(USER_KEY), response.status))
        return response

    async def meet_api(request: web.Request) -> web.StreamResponse:
        found = any_route(request.method, request.rel_url.raw_path)
        if found is None:
            raise web.HTTPNotFound()
        route, ident = found
        query = query_of(request)
        try:
            caller = state.authenticate(bearer_of(request, query), route, "enum-encoding=int" in query.get("alt", ""))
            allowed = METHOD_PARAMS.get(route, frozenset())
            # unverified (inferred, standard Google front-end): unknown query parameters are a 400. Not an option: it
            # only makes the emulator stricter than Google could be.
            for name in query:
                if name not in SYSTEM_PARAMS and to_camel(name) not in allowed:
                    raise invalid_argument(
                        f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                        f"Field '{name}' could not be found in request message.",
                        name,
                    )
            params = {to_camel(k): v for k, v in query.items()}
            body = request[BODY_KEY]
            if isinstance(body, str):
                raise invalid_argument("Invalid JSON payload received. Unexpected token.")
            if body is None:
                body = {}
            if route == "spaces.create":
                return json_response(200, state.api_create(caller, body))
            if route == "spaces.get":
                return json_response(200, state.api_get(caller, ident))
            if route == "spaces.patch":
                return json_response(200, state.api_patch(caller, ident, body, params.get("updateMask")))
            if route == "spaces.endActiveConference":
                return json_response(200, state.api_end(caller, ident, body))
            if route == "conferenceRecords.list":
                return json_response(200, state.api_list_records(caller, params))
            if route == "conferenceRecords.get":
                return json_response(200, state.api_get_record(caller, ident))
            if route.startswith("spaces.members."):
                return json_response(200, state.api_members(caller, route, ident, body, params))
            if route in LIVE_METHODS:
                return json_response(200, state.api_live(caller, route, ident, params))
            return json_response(200, state.api_list_participants(caller, ident, params))
        except ApiError as exc:
            return error_response(exc)

    def _oauth(reply: OAuthReply, request: web.Request) -> web.Response:
        if reply.user:
            request[USER_KEY] = reply.user
        if reply.location:
            return web.Response(status=reply.status, headers={"Location": reply.location, **reply.headers})
        if reply.html is not None:
            return web.Response(status=reply.status, text=reply.html, content_type="text/html")
        headers = {"Cache-Control": "no-store", **reply.headers}
        return json_response(reply.status, reply.body, headers)

    async def authorize(request: web.Request) -> web.Response:
        return _oauth(state.authorize(dict(request.query)), request)

    async def token(request: web.Request) -> web.Response:
        form = request[BODY_KEY] if isinstance(request[BODY_KEY], dict) else {}
        basic = None
        auth = request.headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                basic = (urllib.parse.unquote(client_id), urllib.parse.unquote(secret))
            except ValueError:
                basic = ("", "")
        token_urls = [f"{request.scheme}://{request.host}/token"]
        return _oauth(state.token({k: str(v) for k, v in form.items()}, basic, token_urls), request)

    async def revoke(request: web.Request) -> web.Response:
        form = request[BODY_KEY] if isinstance(request[BODY_KEY], dict) else {}
        value = str(form.get("token") or request.query.get("token", ""))
        return _oauth(state.revoke(value), request)

    async def userinfo(request: web.Request) -> web.Response:
        return _oauth(state.userinfo(bearer_of(request, query_of(request))), request)

    async def certs(request: web.Request) -> web.Response:
        return json_response(200, state.jwks())

    app = web.Application(middlewares=[instrument])
    app[STATE_KEY] = state
    app.router.add_route("*", "/v2/{tail:.*}", meet_api)
    app.router.add_get("/o/oauth2/v2/auth", authorize)
    app.router.add_post("/token", token)
    app.router.add_post("/revoke", revoke)
    app.router.add_get("/v1/userinfo", userinfo)
    app.router.add_post("/v1/userinfo", userinfo)
    app.router.add_get("/oauth2/v3/certs", certs)
    _add_controls(app, state)
    return app


async def _plain_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unmatched routes and methods → 404 google.rpc.Status envelope (Google's routing answers 404)."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return error_response(ApiError(404, f"The requested URL {request.path} was not found on this server."))


# ---------------------------------------------------------------------------------------------------------------
# Control API: /_emulator/*


def _joined(state: MeetState, participant: str) -> dict[str, Any]:
    return {"participant": participant, "admission": state.admission(participant)}


def _iter_scopes(scopes: Iterable[str] | str) -> list[str]:
    return scopes.split() if isinstance(scopes, str) else list(scopes)


def _add_controls(app: web.Application, state: MeetState) -> None:
    def ref(data: Mapping[str, Any]) -> str:
        return str(data.get("space") or data["name"])

    def who(data: Mapping[str, Any]) -> dict[str, Any]:
        return {k: data.get(k) for k in ("user", "anonymous", "phone")}

    routes: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
        (
            "POST",
            "tokens",
            lambda d: {
                "access_token": state.mint_token(
                    d["user"], _iter_scopes(d.get("scopes", [])), d.get("client_id", "meetbot"), d.get("expires_in")
                )
            },
        ),
        ("POST", "expire", lambda d: state.expire_token(d["token"])),
        ("POST", "join", lambda d: _joined(state, state.join(ref(d), **who(d)))),
        ("GET", "members", lambda d: {"members": state.members(ref(d))}),
        ("POST", "leave", lambda d: state.leave(ref(d), **who(d))),
        ("POST", "end", lambda d: {"conferenceRecord": state.end_conference(ref(d))}),
        (
            "POST",
            "faults",
            lambda d: state.inject_fault(
                d["route"],
                int(d["status"]),
                d.get("retry_after"),
                float(d.get("delay", 0.0)),
                int(d.get("count", 1)),
                d.get("body"),
            ),
        ),
        ("POST", "latency", lambda d: state.set_latency(float(d["seconds"]))),
        ("GET", "calls", lambda d: {"calls": state.calls_to(d["route"]) if d.get("route") else state.calls}),
        ("POST", "reset", lambda d: state.reset()),
        ("POST", "spaces", lambda d: state.create_space(d["owner"], d.get("client_id", "meetbot"), d.get("config"))),
        (  # {"organiser", "created_by"?, "config"?}: a meeting Google Calendar made for an event
            "POST",
            "calendar",
            lambda d: state.calendar_meeting(d["organiser"], d.get("created_by"), d.get("config")),
        ),
        ("GET", "space", lambda d: state.space(ref(d))),
        ("POST", "expire_code", lambda d: {"meetingCode": state.expire_code(ref(d))}),
        ("POST", "consent", lambda d: state.set_consent(d["user"], d.get("granted_scopes"), bool(d.get("deny")))),
        (
            "POST",
            "clients",
            lambda d: state.register_client(d["client_id"], d["client_secret"], d.get("redirect_uris")),
        ),
        (
            "POST",
            "service_accounts",
            lambda d: state.register_service_account(
                d["client_email"], d["public_key_pem"], d.get("domain", "example.com"), d.get("client_id")
            ),
        ),
        ("GET", "oauth", lambda d: state.oauth_status()),
        ("POST", "time", lambda d: state.advance_time(float(d["advance"]))),
        ("GET", "user", lambda d: state.user(d["email"])),
        ("GET", "options", lambda d: state.options()),
        ("POST", "options", lambda d: state.configure(**d)),
        (  # {"space" | "record", "kind": "recording" | "transcript" | "smartNote", "state"?: "STARTED" | ...}
            "POST",
            "artifact",
            lambda d: state.produce_artifact(
                d["kind"], d.get("space"), d.get("record"), d.get("state", "FILE_GENERATED")
            ),
        ),
        ("POST", "artifact/finish", lambda d: state.finish_artifact(d["name"], d.get("state", "FILE_GENERATED"))),
    ]
    add_controls(app, routes)


# ---------------------------------------------------------------------------------------------------------------
# Running it


class MeetEmulator:
    """The emulator on a background thread: `MeetEmulator(**options).start()` or a `with` block.

    Options are `MeetState`'s keyword arguments (including OAuthState's). Unknown attributes are looked up on
    `.state`, so `emu.join(...)` is `emu.state.join(...)`."""

    def __init__(self, state: MeetState | None = None, **options: Any) -> None:
        self.state = state if state is not None else MeetState(**options)
        self._server = BackgroundServer(build_app(self.state))

    def start(self) -> MeetEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> MeetEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "state":
            raise AttributeError(name)
        return getattr(self.state, name)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def auth_url(self) -> str:
        return self.url + "/o/oauth2/v2/auth"

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    @property
    def revoke_url(self) -> str:
        return self.url + "/revoke"

    @property
    def userinfo_url(self) -> str:
        return self.url + "/v1/userinfo"


if __name__ == "__main__":
    run_standalone(build_app, "Google Meet REST v2 + Google OAuth emulator")
