"""bot.meet.models / masks / errors: parsing tolerance, serialisation, mask paths, the error builder."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.googleapi import errors as E
from bot.meet import errors as M
from bot.meet.masks import CONFIG_FIELD_PATHS, field_path, iter_set_paths, mask_path, update_mask
from bot.meet.models import (
    AccessType,
    ArtifactConfig,
    AttendanceReportGenerationType,
    AutoGenerationType,
    ConferenceRecord,
    DefaultJoinAsViewerType,
    EntryPointAccess,
    Moderation,
    ModerationRestrictions,
    Participant,
    ParticipantKind,
    RecordingConfig,
    RestrictionType,
    SmartNotesConfig,
    Space,
    SpaceConfig,
    TranscriptionConfig,
    parse_timestamp,
)

FULL_CONFIG_JSON = {
    "accessType": "TRUSTED",
    "entryPointAccess": "ALL",
    "moderation": "ON",
    "moderationRestrictions": {
        "chatRestriction": "HOSTS_ONLY",
        "reactionRestriction": "NO_RESTRICTION",
        "presentRestriction": "HOSTS_ONLY",
        "defaultJoinAsViewerType": "OFF",
    },
    "attendanceReportGenerationType": "GENERATE_REPORT",
    "artifactConfig": {
        "recordingConfig": {"autoRecordingGeneration": "ON"},
        "transcriptionConfig": {"autoTranscriptionGeneration": "OFF"},
        "smartNotesConfig": {"autoSmartNotesGeneration": "ON"},
    },
}
FULL_CONFIG = SpaceConfig(
    access_type=AccessType.TRUSTED,
    entry_point_access=EntryPointAccess.ALL,
    moderation=Moderation.ON,
    moderation_restrictions=ModerationRestrictions(
        chat_restriction=RestrictionType.HOSTS_ONLY,
        reaction_restriction=RestrictionType.NO_RESTRICTION,
        present_restriction=RestrictionType.HOSTS_ONLY,
        default_join_as_viewer_type=DefaultJoinAsViewerType.OFF,
    ),
    attendance_report_generation_type=AttendanceReportGenerationType.GENERATE_REPORT,
    artifact_config=ArtifactConfig(
        recording_config=RecordingConfig(AutoGenerationType.ON),
        transcription_config=TranscriptionConfig(AutoGenerationType.OFF),
        smart_notes_config=SmartNotesConfig(AutoGenerationType.ON),
    ),
)


def _ints(value: Any) -> Any:
    """The same JSON with enums as integers (what `$alt=json;enum-encoding=int` returns)."""
    names = {m.name: m.value for cls in (AccessType, EntryPointAccess, RestrictionType) for m in cls}
    names.update({"ON": 2, "OFF": 1, "GENERATE_REPORT": 1})
    if isinstance(value, dict):
        out = {k: _ints(v) for k, v in value.items()}
        # ON/OFF differ between enums: fix the ones whose numbering is ON=1/OFF=2
        for key in ("defaultJoinAsViewerType", "autoRecordingGeneration", "autoTranscriptionGeneration"):
            if key in value:
                out[key] = {"ON": 1, "OFF": 2}[value[key]]
        if "autoSmartNotesGeneration" in value:
            out["autoSmartNotesGeneration"] = {"ON": 1, "OFF": 2}[value["autoSmartNotesGeneration"]]
        return out
    return names.get(value, value)


# --- enums ---------------------------------------------------------------------------------------------------


def test_enum_values_are_the_proto_ints() -> None:
    assert [m.value for m in AccessType] == [0, 1, 2, 3]
    assert AccessType.RESTRICTED.value == 3
    assert EntryPointAccess.CREATOR_APP_ONLY.value == 2
    assert (Moderation.OFF.value, Moderation.ON.value) == (1, 2)
    assert (DefaultJoinAsViewerType.ON.value, DefaultJoinAsViewerType.OFF.value) == (1, 2)
    assert (AutoGenerationType.ON.value, AutoGenerationType.OFF.value) == (1, 2)
    assert AttendanceReportGenerationType.DO_NOT_GENERATE.value == 2
    assert RestrictionType.NO_RESTRICTION.value == 2


def test_space_config_parses_names_and_ints_alike() -> None:
    assert SpaceConfig.from_json(FULL_CONFIG_JSON) == FULL_CONFIG
    assert SpaceConfig.from_json(_ints(FULL_CONFIG_JSON)) == FULL_CONFIG


@pytest.mark.parametrize("raw", ["SUPER_OPEN", 99, -1, "", "7", 2.5, True, None, [], {}])
def test_unknown_enum_falls_back_to_unspecified(raw: object) -> None:
    config = SpaceConfig.from_json({"accessType": raw})
    if raw is None:
        assert config.access_type is None
    else:
        assert config.access_type is AccessType.ACCESS_TYPE_UNSPECIFIED


def test_numeric_string_enum() -> None:
    assert SpaceConfig.from_json({"accessType": "2"}).access_type is AccessType.TRUSTED


# --- SpaceConfig.to_json ---------------------------------------------------------------------------------------


def test_to_json_round_trips_everything() -> None:
    assert FULL_CONFIG.to_json() == FULL_CONFIG_JSON
    assert SpaceConfig.from_json(FULL_CONFIG.to_json()) == FULL_CONFIG


def test_to_json_sends_only_what_is_set() -> None:
    assert SpaceConfig().to_json() == {}
    assert SpaceConfig(access_type=AccessType.OPEN).to_json() == {"accessType": "OPEN"}
    partial = SpaceConfig(
        moderation_restrictions=ModerationRestrictions(chat_restriction=RestrictionType.HOSTS_ONLY),
        artifact_config=ArtifactConfig(recording_config=RecordingConfig(None)),
    )
    assert partial.to_json() == {"moderationRestrictions": {"chatRestriction": "HOSTS_ONLY"}}


def test_to_json_never_sends_unspecified() -> None:
    # MODERATION_UNSPECIFIED is an error if sent; the other UNSPECIFIEDs mean "no change"
    config = SpaceConfig(access_type=AccessType.ACCESS_TYPE_UNSPECIFIED, moderation=Moderation.MODERATION_UNSPECIFIED)
    assert config.to_json() == {}


def test_space_output_only_fields_never_serialised() -> None:
    space = Space.from_json(
        {"name": "spaces/x", "meetingUri": "https://meet.google.com/a-b-c", "config": {"accessType": "OPEN"}}
    )
    assert space.config is not None
    assert space.config.to_json() == {"accessType": "OPEN"}
    assert not hasattr(Space, "to_json")


# --- Space, ConferenceRecord, Participant --------------------------------------------------------------------


def test_space_owner_view() -> None:
    data = {
        "name": "spaces/jQCFfuBOdN5z",
        "meetingUri": "https://meet.google.com/abc-mnop-xyz",
        "meetingCode": "abc-mnop-xyz",
        "config": FULL_CONFIG_JSON,
        "activeConference": {"conferenceRecord": "conferenceRecords/cr1", "mediaApiConsenterPresent": False},
        "phoneAccess": [{"phoneNumber": "+1 555", "pin": "123", "regionCode": "US", "languageCode": "en"}, "junk"],
        "gatewaySipAccess": [{"uri": "sip:1@g"}],
        "somethingNew": {"nested": [1, 2]},
    }
    space = Space.from_json(data)
    assert space.name == "spaces/jQCFfuBOdN5z"
    assert space.space_id == "jQCFfuBOdN5z"
    assert space.meeting_code == "abc-mnop-xyz"
    assert space.meeting_uri == "https://meet.google.com/abc-mnop-xyz"
    assert space.config == FULL_CONFIG
    assert space.active_conference is not None
    assert space.active_conference.conference_record == "conferenceRecords/cr1"
    assert space.is_live
    assert len(space.phone_access) == 1
    assert space.phone_access[0].region_code == "US"


def test_space_stranger_view_and_garbage() -> None:
    space = Space.from_json({"name": "spaces/x", "meetingCode": "a-b-c"})
    assert space.config is None
    assert space.active_conference is None
    assert not space.is_live
    weird = Space.from_json({"name": 5, "config": "nope", "activeConference": [], "phoneAccess": {}})
    assert weird == Space(name="")


def test_frozen() -> None:
    space = Space(name="spaces/x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        space.name = "spaces/y"  # type: ignore[misc]


def test_conference_record() -> None:
    record = ConferenceRecord.from_json(
        {
            "name": "conferenceRecords/cr1",
            "startTime": "2024-01-01T10:00:00Z",
            "endTime": "2024-01-01T10:23:00.5Z",
            "expireTime": "2024-01-31T10:23:00.500000000Z",
            "space": "spaces/jQCFfuBOdN5z",
            "unknown": 1,
        }
    )
    assert record.start_time == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert record.end_time - record.start_time == timedelta(minutes=23, milliseconds=500)
    assert not record.is_live
    assert record.space == "spaces/jQCFfuBOdN5z"
    live = ConferenceRecord.from_json({"name": "conferenceRecords/cr2", "startTime": "2024-01-01T10:00:00Z"})
    assert live.is_live and live.end_time is None


@pytest.mark.parametrize(
    ("key", "kind", "user"),
    [
        ("signedinUser", ParticipantKind.SIGNED_IN, "users/123"),
        ("anonymousUser", ParticipantKind.ANONYMOUS, None),
        ("phoneUser", ParticipantKind.PHONE, None),
    ],
)
def test_participant_kinds(key: str, kind: ParticipantKind, user: str | None) -> None:
    who: dict[str, str] = {"displayName": "Ada", "user": "users/123"}
    p = Participant.from_json(
        {"name": "conferenceRecords/c/participants/p", key: who, "earliestStartTime": "2024-01-01T10:00:00.123Z"}
    )
    assert p.kind is kind
    assert p.display_name == "Ada"
    assert p.user == user
    assert p.is_present
    assert p.earliest_start_time == datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)


def test_participant_unknown_kind() -> None:
    p = Participant.from_json({"name": "n", "robotUser": {"displayName": "R2"}, "latestEndTime": "bad"})
    assert p.kind is ParticipantKind.UNKNOWN
    assert p.display_name is None
    assert p.latest_end_time is None


# --- timestamps ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("2024-03-05T06:07:08Z", 0),
        ("2024-03-05T06:07:08.123Z", 123000),
        ("2024-03-05T06:07:08.123456Z", 123456),
        ("2024-03-05T06:07:08.123456789Z", 123456),
        ("2024-03-05t06:07:08.1z", 100000),
    ],
)
def test_timestamps_any_precision(text: str, micro: int) -> None:
    value = parse_timestamp(text)
    assert value == datetime(2024, 3, 5, 6, 7, 8, micro, tzinfo=UTC)
    assert value is not None and value.tzinfo is not None


def test_timestamp_offsets_and_garbage() -> None:
    value = parse_timestamp("2024-03-05T08:07:08+02:00")
    assert value == datetime(2024, 3, 5, 6, 7, 8, tzinfo=UTC)
    assert value is not None and value.utcoffset() == timedelta(hours=2)
    assert parse_timestamp("2024-03-05T06:07:08-05:30") == datetime(
        2024, 3, 5, 6, 7, 8, tzinfo=timezone(-timedelta(hours=5, minutes=30))
    )
    for bad in ("", "2024-13-01T00:00:00Z", "2024-03-05T06:07:08", "yesterday", None, 17, "2024-03-05T06:07:08+25:00"):
        assert parse_timestamp(bad) is None


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)), st.sampled_from([0, 3, 6, 9]))
def test_timestamp_round_trip(moment: datetime, digits: int) -> None:
    frac = f"{moment.microsecond:06d}000"[:digits]
    m = moment
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    text += (f".{frac}" if digits else "") + "Z"
    parsed = parse_timestamp(text)
    expected_micro = int(frac.ljust(6, "0")[:6]) if digits else 0
    assert parsed == moment.replace(microsecond=expected_micro)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z") | st.text())
def test_timestamp_parser_never_raises(text: str) -> None:
    value = parse_timestamp(text)
    assert value is None or value.tzinfo is not None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
keys = st.sampled_from(
    [
        "name",
        "meetingUri",
        "meetingCode",
        "config",
        "activeConference",
        "phoneAccess",
        "accessType",
        "moderationRestrictions",
        "artifactConfig",
        "recordingConfig",
        "startTime",
        "signedinUser",
        "displayName",
        "x",
    ]
)
json_objects = st.recursive(
    st.dictionaries(keys, json_values, max_size=5),
    lambda inner: st.dictionaries(keys, inner | json_values, max_size=5),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_objects)
def test_parsers_never_crash(data: dict[str, Any]) -> None:
    Space.from_json(data)
    SpaceConfig.from_json(data)
    ConferenceRecord.from_json(data)
    Participant.from_json(data)


# --- masks ---------------------------------------------------------------------------------------------------


def _leaf_paths(cls: type, prefix: str = "") -> list[str]:
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        inner = next(a for a in typing.get_args(hints[f.name]) if a is not type(None))
        if dataclasses.is_dataclass(inner):
            out += _leaf_paths(inner, f"{prefix}{f.name}.")  # type: ignore[arg-type]
        else:
            out.append(prefix + f.name)
    return out


def test_field_paths_cover_every_config_field() -> None:
    assert list(CONFIG_FIELD_PATHS) == _leaf_paths(SpaceConfig)


@pytest.mark.parametrize(
    ("field", "mask"),
    [
        ("access_type", "config.accessType"),
        ("moderation_restrictions.chat_restriction", "config.moderationRestrictions.chatRestriction"),
        ("moderation_restrictions", "config.moderationRestrictions"),
        (
            "artifact_config.recording_config.auto_recording_generation",
            "config.artifactConfig.recordingConfig.autoRecordingGeneration",
        ),
        ("attendance_report_generation_type", "config.attendanceReportGenerationType"),
    ],
)
def test_mask_paths(field: str, mask: str) -> None:
    assert mask_path(field) == mask
    assert mask_path("config." + field) == mask
    assert field_path(mask) == field
    assert field_path(mask.removeprefix("config.")) == field
    assert field_path("config." + field) == field  # snake_case mask spelling


def test_unknown_paths_refused() -> None:
    for bad in ("name", "meeting_code", "config", "access_type.x", "accessType", ""):
        with pytest.raises(ValueError, match="unknown"):
            mask_path(bad)
    with pytest.raises(ValueError):
        field_path("config.nope")


def test_update_mask_and_set_paths() -> None:
    assert update_mask(["access_type", "moderation", "access_type"]) == "config.accessType,config.moderation"
    assert update_mask("access_type") == "config.accessType"
    assert list(iter_set_paths(FULL_CONFIG)) == list(CONFIG_FIELD_PATHS)
    partial = SpaceConfig(
        access_type=AccessType.OPEN,
        moderation_restrictions=ModerationRestrictions(present_restriction=RestrictionType.HOSTS_ONLY),
        artifact_config=ArtifactConfig(transcription_config=TranscriptionConfig(None)),
    )
    assert list(iter_set_paths(partial)) == ["access_type", "moderation_restrictions.present_restriction"]


# --- error builder -------------------------------------------------------------------------------------------


def _envelope(code: int, status: str, message: str = "m", details: list[dict[str, Any]] | None = None) -> bytes:
    return json.dumps(
        {"error": {"code": code, "status": status, "message": message, "details": details or []}}
    ).encode()


@pytest.mark.parametrize(
    ("status", "name", "cls"),
    [
        (400, "INVALID_ARGUMENT", E.InvalidArgument),
        (400, "OUT_OF_RANGE", E.InvalidArgument),
        (400, "FAILED_PRECONDITION", E.FailedPrecondition),
        (401, "UNAUTHENTICATED", E.Unauthenticated),
        (403, "PERMISSION_DENIED", E.PermissionDenied),
        (404, "NOT_FOUND", E.NotFound),
        (429, "RESOURCE_EXHAUSTED", E.RateLimited),
        (503, "UNAVAILABLE", E.Unavailable),
        (409, "ALREADY_EXISTS", E.AlreadyExists),
        (500, "INTERNAL", E.ApiStatusError),
        (418, "SOMETHING_NEW", E.ApiStatusError),
    ],
)
def test_error_classes(status: int, name: str, cls: type[E.ApiStatusError]) -> None:
    err = E.error_from_response(status, {}, _envelope(status, name, "Boom."), "spaces.get")
    assert type(err) is cls
    assert (err.status, err.code, err.message, err.operation) == (status, name, "Boom.", "spaces.get")
    assert str(err) == f"spaces.get: {status} {name}: Boom."


def test_permission_denied_reasons() -> None:
    scope = E.error_from_response(
        403,
        {},
        _envelope(
            403,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
            [
                {"@type": "type.googleapis.com/google.rpc.Help", "links": []},
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                    "domain": "googleapis.com",
                    "metadata": {"service": "meet.googleapis.com", "method": "x"},
                },
            ],
        ),
    )
    assert isinstance(scope, E.PermissionDenied)
    assert scope.is_missing_scope and not scope.is_caller_refused
    assert scope.reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert scope.domain == "googleapis.com"
    assert scope.metadata["service"] == "meet.googleapis.com"
    assert len(scope.details) == 2
    assert "[ACCESS_TOKEN_SCOPE_INSUFFICIENT]" in str(scope)
    owner = E.error_from_response(403, {}, _envelope(403, "PERMISSION_DENIED", "The caller does not have permission"))
    assert isinstance(owner, E.PermissionDenied)
    assert owner.is_caller_refused and not owner.is_missing_scope and owner.reason is None
    disabled = E.error_from_response(
        403,
        {},
        _envelope(
            403,
            "PERMISSION_DENIED",
            "x",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}],
        ),
    )
    assert isinstance(disabled, E.PermissionDenied) and disabled.is_service_disabled


def test_unauthenticated_expired() -> None:
    err = E.error_from_response(
        401,
        {},
        _envelope(
            401,
            "UNAUTHENTICATED",
            "x",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_EXPIRED"}],
        ),
    )
    assert isinstance(err, E.Unauthenticated) and err.is_expired


@pytest.mark.parametrize(
    ("headers", "details", "expected"),
    [
        ({"retry-after": "7"}, [], 7.0),
        ({"retry-after": "0.25"}, [], 0.25),
        ({}, [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}], 30.0),
        ({}, [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.500s"}], 1.5),
        ({}, [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": {"seconds": 2}}], 2.0),
        ({"retry-after": "3"}, [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}], 3.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, [], 0.0),  # an HTTP-date in the past
        ({"retry-after": "soon"}, [], None),
        ({}, [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "thirty"}], None),
        ({}, [], None),
    ],
)
def test_rate_limited_retry_after(
    headers: dict[str, str], details: list[dict[str, Any]], expected: float | None
) -> None:
    err = E.error_from_response(429, headers, _envelope(429, "RESOURCE_EXHAUSTED", "slow down", details))
    assert isinstance(err, E.RateLimited)
    assert err.retry_after == expected


@pytest.mark.parametrize(
    ("error", "cls", "status"),
    [
        ({"code": 9, "message": "The subscription is already active."}, E.FailedPrecondition, 400),
        ({"code": 5, "message": "gone"}, E.NotFound, 404),  # numbered only: the code decides the status too
        ({"status": "ALREADY_EXISTS", "code": 6, "message": "one per user"}, E.AlreadyExists, 400),
        ({"code": 99}, E.InvalidArgument, 400),  # an unknown number: the status decides, as for an answer
    ],
)
def test_an_operations_error_is_typed_like_an_answer(error: dict[str, object], cls: type[E.ApiStatusError],
                                                     status: int) -> None:
    """Workspace Events reports a failed long-running operation as a google.rpc.Status with a numeric code."""
    err = E.error_from_status(400, error, operation="subscriptions.create")
    assert type(err) is cls and err.status == status and err.operation == "subscriptions.create"


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (502, b"<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>", E.Unavailable, "502 Bad Gateway"),
        (503, b"Service Unavailable", E.Unavailable, "Service Unavailable"),
        (404, b"", E.NotFound, "HTTP 404"),
        (500, b"\xff\xfe garbage", E.ApiStatusError, "garbage"),
        (400, b'{"error": "invalid_grant"}', E.InvalidArgument, "invalid_grant"),
        (403, b"[1, 2]", E.PermissionDenied, "[1, 2]"),
        (429, b"x" * 5000, E.RateLimited, "x" * 200 + "…"),
    ],
)
def test_non_json_error_bodies_stay_readable(status: int, body: bytes, cls: type[E.ApiStatusError],
                                             message: str) -> None:
    err = E.error_from_response(status, {"retry-after": "1"}, body, "spaces.get")
    assert type(err) is cls
    assert message in err.message
    assert err.status == status
    assert err.code  # always a canonical-looking name
    assert err.details == ()


def test_error_tree_shape() -> None:
    assert issubclass(E.ApiTimeout, E.ApiTransportError)
    assert issubclass(M.MeetingCodeNotAllowed, M.InvalidResourceName)
    assert issubclass(M.InvalidResourceName, ValueError)
    assert issubclass(M.InvalidMeetingReference, ValueError)
    assert issubclass(M.InvalidToken, ValueError)
    for cls in (
        E.ApiStatusError,
        E.ApiTransportError,
        E.ApiProtocolError,
        M.InvalidResourceName,
        M.InvalidMeetingReference,
        M.InvalidToken,
    ):
        assert issubclass(cls, E.GoogleApiError)
    for cls in (
        E.InvalidArgument,
        E.FailedPrecondition,
        E.Unauthenticated,
        E.PermissionDenied,
        E.NotFound,
        E.RateLimited,
        E.Unavailable,
    ):
        assert issubclass(cls, E.ApiStatusError)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=300, max_value=599),
    st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
)
def test_error_builder_never_crashes(status: int, body: bytes) -> None:
    err = E.error_from_response(status, {"retry-after": "x"}, body)
    assert isinstance(err, E.ApiStatusError)
    assert str(err)
