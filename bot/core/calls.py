"""Slack's own call object for each conference a card shows: registered when the conference is seen live, its
people kept equal to Google's, ended with its duration.

When: at conference start, not at card post. Slack's Calls guide registers a Call when a call is started (or shared)
and ends it with `calls.end`; a Meet space is not a call until someone joins, and the things a Call is made of only
exist from then on: `external_unique_id` is per conference (a space hosts many), `date_start` is the conference's
start. So the card is posted without a `call` block and gains it on the first read that finds the conference live.

People are reconciled, never replayed: every read compares what Google shows as present now with what meetbot last
told Slack, and sends at most one `calls.participants.add` and one `calls.participants.remove`. Reads of a space are
coalesced (core.following), so that is at most one of each per call per refresh window, however many people joined,
and duplicated or reordered events change nothing. If Slack's list differs from meetbot's (a crash between a
Calls request and saving what it did), Slack says `bad_users`; meetbot then reads the call (`calls.info`) and
reconciles from Slack's own list.

Calls are an extra: without the scope, with Calls turned off, or on any Calls error the card works as it did, and
the reason is logged once per workspace.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot.domain import CallRecord, CallUser, LiveState, Phase, SpaceInfo, Tenant

__all__ = [
    "BadUsers", "CallMemory", "Calls", "CallsApi", "CallsUnavailable", "InactiveCall", "LinkedPeople", "NewCall",
    "call_people", "external_id",
]

log = logging.getLogger(__name__)

OFF_FOR = 60 * 60.0  # after a lasting refusal (no scope, Calls turned off), Calls are not tried again for this long
GUEST, PHONE, SOMEONE = "Guest", "Phone caller", "Google user"


class CallsUnavailable(Exception):
    """Slack refused or failed a Calls request. `lasting`: it will refuse again (scope, Calls turned off)."""

    def __init__(self, reason: str, *, lasting: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lasting = lasting


class BadUsers(Exception):
    """Slack's participant list is not what meetbot thought (someone added is already in, or removed is not)."""


class InactiveCall(Exception):
    """The call was already ended."""


@dataclass(frozen=True, slots=True)
class NewCall:
    unique_id: str
    join_url: str
    display_id: str | None
    title: str
    created_by: str
    date_start: int | None
    users: tuple[CallUser, ...]


class CallsApi(Protocol):
    """Slack's Calls API for one workspace (bot/slack/calls.py). Every failure is one of the errors above."""

    async def add(self, tenant: Tenant, call: NewCall) -> str: ...

    async def add_people(self, tenant: Tenant, call_id: str, users: Sequence[CallUser]) -> None: ...

    async def remove_people(self, tenant: Tenant, call_id: str, users: Sequence[CallUser]) -> None: ...

    async def people(self, tenant: Tenant, call_id: str) -> tuple[CallUser, ...]: ...

    async def end(self, tenant: Tenant, call_id: str, duration: int | None) -> None: ...


class CallMemory(Protocol):
    async def get(self, tenant: Tenant, conference: str) -> CallRecord | None: ...

    async def save(self, tenant: Tenant, conference: str, record: CallRecord) -> None: ...

    async def off(self, tenant: Tenant) -> str | None:
        """Why Calls are off for the workspace for now, if they are."""
        ...

    async def turn_off(self, tenant: Tenant, reason: str, seconds: float) -> None: ...

    async def first_notice(self, tenant: Tenant, reason: str) -> bool:
        """True once per workspace and reason (for a while): whether to log it."""
        ...


class LinkedPeople(Protocol):
    async def slack_users(self, tenant: Tenant, google_users: Sequence[str]) -> Mapping[str, str]:
        """Google "users/{id}" → the Slack user of this workspace whose linked Google account it is."""
        ...


def external_id(participant_name: str) -> str:
    """An opaque, stable id for someone Slack doesn't know: derived from Google's participant resource name (one
    per person per conference), never from an email."""
    return "gm-" + hashlib.sha256(participant_name.encode()).hexdigest()[:24]


def call_people(state: LiveState, linked: Mapping[str, str]) -> tuple[CallUser, ...]:
    """Who Slack's call should show: the people Google shows as present now, in order of first join."""
    people: dict[str, CallUser] = {}
    for attendee in state.present:
        if attendee.kind == "person" and attendee.user and attendee.user in linked:
            user = CallUser(slack_id=linked[attendee.user])
        elif attendee.kind == "guest":
            user = CallUser(external_id=external_id(attendee.name), display_name=GUEST)
        elif attendee.kind == "phone":
            user = CallUser(external_id=external_id(attendee.name), display_name=PHONE)
        else:
            named = attendee.display_name and "@" not in attendee.display_name  # a name, never an email
            user = CallUser(external_id=external_id(attendee.name),
                            display_name=attendee.display_name if named else SOMEONE)
        people.setdefault(user.key, user)
    return tuple(people.values())


def _diff(wanted: Sequence[CallUser], told: Sequence[CallUser]) -> tuple[list[CallUser], list[CallUser]]:
    wanted_keys, told_keys = {u.key for u in wanted}, {u.key for u in told}
    return [u for u in wanted if u.key not in told_keys], [u for u in told if u.key not in wanted_keys]


class Calls:
    def __init__(self, api: CallsApi, memory: CallMemory, linked: LinkedPeople) -> None:
        self._api = api
        self._memory = memory
        self._linked = linked

    async def current(self, tenant: Tenant, state: LiveState) -> str | None:
        """The call a card showing `state` carries, without asking Slack anything."""
        if state.conference is None or await self._memory.off(tenant):
            return None
        record = await self._memory.get(tenant, state.conference)
        return record.call_id if record else None

    async def sync(self, tenant: Tenant, state: LiveState, previous: LiveState | None, info: SpaceInfo | None,
                   created_by: str, *, show_people: bool) -> str | None:
        """Bring Slack's call for the conference in `state` in line with it; the call id the cards should carry."""
        if await self._memory.off(tenant):
            return None
        try:
            if previous is not None and previous.conference and previous.conference != state.conference:
                await self._end(tenant, previous)  # a new conference: the old call is over, whatever was missed
            if state.conference is None:
                return None
            record = await self._memory.get(tenant, state.conference)
            if record is None:
                if state.phase is not Phase.LIVE:
                    return None  # a call that ended between two reads: the card's status line tells it
                return await self._register(tenant, state, info, created_by, show_people)
            if record.ended:
                return record.call_id
            if state.phase is Phase.ENDED:
                await self._end(tenant, state, record)
                return record.call_id
            await self._reconcile(tenant, state.conference, record, await self._wanted(tenant, state, show_people))
            return record.call_id
        except CallsUnavailable as error:
            await self._unavailable(tenant, error)
            return None if error.lasting else await self.current(tenant, state)

    async def _wanted(self, tenant: Tenant, state: LiveState, show_people: bool) -> tuple[CallUser, ...]:
        if not show_people:
            return ()
        users = [a.user for a in state.present if a.kind == "person" and a.user]
        linked = await self._linked.slack_users(tenant, users) if users else {}
        return call_people(state, linked)

    async def _register(self, tenant: Tenant, state: LiveState, info: SpaceInfo | None, created_by: str,
                        show_people: bool) -> str | None:
        conference = state.conference or ""
        join_url = info.meeting_uri if info else None
        if not join_url:
            return None  # nothing to join by: Slack needs a join_url
        people = await self._wanted(tenant, state, show_people)
        call_id = await self._api.add(tenant, NewCall(
            unique_id=f"{tenant.team_id}/{conference}",  # a conference is unique; one Slack call per workspace
            join_url=join_url,
            display_id=info.meeting_code if info else None,
            title=(info.title if info else None) or "Google Meet",
            created_by=created_by,
            date_start=int(state.started_at) if state.started_at else None,
            users=people,
        ))
        await self._memory.save(tenant, conference, CallRecord(call_id, people))
        return call_id

    async def _reconcile(self, tenant: Tenant, conference: str, record: CallRecord,
                         wanted: tuple[CallUser, ...]) -> None:
        try:
            try:
                await self._apply(tenant, conference, record, wanted)
            except BadUsers:
                told = replace(record, people=await self._api.people(tenant, record.call_id))  # Slack's own list
                await self._memory.save(tenant, conference, told)
                with contextlib.suppress(BadUsers):  # changed again meanwhile: the next read tries again
                    await self._apply(tenant, conference, told, wanted)
        except InactiveCall:
            await self._memory.save(tenant, conference, replace(record, ended=True))

    async def _apply(self, tenant: Tenant, conference: str, record: CallRecord,
                     wanted: tuple[CallUser, ...]) -> CallRecord:
        joined, left = _diff(wanted, record.people)
        if joined:
            await self._api.add_people(tenant, record.call_id, joined)
            record = replace(record, people=(*record.people, *joined))
            await self._memory.save(tenant, conference, record)
        if left:
            await self._api.remove_people(tenant, record.call_id, left)
            gone = {u.key for u in left}
            record = replace(record, people=tuple(u for u in record.people if u.key not in gone))
            await self._memory.save(tenant, conference, record)
        return record

    async def _end(self, tenant: Tenant, state: LiveState, record: CallRecord | None = None) -> None:
        conference = state.conference or ""
        record = record or await self._memory.get(tenant, conference)
        if record is None or record.ended:
            return
        duration = int(state.ended_at - state.started_at) if state.ended_at and state.started_at else None
        with contextlib.suppress(InactiveCall):  # someone (another process) ended it already
            await self._api.end(tenant, record.call_id, duration)
        await self._memory.save(tenant, conference, replace(record, ended=True))

    async def _unavailable(self, tenant: Tenant, error: CallsUnavailable) -> None:
        if error.lasting:
            await self._memory.turn_off(tenant, error.reason, OFF_FOR)
        if await self._memory.first_notice(tenant, error.reason):
            log.warning("Slack calls for workspace %s: %s; meeting cards work without them%s", tenant.team_id,
                        error.reason, " (add the calls:write scope and reinstall)" if "scope" in error.reason
                        else "")
