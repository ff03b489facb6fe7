"""Truthful replies and cards (issue 11), end to end. Where Google's behaviour is undocumented, the Meet emulator
is switched to each alternative (reference/meet-api.md §12) and the bot must be right under every one."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.support.flows import all_text, channel_posts, link_google
from tests.support.jobs import settled
from tests.support.redis_server import RedisServer
from tests.support.slack_requests import interactive, slash_command
from tests.support.waits import eventually
from tests.support.world import ALICE, BOB, CAROL, CHANNEL, World, end_value, space_of

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]

CREATED = "https://www.googleapis.com/auth/meetings.space.created"
READONLY = "https://www.googleapis.com/auth/meetings.space.readonly"


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e.get("action_id", "") for b in message.get("blocks", []) if b.get("type") == "actions"
            for e in b["elements"]]


async def started(world: World, text: str = "new") -> tuple[dict[str, Any], str, str]:
    before = len(channel_posts(world.slack))
    await world.command(text, wait=False)
    card = channel_posts(world.slack, before + 1)[-1]
    space = space_of(card)
    return card, space, world.meet.state.space(space)["meetingCode"]


# --- 1. a card changes only on evidence -------------------------------------------------------------------------

async def test_a_status_check_on_a_fresh_card_changes_nothing(world: World) -> None:
    _, _, code = await started(world)
    assert "is idle" in all_text(await world.command(code))
    assert "Nobody has met" in all_text(await world.command(f"history {code}"))
    settled(world.bot)
    assert world.slack.state.calls_to("chat.update") == [], "nobody met: the card must not say ended"


async def test_a_call_before_the_card_does_not_end_it(world: World) -> None:
    """A room card posted after a call ended is not that call's card."""
    space = world.meet.state.create_space(ALICE[1], client_id="meetbot")
    world.meet.state.join(space["name"], user=BOB[1])
    world.meet.state.end_conference(space["name"])
    await world.command(f"room set {space['meetingCode']}")
    assert all_text(await world.command(f"history {space['meetingCode']}"))
    settled(world.bot)
    assert world.slack.state.calls_to("chat.update") == []


async def test_room_cards_keep_their_link_after_a_call(world: World) -> None:
    await world.command("room new", wait=False)
    (card,) = channel_posts(world.slack, 1)
    space = space_of(card)
    code = world.meet.state.space(space)["meetingCode"]
    world.meet.state.join(space, user=BOB[1])
    world.meet.state.end_conference(space)
    await world.command(code)
    await world.command(f"history {code}")
    settled(world.bot)
    assert world.slack.state.calls_to("chat.update") == [], "a room card stands for the room, not one call"


# --- 3. labels, never raw resource names --------------------------------------------------------------------

@pytest.mark.parametrize("non_owner_status", [403, 404])
async def test_click_replies_name_the_meeting_by_its_code(world: World, non_owner_status: int) -> None:
    world.meet.state.configure(non_owner_status=non_owner_status)
    card, space, code = await started(world)
    world.meet.state.join(space, user=BOB[1])
    _, name = await world.click("meet_end", card_end_value(card), BOB, card["response"]["ts"])
    refusal = all_text(world.slack.state.wait_for_response_posts_blocking(name, 1, timeout=10)[0]["body"])
    assert f"Only the meeting's owner can end {code}" in refusal and "spaces/" not in refusal
    assert f"<@{ALICE[0]}> owns it" in refusal
    assert world.meet.state.space(space).get("activeConference"), "the call goes on"
    _, name = await world.click("meet_end", card_end_value(card), ALICE, card["response"]["ts"])
    updates = world.slack.state.wait_for_calls_blocking("chat.update", 1, timeout=10)
    done = all_text(updates[-1]["args"])
    assert f"by <@{ALICE[0]}>" in done and code in done and "spaces/" not in done
    settled(world.bot)
    assert world.slack.state.response_posts(name) == [], "the card says it: no ephemeral too"


def card_end_value(card: dict[str, Any]) -> str:
    return end_value(card)


# --- 5. ownership from evidence, under each way Google may show config to others -------------------------------

@pytest.mark.parametrize("non_owner_config", ["absent", "empty", "partial", "full"])
async def test_non_owners_are_never_offered_owner_actions(world: World, non_owner_config: str) -> None:
    world.meet.state.configure(non_owner_config=non_owner_config)
    _, space, code = await started(world)
    world.meet.state.join(space, user=BOB[1])
    for who in (BOB, CAROL):
        view = await world.command(code, who)
        assert "meet_end" not in action_ids(view) and "meet_settings" not in action_ids(view), (who, view)
        assert "*Settings*" not in all_text(view)
    owner = await world.command(code)
    assert {"meet_end", "meet_settings"} <= set(action_ids(owner)) and "*Settings*" in all_text(owner)
    refusal = all_text(await world.command(f"set {code} chat=hosts moderation=on", BOB))
    assert "Only the meeting's owner can see or change the settings" in refusal
    assert world.meet.state.calls_to("spaces.patch") == []


@pytest.mark.parametrize("non_owner_config", ["absent", "empty", "partial", "full"])
async def test_the_owner_of_a_space_meetbot_did_not_start_is_recognised(world: World, non_owner_config: str) -> None:
    world.meet.state.configure(non_owner_config=non_owner_config)
    foreign = world.meet.state.create_space(ALICE[1], client_id="meetbot")  # not through a /meet command
    owner = await world.command(foreign["meetingCode"])
    assert "*Settings*" in all_text(owner), "an owner-only config field, confirmed by an owner-only read"
    bob = await world.command(foreign["meetingCode"], BOB)
    assert "*Settings*" not in all_text(bob)


# --- 6. "nothing live", decided from state whatever Google answers -------------------------------------------

@pytest.mark.parametrize("end_without_conference_status", [400, 200, 404])
async def test_ending_twice_says_nothing_is_live(world: World, end_without_conference_status: int,
                                                 redis_client: aioredis.Redis) -> None:
    world.meet.state.configure(end_without_conference_status=end_without_conference_status)
    _, space, code = await started(world)
    world.meet.state.join(space, user=BOB[1])
    assert "Ended the call" in all_text(await world.command(f"end {code}"))
    if end_without_conference_status == 200:  # an empty 200: only the record's end time, past the clock-skew
        await asyncio.sleep(2.5)  # margin the bot allows between Google's clock and its own, says nothing is live
    again = all_text(await world.command(f"end {code}"))
    assert "There's no live call in" in again and "Ended the call" not in again, again
    assert len(world.slack.state.calls_to("chat.update")) == 1, "cards flip once, on the real end"
    assert await redis_client.get(f"meetbot:{{code:{code}}}") is not None, "the code is still known"
    fresh_code = (await started(world))[2]
    first = all_text(await world.command(f"end {fresh_code}"))
    assert "There's no live call in" in first, "nobody ever joined"


async def test_an_unknown_code_is_still_unknown(world: World) -> None:
    reply = all_text(await world.command("end zzz-zzzz-zzz"))
    assert "doesn't know the meeting" in reply


# --- 7. a meeting started outside meetbot -------------------------------------------------------------------

async def test_a_meeting_started_elsewhere_gets_its_true_reason(world: World) -> None:
    erin = ("U0ERIN", "erin@example.com")
    await link_google(world.bot, world.slack, world.meet, *erin, scopes=[CREATED, READONLY, "openid", "email"])
    foreign = world.meet.state.create_space(erin[1], client_id="another-app")
    world.meet.state.join(foreign["name"], user=BOB[1])
    view = await world.command(foreign["meetingCode"], erin)
    assert "meet_end" not in action_ids(view) and "meet_settings" not in action_ids(view)
    assert "started outside meetbot" in all_text(view)
    refusal = all_text(await world.command(f"end {foreign['meetingCode']}", erin))
    assert "only for meetings started with meetbot" in refusal and "meetings.space.settings" in refusal
    assert "<@" not in refusal, "nobody is named as the owner: meetbot doesn't know who it is"


# --- 8, 11a. the message shortcut ---------------------------------------------------------------------------

async def test_the_shortcut_shows_two_meetings_in_one_valid_message(world: World) -> None:
    codes = [(await started(world, f"new Sync {n}"))[2] for n in (1, 2)]
    assert codes[0] != codes[1]
    url = world.slack.response_url("shortcut", channel=CHANNEL, user=ALICE[0])
    payload = {
        "type": "message_action", "callback_id": "meet_status_from_message", "trigger_id": "1.2.x",
        "user": {"id": ALICE[0], "team_id": "T0001"}, "team": {"id": "T0001"}, "channel": {"id": CHANNEL},
        "message": {"ts": "1.2", "text": " ".join(f"https://meet.google.com/{c}" for c in codes)},
        "response_url": url,
    }
    assert (await world.bot.post(interactive(payload))).status_code == 200
    (reply,) = world.slack.state.wait_for_response_posts_blocking("shortcut", 1, timeout=10)
    assert reply["status"] == 200, reply  # the emulator refuses duplicate block_ids like Slack does
    ids = [b.get("block_id") for b in reply["body"]["blocks"] if b.get("block_id")]
    assert len(ids) == len(set(ids)) and all(c in all_text(reply["body"]) for c in codes)


async def test_a_connect_prompt_promises_a_retry_only_where_it_can_offer_one(world: World) -> None:
    url = world.slack.response_url("dana", channel=CHANNEL, user="U0DANA")
    world.slack.state.add_user("U0DANA", "dana", email="dana@example.com")
    payload = {
        "type": "message_action", "callback_id": "meet_status_from_message", "trigger_id": "1.3.x",
        "user": {"id": "U0DANA", "team_id": "T0001"}, "team": {"id": "T0001"}, "channel": {"id": CHANNEL},
        "message": {"ts": "1.3", "text": "https://meet.google.com/abc-mnop-xyz"}, "response_url": url,
    }
    await world.bot.post(interactive(payload))
    (reply,) = world.slack.state.wait_for_response_posts_blocking("dana", 1, timeout=10)
    text = all_text(reply["body"])
    assert "Connect Google account" in text and "run your command again" not in text
    typed = all_text(await world.command("status abc-mnop-xyz", ("U0DANA", "dana@example.com")))
    assert "run your command again" in typed


# --- 11b, 11c. /meet set follows the modal's rules and Block Kit's limits ------------------------------------

async def test_set_applies_the_same_rules_as_the_modal(world: World) -> None:
    _, _, code = await started(world)
    reply = all_text(await world.command(f"set {code} moderation=off chat=hosts"))
    assert "Who can chat needs Host management on" in reply
    assert world.meet.state.calls_to("spaces.patch") == []


async def test_a_ten_thousand_character_value_gets_a_short_valid_reply(world: World) -> None:
    _, _, code = await started(world)
    name = "long"
    url = world.slack.response_url(name, channel=CHANNEL, user=ALICE[0])
    response = await world.bot.post(slash_command(f"set {code} access={'x' * 10_000}", response_url=url,
                                                  trigger_id=world.slack.state.issue_trigger_id()))
    body = response.json() if response.content else \
        world.slack.state.wait_for_response_posts_blocking(name, 1, timeout=10)[0]["body"]
    assert "can be `open` or `trusted` or `restricted`" in all_text(body)
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"] if b["type"] == "section")
    assert len(json.dumps(body)) < 4000


# --- 11d, 11e. acks never wait on Slack; a failed response_url post is tried again ----------------------------

async def test_the_start_shortcut_acks_before_the_modal_opens(world: World) -> None:
    world.slack.state.inject_fault("views.open", status=200, delay=2.5)
    payload = {"type": "shortcut", "callback_id": "meet_start", "trigger_id": world.slack.state.issue_trigger_id(),
               "user": {"id": ALICE[0], "team_id": "T0001"}, "team": {"id": "T0001"}}
    began = time.monotonic()
    response = await world.bot.post(interactive(payload))
    assert response.status_code == 200 and time.monotonic() - began < 1.5
    world.slack.state.wait_for_calls_blocking("views.open", 1, timeout=10)


async def test_a_failed_response_url_post_is_tried_once_more(world: World) -> None:
    world.slack.state.inject_fault("response_url", status=500, count=1)
    _, _, code = await started(world)
    name = "retry-once"
    url = world.slack.response_url(name, channel=CHANNEL, user=ALICE[0])
    await world.bot.post(slash_command(code, response_url=url, trigger_id=world.slack.state.issue_trigger_id()))
    posts = world.slack.state.wait_for_response_posts_blocking(name, 2, timeout=10)
    assert posts[0]["status"] == 500 and "is idle" in all_text(posts[1]["body"])


# --- 4. once Google has acted, no reply says nothing changed -------------------------------------------------

async def test_a_card_that_slack_refuses_goes_through_the_response_url(world: World) -> None:
    world.slack.state.inject_fault("chat.postMessage", status=500, count=10)
    name = "fallback"
    url = world.slack.response_url(name, channel=CHANNEL, user=ALICE[0])
    trigger = world.slack.state.issue_trigger_id()
    await world.bot.post(slash_command("new Board", response_url=url, trigger_id=trigger))
    (post,) = world.slack.state.wait_for_response_posts_blocking(name, 1, timeout=15)
    assert post["body"]["response_type"] == "in_channel" and "Board" in all_text(post["body"])
    assert len(world.meet.state.calls_to("spaces.create")) == 1
    settled(world.bot)
    assert all("Nothing was changed" not in all_text(p["body"]) for p in world.slack.state.response_posts(name))


async def test_a_meeting_with_nowhere_to_post_is_still_reported_with_its_link(world: World) -> None:
    world.slack.state.inject_fault("chat.postMessage", status=500, count=10)
    world.slack.state.inject_fault("response_url", status=500, count=2)
    name = "nowhere"
    url = world.slack.response_url(name, channel=CHANNEL, user=ALICE[0])
    await world.bot.post(slash_command("new", response_url=url, trigger_id=world.slack.state.issue_trigger_id()))
    # The in-channel card through the response_url fails twice (two tries); then the user hears of the meeting.
    *failed, post = world.slack.state.wait_for_response_posts_blocking(name, 3, timeout=15)
    assert [p["status"] for p in failed] == [500, 500]
    assert world.meet.state.calls_to("spaces.create")[0]["status"] == 200
    assert "Your meeting was created" in all_text(post["body"]) and "meet.google.com/" in all_text(post["body"])


async def test_redis_failing_after_the_create_still_posts_the_card(
    start_bot: Any, slack_emulator: Any, meet_emulator: Any
) -> None:
    own = RedisServer().start()
    try:
        bot = start_bot(REDIS_URL=own.url)
        await link_google(bot, slack_emulator, meet_emulator, *ALICE)
        meet_emulator.state.inject_fault("spaces.create", status=0, delay=1.5)  # Google is slow to answer...
        name = "redis-gone"
        url = slack_emulator.response_url(name, channel=CHANNEL, user=ALICE[0])
        trigger = slack_emulator.state.issue_trigger_id()
        await bot.post(slash_command("new Standup", response_url=url, trigger_id=trigger))
        eventually(lambda: meet_emulator.state.faults_left() == 0, "the create on its way to Google")
        own.stop()  # ...and Redis dies meanwhile
        (card,) = channel_posts(slack_emulator, 1, timeout=15)
        assert "Standup" in all_text(card["args"])
        eventually(lambda: "action start meeting by" in bot.log_text(), "the create's last word")
        told = " ".join(all_text(p["body"]) for p in slack_emulator.state.response_posts(name))
        assert "Nothing was changed" not in told and "couldn't finish" not in told
        assert "Traceback" not in bot.log_text()
    finally:
        own.stop()


@pytest.mark.parametrize("unknown_created_only_status", [404, 403])
async def test_an_unknown_code_with_only_the_created_scope_is_explained(
    world: World, unknown_created_only_status: int
) -> None:
    world.meet.state.configure(unknown_created_only_status=unknown_created_only_status)
    erin = ("U0ERIN", "erin@example.com")
    await link_google(world.bot, world.slack, world.meet, *erin, scopes=[CREATED, "openid", "email"])
    reply = all_text(await world.command("zzz-zzzz-zzz", erin))
    if unknown_created_only_status == 404:
        assert "doesn't know the meeting zzz-zzzz-zzz" in reply
    else:  # Google won't say whether it exists: the reply says both, and how to see more
        assert "can't see zzz-zzzz-zzz" in reply and "meetings.space.readonly" in reply
    assert "Something went wrong" not in reply
