"""`EventFeed`, `PersonalFeed` and `EventIntake` (bot/core/event_feed.py) in process: in-memory fakes of their ports
(tests/support/follow_fakes.py), the Workspace Events emulator over HTTP, its clock as core's clock. Each test proves
one decision: when a subscription is made, renewed, given up or released, and where a delivered event goes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import httpx
import pytest

from bot.core.event_feed import (
    DUPLICATE,
    EXPIRED,
    PERSON,
    REMINDER,
    SUSPENDED,
    TAKEN,
    UNROUTED,
    EventFeed,
    EventIntake,
    FollowNotice,
    PersonalFeed,
)
from bot.domain import SubscriptionRecord, Tenant
from bot.google.pubsub import WorkspaceEvent
from bot.google.workspace_events import CONFERENCE_STARTED, PARTICIPANT_JOINED, WorkspaceEvents
from bot.googleapi.tls import shared_tls
from emulators.events import EventsEmulator
from emulators.meet import MeetEmulator
from tests.support.follow_fakes import MemoryRoutes, MemorySeen, MemorySubscriptions

T = TypeVar("T")
TENANT = Tenant("T0001")
ALICE_EMAIL = "alice@example.com"
TOPIC = "projects/meetbot-test/topics/meet"
SCOPES = ("meetings.space.created", "meetings.space.readonly")
DAY = 24 * 60 * 60


@dataclass
class AsFollower:
    """EventFeed's `Call`: runs each request with the follower's token, and counts them."""

    token: str
    count: int = 0

    async def __call__(self, request: Callable[[str], Awaitable[T]]) -> T:
        self.count += 1
        return await request(self.token)


@dataclass
class Feed:
    meet: MeetEmulator
    events: EventsEmulator
    feed: EventFeed
    personal: PersonalFeed
    subscriptions: MemorySubscriptions
    routes: MemoryRoutes
    call: AsFollower

    def space(self) -> str:
        """A space Alice owns: its id."""
        return str(self.meet.state.create_space(ALICE_EMAIL)["name"]).partition("/")[2]

    def calls(self) -> list[tuple[str, str]]:
        """(route, caller email) of every Workspace Events call so far."""
        return [(c["route"], c["user"]) for c in self.events.state.calls]

    def record(self, space_id: str) -> SubscriptionRecord | None:
        return self.subscriptions.records.get((TENANT, space_id))


@pytest.fixture
def events(meet_emulator: MeetEmulator) -> Iterator[EventsEmulator]:
    with EventsEmulator(meet_emulator.state, pull_wait=0.0) as emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10, verify=shared_tls()) as client:
        yield client


@pytest.fixture
def env(meet_emulator: MeetEmulator, events: EventsEmulator, http: httpx.AsyncClient) -> Feed:
    client = WorkspaceEvents(http, events.url, poll_interval=0.01)
    subscriptions, routes = MemorySubscriptions(), MemoryRoutes()
    clock = meet_emulator.state.now
    token = meet_emulator.state.mint_token(ALICE_EMAIL, SCOPES, expires_in=30 * DAY)
    return Feed(meet_emulator, events, EventFeed(client, TOPIC, subscriptions, routes, clock),
                PersonalFeed(client, TOPIC, subscriptions, routes, clock), subscriptions, routes, AsFollower(token))


def lifecycle(kind: str, subscription: str, event_id: str = "lc-1") -> WorkspaceEvent:
    return WorkspaceEvent(event_id, kind, datetime.now(UTC), subscription, subscription, None)


# --- EventFeed.keep: one live subscription per followed space ----------------------------------------------------


async def test_the_first_keep_subscribes_as_the_follower_and_routes_its_events(env: Feed) -> None:
    space_id = env.space()

    assert await env.feed.keep(TENANT, space_id, env.call) == (True, None)

    (made,) = env.events.state.subscriptions()
    assert made["user"] == ALICE_EMAIL and made["targetResource"].endswith(f"/spaces/{space_id}")
    record = env.record(space_id)
    assert record is not None and (record.name, record.state) == (made["name"], "active")
    assert record.expires > env.meet.state.now() + DAY
    assert env.routes.by_subscription[made["name"]] == (TENANT, space_id)


async def test_a_subscription_far_from_expiry_costs_no_call(env: Feed) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)
    before = env.call.count

    assert await env.feed.keep(TENANT, space_id, env.call) == (True, None)

    assert env.call.count == before


async def test_a_subscription_within_a_day_of_expiry_is_renewed(env: Feed) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)
    record = env.record(space_id)
    assert record is not None
    env.subscriptions.records[(TENANT, space_id)] = SubscriptionRecord(record.name, env.meet.state.now() + 3600)

    assert await env.feed.keep(TENANT, space_id, env.call) == (True, None)

    assert ("subscriptions.patch", ALICE_EMAIL) in env.calls()
    renewed = env.record(space_id)
    assert renewed is not None and renewed.name == record.name and renewed.expires > env.meet.state.now() + DAY


async def test_a_subscription_gone_at_googles_end_is_forgotten_so_the_next_keep_makes_one(env: Feed) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)
    record = env.record(space_id)
    assert record is not None
    env.events.state.expire(record.name)
    env.subscriptions.records[(TENANT, space_id)] = SubscriptionRecord(record.name, 0)  # due for renewal

    assert await env.feed.keep(TENANT, space_id, env.call) == (False, None)
    assert env.record(space_id) is None


async def test_a_refused_subscription_leaves_the_space_polled(env: Feed, meet_emulator: MeetEmulator) -> None:
    space_id = env.space()
    no_meet_scope = AsFollower(meet_emulator.state.mint_token(ALICE_EMAIL, ["openid"], expires_in=DAY))

    assert await env.feed.keep(TENANT, space_id, no_meet_scope) == (False, None)

    assert env.record(space_id) is None and env.events.state.subscriptions() == []


@pytest.mark.parametrize("reason", ["USER_SCOPE_REVOKED", "USER_AUTHORIZATION_FAILURE"])
async def test_a_subscription_suspended_for_the_followers_grant_tells_them_once(env: Feed, reason: str) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)
    record = env.record(space_id)
    assert record is not None
    env.events.state.suspend(record.name, reason)
    await env.feed.lifecycle(TENANT, space_id, lifecycle(SUSPENDED, record.name))

    events_flow, notice = await env.feed.keep(TENANT, space_id, env.call)

    assert events_flow is False and notice is FollowNotice.LIVE_UPDATES_REVOKED
    assert ("subscriptions.get", ALICE_EMAIL) in env.calls()
    assert await env.feed.keep(TENANT, space_id, env.call) == (False, None)  # told once; not fought
    kept = env.record(space_id)
    assert kept is not None and kept.state == "noticed"


async def test_a_subscription_suspended_for_another_reason_is_polled_without_a_notice(env: Feed) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)
    record = env.record(space_id)
    assert record is not None
    env.events.state.suspend(record.name, "ENDPOINT_PERMISSION_DENIED")
    await env.feed.lifecycle(TENANT, space_id, lifecycle(SUSPENDED, record.name))

    assert await env.feed.keep(TENANT, space_id, env.call) == (False, None)
    assert not [route for route, _ in env.calls() if route == "subscriptions.patch"]  # never re-made or renewed


# --- lifecycle events -----------------------------------------------------------------------------------------


async def test_an_expiration_reminder_makes_the_next_keep_renew(env: Feed) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)
    record = env.record(space_id)
    assert record is not None

    await env.feed.lifecycle(TENANT, space_id, lifecycle(REMINDER, record.name))

    assert env.record(space_id) == SubscriptionRecord(record.name, 0, "active")


async def test_an_expired_subscription_is_forgotten(env: Feed) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)
    record = env.record(space_id)
    assert record is not None

    await env.feed.lifecycle(TENANT, space_id, lifecycle(EXPIRED, record.name))

    assert env.record(space_id) is None


async def test_a_lifecycle_event_of_an_older_subscription_changes_nothing(env: Feed) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)
    record = env.record(space_id)

    await env.feed.lifecycle(TENANT, space_id, lifecycle(EXPIRED, "subscriptions/an-older-one"))

    assert env.record(space_id) == record


async def test_release_deletes_the_subscription_as_the_follower(env: Feed) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)

    await env.feed.release(TENANT, space_id, env.call)

    assert ("subscriptions.delete", ALICE_EMAIL) in env.calls()
    assert env.events.state.subscriptions() == []


# --- PersonalFeed: /meet mine's user-target subscription ---------------------------------------------------------


async def test_a_personal_feed_subscribes_to_the_persons_meetings_and_routes_them_to_the_person(env: Feed) -> None:
    google_user = env.meet.state.user(ALICE_EMAIL)["id"]

    assert await env.personal.keep(TENANT, "U0ALICE", google_user, env.call) is True

    (made,) = env.events.state.subscriptions()
    assert made["targetResource"] == "//cloudidentity.googleapis.com/" + google_user
    assert env.routes.by_subscription[made["name"]] == (TENANT, PERSON + "U0ALICE")


# --- EventIntake: where a delivered event goes --------------------------------------------------------------------


@dataclass
class Intake:
    routes: MemoryRoutes = field(default_factory=MemoryRoutes)
    pokes: list[tuple[Tenant, str, str]] = field(default_factory=list)
    person_pokes: list[tuple[Tenant, str]] = field(default_factory=list)

    def build(self, env: Feed) -> tuple[EventIntake, MemorySeen]:
        seen = MemorySeen(self.routes)

        async def poke(tenant: Tenant, space_name: str, event_id: str) -> bool:
            self.pokes.append((tenant, space_name, event_id))
            seen.done_ids.append(event_id)  # Schedule.poke marks the event taken in the same round trip
            return True

        async def poke_person(tenant: Tenant, user_id: str) -> bool:
            self.person_pokes.append((tenant, user_id))
            return True

        return EventIntake(seen, poke, env.feed, personal=env.personal, poke_person=poke_person), seen


def meet_event(event_id: str, subscription: str | None, resource: str = "conferenceRecords/rec1") -> WorkspaceEvent:
    return WorkspaceEvent(event_id, CONFERENCE_STARTED, datetime.now(UTC), resource, subscription, None)


async def test_an_event_of_a_followed_space_pokes_a_read_of_that_space(env: Feed) -> None:
    wiring = Intake()
    intake, _ = wiring.build(env)
    await wiring.routes.link(TENANT, "space1", subscription="subscriptions/s1")

    assert await intake.accept(meet_event("e1", "subscriptions/s1")) == TAKEN

    assert wiring.pokes == [(TENANT, "spaces/space1", "e1")]


async def test_an_event_that_names_only_its_conference_is_routed_by_the_conference(env: Feed) -> None:
    wiring = Intake()
    intake, _ = wiring.build(env)
    await wiring.routes.link(TENANT, "space1", conference="conferenceRecords/rec1")
    joined = WorkspaceEvent("e1", PARTICIPANT_JOINED, datetime.now(UTC), "conferenceRecords/rec1/participants/p1",
                            None, None)

    assert await intake.accept(joined) == TAKEN

    assert wiring.pokes == [(TENANT, "spaces/space1", "e1")]


async def test_a_duplicate_delivery_reads_nothing_more(env: Feed) -> None:
    wiring = Intake()
    intake, _ = wiring.build(env)
    await wiring.routes.link(TENANT, "space1", subscription="subscriptions/s1")
    await intake.accept(meet_event("e1", "subscriptions/s1"))

    assert await intake.accept(meet_event("e1", "subscriptions/s1")) == DUPLICATE

    assert len(wiring.pokes) == 1


async def test_an_event_of_no_followed_space_is_dropped_and_marked_taken(env: Feed) -> None:
    wiring = Intake()
    intake, seen = wiring.build(env)

    assert await intake.accept(meet_event("e1", "subscriptions/unknown")) == UNROUTED

    assert wiring.pokes == [] and seen.done_ids == ["e1"]
    assert await intake.accept(meet_event("e1", "subscriptions/unknown")) == DUPLICATE


async def test_a_lifecycle_event_updates_the_subscription_then_pokes_the_space(env: Feed) -> None:
    space_id = env.space()
    await env.feed.keep(TENANT, space_id, env.call)
    record = env.record(space_id)
    assert record is not None
    wiring = Intake(routes=env.routes)
    intake, _ = wiring.build(env)

    assert await intake.accept(lifecycle(REMINDER, record.name, "lc-9")) == TAKEN

    assert env.record(space_id) == SubscriptionRecord(record.name, 0, "active")
    assert wiring.pokes == [(TENANT, f"spaces/{space_id}", "lc-9")]


async def test_an_event_routed_to_a_person_pokes_the_person_and_is_marked_taken(env: Feed) -> None:
    wiring = Intake()
    intake, seen = wiring.build(env)
    await wiring.routes.link(TENANT, PERSON + "U0ALICE", subscription="subscriptions/mine")

    assert await intake.accept(meet_event("e1", "subscriptions/mine")) == TAKEN

    assert wiring.person_pokes == [(TENANT, "U0ALICE")] and wiring.pokes == []
    assert seen.done_ids == ["e1"]


async def test_a_lifecycle_event_of_a_persons_subscription_goes_to_the_personal_feed(env: Feed) -> None:
    google_user = env.meet.state.user(ALICE_EMAIL)["id"]
    await env.personal.keep(TENANT, "U0ALICE", google_user, env.call)
    record = env.subscriptions.records[(TENANT, "U0ALICE")]
    wiring = Intake(routes=env.routes)
    intake, _ = wiring.build(env)

    assert await intake.accept(lifecycle(EXPIRED, record.name)) == TAKEN

    assert (TENANT, "U0ALICE") not in env.subscriptions.records
    assert wiring.person_pokes == [(TENANT, "U0ALICE")]
