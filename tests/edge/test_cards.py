"""The meeting card's owner actions, end to end: a non-owner is answered privately before any dialog opens; the
owner confirms End in a dialog only they see, and the call ends with their token."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.flows import all_text
from tests.support.slack_requests import interactive
from tests.support.waits import eventually
from tests.support.world import ALICE, BOB, CHANNEL, World, end_value, space_of

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]


async def choose(world: World, card: dict[str, Any], what: str, user: tuple[str, str]) -> str:
    """Pick `what` ("end" | "settings") in the card's menu as `user`; returns the response_url's name."""
    name = f"menu-{what}-{user[0]}-{time.monotonic_ns()}"
    ts = card["response"]["ts"]
    url = world.slack.response_url(name, channel=CHANNEL, user=user[0], message_ts=ts)
    value = f"{what} {end_value(card)}"
    payload = {
        "type": "block_actions",
        "user": {"id": user[0], "username": user[0].lower(), "team_id": "T0001"},
        "team": {"id": "T0001", "domain": "acme"},
        "api_app_id": "A0MEETBOT",
        "trigger_id": world.slack.state.issue_trigger_id(),
        "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": False},
        "channel": {"id": CHANNEL, "name": "general"},
        "message": {"ts": ts, "text": "card"},
        "response_url": url,
        "actions": [{"action_id": "meet_manage", "block_id": "meeting", "type": "overflow",
                     "selected_option": {"text": {"type": "plain_text", "text": what}, "value": value},
                     "action_ts": f"{time.time():.6f}"}],
    }
    response = await world.bot.post(interactive(payload))
    assert response.status_code == 200 and not response.content
    return name


async def test_a_non_owner_is_told_privately_and_no_dialog_opens(world: World) -> None:
    await world.command("new Review", wait=False)
    card = world.card()
    space = space_of(card)
    world.meet.state.join(space, user=BOB[1])
    for what, words in (("end", "Only the meeting's owner can end"),
                        ("settings", "Only the meeting's owner can change the settings of")):
        name = await choose(world, card, what, BOB)
        (reply,) = world.slack.state.wait_for_response_posts_blocking(name, 1, timeout=10)
        text = all_text(reply["body"])
        assert words in text and f"<@{ALICE[0]}>" in text, text
        assert reply["body"]["response_type"] == "ephemeral" and reply["body"]["replace_original"] is False
    assert not world.slack.state.calls_to("views.open"), "nobody was shown a dialog they would be refused in"
    assert not world.meet.state.calls_to("spaces.endActiveConference")
    assert world.meet.state.space(space).get("activeConference")


async def test_the_owner_confirms_end_in_a_dialog_and_the_card_ends(world: World) -> None:
    await world.command("new Review", wait=False)
    card = world.card()
    space = space_of(card)
    world.meet.state.join(space, user=BOB[1])
    await choose(world, card, "end", ALICE)
    (opened,) = eventually(lambda: world.slack.state.calls_to("views.open"), "the confirm dialog")
    view = opened["response"]["view"]
    assert view["title"]["text"] == "End this meeting?" and view["submit"]["text"] == "End meeting"
    assert not world.meet.state.calls_to("spaces.endActiveConference"), "nothing ends before the confirm"

    submit = {"type": "view_submission", "user": {"id": ALICE[0], "username": "alice", "team_id": "T0001"},
              "team": {"id": "T0001", "domain": "acme"}, "api_app_id": "A0MEETBOT", "trigger_id": "0.0.z",
              "view": {**view, "state": {"values": {}}}, "response_urls": []}
    response = await world.bot.post(interactive(submit))
    assert response.status_code == 200
    (ended,) = eventually(lambda: world.meet.state.calls_to("spaces.endActiveConference"), "the end")
    assert ended["user"] == ALICE[1] and ended["path"] == f"/v2/{space}:endActiveConference"
    eventually(lambda: "Ended by" in all_text(world.slack.state.message(CHANNEL, card["response"]["ts"]) or {}),
               "the card ended in place")


async def test_a_failed_end_from_the_dialog_is_answered_privately_in_the_channel(world: World) -> None:
    await world.command("new Review", wait=False)
    card = world.card()
    world.meet.state.join(space_of(card), user=BOB[1])
    await choose(world, card, "end", ALICE)
    (opened,) = eventually(lambda: world.slack.state.calls_to("views.open"), "the confirm dialog")
    world.meet.state.inject_fault("spaces.endActiveConference", status=403)
    submit = {"type": "view_submission", "user": {"id": ALICE[0], "username": "alice", "team_id": "T0001"},
              "team": {"id": "T0001", "domain": "acme"}, "api_app_id": "A0MEETBOT", "trigger_id": "0.0.z",
              "view": {**opened["response"]["view"], "state": {"values": {}}}, "response_urls": []}
    assert (await world.bot.post(interactive(submit))).status_code == 200
    (told,) = eventually(lambda: world.slack.state.calls_to("chat.postEphemeral"), "a private answer")
    assert told["args"]["channel"] == CHANNEL and told["args"]["user"] == ALICE[0]
    assert "Traceback" not in all_text(told["args"]) and all_text(told["args"]).strip()
