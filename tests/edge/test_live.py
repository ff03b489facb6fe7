"""Cards that follow the meeting, end to end: `python -m bot` polling the Meet emulator, the Slack emulator's
messages edited in place, and the recap in the card's thread with the files' links."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import redis

from bot.store.keys import Keys
from tests.support.flows import all_text, channel_posts
from tests.support.jobs import settled
from tests.support.waits import eventually
from tests.support.world import ALICE, BOB, CAROL, CHANNEL, World, card_text, space_of

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]




def thread_replies(world: World, ts: str) -> list[dict[str, Any]]:
    return [c for c in world.slack.state.calls_to("chat.postMessage") if c["args"].get("thread_ts") == ts]


async def test_a_card_follows_its_meeting_from_waiting_to_live_to_ended_and_gets_a_recap(live: World) -> None:
    slack, meet = live.slack, live.meet
    await live.command("new Standup", wait=False)
    card = live.card()
    space, ts = space_of(card), card["response"]["ts"]
    assert "Waiting for people" in all_text(card["args"])

    meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(live, ts), "the card to go live with 1 person")
    meet.state.join(space, anonymous="Visitor")
    meet.state.join(space, user=CAROL[1])
    eventually(lambda: "Live* · 3 in the call" in card_text(live, ts), "3 in the call")
    assert "Bob" not in card_text(live, ts), "the card counts people; names are for the recap"

    meet.state.leave(space, user=CAROL[1])
    eventually(lambda: "Live* · 2 in the call" in card_text(live, ts), "2 in the call after Carol left")
    meet.state.advance_time(23 * 60)
    meet.state.end_conference(space)
    eventually(lambda: "Ended after 23 min · 3 people attended" in card_text(live, ts), "the ended card")
    (recap,) = eventually(lambda: thread_replies(live, ts), "the recap in the card's thread")
    text = all_text(recap["args"])
    assert "Recap of Standup" in text and "23 min" in text
    assert "Who came (3):* Bob, Carol, 1 guest" in text
    assert "appear here when Google has them" in text

    # Google's files arrive one by one: the same recap is edited, never a second one.
    recap_ts = recap["response"]["ts"]
    recording = meet.state.produce_artifact("recording", space)
    eventually(lambda: "Recording" in all_text(slack.state.message(CHANNEL, recap_ts) or {}), "the recording link")
    meet.state.produce_artifact("transcript", space)
    meet.state.produce_artifact("smartNote", space)
    eventually(lambda: "Notes by Gemini" in all_text(slack.state.message(CHANNEL, recap_ts) or {}), "notes link")
    final = all_text(slack.state.message(CHANNEL, recap_ts) or {})
    assert recording["driveDestination"]["exportUri"] in str(slack.state.message(CHANNEL, recap_ts))
    assert "Transcript" in final and "appear here" not in final
    assert len(thread_replies(live, ts)) == 1

    # Every read was Alice's (she posted the card), never Bob's or Carol's.
    reads = [c for c in meet.state.calls if c["route"].startswith(("conferenceRecords", "participants",
                                                                    "recordings", "transcripts", "smartNotes"))]
    assert reads and {c["user"] for c in reads} == {ALICE[1]}


async def test_polling_costs_one_read_while_waiting_and_stops_after_the_files(live: World) -> None:
    meet = live.meet
    await live.command("new", wait=False)
    card = live.card()
    space, ts = space_of(card), card["response"]["ts"]
    posted = time.monotonic()
    eventually(lambda: len(meet.state.calls_to("conferenceRecords.list")) >= 3, "three reads while waiting")
    waited = time.monotonic() - posted
    waiting_reads = meet.state.calls_to("conferenceRecords.list")
    assert len(waiting_reads) <= waited + 2, "about one read a second while waiting, never more"
    assert not meet.state.calls_to("participants.list"), "nobody there: no participant reads"
    assert not live.slack.state.calls_to("chat.update"), "a waiting card is not re-sent unchanged"

    meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live*" in card_text(live, ts), "live")
    meet.state.end_conference(space)
    eventually(lambda: thread_replies(live, ts), "the recap")
    for kind in ("recording", "transcript", "smartNote"):
        meet.state.produce_artifact(kind, space)
    eventually(lambda: "Notes by Gemini" in str(live.slack.state.calls_to("chat.update")[-1]), "all files shown")
    eventually(lambda: not followed(live, space), "the meeting off the follow schedule: nothing left to follow")
    before = len(meet.state.calls)
    settled(live.bot)
    assert len(meet.state.calls) == before, "nothing left to follow: no more reads"


def followed(world: World, space: str) -> bool:
    """Whether the space is on the shared follow schedule (due, or leased to a read under way): once it is off,
    no read of it can start."""
    due = Keys().schedule("follow")[0]
    with redis.Redis.from_url(world.bot.env["REDIS_URL"]) as client:
        return client.zscore(due, f"-|T0001|{space.removeprefix('spaces/')}") is not None


async def test_a_room_card_goes_live_and_back_to_waiting(live: World) -> None:
    await live.command("room new", wait=False)
    card = live.card()
    space, ts = space_of(card), card["response"]["ts"]
    live.meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(live, ts), "the room card live")
    live.meet.state.end_conference(space)
    eventually(lambda: "Waiting for people" in card_text(live, ts), "the room card waiting again")
    eventually(lambda: thread_replies(live, ts), "the room's recap")


async def test_the_home_tab_shows_followed_meetings_without_asking_google_again(live: World) -> None:
    meet, slack = live.meet, live.slack
    for title in ("One", "Two", "Three"):
        await live.command(f"new {title}", wait=False)
    posts = eventually(lambda: len(channel_posts(slack, 3)) >= 3 and channel_posts(slack, 3), "three cards")
    space = space_of(posts[0])
    meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(live, posts[0]["response"]["ts"]), "live")

    reads_before = len(meet.state.calls_to("spaces.get"))
    envelope = slack.state.event_envelope({"type": "app_home_opened", "user": ALICE[0], "channel": "D0ALICE",
                                           "tab": "home", "event_ts": "1.1"})
    response = await live.bot.post((json.dumps(envelope), "application/json"))
    assert response.status_code == 200
    home = eventually(lambda: slack.state.home_view(ALICE[0]), "Alice's Home tab")
    assert "Live · 1 in the call" in json.dumps(home, ensure_ascii=False)
    assert len(meet.state.calls_to("spaces.get")) == reads_before, "three followed meetings: no Google read"
    assert json.dumps(home).count('"style": "primary"') <= 3, "at most one primary button a section"

    # Start a meeting, from the Home tab: the same modal as the shortcut.
    status, _ = await live.click("meet_home_start", "", ALICE, None)
    assert status == 200
    (opened,) = eventually(lambda: slack.state.calls_to("views.open"), "the Start modal")
    assert "Start a Meet" in json.dumps(opened["args"])


async def test_recaps_can_be_turned_off_for_a_room_and_by_an_admin_for_everyone(live: World) -> None:
    slack, meet = live.slack, live.meet
    await live.command("room new", wait=False)
    room_card = live.card()
    off = await live.command("room recap off")
    assert "Recaps are off for this channel's room" in all_text(off)
    meet.state.join(space_of(room_card), user=BOB[1])
    eventually(lambda: "Live*" in card_text(live, room_card["response"]["ts"]), "the room live")
    meet.state.end_conference(space_of(room_card))
    eventually(lambda: "Waiting for people" in card_text(live, room_card["response"]["ts"]), "waiting again")
    await asyncio.sleep(2.0)
    assert not thread_replies(live, room_card["response"]["ts"]), "no recap for a room that turned them off"

    refused = all_text(await live.command("room recap default off", CAROL))
    assert "Only a workspace admin" in refused
    slack.state.add_user("U0ADMIN", "admin", email="admin@example.com", is_admin=True)
    assert "off by default" in all_text(await live.command("room recap default off", ("U0ADMIN", "admin@x")))
    await live.command("new Quiet", wait=False)
    card = next(c for c in channel_posts(slack, 2) if "Quiet" in all_text(c["args"]))
    meet.state.join(space_of(card), user=BOB[1])
    eventually(lambda: "Live*" in card_text(live, card["response"]["ts"]), "live")
    meet.state.end_conference(space_of(card))
    eventually(lambda: "Ended" in card_text(live, card["response"]["ts"]), "ended")
    await asyncio.sleep(2.0)
    assert not thread_replies(live, card["response"]["ts"]), "the workspace's default: no recaps"


async def test_a_cohost_change_shows_on_the_card_at_once(live: World) -> None:
    await live.command("new Planning", wait=False)
    card = live.card()
    code = live.meet.state.space(space_of(card))["meetingCode"]
    await live.command(f"cohost {code} <@{BOB[0]}|bob>")
    eventually(lambda: f"Co-hosts: <@{BOB[0]}>" in card_text(live, card["response"]["ts"]), "the co-hosts line")
    await live.command(f"uncohost {code} <@{BOB[0]}|bob>")
    eventually(lambda: "Co-hosts" not in card_text(live, card["response"]["ts"]), "the line gone again")
