"""`/meet mine` with Workspace Events, in-process: a user-target subscription per opted-in person, made with their
own token, routed to them, deleted when they opt out; polling becomes a 5-minute safety net. Each delivered event is
handed to the intake directly (push verification is tested in tests/unit/test_google_events.py).

Run under each unverified choice the bot depends on: where an event names its subscription (ce-source), and whether
a user target also gets the events of meetings whose Calendar event the user organised, and of those they only
join (reference §9, §14)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.google.pubsub import parse_message
from emulators.events import EventsEmulator
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.edge.test_calls_edge import ALICE, ALICE_EMAIL, BOB_EMAIL, TENANT, Edge, open_edge
from tests.edge.test_mine_edge import dm_now, dms, kept, outside_meeting, reads_of

TOPIC = "projects/meetbot-test/topics/meet"


@pytest.fixture(params=[("space", "owned"), ("subscription", "owned"), ("subscription", "organised"),
                        ("subscription", "joined")],
                ids=["ce-source-space", "owned", "organised", "joined"])
def events(request: pytest.FixtureRequest, meet_emulator: MeetEmulator) -> Iterator[EventsEmulator]:
    ce_source, user_events = request.param
    with EventsEmulator(meet_emulator.state, ce_source=ce_source, user_target_events=user_events) as emulator:
        yield emulator


@pytest.fixture
async def edge(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
               events: EventsEmulator) -> AsyncIterator[Edge]:
    env = {**bot_env, "GOOGLE_PUBSUB_TOPIC": TOPIC, "GOOGLE_EVENTS_URL": events.url, "PUBSUB_API_URL": events.url,
           "GOOGLE_CERTS_URL": events.certs_url, "GOOGLE_PUBSUB_PUSH_ACCOUNT": "push@meetbot-test.example"}
    async with open_edge(env, slack_emulator, meet_emulator) as edge:
        yield edge


def user_subscriptions(events: EventsEmulator) -> list[dict[str, Any]]:
    return [s for s in events.state.subscriptions() if s["targetResource"].startswith("//cloudidentity.")]


async def due_in(edge: Edge) -> float:
    due = edge.services.keys.schedule("mine")[0]
    score = await edge.services.redis.zscore(due, f"-|{TENANT.team_id}|{ALICE}")
    assert score is not None
    return float(score) - time.time()


async def deliver(edge: Edge, events: EventsEmulator, seen: set[str]) -> list[str]:
    """Hand every event published since the last call to the intake; what became of each."""
    outcomes = []
    for message in events.state.broker.snapshot()["published"]:
        if message["messageId"] in seen:
            continue
        seen.add(message["messageId"])
        assert edge.services.event_intake is not None
        outcomes.append(await edge.services.event_intake.accept(parse_message(message)))
    return outcomes


async def read(edge: Edge) -> None:
    await edge.services.mine.refresh(TENANT, ALICE)


async def test_a_user_target_subscription_feeds_the_recap_and_goes_with_the_opt_out(
        edge: Edge, events: EventsEmulator) -> None:
    await edge.run("mine on")
    await read(edge)
    (sub,) = user_subscriptions(events)
    google_user = edge.meet.state.user(ALICE_EMAIL)["id"].removeprefix("users/")
    assert sub["targetResource"] == f"//cloudidentity.googleapis.com/users/{google_user}"
    assert sub["user"] == ALICE_EMAIL, "made with her own token"
    assert await due_in(edge) > 200, "events flow: polling is only the safety net"

    seen: set[str] = set()
    space = outside_meeting(edge)
    started = await deliver(edge, events, seen)
    if events.state.ce_source == "subscription":
        assert "taken" in started and await due_in(edge) <= 2, "an event for her meeting makes her read due"
    await read(edge)  # the read the event (or, naming only the space, the safety net) brought
    edge.meet.state.end_conference(space["name"])
    assert "taken" in await deliver(edge, events, seen), "the end is routed to her (subscription or conference)"
    assert await due_in(edge) <= 2
    await read(edge)
    (recap,) = dms(edge)
    assert f"Recap of {space['meetingCode']}" in dm_now(edge, recap) and "Who came (2)" in dm_now(edge, recap)

    edge.meet.state.produce_artifact("transcript", space["name"])
    await deliver(edge, events, seen)
    await read(edge)
    assert "Transcript" in dm_now(edge, recap) and len(dms(edge)) == 1

    await edge.run("mine off")
    assert user_subscriptions(events) == [] and not await kept(edge)


async def test_a_meeting_she_only_joins_gets_no_recap_under_either_reading_of_googles_guide(
        edge: Edge, events: EventsEmulator) -> None:
    """Whether or not Google sends her its events, a meeting she only joined isn't hers to recap: who came is the
    owner's to see. Her role is read once; its end is not read at all."""
    await edge.run("mine on")
    await read(edge)
    bobs = edge.meet.state.create_space(BOB_EMAIL, client_id="calendar")
    edge.meet.state.join(bobs["name"], user=BOB_EMAIL)
    edge.meet.state.join(bobs["name"], user=ALICE_EMAIL)
    seen: set[str] = set()
    outcomes = await deliver(edge, events, seen)
    assert ("taken" in outcomes) == (events.state.user_target_events == "joined")
    await read(edge)  # an event's read, or the safety net's: Google lists it to her either way
    edge.meet.state.end_conference(bobs["name"])
    await deliver(edge, events, seen)
    await read(edge)
    await read(edge)
    assert dms(edge) == []
    space_id = bobs["name"].removeprefix("spaces/")
    assert reads_of(edge, "spaces.get", space_id) == 1
    assert not [c for c in edge.meet.state.calls_to("participants.list") if c["user"] == ALICE_EMAIL]


async def test_a_meeting_from_her_calendar_event_is_recapped_under_every_reading_of_googles_guide(
        edge: Edge, events: EventsEmulator) -> None:
    """Calendar made the space for her event (as its owner: Google's older guide covers it too); the end is
    routed to her, and the recap names who came though she never joined."""
    await edge.run("mine on")
    await read(edge)
    space = edge.meet.state.calendar_meeting(ALICE_EMAIL)
    edge.meet.state.join(space["name"], user=BOB_EMAIL)
    seen: set[str] = set()
    await deliver(edge, events, seen)
    await read(edge)
    edge.meet.state.end_conference(space["name"])
    assert "taken" in await deliver(edge, events, seen)
    assert await due_in(edge) <= 2, "the end makes her read due"
    await read(edge)
    (recap,) = dms(edge)
    assert f"Recap of {space['meetingCode']}" in dm_now(edge, recap) and "Who came (1)" in dm_now(edge, recap)


async def test_disconnecting_deletes_the_subscription_with_the_grant_it_was_made_with(
        edge: Edge, events: EventsEmulator) -> None:
    await edge.run("mine on")
    await read(edge)
    assert len(user_subscriptions(events)) == 1
    await edge.run("disconnect")
    assert user_subscriptions(events) == [] and not await kept(edge)
