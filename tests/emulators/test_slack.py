"""The Slack emulator answers the real slack_sdk clients the way Slack does."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from emulators.slack import STATE_KEY, SlackEmulator, SlackState, build_app
from tests.support.waits import eventually

REPO = Path(__file__).resolve().parents[2]
MEET_URL = "https://meet.google.com/abc-mnop-xyz"


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.state.add_channel("C1", "general")
        emulator.state.add_user("U1", "alice", email="Alice@Example.com", is_admin=True, tz="Europe/Berlin")
        yield emulator


def web_client(emu: SlackEmulator, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=token or emu.bot_token, base_url=emu.api_url, **kwargs)


async def api_error(coro: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await coro
    return info.value


async def test_auth_test_identifies_the_bot(emu: SlackEmulator) -> None:
    resp = await web_client(emu).auth_test()
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    assert "chat:write" in resp.headers["x-oauth-scopes"].split(",")
    assert resp.data == {
        "ok": True,
        "url": "https://emulated.slack.com/",
        "team": "Emulated Workspace",
        "user": "meet",
        "team_id": "T0001",
        "user_id": "U0BOT",
        "bot_id": "B0BOT",
        "is_enterprise_install": False,
    }
    assert emu.state.calls_to("auth.test")[0]["token"] == "xoxb-test"


async def test_post_message_then_update(emu: SlackEmulator) -> None:
    client = web_client(emu)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Meet* ready"}}]
    posted = await client.chat_postMessage(channel="C1", text="Meet ready", blocks=blocks)
    ts = posted["ts"]
    assert posted["channel"] == "C1"
    assert posted["message"]["bot_id"] == "B0BOT" and posted["message"]["user"] == "U0BOT"
    call = emu.state.calls_to("chat.postMessage")[0]
    assert call["args"]["blocks"] == blocks and call["body_format"] == "json" and call["status"] == 200

    [stored] = emu.state.messages("C1")
    assert stored["ts"] == ts and stored["text"] == "Meet ready"
    assert stored["blocks"][0]["block_id"]  # Slack assigns one

    updated = await client.chat_update(channel="C1", ts=ts, text="Meet ended")
    assert updated["ts"] == ts and updated["text"] == "Meet ended"
    [stored] = emu.state.messages("C1")
    assert stored["text"] == "Meet ended" and stored["blocks"][0]["text"]["text"] == "*Meet* ready"
    assert stored["edited"]["user"] == "U0BOT"

    await client.chat_update(channel="C1", ts=ts, text="gone", blocks=[])
    assert "blocks" not in emu.state.messages("C1")[0]

    err = await api_error(client.chat_update(channel="C1", ts="1.000001", text="x"))
    assert err.response["error"] == "message_not_found"

    other = emu.state.add_message("C1", "hello", "U1")
    err = await api_error(client.chat_update(channel="C1", ts=other, text="x"))
    assert err.response["error"] == "cant_update_message"


async def test_post_ephemeral_is_seen_by_one_person_and_kept_nowhere_else(emu: SlackEmulator) -> None:
    client = web_client(emu)
    posted = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert posted["message_ts"] and emu.state.messages("C1") == []
    (kept,) = emu.state.ephemeral_messages("C1")
    assert kept["recipient"] == "U1" and kept["text"] == "only you"
    assert (await api_error(client.chat_postEphemeral(channel="C1", user="U404", text="x"))).response[
        "error"] == "user_not_found"
    emu.state.add_user("U2", "bob")
    emu.state.join_channel("C1", "U1")  # once the channel's members are known, only they can be shown it
    assert (await api_error(client.chat_postEphemeral(channel="C1", user="U2", text="x"))).response[
        "error"] == "user_not_in_channel"


async def test_post_message_channel_rules(emu: SlackEmulator) -> None:
    state = emu.state
    state.add_channel("C2", "secret", is_member=False, is_private=True)
    state.add_channel("C3", "random", is_member=False)
    state.add_channel("C4", "old", is_archived=True)
    state.add_token("xoxb-narrow", scopes=["chat:write"])
    client = web_client(emu)

    for channel, error in (("C404", "channel_not_found"), ("C2", "channel_not_found"), ("C4", "is_archived")):
        err = await api_error(client.chat_postMessage(channel=channel, text="hi"))
        assert err.response["error"] == error, channel
    # chat:write.public lets the bot post in a public channel it has not joined; without it, not_in_channel.
    assert (await client.chat_postMessage(channel="C3", text="hi"))["ok"]
    err = await api_error(web_client(emu, "xoxb-narrow").chat_postMessage(channel="C3", text="hi"))
    assert err.response["error"] == "not_in_channel"

    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns before sending
        err = await api_error(client.chat_postMessage(channel="C1"))
    assert err.response["error"] == "no_text"
    err = await api_error(client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "divider"}] * 51))
    assert err.response["error"] == "invalid_blocks"
    assert "no more than 50 items" in err.response["response_metadata"]["messages"][0]

    dm = await client.chat_postMessage(channel="U1", text="psst")
    assert dm["channel"].startswith("D") and state.messages(dm["channel"])[0]["text"] == "psst"


async def test_form_json_and_query_encodings(emu: SlackEmulator) -> None:
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": "hi"}}]
    async with aiohttp.ClientSession() as http:
        form = {"token": "xoxb-test", "channel": "C1", "blocks": json.dumps(blocks)}
        async with http.post(emu.api_url + "chat.postMessage", data=form) as resp:
            body = await resp.json()
            assert resp.status == 200 and body["ok"], body
        async with http.get(emu.api_url + "users.info", params={"token": "xoxb-test", "user": "U1"}) as resp:
            assert (await resp.json())["user"]["name"] == "alice"
        # A token inside a JSON body is not honoured: JSON callers must use the Authorization header.
        async with http.post(emu.api_url + "auth.test", json={"token": "xoxb-test"}) as resp:
            assert (await resp.json()) == {"ok": False, "error": "not_authed"}
        async with http.post(
            emu.api_url + "auth.test", data="{nope", headers={"Content-Type": "application/json"}
        ) as resp:
            assert (await resp.json())["error"] == "invalid_json"
    first = emu.state.calls_to("chat.postMessage")[0]
    assert first["body_format"] == "form" and first["args"]["blocks"] == blocks
    assert first["token"] == "xoxb-test"
    # slack_sdk sends bookmarks.add parameters in the query string of a POST.
    await web_client(emu).bookmarks_add(channel_id="C1", title="Room", type="link", link=MEET_URL)
    assert emu.state.calls_to("bookmarks.add")[0]["body_format"] == "query"


async def test_unfurl_via_json(emu: SlackEmulator) -> None:
    state = emu.state
    event = state.share_links([MEET_URL], channel="C1", user="U1")
    assert event["type"] == "link_shared"
    assert event["links"] == [{"domain": "meet.google.com", "url": MEET_URL}]
    client = web_client(emu)
    unfurl = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Meet *live*"}}]}

    await client.chat_unfurl(channel="C1", ts=event["message_ts"], unfurls={MEET_URL: unfurl})
    call = state.calls_to("chat.unfurl")[0]
    assert call["body_format"] == "json" and call["args"]["unfurls"] == {MEET_URL: unfurl}
    await client.chat_unfurl(channel="C1", ts=event["message_ts"], unfurls={MEET_URL: unfurl})
    [attachment] = state.message("C1", event["message_ts"])["attachments"]  # type: ignore[index]
    assert attachment["app_unfurl_url"] == MEET_URL and attachment["blocks"] == unfurl["blocks"]

    composer = state.share_links([MEET_URL], channel="C1", user="U1", source="composer")
    await client.chat_unfurl(
        unfurl_id=composer["unfurl_id"],
        source="composer",
        unfurls={MEET_URL: unfurl},
        user_auth_required=True,
        user_auth_url="https://bot.example/connect",
    )
    record = state.unfurls()[-1]
    assert record["unfurl_id"] == composer["unfurl_id"] and record["user_auth_required"] is True
    assert record["user_auth_url"] == "https://bot.example/connect"

    ts = event["message_ts"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C1", "ts": ts, "unfurls": {"https://evil.example/x": unfurl}}, "cannot_unfurl_url"),
        ({"channel": "C1", "ts": ts, "unfurls": {MEET_URL + "x": unfurl}}, "cannot_unfurl_url"),
        ({"unfurls": {MEET_URL: unfurl}}, "invalid_arguments"),
        ({"channel": "C1", "unfurls": {MEET_URL: unfurl}}, "missing_ts"),
        ({"unfurl_id": "x", "unfurls": {MEET_URL: unfurl}}, "missing_source"),
        ({"channel": "C1", "ts": ts}, "missing_unfurls"),
    ]
    for kwargs, error in cases:
        err = await api_error(client.chat_unfurl(**kwargs))
        assert err.response["error"] == error, kwargs


def _section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def _messages(err: SlackApiError) -> list[str]:
    messages: list[str] = err.response["response_metadata"]["messages"]
    return messages


async def test_duplicate_block_ids_are_refused(emu: SlackEmulator) -> None:
    client = web_client(emu)
    dup = [_section("a", "meeting"), _section("b"), _section("c", "meeting")]
    expected = '[ERROR] duplicate block_id "meeting" [json-pointer:/blocks/2/block_id]'
    err = await api_error(client.chat_postMessage(channel="C1", text="x", blocks=dup))
    assert err.response["error"] == "invalid_blocks" and _messages(err) == [expected]

    # Blocks without a block_id get distinct random ones: only the ids the caller sent are compared.
    posted = await client.chat_postMessage(
        channel="C1", text="x", blocks=[_section("a"), _section("b"), _section("c", "meeting")]
    )
    ids = [b["block_id"] for b in emu.state.messages("C1")[0]["blocks"]]
    assert len(set(ids)) == 3 and ids[2] == "meeting"
    err = await api_error(client.chat_update(channel="C1", ts=posted["ts"], text="x", blocks=dup))
    assert err.response["error"] == "invalid_blocks" and _messages(err) == [expected]
    assert emu.state.messages("C1")[0]["blocks"][0]["text"]["text"] == "a"  # unchanged

    resp = await AsyncWebhookClient(emu.response_url("r1", channel="C1", user="U1")).send(text="x", blocks=dup)
    assert (resp.status_code, resp.body) == (400, "invalid_blocks")
    assert emu.state.ephemeral_messages("C1") == []

    # Unfurls: ids are unique per URL's blocks; two URLs may each carry a "meeting" block.
    other = MEET_URL.replace("xyz", "xyw")
    event = emu.state.share_links([MEET_URL, other], channel="C1", user="U1")
    ok = {"blocks": [_section("a", "meeting")]}
    await client.chat_unfurl(channel="C1", ts=event["message_ts"], unfurls={MEET_URL: ok, other: ok})
    err = await api_error(
        client.chat_unfurl(channel="C1", ts=event["message_ts"], unfurls={MEET_URL: {"blocks": dup}})
    )
    assert err.response["error"] == "invalid_blocks"
    pointer = f"/unfurls/{MEET_URL}/blocks/2/block_id"
    assert _messages(err) == [f'[ERROR] duplicate block_id "meeting" [json-pointer:{pointer}]']
    assert len(emu.state.unfurls()) == 1

    view_expected = '[ERROR] duplicate block_id "meeting" [json-pointer:/view/blocks/2/block_id]'
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Settings"}, "blocks": dup}
    err = await api_error(client.views_open(trigger_id=emu.state.issue_trigger_id(), view=modal))
    assert err.response["error"] == "invalid_arguments" and _messages(err) == [view_expected]
    err = await api_error(client.views_publish(user_id="U1", view={"type": "home", "blocks": dup}))
    assert err.response["error"] == "invalid_arguments" and _messages(err) == [view_expected]
    opened = await client.views_open(
        trigger_id=emu.state.issue_trigger_id(), view=modal | {"blocks": [_section("a", "meeting")]}
    )
    err = await api_error(client.views_update(view_id=opened["view"]["id"], view=modal))
    assert err.response["error"] == "invalid_arguments" and _messages(err) == [view_expected]
    # Two empty block_ids are duplicates too.
    err = await api_error(
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [_section("a", ""), _section("b", "")]})
    )
    assert _messages(err) == ['[ERROR] duplicate block_id "" [json-pointer:/view/blocks/1/block_id]']


def _option(text: str, value: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value if value is not None else text}


async def test_initial_options_must_be_among_the_options(emu: SlackEmulator) -> None:
    client = web_client(emu)
    options = [_option("on"), _option("off")]

    def modal(element: dict[str, Any]) -> dict[str, Any]:
        block = {"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "L"}, "element": element}
        return {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "submit": {"type": "plain_text",
                "text": "S"}, "blocks": [block]}

    async def open_modal(element: dict[str, Any]) -> Any:
        return await client.views_open(trigger_id=emu.state.issue_trigger_id(), view=modal(element))

    select = {"type": "static_select", "action_id": "v", "options": options}
    assert (await open_modal(select | {"initial_option": _option("off")}))["ok"]
    for wrong in (_option("maybe"), _option("On", "on"), _option("on", "off")):
        err = await api_error(open_modal(select | {"initial_option": wrong}))
        assert err.response["error"] == "invalid_arguments", wrong
        assert _messages(err) == [
            "[ERROR] must match one of the provided options [json-pointer:/view/blocks/0/element/initial_option]"
        ]
    groups = {"type": "static_select", "action_id": "v", "option_groups": [
        {"label": {"type": "plain_text", "text": "G1"}, "options": [_option("a")]},
        {"label": {"type": "plain_text", "text": "G2"}, "options": [_option("b")]},
    ]}
    assert (await open_modal(groups | {"initial_option": _option("b")}))["ok"]
    err = await api_error(open_modal(groups | {"initial_option": _option("c")}))
    assert err.response["error"] == "invalid_arguments"

    multi = {"type": "multi_static_select", "action_id": "v", "options": options}
    assert (await open_modal(multi | {"initial_options": options}))["ok"]
    err = await api_error(open_modal(multi | {"initial_options": [_option("on"), _option("nope")]}))
    assert _messages(err) == [
        "[ERROR] must match one of the provided options [json-pointer:/view/blocks/0/element/initial_options/1]"
    ]
    checkboxes = {"type": "checkboxes", "action_id": "v", "options": options}
    err = await api_error(open_modal(checkboxes | {"initial_options": [_option("nope")]}))
    assert err.response["error"] == "invalid_arguments"

    # In messages: radio buttons in an actions block and a select as a section accessory.
    radio = {"type": "radio_buttons", "action_id": "v", "options": options, "initial_option": _option("nope")}
    err = await api_error(
        client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "actions", "elements": [radio]}])
    )
    assert err.response["error"] == "invalid_blocks"
    assert _messages(err) == [
        "[ERROR] must match one of the provided options [json-pointer:/blocks/0/elements/0/initial_option]"
    ]
    accessory = _section("pick") | {"accessory": select | {"initial_option": _option("nope")}}
    err = await api_error(client.chat_postMessage(channel="C1", text="x", blocks=[accessory]))
    assert _messages(err) == [
        "[ERROR] must match one of the provided options [json-pointer:/blocks/0/accessory/initial_option]"
    ]
    fine = _section("pick") | {"accessory": select | {"initial_option": _option("on")}}
    assert (await client.chat_postMessage(channel="C1", text="x", blocks=[fine]))["ok"]


async def test_unfurl_cannot_prompt_a_user_who_dismissed_the_prompt(emu: SlackEmulator) -> None:
    state, client = emu.state, web_client(emu)
    state.add_user("U2", "bob")
    unfurl = {"blocks": [_section("Meet *live*")]}
    mine = state.share_links([MEET_URL], channel="C1", user="U1")
    state.dismiss_auth_prompt("U1")
    auth_asks: list[dict[str, Any]] = [
        {"user_auth_required": True},
        {"user_auth_url": "https://bot.example/connect"},
        {"user_auth_message": "Connect your Google account"},
        {"user_auth_blocks": [_section("Connect")]},
    ]
    for ask in auth_asks:
        err = await api_error(
            client.chat_unfurl(channel="C1", ts=mine["message_ts"], unfurls={MEET_URL: unfurl}, **ask)
        )
        assert err.response.data == {"ok": False, "error": "cannot_prompt"}, ask
    composer = state.share_links([MEET_URL], channel="C1", user="U1", source="composer")
    err = await api_error(
        client.chat_unfurl(
            unfurl_id=composer["unfurl_id"], source="composer", unfurls={MEET_URL: unfurl}, user_auth_required=True
        )
    )
    assert err.response["error"] == "cannot_prompt"
    assert state.unfurls() == [] and "attachments" not in state.message("C1", mine["message_ts"])  # type: ignore[operator]

    # An unfurl that does not ask for authentication still works for that user.
    await client.chat_unfurl(channel="C1", ts=mine["message_ts"], unfurls={MEET_URL: unfurl})
    assert [u["user"] for u in state.unfurls()] == ["U1"]

    # Somebody who has not dismissed it is prompted; the flag is recorded.
    theirs = state.share_links([MEET_URL], channel="C1", user="U2")
    await client.chat_unfurl(
        channel="C1", ts=theirs["message_ts"], unfurls={MEET_URL: unfurl}, user_auth_required=True
    )
    record = state.unfurls()[-1]
    assert record["user"] == "U2" and record["user_auth_required"] is True

    # The control route dismisses (and undoes) for processes that cannot reach the state object.
    async with aiohttp.ClientSession() as http:
        async with http.post(emu.url + "/_emulator/auth_prompts", json={"user": "U2"}) as r:
            assert (await r.json()) == {"ok": True, "dismissed": ["U1", "U2"]}
        err = await api_error(
            client.chat_unfurl(channel="C1", ts=theirs["message_ts"], unfurls={MEET_URL: unfurl},
                               user_auth_required=True)
        )
        assert err.response["error"] == "cannot_prompt"
        async with http.post(emu.url + "/_emulator/auth_prompts", json={"user": "U1", "dismissed": False}) as r:
            assert (await r.json())["dismissed"] == ["U2"]
        async with http.get(emu.url + "/_emulator/auth_prompts") as r:
            assert (await r.json())["dismissed"] == ["U2"]
        async with http.post(emu.url + "/_emulator/auth_prompts", json={}) as r:
            assert r.status == 400
    await client.chat_unfurl(
        channel="C1", ts=mine["message_ts"], unfurls={MEET_URL: unfurl}, user_auth_required=True
    )
    assert state.unfurls()[-1]["user_auth_required"] is True


async def test_auth_prompt_dismissals_as_a_constructor_option() -> None:
    with SlackEmulator(auth_prompt_dismissed_by=["U1"]) as emu:
        emu.state.add_channel("C1", "general")
        event = emu.state.share_links([MEET_URL], channel="C1", user="U1")
        err = await api_error(
            web_client(emu).chat_unfurl(
                channel="C1", ts=event["message_ts"], unfurls={MEET_URL: {"blocks": []}}, user_auth_required=True
            )
        )
        assert err.response["error"] == "cannot_prompt"
        emu.state.dismiss_auth_prompt("U2")
        emu.state.reset()  # back to the configured set
        assert emu.state.dismissed_auth_prompts() == {"U1"}


async def test_views_publish_hash_conflict(emu: SlackEmulator) -> None:
    client = web_client(emu)
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}
    first = (await client.views_publish(user_id="U1", view=home))["view"]
    assert first["id"].startswith("V") and first["type"] == "home" and first["hash"]

    err = await api_error(client.views_publish(user_id="U1", view=home, hash="stale.hash"))
    assert err.response["error"] == "hash_conflict"

    second = (await client.views_publish(user_id="U1", view=home, hash=first["hash"]))["view"]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    assert emu.state.home_view("U1") == second

    err = await api_error(client.views_publish(user_id="U404", view=home))
    assert err.response["error"] == "invalid_arguments"
    err = await api_error(client.views_publish(user_id="U1", view={"type": "modal", "blocks": []}))
    assert err.response["error"] == "invalid_arguments"


async def test_views_open_checks_the_trigger(emu: SlackEmulator) -> None:
    client = web_client(emu)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Settings"}, "blocks": [],
             "external_id": "settings-1"}
    trigger = emu.state.issue_trigger_id()
    view = (await client.views_open(trigger_id=trigger, view=modal))["view"]
    assert view["id"].startswith("V") and view["title"]["text"] == "Settings"

    err = await api_error(client.views_open(trigger_id=trigger, view=modal | {"external_id": ""}))
    assert err.response["error"] == "exchanged_trigger_id"
    late = emu.state.issue_trigger_id()
    emu.state.advance_time(3.5)
    err = await api_error(client.views_open(trigger_id=late, view=modal))
    assert err.response["error"] == "expired_trigger_id"
    err = await api_error(client.views_open(trigger_id="not-a-trigger", view=modal))
    assert err.response["error"] == "invalid_trigger_id"
    err = await api_error(client.api_call("views.open", json={"view": modal}))
    assert err.response["error"] == "invalid_arguments"
    long_title = modal | {"title": {"type": "plain_text", "text": "x" * 25}}
    err = await api_error(client.views_open(trigger_id=emu.state.issue_trigger_id(), view=long_title))
    assert "must be less than 25 characters" in err.response["response_metadata"]["messages"][0]

    updated = (await client.views_update(external_id="settings-1", view=modal, hash=view["hash"]))["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    err = await api_error(client.views_update(view_id=view["id"], view=modal, hash=view["hash"]))
    assert err.response["error"] == "hash_conflict"
    err = await api_error(client.views_update(view_id="V404", view=modal))
    assert err.response["error"] == "not_found"


async def test_invalid_and_missing_auth(emu: SlackEmulator) -> None:
    err = await api_error(web_client(emu, "xoxb-wrong").auth_test())
    assert err.response.status_code == 200 and err.response.data == {"ok": False, "error": "invalid_auth"}
    err = await api_error(AsyncWebClient(base_url=emu.api_url).chat_postMessage(channel="C1", text="x"))
    assert err.response["error"] == "not_authed"
    emu.state.revoke_token("xoxb-test")
    err = await api_error(web_client(emu).auth_test())
    assert err.response["error"] == "token_revoked"


async def test_rate_limit_fault_is_retried_after_retry_after(emu: SlackEmulator) -> None:
    emu.state.inject_fault("chat.postMessage", status=429, retry_after=1)
    client = web_client(emu, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    resp = await client.chat_postMessage(channel="C1", text="hello")
    assert resp["ok"] and time.monotonic() - started >= 1.0
    calls = emu.state.calls_to("chat.postMessage")
    assert [c["status"] for c in calls] == [429, 200]
    assert calls[0]["response"] == {"ok": False, "error": "ratelimited"}
    assert len(emu.state.messages("C1")) == 1


async def test_rate_limit_without_a_retry_handler_raises(emu: SlackEmulator) -> None:
    emu.state.inject_fault("users.info", status=429, retry_after=7)
    err = await api_error(web_client(emu).users_info(user="U1"))
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert err.response.headers["Retry-After"] == "7"
    assert (await web_client(emu).users_info(user="U1"))["ok"]


async def test_server_error_fault_is_retried(emu: SlackEmulator) -> None:
    emu.state.inject_fault("auth.test", status=503, count=1)
    handler = AsyncServerErrorRetryHandler(
        max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.05)
    )
    assert (await web_client(emu, retry_handlers=[handler]).auth_test())["ok"]
    assert [c["status"] for c in emu.state.calls_to("auth.test")] == [503, 200]

    emu.state.inject_fault("*", status=500, count=2, body="<html>oops</html>")
    err = await api_error(web_client(emu).auth_test())
    assert err.response.status_code == 500
    err = await api_error(web_client(emu).users_info(user="U1"))
    assert err.response.status_code == 500
    assert (await web_client(emu).auth_test())["ok"]


async def test_delay_fault_slows_a_real_answer(emu: SlackEmulator) -> None:
    emu.state.inject_fault("auth.test", status=200, delay=0.3)
    started = time.monotonic()
    assert (await web_client(emu).auth_test())["ok"]
    assert time.monotonic() - started >= 0.3


async def test_response_url_records_posts_and_allows_five_uses(emu: SlackEmulator) -> None:
    url = emu.response_url("r1", channel="C1", user="U1")
    webhook = AsyncWebhookClient(url)
    for i in range(5):
        resp = await webhook.send(text=f"reply {i}", response_type="in_channel" if i == 0 else "ephemeral")
        assert (resp.status_code, resp.body) == (200, "ok")
    resp = await webhook.send(text="one too many")
    assert (resp.status_code, resp.body) == (404, "used_url")

    posts = emu.state.response_posts("r1")
    assert [p["status"] for p in posts] == [200] * 5 + [404]
    assert posts[0]["body"] == {"text": "reply 0", "response_type": "in_channel"}
    assert [m["text"] for m in emu.state.messages("C1")] == ["reply 0"]
    assert len(emu.state.ephemeral_messages("C1")) == 4

    late = AsyncWebhookClient(emu.response_url("r2"))
    emu.state.advance_time(30 * 60 + 1)
    resp = await late.send(text="too late")
    assert (resp.status_code, resp.body) == (404, "expired_url")
    assert await emu.state.wait_for_response_posts("r2", 1) == emu.state.response_posts("r2")

    resp = await AsyncWebhookClient(emu.response_url("r3")).send(text="")
    assert resp.status_code == 400 and resp.body == "no_text"

    emu.state.inject_fault("response_url", status=503)
    emu.state.inject_fault("*", status=500)  # API methods only: the next post to r4 succeeds
    resp = await AsyncWebhookClient(emu.response_url("r4")).send(text="a")
    assert resp.status_code == 503
    resp = await AsyncWebhookClient(emu.response_url("r4")).send(text="b")
    assert (resp.status_code, resp.body) == (200, "ok")
    assert [p["status"] for p in emu.state.response_posts("r4")] == [503, 200]


async def test_users_info(emu: SlackEmulator) -> None:
    client = web_client(emu)
    user = (await client.users_info(user="U1", include_locale=True))["user"]
    assert user["profile"]["email"] == "Alice@Example.com" and user["is_admin"] is True
    assert user["tz"] == "Europe/Berlin" and user["tz_offset"] in (3600, 7200) and user["locale"] == "en-US"
    assert (await api_error(client.users_info(user="U404"))).response["error"] == "user_not_found"

    emu.state.add_token("xoxb-noemail", scopes=["users:read"])
    assert "email" not in (await web_client(emu, "xoxb-noemail").users_info(user="U1"))["user"]["profile"]
    emu.state.add_token("xoxb-nousers", scopes=["chat:write"])
    err = await api_error(web_client(emu, "xoxb-nousers").users_info(user="U1"))
    assert err.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "users:read",
        "provided": "chat:write",
    }


async def test_conversations_join(emu: SlackEmulator) -> None:
    state = emu.state
    state.add_channel("C2", "secret", is_member=False, is_private=True)
    state.add_channel("C3", "random", is_member=False)
    state.add_channel("D1", "U1", is_im=True, user="U1")
    client = web_client(emu)
    assert (await api_error(client.conversations_join(channel="C2"))).response["error"] == "channel_not_found"

    joined = await client.conversations_join(channel="C3")
    assert joined["channel"]["is_member"] is True and state.channels()["C3"]["is_member"] is True
    again = await client.conversations_join(channel="C3")
    assert again["warning"] == "already_in_channel"
    err = await api_error(client.conversations_join(channel="D1"))
    assert err.response["error"] == "method_not_supported_for_channel_type"


async def test_bookmarks_roundtrip(emu: SlackEmulator) -> None:
    client = web_client(emu)
    added = (await client.bookmarks_add(channel_id="C1", title="Room", type="link", link=MEET_URL,
                                        emoji=":video_camera:"))["bookmark"]
    assert added["id"].startswith("Bk") and added["channel_id"] == "C1" and added["type"] == "link"
    assert added["title"] == "Room" and added["link"] == MEET_URL and isinstance(added["date_created"], int)
    edited = await client.bookmarks_edit(channel_id="C1", bookmark_id=added["id"], title="Standup")
    assert edited["bookmark"]["title"] == "Standup"
    assert [b["id"] for b in emu.state.bookmarks("C1")] == [added["id"]]
    await client.bookmarks_remove(channel_id="C1", bookmark_id=added["id"])
    assert emu.state.bookmarks("C1") == []
    err = await api_error(client.bookmarks_add(channel_id="C1", title="x", type="link", link="ftp://x"))
    assert err.response["error"] == "invalid_link"
    err = await api_error(client.bookmarks_remove(channel_id="C1", bookmark_id="Bk404"))
    assert err.response["error"] == "not_found"


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_install_and_token_rotation() -> None:
    with SlackEmulator(token_rotation=True) as emu:
        redirect = "http://127.0.0.1:9/slack/oauth_redirect"
        query = {"client_id": "1111.2222", "scope": "commands,chat:write", "state": "s1"}
        query["redirect_uri"] = redirect
        async with (
            aiohttp.ClientSession() as http,
            http.get(emu.authorize_url, params=query, allow_redirects=False) as resp,
        ):
            assert resp.status == 302
            location = resp.headers["Location"]
        assert location.startswith(redirect + "?code=") and location.endswith("&state=s1")
        code = location.split("code=")[1].split("&")[0]

        client = AsyncWebClient(base_url=emu.api_url)
        install = await client.oauth_v2_access(
            client_id="1111.2222", client_secret="emulator-client-secret", code=code, redirect_uri=redirect
        )
        assert install["token_type"] == "bot" and install["access_token"].startswith("xoxe.xoxb-")
        assert install["expires_in"] == 43200 and install["refresh_token"].startswith("xoxe-1-")
        assert install["team"] == {"id": "T0001", "name": "Emulated Workspace"}
        assert install["scope"] == "commands,chat:write" and install["authed_user"] == {"id": "U0INSTALLER"}
        assert (await web_client(emu, install["access_token"]).auth_test())["bot_id"] == "B0BOT"
        err = await api_error(
            client.oauth_v2_access(client_id="1111.2222", client_secret="emulator-client-secret", code=code)
        )
        assert err.response["error"] == "invalid_code"

        refreshed = await client.oauth_v2_access(
            client_id="1111.2222",
            client_secret="emulator-client-secret",
            grant_type="refresh_token",
            refresh_token=install["refresh_token"],
        )
        assert refreshed["access_token"] != install["access_token"] and refreshed["token_type"] == "bot"
        err = await api_error(
            client.oauth_v2_access(
                client_id="1111.2222",
                client_secret="emulator-client-secret",
                grant_type="refresh_token",
                refresh_token=install["refresh_token"],
            )
        )
        assert err.response["error"] == "invalid_refresh_token"
        err = await api_error(client.oauth_v2_access(client_id="1111.2222", client_secret="nope", code="x"))
        assert err.response["error"] == "bad_client_secret"

        emu.state.advance_time(43200)
        err = await api_error(web_client(emu, refreshed["access_token"]).auth_test())
        assert err.response["error"] == "token_expired"


async def test_bolt_app_round_trip(emu: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    app = AsyncApp(client=web_client(emu), signing_secret="secret", process_before_response=True)

    @app.command("/meet")
    async def meet(ack: Any, respond: Any, say: Any) -> None:
        await ack()
        await respond(text="working on it")
        await say(text="Meet card")

    body = urlencode(
        {
            "team_id": "T0001",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/meet",
            "text": "",
            "response_url": emu.response_url("cmd", channel="C1", user="U1"),
            "trigger_id": emu.state.issue_trigger_id(),
        }
    )
    ts = str(int(time.time()))
    signature = SignatureVerifier("secret").generate_signature(timestamp=ts, body=body)
    assert signature is not None
    headers: dict[str, str | Sequence[str]] = {
        "content-type": ["application/x-www-form-urlencoded"],
        "x-slack-request-timestamp": [ts],
        "x-slack-signature": [signature],
    }
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200
    assert len(emu.state.calls_to("auth.test")) == 1
    assert emu.state.response_posts("cmd")[0]["body"]["text"] == "working on it"
    assert [m["text"] for m in emu.state.messages("C1")] == ["Meet card"]
    assert [m["text"] for m in emu.state.ephemeral_messages("C1")] == ["working on it"]


async def test_unknown_method_is_404(emu: SlackEmulator) -> None:
    async with aiohttp.ClientSession() as http, http.post(emu.api_url + "chat.nope") as resp:
        assert resp.status == 404
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        assert await resp.json() == {"ok": False, "error": "unknown_method"}


async def test_control_routes(emu: SlackEmulator) -> None:
    base = emu.url + "/_emulator"
    async with aiohttp.ClientSession() as http:
        bob = {"id": "U2", "name": "bob", "email": "bob@example.com"}
        async with http.post(base + "/users", json=bob) as r:
            assert (await r.json())["user"]["profile"]["email"] == "bob@example.com"
        async with http.post(base + "/channels", json={"id": "C9", "name": "ops", "is_member": False}) as r:
            assert (await r.json())["channel"]["is_member"] is False
        fault = {"method": "auth.test", "status": 429, "retry_after": 2}
        async with http.post(base + "/faults", json=fault) as r:
            assert r.status == 200
        async with http.post(base + "/response_urls", json={"name": "rx"}) as r:
            response_url = (await r.json())["url"]
        async with http.post(base + "/links", json={"urls": [MEET_URL], "channel": "C1", "user": "U2"}) as r:
            envelope = (await r.json())["envelope"]
            assert envelope["type"] == "event_callback" and envelope["event"]["type"] == "link_shared"

        err = await api_error(web_client(emu).auth_test())
        assert err.response.status_code == 429 and err.response.headers["Retry-After"] == "2"
        assert (await web_client(emu).users_info(user="U2"))["user"]["name"] == "bob"
        async with http.post(response_url, json={"text": "done"}) as r:
            assert await r.text() == "ok"

        async with http.get(base + "/calls", params={"method": "auth.test"}) as r:
            assert [c["status"] for c in (await r.json())["calls"]] == [429]
        async with http.get(base + "/response_posts", params={"name": "rx"}) as r:
            assert (await r.json())["posts"][0]["body"] == {"text": "done"}
        async with http.get(base + "/messages", params={"channel": "C1"}) as r:
            assert (await r.json())["messages"][0]["user"] == "U2"
        async with http.post(base + "/reset") as r:
            assert r.status == 200
        async with http.get(base + "/calls") as r:
            assert (await r.json())["calls"] == []
    assert "U2" not in emu.state.users() and emu.state.bot_token == "xoxb-test"


async def test_wait_for_calls(emu: SlackEmulator) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await web_client(emu).auth_test()

    task = asyncio.create_task(later())
    calls = await emu.state.wait_for_calls("auth.test", 1, timeout=2.0)
    assert calls[0]["ok"] is True
    await task
    assert len(await asyncio.to_thread(emu.state.wait_for_calls_blocking, "auth.test", 1, 1.0)) == 1
    with pytest.raises(TimeoutError):
        await emu.state.wait_for_calls("auth.test", 2, timeout=0.05)


def test_build_app_keeps_its_state() -> None:
    state = SlackState(bot_token="xoxb-other")
    app = build_app(state)
    assert app[STATE_KEY] is state
    assert isinstance(build_app()[STATE_KEY], SlackState)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_standalone_process_answers_auth_test() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.slack", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/auth.test",
            data=b"",
            headers={"Authorization": "Bearer xoxb-test"},
        )

        def answered() -> dict[str, Any] | None:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
            try:
                with urllib.request.urlopen(request, timeout=1) as resp:
                    return dict(json.loads(resp.read()))
            except (urllib.error.URLError, ConnectionError):
                return None

        body = eventually(answered, "the standalone emulator to answer auth.test", 10)
        assert body.get("ok") is True and body["team_id"] == "T0001"
    finally:
        proc.kill()
        proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()
