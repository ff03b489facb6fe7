"""The Meet emulator's conference records and participants: conferenceRecords.list and get, participants.list,
who may see which record, and the test controls that make people join and leave and end a call.
See /work/shared/reference/meet-api.md §3."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from emulators.google_api import (
    ApiError,
    fmt_time,
    list_body,
    paginate,
    parse_page_size,
    query_digest,
    time_key,
)
from emulators.meet_models import (
    PARTICIPANT_FILTER_FIELDS,
    RECORD_FILTER_FIELDS,
    Caller,
    MeetStateParts,
    Participant,
    Record,
    Space,
    matches,
    parse_filter,
)

__all__ = ["RecordsApi"]


class RecordsApi(MeetStateParts):
    """Mixed into MeetState (meet.py), whose state and lock it uses."""

    # -- test controls: conferences -----------------------------------------------------------------------------

    def join(self, space: str, user: str | None = None, anonymous: str | None = None, phone: str | None = None) -> str:
        """Someone joins the space's conference (starting one if none is live). Returns the participant name."""
        with self._lock:
            found = self._space_or_raise(space)
            kind, key, display, user_id = self._identity(user, anonymous, phone)
            now = self._now()
            started = found.active is None
            if started:
                record = Record(self._new_id(self._records, 16), found.id, now)
                self._records[record.id] = record
                found.records.append(record.id)
                found.active = record.id
            record = self._records[found.active]
            participant = record.participants.get((kind, key))
            if participant is None:
                participant = Participant(self._new_id({}, 20), kind, key, display, user_id, now)
                record.participants[(kind, key)] = participant
            elif participant.latest_end is None:
                raise ValueError(f"{key} is already in the conference")
            participant.latest_end = None
            self._live_joined(record, participant, started, now)
            name = f"conferenceRecords/{record.id}/participants/{participant.id}"
            self._admissions[name] = self._admission(found, kind, key)
            return name

    def _identity(self, user: str | None, anonymous: str | None, phone: str | None) -> tuple[str, str, str, str | None]:
        if sum(x is not None for x in (user, anonymous, phone)) != 1:
            raise ValueError("give exactly one of user=, anonymous=, phone=")
        if user is not None:
            u = self._user(user)
            return "signedin", u.email, u.display_name, u.id
        if anonymous is not None:
            return "anonymous", anonymous, anonymous, None
        assert phone is not None
        digits = phone.strip()
        redacted = digits[:4] + "".join("*" if c.isdigit() else c for c in digits[4:-2]) + digits[-2:]
        return "phone", digits, redacted, None

    def leave(
        self, space: str, user: str | None = None, anonymous: str | None = None, phone: str | None = None
    ) -> None:
        """Someone leaves the live conference; it stays live (unless `end_when_empty`)."""
        with self._lock:
            found = self._space_or_raise(space)
            if found.active is None:
                raise ValueError(f"no active conference in spaces/{found.id}")
            kind, key, _, _ = self._identity(user, anonymous, phone)
            record = self._records[found.active]
            participant = record.participants.get((kind, key))
            if participant is None or participant.latest_end is not None:
                raise ValueError(f"{key} is not in the conference")
            participant.latest_end = self._now()
            self._live_left(record, participant, participant.latest_end)
            if self.end_when_empty and all(p.latest_end for p in record.participants.values()):
                self._end(found)

    def end_conference(self, space: str) -> str | None:
        """End the live conference as the system. Returns the record name, or None when none was live."""
        with self._lock:
            found = self._space_or_raise(space)
            return self._end(found) if found.active else None

    def _end(self, space: Space) -> str:
        assert space.active is not None
        record = self._records[space.active]
        now = self._now()
        for participant in record.participants.values():
            if participant.latest_end is None:
                participant.latest_end = now
        record.end = now
        record.expire = now + timedelta(seconds=self.record_ttl_seconds)
        space.active = None
        self._live_ended(record, now)
        return f"conferenceRecords/{record.id}"

    def _record_visible(self, caller: Caller, record: Record) -> bool:
        space = self._spaces[record.space_id]
        if caller.created_only and space.client_id != caller.client_id:
            return False
        if space.owner == caller.user:
            return True
        # unverified: "owner or participant" (§3); whether one conference's participant sees the space's others.
        records = [self._records[r] for r in space.records] if self.participant_sees_all_space_records else [record]
        return any(("signedin", caller.user) in r.participants for r in records)

    def _record_json(self, record: Record) -> dict[str, Any]:
        out = {"name": f"conferenceRecords/{record.id}", "startTime": fmt_time(record.start)}
        if record.end:
            out["endTime"] = fmt_time(record.end)
        if record.expire:
            out["expireTime"] = fmt_time(record.expire)
        out["space"] = f"spaces/{record.space_id}"
        return out

    def api_list_records(self, caller: Caller, query: Mapping[str, str]) -> dict[str, Any]:
        size = parse_page_size(query.get("pageSize"), 25, 100)
        filter_text = query.get("filter", "")
        conditions = parse_filter(filter_text, RECORD_FILTER_FIELDS)
        with self._lock:

            def value(record: Record, name: str) -> Any:
                space = self._spaces[record.space_id]
                return {
                    "space.name": f"spaces/{space.id}",
                    "space.meeting_code": space.code,
                    "start_time": record.start,
                    "end_time": record.end,
                }[name]

            records = [
                r
                for r in self._live_records()
                if self._record_visible(caller, r) and matches(conditions, partial(value, r))
            ]
            digest = query_digest("conferenceRecords", filter_text, caller.user)
            page, token = paginate(records, _by_start, size, query.get("pageToken"), digest)
            return list_body("conferenceRecords", [self._record_json(r) for r in page], token)

    def _visible_record(self, caller: Caller, ident: str) -> Record:
        record = self._records.get(ident)
        if record is None or record not in self._live_records():
            raise ApiError(404)
        if not self._record_visible(caller, record):
            # unverified: status for a record that exists but the caller may not read.
            raise ApiError(
                self.hidden_record_status,
                "Permission denied on resource ConferenceRecord (or it might not exist)"
                if self.hidden_record_status == 403
                else None,
            )
        return record

    def api_get_record(self, caller: Caller, ident: str) -> dict[str, Any]:
        with self._lock:
            return self._record_json(self._visible_record(caller, ident))

    def _participant_json(self, record: Record, p: Participant) -> dict[str, Any]:
        out: dict[str, Any] = {"name": f"conferenceRecords/{record.id}/participants/{p.id}"}
        if p.kind == "signedin":
            out["signedinUser"] = {"user": p.user_id, "displayName": p.display_name}
        elif p.kind == "anonymous":
            out["anonymousUser"] = {"displayName": p.display_name}
        else:
            out["phoneUser"] = {"displayName": p.display_name}
        out["earliestStartTime"] = fmt_time(p.earliest_start)
        if p.latest_end:
            out["latestEndTime"] = fmt_time(p.latest_end)
        return out

    def api_list_participants(self, caller: Caller, ident: str, query: Mapping[str, str]) -> dict[str, Any]:
        size = parse_page_size(query.get("pageSize"), 100, 250)
        filter_text = query.get("filter", "")
        conditions = parse_filter(filter_text, PARTICIPANT_FILTER_FIELDS)
        with self._lock:
            record = self._visible_record(caller, ident)

            people = [p for p in record.participants.values() if matches(conditions, partial(_participant_field, p))]
            digest = query_digest("participants", ident, filter_text, caller.user)
            page, token = paginate(people, _by_join, size, query.get("pageToken"), digest)
            out = list_body("participants", [self._participant_json(record, p) for p in page], token)
            fields = query.get("fields", "")
            if "totalSize" in fields or "total_size" in fields:
                out["totalSize"] = len(people)
            return out


def _by_start(record: Record) -> tuple[str, str]:
    return (time_key(record.start), record.id)


def _by_join(participant: Participant) -> tuple[str, str]:
    return (time_key(participant.earliest_start), participant.id)


def _participant_field(participant: Participant, name: str) -> datetime | None:
    return participant.earliest_start if name == "earliest_start_time" else participant.latest_end
