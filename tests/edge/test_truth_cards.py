"""Cards that never lie (issue 23), end to end: a card is either followed or says it no longer is, and whatever
shows the meeting live again (a Join click, a status check, a pasted link) brings following back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import all_text, button_urls, channel_posts
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually
from tests.support.world import ALICE, BOB, CAROL, CHANNEL, World, card_text, space_of

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]


def recaps(world: World, ts: str) -> list[dict[str, Any]]:
    return [c for c in world.slack.state.calls_to("chat.postMessage") if c["args"].get("thread_ts") == ts]


async def finished_card(world: World) -> tuple[str, str, str]:
    """A card whose call ended and whose files all arrived: meetbot then stops following it."""
    await world.command("new Standup", wait=False)
    card = world.card()
    space, ts = space_of(card), card["response"]["ts"]
    world.meet.state.join(space, user=BOB[1])
    eventually(lambda: "in the call" in card_text(world, ts), "the card to go live")
    world.meet.state.advance_time(2 * 60)
    world.meet.state.end_conference(space)
    for kind in ("recording", "transcript", "smartNote"):
        world.meet.state.produce_artifact(kind, space)
    eventually(lambda: "not followed since" in card_text(world, ts), "the card to say it is no longer followed")
    return space, ts, world.meet.state.space(space)["meetingCode"]


async def test_a_card_no_longer_followed_says_so_and_a_rejoin_click_follows_it_again(live: World) -> None:
    space, ts, _ = await finished_card(live)
    text = card_text(live, ts)
    assert "Ended after 2 min" in text and "*Status* for the latest" in text and "meet_status_me" in text
    assert "Join again" in text
    # The card is edited before the recap is posted in its thread (one read does both when the files came at once).
    eventually(lambda: recaps(live, ts), "the recap of the first call")
    assert len(recaps(live, ts)) == 1

    # Carol clicks Rejoin (Slack sends the click for a link button too) and stays 5 minutes.
    await live.click("meet_join", space.removeprefix("spaces/"), CAROL, ts)
    live.meet.state.join(space, user=CAROL[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(live, ts), "the card to follow the new call")
    assert "not followed" not in card_text(live, ts)
    live.meet.state.advance_time(5 * 60)
    live.meet.state.end_conference(space)
    eventually(lambda: "Ended after 5 min" in card_text(live, ts), "the card to show the second call")
    second = eventually(lambda: recaps(live, ts)[1:], "a recap of the second call")
    assert "5 min" in all_text(second[0]["args"]) and "Carol" in all_text(second[0]["args"])


async def test_a_status_check_that_finds_the_meeting_live_follows_it_again(live: World) -> None:
    space, ts, code = await finished_card(live)
    live.meet.state.join(space, user=CAROL[1])  # through the link, not the card: meetbot sees no click
    assert "is *live*" in all_text(await live.command(code))
    eventually(lambda: "Live* · 1 in the call" in card_text(live, ts), "the card to follow the call again")


async def test_end_on_a_card_no_longer_followed_agrees_with_its_thread(live: World) -> None:
    space, ts, code = await finished_card(live)
    live.meet.state.join(space, user=CAROL[1])
    live.meet.state.advance_time(5 * 60)
    await live.command(f"end {code}", wait=False)
    eventually(lambda: len(recaps(live, ts)) == 2, "a recap of the call that was ended")
    assert "5 min" in all_text(recaps(live, ts)[1]["args"])
    eventually(lambda: "Ended after 5 min" in card_text(live, ts) and "not followed" not in card_text(live, ts),
               "the card to agree with its thread")


async def test_a_card_whose_poster_disconnected_says_live_status_is_unavailable(live: World) -> None:
    await live.command("new Standup", wait=False)
    card = live.card()
    space, ts = space_of(card), card["response"]["ts"]
    live.meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(live, ts), "the card to go live")
    await live.command("disconnect")
    live.meet.state.join(space, user=CAROL[1])
    eventually(lambda: "Live status unavailable" in card_text(live, ts), "the card to say it can't follow")
    text = card_text(live, ts)
    assert "no longer connected" in text and "in the call" not in text and "Waiting" not in text


# --- finding 2: an empty call, calls under a minute, co-host cards' date, "Join again" ---------------------------

async def test_an_empty_call_says_since_when_and_ending_it_says_nobody_is_removed(live: World) -> None:
    await live.command("new Standup", wait=False)
    card = live.card()
    space, ts = space_of(card), card["response"]["ts"]
    live.meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(live, ts), "the card to go live")
    live.meet.state.leave(space, user=BOB[1])
    eventually(lambda: "Live* · empty since <!date^" in card_text(live, ts), "the card to say the call is empty")
    assert "0 in the call" not in card_text(live, ts)

    code = live.meet.state.space(space)["meetingCode"]
    await live.click("meet_manage", f"end {space} {code}", ALICE, ts)
    (opened,) = eventually(lambda: live.slack.state.calls_to("views.open"), "the End dialog")
    dialog = json.dumps(opened["args"])
    assert "Nobody is in" in dialog and "will be removed" not in dialog, dialog

    await live.command(f"end {code}", wait=False)
    eventually(lambda: "Ended in under a minute" in card_text(live, ts), "the ended card")
    assert "0 min" not in card_text(live, ts) and "Join again" in card_text(live, ts)
    assert "Rejoin" not in card_text(live, ts)
    (recap,) = eventually(lambda: recaps(live, ts), "the recap")
    assert "under a minute" in all_text(recap["args"]) and "0 min" not in all_text(recap["args"])


async def test_a_card_started_with_cohosts_keeps_its_date(world: World) -> None:
    await world.command(f"new Planning <@{BOB[0]}|bob>", wait=False)
    card = world.card()
    posted = all_text(card["args"])
    assert "<!date^" in posted
    (update,) = eventually(lambda: world.slack.state.calls_to("chat.update"), "the co-hosts line")
    text = all_text(update["args"])
    assert "Co-hosts" in text and "<!date^" in text, text


# --- finding 3: one live room card per channel, one recap per call per channel ---------------------------------

def channel_recaps(world: World) -> list[dict[str, Any]]:
    return [c for c in world.slack.state.calls_to("chat.postMessage")
            if c["args"].get("thread_ts") and c["args"].get("channel") == CHANNEL]


async def test_one_live_room_card_per_channel_and_one_recap_per_call(live: World) -> None:
    await live.command("room new", wait=False)
    first = channel_posts(live.slack, 1)[-1]
    space, first_ts = space_of(first), first["response"]["ts"]
    await live.command("room", wait=False)
    second = channel_posts(live.slack, 2)[-1]
    second_ts = second["response"]["ts"]
    eventually(lambda: "replaced by a newer one" in card_text(live, first_ts), "the old room card to point on")
    assert "meet_join" not in card_text(live, first_ts), "an old room card offers nothing"

    live.meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(live, second_ts), "the room card to go live")
    assert "in the call" not in card_text(live, first_ts)
    live.meet.state.advance_time(3 * 60)
    live.meet.state.end_conference(space)
    eventually(lambda: channel_recaps(live), "the recap")
    await quiet()
    assert len(channel_recaps(live)) == 1, "one recap per call per channel"

    # `room set` points the room at another meeting: the old meeting's card stops offering it.
    other = live.meet.state.create_space(ALICE[1], client_id="meetbot")
    await live.command(f"room set {other['meetingCode']}")
    eventually(lambda: "moved from" in card_text(live, second_ts) and other["meetingCode"] in card_text(
        live, second_ts), "the room card to say the room moved")
    assert "meet_join" not in card_text(live, second_ts)


async def test_a_meeting_card_and_a_room_card_of_one_meeting_get_one_recap(live: World) -> None:
    await live.command("new Standup", wait=False)
    card = live.card()
    space = space_of(card)
    code = live.meet.state.space(space)["meetingCode"]
    await live.command(f"room set {code}")
    await live.command("room", wait=False)
    live.meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(live, card["response"]["ts"]), "the card to go live")
    live.meet.state.advance_time(3 * 60)
    live.meet.state.end_conference(space)
    eventually(lambda: channel_recaps(live), "the recap")
    await quiet()
    assert len(channel_recaps(live)) == 1, "one recap per call per channel"


async def quiet(seconds: float = 2.5) -> None:
    """Past the follow interval (1 s) twice: a second recap, if one were coming, would be posted by now."""
    await asyncio.sleep(seconds)


# --- finding 4: Connect after Deny, and "run it again" after a bare /meet ----------------------------------------

async def consent(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get((await client.get(url)).headers["location"])


def connect_url(message: dict[str, Any]) -> str:
    (url,) = button_urls(message)
    return url


async def test_after_deny_a_fresh_connect_button_works(bot: BotProcess, slack_emulator: SlackEmulator,
                                                        meet_emulator: MeetEmulator) -> None:
    slack_emulator.state.add_user(ALICE[0], "alice", email=ALICE[1])
    url = slack_emulator.response_url("deny", channel=CHANNEL, user=ALICE[0])
    prompt = (await bot.post(slash_command("connect", user_id=ALICE[0], response_url=url))).json()
    meet_emulator.state.set_consent(ALICE[1], deny=True)
    assert (await consent(connect_url(prompt))).status_code == 400
    (after,) = slack_emulator.state.wait_for_response_posts_blocking("deny", 1, timeout=10)
    assert "Nothing was connected" in all_text(after["body"])
    meet_emulator.state.set_consent(ALICE[1], deny=False)
    assert (await consent(connect_url(after["body"]))).status_code == 200, "the new button links the account"


async def test_a_bare_meet_offers_to_run_again_after_connecting(bot: BotProcess, slack_emulator: SlackEmulator,
                                                                 meet_emulator: MeetEmulator) -> None:
    slack_emulator.state.add_user(ALICE[0], "alice", email=ALICE[1])
    meet_emulator.state.set_consent(ALICE[1])
    url = slack_emulator.response_url("bare", channel=CHANNEL, user=ALICE[0])
    trigger = slack_emulator.state.issue_trigger_id()
    await bot.post(slash_command("", user_id=ALICE[0], response_url=url, trigger_id=trigger))
    (prompt,) = slack_emulator.state.wait_for_response_posts_blocking("bare", 1, timeout=10)
    assert "offer to run your command again" in all_text(prompt["body"])
    assert (await consent(connect_url(prompt["body"]))).status_code == 200
    connected = slack_emulator.state.wait_for_response_posts_blocking("bare", 2, timeout=10)[1]["body"]
    (retry,) = [e for b in connected["blocks"] if b.get("type") == "actions" for e in b["elements"]]
    assert retry["value"] == "new" and retry["text"]["text"] == "Run /meet new"


# --- finding 6: wording ----------------------------------------------------------------------------------------

async def test_wording_of_members_settings_and_refusals(world: World) -> None:
    await world.command("new", wait=False)
    space = space_of(world.card())
    code = world.meet.state.space(space)["meetingCode"]
    await world.command(f"cohost {code} <@{CAROL[0]}>")
    removed = all_text(await world.command(f"uncohost {code} <@{CAROL[0]}>"))
    assert f"<@{CAROL[0]}> is no longer a co-host of `{code}`" in removed, removed

    listing = all_text(await world.command(f"members {code}", BOB))
    assert "Only the meeting's owner can see the co-hosts and members" in listing and "change" not in listing

    typo = all_text(await world.command(f"set {code} acess=open"))
    assert "Did you mean `access`?" in typo, typo

    refused = all_text(await world.command(f"settings {code}", BOB))
    assert "Only the meeting's owner can see or change the settings" in refused
    assert world.slack.state.calls_to("views.open") == [], "refused before any dialog opens"

    status = all_text(await world.command(code))
    assert "Who can join without knocking" in status and "that differ from Google's defaults" not in status
