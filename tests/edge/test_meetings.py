"""Meetings from Slack, end to end: signed requests into `python -m bot`, emulator-recorded calls out."""

from __future__ import annotations

import json

import pytest

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import all_text, channel_posts, link_google, view_submission
from tests.support.jobs import settled
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually
from tests.support.world import ALICE, BOB, CAROL, World, space_of

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]

async def test_full_meeting_lifecycle(world: World) -> None:
    slack, meet = world.slack, world.meet

    # Alice starts a meeting: the ack is immediate, the card lands in the channel.
    assert await world.command("new Weekly sync --trusted", wait=False) == {}
    card = world.card()
    space = space_of(card)
    created = meet.state.calls_to("spaces.create")
    assert len(created) == 1 and created[0]["user"] == ALICE[1]
    assert meet.state.space(space)["config"]["accessType"] == "TRUSTED"
    assert "Weekly sync" in all_text(card["args"]) and f"<@{ALICE[0]}>" in all_text(card["args"])
    code = meet.state.space(space)["meetingCode"]
    card_ts = card["response"]["ts"]

    # Bob joins; each person sees what Google lets them see.
    meet.state.join(space, user=BOB[1])
    owner_view = all_text(await world.command(f"https://meet.google.com/{code.upper()}?authuser=0"))
    assert "is *live*" in owner_view and "In the call (1):* Bob" in owner_view and "*Settings*" in owner_view
    participant_view = all_text(await world.command(f"status {code}", BOB))
    assert "is *live*" in participant_view and "*Settings*" not in participant_view
    assert f"shown only to the meeting's owner (<@{ALICE[0]}>)" in participant_view
    other_view = all_text(await world.command(code, CAROL))
    assert "only to its owner and the people in the call" in other_view and "Bob" not in other_view

    # Bob clicks End: refused in plain words, the call goes on.
    status, reply = await world.click("meet_end", space, BOB, card_ts)
    assert status == 200
    refusal = slack.state.wait_for_response_posts_blocking(reply, 1, timeout=10)[0]["body"]
    assert "Only the meeting's owner can end" in all_text(refusal) and f"<@{ALICE[0]}> owns it" in all_text(refusal)
    assert refusal["replace_original"] is False
    assert meet.state.space(space).get("activeConference")
    assert [c["user"] for c in meet.state.calls_to("spaces.endActiveConference")] == [BOB[1]]

    # Alice clicks End: the call ends with her token and the card says so in place.
    _, alice_click = await world.click("meet_end", space, ALICE, card_ts)
    (update,) = slack.state.wait_for_calls_blocking("chat.update", 1, timeout=10)
    assert update["args"]["ts"] == card_ts and f"Ended by <@{ALICE[0]}>" in all_text(update["args"])
    settled(world.bot)
    assert slack.state.response_posts(alice_click) == [], "one message per action: the card, no ephemeral too"
    assert not meet.state.space(space).get("activeConference")
    ends = meet.state.calls_to("spaces.endActiveConference")
    assert [c["user"] for c in ends] == [BOB[1], ALICE[1]]
    assert all(c["path"] == f"/v2/{space}:endActiveConference" for c in ends), "never a code alias"


async def test_settings_by_command_and_by_modal(world: World) -> None:
    slack, meet = world.slack, world.meet
    await world.command("new", wait=False)
    space = space_of(world.card())
    code = meet.state.space(space)["meetingCode"]

    reply = all_text(await world.command(f"set {code} moderation=on chat=hosts access=trusted"))
    assert "Host management: Off → *On*" in reply and "Who can chat: Everyone → *Only hosts and co-hosts*" in reply
    (patch,) = meet.state.calls_to("spaces.patch")
    assert patch["path"] == f"/v2/{space}"
    mask = patch["query"]["updateMask"].split(",")
    # access was already trusted: only what changes goes into the mask.
    assert sorted(mask) == ["config.moderation", "config.moderationRestrictions.chatRestriction"]

    refusal = all_text(await world.command(f"set {code} chat=hosts", BOB))
    assert "Only the meeting's owner can see or change the settings" in refusal
    assert len(meet.state.calls_to("spaces.patch")) == 1

    # The modal: Settings button → placeholder → filled modal → submit → patch with an exact mask.
    await world.click("meet_settings", space, ALICE, None)
    slack.state.wait_for_calls_blocking("views.open", 1, timeout=10)
    filled = slack.state.wait_for_calls_blocking("views.update", 1, timeout=10)[0]["args"]
    view = json.loads(filled["view"]) if isinstance(filled["view"], str) else filled["view"]
    assert view["callback_id"] == "meet_settings_submit"
    view["id"] = filled["view_id"]
    invalid = await world.bot.post(view_submission(view, {"moderation": "off", "chat": "hosts"}, user_id=ALICE[0]))
    assert invalid.json() == {"response_action": "errors", "errors": {
        "chat": "This works only with Host management on. Turn it on, or choose \u201cEveryone\u201d."}}
    saved = await world.bot.post(view_submission(view, {"access": "open", "moderation": "on", "chat": "hosts"},
                                                 user_id=ALICE[0]))
    assert saved.json()["response_action"] == "update"
    eventually(lambda: len(meet.state.calls_to("spaces.patch")) == 2, "the modal's patch")
    second = meet.state.calls_to("spaces.patch")[1]
    assert second["query"]["updateMask"] == "config.accessType"
    assert meet.state.space(space)["config"]["accessType"] == "OPEN"
    final = slack.state.wait_for_calls_blocking("views.update", 2, timeout=10)[-1]["args"]
    assert "→ *Anyone with the link*" in json.dumps(final["view"], ensure_ascii=False)


async def test_a_save_google_refuses_keeps_the_form(world: World) -> None:
    """The check that can be made at submit time is (on the field); what only Google can refuse comes back as
    the same form, as the person left it, with the reason on top."""
    slack, meet = world.slack, world.meet
    await world.command("new", wait=False)
    space = space_of(world.card())
    await world.click("meet_settings", space, ALICE, None)
    filled = slack.state.wait_for_calls_blocking("views.update", 1, timeout=10)[0]["args"]
    view = json.loads(filled["view"]) if isinstance(filled["view"], str) else filled["view"]
    view["id"] = filled["view_id"]
    meet.state.inject_fault("spaces.patch", 400)
    saved = await world.bot.post(view_submission(view, {"access": "open", "recording": "on"}, user_id=ALICE[0]))
    assert saved.json()["response_action"] == "update"
    again = slack.state.wait_for_calls_blocking("views.update", 2, timeout=10)[-1]["args"]
    form = json.loads(again["view"]) if isinstance(again["view"], str) else again["view"]
    assert form["callback_id"] == "meet_settings_submit" and "submit" in form, "the form, not a notice"
    assert form["blocks"][0]["text"]["text"].startswith(":no_entry:")
    chosen = {b["block_id"]: b["element"]["initial_option"]["value"] for b in form["blocks"]
              if b["type"] == "input" and "initial_option" in b.get("element", {})}
    assert chosen["access"] == "open" and chosen["recording"] == "on"
    assert meet.state.space(space)["config"]["accessType"] != "OPEN"


async def test_history_after_two_conferences(world: World) -> None:
    meet = world.meet
    await world.command("new Retro", wait=False)
    space = space_of(world.card())
    code = meet.state.space(space)["meetingCode"]
    for guest in ("Sam", "Kim"):
        meet.state.join(space, user=BOB[1])
        meet.state.join(space, anonymous=guest)
        meet.state.end_conference(space)
    meet.state.join(space, phone="+1 555-0100")
    meet.state.end_conference(space)
    reply = all_text(await world.command(f"history {code}"))
    assert reply.count("• ") == 3
    assert "Kim (guest)" in reply and "Sam (guest)" in reply and "(phone)" in reply and "Bob" in reply
    assert "*2* people" in reply and "*1* person" in reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://meet.google.com/new", "starts a new meeting each time"),
        ("status " + "a" * 60 + "-" + "b" * 60 + "-" + "c" * 10, "128"),
        ("set abc-mnop-xyz colour=blue", "`colour` is not a setting"),
        ("set abc-mnop-xyz chat=everyone", "`chat` can be `all` or `hosts`"),
    ],
)
async def test_bad_input_is_answered_in_the_ack(world: World, text: str, expected: str) -> None:
    reply = await world.command(text)
    assert expected in all_text(reply)
    assert world.meet.state.calls_to("spaces.get") == []


async def test_unknown_code_is_explained(world: World) -> None:
    reply = all_text(await world.command("zzz-zzzz-zzz"))
    assert "Google doesn't know the meeting zzz-zzzz-zzz" in reply


async def test_unlinked_user_gets_connect_prompt_then_one_click_retry(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    world = World(bot, slack_emulator, meet_emulator)
    slack_emulator.state.add_user("U0DAVE", "dave", email="dave@example.com")
    prompt = await world.command("new Planning", ("U0DAVE", "dave@example.com"))
    text = all_text(prompt)
    assert "isn't connected" in text and "Connect Google account" in text
    assert meet_emulator.state.calls_to("spaces.create") == []
    consent = next(el["url"] for b in prompt["blocks"] if b["type"] == "actions" for el in b["elements"])
    assert "login_hint=dave%40example.com" in consent and "code_challenge_method=S256" in consent


async def test_google_errors_reach_the_user_in_plain_words(world: World) -> None:
    meet = world.meet
    # Google's create quota is spent: the user hears at once that the meeting is queued, and it comes.
    meet.state.inject_fault("spaces.create", 429, retry_after=1)
    queued = all_text(await world.command("new Later"))
    assert "yours is queued" in queued and "about 1 second." in queued
    card = world.card()
    assert "Later" in all_text(card["args"])
    assert [c["status"] for c in meet.state.calls_to("spaces.create")] == [429, 200]
    meet.state.inject_fault("spaces.create", 503)
    assert "isn't answering right now, so no meeting was posted" in all_text(await world.command("new"))
    assert len(meet.state.calls_to("spaces.create")) == 3, "a 503 on create is never retried (it may have worked)"
    meet.state.inject_fault("spaces.get", 0, delay=6)
    assert "took too long to answer" in all_text(await world.command("abc-mnop-xyz"))
    meet.state.inject_fault("spaces.get", 503, count=50)
    assert "Google Meet isn't answering right now" in all_text(await world.command("abc-mnop-xyz"))
    assert 1 < len(meet.state.calls_to("spaces.get")) <= 7, "reads retry, within a deadline"


async def test_missing_scope_for_spaces_created_elsewhere(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    world = World(bot, slack_emulator, meet_emulator)
    erin = ("U0ERIN", "erin@example.com")
    await link_google(bot, slack_emulator, meet_emulator, *erin,
                      scopes=["https://www.googleapis.com/auth/meetings.space.created", "openid", "email"])
    foreign = meet_emulator.state.create_space(erin[1], client_id="another-app")
    reply = all_text(await world.command(f"status {foreign['meetingCode']}", erin))
    assert "created outside meetbot" in reply and "meetings.space.readonly" in reply


async def test_cards_follow_an_end_seen_by_a_status_check(world: World) -> None:
    slack, meet = world.slack, world.meet
    await world.command("new Standup", wait=False)
    card = world.card()
    space = space_of(card)
    meet.state.join(space, user=BOB[1])
    meet.state.end_conference(space)  # ended in Meet itself, not through meetbot
    assert "is idle" in all_text(await world.command(meet.state.space(space)["meetingCode"]))
    (update,) = slack.state.wait_for_calls_blocking("chat.update", 1, timeout=10)
    assert update["args"]["ts"] == card["response"]["ts"] and "ended" in all_text(update["args"])
    await world.command(meet.state.space(space)["meetingCode"])
    settled(world.bot)
    assert len(slack.state.calls_to("chat.update")) == 1, "a card is turned into 'ended' once"


async def test_end_with_nothing_live_says_so(world: World) -> None:
    await world.command("new", wait=False)
    space = space_of(world.card())
    reply = all_text(await world.command(f"end {world.meet.state.space(space)['meetingCode']}"))
    assert "There's no live call in" in reply and "nobody is in it right now" in reply


async def test_channels_the_bot_is_not_in_get_the_card_through_response_url(world: World) -> None:
    world.slack.state.add_channel("C0PRIVATE", "secret-project", is_member=False, is_private=True)
    url = world.slack.response_url("private", channel="C0PRIVATE", user=ALICE[0])
    await world.bot.post(slash_command("new Private sync", user_id=ALICE[0], channel_id="C0PRIVATE",
                                       response_url=url))
    (post,) = world.slack.state.wait_for_response_posts_blocking("private", 1, timeout=10)
    assert post["body"]["response_type"] == "in_channel" and "Private sync" in all_text(post["body"])


async def test_graceful_shutdown_finishes_work_in_flight(world: World) -> None:
    world.meet.state.set_latency(1.0)
    await world.command("new Late", wait=False)
    assert world.bot.stop() == 0  # SIGTERM while Google is still answering
    (card,) = channel_posts(world.slack)
    assert "Late" in all_text(card["args"])
