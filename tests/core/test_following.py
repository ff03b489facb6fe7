"""`Following` (bot/core/following.py) in process: in-memory fakes of its ports (tests/support/follow_fakes.py), the
Meet and Workspace Events emulators over HTTP, and the Meet emulator's clock as core's clock. Each test proves one
decision: when a space is read and with whose token, what is read, when following stops, how it backs off."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.core.event_feed import EventFeed, FollowNotice
from bot.core.following import (
    BACKOFF,
    COALESCE,
    FILE_POLL_FACTOR,
    FILES_FOR,
    FOLLOW_WAITING_FOR,
    IDLE_FACTOR,
    LEASE,
    SAFETY_NET,
    Following,
)
from bot.domain import Card, Phase, Tenant
from bot.google.workspace_events import WorkspaceEvents
from bot.googleapi.errors import PermissionDenied
from bot.meet.client import MeetClient, build_http_client
from bot.meet.retry import RetryPolicy
from emulators.events import EventsEmulator
from emulators.meet import MeetEmulator
from tests.support.follow_fakes import (
    MemoryCards,
    MemoryFollow,
    MemoryRoutes,
    MemorySchedule,
    MemorySubscriptions,
    MintedTokens,
)

TENANT = Tenant("T0001")
ALICE, BOB = "U0ALICE", "U0BOB"
EMAILS = {ALICE: "alice@example.com", BOB: "bob@example.com"}
SCOPES = ("meetings.space.created", "meetings.space.readonly")
POLL = 30.0
TOPIC = "projects/meetbot-test/topics/meet"
FAST_RETRY = RetryPolicy(deadline=2.0, initial_backoff=0.01, max_backoff=0.05, jitter=0.0)
ARTIFACT_LISTS = ("recordings.list", "transcripts.list", "smartNotes.list")


@dataclass
class World:
    emu: MeetEmulator
    tokens: MintedTokens
    cards: MemoryCards
    memory: MemoryFollow
    schedule: MemorySchedule
    http: httpx.AsyncClient

    def following(self, poll: float = POLL, feed: EventFeed | None = None) -> Following:
        meet = MeetClient(self.http, self.emu.url, retry=FAST_RETRY)
        return Following(meet, self.tokens, self.cards, self.memory, self.schedule, poll, feed=feed,  # type: ignore[arg-type]
                         clock=self.emu.state.now)

    def space(self, owner: str = ALICE) -> tuple[str, str]:
        """A space `owner` owns: (spaces/{id}, id)."""
        name = str(self.emu.state.create_space(EMAILS[owner])["name"])
        return name, name.partition("/")[2]

    def card(self, space_id: str, kind: str = "meeting", channel: str = "C0GENERAL") -> Card:
        """A card posted now (by the emulator's clock) that shows the space."""
        posted = Card(channel, f"{self.emu.state.now():.6f}", kind)
        self.cards.by_space.setdefault((TENANT, space_id), []).append(posted)
        return posted

    def meet_calls(self) -> list[tuple[str, str]]:
        """(route, caller email) of every Meet API call so far."""
        return [(c["route"], c["user"]) for c in self.emu.state.calls if not c["route"].startswith("oauth.")]

    def due(self, space_id: str) -> float | None:
        return self.schedule.due.get((TENANT, space_id))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(timeout_connect=2.0, timeout_read=5.0) as client:
        yield client


@pytest.fixture
def world(meet_emulator: MeetEmulator, http: httpx.AsyncClient) -> World:
    tokens = MintedTokens(lambda email: meet_emulator.state.mint_token(email, SCOPES, expires_in=30 * 24 * 3600))
    for user, email in EMAILS.items():
        tokens.link(TENANT, user, email)
    return World(meet_emulator, tokens, MemoryCards(), MemoryFollow(), MemorySchedule(), http)


async def followed(world: World, following: Following, kind: str = "meeting", owner: str = ALICE
                   ) -> tuple[str, str]:
    """A space with a card `owner` posted, followed as them."""
    name, space_id = world.space(owner)
    world.card(space_id, kind)
    await following.follow(TENANT, name, owner)
    return name, space_id


# --- starting to follow -------------------------------------------------------------------------------------------


async def test_follow_makes_the_space_due_now_with_the_card_poster_as_follower(world: World) -> None:
    following = world.following()
    name, space_id = world.space()

    await following.follow(TENANT, name, ALICE)

    assert await following.follower(TENANT, name) == ALICE
    assert world.due(space_id) == pytest.approx(world.emu.state.now(), abs=1.0)
    assert await following.due(10) == [(TENANT, space_id)]
    assert world.due(space_id) == pytest.approx(world.emu.state.now() + LEASE, abs=1.0)  # claimed: leased
    assert world.meet_calls() == []  # following reads nothing until the space is due


async def test_a_second_card_keeps_the_follower_whose_view_the_cards_show(world: World) -> None:
    following = world.following()
    name, _space_id = await followed(world, following)

    await following.follow(TENANT, name, BOB, keep=True)
    assert await following.follower(TENANT, name) == ALICE

    await following.follow(TENANT, name, BOB)  # without `keep`: the new poster reads it from now on
    assert await following.follower(TENANT, name) == BOB


async def test_nothing_is_followed_without_polling_or_an_event_feed(world: World) -> None:
    following = world.following(poll=0)
    name, space_id = world.space()
    world.card(space_id)

    await following.follow(TENANT, name, ALICE)

    assert not following.enabled
    assert await following.follower(TENANT, name) is None and world.due(space_id) is None
    assert await following.revive(TENANT, name) is False
    assert await following.fresh_state(TENANT, name, ALICE) is None


async def test_a_followed_space_shows_waiting_before_its_first_read(world: World) -> None:
    following = world.following()
    name, _ = world.space()
    assert await following.shown_state(TENANT, name) is None  # not followed: cards keep what they showed

    await following.follow(TENANT, name, ALICE)

    shown = await following.shown_state(TENANT, name)
    assert shown is not None and shown.phase is Phase.WAITING


# --- what a read reads, and with whose token --------------------------------------------------------------------


async def test_a_waiting_space_costs_one_read_made_with_the_followers_own_token(world: World) -> None:
    following = world.following()
    _name, space_id = await followed(world, following)

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.follower == ALICE
    assert update.current.phase is Phase.WAITING and not update.changed  # the card was posted waiting
    assert world.meet_calls() == [("conferenceRecords.list", EMAILS[ALICE])]
    assert world.due(space_id) == pytest.approx(world.emu.state.now() + POLL, abs=1.0)


async def test_a_live_call_is_read_with_its_participants(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    world.emu.state.join(name, user=EMAILS[BOB])

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.changed
    assert update.current.phase is Phase.LIVE and len(update.current.present) == 1
    assert world.meet_calls() == [("conferenceRecords.list", EMAILS[ALICE]), ("participants.list", EMAILS[ALICE])]
    assert world.due(space_id) == pytest.approx(world.emu.state.now() + POLL, abs=1.0)


async def test_the_space_is_read_as_the_follower_not_as_whoever_else_posted_a_card(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    world.card(space_id, channel="C0OTHER")
    await following.follow(TENANT, name, BOB, keep=True)  # Bob shared it again: Alice still reads it
    world.emu.state.join(name, user=EMAILS[ALICE])

    await following.refresh(TENANT, space_id)

    assert {user for _, user in world.meet_calls()} == {EMAILS[ALICE]}
    assert [user for user, _ in world.tokens.handed_out] == [ALICE]  # one token for the whole refresh


async def test_a_meeting_card_ignores_a_call_that_started_before_it_was_posted(world: World) -> None:
    following = world.following()
    name, space_id = world.space()
    world.emu.state.join(name, user=EMAILS[BOB])
    world.emu.state.advance_time(60)  # the card comes a minute into someone else's call
    world.card(space_id)
    await following.follow(TENANT, name, ALICE)

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.current.phase is Phase.WAITING
    assert [route for route, _ in world.meet_calls()] == ["conferenceRecords.list"]


async def test_a_room_card_shows_whatever_call_is_on(world: World) -> None:
    following = world.following()
    name, space_id = world.space()
    world.emu.state.join(name, user=EMAILS[BOB])
    world.emu.state.advance_time(60)
    world.card(space_id, kind="room")
    await following.follow(TENANT, name, ALICE)

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.current.phase is Phase.LIVE


async def test_a_rejected_token_is_refreshed_and_the_read_retried_once(world: World) -> None:
    following = world.following()
    _name, space_id = await followed(world, following)
    stale = world.tokens.tokens[(TENANT, ALICE)]
    world.emu.state.expire_token(stale)

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.current.phase is Phase.WAITING
    assert world.tokens.rejected == [(ALICE, stale)]
    assert [c["status"] for c in world.emu.state.calls_to("conferenceRecords.list")] == [401, 200]


# --- after the call: files, then stop -----------------------------------------------------------------------------


async def test_after_the_end_each_missing_kind_of_file_is_looked_for_at_half_the_rate(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    world.emu.state.join(name, user=EMAILS[ALICE])
    world.emu.state.end_conference(name)

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.current.phase is Phase.ENDED
    routes = [route for route, _ in world.meet_calls()]
    assert routes[:2] == ["conferenceRecords.list", "participants.list"]
    assert sorted(routes[2:]) == sorted(ARTIFACT_LISTS)
    assert world.due(space_id) == pytest.approx(world.emu.state.now() + POLL * FILE_POLL_FACTOR, abs=1.0)


async def test_a_file_found_stays_found_and_is_not_looked_for_again(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    world.emu.state.join(name, user=EMAILS[ALICE])
    world.emu.state.end_conference(name)
    world.emu.state.produce_artifact("recording", name)
    first = await following.refresh(TENANT, space_id)
    assert first is not None and [p.kind for p in first.current.artifacts] == ["recording"]
    before = len(world.meet_calls())

    second = await following.refresh(TENANT, space_id)

    assert second is not None and second.current.artifacts == first.current.artifacts
    assert "recordings.list" not in [route for route, _ in world.meet_calls()[before:]]


async def test_a_meeting_card_stops_being_followed_once_files_stop_coming(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    world.emu.state.join(name, user=EMAILS[ALICE])
    world.emu.state.end_conference(name)
    world.emu.state.advance_time(FILES_FOR + 1)

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.current.unfollowed_at is not None and update.changed
    assert world.due(space_id) is None
    assert await following.follower(TENANT, name) == ALICE  # kept, so its cards say so and `revive` can resume
    assert not set(ARTIFACT_LISTS) & {route for route, _ in world.meet_calls()}


async def test_a_room_is_still_read_after_the_end_but_less_often(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following, kind="room")
    world.emu.state.join(name, user=EMAILS[ALICE])
    world.emu.state.end_conference(name)
    world.emu.state.advance_time(FILES_FOR + 1)

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.current.unfollowed_at is None
    assert world.due(space_id) == pytest.approx(world.emu.state.now() + POLL * IDLE_FACTOR, abs=1.0)


async def test_a_meeting_card_nobody_joined_for_a_day_stops_being_followed(world: World) -> None:
    following = world.following()
    _name, space_id = await followed(world, following)
    world.emu.state.advance_time(FOLLOW_WAITING_FOR + 1)

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.current.unfollowed_at is not None
    assert world.due(space_id) is None


async def test_a_waiting_card_older_than_an_hour_is_read_less_often(world: World) -> None:
    following = world.following()
    _name, space_id = await followed(world, following)
    world.emu.state.advance_time(2 * 60 * 60)

    await following.refresh(TENANT, space_id)

    assert world.due(space_id) == pytest.approx(world.emu.state.now() + POLL * IDLE_FACTOR, abs=1.0)


async def test_a_space_no_card_shows_is_dropped_and_forgotten_without_a_read(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    world.cards.by_space.clear()

    assert await following.refresh(TENANT, space_id) is None

    assert world.due(space_id) is None and await following.follower(TENANT, name) is None
    assert world.meet_calls() == []


async def test_a_disconnected_follower_stops_following_and_the_cards_say_why(world: World) -> None:
    following = world.following()
    _name, space_id = await followed(world, following)
    world.tokens.unlink(TENANT, ALICE)

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.changed
    assert update.current.unavailable == "disconnected" and update.current.unfollowed_at is not None
    assert world.due(space_id) is None and world.meet_calls() == []


async def test_a_failed_read_is_retried_after_a_backoff(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    world.emu.state.inject_fault("conferenceRecords.list", 403)

    with pytest.raises(PermissionDenied):
        await following.refresh(TENANT, space_id)

    assert world.due(space_id) == pytest.approx(world.emu.state.now() + BACKOFF, abs=1.0)
    assert await following.follower(TENANT, name) == ALICE


# --- events, status checks, revival -------------------------------------------------------------------------------


async def test_pokes_right_after_a_read_wait_out_the_coalescing_window(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    await following.refresh(TENANT, space_id)
    read_at = world.schedule.read[(TENANT, space_id)]

    assert await following.poke(TENANT, name, taken="event-1") is True

    assert world.due(space_id) == pytest.approx(read_at + COALESCE, abs=0.5)
    assert world.schedule.taken == ["event-1"]
    assert await following.poke(TENANT, "spaces/unfollowed") is False


async def test_fresh_state_is_only_the_followers_own_recent_view(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    await following.refresh(TENANT, space_id)

    assert await following.fresh_state(TENANT, name, ALICE) is not None
    assert await following.fresh_state(TENANT, name, BOB) is None  # never someone else's view
    world.emu.state.advance_time(2 * POLL + COALESCE + 1)
    assert await following.fresh_state(TENANT, name, ALICE) is None  # too old: ask Google again


async def test_revive_follows_again_a_space_whose_cards_still_show_it(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    world.emu.state.advance_time(FOLLOW_WAITING_FOR + 1)
    await following.refresh(TENANT, space_id)
    assert world.due(space_id) is None

    assert await following.revive(TENANT, name) is True

    assert world.due(space_id) == pytest.approx(world.emu.state.now(), abs=1.0)
    assert await following.follower(TENANT, name) == ALICE


async def test_revive_does_nothing_once_no_card_shows_the_space(world: World) -> None:
    following = world.following()
    name, space_id = await followed(world, following)
    world.emu.state.advance_time(FOLLOW_WAITING_FOR + 1)
    await following.refresh(TENANT, space_id)
    world.cards.by_space.clear()

    assert await following.revive(TENANT, name) is False
    assert world.due(space_id) is None


# --- with an event feed ----------------------------------------------------------------------------------------


@pytest.fixture
def events(meet_emulator: MeetEmulator) -> Iterator[EventsEmulator]:
    with EventsEmulator(meet_emulator.state, pull_wait=0.0) as emulator:
        yield emulator


@pytest.fixture
def feed_parts(world: World, events: EventsEmulator) -> tuple[EventFeed, MemorySubscriptions, MemoryRoutes]:
    subscriptions, routes = MemorySubscriptions(), MemoryRoutes()
    client = WorkspaceEvents(world.http, events.url, poll_interval=0.01)
    return EventFeed(client, TOPIC, subscriptions, routes, clock=world.emu.state.now), subscriptions, routes


async def test_with_events_a_live_space_is_read_only_as_a_safety_net(
    world: World, events: EventsEmulator, feed_parts: tuple[EventFeed, MemorySubscriptions, MemoryRoutes]
) -> None:
    feed, subscriptions, routes = feed_parts
    following = world.following(feed=feed)
    name, space_id = await followed(world, following)
    world.emu.state.join(name, user=EMAILS[BOB])

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.current.phase is Phase.LIVE
    (made,) = events.state.subscriptions()
    assert made["user"] == EMAILS[ALICE] and subscriptions.records[(TENANT, space_id)].name == made["name"]
    assert world.due(space_id) == pytest.approx(world.emu.state.now() + SAFETY_NET, abs=1.0)
    assert update.current.conference is not None
    assert routes.by_conference[update.current.conference] == (TENANT, space_id)  # its events route here


async def test_with_a_suspended_subscription_the_space_is_polled_again(
    world: World, events: EventsEmulator, feed_parts: tuple[EventFeed, MemorySubscriptions, MemoryRoutes]
) -> None:
    feed, subscriptions, _ = feed_parts
    following = world.following(feed=feed)
    name, space_id = await followed(world, following)
    world.emu.state.join(name, user=EMAILS[BOB])
    await following.refresh(TENANT, space_id)
    record = subscriptions.records[(TENANT, space_id)]
    events.state.suspend(record.name, "USER_SCOPE_REVOKED")
    subscriptions.records[(TENANT, space_id)] = type(record)(record.name, 0, "suspended")  # as its event says

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.notice is FollowNotice.LIVE_UPDATES_REVOKED
    assert world.due(space_id) == pytest.approx(world.emu.state.now() + POLL, abs=1.0)


async def test_when_following_stops_the_subscription_is_deleted_as_the_follower(
    world: World, events: EventsEmulator, feed_parts: tuple[EventFeed, MemorySubscriptions, MemoryRoutes]
) -> None:
    feed, _, _ = feed_parts
    following = world.following(feed=feed)
    _name, space_id = await followed(world, following)
    await following.refresh(TENANT, space_id)
    assert len(events.state.subscriptions()) == 1
    world.emu.state.advance_time(FOLLOW_WAITING_FOR + 1)  # still within the subscription's 7 days

    update = await following.refresh(TENANT, space_id)

    assert update is not None and update.current.unfollowed_at is not None
    deletes = [c for c in events.state.calls if c["route"] == "subscriptions.delete"]
    assert [c["user"] for c in deletes] == [EMAILS[ALICE]]
    assert events.state.subscriptions() == []
