"""Wire-level building blocks of the Meet emulator: proto3 JSON schema of a Space, enum handling,
updateMask semantics and AIP-160 filters (the error envelope and paging every Google emulator shares are in
google_api.py).

Nothing here holds state; `meet.py` combines these with the emulator's state. Field names are camelCase inside the
emulator; enum values are stored as ints and emitted as names (or ints with `$alt=json;enum-encoding=int`).
See /work/shared/reference/meet-api.md §1-§5.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from emulators.google_api import ApiError, invalid_argument, parse_time, to_camel, to_snake
from emulators.meet_oauth import CREATED, READONLY, SETTINGS

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------------------------
# Schema of the Space resource (§2.1, §2.2)


@dataclass(frozen=True)
class EnumType:
    proto: str
    names: tuple[str, ...]  # index = wire int; index 0 is the UNSPECIFIED value

    def parse(self, value: Any, where: str) -> int:
        if isinstance(value, str) and value in self.names:
            return self.names.index(value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(self.names):
            return value
        shown = json.dumps(value) if isinstance(value, str) else str(value)
        raise invalid_argument(f"Invalid value at '{where}' (type.googleapis.com/{self.proto}), {shown}", where)

    def value(self, name: str) -> int:
        return self.names.index(name)


@dataclass(frozen=True)
class MessageType:
    proto: str
    fields: Mapping[str, FieldType]
    output_only: frozenset[str] = field(default_factory=frozenset)


class _Scalar:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind}>"


STRING = _Scalar("string")
ANY = _Scalar("any")  # output-only data we accept and ignore on input (repeated phoneAccess etc.)
FieldType = EnumType | MessageType | _Scalar

ACCESS_TYPE = EnumType(
    "google.apps.meet.v2.SpaceConfig.AccessType", ("ACCESS_TYPE_UNSPECIFIED", "OPEN", "TRUSTED", "RESTRICTED")
)
ENTRY_POINT_ACCESS = EnumType(
    "google.apps.meet.v2.SpaceConfig.EntryPointAccess",
    ("ENTRY_POINT_ACCESS_UNSPECIFIED", "ALL", "CREATOR_APP_ONLY"),
)
MODERATION = EnumType("google.apps.meet.v2.SpaceConfig.Moderation", ("MODERATION_UNSPECIFIED", "OFF", "ON"))
RESTRICTION = EnumType(
    "google.apps.meet.v2.SpaceConfig.ModerationRestrictions.RestrictionType",
    ("RESTRICTION_TYPE_UNSPECIFIED", "HOSTS_ONLY", "NO_RESTRICTION"),
)
JOIN_AS_VIEWER = EnumType(
    "google.apps.meet.v2.SpaceConfig.ModerationRestrictions.DefaultJoinAsViewerType",
    ("DEFAULT_JOIN_AS_VIEWER_TYPE_UNSPECIFIED", "ON", "OFF"),
)
ATTENDANCE = EnumType(
    "google.apps.meet.v2.SpaceConfig.AttendanceReportGenerationType",
    ("ATTENDANCE_REPORT_GENERATION_TYPE_UNSPECIFIED", "GENERATE_REPORT", "DO_NOT_GENERATE"),
)
AUTO_GENERATION = EnumType(
    "google.apps.meet.v2.SpaceConfig.ArtifactConfig.AutoGenerationType",
    ("AUTO_GENERATION_TYPE_UNSPECIFIED", "ON", "OFF"),
)


def _artifact(kind: str, field_name: str) -> MessageType:
    return MessageType(f"google.apps.meet.v2.SpaceConfig.ArtifactConfig.{kind}", {field_name: AUTO_GENERATION})


MODERATION_RESTRICTIONS = MessageType(
    "google.apps.meet.v2.SpaceConfig.ModerationRestrictions",
    {
        "chatRestriction": RESTRICTION,
        "reactionRestriction": RESTRICTION,
        "presentRestriction": RESTRICTION,
        "defaultJoinAsViewerType": JOIN_AS_VIEWER,
    },
)
SPACE_CONFIG = MessageType(
    "google.apps.meet.v2.SpaceConfig",
    {
        "accessType": ACCESS_TYPE,
        "entryPointAccess": ENTRY_POINT_ACCESS,
        "moderation": MODERATION,
        "moderationRestrictions": MODERATION_RESTRICTIONS,
        "attendanceReportGenerationType": ATTENDANCE,
        "artifactConfig": MessageType(
            "google.apps.meet.v2.SpaceConfig.ArtifactConfig",
            {
                "recordingConfig": _artifact("RecordingConfig", "autoRecordingGeneration"),
                "transcriptionConfig": _artifact("TranscriptionConfig", "autoTranscriptionGeneration"),
                "smartNotesConfig": _artifact("SmartNotesConfig", "autoSmartNotesGeneration"),
            },
        ),
    },
)
SPACE = MessageType(
    "google.apps.meet.v2.Space",
    {
        "name": STRING,
        "meetingUri": STRING,
        "meetingCode": STRING,
        "config": SPACE_CONFIG,
        "activeConference": MessageType("google.apps.meet.v2.ActiveConference", {"conferenceRecord": STRING}),
        "phoneAccess": ANY,
        "gatewaySipAccess": ANY,
    },
    output_only=frozenset({"name", "meetingUri", "meetingCode", "activeConference", "phoneAccess", "gatewaySipAccess"}),
)

# Effective defaults: what a space shows when nobody chose a value. UNSPECIFIED is never returned (§2.2).
BUILTIN_DEFAULTS: dict[str, Any] = {
    "accessType": "TRUSTED",
    "entryPointAccess": "ALL",
    "moderation": "OFF",
    "moderationRestrictions": {
        "chatRestriction": "NO_RESTRICTION",
        "reactionRestriction": "NO_RESTRICTION",
        "presentRestriction": "NO_RESTRICTION",
        "defaultJoinAsViewerType": "OFF",
    },
    "attendanceReportGenerationType": "DO_NOT_GENERATE",
    "artifactConfig": {
        "recordingConfig": {"autoRecordingGeneration": "OFF"},
        "transcriptionConfig": {"autoTranscriptionGeneration": "OFF"},
        "smartNotesConfig": {"autoSmartNotesGeneration": "OFF"},
    },
}


def parse_message(schema: MessageType, value: Any, where: str) -> dict[str, Any]:
    """proto3 JSON → dict of the fields present (camelCase keys, int enums). Accepts camelCase and snake_case keys,
    string or int enums; `null` means absent. Unknown keys and bad values raise 400 like Google's JSON parser.
    Out-of-range enum ints are refused too (proto3 would keep them as unknown values)."""
    # unverified (inferred, standard ESF): the 400 messages and BadRequest fieldViolations of the JSON parser.
    if not isinstance(value, dict):
        shown = json.dumps(value)
        raise invalid_argument(f"Invalid value at '{where}' (type.googleapis.com/{schema.proto}), {shown}", where)
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = to_camel(key)
        if name not in schema.fields:
            message = f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
            raise invalid_argument(message, where)
        if item is None:
            continue
        ftype = schema.fields[name]
        sub = f"{where}.{to_snake(name)}"
        if isinstance(ftype, MessageType):
            out[name] = parse_message(ftype, item, sub)
        elif isinstance(ftype, EnumType):
            out[name] = ftype.parse(item, sub)
        elif ftype is STRING:
            if not isinstance(item, str):
                raise invalid_argument(f"Invalid value at '{sub}' (TYPE_STRING), {json.dumps(item)}", sub)
            out[name] = item
        else:
            out[name] = item
    return out


def emit_message(schema: MessageType, data: Mapping[str, Any], enum_ints: bool) -> dict[str, Any]:
    """Stored dict → proto3 JSON: omits UNSPECIFIED/empty values, enums as names or ints."""
    out: dict[str, Any] = {}
    for name, ftype in schema.fields.items():
        if name not in data:
            continue
        item = data[name]
        if isinstance(ftype, MessageType):
            sub = emit_message(ftype, item, enum_ints)
            if sub:
                out[name] = sub
        elif isinstance(ftype, EnumType):
            if item:
                out[name] = item if enum_ints else ftype.names[item]
        elif item not in ("", None, [], {}):
            out[name] = item
    return out


def build_defaults(access_type: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full effective SpaceConfig (int enums) new spaces get."""
    data = copy.deepcopy(BUILTIN_DEFAULTS)
    data["accessType"] = access_type
    if overrides:
        _deep_update(data, dict(overrides))
    parsed = parse_message(SPACE_CONFIG, data, "config")
    if _contains_zero(parsed):
        raise ValueError("effective defaults may not contain UNSPECIFIED values")
    return parsed


def _deep_update(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def _contains_zero(data: Mapping[str, Any]) -> bool:
    return any(_contains_zero(v) if isinstance(v, Mapping) else v == 0 for v in data.values())


def _merge_set_values(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    """Copy every non-default leaf of `source` into `target` (proto3: an UNSPECIFIED enum is 'not set')."""
    for key, value in source.items():
        if isinstance(value, Mapping):
            _merge_set_values(target.setdefault(key, {}), value)
        elif value:
            target[key] = value


def config_from_input(defaults: Mapping[str, Any], body_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Config of a new space: effective defaults overlaid with what the request set."""
    config = copy.deepcopy(dict(defaults))
    if body_config:
        _check_moderation(body_config)
        _merge_set_values(config, body_config)
    return normalize_config(config, defaults)


def normalize_config(config: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """moderation OFF resets moderationRestrictions to their defaults (§2.2)."""
    if config.get("moderation") == MODERATION.value("OFF"):
        config["moderationRestrictions"] = copy.deepcopy(defaults["moderationRestrictions"])
    return config


def _check_moderation(body_config: Mapping[str, Any]) -> None:
    if body_config.get("moderation") == 0:
        raise invalid_argument(
            "MODERATION_UNSPECIFIED is not allowed: users may not set moderation to unspecified.",
            "space.config.moderation",
        )


# ---------------------------------------------------------------------------------------------------------------
# updateMask (§4.3)


def parse_update_mask(raw: str | None) -> list[tuple[str, ...]] | None:
    """None = merge every field present in the body; [("*",)] = full replace; else camelCase path tuples.
    Unknown paths raise 400. Output-only paths are returned as-is (the caller decides)."""
    if raw is None:
        return None
    paths = [p.strip() for p in raw.split(",") if p.strip()]
    if not paths:
        return None
    if "*" in paths:
        if len(paths) > 1:
            raise invalid_argument("The wildcard '*' must be the only path in update_mask.", "update_mask")
        return [("*",)]
    out = []
    for path in paths:
        # unverified (inferred, §1/§4.3): snake_case paths are accepted like camelCase; unknown paths are a 400.
        segments = tuple(to_camel(s) for s in path.split("."))
        node: FieldType = SPACE
        for seg in segments:
            if not isinstance(node, MessageType) or seg not in node.fields:
                raise invalid_argument(
                    f'Invalid update_mask provided: "{path}" is not a field of google.apps.meet.v2.Space.',
                    "update_mask",
                )
            node = node.fields[seg]
        out.append(segments)
    return out


def apply_update(
    current: Mapping[str, Any],
    body: Mapping[str, Any],
    mask: list[tuple[str, ...]] | None,
    defaults: Mapping[str, Any],
) -> dict[str, Any]:
    """New config of a space after spaces.patch. `body` is the parsed Space; only `config` is writable."""
    body_config: Mapping[str, Any] = body.get("config", {})
    _check_moderation(body_config)
    if mask is None:  # merge
        config = copy.deepcopy(dict(current))
        _merge_set_values(config, body_config)
        return normalize_config(config, defaults)
    if mask == [("*",)]:  # replace: fields absent from the body go back to their defaults
        return config_from_input(defaults, body_config)
    config = copy.deepcopy(dict(current))
    for path in mask:
        if path[0] != "config":
            continue  # output-only path; the caller filtered or accepted it
        sub_path = path[1:]
        if not sub_path:
            config = copy.deepcopy(dict(defaults))
            _merge_set_values(config, body_config)
            continue
        if sub_path == ("moderation",) and not body_config.get("moderation"):
            raise invalid_argument(
                "config.moderation is in update_mask but has no value; MODERATION_UNSPECIFIED is not allowed.",
                "space.config.moderation",
            )
        target = config
        default_node: Any = defaults
        source: Any = body_config
        for seg in sub_path[:-1]:
            target = target.setdefault(seg, {})
            default_node = default_node[seg]
            source = source.get(seg, {}) if isinstance(source, Mapping) else {}
        leaf = sub_path[-1]
        given = source.get(leaf) if isinstance(source, Mapping) else None
        if isinstance(default_node[leaf], Mapping):
            fresh = copy.deepcopy(dict(default_node[leaf]))
            if isinstance(given, Mapping):
                _merge_set_values(fresh, given)
            target[leaf] = fresh
        else:
            target[leaf] = given or default_node[leaf]
    return normalize_config(config, defaults)


# ---------------------------------------------------------------------------------------------------------------
# Filters (AIP-160 subset, §3)


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS NOT NULL"
    value: str | datetime | None


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|=|<|>)|(?P<word>[A-Za-z_][\w.]*))')


def parse_filter(text: str, fields: Mapping[str, str]) -> list[Condition]:
    """Parse `a = "x" AND b >= "2024-01-01T00:00:00Z" AND c IS NULL` for `fields` ({snake name: "string"|"time"}).
    Anything else raises 400 INVALID_ARGUMENT."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _bad_filter(text)
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    if not tokens:
        return []
    conditions: list[Condition] = []
    i = 0
    while True:
        if i >= len(tokens) or tokens[i][0] != "word" or tokens[i][1] not in fields:
            raise _bad_filter(text)
        name, kind = tokens[i][1], fields[tokens[i][1]]
        i += 1
        if i < len(tokens) and tokens[i] == ("word", "IS"):
            negate = i + 1 < len(tokens) and tokens[i + 1] == ("word", "NOT")
            j = i + (2 if negate else 1)
            if kind != "time" or j >= len(tokens) or tokens[j] != ("word", "NULL"):
                raise _bad_filter(text)
            conditions.append(Condition(name, "IS NOT NULL" if negate else "IS NULL", None))
            i = j + 1
        else:
            if i + 1 >= len(tokens) or tokens[i][0] != "op" or tokens[i + 1][0] != "str":
                raise _bad_filter(text)
            op, raw = tokens[i][1], json.loads(tokens[i + 1][1])
            if kind == "string" and op not in ("=", "!="):
                raise _bad_filter(text)
            value: str | datetime = raw
            if kind == "time":
                try:
                    value = parse_time(raw)
                except ValueError:
                    raise _bad_filter(text) from None
            conditions.append(Condition(name, op, value))
            i += 2
        if i == len(tokens):
            return conditions
        if tokens[i] != ("word", "AND"):
            raise _bad_filter(text)
        i += 1


def _bad_filter(text: str) -> ApiError:
    return invalid_argument(f"Invalid filter: {text!r}", "filter")


def matches(conditions: Iterable[Condition], get: Callable[[str], Any]) -> bool:
    for cond in conditions:
        actual = get(cond.field)
        if cond.op == "IS NULL":
            ok = actual is None
        elif cond.op == "IS NOT NULL":
            ok = actual is not None
        elif actual is None:
            ok = False
        elif isinstance(actual, str) and isinstance(cond.value, str):
            ok = (actual.lower() == cond.value.lower()) == (cond.op == "=")
        else:
            ok = {
                "=": actual == cond.value,
                "!=": actual != cond.value,
                "<": actual < cond.value,
                "<=": actual <= cond.value,
                ">": actual > cond.value,
                ">=": actual >= cond.value,
            }[cond.op]
        if not ok:
            return False
    return True


# ---------------------------------------------------------------------------------------------------------------
# Methods, routes and stored resources

# method → (scopes that allow it, full RPC name for ErrorInfo metadata)  (§6.1)
METHODS: dict[str, tuple[frozenset[str], str]] = {
    "spaces.create": (frozenset({CREATED}), "google.apps.meet.v2.SpacesService.CreateSpace"),
    "spaces.get": (frozenset({CREATED, READONLY, SETTINGS}), "google.apps.meet.v2.SpacesService.GetSpace"),
    "spaces.patch": (frozenset({CREATED, SETTINGS}), "google.apps.meet.v2.SpacesService.UpdateSpace"),
    "spaces.endActiveConference": (frozenset({CREATED}), "google.apps.meet.v2.SpacesService.EndActiveConference"),
    "conferenceRecords.list": (
        frozenset({CREATED, READONLY}),
        "google.apps.meet.v2.ConferenceRecordsService.ListConferenceRecords",
    ),
    "conferenceRecords.get": (
        frozenset({CREATED, READONLY}),
        "google.apps.meet.v2.ConferenceRecordsService.GetConferenceRecord",
    ),
    "participants.list": (
        frozenset({CREATED, READONLY}),
        "google.apps.meet.v2.ConferenceRecordsService.ListParticipants",
    ),
    # spaces.members (§3, §13): writes need the created scope; reads accept created or readonly.
    "spaces.members.create": (frozenset({CREATED}), "google.apps.meet.v2.SpacesService.CreateMember"),
    "spaces.members.get": (frozenset({CREATED, READONLY}), "google.apps.meet.v2.SpacesService.GetMember"),
    "spaces.members.list": (frozenset({CREATED, READONLY}), "google.apps.meet.v2.SpacesService.ListMembers"),
    "spaces.members.patch": (frozenset({CREATED}), "google.apps.meet.v2.SpacesService.UpdateMember"),
    "spaces.members.delete": (frozenset({CREATED}), "google.apps.meet.v2.SpacesService.DeleteMember"),
}
# query parameters each method binds (camelCase; snake_case accepted too), besides the system parameters
METHOD_PARAMS: dict[str, frozenset[str]] = {
    "spaces.patch": frozenset({"updateMask"}),
    "conferenceRecords.list": frozenset({"pageSize", "pageToken", "filter"}),
    "participants.list": frozenset({"pageSize", "pageToken", "filter"}),
    "spaces.members.list": frozenset({"pageSize", "pageToken"}),
    "spaces.members.patch": frozenset({"updateMask"}),
}
SYSTEM_PARAMS = frozenset(  # accepted by every Google API (§1); `$`-prefixed spellings arrive without the `$`
    {"alt", "fields", "prettyPrint", "key", "quotaUser", ".xgafv", "access_token", "oauth_token", "callback"}
    | {"uploadType", "upload_protocol", "userIp"}
)
RECORD_FILTER_FIELDS = {
    "space.name": "string",
    "space.meeting_code": "string",
    "start_time": "time",
    "end_time": "time",
}
PARTICIPANT_FILTER_FIELDS = {"earliest_start_time": "time", "latest_end_time": "time"}


def meet_route(method: str, raw_path: str) -> tuple[str, str] | None:
    """(route, resource id) for a /v2 path with percent-decoded segments, or None when nothing matches."""
    if not raw_path.startswith("/v2/"):
        return None
    segments = [urllib.parse.unquote(s) for s in raw_path[len("/v2/") :].split("/")]
    if any(not s for s in segments):
        return None
    match segments:
        case ["spaces"] if method == "POST":
            return "spaces.create", ""
        case ["spaces", ident] if ":" in ident:
            ident, _, verb = ident.partition(":")
            if verb == "endActiveConference" and method == "POST" and ident:
                return "spaces.endActiveConference", ident
        case ["spaces", ident] if method == "GET":
            return "spaces.get", ident
        case ["spaces", ident] if method == "PATCH":
            return "spaces.patch", ident
        case ["spaces", ident, "members"] if method in ("POST", "GET"):
            return ("spaces.members.create" if method == "POST" else "spaces.members.list"), ident
        case ["spaces", ident, "members", member] if method in MEMBER_VERBS:
            return MEMBER_VERBS[method], f"{ident}/{member}"
        case ["conferenceRecords"] if method == "GET":
            return "conferenceRecords.list", ""
        case ["conferenceRecords", ident] if method == "GET":
            return "conferenceRecords.get", ident
        case ["conferenceRecords", ident, "participants"] if method == "GET":
            return "participants.list", ident
    return None


@dataclass
class Space:
    id: str
    code: str | None
    owner: str
    client_id: str
    config: dict[str, Any]  # the full effective SpaceConfig, int enums
    active: str | None = None  # id of the live conference record
    records: list[str] = field(default_factory=list)
    organiser: str | None = None  # made by Google Calendar for an event: the event's organiser


@dataclass
class Participant:
    id: str
    kind: str  # "signedin" | "anonymous" | "phone"
    key: str  # email, anonymous display name or phone number
    display_name: str
    user_id: str | None
    earliest_start: datetime
    latest_end: datetime | None = None  # None while present


@dataclass
class Record:
    id: str
    space_id: str
    start: datetime
    end: datetime | None = None
    expire: datetime | None = None
    participants: dict[tuple[str, str], Participant] = field(default_factory=dict)


@dataclass
class Fault:
    route: str
    status: int
    retry_after: float | None = None
    delay: float = 0.0
    count: int = 1
    body: str | None = None


@dataclass(frozen=True)
class Caller:
    user: str
    scopes: frozenset[str]
    client_id: str
    enum_ints: bool
    created_only: bool  # `meetings.space.created` is the only scope that grants this method


# ---------------------------------------------------------------------------------------------------------------
# Members (spaces.members, §2.3, §13)

MEMBER_VERBS = {"GET": "spaces.members.get", "PATCH": "spaces.members.patch", "DELETE": "spaces.members.delete"}
ROLE = EnumType("google.apps.meet.v2.Member.Role", ("ROLE_UNSPECIFIED", "COHOST"))
MEMBER = MessageType(
    "google.apps.meet.v2.Member",
    {"name": STRING, "email": STRING, "role": ROLE, "user": STRING},
    output_only=frozenset({"name"}),
)


@dataclass
class Member:
    id: str
    email: str  # as given on create; compared case-insensitively
    role: int  # ROLE value
    user_id: str | None  # `users/{id}` when the email is a Google account the emulator knows
    seq: int = 0  # creation order: lists answer oldest first


class MeetStateParts:
    """What the resource mixins of MeetState (meet_spaces.py, meet_members.py, meet_records.py) use of the state
    it holds, declared once: the stored resources, the lock that guards them, and the id and clock helpers."""

    _lock: Any
    _spaces: dict[str, Space]
    _records: dict[str, Record]
    _code_index: dict[str, str]
    _now: Callable[[], datetime]
    _new_id: Callable[..., str]
    _new_code: Callable[[], str]
    _resolve: Callable[[str], Space | None]
    _space_or_raise: Callable[[str], Space]
