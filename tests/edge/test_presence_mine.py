"""`/meet presence` in the person's own meetings, in-process: someone with `/meet mine` and presence on gets the
"In a meeting" status while they are in a meeting of theirs that meetbot never posted (started from Calendar, say),
and back what they had when they leave or it ends, whether mine's feed is polling or Workspace Events. Each mine
read costs one extra Google read per running meeting without a card, and only for people with presence on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.mine import LIVE_FILTER
from bot.core.own_calls import IN_THE_CALL
from emulators.events import EventsEmulator
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.edge.test_calls_edge import ALICE, ALICE_EMAIL, BOB, BOB_EMAIL, TENANT, Edge
from tests.edge.test_mine_edge import dms
from tests.edge.test_mine_events import TOPIC, deliver, due_in
from tests.edge.test_presence import Presence, open_presence
from tests.support.flows import all_text

IN_A_MEETING = ("In a meeting", ":calendar:")
FOCUS = ("Focus time", ":headphones:")


@pytest.fixture
async def p(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
            monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Presence]:
    async with open_presence(bot_env, slack_emulator, meet_emulator, monkeypatch) as presence:
        yield presence


@pytest.fixture(params=[("space", "owned"), ("subscription", "owned"), ("subscription", "joined")],
                ids=["ce-source-space", "owned", "joined"])  # the unverified readings, as in test_mine_events
async def p_events(request: pytest.FixtureRequest, bot_env: dict[str, str], slack_emulator: SlackEmulator,
                   meet_emulator: MeetEmulator, monkeypatch: pytest.MonkeyPatch
                   ) -> AsyncIterator[tuple[Presence, EventsEmulator]]:
    ce_source, user_events = request.param
    with EventsEmulator(meet_emulator.state, ce_source=ce_source, user_target_events=user_events) as feed:
        env = {**bot_env, "GOOGLE_PUBSUB_TOPIC": TOPIC, "GOOGLE_EVENTS_URL": feed.url, "PUBSUB_API_URL": feed.url,
               "GOOGLE_CERTS_URL": feed.certs_url, "GOOGLE_PUBSUB_PUSH_ACCOUNT": "push@meetbot-test.example"}
        async with open_presence(env, slack_emulator, meet_emulator, monkeypatch) as presence:
            yield presence, feed


async def read(edge: Edge, user: str = ALICE) -> None:
    """One of the person's mine reads, as the schedule (polling, or an event's poke) would run it."""
    await edge.services.mine.refresh(TENANT, user)


async def opted_in(p: Presence, user: str = ALICE) -> None:
    assert "DM recap" in await p.edge.run("mine on", user)
    await p.sign_in(user)
    told = [c["body"] for c in p.edge.slack.state.response_posts() if c.get("body")][-1]
    assert "your own meetings, wherever they started" in all_text(told)
    p.by_hand(user, *FOCUS)


def calendar_meeting(edge: Edge, owner: str = ALICE_EMAIL) -> str:
    """A meeting the owner runs that meetbot never saw start (as if from their Calendar), Bob already in it."""
    space = edge.meet.state.create_space(owner, client_id="calendar")["name"]
    edge.meet.state.join(space, user=BOB_EMAIL)
    return str(space)


async def test_polled_her_status_follows_her_into_and_out_of_her_own_meeting(p: Presence) -> None:
    await opted_in(p)
    space = calendar_meeting(p.edge)
    await read(p.edge)
    assert p.status(ALICE) == FOCUS, "her meeting is running, but she isn't in it"

    p.edge.meet.state.join(space, user=ALICE_EMAIL)
    await read(p.edge)
    assert p.status(ALICE) == IN_A_MEETING
    await read(p.edge)
    assert p.sets(ALICE) == 1, "one set per join, however often it is read"

    p.edge.meet.state.leave(space, user=ALICE_EMAIL)
    await read(p.edge)
    assert p.status(ALICE) == FOCUS, "she left (Bob is still in it): hers again"

    p.edge.meet.state.join(space, user=ALICE_EMAIL)
    await read(p.edge)
    assert p.status(ALICE) == IN_A_MEETING
    p.edge.meet.state.end_conference(space)
    await read(p.edge)
    assert p.status(ALICE) == FOCUS, "the meeting ended"
    assert p.sets(ALICE) == 4 and len(dms(p.edge)) == 1, "and the recap came as before"


async def test_turning_mine_off_mid_call_gives_her_status_back(p: Presence) -> None:
    """Only mine saw this call: once she stops it, nothing will ever see her leave, so her status is hers again
    at once, not when its 4-hour expiry runs out."""
    await opted_in(p)
    space = calendar_meeting(p.edge)
    p.edge.meet.state.join(space, user=ALICE_EMAIL)
    await read(p.edge)
    assert p.status(ALICE) == IN_A_MEETING

    assert "deleted what it kept" in await p.edge.run("mine off")

    assert p.status(ALICE) == FOCUS


async def test_a_read_costs_one_participants_read_per_running_meeting_without_a_card_only_with_presence(
        p: Presence) -> None:
    await opted_in(p)
    assert "DM recap" in await p.edge.run("mine on", BOB)  # Bob: mine without presence
    calendar_meeting(p.edge)
    card_space, _ = await p.edge.new_card()  # hers too, but its card's following reads who is in it
    p.edge.meet.state.join(card_space, user=ALICE_EMAIL)
    calendar_meeting(p.edge, BOB_EMAIL)
    await read(p.edge)
    await read(p.edge, BOB)  # the first sight of each meeting also reads its code, once

    before = len(p.edge.meet.state.calls)
    await read(p.edge)
    alices = p.edge.meet.state.calls[before:]
    assert [c["route"] for c in alices] == ["conferenceRecords.list", "participants.list"]
    assert alices[0]["query"]["filter"] == LIVE_FILTER and alices[1]["query"]["filter"] == IN_THE_CALL
    assert {c["user"] for c in alices} == {ALICE_EMAIL}, "read as her, for her"

    before = len(p.edge.meet.state.calls)
    await read(p.edge, BOB)
    assert [c["route"] for c in p.edge.meet.state.calls[before:]] == ["conferenceRecords.list"]


async def test_through_workspace_events_her_status_follows_her_own_meeting(
        p_events: tuple[Presence, EventsEmulator]) -> None:
    (p, feed), seen = p_events, set[str]()
    edge = p.edge
    await opted_in(p)
    await read(edge)  # her user-target subscription
    space = calendar_meeting(edge)
    await deliver(edge, feed, seen)
    await read(edge)  # what the start brought (or the safety net, where events name only the space)

    edge.meet.state.join(space, user=ALICE_EMAIL)
    assert "taken" in await deliver(edge, feed, seen), "her joining is routed to her"
    assert await due_in(edge) <= 2, "and makes her read due"
    await read(edge)
    assert p.status(ALICE) == IN_A_MEETING

    edge.meet.state.leave(space, user=ALICE_EMAIL)
    assert "taken" in await deliver(edge, feed, seen)
    assert await due_in(edge) <= 2
    await read(edge)
    assert p.status(ALICE) == FOCUS
