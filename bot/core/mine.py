"""`/meet mine`: follow every Google Meet a linked person can see running, wherever it started, and recap in a DM
each one they own or organised when it ends. Google lists them the meetings they only joined too: those show on
their Home while live and are then dropped unread (who came is the owner's to see, DESIGN §1).

The feed is polling by default: every `MEET_POLL_SECONDS`, one `conferenceRecords.list` with `end_time IS NULL` as
that person (one read however many meetings they have). A conference that was listed and no longer is has ended:
it is then read once in full (record, participants, files), and its files are looked for until Google has them all
or FILES_FOR has passed, as the card recaps do. Everything is read with the person's own token, for them only.

A space meetbot already shows on a card gets its recap in the card's thread: the person gets no DM for it unless
they chose `both`; its live state is not read here again (the card's following already reads it).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol

from bot.core.errors import NotLinked, ReauthRequired, UserFacingError
from bot.core.event_feed import PersonalFeed
from bot.core.following import (
    COALESCE,
    FALLBACK_POLL,
    FILE_POLL_FACTOR,
    FILES_FOR,
    LEASE,
    SAFETY_NET,
    Reader,
    Schedule,
    Tokens,
)
from bot.core.live import ARTIFACT_WORDS, LiveState, observed, produced
from bot.core.meetings import confirmed_role
from bot.core.ports import SpaceMemory
from bot.domain import Actor, PersonalMeeting, Phase, Tenant, space_id_of
from bot.googleapi.errors import GoogleApiError
from bot.meet.client import MeetClient
from bot.meet.models import Artifact, ArtifactKind, ConferenceRecord

__all__ = ["BOTH", "LIVE_FILTER", "ON", "Mine", "MineMemory", "MineUpdate"]

ON, BOTH = "on", "both"  # both: a DM recap even for meetings whose card already gets one in its thread
LIVE_FILTER = "end_time IS NULL"
BACKOFF = 300.0
RECENT = 5  # meetings whose recap is complete, kept for the person's Home tab


class MineMemory(Protocol):
    async def mode(self, tenant: Tenant, user_id: str) -> str | None: ...

    async def turn_on(self, tenant: Tenant, user_id: str, mode: str) -> None: ...

    async def turn_off(self, tenant: Tenant, user_id: str) -> bool: ...

    async def people(self, tenant: Tenant) -> list[str]: ...

    async def followed(self, tenant: Tenant, user_id: str) -> dict[str, PersonalMeeting]: ...

    async def keep(self, tenant: Tenant, user_id: str, meeting: PersonalMeeting) -> None: ...

    async def drop(self, tenant: Tenant, user_id: str, conference: str) -> None: ...


@dataclass(frozen=True, slots=True)
class MineUpdate:
    """A conference of the person's that ended (or whose files arrived): its recap is due or needs an edit."""

    user_id: str
    meeting: PersonalMeeting


# Told after each read what is running and what was followed before it (presence in their own calls: core.own_calls).
Watcher = Callable[[Tenant, str, Sequence[ConferenceRecord], Mapping[str, PersonalMeeting], Reader], Awaitable[None]]


class Mine:
    def __init__(self, meet: MeetClient, tokens: Tokens, spaces: SpaceMemory, memory: MineMemory,
                 schedule: Schedule, poll_seconds: float, *, feed: PersonalFeed | None = None,
                 google_user: Callable[[Tenant, str], Awaitable[str | None]] | None = None,
                 watch: Watcher | None = None, coalesce: float = COALESCE,
                 clock: Callable[[], float] = time.time) -> None:
        self._meet = meet
        self._tokens = tokens
        self._spaces = spaces
        self._memory = memory
        self._schedule = schedule
        self._poll = poll_seconds
        self._feed = feed  # Workspace Events: a user-target subscription each; polling is then a safety net
        self._google_user = google_user  # the person's signed-in Google user id, the subscription's target
        self._watch = watch
        self._coalesce = coalesce
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._poll > 0 or self._feed is not None

    async def poke(self, tenant: Tenant, user_id: str) -> bool:
        """An event for one of the person's meetings: read soon, coalesced."""
        return await self._schedule.poke(tenant, user_id, self._clock(), self._coalesce)

    async def mode(self, tenant: Tenant, user_id: str) -> str | None:
        return await self._memory.mode(tenant, user_id)

    async def turn_on(self, tenant: Tenant, user_id: str, mode: str = ON) -> None:
        """The caller must be linked (checked first, so nothing is kept for someone meetbot can't read for)."""
        await self._tokens.get_access_token(tenant, user_id)
        await self._memory.turn_on(tenant, user_id, mode)
        await self._schedule.at(tenant, user_id, self._clock())

    async def turn_off(self, tenant: Tenant, user_id: str) -> bool:
        """Stops every read and deletes what was kept. Also on disconnect, a revoked grant and an uninstall."""
        await self._schedule.drop(tenant, user_id)
        if self._watch is not None:  # nothing will see them leave the calls only mine saw: over for them now
            followed = await self._memory.followed(tenant, user_id)
            if followed:
                await self._watch(tenant, user_id, (), followed, Reader(self._tokens, tenant, user_id))
        if self._feed is not None:  # their grant may be gone already: the subscription then expires by itself
            with contextlib.suppress(UserFacingError):
                await self._feed.release(tenant, user_id, Reader(self._tokens, tenant, user_id).call)
        return await self._memory.turn_off(tenant, user_id)

    async def forget(self, tenant: Tenant, user_ids: list[str] | None = None) -> None:
        """Slack revoked these users (None: the whole workspace uninstalled meetbot)."""
        for user_id in user_ids if user_ids is not None else await self._memory.people(tenant):
            await self.turn_off(tenant, user_id)

    async def due(self, limit: int) -> list[tuple[Tenant, str]]:
        return await self._schedule.claim(self._clock(), LEASE, limit)

    async def meetings(self, tenant: Tenant, user_id: str) -> list[PersonalMeeting]:
        """What Home shows: the person's meetings, live ones first, then the newest ended."""
        found = (await self._memory.followed(tenant, user_id)).values()
        return sorted(found, key=lambda m: (m.state.phase is not Phase.LIVE, -(m.state.started_at or 0.0)))

    async def read(self, tenant: Tenant, user_id: str) -> list[MineUpdate]:
        """One scheduled read for the person; the recaps it calls for."""
        mode = await self._memory.mode(tenant, user_id)
        if mode is None or not self.enabled:
            await self._schedule.drop(tenant, user_id)
            return []
        now = self._clock()
        reader = Reader(self._tokens, tenant, user_id)
        try:
            events = await self._events(reader, tenant, user_id)
            updates = await self._read(reader, tenant, user_id, mode, now, events)
        except (NotLinked, ReauthRequired):
            await self.turn_off(tenant, user_id)  # their grant is gone: nothing more is read or kept
            return []
        except GoogleApiError:
            await self._schedule.at(tenant, user_id, now + BACKOFF)
            raise
        await self._schedule.at(tenant, user_id, now + (SAFETY_NET if events else self._poll or FALLBACK_POLL),
                                read_at=now)
        return updates

    async def _events(self, reader: Reader, tenant: Tenant, user_id: str) -> bool:
        """With Workspace Events: their subscription made or renewed; whether events flow for them."""
        if self._feed is None or self._google_user is None:
            return False
        google_user = await self._google_user(tenant, user_id)
        return bool(google_user) and await self._feed.keep(tenant, user_id, google_user or "", reader.call)

    async def _read(self, reader: Reader, tenant: Tenant, user_id: str, mode: str, now: float, events: bool
                    ) -> list[MineUpdate]:
        running = await reader.call(lambda token: self._meet.list_conference_records(token, LIVE_FILTER))
        followed = await self._memory.followed(tenant, user_id)
        if self._watch is not None:
            await self._watch(tenant, user_id, running, followed, reader)
        for record in running:
            if record.name in followed or not record.space:
                continue
            if mode != BOTH and await self._spaces.cards(tenant, space_id_of(record.space)):
                continue  # a card shows it: its recap goes in the card's thread, and its following reads it
            title, uri, owned = await self._about(reader, tenant, user_id, record.space)
            await self._memory.keep(tenant, user_id,
                                    PersonalMeeting(observed(record.space, now, record), title, uri, owned))
            if self._feed is not None:
                await self._feed.learned_conference(tenant, user_id, record.name)
        listed = {r.name for r in running}
        updates: list[MineUpdate] = []
        done: list[PersonalMeeting] = []
        for conference, meeting in followed.items():
            if meeting.state.unfollowed_at is not None:
                done.append(meeting)
                continue
            if conference in listed:
                continue
            if not meeting.owned:  # only joined: shown on Home while live; who came and its files aren't theirs
                await self._memory.drop(tenant, user_id, conference)
                continue
            files_every = FILE_POLL_FACTOR * (self._poll or FALLBACK_POLL)
            if not events and meeting.state.ended_at is not None and now - meeting.state.as_of < files_every - 1:
                continue  # polled: files are looked for half as often as meetings, as for cards (with events:
                # a read comes when Google says a file is ready, or from the 5-minute safety net)
            fresh = await self._after(reader, meeting.state, now)
            if fresh is None:
                await self._memory.drop(tenant, user_id, conference)
                continue
            if fresh.ended_at is not None and (now - fresh.ended_at >= FILES_FOR or _all_files(fresh)):
                fresh = replace(fresh, unfollowed_at=now)  # the recap below is its last edit
                done.append(replace(meeting, state=fresh))
            updated = replace(meeting, state=fresh)
            await self._memory.keep(tenant, user_id, updated)
            if fresh.shown_as() != meeting.state.shown_as() or fresh.artifacts != meeting.state.artifacts:
                updates.append(MineUpdate(user_id, updated))
        for old in sorted(done, key=lambda m: -(m.state.ended_at or 0.0))[RECENT:]:
            await self._memory.drop(tenant, user_id, old.state.conference or "")
        return updates

    async def _after(self, reader: Reader, state: LiveState, now: float) -> LiveState | None:
        """A conference no longer listed as running: read it in full the first time, then only its missing files.
        None: Google no longer shows it (then there is nothing to recap)."""
        conference = state.conference or ""
        if state.ended_at is None:
            record: ConferenceRecord = await reader.call(
                lambda token: self._meet.get_conference_record(token, conference))
            if record.is_live:  # listed late: still running
                return state
            participants = await reader.call(lambda token: self._meet.list_participants(token, conference))
            fresh = observed(state.space_name, now, record, participants)
        else:
            fresh = replace(state, as_of=now)
        have = {p.kind for p in fresh.artifacts}
        files: list[Artifact] = []
        for kind in ArtifactKind:
            if ARTIFACT_WORDS[kind] not in have:
                files.extend(await reader.call(partial(self._meet.list_artifacts, record_name=conference, kind=kind)))
        known = {p.name for p in fresh.artifacts}  # a file found stays found, in the order files appeared
        return replace(fresh, artifacts=fresh.artifacts + tuple(p for p in produced(files) if p.name not in known))

    async def _about(self, reader: Reader, tenant: Tenant, user_id: str, space_name: str
                     ) -> tuple[str, str | None, bool]:
        """Its title, link, and whether the person owns it, once per conference. Ownership is Google's evidence
        (`confirmed_role`): meetbot's own record of who started it, else the owner-only settings spaces.get shows
        the owner, confirmed by an owner-only read of its members. Titles only meetbot knows go to their owner;
        else the meeting code, else the space's name."""
        info = await self._spaces.info(tenant, space_id_of(space_name))
        if info is not None and info.meeting_code and info.owner_user_id:
            owned = info.owner_user_id == user_id
            return (info.title if owned and info.title else info.meeting_code), info.meeting_uri, owned
        space = await reader.call(lambda token: self._meet.get_space(token, space_name))
        owned = await confirmed_role(Actor(tenant, user_id), space, info, lambda: reader.call(
            lambda token: self._meet.list_members(token, space_name, page_size=1))) == "owner"
        return space.meeting_code or space_name, space.meeting_uri, owned


def _all_files(state: LiveState) -> bool:
    return len({p.kind for p in state.artifacts}) >= len(ArtifactKind)
