"""Meeting use cases: start, status, end, settings, history and attendance, always as the user who asked.

Every Google call carries the caller's own token. Role checks are Google's: meetbot reads what Google shows the
caller (config only for owners, the active conference only for owners and participants) and never widens it.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeVar

from bot.core.errors import (
    BadReference,
    NothingLive,
    NotOwner,
    ServiceUnavailable,
    UnknownMeeting,
    UserFacingError,
)
from bot.core.explain import Operation, explain
from bot.core.following import Following, Reader
from bot.core.ports import Progress, SpaceMemory
from bot.core.settings_catalog import check_dependencies, config_with, read_path
from bot.domain import Actor, Card, Phase, SpaceInfo, Tenant, space_id_of
from bot.googleapi.errors import GoogleApiError, NotFound, PermissionDenied
from bot.meet.client import MeetClient
from bot.meet.errors import InvalidMeetingReference
from bot.meet.links import MeetingRef, parse_reference
from bot.meet.models import AccessType, ConferenceRecord, Participant, ParticipantSession, Space, SpaceConfig

__all__ = [
    "Actor",
    "Attendance",
    "Attendee",
    "ConferenceSummary",
    "EndedMeeting",
    "History",
    "MeetingStatus",
    "Meetings",
    "SettingChange",
    "StartedMeeting",
]

class Credentials(Protocol):
    async def get_access_token(self, tenant: Tenant, user_id: str) -> str: ...

    async def reject_access_token(self, tenant: Tenant, user_id: str, token: str) -> None: ...

    async def granted_scopes(self, tenant: Tenant, user_id: str) -> tuple[str, ...]: ...


class _Caller:
    """One operation's credential, as the actor (following.Reader: read once, on a 401 refreshed and retried
    once), and Google's refusals explained in the operation's words."""

    def __init__(self, credentials: Credentials, actor: Actor) -> None:
        self._reader = Reader(credentials, actor.tenant, actor.user_id)

    async def call(self, operation: Operation, label: str, request: Callable[[str], Awaitable[T]],
                   owner_user_id: str | None = None, *, made_by_meetbot: bool = True) -> T:
        try:
            return await self._reader.call(request)
        except GoogleApiError as error:
            raise explain(error, operation, label, owner_user_id, made_by_meetbot=made_by_meetbot) from error
Role = Literal["owner", "participant", "other"]
T = TypeVar("T")
PRESENT = "latest_end_time IS NULL"
MAX_LISTED_PARTICIPANTS = 50


@dataclass(frozen=True, slots=True)
class StartedMeeting:
    space: Space
    title: str | None
    access: AccessType | None


@dataclass(frozen=True, slots=True)
class MeetingStatus:
    space: Space
    role: Role
    label: str
    info: SpaceInfo | None
    started_at: datetime | None = None
    participants: tuple[Participant, ...] | None = None  # None: not visible to the caller
    manageable: bool = False  # the caller may end it and change its settings through meetbot


# Config fields Google fills for the owner; a non-owner shown a config at all (Google doesn't document whether
# it does) is not expected to see these. Access type and entry points are left out: anyone joining sees them.
_OWNER_ONLY_CONFIG = ("moderation", "moderation_restrictions", "artifact_config", "attendance_report_generation_type")
SETTINGS_SCOPE = "https://www.googleapis.com/auth/meetings.space.settings"
END_ASKED = "end-asked"  # progress step: when a job first asked Google to end the call
CLOCK_SKEW = 2.0  # seconds: Google's and our clocks may disagree this much (NTP keeps both far closer)


def role_of(actor: Actor, space: Space, info: SpaceInfo | None) -> Role:
    """Who the caller is to the space, from evidence: meetbot's own record of who started it first, then an
    owner-only config field (never the mere presence of `config`), then whether Google shows the live call.
    The config is only a first sign (Google may show it to others too): `Meetings.role` confirms it."""
    if info is not None and info.owner_user_id:
        owner = info.owner_user_id == actor.user_id
    else:
        owner = shows_owner_config(space)
    if owner:
        return "owner"
    return "participant" if space.is_live else "other"


async def confirmed_role(actor: Actor, space: Space, info: SpaceInfo | None,
                         read_members: Callable[[], Awaitable[object]]) -> Role:
    """`role_of`, with the owner of a space meetbot has no record of confirmed by a second owner-only read (its
    members, `read_members` as the actor): whether Google shows `config` to others is undocumented, and meetbot
    never widens the role table on the strength of one guess."""
    role = role_of(actor, space, info)
    if role != "owner" or (info is not None and info.owner_user_id):
        return role
    try:
        await read_members()
    except (UserFacingError, PermissionDenied, NotFound):  # refused: not theirs after all
        return "participant" if space.is_live else "other"
    return "owner"


def shows_owner_config(space: Space) -> bool:
    config = space.config
    return config is not None and any(getattr(config, f) is not None for f in _OWNER_ONLY_CONFIG)


@dataclass(frozen=True, slots=True)
class EndedMeeting:
    space_name: str
    label: str
    info: SpaceInfo | None
    record: ConferenceRecord | None


@dataclass(frozen=True, slots=True)
class SettingChange:
    path: str
    old: enum.Enum | None
    new: enum.Enum | None


@dataclass(frozen=True, slots=True)
class ConferenceSummary:
    record: ConferenceRecord
    participants: tuple[Participant, ...]


@dataclass(frozen=True, slots=True)
class History:
    space_name: str
    label: str
    calls: list[ConferenceSummary]  # newest first
    info: SpaceInfo | None = None


@dataclass(frozen=True, slots=True)
class Attendee:
    participant: Participant
    sessions: tuple[ParticipantSession, ...]  # each time they joined, oldest first

    def seconds(self, now: datetime) -> float:
        """Time in the call, summed over their sessions (one still connected counts until `now`)."""
        return sum(((s.end_time or now) - s.start_time).total_seconds() for s in self.sessions if s.start_time)


@dataclass(frozen=True, slots=True)
class Attendance:
    """Who came to a meeting's latest call (`record` None: nobody has met in it yet), in the order they joined."""

    space_name: str
    label: str
    record: ConferenceRecord | None
    people: tuple[Attendee, ...]


_DAWN = datetime.min.replace(tzinfo=UTC)
ATTENDANCE_READS = 8  # participantSessions.list calls in flight at once: one a person, 100 people in a big call


def parse(reference: str) -> MeetingRef:
    try:
        return parse_reference(reference)
    except InvalidMeetingReference as error:
        raise BadReference(error.reason) from None


def label_of(ref: MeetingRef, info: SpaceInfo | None = None) -> str:
    """How to name the meeting to a person: its code (as typed, or as meetbot knows it), else its resource name."""
    if ref.kind == "code":
        return ref.value
    return info.meeting_code if info is not None and info.meeting_code else ref.resource_name


class Meetings:
    def __init__(self, meet: MeetClient, credentials: Credentials, records: SpaceMemory,
                 following: Following | None = None) -> None:
        self._meet = meet
        self._credentials = credentials
        self._records = records
        self._following = following

    def _as(self, actor: Actor) -> _Caller:
        return _Caller(self._credentials, actor)

    async def role(self, actor: Actor, space: Space, info: SpaceInfo | None, caller: _Caller | None = None) -> Role:
        """`confirmed_role`, reading as the actor."""
        def members() -> Awaitable[object]:
            return (caller or self._as(actor)).call("read", space.name, lambda token: self._meet.list_members(
                token, space.name, page_size=1))

        return await confirmed_role(actor, space, info, members)

    # --- start -------------------------------------------------------------------------------------------------

    async def start(self, actor: Actor, title: str | None, access: AccessType | None) -> StartedMeeting:
        config = SpaceConfig(access_type=access) if access is not None else None
        space = await self._as(actor).call(
            "create", "a new meeting", lambda token: self._meet.create_space(token, config))
        return StartedMeeting(space, title, access)

    async def remember_started(self, actor: Actor, started: StartedMeeting, card: Card | None) -> bool:
        """Remember who started what and where its card is; True when the starter's Home tab shows meetings."""
        info = SpaceInfo(
            space_name=started.space.name,
            meeting_code=started.space.meeting_code,
            meeting_uri=started.space.meeting_uri,
            owner_user_id=actor.user_id,
            title=started.title,
            created_at=time.time(),
        )
        return await self._records.remember_created(actor.tenant, info, card)

    async def add_card(self, actor: Actor, space_name: str, card: Card, follower: str | None = None, *,
                       owners: bool = True) -> None:
        """Remember a card showing the space, and follow the meeting so the card stays true. It is read with the
        token of `follower` (default: whoever posted it), the person who chose to share it. `owners=False`: the
        follower doesn't own the meeting, so an owner already following it keeps doing so for their own cards."""
        await self._records.add_card(actor.tenant, space_id_of(space_name), card)
        if self._following is not None:
            await self._following.follow(actor.tenant, space_name, follower or actor.user_id, keep=not owners)

    @property
    def follows(self) -> bool:
        """Whether cards are kept true by following their meetings (else they change only on a user's action)."""
        return self._following is not None and self._following.enabled

    async def noticed(self, tenant: Tenant, space_name: str, *, live: bool = False) -> None:
        """Someone looked at or changed the space: a followed one is read again soon (coalesced). `live`: they
        saw a call on (or are joining one), so a space whose cards meetbot had stopped following is followed
        again: a card is either kept true or says it no longer is."""
        if self._following is None:
            return
        if live:
            await self._following.revive(tenant, space_name)
        else:
            await self._following.poke(tenant, space_name)

    async def followed_empty(self, tenant: Tenant, space_name: str) -> bool:
        """Whether following shows the call live with nobody in it (the End dialog then removes nobody)."""
        state = await self._following.shown_state(tenant, space_name) if self._following is not None else None
        return state is not None and state.phase is Phase.LIVE and not state.present and not state.unfollowed_at

    async def cards(self, tenant: Tenant, space_name: str) -> list[Card]:
        return await self._records.cards(tenant, space_id_of(space_name))

    async def forget_cards(self, tenant: Tenant, space_name: str, cards: list[Card]) -> None:
        await self._records.forget_cards(tenant, space_id_of(space_name), cards)

    async def info(self, tenant: Tenant, space_name: str) -> SpaceInfo | None:
        return await self._records.info(tenant, space_id_of(space_name))

    async def may_manage(self, actor: Actor, space_name: str, change: Literal["end", "settings"],
                         label: str | None = None) -> str:
        """Before any dialog opens on a card's End or Settings: the meeting's name to show, or NotOwner when
        meetbot knows someone else owns it. No Google call: Google decides again when the owner acts."""
        info = await self.info(actor.tenant, space_name)
        name = label or (info.meeting_code if info and info.meeting_code else space_name)
        owner = info.owner_user_id if info else None
        if owner and owner != actor.user_id:
            doing = "end" if change == "end" else "change the settings of"
            raise NotOwner(f"Only the meeting's owner can {doing} {name}.", owner)
        return name

    async def recent(self, actor: Actor, limit: int = 10) -> list[SpaceInfo]:
        return await self._records.recent(actor.tenant, actor.user_id, limit)

    # --- reading -----------------------------------------------------------------------------------------------

    async def _read(self, actor: Actor, ref: MeetingRef, caller: _Caller) -> tuple[Space, SpaceInfo | None]:
        """Get the space as the caller sees it (a code alias is fine for reads), then, in one Redis round trip,
        remember its code → id for later writes and load what meetbot knows of it."""
        space = await caller.call("read", label_of(ref), lambda token: self._meet.get_space(token, ref.resource_name))
        info = await self._records.learned(actor.tenant, space.name, ref.value if ref.kind == "code" else None)
        return space, info

    async def _space_name(self, actor: Actor, ref: MeetingRef, caller: _Caller) -> str:
        """Writes take only `spaces/{id}`: resolve a code to its id first (cached), never send the alias."""
        if ref.kind == "space":
            return ref.resource_name
        cached = await self._records.space_for_code(ref.value)
        return cached if cached is not None else (await self._read(actor, ref, caller))[0].name

    async def lookup(self, actor: Actor, reference: str) -> Space:
        """The space as Google shows it to this caller (at least its id, code and link)."""
        return (await self._read(actor, parse(reference), self._as(actor)))[0]

    async def public(self, actor: Actor, reference: str) -> tuple[Space, SpaceInfo | None]:
        """What anyone may see: the space as Google shows it to everyone, and meetbot's record of it (title)."""
        return await self._read(actor, parse(reference), self._as(actor))

    async def shown_info(self, actor: Actor, info: SpaceInfo | None, channel_id: str | None, *, private: bool
                         ) -> SpaceInfo | None:
        """meetbot's record as it may be shown in `channel_id` (None: no channel, such as the Home tab). A title only
        meetbot knows was typed for the channel where the card was posted: it shows there, and privately to the
        owner and the co-hosts meetbot added; anywhere else the meeting goes by its code (DESIGN §1)."""
        if info is None or not info.title:
            return info
        if private and (actor.user_id == info.owner_user_id or actor.user_id in info.cohosts):
            return info
        if channel_id and any(c.channel == channel_id for c in await self.cards(actor.tenant, info.space_name)):
            return info
        return replace(info, title=None)

    async def status(self, actor: Actor, reference: str, channel_id: str | None = None) -> MeetingStatus:
        """The caller's private view, asked from `channel_id` (which decides whether meetbot's title shows)."""
        ref = parse(reference)
        caller = self._as(actor)
        space, info = await self._read(actor, ref, caller)
        info = await self.shown_info(actor, info, channel_id, private=True)
        label = space.meeting_code or label_of(ref, info)
        role = await self.role(actor, space, info, caller)
        manageable = role == "owner" and (info is not None or SETTINGS_SCOPE in await self._credentials.granted_scopes(
            actor.tenant, actor.user_id))
        record_name = space.active_conference.conference_record if space.active_conference else None
        if not record_name:
            return MeetingStatus(space, role, label, info, manageable=manageable)
        record, present = await asyncio.gather(
            caller.call("read", label, lambda token: self._meet.get_conference_record(token, record_name)),
            caller.call("read", label, lambda token: self._meet.list_participants(
                token, record_name, limit=MAX_LISTED_PARTICIPANTS + 1, filter=PRESENT)),
        )
        return MeetingStatus(space, role, label, info, record.start_time, tuple(present), manageable)

    # --- end ---------------------------------------------------------------------------------------------------

    async def end(self, actor: Actor, reference: str, label: str | None = None,
                  progress: Progress | None = None) -> EndedMeeting:
        """End the live call. "Nothing live" is decided from state, not from one error code: Google's answer
        when nothing is live is undocumented (400, 404 and an empty 200 are all plausible).

        With the job's `progress`, a re-run (the process died after asking Google) knows when it first asked: a
        call that ended since then was ended by this very request, and that is what it says, not "no live call"."""
        ref = parse(reference)
        caller = self._as(actor)
        name = await self._space_name(actor, ref, caller)
        info = await self._records.info(actor.tenant, space_id_of(name))
        label = label or label_of(ref, info)
        owner = info.owner_user_id if info else None
        first_asked = (await progress.done()).get(END_ASKED) if progress is not None else None
        asked_at = float(first_asked) if first_asked else time.time()
        if progress is not None and not first_asked:
            await progress.note(END_ASKED, repr(asked_at))  # before Google is asked: a re-run knows it may be done
        try:
            try:
                await caller.call("end", label, lambda token: self._meet.end_active_conference(token, name), owner,
                                  made_by_meetbot=info is not None)
            except UnknownMeeting:
                await self._nothing_live_or_unknown(actor, ref, name, label, caller)
                raise
        except NothingLive:
            if not first_asked:
                raise
            _, record = await self._latest_record(caller, name)
            if record is None or record.end_time is None or record.end_time.timestamp() < asked_at - CLOCK_SKEW:
                raise
            return EndedMeeting(name, label, info, record)  # this request's own first run ended it
        known, record = await self._latest_record(caller, name)
        if known and (record is None or (record.end_time is not None
                                          and record.end_time.timestamp() < asked_at - CLOCK_SKEW)):
            raise NothingLive(f"There's no live call in {label} to end: nobody is in it right now.")
        return EndedMeeting(name, label, info, record)

    async def _nothing_live_or_unknown(self, actor: Actor, ref: MeetingRef, name: str, label: str,
                                       caller: _Caller) -> None:
        """A 404 on end: the space may be gone, the caller may not own it, or (guesses about Google) it is merely
        idle. Ask Google for the space as the caller sees it, and say which."""
        try:
            space = await caller.call("read", label, lambda token: self._meet.get_space(token, name))
        except UnknownMeeting:
            if ref.kind == "code":
                await self._records.forget_code(ref.value)
            return
        info = await self._records.info(actor.tenant, space.space_id)
        if await self.role(actor, space, info, caller) != "owner":
            raise NotOwner(f"Only the meeting's owner can end {label}.", info.owner_user_id if info else None)
        if space.is_live:
            raise ServiceUnavailable(f"Google didn't end the call in {label}. Please check it and try again in a "
                                     "minute.")
        raise NothingLive(f"There's no live call in {label} to end: nobody is in it right now.")

    async def _latest_record(self, caller: _Caller, space_name: str) -> tuple[bool, ConferenceRecord | None]:
        """(whether Google answered, its newest conference record of the space)."""
        try:
            records = await caller.call("history", space_name, lambda token: self._meet.list_conference_records(
                token, f'space.name = "{space_name}"', limit=1))
        except UserFacingError:
            return False, None
        return True, records[0] if records else None

    async def latest_call(self, actor: Actor, space_name: str) -> ConferenceRecord | None:
        """The newest conference in the space as Google shows it to the caller (None: none, or not visible)."""
        return (await self._latest_record(self._as(actor), space_name))[1]

    # --- settings ----------------------------------------------------------------------------------------------

    async def _owned(self, actor: Actor, ref: MeetingRef, caller: _Caller) -> tuple[Space, SpaceInfo | None]:
        space, info = await self._read(actor, ref, caller)
        if await self.role(actor, space, info, caller) != "owner":
            owner = info.owner_user_id if info else None
            label = space.meeting_code or label_of(ref, info)
            raise NotOwner(f"Only the meeting's owner can see or change the settings of {label}.", owner)
        return space, info

    async def check_known_owner(self, actor: Actor, reference: str) -> None:
        """Refuse a non-owner from meetbot's own record (no Google call): fast enough to answer before a dialog
        opens. A meeting meetbot has no record of is checked by Google when it is read."""
        try:
            ref = parse(reference)
        except BadReference:
            return  # the read that follows says what's wrong with it
        space_name = ref.resource_name if ref.kind == "space" else await self._records.space_for_code(ref.value)
        info = await self.info(actor.tenant, space_name) if space_name else None
        if info is not None and info.owner_user_id and info.owner_user_id != actor.user_id:
            label = info.meeting_code or label_of(ref, info)
            raise NotOwner(f"Only the meeting's owner can see or change the settings of {label}.", info.owner_user_id)

    async def settings(self, actor: Actor, reference: str) -> Space:
        """The space with its config; only its owner may see that."""
        return (await self._owned(actor, parse(reference), self._as(actor)))[0]

    async def change_settings(
        self, actor: Actor, reference: str, changes: Mapping[str, enum.Enum]
    ) -> tuple[Space, list[SettingChange]]:
        """Patch only the fields whose value differs, with an exact mask; report old → new per field."""
        ref = parse(reference)
        caller = self._as(actor)
        space, info = await self._owned(actor, ref, caller)
        current = space.config or SpaceConfig()
        check_dependencies(current, changes)
        differing = {path: value for path, value in changes.items() if read_path(current, path) is not value}
        if not differing:
            return space, []
        patch = config_with(SpaceConfig(), differing)
        label = space.meeting_code or label_of(ref, info)
        updated = await caller.call("patch", label, lambda token: self._meet.patch_space(
            token, space.name, patch, list(differing)), info.owner_user_id if info else None,
            made_by_meetbot=info is not None)
        report = [SettingChange(p, read_path(current, p), read_path(updated.config, p)) for p in differing]
        return updated, report

    # --- history -----------------------------------------------------------------------------------------------

    async def history(self, actor: Actor, reference: str, limit: int = 10) -> History:
        ref = parse(reference)
        caller = self._as(actor)
        name = await self._space_name(actor, ref, caller)
        info = await self._records.info(actor.tenant, space_id_of(name))
        label = label_of(ref, info)
        records = await caller.call("history", label, lambda token: self._meet.list_conference_records(
            token, f'space.name = "{name}"', limit=limit))

        async def people(record: ConferenceRecord) -> tuple[Participant, ...]:
            found = await caller.call("history", label, lambda token: self._meet.list_participants(token, record.name))
            return tuple(found)

        everyone = await asyncio.gather(*(people(r) for r in records))
        return History(name, label, [ConferenceSummary(r, p) for r, p in zip(records, everyone, strict=True)], info)

    # --- attendance --------------------------------------------------------------------------------------------

    async def attendance(self, actor: Actor, reference: str) -> Attendance:
        """The latest call's attendance, for the meeting's owner only: each person with their sessions."""
        ref = parse(reference)
        caller = self._as(actor)
        space, info = await self._read(actor, ref, caller)
        label = space.meeting_code or label_of(ref, info)
        if await self.role(actor, space, info, caller) != "owner":
            raise NotOwner(f"Only the meeting's owner can see who came to {label}.",
                           info.owner_user_id if info else None)
        records = await caller.call("history", label, lambda token: self._meet.list_conference_records(
            token, f'space.name = "{space.name}"', limit=1))
        if not records:
            return Attendance(space.name, label, None, ())
        record = records[0]
        people = await caller.call("history", label, lambda token: self._meet.list_participants(token, record.name))
        gate = asyncio.Semaphore(ATTENDANCE_READS)

        async def attendee(person: Participant) -> Attendee:
            async with gate:
                found = await caller.call("history", label, lambda token: self._meet.list_participant_sessions(
                    token, person.name))
            return Attendee(person, tuple(sorted(found, key=lambda s: s.start_time or _DAWN)))

        everyone = await asyncio.gather(*(attendee(p) for p in people))
        joined = sorted(everyone, key=lambda a: a.participant.earliest_start_time or _DAWN)
        return Attendance(space.name, label, record, tuple(joined))
