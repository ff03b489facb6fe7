"""Following live meetings: every space with a card meetbot posted is re-read until nothing shows it any more.

A read is triggered by the schedule (polling), by a Workspace event (which only says that something changed), or by
a user's own status check. Each read is made with the token of the person whose card it is (they posted it, so they
chose to share what it shows) and produces one `LiveState`; the store keeps the newest by `as_of`.

Reads per refresh: 1 while waiting (the newest conference record), 2 while live (+ its participants), and 2 + one per
missing kind of file after the end, for a bounded time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol, TypeVar

from bot.core.errors import NotLinked, ReauthRequired, UserFacingError
from bot.core.event_feed import EventFeed, FollowNotice
from bot.core.live import ARTIFACT_WORDS as _WORDS
from bot.core.live import LiveState, Phase, Produced, observed
from bot.core.ports import SpaceMemory
from bot.domain import Card, Tenant
from bot.googleapi.errors import GoogleApiError, Unauthenticated
from bot.meet.client import MeetClient
from bot.meet.models import Artifact, ArtifactKind, ConferenceRecord

__all__ = ["COALESCE", "FollowMemory", "FollowUpdate", "Following", "Reader", "Schedule"]

T = TypeVar("T")
CLOCK_SKEW = 2.0
FOLLOW_WAITING_FOR = 24 * 60 * 60  # a meeting card nobody joined stops being followed after a day
FILES_FOR = 60 * 60  # after a call, Google's files are looked for this long
FILE_POLL_FACTOR = 2  # files are looked for half as often as people
IDLE_AFTER = 60 * 60  # a card older than this that is still waiting is read less often
IDLE_FACTOR = 4
BACKOFF = 300.0  # after a failed read
SAFETY_NET = 300.0  # with events, a space is still read this often in case one was lost
FALLBACK_POLL = 30.0  # polling a space whose events stopped, when MEET_POLL_SECONDS is 0
COALESCE = 2.0  # two reads of one space are at least this far apart, however many events arrive (a setting)
LEASE = 15.0  # a claimed space is handed to another process if not rescheduled within this


class Schedule(Protocol):
    """When each followed space is due for a read; shared by every process."""

    async def claim(self, now: float, lease: float, limit: int) -> list[tuple[Tenant, str]]: ...

    async def at(self, tenant: Tenant, space_id: str, when: float, *, read_at: float | None = None) -> None:
        """Due at `when`; `read_at` records a read just made (the coalescing window counts from it)."""
        ...

    async def poke(self, tenant: Tenant, space_id: str, now: float, window: float, *, taken: str | None = None
                   ) -> bool:
        """Make a followed space due now, or once `window` has passed since its last read; False if unfollowed.
        `taken`: the id of the delivered event that asked for it, marked taken in the same round trip (as
        SeenEvents.done does), and never left marked when the poke failed."""
        ...

    async def drop(self, tenant: Tenant, space_id: str) -> None: ...


class FollowMemory(Protocol):
    async def state(self, tenant: Tenant, space_id: str) -> LiveState | None: ...

    async def save(self, tenant: Tenant, space_id: str, state: LiveState) -> LiveState:
        """Keep `state` unless a newer one (by `as_of`) is stored; returns the one kept."""
        ...

    async def follower(self, tenant: Tenant, space_id: str) -> str | None:
        """The Slack user whose token reads the space."""
        ...

    async def set_follower(self, tenant: Tenant, space_id: str, user_id: str, *, keep: bool = False) -> None:
        """`keep`: only if nobody follows the space yet."""
        ...

    async def forget(self, tenant: Tenant, space_id: str) -> None: ...


class Tokens(Protocol):
    async def get_access_token(self, tenant: Tenant, user_id: str) -> str: ...

    async def reject_access_token(self, tenant: Tenant, user_id: str, token: str) -> None: ...


@dataclass(frozen=True, slots=True)
class FollowUpdate:
    previous: LiveState | None
    current: LiveState
    cards: tuple[Card, ...]
    follower: str
    notice: FollowNotice | None = None  # something the follower must be told

    @property
    def changed(self) -> bool:
        if self.previous is None:  # a card is posted waiting: a first read that finds nobody changes nothing
            return self.current.phase is not Phase.WAITING or self.current.unfollowed_at is not None
        return self.previous.shown_as() != self.current.shown_as()


class Following:
    def __init__(self, meet: MeetClient, tokens: Tokens, spaces: SpaceMemory, memory: FollowMemory,
                 schedule: Schedule, poll_seconds: float, *, feed: EventFeed | None = None,
                 coalesce: float = COALESCE, clock: Callable[[], float] = time.time) -> None:
        self._meet = meet
        self._tokens = tokens
        self._spaces = spaces
        self._memory = memory
        self._schedule = schedule
        self._poll = poll_seconds
        self._feed = feed  # with an event feed, polling is only a slow safety net for spaces it covers
        self._coalesce = coalesce
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._poll > 0 or self._feed is not None

    async def follow(self, tenant: Tenant, space_name: str, user_id: str, *, keep: bool = False) -> None:
        """Start following a space that now has a card posted by `user_id`; its first read is due now.
        `keep`: a follower already reading it stays (the one whose view the space's cards already show)."""
        if not self.enabled:
            return
        space_id = space_name.partition("/")[2]
        await self._memory.set_follower(tenant, space_id, user_id, keep=keep)
        await self._schedule.at(tenant, space_id, self._clock())

    async def poke(self, tenant: Tenant, space_name: str, *, taken: str | None = None) -> bool:
        """Something happened in the space (an event, a status check): read it soon, coalesced. `taken`: the
        delivered event that says so, marked taken at once (Schedule.poke)."""
        space_id = space_name.partition("/")[2]
        return await self._schedule.poke(tenant, space_id, self._clock(), self._coalesce, taken=taken)

    async def revive(self, tenant: Tenant, space_name: str) -> bool:
        """Someone is joining the space or saw it live: read it soon, and if meetbot had stopped following it
        (its cards say so), follow it again, as the same follower. False when nothing shows it any more."""
        if not self.enabled:
            return False
        if await self.poke(tenant, space_name):
            return True
        space_id = space_name.partition("/")[2]
        if await self._memory.follower(tenant, space_id) is None or not await self._spaces.cards(tenant, space_id):
            return False
        await self._schedule.at(tenant, space_id, self._clock())
        return True

    async def due(self, limit: int) -> list[tuple[Tenant, str]]:
        return await self._schedule.claim(self._clock(), LEASE, limit)

    async def follower(self, tenant: Tenant, space_name: str) -> str | None:
        """Whose token reads the space: the state its cards may show is what Google shows that person."""
        return await self._memory.follower(tenant, space_name.partition("/")[2])

    async def shown_state(self, tenant: Tenant, space_name: str) -> LiveState | None:
        """What the space's cards show: its state, or, followed but not read yet, waiting (as cards are posted);
        None when it isn't followed (its cards then show whatever they last showed)."""
        space_id = space_name.partition("/")[2]
        state = await self._memory.state(tenant, space_id)
        if state is None and await self._memory.follower(tenant, space_id) is not None:
            return LiveState(space_name, Phase.WAITING, 0.0)
        return state

    async def fresh_state(self, tenant: Tenant, space_name: str, user_id: str) -> LiveState | None:
        """The followed state, if it was read with `user_id`'s own token recently enough to show them instead of
        asking Google again (never someone else's view, never a stale one)."""
        space_id = space_name.partition("/")[2]
        if not self.enabled or await self._memory.follower(tenant, space_id) != user_id:
            return None
        state = await self._memory.state(tenant, space_id)
        if state is None or state.unfollowed_at is not None:
            return None
        fresh_for = 2 * (self._poll or FALLBACK_POLL) + self._coalesce
        return state if self._clock() - state.as_of <= fresh_for else None

    async def refresh(self, tenant: Tenant, space_id: str) -> FollowUpdate | None:
        """Read the space as its follower, keep the newest state, and schedule the next read (or stop).

        None: nothing shows the space any more; it is no longer followed. When following stops while cards still
        show the space (the call is long over, or the follower's grant is gone), the state kept says so, and the
        update carries it so the cards can say it too.
        """
        follower = await self._memory.follower(tenant, space_id)
        cards = tuple(await self._spaces.cards(tenant, space_id))
        if follower is None or not cards:
            await self._stop(tenant, space_id)
            return None
        previous = await self._memory.state(tenant, space_id)
        now = self._clock()
        reader = Reader(self._tokens, tenant, follower)
        try:
            events, notice = (False, None) if self._feed is None else await self._feed.keep(
                tenant, space_id, reader.call)
            state = await self._read(reader, f"spaces/{space_id}", cards, previous, now, events)
        except (NotLinked, ReauthRequired):
            # They disconnected (or Google revoked the grant): nobody may read it for them, and the cards must
            # not go on showing what was last seen as if it were now.
            shown = previous or LiveState(f"spaces/{space_id}", Phase.WAITING, now)
            gone = replace(shown, as_of=max(now, shown.as_of), unfollowed_at=now, unavailable="disconnected")
            await self._stop(tenant, space_id, keep=True)
            return FollowUpdate(previous, await self._memory.save(tenant, space_id, gone), cards, follower)
        except (GoogleApiError, UserFacingError):
            await self._schedule.at(tenant, space_id, now + BACKOFF)
            raise
        following_until = self._next_read(state, cards, now, events)
        if following_until is None:
            state = replace(state, unfollowed_at=now)
        kept = await self._memory.save(tenant, space_id, state)
        if self._feed is not None and kept.conference and (previous is None or previous.conference != kept.conference):
            await self._feed.learned_conference(tenant, space_id, kept.conference)
        if following_until is None:
            await self._stop(tenant, space_id, reader, keep=True)
        else:
            await self._schedule.at(tenant, space_id, following_until, read_at=now)
        return FollowUpdate(previous, kept, cards, follower, notice)

    async def _stop(self, tenant: Tenant, space_id: str, reader: Reader | None = None, *, keep: bool = False
                    ) -> None:
        """No more reads. `keep`: cards still show the space, so its last state and follower stay (they expire
        with the state) for the cards to say so, and for `revive`."""
        await self._schedule.drop(tenant, space_id)
        if self._feed is not None and reader is not None:
            # The follower's grant may be gone: then the subscription just expires by itself.
            with contextlib.suppress(UserFacingError):
                await self._feed.release(tenant, space_id, reader.call)
        if not keep:
            await self._memory.forget(tenant, space_id)

    async def _read(self, reader: Reader, space_name: str, cards: tuple[Card, ...], previous: LiveState | None,
                    now: float, events: bool) -> LiveState:
        records = await reader.call(lambda token: self._meet.list_conference_records(
            token, f'space.name = "{space_name}"', limit=1))
        record = _relevant(records, cards)
        if record is None:
            return observed(space_name, now, None)
        participants = await reader.call(lambda token: self._meet.list_participants(token, record.name))
        known = previous.artifacts if previous is not None and previous.conference == record.name else ()
        files: list[Artifact] = []
        ended = record.end_time.timestamp() if record.end_time else None
        if ended is not None and now - ended < FILES_FOR:  # with events, reads come only when one is due
            have = {p.kind for p in known}
            for kind in ArtifactKind:
                if _WORDS[kind] not in have:
                    files.extend(await reader.call(partial(self._meet.list_artifacts, record_name=record.name,
                                                           kind=kind)))
        return _with_files(observed(space_name, now, record, participants, files), known)

    def _next_read(self, state: LiveState, cards: tuple[Card, ...], now: float, events: bool) -> float | None:
        # With events flowing for the space, a read is due when one arrives; the schedule is only a safety net.
        poll = SAFETY_NET if events else (self._poll or FALLBACK_POLL)
        rooms = any(c.kind == "room" for c in cards)
        newest_card = max(c.posted_at for c in cards)
        if state.phase is Phase.LIVE:
            return now + poll
        if state.phase is Phase.ENDED:
            files_pending = state.ended_at is not None and now - state.ended_at < FILES_FOR \
                and len({p.kind for p in state.artifacts}) < 3
            if files_pending:
                return now + (poll if events else poll * FILE_POLL_FACTOR)
            return now + poll * IDLE_FACTOR if rooms else None
        if not rooms and now - newest_card > FOLLOW_WAITING_FOR:
            return None
        return now + (poll if now - newest_card < IDLE_AFTER else poll * IDLE_FACTOR)


def _relevant(records: list[ConferenceRecord], cards: tuple[Card, ...]) -> ConferenceRecord | None:
    """The newest call, if a card should show it: a meeting card shows only calls that started after it was
    posted (an older call is another meeting's story); a room card shows whatever is on now or last."""
    if not records:
        return None
    record = records[0]
    if any(c.kind == "room" for c in cards):
        return record
    oldest = min(c.posted_at for c in cards)
    started = record.start_time.timestamp() if record.start_time else 0.0
    return record if started + CLOCK_SKEW >= oldest else None


def _with_files(state: LiveState, known: tuple[Produced, ...]) -> LiveState:
    """Files already found stay found (Google never takes a finished file back), in the order they appeared."""
    fresh = tuple(p for p in state.artifacts if p.name not in {k.name for k in known})
    return replace(state, artifacts=known + fresh) if known else state


class Reader:
    """Calls Google as one person: their token read once (one round trip), and on a 401 refreshed and the call
    retried once (safe: a 401 means Google refused before doing anything, even for a create)."""

    def __init__(self, tokens: Tokens, tenant: Tenant, user_id: str) -> None:
        self._tokens, self._tenant, self._user = tokens, tenant, user_id
        self._token: str | None = None

    async def call(self, request: Callable[[str], Awaitable[T]]) -> T:
        if self._token is None:
            self._token = await self._tokens.get_access_token(self._tenant, self._user)
        try:
            return await request(self._token)
        except Unauthenticated:
            refused = self._token
            await self._tokens.reject_access_token(self._tenant, self._user, refused)
            self._token = await self._tokens.get_access_token(self._tenant, self._user)
            if self._token == refused:
                # A read of the person's token that began before the rejection (shared while it runs) gave the
                # refused one back; the next read starts after it and refreshes.
                self._token = await self._tokens.get_access_token(self._tenant, self._user)
            return await request(self._token)
