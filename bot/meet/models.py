"""Typed Meet v2 resources: frozen dataclasses parsed from proto3 JSON, enums with the proto int values.

Parsing never raises on Google's data: unknown keys are ignored, enums may arrive as names or integers (an unknown
value becomes the enum's UNSPECIFIED member), timestamps may carry 0-9 fractional digits, and a malformed value
becomes None. A field absent from the JSON is None ("not told"), which is different from UNSPECIFIED ("told
something we don't know").

Only `SpaceConfig` is ever sent; `SpaceConfig.to_json` emits the writable fields that are set and nothing else
(every SpaceConfig field is writable; the output-only fields live on Space and are never serialised).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from bot.json_values import Json, JsonObject

__all__ = [
    "AccessType",
    "ActiveConference",
    "Artifact",
    "ArtifactConfig",
    "ArtifactKind",
    "AttendanceReportGenerationType",
    "AutoGenerationType",
    "ConferenceRecord",
    "DefaultJoinAsViewerType",
    "EntryPointAccess",
    "Member",
    "MemberRole",
    "Moderation",
    "ModerationRestrictions",
    "Participant",
    "ParticipantKind",
    "ParticipantSession",
    "PhoneAccess",
    "RecordingConfig",
    "RestrictionType",
    "SmartNotesConfig",
    "Space",
    "SpaceConfig",
    "TranscriptionConfig",
    "parse_timestamp",
]


# Member names are the wire names, so `Enum[name]` parses the JSON string form and `.name` writes it back.
class AccessType(enum.Enum):
    ACCESS_TYPE_UNSPECIFIED = 0
    OPEN = 1
    TRUSTED = 2
    RESTRICTED = 3


class EntryPointAccess(enum.Enum):
    ENTRY_POINT_ACCESS_UNSPECIFIED = 0
    ALL = 1
    CREATOR_APP_ONLY = 2


class Moderation(enum.Enum):
    MODERATION_UNSPECIFIED = 0
    OFF = 1
    ON = 2


class RestrictionType(enum.Enum):
    RESTRICTION_TYPE_UNSPECIFIED = 0
    HOSTS_ONLY = 1
    NO_RESTRICTION = 2


class DefaultJoinAsViewerType(enum.Enum):
    DEFAULT_JOIN_AS_VIEWER_TYPE_UNSPECIFIED = 0
    ON = 1
    OFF = 2


class AttendanceReportGenerationType(enum.Enum):
    ATTENDANCE_REPORT_GENERATION_TYPE_UNSPECIFIED = 0
    GENERATE_REPORT = 1
    DO_NOT_GENERATE = 2


class AutoGenerationType(enum.Enum):
    AUTO_GENERATION_TYPE_UNSPECIFIED = 0
    ON = 1
    OFF = 2


class ParticipantKind(enum.Enum):
    """Which of the oneof user keys a Participant carried."""

    SIGNED_IN = "signedinUser"
    ANONYMOUS = "anonymousUser"
    PHONE = "phoneUser"
    UNKNOWN = ""


_E = TypeVar("_E", bound=enum.Enum)


def _enum(cls: type[_E], value: object) -> _E | None:
    if value is None:
        return None
    if isinstance(value, str):
        member = cls.__members__.get(value)
        if member is not None:
            return member
        if value.isdigit():
            value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return cls(value)
        except ValueError:
            pass
    return cls(0)  # a value newer than this code: "unspecified", never a crash


def _enum_json(value: enum.Enum | None) -> str | None:
    # UNSPECIFIED is never sent: for moderation it is an error, for the rest it means "no change".
    if value is None or value.value == 0:
        return None
    return value.name


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    return value if isinstance(value, dict) else None


_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)


def parse_timestamp(value: object) -> datetime | None:
    """RFC 3339 (`google.protobuf.Timestamp` JSON) → aware datetime; nanoseconds are truncated to micro. Bad → None."""
    if not isinstance(value, str):
        return None
    m = _TIMESTAMP.fullmatch(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        tz: timezone = UTC
        if not zulu:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            tz = timezone(-offset if sign == "-" else offset)
        return datetime(int(year), int(month), int(day), int(hour), int(minute), min(int(second), 59), micro, tzinfo=tz)
    except ValueError:  # month 13, offset ≥ 24 h, ...
        return None


@dataclass(frozen=True, slots=True)
class ModerationRestrictions:
    chat_restriction: RestrictionType | None = None
    reaction_restriction: RestrictionType | None = None
    present_restriction: RestrictionType | None = None
    default_join_as_viewer_type: DefaultJoinAsViewerType | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModerationRestrictions:
        return cls(
            chat_restriction=_enum(RestrictionType, data.get("chatRestriction")),
            reaction_restriction=_enum(RestrictionType, data.get("reactionRestriction")),
            present_restriction=_enum(RestrictionType, data.get("presentRestriction")),
            default_join_as_viewer_type=_enum(DefaultJoinAsViewerType, data.get("defaultJoinAsViewerType")),
        )

    def to_json(self) -> JsonObject:
        return _compact(
            chatRestriction=_enum_json(self.chat_restriction),
            reactionRestriction=_enum_json(self.reaction_restriction),
            presentRestriction=_enum_json(self.present_restriction),
            defaultJoinAsViewerType=_enum_json(self.default_join_as_viewer_type),
        )


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    auto_recording_generation: AutoGenerationType | None = None


@dataclass(frozen=True, slots=True)
class TranscriptionConfig:
    auto_transcription_generation: AutoGenerationType | None = None


@dataclass(frozen=True, slots=True)
class SmartNotesConfig:
    auto_smart_notes_generation: AutoGenerationType | None = None


@dataclass(frozen=True, slots=True)
class ArtifactConfig:
    """Nested like the wire format, so dotted field paths and mask paths map one to one."""

    recording_config: RecordingConfig | None = None
    transcription_config: TranscriptionConfig | None = None
    smart_notes_config: SmartNotesConfig | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ArtifactConfig:
        rec, tra, notes = (
            _obj(data, "recordingConfig"),
            _obj(data, "transcriptionConfig"),
            _obj(data, "smartNotesConfig"),
        )
        return cls(
            recording_config=None
            if rec is None
            else RecordingConfig(_enum(AutoGenerationType, rec.get("autoRecordingGeneration"))),
            transcription_config=None
            if tra is None
            else TranscriptionConfig(_enum(AutoGenerationType, tra.get("autoTranscriptionGeneration"))),
            smart_notes_config=None
            if notes is None
            else SmartNotesConfig(_enum(AutoGenerationType, notes.get("autoSmartNotesGeneration"))),
        )

    def to_json(self) -> JsonObject:
        rec, tra, notes = self.recording_config, self.transcription_config, self.smart_notes_config
        return _compact(
            recordingConfig=None if rec is None
            else _compact(autoRecordingGeneration=_enum_json(rec.auto_recording_generation)),
            transcriptionConfig=None if tra is None
            else _compact(autoTranscriptionGeneration=_enum_json(tra.auto_transcription_generation)),
            smartNotesConfig=None if notes is None
            else _compact(autoSmartNotesGeneration=_enum_json(notes.auto_smart_notes_generation)),
        )


@dataclass(frozen=True, slots=True)
class SpaceConfig:
    """Every field is writable; None means "not set" (left out of requests, absent from the answer)."""

    access_type: AccessType | None = None
    entry_point_access: EntryPointAccess | None = None
    moderation: Moderation | None = None
    moderation_restrictions: ModerationRestrictions | None = None
    attendance_report_generation_type: AttendanceReportGenerationType | None = None
    artifact_config: ArtifactConfig | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SpaceConfig:
        restrictions, artifacts = _obj(data, "moderationRestrictions"), _obj(data, "artifactConfig")
        return cls(
            access_type=_enum(AccessType, data.get("accessType")),
            entry_point_access=_enum(EntryPointAccess, data.get("entryPointAccess")),
            moderation=_enum(Moderation, data.get("moderation")),
            moderation_restrictions=None if restrictions is None else ModerationRestrictions.from_json(restrictions),
            attendance_report_generation_type=_enum(
                AttendanceReportGenerationType, data.get("attendanceReportGenerationType")
            ),
            artifact_config=None if artifacts is None else ArtifactConfig.from_json(artifacts),
        )

    def to_json(self) -> JsonObject:
        """camelCase JSON of the fields that are set, enums by name; empty sub-objects are left out."""
        restrictions, artifacts = self.moderation_restrictions, self.artifact_config
        return _compact(
            accessType=_enum_json(self.access_type),
            entryPointAccess=_enum_json(self.entry_point_access),
            moderation=_enum_json(self.moderation),
            moderationRestrictions=None if restrictions is None else restrictions.to_json(),
            attendanceReportGenerationType=_enum_json(self.attendance_report_generation_type),
            artifactConfig=None if artifacts is None else artifacts.to_json(),
        )


def _compact(**values: Json) -> JsonObject:
    return {key: value for key, value in values.items() if value is not None and value != {}}


@dataclass(frozen=True, slots=True)
class ActiveConference:
    conference_record: str | None = None  # "conferenceRecords/{id}"


@dataclass(frozen=True, slots=True)
class PhoneAccess:
    phone_number: str | None = None
    pin: str | None = None
    region_code: str | None = None
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class Space:
    """`config` is present only for the owner, `active_conference` only for owner and participants while live."""

    name: str  # always the canonical "spaces/{id}", even when fetched by code
    meeting_uri: str | None = None
    meeting_code: str | None = None
    config: SpaceConfig | None = None
    active_conference: ActiveConference | None = None
    phone_access: tuple[PhoneAccess, ...] = ()

    @property
    def space_id(self) -> str:
        return self.name.partition("/")[2]

    @property
    def is_live(self) -> bool:
        return self.active_conference is not None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Space:
        config, active, phones = _obj(data, "config"), _obj(data, "activeConference"), data.get("phoneAccess")
        return cls(
            name=_str(data, "name") or "",
            meeting_uri=_str(data, "meetingUri"),
            meeting_code=_str(data, "meetingCode"),
            config=None if config is None else SpaceConfig.from_json(config),
            active_conference=None if active is None else ActiveConference(_str(active, "conferenceRecord")),
            phone_access=tuple(_phone(p) for p in phones if isinstance(p, dict)) if isinstance(phones, list) else (),
        )


def _phone(data: Mapping[str, Any]) -> PhoneAccess:
    return PhoneAccess(
        phone_number=_str(data, "phoneNumber"),
        pin=_str(data, "pin"),
        region_code=_str(data, "regionCode"),
        language_code=_str(data, "languageCode"),
    )


@dataclass(frozen=True, slots=True)
class ConferenceRecord:
    name: str  # "conferenceRecords/{id}"
    start_time: datetime | None = None
    end_time: datetime | None = None  # None while the conference is live
    expire_time: datetime | None = None
    space: str | None = None  # "spaces/{id}"

    @property
    def is_live(self) -> bool:
        return self.end_time is None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConferenceRecord:
        return cls(
            name=_str(data, "name") or "",
            start_time=parse_timestamp(data.get("startTime")),
            end_time=parse_timestamp(data.get("endTime")),
            expire_time=parse_timestamp(data.get("expireTime")),
            space=_str(data, "space"),
        )


@dataclass(frozen=True, slots=True)
class Participant:
    name: str  # "conferenceRecords/{cr}/participants/{id}"
    kind: ParticipantKind = ParticipantKind.UNKNOWN
    display_name: str | None = None
    user: str | None = None  # "users/{id}", signed-in participants only
    earliest_start_time: datetime | None = None
    latest_end_time: datetime | None = None  # None while in the meeting

    @property
    def is_present(self) -> bool:
        return self.latest_end_time is None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Participant:
        kind, who = ParticipantKind.UNKNOWN, None
        for candidate in (ParticipantKind.SIGNED_IN, ParticipantKind.ANONYMOUS, ParticipantKind.PHONE):
            who = _obj(data, candidate.value)
            if who is not None:
                kind = candidate
                break
        return cls(
            name=_str(data, "name") or "",
            kind=kind,
            display_name=None if who is None else _str(who, "displayName"),
            user=_str(who, "user") if who is not None and kind is ParticipantKind.SIGNED_IN else None,
            earliest_start_time=parse_timestamp(data.get("earliestStartTime")),
            latest_end_time=parse_timestamp(data.get("latestEndTime")),
        )


@dataclass(frozen=True, slots=True)
class ParticipantSession:
    """One join of a participant: when it started and, once they left, when it ended."""

    name: str  # "conferenceRecords/{cr}/participants/{p}/participantSessions/{id}"
    start_time: datetime | None = None
    end_time: datetime | None = None  # None while connected

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ParticipantSession:
        return cls(name=_str(data, "name") or "", start_time=parse_timestamp(data.get("startTime")),
                   end_time=parse_timestamp(data.get("endTime")))


class ArtifactKind(enum.Enum):
    """What a conference can leave behind, by the list method's collection name."""

    RECORDING = "recordings"
    TRANSCRIPT = "transcripts"
    SMART_NOTES = "smartNotes"


@dataclass(frozen=True, slots=True)
class Artifact:
    """A recording, transcript or smart notes of a conference; `export_uri` is set once the file exists."""

    kind: ArtifactKind
    name: str
    state: str | None = None  # STARTED, ENDED, FILE_GENERATED (names or their integer forms)
    export_uri: str | None = None
    start_time: datetime | None = None

    @property
    def ready(self) -> bool:
        return self.export_uri is not None

    @classmethod
    def from_json(cls, kind: ArtifactKind, data: Mapping[str, Any]) -> Artifact:
        where = _obj(data, "driveDestination") if kind is ArtifactKind.RECORDING else _obj(data, "docsDestination")
        state = data.get("state")
        return cls(
            kind=kind,
            name=_str(data, "name") or "",
            state=str(state) if state is not None else None,
            export_uri=_str(where, "exportUri") if where is not None else None,
            start_time=parse_timestamp(data.get("startTime")),
        )


# --- space members (spaces.members) ---------------------------------------------------------------------------


class MemberRole(enum.Enum):
    """ROLE_UNSPECIFIED: an ordinary member (joins without knocking); COHOST: co-manages the call."""

    ROLE_UNSPECIFIED = 0
    COHOST = 1


@dataclass(frozen=True, slots=True)
class Member:
    """A member of a space: `name` is `spaces/{space}/members/{member}`."""

    name: str
    email: str | None = None
    role: MemberRole = MemberRole.ROLE_UNSPECIFIED
    user: str | None = None  # `users/{id}` when Google knows the email as an account

    @property
    def is_cohost(self) -> bool:
        return self.role is MemberRole.COHOST

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Member:
        return cls(
            name=_str(data, "name") or "",
            email=_str(data, "email"),
            role=_enum(MemberRole, data.get("role")) or MemberRole.ROLE_UNSPECIFIED,
            user=_str(data, "user"),
        )
