"""A retired card stays retired. The follower reads a space's cards, then edits each one; a room card retired in
between (posted again, `room set`, `room clear`: forgotten, then edited into a pointer) must end as that pointer,
never as the live card again, whichever way the two interleave.

In-process: the real services (Bolt, jobs, core, store) against the emulators and the private Redis, each read of
the followed meeting run by hand and held at the point where the race lives, so the interleaving is forced, not
hoped for under load (tests/edge/test_truth_cards.py saw it only then)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import build_bolt_app
from bot.domain import Tenant, space_id_of
from bot.slack.front_door import FrontDoor
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.edge import ALICE, EMAIL, Edge, services_in_loop
from tests.support.flows import all_text, message_text
from tests.support.slack_requests import SIGNING_SECRET, slash_command
from tests.support.waits import eventually_async
from tests.support.world import space_of

TENANT = Tenant("T0001")
CHANNEL = "C0GENERAL"
BOB_EMAIL = "bob@example.com"
REPLACED = "replaced by a newer one"


@pytest.fixture
async def followed(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
                   ) -> AsyncIterator[Edge]:
    """Following on (its loop not started: each read is run by hand), Alice linked."""
    async with services_in_loop({**bot_env, "MEET_POLL_SECONDS": "30"}) as services:
        edge = Edge(services, build_bolt_app(services), FrontDoor(SIGNING_SECRET), slack_emulator, meet_emulator)
        await edge.link(ALICE, EMAIL)
        yield edge


def channel_posts(edge: Edge) -> list[dict[str, Any]]:
    return [c for c in edge.slack.state.calls_to("chat.postMessage") if c["args"].get("channel") == CHANNEL]


async def room_card(edge: Edge, text: str) -> tuple[str, str]:
    """`/meet <text>` as Alice: the room card it posts (space, ts), once it is listed and followed (the job or task
    that posted it goes on to do that, then to retire the channel's older room cards)."""
    before = len(channel_posts(edge))
    await edge.send(slash_command(text, user_id=ALICE, channel_id=CHANNEL, response_url=edge.slack.response_url(
        f"reply-{before}"), trigger_id=edge.slack.state.issue_trigger_id()))
    posted = (await eventually_async(lambda: channel_posts(edge)[before:], f"the card of /meet {text}"))[0]
    space, ts = space_of(posted), str(posted["response"]["ts"])

    async def followed() -> bool:
        listed = any(c.ts == ts for c in await edge.services.meetings.cards(TENANT, space))
        return listed and await edge.services.following.follower(TENANT, space) is not None

    await eventually_async(followed, f"the card of /meet {text} to be listed and followed", 10)
    return space, ts


def card_text(edge: Edge, ts: str) -> str:
    return message_text(edge.slack, CHANNEL, ts)


def edits_of(edge: Edge, ts: str) -> list[str]:
    """The text of each chat.update of the card, in the order Slack applied them."""
    return [all_text(c["args"]) for c in edge.slack.state.calls_to("chat.update") if c["args"].get("ts") == ts]


def hold_follower(edge: Edge, monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """The follower's next read stops after it read the space's cards, before it edits any: (reached, go)."""
    reached, go = asyncio.Event(), asyncio.Event()
    read = edge.services.following.refresh

    async def held(tenant: Tenant, space_id: str) -> Any:
        update = await read(tenant, space_id)
        reached.set()
        await go.wait()
        return update

    monkeypatch.setattr(edge.services.following, "refresh", held)
    return reached, go


async def live_room(edge: Edge) -> tuple[str, str]:
    """A room card, followed, whose call Bob is in (the follower's next read draws it live)."""
    space, ts = await room_card(edge, "room new")
    edge.meet.state.join(space, user=BOB_EMAIL)
    return space, ts


async def test_a_room_card_retired_after_the_follower_read_its_cards_keeps_its_pointer(
        followed: Edge, monkeypatch: pytest.MonkeyPatch) -> None:
    space, first = await live_room(followed)
    reached, go = hold_follower(followed, monkeypatch)
    reading = asyncio.create_task(followed.services.live_cards.refresh(TENANT, space_id_of(space)))
    await asyncio.wait_for(reached.wait(), 10)  # the follower holds a card list with the first card in it

    _, second = await room_card(followed, "room")  # posted again: the first card is forgotten and points on
    await eventually_async(lambda: REPLACED in card_text(followed, first), "the old card to point on")
    go.set()
    await asyncio.wait_for(reading, 10)

    text = card_text(followed, first)
    assert REPLACED in text and "in the call" not in text, "a retired card got the live card back"
    assert second != first
    (pointer,) = edits_of(followed, first)  # the follower found it retired and left it alone
    assert REPLACED in pointer


async def test_a_room_card_retired_while_its_live_edit_is_in_flight_ends_as_the_pointer(followed: Edge) -> None:
    space, first = await live_room(followed)
    # The follower's edit reaches Slack and is answered (and applied) only 2 s later.
    followed.slack.state.inject_fault("chat.update", status=200, delay=2.0)
    reading = asyncio.create_task(followed.services.live_cards.refresh(TENANT, space_id_of(space)))
    await eventually_async(lambda: followed.slack.state.faults_left() == 0, "the follower's edit to reach Slack")

    await room_card(followed, "room")  # posted again while that edit is in flight
    await asyncio.wait_for(reading, 10)
    await eventually_async(lambda: REPLACED in card_text(followed, first), "the old card to point on", within=5)
    assert "in the call" not in card_text(followed, first)
    live, pointer = edits_of(followed, first)
    assert "in the call" in live and REPLACED in pointer, "the follower's edit landed first, the pointer last"


async def test_room_set_while_the_followers_live_edit_is_in_flight_leaves_the_moved_pointer(followed: Edge) -> None:
    # The follower checks the channel's room just before its edit; `room set` lands while that edit is on its way.
    space, first = await live_room(followed)
    followed.slack.state.inject_fault("chat.update", status=200, delay=2.0)
    reading = asyncio.create_task(followed.services.live_cards.refresh(TENANT, space_id_of(space)))
    await eventually_async(lambda: followed.slack.state.faults_left() == 0, "the follower's edit to reach Slack")

    other = followed.meet.state.create_space(EMAIL, client_id="meetbot")
    await followed.send(slash_command(f"room set {other['meetingCode']}", user_id=ALICE, channel_id=CHANNEL,
                                      response_url=followed.slack.response_url("room-set")))
    await followed.settle()
    await asyncio.wait_for(reading, 10)
    await eventually_async(lambda: "moved from" in card_text(followed, first), "the old card to say the room moved",
                           within=5)
    assert "in the call" not in card_text(followed, first), "a retired card got the live card back"
    live, pointer = edits_of(followed, first)
    assert "in the call" in live and "moved from" in pointer, "the follower's edit landed first, the pointer last"
