"""Whose eyes a card sees with (issue 22), end to end: a meeting is read with a person's token only for that
person or for a card or room they posted or set up, and the channel sees names only where the owner shared them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import all_text, block_action, channel_posts, message_text
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually
from tests.support.world import ALICE, BOB, CAROL, CHANNEL, World, space_of

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]

LEADS = "C0LEADS"


@pytest.fixture
async def live(start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
               ) -> World:
    slack_emulator.state.add_channel(LEADS, "leads", is_private=True, members=[ALICE[0], BOB[0]])
    world = World(start_bot(MEET_POLL_SECONDS="1"), slack_emulator, meet_emulator)
    await world.link_everyone()
    return world


async def started_in_leads(world: World, text: str) -> dict[str, Any]:
    """Alice runs `/meet <text>` in private #leads; returns the card posted there."""
    url = world.slack.response_url("leads-new", channel=LEADS, user=ALICE[0])
    response = await world.bot.post(slash_command(text, user_id=ALICE[0], channel_id=LEADS, response_url=url,
                                                  trigger_id=world.slack.state.issue_trigger_id()))
    assert response.status_code == 200
    return eventually(lambda: [p for p in channel_posts(world.slack) if p["args"].get("channel") == LEADS],
                      "Alice's card in #leads")[0]


def thread_replies(world: World, channel: str, ts: str) -> list[dict[str, Any]]:
    return [c for c in world.slack.state.calls_to("chat.postMessage")
            if c["args"].get("channel") == channel and c["args"].get("thread_ts") == ts]


async def test_a_room_pointed_at_someone_elses_meeting_never_mirrors_it(live: World) -> None:
    """Carol, neither owner nor participant nor in #leads, points #general's room at Alice's meeting: the room is
    never drawn from Alice's reads and gets no recap naming who came; Alice's own card still does."""
    leads_card = await started_in_leads(live, "new Board prep")
    space, leads_ts = space_of(leads_card), leads_card["response"]["ts"]
    code = live.meet.state.space(space)["meetingCode"]
    assert "room is now" in all_text(await live.command(f"room set {code}", CAROL))
    await live.command("room", CAROL, wait=False)
    room_card = eventually(lambda: [p for p in channel_posts(live.slack) if p["args"].get("channel") == CHANNEL],
                           "the room card in #general")[0]
    room_ts = room_card["response"]["ts"]
    assert "list who came" in all_text(leads_card["args"]), "Alice's card tells her channel who the recap names"
    assert "list who came" not in all_text(room_card["args"]), "a room set to another's meeting names nobody"

    live.meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in message_text(live.slack, LEADS, leads_ts), "Alice's card live")
    live.meet.state.advance_time(10 * 60)
    live.meet.state.end_conference(space)
    (recap,) = eventually(lambda: thread_replies(live, LEADS, leads_ts), "the recap under Alice's own card")
    assert "Bob" in all_text(recap["args"]), "Alice posted that card: her channel sees who came"

    room_edits = [c for c in live.slack.state.calls_to("chat.update") if c["args"].get("ts") == room_ts]
    assert room_edits == [], "the room card was drawn from Alice's reads"
    assert thread_replies(live, CHANNEL, room_ts) == [], "a recap of Alice's meeting reached #general"
    reads = [c for c in live.meet.state.calls if c["route"].startswith(("conferenceRecords", "participants"))]
    assert {c["user"] for c in reads} == {ALICE[1]}, "only Alice's own card is read with her token"


async def unfurl_in(world: World, channel: str, who: tuple[str, str], link: str) -> str:
    """Someone pastes the link in `channel`; the text of the unfurl meetbot gives it."""
    before = len(world.slack.state.calls_to("chat.unfurl"))
    event = world.slack.state.share_links([link], channel=channel, user=who[0])
    response = await world.bot.post((json.dumps(world.slack.state.event_envelope(event)), "application/json"))
    assert response.status_code == 200
    calls = eventually(lambda: world.slack.state.calls_to("chat.unfurl")[before:], f"the unfurl in {channel}")
    return json.dumps(calls[0]["args"])


async def status_for_me(world: World, who: tuple[str, str], code: str) -> str:
    """`who` clicks "Status for me" on an unfurl in #general."""
    name = f"me-{who[0]}-{time.monotonic_ns()}"
    url = world.slack.response_url(name, channel=CHANNEL, user=who[0])
    await world.bot.post(block_action("meet_status_me", code, user_id=who[0], channel=CHANNEL, message_ts="1.2",
                                      response_url=url))
    (reply,) = world.slack.state.wait_for_response_posts_blocking(name, 1, timeout=10)
    return all_text(reply["body"])


async def test_a_title_only_meetbot_knows_stays_where_the_card_was_posted(live: World) -> None:
    """Typed in private #leads, it shows in #leads' unfurls and to its owner; in #general, only the code."""
    card = await started_in_leads(live, "new Acme merger")
    space = live.meet.state.space(space_of(card))
    code, link = space["meetingCode"], space["meetingUri"]

    elsewhere = await unfurl_in(live, CHANNEL, CAROL, link)
    assert code in elsewhere and "Acme merger" not in elsewhere, "the title reached another channel's unfurl"
    for who in (CAROL, BOB):
        seen = await status_for_me(live, who, code)
        assert code in seen and "Acme merger" not in seen, (who, seen)
    assert "Acme merger" not in all_text(await live.command(f"status {code}", CAROL))

    assert "Acme merger" in await unfurl_in(live, LEADS, BOB, link), "where the card was posted, it shows"
    assert "Acme merger" in await status_for_me(live, ALICE, code), "its owner sees it anywhere"


async def test_a_room_set_to_a_meeting_the_adopter_does_not_own_is_read_as_them_and_names_nobody(live: World) -> None:
    """Alice's meeting, made outside meetbot: Carol points #general's room at it and attends. The room is read
    with Carol's own token (what Google shows her), and its recap counts who came without naming them."""
    space = live.meet.state.create_space(ALICE[1], client_id="calendar")["name"]
    code = live.meet.state.space(space)["meetingCode"]
    assert "room is now" in all_text(await live.command(f"room set {code}", CAROL))
    await live.command("room", CAROL, wait=False)
    (room_card,) = eventually(lambda: channel_posts(live.slack), "the room card")
    room_ts = room_card["response"]["ts"]
    live.meet.state.join(space, user=CAROL[1])
    live.meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 2 in the call" in message_text(live.slack, CHANNEL, room_ts), "the room live")
    (call,) = live.slack.state.call_objects.all()
    assert not call.get("users"), "the room's Slack call named the people in it to the channel"
    live.meet.state.advance_time(5 * 60)
    live.meet.state.end_conference(space)
    (recap,) = eventually(lambda: thread_replies(live, CHANNEL, room_ts), "the room's recap")
    text = all_text(recap["args"])
    assert "2 people" in text and "Bob" not in text and "Carol" not in text, text
    reads = [c for c in live.meet.state.calls if c["route"].startswith(("conferenceRecords", "participants"))]
    assert reads and {c["user"] for c in reads} == {CAROL[1]}
