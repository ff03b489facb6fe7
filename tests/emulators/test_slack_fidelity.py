"""The Slack emulator refuses what Slack documents it refuses (Block Kit limits, conversations.members' limit), models
the bot's own channel membership, and sends member events only for channels the bot is in (reference §8, §10)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from emulators.slack import SlackEmulator, validate_blocks, validate_view

BUTTON = {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}}


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.state.add_channel("C1", "general")
        emulator.state.add_channel("C2", "random", is_member=False)
        yield emulator


def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=emu.bot_token, base_url=emu.api_url)


def overflow(n: int, value: str = "v") -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": f"Choice {i}"}, "value": f"{value}{i}"} for i in range(n)]
    return {"type": "overflow", "action_id": "menu", "options": options}


def pointers(errors: list[str]) -> list[str]:
    return [e.rsplit("[json-pointer:", 1)[1].rstrip("]") for e in errors]


@pytest.mark.parametrize(("count", "valid"), [(1, False), (2, True), (5, True), (6, False)])
def test_an_overflow_menu_holds_two_to_five_options(count: int, valid: bool) -> None:
    errors = validate_blocks([{"type": "actions", "elements": [overflow(count)]}], "/blocks", 50)
    assert (errors == []) is valid, errors


def test_option_values_stop_at_150_characters() -> None:
    menu = overflow(2)
    menu["options"][1]["value"] = "x" * 151
    assert pointers(validate_blocks([{"type": "actions", "elements": [menu]}], "/blocks", 50)) == [
        "/blocks/0/elements/0/options/1/value"]


def test_a_confirm_dialog_text_stops_at_300_characters() -> None:
    def confirm(text: str) -> dict[str, Any]:
        return {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "mrkdwn", "text": text},
                "confirm": {"type": "plain_text", "text": "Yes"}, "deny": {"type": "plain_text", "text": "No"}}

    ok = [{"type": "actions", "elements": [{**BUTTON, "confirm": confirm("x" * 300)}]}]
    long = [{"type": "actions", "elements": [{**BUTTON, "confirm": confirm("x" * 301)}]}]
    assert validate_blocks(ok, "/blocks", 50) == []
    assert pointers(validate_blocks(long, "/blocks", 50)) == ["/blocks/0/elements/0/confirm/text/text"]


def test_headers_buttons_and_menu_options_take_plain_text_only() -> None:
    mrkdwn = {"type": "mrkdwn", "text": "*bold*"}
    menu = overflow(2)
    menu["options"][0]["text"] = mrkdwn
    blocks = [{"type": "header", "text": mrkdwn},
              {"type": "actions", "elements": [{**BUTTON, "text": mrkdwn}, menu]},
              {"type": "section", "text": mrkdwn}]  # sections may use mrkdwn
    assert pointers(validate_blocks(blocks, "/blocks", 50)) == [
        "/blocks/0/text", "/blocks/1/elements/0/text", "/blocks/1/elements/1/options/0/text"]


def test_a_section_needs_text_or_fields() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}, {"type": "section"},
              {"type": "section", "fields": [{"type": "mrkdwn", "text": "one"}]}]
    assert pointers(validate_blocks(blocks, "/blocks", 50)) == ["/blocks/0/text/text", "/blocks/1"]


def test_action_ids_are_unique_within_a_block() -> None:
    twice = [{"type": "actions", "elements": [BUTTON, BUTTON]}]
    apart = [{"type": "actions", "elements": [BUTTON]}, {"type": "actions", "elements": [BUTTON]}]
    assert pointers(validate_blocks(twice, "/blocks", 50)) == ["/blocks/0/elements/1/action_id"]
    assert validate_blocks(apart, "/blocks", 50) == []


def test_a_modal_with_inputs_needs_a_submit_and_small_metadata() -> None:
    field = {"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "Title"},
             "element": {"type": "plain_text_input", "action_id": "v"}}
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Start"}, "blocks": [field]}
    assert pointers(validate_view(modal, ("modal",))) == ["/view/submit"]
    modal["submit"] = {"type": "plain_text", "text": "Start"}
    assert validate_view(modal, ("modal",)) == []
    modal["private_metadata"] = "x" * 3001
    assert pointers(validate_view(modal, ("modal",))) == ["/view/private_metadata"]


async def test_the_cumulative_block_text_limit_is_a_switch(emu: SlackEmulator) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}} for _ in range(5)]
    await client(emu).chat_postMessage(channel="C1", text="long", blocks=blocks)  # off by default
    emu.state.block_text_limit = 13000  # guess (reference §8): the switch on
    with pytest.raises(SlackApiError) as refused:
        await client(emu).chat_postMessage(channel="C1", text="long", blocks=blocks)
    assert refused.value.response["error"] == "msg_blocks_too_long"
    await client(emu).chat_postMessage(channel="C1", text="short", blocks=blocks[:4])


async def test_conversations_members_limit_is_at_most_1000(emu: SlackEmulator) -> None:
    assert (await client(emu).conversations_members(channel="C1", limit=1000))["ok"]
    with pytest.raises(SlackApiError) as refused:
        await client(emu).conversations_members(channel="C1", limit=1001)
    assert refused.value.response["error"] == "invalid_limit"


async def test_member_events_only_where_the_bot_is_a_member(emu: SlackEmulator) -> None:
    joined = emu.state.join_channel("C1", "U2")
    assert joined is not None and (joined["type"], joined["user"], joined["channel"]) == (
        "member_joined_channel", "U2", "C1")
    assert emu.state.join_channel("C2", "U2") is None, "Slack sends nothing for a channel the bot isn't in"
    assert emu.state.leave_channel("C2", "U2") is None and emu.state.members_of("C2") == []
    info = await client(emu).conversations_info(channel="C2")
    assert info["channel"]["is_member"] is False

    invited = emu.state.invite_bot("C2", inviter="U2")
    assert invited is not None and invited["user"] == emu.state.bot_user_id and invited["inviter"] == "U2"
    assert (await client(emu).conversations_info(channel="C2"))["channel"]["is_member"] is True
    left = emu.state.leave_channel("C2", "U3")
    assert left is not None and left["type"] == "member_left_channel"


async def test_conversations_join_makes_the_bot_a_member(emu: SlackEmulator) -> None:
    await client(emu).conversations_join(channel="C2")
    assert (await client(emu).conversations_info(channel="C2"))["channel"]["is_member"] is True
    assert emu.state.join_channel("C2", "U2") is not None
