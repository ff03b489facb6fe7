"""core.calls against in-memory fakes of its ports: one call per conference, people reconciled from Google's
present list (never a replayed diff), at most one add and one remove per read, and a clean retreat on errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from bot.core.calls import BadUsers, Calls, CallsUnavailable, InactiveCall, NewCall, external_id
from bot.domain import Attendee, CallRecord, CallUser, LiveState, Phase, SpaceInfo, Tenant

T = Tenant("T0001")
SPACE = "spaces/abc"
INFO = SpaceInfo(SPACE, "abc-mnop-xyz", "https://meet.google.com/abc-mnop-xyz", "U0ALICE", title="Standup")
BOB = Attendee("conferenceRecords/c1/participants/bob", "Bob", "person", True, 10.0, "users/111")
DANA = Attendee("conferenceRecords/c1/participants/dana", "Dana", "person", True, 11.0, "users/222")
GUEST = Attendee("conferenceRecords/c1/participants/g", "Visitor", "guest", True, 12.0)
PHONE = Attendee("conferenceRecords/c1/participants/p", None, "phone", True, 13.0)


@dataclass
class FakeSlackCalls:
    """Slack's Calls API as documented: bad_users for a user already in (or not in) the call."""

    calls: dict[str, NewCall] = field(default_factory=dict)
    people_of: dict[str, list[CallUser]] = field(default_factory=dict)
    ended: dict[str, int | None] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    fail: CallsUnavailable | None = None

    def _enter(self, method: str, call_id: str | None = None) -> None:
        self.requests.append(method)
        if self.fail is not None:
            raise self.fail
        if call_id is not None and call_id in self.ended:
            raise InactiveCall("inactive_call")

    async def add(self, tenant: Tenant, call: NewCall) -> str:
        self._enter("calls.add")
        call_id = f"R{len(self.calls) + 1}"
        self.calls[call_id], self.people_of[call_id] = call, list(call.users)
        return call_id

    async def add_people(self, tenant: Tenant, call_id: str, users: Sequence[CallUser]) -> None:
        self._enter("calls.participants.add", call_id)
        if {u.key for u in users} & {u.key for u in self.people_of[call_id]}:
            raise BadUsers("bad_users")
        self.people_of[call_id].extend(users)

    async def remove_people(self, tenant: Tenant, call_id: str, users: Sequence[CallUser]) -> None:
        self._enter("calls.participants.remove", call_id)
        gone = {u.key for u in users}
        if not gone <= {u.key for u in self.people_of[call_id]}:
            raise BadUsers("bad_users")
        self.people_of[call_id] = [u for u in self.people_of[call_id] if u.key not in gone]

    async def people(self, tenant: Tenant, call_id: str) -> tuple[CallUser, ...]:
        self._enter("calls.info")
        return tuple(self.people_of[call_id])

    async def end(self, tenant: Tenant, call_id: str, duration: int | None) -> None:
        self._enter("calls.end", call_id)
        self.ended[call_id] = duration


@dataclass
class FakeMemory:
    records: dict[str, CallRecord] = field(default_factory=dict)
    off_reason: str | None = None
    notices: list[str] = field(default_factory=list)

    async def get(self, tenant: Tenant, conference: str) -> CallRecord | None:
        return self.records.get(conference)

    async def save(self, tenant: Tenant, conference: str, record: CallRecord) -> None:
        self.records[conference] = record

    async def off(self, tenant: Tenant) -> str | None:
        return self.off_reason

    async def turn_off(self, tenant: Tenant, reason: str, seconds: float) -> None:
        self.off_reason = reason

    async def first_notice(self, tenant: Tenant, reason: str) -> bool:
        first = reason not in self.notices
        self.notices.append(reason)
        return first


class FakeLinked:
    async def slack_users(self, tenant: Tenant, google_users: Sequence[str]) -> Mapping[str, str]:
        return {g: "U0BOB" for g in google_users if g == "users/111"}


def live(*people: Attendee, conference: str = "conferenceRecords/c1", as_of: float = 100.0) -> LiveState:
    return LiveState(SPACE, Phase.LIVE, as_of, conference, started_at=1000.0, attendees=people)


@pytest.fixture
def world() -> tuple[Calls, FakeSlackCalls, FakeMemory]:
    api, memory = FakeSlackCalls(), FakeMemory()
    return Calls(api, memory, FakeLinked()), api, memory


async def sync(calls: Calls, state: LiveState, previous: LiveState | None = None, *, people: bool = True
               ) -> str | None:
    return await calls.sync(T, state, previous, INFO, "U0ALICE", show_people=people)


async def test_a_live_conference_is_registered_once_with_its_people(world: tuple[Calls, FakeSlackCalls, FakeMemory]
                                                                    ) -> None:
    calls, api, _ = world
    assert await sync(calls, LiveState(SPACE, Phase.WAITING, 1.0)) is None, "no call before a conference"
    call_id = await sync(calls, live(BOB, DANA, GUEST, PHONE))
    new = api.calls[call_id or ""]
    assert (new.unique_id, new.join_url, new.display_id, new.title, new.created_by, new.date_start) == (
        "T0001/conferenceRecords/c1", INFO.meeting_uri, "abc-mnop-xyz", "Standup", "U0ALICE", 1000)
    assert [u.to_api() for u in new.users] == [
        {"slack_id": "U0BOB"},
        {"external_id": external_id(DANA.name), "display_name": "Dana"},
        {"external_id": external_id(GUEST.name), "display_name": "Guest"},
        {"external_id": external_id(PHONE.name), "display_name": "Phone caller"},
    ]
    assert "@" not in str(new.users) and "Visitor" not in str(new.users), "guests unnamed, never an email"
    assert await sync(calls, live(BOB, DANA, GUEST, PHONE)) == call_id
    assert api.requests == ["calls.add"], "nothing changed: nothing sent"


async def test_joins_and_leaves_become_at_most_one_add_and_one_remove_per_read(
        world: tuple[Calls, FakeSlackCalls, FakeMemory]) -> None:
    calls, api, _ = world
    call_id = await sync(calls, live(BOB)) or ""
    crowd = [Attendee(f"conferenceRecords/c1/participants/{n}", f"P{n}", "person", True, float(n)) for n in range(50)]
    await sync(calls, live(*crowd))  # Bob left, 50 joined, in one read
    assert api.requests == ["calls.add", "calls.participants.add", "calls.participants.remove"]
    assert {u.key for u in api.people_of[call_id]} == {f"ext:{external_id(a.name)}" for a in crowd}


async def test_repeated_and_reordered_reads_change_nothing(world: tuple[Calls, FakeSlackCalls, FakeMemory]) -> None:
    calls, api, _ = world
    newer = live(BOB, GUEST, as_of=200.0)
    await sync(calls, newer)
    await sync(calls, live(GUEST, BOB, as_of=200.0))  # the same people in another order
    await sync(calls, newer)
    assert api.requests == ["calls.add"]


async def test_a_lost_record_of_who_was_told_is_rebuilt_from_slacks_own_list(
        world: tuple[Calls, FakeSlackCalls, FakeMemory]) -> None:
    calls, api, memory = world
    call_id = await sync(calls, live(BOB)) or ""
    api.people_of[call_id].append(CallUser(external_id=external_id(GUEST.name), display_name="Guest"))
    # A crash after Slack took the guest, before meetbot saved it: meetbot still thinks only Bob is in.
    await sync(calls, live(BOB, GUEST, DANA))
    assert api.requests[-3:] == ["calls.participants.add", "calls.info", "calls.participants.add"]
    assert {u.key for u in api.people_of[call_id]} == {"slack:U0BOB", f"ext:{external_id(GUEST.name)}",
                                                        f"ext:{external_id(DANA.name)}"}
    assert memory.records["conferenceRecords/c1"].people == tuple(api.people_of[call_id])


async def test_the_end_closes_the_call_with_its_duration_and_a_new_conference_gets_a_new_call(
        world: tuple[Calls, FakeSlackCalls, FakeMemory]) -> None:
    calls, api, _ = world
    first = await sync(calls, live(BOB)) or ""
    ended = LiveState(SPACE, Phase.ENDED, 300.0, "conferenceRecords/c1", 1000.0, 2380.0, (BOB,))
    assert await sync(calls, ended) == first
    assert api.ended == {first: 1380}
    second = await sync(calls, live(DANA, conference="conferenceRecords/c2", as_of=400.0), ended)
    assert second and second != first and api.calls[second].unique_id == "T0001/conferenceRecords/c2"
    # A conference whose end meetbot never saw: the next conference's call ends the old one.
    third = await sync(calls, live(GUEST, conference="conferenceRecords/c3", as_of=500.0),
                       live(DANA, conference="conferenceRecords/c2"))
    assert second in api.ended and third not in api.ended


async def test_people_off_shows_nobody(world: tuple[Calls, FakeSlackCalls, FakeMemory]) -> None:
    calls, api, _ = world
    call_id = await sync(calls, live(BOB, GUEST), people=False) or ""
    assert api.people_of[call_id] == []
    await sync(calls, live(BOB, GUEST, DANA), people=False)
    assert api.requests == ["calls.add"]


async def test_a_missing_scope_turns_calls_off_and_is_logged_once(
        world: tuple[Calls, FakeSlackCalls, FakeMemory], caplog: pytest.LogCaptureFixture) -> None:
    calls, api, memory = world
    api.fail = CallsUnavailable("missing scope calls:write", lasting=True)
    assert await sync(calls, live(BOB)) is None
    assert memory.off_reason == "missing scope calls:write"
    assert await sync(calls, live(BOB, DANA)) is None
    assert api.requests == ["calls.add"], "off: not tried again for a while"
    assert [r.getMessage() for r in caplog.records if "calls:write" in r.getMessage()] and len(
        [r for r in caplog.records if "Slack calls" in r.getMessage()]) == 1


async def test_a_passing_error_keeps_the_call_and_the_next_read_reconciles(
        world: tuple[Calls, FakeSlackCalls, FakeMemory]) -> None:
    calls, api, memory = world
    call_id = await sync(calls, live(BOB)) or ""
    api.fail = CallsUnavailable("ratelimited", lasting=False)
    assert await sync(calls, live(BOB, DANA)) == call_id, "the card keeps its call"
    assert memory.off_reason is None
    api.fail = None
    await sync(calls, live(BOB, DANA))
    assert [u.key for u in api.people_of[call_id]] == ["slack:U0BOB", f"ext:{external_id(DANA.name)}"]
