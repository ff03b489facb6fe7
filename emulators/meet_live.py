"""What a Meet conference leaves behind and tells others: participant sessions, recordings, transcripts and smart
notes (get/list, reference meet-api.md §2.5, §2.6, §3), and a hook that reports every change Meet would publish as
a Workspace event (§9). `MeetState` mixes `LiveMeet` in; `meet.py` calls the `_live_*` hooks from join, leave and
end, and routes the methods below to `api_live`.

    state.add_listener(lambda event: print(event.type, event.resource_name))
    state.produce_artifact(space="spaces/abc", kind="recording")      # FILE_GENERATED at once
    name = state.start_artifact(space="spaces/abc", kind="transcript")["name"]
    state.finish_artifact(name)                                        # STARTED → FILE_GENERATED

Listeners run on the thread that changed the state, with the state's lock held: they must be quick and must not
block (the Workspace Events emulator only queues the event).
"""

from __future__ import annotations

import logging
import secrets
import string
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from emulators.google_api import ApiError, fmt_time, list_body, paginate, parse_page_size, query_digest, time_key
from emulators.meet_models import Participant, Record, matches, meet_route, parse_filter
from emulators.meet_oauth import CREATED, READONLY

log = logging.getLogger(__name__)

EVENT_PREFIX = "google.workspace.meet."
CONFERENCE_STARTED = EVENT_PREFIX + "conference.v2.started"
CONFERENCE_ENDED = EVENT_PREFIX + "conference.v2.ended"
PARTICIPANT_JOINED = EVENT_PREFIX + "participant.v2.joined"
PARTICIPANT_LEFT = EVENT_PREFIX + "participant.v2.left"
KINDS = ("recording", "transcript", "smartNote")
# every event type Meet publishes (§9): the three artifact kinds also have .started and .ended
MEET_EVENT_TYPES = frozenset(
    {CONFERENCE_STARTED, CONFERENCE_ENDED, PARTICIPANT_JOINED, PARTICIPANT_LEFT}
    | {f"{EVENT_PREFIX}{kind}.v2.{what}" for kind in KINDS for what in ("started", "ended", "fileGenerated")}
)
ARTIFACT_STATES = ("STATE_UNSPECIFIED", "STARTED", "ENDED", "FILE_GENERATED")
STARTED, ENDED, FILE_GENERATED = 1, 2, 3
_PLURAL = {"recording": "recordings", "transcript": "transcripts", "smartNote": "smartNotes"}
_KIND_OF = {plural: kind for kind, plural in _PLURAL.items()}
_FILE_ID = string.ascii_letters + string.digits + "-_"
_INVERT = 10**20  # ascending lists go through the descending `paginate` with an inverted time key


@dataclass(frozen=True)
class MeetEvent:
    """One Workspace event Meet would emit: `resource_name` is what its data names (§9)."""

    type: str
    space_id: str  # the id part of spaces/{id}
    resource_name: str
    time: datetime


@dataclass
class Session:
    id: str
    start: datetime
    end: datetime | None = None


@dataclass
class Artifact:
    id: str
    kind: str  # "recording" | "transcript" | "smartNote"
    record_id: str
    state: int  # STARTED, ENDED, FILE_GENERATED
    start: datetime
    file_id: str
    end: datetime | None = None

    @property
    def name(self) -> str:
        return f"conferenceRecords/{self.record_id}/{_PLURAL[self.kind]}/{self.id}"


def _rpc(name: str) -> str:
    return f"google.apps.meet.v2.ConferenceRecordsService.{name}"


_READ = frozenset({CREATED, READONLY})
LIVE_METHODS: dict[str, tuple[frozenset[str], str]] = {
    "participants.get": (_READ, _rpc("GetParticipant")),
    "participantSessions.list": (_READ, _rpc("ListParticipantSessions")),
    "participantSessions.get": (_READ, _rpc("GetParticipantSession")),
    "recordings.get": (_READ, _rpc("GetRecording")),
    "recordings.list": (_READ, _rpc("ListRecordings")),
    "transcripts.get": (_READ, _rpc("GetTranscript")),
    "transcripts.list": (_READ, _rpc("ListTranscripts")),
    "smartNotes.get": (_READ, _rpc("GetSmartNote")),
    "smartNotes.list": (_READ, _rpc("ListSmartNotes")),
}
LIVE_PARAMS: dict[str, frozenset[str]] = {
    "participantSessions.list": frozenset({"pageSize", "pageToken", "filter"}),
    **{f"{plural}.list": frozenset({"pageSize", "pageToken"}) for plural in _PLURAL.values()},
}
SESSION_FILTER_FIELDS = {"start_time": "time", "end_time": "time"}


def live_route(method: str, segments: list[str]) -> tuple[str, str] | None:
    """Routes of this module for percent-decoded /v2 path segments: (route, "CR[/P[/S]]" or "CR/ID")."""
    if method != "GET" or len(segments) < 3 or segments[0] != "conferenceRecords":
        return None
    match segments[1:]:
        case [cr, "participants", p]:
            return "participants.get", f"{cr}/{p}"
        case [cr, "participants", p, "participantSessions"]:
            return "participantSessions.list", f"{cr}/{p}"
        case [cr, "participants", p, "participantSessions", s]:
            return "participantSessions.get", f"{cr}/{p}/{s}"
        case [cr, plural] if plural in _KIND_OF:
            return f"{plural}.list", cr
        case [cr, plural, ident] if plural in _KIND_OF:
            return f"{plural}.get", f"{cr}/{ident}"
    return None


class LiveMeet:
    """Mixed into MeetState: sessions, artifacts, listeners. Uses MeetState's `_lock`, `_records`, `_spaces`."""

    _lock: Any
    _records: dict[str, Record]
    _spaces: dict[str, Any]
    _now: Callable[[], datetime]
    _new_id: Callable[..., str]
    _space_or_raise: Callable[[str], Any]
    _visible_record: Callable[[Any, str], Record]
    _participant_json: Callable[[Record, Participant], dict[str, Any]]

    def _reset_live(self) -> None:
        self._sessions: dict[tuple[str, str], list[Session]] = {}  # (record id, participant id) → sessions
        self._artifacts: dict[str, list[Artifact]] = {}  # record id → artifacts in start order
        if not hasattr(self, "_listeners"):
            self._listeners: list[Callable[[MeetEvent], None]] = []  # kept across reset(): they belong to servers

    # -- the observer hook ---------------------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[MeetEvent], None]) -> None:
        """Call `listener(event)` for every Workspace event Meet would emit from now on."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[MeetEvent], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _emit(self, type_: str, space_id: str, resource: str, when: datetime) -> None:
        event = MeetEvent(type_, space_id, resource, when)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken observer must not break Meet
                log.exception("Meet event listener failed on %s", type_)

    # -- hooks called by join / leave / end (lock held) -------------------------------------------------------
    def _live_joined(self, record: Record, participant: Participant, started: bool, when: datetime) -> None:
        if started:
            self._emit(CONFERENCE_STARTED, record.space_id, f"conferenceRecords/{record.id}", when)
        sessions = self._sessions.setdefault((record.id, participant.id), [])
        session = Session(self._new_id({s.id for s in sessions}, 16), when)
        sessions.append(session)
        self._emit(PARTICIPANT_JOINED, record.space_id, self._session_name(record, participant, session), when)

    def _live_left(self, record: Record, participant: Participant, when: datetime) -> None:
        for session in self._sessions.get((record.id, participant.id), []):
            if session.end is None:
                session.end = when
                self._emit(PARTICIPANT_LEFT, record.space_id, self._session_name(record, participant, session), when)

    def _live_ended(self, record: Record, when: datetime) -> None:
        """The conference ended: open sessions close (each a `left`), then `ended`."""
        for participant in record.participants.values():
            self._live_left(record, participant, when)
        self._emit(CONFERENCE_ENDED, record.space_id, f"conferenceRecords/{record.id}", when)

    @staticmethod
    def _session_name(record: Record, participant: Participant, session: Session) -> str:
        return f"conferenceRecords/{record.id}/participants/{participant.id}/participantSessions/{session.id}"

    def space_access(self, email: str, space_id: str) -> str | None:
        """How `email` relates to a space: "owner", "organiser" (of the Calendar event it was made for, when Google
        doesn't make them its owner), "participant" (joined one of its conferences signed in, or is a member),
        "none", or None when there is no such space. For the Workspace Events emulator."""
        with self._lock:
            space = self._spaces.get(space_id)
            if space is None:
                return None
            if space.owner == email:
                return "owner"
            if space.organiser == email:
                return "organiser"
            members = getattr(self, "_members", {}).get(space_id, {})
            joined = any(("signedin", email) in self._records[r].participants for r in space.records)
            if joined or any(m.email.lower() == email for m in members.values()):
                return "participant"
            return "none"

    # -- test controls: artifacts -------------------------------------------------------------------------------
    def produce_artifact(
        self, kind: str, space: str | None = None, record: str | None = None, state: str = "FILE_GENERATED"
    ) -> dict[str, Any]:
        """A recording, transcript or smartNote of the space's live (else latest) conference, or of `record`, in
        `state` (STARTED, ENDED or FILE_GENERATED). Returns the artifact as the API shows it (enum names)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        target = _state_value(state)
        with self._lock:
            found = self._artifact_record(space, record)
            now = self._now()
            taken = {a.id for a in self._artifacts.get(found.id, [])}
            artifact = Artifact(self._new_id(taken, 16), kind, found.id, STARTED, now, "1" + _random(_FILE_ID, 32))
            self._artifacts.setdefault(found.id, []).append(artifact)
            self._emit(f"{EVENT_PREFIX}{kind}.v2.started", found.space_id, artifact.name, now)
            self._advance(artifact, found, target)
            return self._artifact_json(artifact, enum_ints=False)

    def start_artifact(self, kind: str, space: str | None = None, record: str | None = None) -> dict[str, Any]:
        """An artifact in state STARTED; `finish_artifact(name)` moves it on."""
        return self.produce_artifact(kind, space, record, "STARTED")

    def finish_artifact(self, name: str, state: str = "FILE_GENERATED") -> dict[str, Any]:
        """Move an artifact forward to ENDED or FILE_GENERATED (never backwards)."""
        target = _state_value(state)
        with self._lock:
            artifact = self._artifact_by_name(name)
            if target < artifact.state:
                raise ValueError(f"{name} is already {ARTIFACT_STATES[artifact.state]}")
            self._advance(artifact, self._records[artifact.record_id], target)
            return self._artifact_json(artifact, enum_ints=False)

    def _advance(self, artifact: Artifact, record: Record, target: int) -> None:
        while artifact.state < target:
            artifact.state += 1
            now = self._now()
            if artifact.state == ENDED:
                artifact.end = now
                what = "ended"
            else:
                what = "fileGenerated"
            self._emit(f"{EVENT_PREFIX}{artifact.kind}.v2.{what}", record.space_id, artifact.name, now)

    def _artifact_record(self, space: str | None, record: str | None) -> Record:
        if record:
            found = self._records.get(record.removeprefix("conferenceRecords/"))
            if found is None:
                raise KeyError(f"no conference record {record!r}")
            return found
        if not space:
            raise ValueError("give space= or record=")
        owner = self._space_or_raise(space)
        ident = owner.active or (owner.records[-1] if owner.records else None)
        if ident is None:
            raise ValueError(f"spaces/{owner.id} has had no conference yet")
        return self._records[ident]

    def _artifact_by_name(self, name: str) -> Artifact:
        parts = name.removeprefix("conferenceRecords/").split("/")
        if len(parts) == 3 and parts[1] in _KIND_OF:
            for artifact in self._artifacts.get(parts[0], []):
                if artifact.id == parts[2] and artifact.kind == _KIND_OF[parts[1]]:
                    return artifact
        raise KeyError(f"no artifact {name!r}")

    # -- the API ------------------------------------------------------------------------------------------------
    def api_live(self, caller: Any, route: str, ident: str, query: Mapping[str, str]) -> dict[str, Any]:
        """participants.get, participantSessions.*, recordings.*, transcripts.*, smartNotes.*"""
        parts = ident.split("/")
        with self._lock:
            record = self._visible_record(caller, parts[0])
            if route == "participants.get":
                return self._participant_json(record, self._participant(record, parts[1]))
            if route.startswith("participantSessions."):
                participant = self._participant(record, parts[1])
                sessions = self._sessions.get((record.id, participant.id), [])
                if route == "participantSessions.get":
                    session = next((s for s in sessions if s.id == parts[2]), None)
                    if session is None:
                        raise ApiError(404)
                    return _session_json(record, participant, session)
                return self._list_sessions(caller, record, participant, sessions, query)
            plural, _, verb = route.partition(".")
            kind = _KIND_OF[plural]
            artifacts = [a for a in self._artifacts.get(record.id, []) if a.kind == kind]
            if verb == "get":
                found = next((a for a in artifacts if a.id == parts[1]), None)
                if found is None:
                    raise ApiError(404)
                return self._artifact_json(found, caller.enum_ints)
            size = parse_page_size(query.get("pageSize"), 10, 100)
            digest = query_digest(plural, record.id, caller.user)
            page, token = paginate(artifacts, _ascending, size, query.get("pageToken"), digest)
            return list_body(plural, [self._artifact_json(a, caller.enum_ints) for a in page], token)

    def _list_sessions(
        self,
        caller: Any,
        record: Record,
        participant: Participant,
        sessions: list[Session],
        query: Mapping[str, str],
    ) -> dict[str, Any]:
        size = parse_page_size(query.get("pageSize"), 100, 250)
        filter_text = query.get("filter", "")
        conditions = parse_filter(filter_text, SESSION_FILTER_FIELDS)
        chosen = [s for s in sessions if matches(conditions, partial(_session_field, s))]
        digest = query_digest("participantSessions", record.id, participant.id, filter_text, caller.user)
        page, token = paginate(chosen, _by_session_start, size, query.get("pageToken"), digest)
        return list_body("participantSessions", [_session_json(record, participant, s) for s in page], token)

    @staticmethod
    def _participant(record: Record, ident: str) -> Participant:
        for participant in record.participants.values():
            if participant.id == ident:
                return participant
        raise ApiError(404)

    def _artifact_json(self, artifact: Artifact, enum_ints: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": artifact.name,
            "state": artifact.state if enum_ints else ARTIFACT_STATES[artifact.state],
            "startTime": fmt_time(artifact.start),
        }
        if artifact.end is not None:
            out["endTime"] = fmt_time(artifact.end)
        if artifact.state == FILE_GENERATED:
            if artifact.kind == "recording":
                uri = f"https://drive.google.com/file/d/{artifact.file_id}/view"
                out["driveDestination"] = {"file": artifact.file_id, "exportUri": uri}
            else:
                uri = f"https://docs.google.com/document/d/{artifact.file_id}/view"
                out["docsDestination"] = {"document": artifact.file_id, "exportUri": uri}
        return out


def _state_value(state: str) -> int:
    if state not in ARTIFACT_STATES[1:]:
        raise ValueError(f"state must be one of {', '.join(ARTIFACT_STATES[1:])} (got {state!r})")
    return ARTIFACT_STATES.index(state)


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _session_json(record: Record, participant: Participant, session: Session) -> dict[str, Any]:
    out = {"name": LiveMeet._session_name(record, participant, session), "startTime": fmt_time(session.start)}
    if session.end is not None:
        out["endTime"] = fmt_time(session.end)
    return out


def _session_field(session: Session, name: str) -> datetime | None:
    return session.start if name == "start_time" else session.end


def _by_session_start(session: Session) -> tuple[str, str]:
    return (time_key(session.start), session.id)


def _ascending(artifact: Artifact) -> tuple[str, str]:
    micros = int(artifact.start.timestamp() * 1_000_000)
    return (f"{_INVERT - micros:021d}", artifact.id)


def route(method: str, raw_path: str) -> tuple[str, str] | None:
    """`meet_route`, then this module's routes."""
    found = meet_route(method, raw_path)
    if found is not None or not raw_path.startswith("/v2/"):
        return found
    segments = [urllib.parse.unquote(s) for s in raw_path[len("/v2/") :].split("/")]
    return None if any(not s for s in segments) else live_route(method, segments)
