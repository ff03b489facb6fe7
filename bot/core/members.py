"""Space members: co-hosts and the member list, written in batches as the space's owner.

Only a space's owner may change its members (Google's role table), so every write carries the owner's own token:
the caller's for commands, and for a room that follows its channel, the token of the owner who turned that on.
Writes are idempotent on retry (an existing member is not an error, nor is a missing one on remove) and paced
within Google's per-user write quota. A batch never fails as a whole for one person: the result lists who was
added, who already was, and who wasn't and why.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from bot.core.errors import ServiceUnavailable, UserFacingError
from bot.core.meetings import Credentials, Meetings, _Caller, label_of, parse
from bot.core.pacing import Pacer, WritePacer
from bot.core.ports import SpaceMemory
from bot.domain import Actor, Tenant, space_id_of
from bot.errors import StorageUnavailable
from bot.googleapi.errors import (
    AlreadyExists,
    ApiStatusError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from bot.meet.client import MeetClient
from bot.meet.models import Member, MemberRole

__all__ = [
    "MemberList",
    "Members",
    "MembersChange",
    "MembersRefusal",
    "MembersRefused",
    "People",
    "Person",
    "Skip",
    "Skipped",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")
CONCURRENT_WRITES = 8


class Skip(enum.Enum):
    """Why one person did not become (or stop being) a member. Worded in bot/slack/replies.py."""

    BOT = "bot"
    DEACTIVATED = "deactivated"
    NO_EMAIL = "no_email"
    EXTERNAL = "external"  # a guest from another organisation
    UNKNOWN_USER = "unknown_user"  # Slack doesn't know them (or didn't answer)
    SHARED_EMAIL = "shared_email"  # two Slack people with one email: neither is added under the other's
    OWNER = "owner"  # the space's owner needs no membership
    GOOGLE_REFUSED = "google_refused"  # Google refused the email (external, unknown account); detail has its words
    LIMIT = "limit"  # the space's member limit is reached
    NOT_DONE = "not_done"  # Google was unavailable or rate-limiting; detail has the words


class MembersRefusal(enum.Enum):
    NOT_OWNER = "not_owner"
    NOT_OWNER_READ = "not_owner_read"  # only listing was asked for: reading the members needs the owner too
    OUTSIDE_MEETBOT = "outside_meetbot"  # the created scope reaches only spaces meetbot created
    NO_SCOPE = "no_scope"


class MembersRefused(UserFacingError):
    """The whole members operation was refused. `why` is structured; bot/slack/replies.py words it."""

    def __init__(self, why: MembersRefusal, label: str, owner_user_id: str | None = None) -> None:
        super().__init__(f"Google refused to change the members of {label} ({why.value}).",
                         person=owner_user_id, person_is="owns it")
        self.why = why
        self.label = label
        self.owner_user_id = owner_user_id


@dataclass(frozen=True, slots=True)
class Person:
    """A Slack user as a would-be member: their profile email, or why they can't be one."""

    user_id: str
    email: str | None = None
    problem: Skip | None = None


class People(Protocol):
    async def person(self, tenant: Tenant, user_id: str) -> Person: ...


@dataclass(frozen=True, slots=True)
class Skipped:
    user_id: str
    why: Skip
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MembersChange:
    """What a members operation did. `google_calls` counts the Meet API calls it made."""

    space_name: str
    label: str
    added: tuple[str, ...] = ()  # Slack user ids that became members / co-hosts
    already: tuple[str, ...] = ()  # already were (add) or already weren't (remove)
    removed: tuple[str, ...] = ()
    removed_emails: tuple[str, ...] = ()  # members removed that no Slack user of the batch stands for
    skipped: tuple[Skipped, ...] = ()
    google_calls: int = 0
    cohosts: tuple[str, ...] | None = None  # co-hosts meetbot knows after a co-host change (None: no record)

    @property
    def limit_reached(self) -> bool:
        return any(s.why is Skip.LIMIT for s in self.skipped)


@dataclass(frozen=True, slots=True)
class MemberList:
    space_name: str
    label: str
    members: tuple[Member, ...]

    @property
    def cohosts(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.is_cohost)


@dataclass(slots=True)
class _Batch:
    """One operation's running tally, shared by its concurrent writes."""

    owner: Actor
    space_name: str
    label: str
    caller: _Caller
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_emails: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    calls: int = 0
    full: bool = False  # Google said the member limit is reached: stop adding
    refused: MembersRefused | None = None  # set when meetbot has no record of the owner: a 403 means "not yours"

    @property
    def owner_known(self) -> bool:
        """meetbot's record (or the create it just made) says the caller owns the space."""
        return self.refused is None

    def in_order(self, user_ids: Sequence[str]) -> None:
        """Concurrent writes finish in any order; replies and the card list people as they were named."""
        rank = {user_id: n for n, user_id in enumerate(user_ids)}
        for people in (self.added, self.already, self.removed):
            people.sort(key=lambda user_id: rank.get(user_id, len(rank)))
        self.skipped.sort(key=lambda skip: rank.get(skip.user_id, len(rank)))

    def result(self, cohosts: tuple[str, ...] | None = None) -> MembersChange:
        return MembersChange(self.space_name, self.label, tuple(self.added), tuple(self.already),
                             tuple(self.removed), tuple(self.removed_emails), tuple(self.skipped), self.calls,
                             cohosts)


class Members:
    def __init__(self, meetings: Meetings, meet: MeetClient, credentials: Credentials, people: People,
                 records: SpaceMemory, pacer: Pacer | None = None, concurrency: int = CONCURRENT_WRITES) -> None:
        self._meetings = meetings
        self._records = records
        self._meet = meet
        self._credentials = credentials
        self._people = people
        self._pacer: Pacer = pacer or WritePacer()
        self._concurrency = concurrency

    # --- commands ------------------------------------------------------------------------------------------------

    async def add_cohosts(self, actor: Actor, reference: str, user_ids: Sequence[str]) -> MembersChange:
        batch = await self._owned_batch(actor, reference)
        current = await self._list(batch)
        await self._add(batch, user_ids, MemberRole.COHOST, current)
        return batch.result(await self._remember_cohosts(batch, adding=True))

    async def add_to_new_space(self, actor: Actor, space_name: str, label: str, user_ids: Sequence[str]
                               ) -> MembersChange:
        """Co-hosts of a space the caller just created: no read first (it has no members yet)."""
        batch = _Batch(actor, space_name, label, _Caller(self._credentials, actor))
        await self._add(batch, user_ids, MemberRole.COHOST, None)
        return batch.result(await self._remember_cohosts(batch, adding=True))

    async def remove_cohosts(self, actor: Actor, reference: str, user_ids: Sequence[str]) -> MembersChange:
        batch = await self._owned_batch(actor, reference)
        current = await self._list(batch)
        people, _ = await self._resolve(batch, user_ids, for_removal=True)
        by_email = _by_email(current)
        doomed: list[tuple[str, Member]] = []
        for person in people:
            member = by_email.get((person.email or "").lower())
            if member is None or not member.is_cohost:
                batch.already.append(person.user_id)
            else:
                doomed.append((person.user_id, member))
        await self._each(batch, doomed, lambda item: self._remove(batch, item[1], item[0]))
        return batch.result(await self._remember_cohosts(batch, adding=False))

    async def listing(self, actor: Actor, reference: str) -> MemberList:
        batch = await self._owned_batch(actor, reference, reading=True)
        return MemberList(batch.space_name, batch.label, tuple(await self._list(batch)))

    # --- rooms ---------------------------------------------------------------------------------------------------

    async def sync(self, owner: Actor, space_name: str, label: str, channel_user_ids: Sequence[str]
                   ) -> MembersChange:
        """Make the space's plain members the channel's people: add who is missing, remove plain members who
        aren't in the channel any more. Co-hosts are never touched; only the difference is written."""
        batch = _Batch(owner, space_name, label, _Caller(self._credentials, owner))
        current = await self._list(batch)
        people, _ = await self._resolve(batch, channel_user_ids, quiet=True)
        wanted = {p.email.lower() for p in people if p.email}
        stale = [m for m in current if not m.is_cohost and (m.email or "").lower() not in wanted]
        await self._add(batch, [p.user_id for p in people], MemberRole.ROLE_UNSPECIFIED, current, resolved=people)
        await self._each(batch, stale, lambda member: self._remove(batch, member, None))
        return batch.result()

    async def add_member(self, owner: Actor, space_name: str, label: str, user_id: str) -> MembersChange:
        """One person joined the room's channel."""
        batch = _Batch(owner, space_name, label, _Caller(self._credentials, owner))
        return await self._add(batch, [user_id], MemberRole.ROLE_UNSPECIFIED, None, quiet=True)

    async def remove_member(self, owner: Actor, space_name: str, label: str, user_id: str) -> MembersChange:
        """One person left the room's channel: their plain membership goes (a co-host stays one)."""
        batch = _Batch(owner, space_name, label, _Caller(self._credentials, owner))
        people, _ = await self._resolve(batch, [user_id], for_removal=True, quiet=True)
        if not people:
            return batch.result()
        current = await self._list(batch)
        member = _by_email(current).get((people[0].email or "").lower())
        if member is None or member.is_cohost:
            batch.already.append(user_id)
        else:
            await self._remove(batch, member, user_id)
        return batch.result()

    # --- the steps -----------------------------------------------------------------------------------------------

    async def _remember_cohosts(self, batch: _Batch, *, adding: bool) -> tuple[str, ...] | None:
        """Keep meetbot's record of a space's co-hosts (its cards show them) in step with what changed."""
        try:
            info = await self._records.info(batch.owner.tenant, space_id_of(batch.space_name))
            if info is None:
                return None
            # adding: `already` were co-hosts; removing: `already` weren't. Either way Google's answer wins.
            now = [*batch.added, *batch.already] if adding else []
            gone = set() if adding else {*batch.removed, *batch.already}
            cohosts = tuple(u for u in dict.fromkeys([*info.cohosts, *now]) if u not in gone)
            if cohosts != tuple(info.cohosts):
                await self._records.remember_created(batch.owner.tenant, replace(info, cohosts=cohosts), None)
            return cohosts
        except StorageUnavailable:
            log.warning("a meeting's co-hosts were not recorded: Redis unavailable")
            return None

    async def _owned_batch(self, actor: Actor, reference: str, *, reading: bool = False) -> _Batch:
        """Read the space as the caller; only its owner goes further (evidence as in meetings.role_of)."""
        space, info = await self._meetings.public(actor, reference)
        label = space.meeting_code or label_of(parse(reference), info)
        if await self._meetings.role(actor, space, info) != "owner":
            why = MembersRefusal.NOT_OWNER_READ if reading else MembersRefusal.NOT_OWNER
            raise MembersRefused(why, label, info.owner_user_id if info else None)
        batch = _Batch(actor, space.name, label, _Caller(self._credentials, actor))
        batch.calls = 1
        if info is None:
            batch.refused = MembersRefused(MembersRefusal.OUTSIDE_MEETBOT, label)  # raised if Google says 403
        return batch

    async def _list(self, batch: _Batch) -> list[Member]:
        batch.calls += 1
        try:
            return await batch.caller.call("read", batch.label, lambda token: self._meet.list_members(
                token, batch.space_name))
        except UserFacingError as refusal:
            raise self._refusal(batch, refusal) from refusal

    async def _resolve(self, batch: _Batch, user_ids: Iterable[str], *, for_removal: bool = False,
                       quiet: bool = False) -> tuple[list[Person], list[Skipped]]:
        """Slack people → emails. One email claimed by two Slack people goes to neither. `quiet` leaves out of
        the result the people a room sync skips as a matter of course (bots, the owner)."""
        unique = list(dict.fromkeys(user_ids))
        found = await asyncio.gather(*(self._people.person(batch.owner.tenant, u) for u in unique))
        claims: dict[str, set[str]] = {}
        for person in found:
            if person.email:
                claims.setdefault(person.email.lower(), set()).add(person.user_id)
        usable: list[Person] = []
        skipped: list[Skipped] = []
        for person in found:
            why = None if for_removal and person.email else person.problem  # leaving needs only the email
            if why is None and not person.email:
                why = Skip.NO_EMAIL
            if why is None and len(claims[(person.email or "").lower()]) > 1:
                why = Skip.SHARED_EMAIL
            if why is None and person.user_id == batch.owner.user_id and not for_removal:
                why = Skip.OWNER
            if why is None:
                usable.append(person)
            elif not (quiet and why in (Skip.BOT, Skip.OWNER, Skip.DEACTIVATED)):
                skipped.append(Skipped(person.user_id, why))
        batch.skipped.extend(skipped)
        return usable, skipped

    async def _add(self, batch: _Batch, user_ids: Sequence[str], role: MemberRole, current: list[Member] | None,
                   *, resolved: list[Person] | None = None, quiet: bool = False) -> MembersChange:
        people = resolved if resolved is not None else (await self._resolve(batch, user_ids, quiet=quiet))[0]
        by_email = _by_email(current or [])
        work: list[tuple[Person, Member | None]] = []
        for person in people:
            existing = by_email.get((person.email or "").lower())
            if existing is not None and (existing.is_cohost or role is MemberRole.ROLE_UNSPECIFIED):
                batch.already.append(person.user_id)
            else:
                work.append((person, existing))
        await self._each(batch, work, lambda item: self._write(batch, item[0], role, item[1]))
        batch.in_order([p.user_id for p in people])
        return batch.result()

    async def _each(self, batch: _Batch, items: Sequence[_T], write: Callable[[_T], Awaitable[None]]) -> None:
        """Run the writes concurrently, `concurrency` at a time and paced per owner; a refusal stops them all."""
        gate = asyncio.Semaphore(self._concurrency)

        async def one(item: _T) -> None:
            async with gate:
                await self._pacer.slot(batch.owner)
                await write(item)

        try:
            async with asyncio.TaskGroup() as group:
                for item in items:
                    group.create_task(one(item))
        except ExceptionGroup as failed:  # the first refusal (or bug) speaks for the batch
            raise failed.exceptions[0] from None

    async def _write(self, batch: _Batch, person: Person, role: MemberRole, existing: Member | None) -> None:
        if batch.full:
            batch.skipped.append(Skipped(person.user_id, Skip.LIMIT))
            return
        email = person.email or ""

        async def create(token: str) -> Skipped | None:
            try:
                if existing is not None:  # a plain member becomes a co-host: one patch, not delete + create
                    await self._meet.set_member_role(token, existing.name, role)
                else:
                    await self._meet.add_member(token, batch.space_name, email, role)
            except AlreadyExists:
                return None  # a retry, or someone else added them meanwhile: done either way
            except (FailedPrecondition, RateLimited) as full:
                if not _is_member_limit(full):
                    raise
                batch.full = True
                return Skipped(person.user_id, Skip.LIMIT, full.message)
            except InvalidArgument as refused:
                return Skipped(person.user_id, Skip.GOOGLE_REFUSED, refused.message)
            except PermissionDenied as denied:
                if denied.is_missing_scope or not batch.owner_known:
                    raise self._denied(batch, denied) from denied
                # The caller owns the space (meetbot's record says so): Google refused this one email.
                return Skipped(person.user_id, Skip.GOOGLE_REFUSED)
            return None

        batch.calls += 1
        try:
            skipped = await batch.caller.call("patch", batch.label, create)
        except ServiceUnavailable as down:  # Google down or rate-limiting: this one person isn't done
            batch.skipped.append(Skipped(person.user_id, Skip.NOT_DONE, down.reason))
            return
        if skipped is None:
            batch.added.append(person.user_id)
        else:
            batch.skipped.append(skipped)

    async def _remove(self, batch: _Batch, member: Member, user_id: str | None) -> None:
        async def delete(token: str) -> None:
            try:
                await self._meet.remove_member(token, member.name)
            except NotFound:
                pass  # already gone: removing is done
            except PermissionDenied as denied:
                raise self._denied(batch, denied) from denied

        batch.calls += 1
        try:
            await batch.caller.call("patch", batch.label, delete)
        except ServiceUnavailable as down:
            if user_id is not None:
                batch.skipped.append(Skipped(user_id, Skip.NOT_DONE, down.reason))
            return
        if user_id is not None:
            batch.removed.append(user_id)
        else:
            batch.removed_emails.append(member.email or member.name)

    def _denied(self, batch: _Batch, denied: PermissionDenied) -> MembersRefused:
        if denied.is_missing_scope:
            return MembersRefused(MembersRefusal.NO_SCOPE, batch.label)
        return batch.refused or MembersRefused(MembersRefusal.NOT_OWNER, batch.label)

    def _refusal(self, batch: _Batch, refusal: UserFacingError) -> UserFacingError:
        """A read of the members refused for a space meetbot didn't create: say that, not "can't see it"."""
        cause = refusal.__cause__
        if isinstance(cause, PermissionDenied):
            return self._denied(batch, cause)
        return refusal


def _is_member_limit(error: ApiStatusError) -> bool:
    """A full space. Google's answer is undocumented (a guess either way): 400 FAILED_PRECONDITION, or a 429
    whose ErrorInfo names something other than a rate limit (rate limits say RATE_LIMIT_EXCEEDED, or nothing)."""
    if isinstance(error, FailedPrecondition):
        return True
    return error.reason is not None and "RATE_LIMIT" not in error.reason and "QUOTA" not in error.reason


def _by_email(members: Iterable[Member]) -> dict[str, Member]:
    return {m.email.lower(): m for m in members if m.email}
