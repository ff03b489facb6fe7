"""Pasted links, channel rooms, App Home and shortcuts, end to end through `python -m bot`."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import all_text, block_action, channel_posts, link_google
from tests.support.jobs import settled
from tests.support.slack_requests import interactive, slash_command
from tests.support.waits import eventually_async

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]

ALICE, BOB = ("U0ALICE", "alice@example.com"), ("U0BOB", "bob@example.com")
CHANNEL = "C0GENERAL"


def unfurl_calls(slack: SlackEmulator) -> list[dict[str, Any]]:
    return slack.state.calls_to("chat.unfurl")


def decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def send_event(bot: BotProcess, slack: SlackEmulator, event: dict[str, Any], event_id: str | None = None
                     ) -> dict[str, Any]:
    envelope = slack.state.event_envelope(event)
    if event_id:
        envelope["event_id"] = event_id
    response = await bot.post((json.dumps(envelope), "application/json"))
    assert response.status_code == 200
    return envelope


async def run(bot: BotProcess, slack: SlackEmulator, text: str, user: tuple[str, str] = ALICE,
              channel: str = CHANNEL, channel_name: str = "general", wait: bool = True) -> dict[str, Any]:
    name = f"r-{time.monotonic_ns()}"
    url = slack.response_url(name, channel=channel, user=user[0])
    body, kind = slash_command(text, user_id=user[0], channel_id=channel, response_url=url,
                               trigger_id=slack.state.issue_trigger_id())
    body = body.replace("channel_name=general", f"channel_name={channel_name}")
    response = await bot.post((body, kind))
    assert response.status_code == 200
    if response.content or not wait:
        return dict(response.json()) if response.content else {}
    return dict(slack.state.wait_for_response_posts_blocking(name, 1, timeout=10)[-1]["body"])


@pytest.fixture
async def linked(bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator) -> None:
    for user_id, email in (ALICE, BOB):
        await link_google(bot, slack_emulator, meet_emulator, user_id, email)


async def test_composer_and_posted_unfurls_with_dedupe(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None
) -> None:
    space = meet_emulator.state.create_space(ALICE[1], client_id="meetbot")
    meet_emulator.state.join(space["name"], user=BOB[1])
    link = f"https://meet.google.com/{space['meetingCode']}"
    urls = [link, link, "https://example.com/page", "https://meet.google.com/new"]

    composer = slack_emulator.state.share_links(urls, channel=CHANNEL, user=ALICE[0], source="composer")
    envelope = await send_event(bot, slack_emulator, composer)
    await eventually_async(lambda: len(unfurl_calls(slack_emulator)) == 1, "one chat.unfurl", 10)
    (call,) = unfurl_calls(slack_emulator)
    assert call["args"]["unfurl_id"] == composer["unfurl_id"] and call["args"]["source"] == "composer"
    unfurls = decoded(call["args"]["unfurls"])
    assert list(unfurls) == [link], "one unfurl per distinct meeting link; others get none"
    card = json.dumps(unfurls[link], ensure_ascii=False)
    # The whole channel sees this: only what Google shows everyone, even though the owner shared it.
    assert space["meetingCode"] in card and '"Join"' in card and "Status for me" in card
    for hidden in ("live", "Bob", "in the call", "End meeting", "Settings"):
        assert hidden not in card, hidden

    # Slack retries the same event: no second chat.unfurl.
    await send_event(bot, slack_emulator, composer, event_id=envelope["event_id"])
    settled(bot)
    assert len(unfurl_calls(slack_emulator)) == 1

    posted = slack_emulator.state.share_links([link], channel=CHANNEL, user=BOB[0])
    await send_event(bot, slack_emulator, posted)
    await eventually_async(lambda: len(unfurl_calls(slack_emulator)) == 2, "two chat.unfurl calls", 10)
    second = unfurl_calls(slack_emulator)[1]["args"]
    assert second["channel"] == CHANNEL and second["ts"] == posted["message_ts"]
    participant_card = json.dumps(decoded(second["unfurls"])[link])
    assert participant_card == json.dumps(unfurls[link]), "who shared it changes nothing the channel sees"
    assert len(meet_emulator.state.calls_to("spaces.get")) == 2, "one basic read per unfurl, nothing more"
    assert meet_emulator.state.calls_to("conferenceRecords.participants.list") == []


async def test_status_for_me_answers_each_clicker_privately(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None
) -> None:
    space = meet_emulator.state.create_space(ALICE[1], client_id="meetbot")
    meet_emulator.state.join(space["name"], user=BOB[1])
    link = f"https://meet.google.com/{space['meetingCode']}"
    await send_event(bot, slack_emulator, slack_emulator.state.share_links([link], channel=CHANNEL, user=ALICE[0]))
    await eventually_async(lambda: len(unfurl_calls(slack_emulator)) == 1, "one chat.unfurl", 10)
    card = decoded(unfurl_calls(slack_emulator)[0]["args"]["unfurls"])[link]
    (button,) = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == "meet_status_me"]
    for who, sees in ((BOB, "is *live*"), (ALICE, "*Settings*")):
        name = f"me-{who[0]}"
        url = slack_emulator.response_url(name, channel=CHANNEL, user=who[0])
        await bot.post(block_action("meet_status_me", button["value"], user_id=who[0], channel=CHANNEL,
                                    message_ts="1.2", response_url=url))
        (reply,) = slack_emulator.state.wait_for_response_posts_blocking(name, 1, timeout=10)
        assert reply["body"]["response_type"] == "ephemeral" and reply["body"]["replace_original"] is False
        assert sees in all_text(reply["body"])
    assert "*Settings*" not in all_text(slack_emulator.state.response_posts(f"me-{BOB[0]}")[0]["body"])


def ephemerals(slack: SlackEmulator) -> list[dict[str, Any]]:
    return slack.state.calls_to("chat.postEphemeral")


async def test_an_unknown_code_gets_no_public_warning_and_the_sharer_is_told_privately(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None
) -> None:
    link = "https://meet.google.com/zzz-zzzz-zzz"
    await send_event(bot, slack_emulator, slack_emulator.state.share_links([link], channel=CHANNEL, user=ALICE[0]))
    await eventually_async(lambda: len(ephemerals(slack_emulator)) == 1, "one ephemeral to the sharer", 10)
    (told,) = ephemerals(slack_emulator)
    assert told["args"]["user"] == ALICE[0] and "doesn't know the meeting `zzz-zzzz-zzz`" in all_text(told["args"])
    assert unfurl_calls(slack_emulator) == [], "nothing attached to someone's message for the channel to see"


async def test_a_sharer_who_dismissed_the_connect_prompt_still_gets_unfurls(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    space = meet_emulator.state.create_space(ALICE[1])
    link = f"https://meet.google.com/{space['meetingCode']}"
    slack_emulator.state.add_user("U0NEW", "newbie", email="newbie@example.com")
    slack_emulator.state.dismiss_auth_prompt("U0NEW")
    await send_event(bot, slack_emulator, slack_emulator.state.share_links([link], channel=CHANNEL, user="U0NEW"))
    await eventually_async(lambda: len(unfurl_calls(slack_emulator)) == 2, "two chat.unfurl calls", 10)
    (first, second) = unfurl_calls(slack_emulator)
    assert "user_auth_required" not in first["args"] and second["response"]["error"] == "cannot_prompt"
    assert space["meetingCode"] in json.dumps(slack_emulator.state.unfurls()[0])


async def test_unlinked_sharer_is_invited_to_connect(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    space = meet_emulator.state.create_space(ALICE[1])
    link = f"https://meet.google.com/{space['meetingCode']}"
    slack_emulator.state.add_user("U0NEW", "newbie", email="newbie@example.com")
    await send_event(bot, slack_emulator, slack_emulator.state.share_links([link], channel=CHANNEL, user="U0NEW"))
    await eventually_async(lambda: len(unfurl_calls(slack_emulator)) == 2, "the unfurl and the connect prompt", 10)
    public, prompt = (c["args"] for c in unfurl_calls(slack_emulator))
    assert "user_auth_required" not in public, "what needs no token is shown to the channel"
    card = json.dumps(decoded(public["unfurls"])[link])
    assert space["meetingCode"] in card and '"Join"' in card and "Connect" not in card
    message = slack_emulator.state.message(CHANNEL, slack_emulator.state.unfurls()[0]["ts"]) or {}
    assert space["meetingCode"] in json.dumps(message.get("attachments")), "the message shows the unfurl"
    assert prompt["user_auth_required"] in (True, "true", "1")
    assert prompt["user_auth_url"].startswith(meet_emulator.auth_url)
    assert prompt["user_auth_message"] == "Connect your Google account to see its status."
    assert meet_emulator.state.calls_to("spaces.get") == []


async def test_bad_link_events(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None
) -> None:
    nothing = [[], ["https://example.com/x", "https://meet.google.com.evil.com/abc-mnop-xyz"],
               ["https://meet.google.com/landing", "https://meet.google.com/lookup/team-sync", "http://%zz"]]
    for urls in nothing:
        await send_event(bot, slack_emulator, {"type": "link_shared", "channel": CHANNEL, "user": ALICE[0],
                                               "message_ts": "1.2", "source": "conversations_history",
                                               "links": [{"domain": "x", "url": u} for u in urls]})
    many = [f"https://meet.google.com/zzz-zzzz-{chr(97 + n)}{chr(97 + n)}{chr(97 + n)}" for n in range(20)]
    event = slack_emulator.state.share_links(many, channel=CHANNEL, user=ALICE[0])
    await send_event(bot, slack_emulator, event)
    await eventually_async(lambda: len(ephemerals(slack_emulator)) == 1, "one ephemeral to the sharer", 10)
    settled(bot)
    assert unfurl_calls(slack_emulator) == []
    (told,) = ephemerals(slack_emulator)
    assert "and 10 more" in all_text(told["args"])
    assert "Traceback" not in bot.log_text()


async def test_room_lifecycle_with_bookmarks(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None,
    redis_client: aioredis.Redis
) -> None:
    offer = all_text(await run(bot, slack_emulator, "room"))
    assert "has no Meet room yet" in offer and "Create a room" in offer

    answers = len(slack_emulator.state.response_posts())
    await run(bot, slack_emulator, "room new", wait=False)
    (card,) = channel_posts(slack_emulator, 1)
    assert "This channel's Meet room" in all_text(card["args"])
    settled(bot)
    assert len(slack_emulator.state.response_posts()) == answers, "one message: the room's card, no ephemeral"
    (bookmark,) = slack_emulator.state.calls_to("bookmarks.add")
    assert bookmark["args"]["title"] == "Meet room" and bookmark["args"]["link"].startswith("https://meet.google.com/")
    room = json.loads(await redis_client.get(f"meetbot:{{-:T0001}}:room:{CHANNEL}"))
    assert room["creator_user_id"] == ALICE[0] and room["owner_google_email"] == ALICE[1]
    assert room["bookmark_id"] and await redis_client.ttl(f"meetbot:{{-:T0001}}:room:{CHANNEL}") == -1

    await run(bot, slack_emulator, "room", BOB, wait=False)
    await eventually_async(lambda: len(channel_posts(slack_emulator)) >= 2, "the room card posted again", 10)
    assert "This channel's Meet room" in all_text(channel_posts(slack_emulator)[-1]["args"])

    refused = all_text(await run(bot, slack_emulator, "room clear", BOB))
    assert f"or a workspace admin, can replace or clear it. <@{ALICE[0]}> set it up." in refused
    assert await redis_client.get(f"meetbot:{{-:T0001}}:room:{CHANNEL}") is not None

    other = meet_emulator.state.create_space(ALICE[1])
    adopted = all_text(await run(bot, slack_emulator, f"room set https://meet.google.com/{other['meetingCode']}"))
    assert other["meetingCode"] in adopted
    (edit,) = slack_emulator.state.calls_to("bookmarks.edit")
    assert edit["args"]["link"].endswith(other["meetingCode"])

    bad = all_text(await run(bot, slack_emulator, "room set https://meet.google.com/new"))
    assert "starts a new meeting each time" in bad

    cleared = all_text(await run(bot, slack_emulator, "room clear"))
    assert "forgotten" in cleared
    assert len(slack_emulator.state.calls_to("bookmarks.remove")) == 1
    assert await redis_client.get(f"meetbot:{{-:T0001}}:room:{CHANNEL}") is None

    dm = all_text(await run(bot, slack_emulator, "room", channel="D0ALICE", channel_name="directmessage"))
    assert "Rooms belong to channels" in dm


async def test_expired_room_code_offers_a_new_room(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None,
    redis_client: aioredis.Redis
) -> None:
    await run(bot, slack_emulator, "room new", wait=False)
    channel_posts(slack_emulator, 1)  # the room's card is the answer
    room = json.loads(await redis_client.get(f"meetbot:{{-:T0001}}:room:{CHANNEL}"))
    meet_emulator.state.expire_code(room["space_name"])
    reply = all_text(await run(bot, slack_emulator, "room", BOB))
    assert "no longer exists at Google" in reply and "Create a new room" in reply


async def test_concurrent_room_new_has_exactly_one_winner(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None
) -> None:
    meet_emulator.state.set_latency(0.3)
    replies = await asyncio.gather(run(bot, slack_emulator, "room new", ALICE, wait=False),
                                   run(bot, slack_emulator, "room new", BOB, wait=False))
    assert replies == [{}, {}]
    assert len(channel_posts(slack_emulator, 1)) == 1, "the winner's room card"
    def refused() -> bool:
        return any("changing this channel's room right now" in all_text(p["body"])
                   or "who set up this channel's room" in all_text(p["body"])
                   for p in slack_emulator.state.response_posts())
    await eventually_async(refused, "the loser of the race told why", 10)
    settled(bot)
    assert len(channel_posts(slack_emulator)) == 1
    assert len(meet_emulator.state.calls_to("spaces.create")) == 1


async def test_app_home_is_published_and_follows_changes(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None,
    redis_client: aioredis.Redis
) -> None:
    def alice_publishes() -> list[dict[str, Any]]:
        return [c for c in slack_emulator.state.calls_to("views.publish") if c["args"]["user_id"] == ALICE[0]]

    assert alice_publishes() == [], "no Home tab until Alice opens it"
    await send_event(bot, slack_emulator, {"type": "app_home_opened", "user": ALICE[0], "channel": "D0ALICE",
                                           "tab": "home", "event_ts": "1.1"})
    await eventually_async(lambda: len(alice_publishes()) == 1, "Alice's Home tab published", 10)
    home = json.dumps(slack_emulator.state.home_view(ALICE[0]))
    assert "Connected to Google as *alice@example.com*" in home and "/meet help" in home

    await run(bot, slack_emulator, "new Daily", wait=False)
    await eventually_async(lambda: "Daily" in json.dumps(slack_emulator.state.home_view(ALICE[0])),
                           "the new meeting on Alice's Home tab", 10)
    assert "hash" in alice_publishes()[-1]["args"], "a re-render passes the last hash"

    # A user without a Home tab costs nothing: no re-render after their meeting changes.
    await redis_client.delete(f"meetbot:{{-:T0001:{ALICE[0]}}}:home-hash")
    before = len(alice_publishes())
    await run(bot, slack_emulator, "new Retro", wait=False)
    channel_posts(slack_emulator, 2)
    settled(bot)
    assert len(alice_publishes()) == before


async def test_shortcuts(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None
) -> None:
    space = meet_emulator.state.create_space(ALICE[1])
    meet_emulator.state.join(space["name"], user=BOB[1])
    response_url = slack_emulator.response_url("shortcut", channel=CHANNEL, user=ALICE[0])
    team = {"id": "T0001", "domain": "acme"}
    user = {"id": ALICE[0], "team_id": "T0001"}
    message = {"type": "message", "ts": "1.5",
               "text": f"standup here <https://meet.google.com/{space['meetingCode']}|join>"}
    status = await bot.post(interactive({"type": "message_action", "callback_id": "meet_status_from_message",
                                         "trigger_id": slack_emulator.state.issue_trigger_id(), "team": team,
                                         "user": user, "channel": {"id": CHANNEL}, "message": message,
                                         "message_ts": "1.5", "response_url": response_url}))
    assert status.status_code == 200
    reply = slack_emulator.state.wait_for_response_posts_blocking("shortcut", 1, timeout=10)[0]["body"]
    assert "is *live*" in all_text(reply) and "Bob" in all_text(reply)

    opened = await bot.post(interactive({"type": "shortcut", "callback_id": "meet_start", "team": team, "user": user,
                                         "trigger_id": slack_emulator.state.issue_trigger_id(),
                                         "action_ts": "1.6"}))
    assert opened.status_code == 200
    (view_call,) = slack_emulator.state.wait_for_calls_blocking("views.open", 1, timeout=10)
    view = decoded(view_call["args"]["view"])
    assert view["callback_id"] == "meet_start_submit"
    state = {"values": {"title": {"value": {"type": "plain_text_input", "value": "Design review"}},
                        "access": {"value": {"type": "static_select", "selected_option": {"value": "open"}}},
                        "channel": {"value": {"type": "conversations_select", "selected_conversation": CHANNEL}}}}
    submitted = await bot.post(interactive({"type": "view_submission", "team": team, "user": user,
                                            "view": {**view, "id": "V0START", "state": state}}))
    assert submitted.status_code == 200
    (card,) = channel_posts(slack_emulator, 1)
    assert "Design review" in all_text(card["args"]) and card["args"]["channel"] == CHANNEL
    (created,) = meet_emulator.state.calls_to("spaces.create")
    assert created["body"]["config"]["accessType"] == "OPEN"


async def test_a_workspace_admin_may_clear_any_room(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None,
    redis_client: aioredis.Redis
) -> None:
    await run(bot, slack_emulator, "room new", wait=False)
    channel_posts(slack_emulator, 1)
    slack_emulator.state.add_user("U0ADMIN", "admin", email="admin@example.com", is_admin=True)
    cleared = all_text(await run(bot, slack_emulator, "room clear", ("U0ADMIN", "admin@example.com")))
    assert "forgotten" in cleared
    assert await redis_client.get(f"meetbot:{{-:T0001}}:room:{CHANNEL}") is None


async def test_an_untitled_unfurl_says_who_started_the_meeting(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, linked: None
) -> None:
    await run(bot, slack_emulator, "new", wait=False)
    (card,) = channel_posts(slack_emulator, 1)
    link = str(card["args"]["text"]).split(": ")[-1]
    await send_event(bot, slack_emulator, slack_emulator.state.share_links([link], channel=CHANNEL, user=BOB[0]))
    await eventually_async(lambda: len(unfurl_calls(slack_emulator)) == 1, "one chat.unfurl", 10)
    shown = json.dumps(decoded(unfurl_calls(slack_emulator)[0]["args"]["unfurls"])[link])
    assert f"a meeting <@{ALICE[0]}> started with meetbot" in shown, shown
