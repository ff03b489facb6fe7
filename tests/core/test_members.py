"""bot/core/members.py, room_members.py and pacing.py in process: in-memory fakes of core's ports (the ones of
test_core_use_cases) and of People and the channel roster, against the real Meet emulator over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.core.meetings import Meetings
from bot.core.members import Members, MembersRefusal, MembersRefused, Person, Skip
from bot.core.pacing import WritePacer
from bot.core.room_members import RoomMembers
from bot.core.rooms import NoRoom
from bot.domain import Actor, Room, Tenant
from bot.meet.client import MeetClient, build_http_client
from emulators.meet import MeetEmulator
from tests.core.test_use_cases import (
    ALICE,
    BOB,
    CAROL,
    EMAILS,
    FAST_RETRY,
    TENANT,
    FakeCredentials,
    MemoryRooms,
    MemorySpaces,
    started_by,
)

DAN = Actor(TENANT, "U0DAN")
PEOPLE = {
    **{user: Person(user, email) for user, email in EMAILS.items()},
    DAN.user_id: Person(DAN.user_id, "dan@example.com"),
    "U0ROBOT": Person("U0ROBOT", problem=Skip.BOT),
    "U0EXT": Person("U0EXT", "ext@partner.example", Skip.EXTERNAL),
    "U0NOMAIL": Person("U0NOMAIL", problem=Skip.NO_EMAIL),
    "U0TWIN": Person("U0TWIN", "dan@example.com"),  # claims Dan's email
}


class FakePeople:
    def __init__(self) -> None:
        self.people = dict(PEOPLE)

    async def person(self, tenant: Tenant, user_id: str) -> Person:
        return self.people.get(user_id, Person(user_id, problem=Skip.UNKNOWN_USER))


class FakeRoster:
    def __init__(self) -> None:
        self.channels: dict[str, list[str]] = {}

    async def channel_members(self, tenant: Tenant, channel_id: str) -> list[str]:
        return list(self.channels.get(channel_id, []))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client() as client:
        yield client


@pytest.fixture
def creds(meet_emulator: MeetEmulator) -> FakeCredentials:
    credentials = FakeCredentials(meet_emulator)
    for actor in (ALICE, BOB, CAROL):
        credentials.link(actor)
    return credentials


@pytest.fixture
def spaces() -> MemorySpaces:
    return MemorySpaces()


@pytest.fixture
def meetings(meet_emulator: MeetEmulator, http: httpx.AsyncClient, creds: FakeCredentials, spaces: MemorySpaces
             ) -> Meetings:
    return Meetings(MeetClient(http, meet_emulator.url, retry=FAST_RETRY), creds, spaces)


@pytest.fixture
def members(meet_emulator: MeetEmulator, http: httpx.AsyncClient, creds: FakeCredentials, meetings: Meetings,
            spaces: MemorySpaces) -> Members:
    return Members(meetings, MeetClient(http, meet_emulator.url, retry=FAST_RETRY), creds, FakePeople(), spaces)


def emails(emu: MeetEmulator, space: str, role: str | None = None) -> list[str]:
    return sorted(m["email"] for m in emu.state.members(space) if role is None or m.get("role") == role)


async def test_cohosts_added_partially_with_reasons(members: Members, meetings: Meetings,
                                                    meet_emulator: MeetEmulator) -> None:
    space = await started_by(meetings, ALICE)
    change = await members.add_cohosts(ALICE, space, [BOB.user_id, "U0ROBOT", "U0EXT", "U0NOMAIL", ALICE.user_id,
                                                      "U0NOBODY", CAROL.user_id, BOB.user_id])
    assert sorted(change.added) == [BOB.user_id, CAROL.user_id]
    assert {s.user_id: s.why for s in change.skipped} == {
        "U0ROBOT": Skip.BOT, "U0EXT": Skip.EXTERNAL, "U0NOMAIL": Skip.NO_EMAIL, ALICE.user_id: Skip.OWNER,
        "U0NOBODY": Skip.UNKNOWN_USER}
    assert emails(meet_emulator, space, "COHOST") == ["bob@example.com", "carol@example.com"]
    assert change.google_calls == 4  # get, list, two creates
    assert change.cohosts is not None and sorted(change.cohosts) == [BOB.user_id, CAROL.user_id]  # for its cards
    again = await members.add_cohosts(ALICE, space, [BOB.user_id])  # idempotent: nothing is written
    assert again.already == (BOB.user_id,) and not again.added and again.google_calls == 2


async def test_one_email_two_people_goes_to_neither(members: Members, meetings: Meetings,
                                                    meet_emulator: MeetEmulator) -> None:
    space = await started_by(meetings, ALICE)
    change = await members.add_cohosts(ALICE, space, [DAN.user_id, "U0TWIN"])
    assert not change.added and {s.why for s in change.skipped} == {Skip.SHARED_EMAIL}
    assert meet_emulator.state.members(space) == []


async def test_plain_member_becomes_cohost_by_patch_and_uncohost_removes(members: Members, meetings: Meetings,
                                                                          meet_emulator: MeetEmulator) -> None:
    space = await started_by(meetings, ALICE)
    await members.sync(ALICE, space, "room", [BOB.user_id])
    assert meet_emulator.state.members(space)[0].get("role") is None
    change = await members.add_cohosts(ALICE, space, [BOB.user_id])
    assert change.added == (BOB.user_id,) and len(meet_emulator.state.calls_to("spaces.members.patch")) == 1
    removed = await members.remove_cohosts(ALICE, space, [BOB.user_id, CAROL.user_id])
    assert removed.removed == (BOB.user_id,) and removed.already == (CAROL.user_id,) and removed.cohosts == ()
    assert meet_emulator.state.members(space) == []


async def test_only_the_owner(members: Members, meetings: Meetings) -> None:
    space = await started_by(meetings, ALICE)
    with pytest.raises(MembersRefused) as refused:
        await members.add_cohosts(BOB, space, [CAROL.user_id])
    assert refused.value.why is MembersRefusal.NOT_OWNER and refused.value.owner_user_id == ALICE.user_id
    with pytest.raises(MembersRefused):
        await members.listing(BOB, space)


async def test_space_made_outside_meetbot(members: Members, creds: FakeCredentials,
                                          meet_emulator: MeetEmulator) -> None:
    foreign = meet_emulator.state.create_space("alice@example.com", client_id="calendar")["name"]
    creds.link(ALICE, ("https://www.googleapis.com/auth/meetings.space.created",
                       "https://www.googleapis.com/auth/meetings.space.readonly"))
    with pytest.raises(MembersRefused) as refused:
        await members.add_cohosts(ALICE, foreign, [BOB.user_id])
    assert refused.value.why is MembersRefusal.OUTSIDE_MEETBOT


# Both error shapes are guesses (the emulator's switches): a full space as 400 or 429, a refused email as 400 or
# 403. Under 429 the limit was taken for rate-limiting; under 403 the owner was told they don't own the meeting.
@pytest.mark.parametrize("member_limit_error", ["failed_precondition", "resource_exhausted"])
@pytest.mark.parametrize("refused_email_error", ["invalid_argument", "permission_denied"])
async def test_google_refusal_and_member_limit(members: Members, meetings: Meetings, meet_emulator: MeetEmulator,
                                               member_limit_error: str, refused_email_error: str) -> None:
    space = await started_by(meetings, ALICE)
    meet_emulator.state.configure(member_limit=1, refused_member_emails=["carol@*"],
                                  member_limit_error=member_limit_error, refused_email_error=refused_email_error)
    change = await members.add_cohosts(ALICE, space, [CAROL.user_id, BOB.user_id, DAN.user_id])
    why = {s.user_id: s.why for s in change.skipped}
    assert why[CAROL.user_id] is Skip.GOOGLE_REFUSED and len(change.added) == 1 and change.limit_reached
    assert why[DAN.user_id] is Skip.LIMIT
    if refused_email_error == "invalid_argument":
        assert next(s for s in change.skipped if s.user_id == CAROL.user_id).detail.startswith("The email")


async def test_google_down_for_one_write_is_partial(members: Members, meetings: Meetings,
                                                    meet_emulator: MeetEmulator) -> None:
    space = await started_by(meetings, ALICE)
    meet_emulator.state.inject_fault("spaces.members.create", 503)
    change = await members.add_to_new_space(ALICE, space, "x", [BOB.user_id, CAROL.user_id])
    assert len(change.added) == 1 and [s.why for s in change.skipped] == [Skip.NOT_DONE]


async def test_new_space_cohosts_are_concurrent(members: Members, meetings: Meetings,
                                                meet_emulator: MeetEmulator) -> None:
    space = await started_by(meetings, ALICE)
    meet_emulator.state.set_latency(0.2)
    started = time.monotonic()
    change = await members.add_to_new_space(ALICE, space, "x", [BOB.user_id, CAROL.user_id, DAN.user_id])
    assert time.monotonic() - started < 0.5 and len(change.added) == 3 and change.google_calls == 3


async def test_pacer_keeps_within_the_window() -> None:
    pacer = WritePacer(per_minute=3, window=0.3)
    started = time.monotonic()
    await asyncio.gather(*(pacer.slot(ALICE) for _ in range(7)))
    assert 0.6 <= time.monotonic() - started < 1.2  # 3 now, 3 after one window, 1 after two
    await asyncio.wait_for(pacer.slot(BOB), 0.05)  # another user has their own quota


async def test_room_members_follow_the_channel(members: Members, meetings: Meetings,
                                               meet_emulator: MeetEmulator) -> None:
    space = await started_by(meetings, ALICE)
    store, roster = MemoryRooms(), FakeRoster()
    room = RoomMembers(members, store, roster)
    await store.put(TENANT, "C1", Room(space, None, None, ALICE.user_id, "alice@example.com", ALICE.user_id, 0.0))
    roster.channels["C1"] = [ALICE.user_id, BOB.user_id, "U0ROBOT", "U0EXT"]
    await members.add_cohosts(ALICE, space, [CAROL.user_id])  # a co-host outside the channel stays one
    on = await room.turn_on(ALICE, "C1")
    assert on.added == (BOB.user_id,) and [s.why for s in on.skipped] == [Skip.EXTERNAL]  # bots, owner: quiet
    saved = await store.get(TENANT, "C1")
    assert saved is not None and saved.members_sync
    assert emails(meet_emulator, space) == ["bob@example.com", "carol@example.com"]
    joined = await room.joined(TENANT, "C1", DAN.user_id)
    assert joined is not None and joined.added == (DAN.user_id,)
    left = await room.left(TENANT, "C1", BOB.user_id)
    assert left is not None and left.removed == (BOB.user_id,)
    assert await room.left(TENANT, "C1", CAROL.user_id) is not None  # a co-host leaving stays a co-host
    assert emails(meet_emulator, space) == ["carol@example.com", "dan@example.com"]
    roster.channels["C1"] = [ALICE.user_id, DAN.user_id]
    calls = len(meet_emulator.state.calls)
    resync = await room.turn_on(ALICE, "C1")  # nothing differs: only the list is read
    assert resync.already == (DAN.user_id,) and len(meet_emulator.state.calls) == calls + 1
    off = await room.turn_off(ALICE, "C1")
    assert off.removed_emails == ("dan@example.com",) and emails(meet_emulator, space) == ["carol@example.com"]
    assert await room.joined(TENANT, "C1", BOB.user_id) is None  # not following any more
    with pytest.raises(MembersRefused):
        await room.turn_on(BOB, "C1")
    with pytest.raises(NoRoom):
        await room.turn_on(ALICE, "C2")


async def test_a_big_channel_is_synced_paced_then_only_the_difference(
        meet_emulator: MeetEmulator, http: httpx.AsyncClient, creds: FakeCredentials, meetings: Meetings,
        spaces: MemorySpaces) -> None:
    people = FakePeople()
    crowd = [f"U0P{i:04d}" for i in range(120)]
    people.people.update({u: Person(u, f"{u.lower()}@example.com") for u in crowd})
    pacer = WritePacer(per_minute=50, window=0.4)  # Google's 100 a minute, scaled down
    paced = Members(meetings, MeetClient(http, meet_emulator.url, retry=FAST_RETRY), creds, people, spaces, pacer)
    space = await started_by(meetings, ALICE)
    started = time.monotonic()
    first = await paced.sync(ALICE, space, "room", crowd)
    assert len(first.added) == 120 and first.google_calls == 121  # one list, one write each
    assert time.monotonic() - started >= 0.8  # 50, then 50 a window later, then 20: never more per window
    second = await paced.sync(ALICE, space, "room", [*crowd[1:], DAN.user_id])
    assert second.added == (DAN.user_id,) and second.removed_emails == (f"{crowd[0].lower()}@example.com",)
    assert second.google_calls == 3  # the list, one create, one delete
