"""Slack's own call object, through the bot in-process polling the Meet emulator: the card carries a call whose
people follow the meeting, which ends with its duration; a room's next conference gets its own call. A bot killed
mid-call: the end-to-end tests."""

from __future__ import annotations

import pytest

from bot.core.calls import external_id
from tests.support.flows import message_text
from tests.support.slack_calls import call_block, calls, people
from tests.support.waits import eventually
from tests.support.world import ALICE, BOB, CHANNEL, World, space_of

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]

DANA = "dana@elsewhere.example"  # signed in to Google, never linked to Slack


async def test_a_meeting_becomes_a_slack_call_whose_people_follow_it_and_which_ends_with_its_duration(
        live: World) -> None:
    slack, meet = live.slack, live.meet
    await live.command("new Standup", wait=False)
    card = live.card()
    space, ts = space_of(card), card["response"]["ts"]
    assert not calls(live), "no call before anyone joined (a call is registered at conference start)"

    meet.state.join(space, user=BOB[1])
    call_id = eventually(lambda: call_block(live, ts), "the card to carry a call block")
    (call,) = calls(live)
    assert call["id"] == call_id and call["title"] == "Standup" and call["created_by"] == ALICE[0]
    assert call["join_url"].startswith("https://meet.google.com/") and call["external_display_id"] in call["join_url"]
    assert "Live* · 1 in the call" in message_text(slack, CHANNEL, ts), "the card still reads well on its own"
    assert people(live, call_id) == [{"slack_id": BOB[0]}]

    dana = meet.state.join(space, user=DANA)
    guest = meet.state.join(space, anonymous="Visitor")
    phone = meet.state.join(space, phone="+1 555 0100")
    eventually(lambda: len(people(live, call_id)) == 4, "four people in the call")
    assert people(live, call_id)[1:] == [
        {"external_id": external_id(dana), "display_name": "Dana"},  # Google's display name, never the email
        {"external_id": external_id(guest), "display_name": "Guest"},  # guests unnamed ("Visitor" is theirs)
        {"external_id": external_id(phone), "display_name": "Phone caller"},
    ]
    assert "@" not in str(people(live, call_id))

    meet.state.leave(space, user=BOB[1])
    eventually(lambda: {"slack_id": BOB[0]} not in people(live, call_id), "Bob out of the call")
    meet.state.advance_time(23 * 60)
    meet.state.end_conference(space)
    ended = eventually(lambda: (slack.state.call_objects.get(call_id) or {}).get("duration"), "the call ended")
    assert 23 * 60 <= ended < 24 * 60, "the conference's own duration (23 min and the test's seconds)"
    assert call_block(live, ts) == call_id
    assert all(c["ok"] for c in slack.state.calls if c["method"].startswith("calls.")), "no Calls request refused"


async def test_a_rooms_second_conference_gets_a_second_call_and_the_card_moves_to_it(live: World) -> None:
    await live.command("room new", wait=False)
    card = live.card()
    space, ts = space_of(card), card["response"]["ts"]
    live.meet.state.join(space, user=BOB[1])
    first = eventually(lambda: call_block(live, ts), "the room card's first call")
    live.meet.state.end_conference(space)
    eventually(lambda: (live.slack.state.call_objects.get(first) or {}).get("date_end"), "the first call ended")
    live.meet.state.join(space, user=BOB[1])
    second = eventually(lambda: call_block(live, ts) not in (None, first) and call_block(live, ts),
                        "the room card on a second call")
    assert people(live, second) == [{"slack_id": BOB[0]}]
    assert len(calls(live)) == 2
