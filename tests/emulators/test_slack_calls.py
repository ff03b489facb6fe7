"""The Slack emulator's Calls API answers the real slack_sdk client the way Slack documents it: arguments, errors,
the Tier 3 limit with Retry-After, and `call` blocks that must name this app's own call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from emulators.slack import SlackEmulator

JOIN = "https://meet.google.com/abc-mnop-xyz"


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.state.add_channel("C1", "general")
        emulator.state.add_user("U1", "alice")
        emulator.state.add_user("U2", "bob")
        yield emulator


def client(emu: SlackEmulator, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token or emu.bot_token, base_url=emu.api_url)


async def error_of(coro: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await coro
    return info.value


async def add_call(emu: SlackEmulator, unique: str = "conf-1", **extra: Any) -> str:
    resp = await client(emu).calls_add(external_unique_id=unique, join_url=JOIN, created_by="U1", **extra)
    return str(resp["call"]["id"])


async def test_a_call_is_registered_with_its_documented_fields_and_read_back(emu: SlackEmulator) -> None:
    resp = await client(emu).calls_add(
        external_unique_id="conf-1", join_url=JOIN, created_by="U1", external_display_id="abc-mnop-xyz",
        title="Standup", date_start=1700000000,
        users=[{"slack_id": "U2"}, {"external_id": "p-1", "display_name": "Dana"}])
    call = resp["call"]
    assert call["id"].startswith("R") and call["date_start"] == 1700000000
    assert call["external_display_id"] == "abc-mnop-xyz" and call["title"] == "Standup"
    assert call["users"] == [{"slack_id": "U2"}, {"external_id": "p-1", "display_name": "Dana"}]
    info = await client(emu).calls_info(id=call["id"])
    assert info["call"] == call


async def test_calls_add_refuses_missing_arguments_and_unknown_creators(emu: SlackEmulator) -> None:
    c = client(emu)
    assert (await error_of(c.api_call("calls.add", json={"join_url": JOIN, "created_by": "U1"}))
            ).response["error"] == "invalid_arguments"
    assert (await error_of(c.calls_add(external_unique_id="x", join_url=JOIN))).response["error"] == \
        "invalid_created_by", "created_by is required with a bot token"
    assert (await error_of(c.calls_add(external_unique_id="x", join_url=JOIN, created_by="U404"))
            ).response["error"] == "invalid_created_by"
    assert (await error_of(c.calls_add(external_unique_id="x", join_url=JOIN, created_by="U1", date_start="soon"))
            ).response["error"] == "invalid_start_time"
    assert (await error_of(c.calls_add(external_unique_id="x", join_url=JOIN, created_by="U1",
                                       users=[{"slack_id": "U404"}]))).response["error"] == "user_not_found"
    assert emu.state.call_objects.all() == []


async def test_participants_join_and_leave_and_bad_users_are_refused(emu: SlackEmulator) -> None:
    call_id, c = await add_call(emu), client(emu)
    guest = {"external_id": "g1", "display_name": "Guest"}
    await c.calls_participants_add(id=call_id, users=[{"slack_id": "U2"}, guest])
    again = await error_of(c.calls_participants_add(id=call_id, users=[{"slack_id": "U2"}]))
    assert again.response["error"] == "bad_users", "a user already in the call"
    await c.calls_participants_remove(id=call_id, users=[{"slack_id": "U2"}])
    gone = await error_of(c.calls_participants_remove(id=call_id, users=[{"slack_id": "U2"}]))
    assert gone.response["error"] == "bad_users", "a user not in the call"
    assert (await c.calls_info(id=call_id))["call"]["users"] == [guest]
    unknown = await error_of(c.calls_participants_add(id="R404", users=[{"slack_id": "U2"}]))
    assert unknown.response["error"] == "invalid_call_id"


async def test_an_ended_call_keeps_its_duration_and_refuses_changes(emu: SlackEmulator) -> None:
    call_id, c = await add_call(emu), client(emu)
    await c.calls_update(id=call_id, title="Renamed")
    await c.calls_end(id=call_id, duration=1380)
    info = (await c.calls_info(id=call_id))["call"]
    assert info["duration"] == 1380 and info["title"] == "Renamed" and "date_end" in info
    assert (await error_of(c.calls_end(id=call_id))).response["error"] == "inactive_call"
    late = await error_of(c.calls_participants_add(id=call_id, users=[{"slack_id": "U2"}]))
    assert late.response["error"] == "inactive_call"


async def test_calls_need_their_scopes(emu: SlackEmulator) -> None:
    emu.state.add_token("xoxb-old", scopes=("chat:write",))
    error = await error_of(client(emu, "xoxb-old").calls_add(external_unique_id="x", join_url=JOIN, created_by="U1"))
    assert error.response["error"] == "missing_scope" and error.response["needed"] == "calls:write"
    info = await error_of(client(emu, "xoxb-old").calls_info(id="R1"))
    assert info.response["needed"] == "calls:read"


async def test_calls_disabled_in_the_workspace_refuses_them(emu: SlackEmulator) -> None:
    emu.state.call_objects.enabled = False
    error = await error_of(client(emu).calls_add(external_unique_id="x", join_url=JOIN, created_by="U1"))
    assert error.response["error"] == "not_implemented"


async def test_a_method_is_limited_to_tier_3_per_workspace_with_retry_after(emu: SlackEmulator) -> None:
    emu.state.call_objects.per_minute = 3
    call_id, c = await add_call(emu), client(emu)
    for n in range(3):
        await c.calls_participants_add(id=call_id, users=[{"external_id": f"p{n}", "display_name": f"P{n}"}])
    limited = await error_of(c.calls_participants_add(id=call_id, users=[{"external_id": "p9", "display_name": "P"}]))
    assert limited.response.status_code == 429 and limited.response["error"] == "ratelimited"
    assert 1 <= int(limited.response.headers["Retry-After"]) <= 60
    await c.calls_participants_remove(id=call_id, users=[{"external_id": "p0"}])  # another method, its own window
    emu.state.advance_time(61)
    await c.calls_participants_add(id=call_id, users=[{"external_id": "p9", "display_name": "P"}])
    assert len((await c.calls_info(id=call_id))["call"]["users"]) == 3


async def test_a_call_block_must_name_this_apps_call(emu: SlackEmulator) -> None:
    call_id, c = await add_call(emu), client(emu)
    posted = await c.chat_postMessage(channel="C1", text="Standup", blocks=[{"type": "call", "call_id": call_id}])
    assert posted["message"]["blocks"][0]["call_id"] == call_id
    bad = await error_of(c.chat_postMessage(channel="C1", text="x", blocks=[{"type": "call", "call_id": "R404"}]))
    assert bad.response["error"] == "invalid_blocks"
    edit = await error_of(c.chat_update(channel="C1", ts=posted["ts"], text="x",
                                        blocks=[{"type": "call", "call_id": "R404"}]))
    assert edit.response["error"] == "invalid_blocks"
    emu.state.add_team("T2", "Other", domain="other")
    emu.state.add_token("xoxb-other", team_id="T2")
    foreign = await error_of(client(emu, "xoxb-other").calls_info(id=call_id))
    assert foreign.response["error"] == "invalid_call_id", "another workspace's call is not found"
