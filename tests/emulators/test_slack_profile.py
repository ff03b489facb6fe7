"""The Slack emulator's "Sign in with Slack" flow and the user-token methods answer the real slack_sdk client the way
Slack documents them: a user-only grant gives an `xoxp-` token bound to its person with exactly the granted scopes,
`users.profile.*` reads and writes that person's status (and only theirs), `dnd.*` snoozes, `auth.revoke` ends the
token, and the control routes change a status by hand and sign a person out (`tokens_revoked`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from emulators.slack import SlackEmulator

REDIRECT = "http://127.0.0.1:9/slack/user-oauth-redirect"
PROFILE_SCOPES = "users.profile:read,users.profile:write"
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")  # slack_sdk's own


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.state.add_user("U1", "alice")
        emulator.state.add_user("U2", "bob")
        yield emulator


def client(emu: SlackEmulator, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=emu.api_url)


async def error_of(coro: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await coro
    return str(info.value.response["error"])


async def sign_in(emu: SlackEmulator, user: str, user_scope: str = PROFILE_SCOPES) -> dict[str, Any]:
    """The browser's trip: authorize (auto-consent as `user`) → redirect with code and state → oauth.v2.access."""
    query = {"client_id": "1111.2222", "user_scope": user_scope, "state": "st-1", "redirect_uri": REDIRECT,
             "user_id": user}
    async with (aiohttp.ClientSession() as http,
                http.get(emu.authorize_url, params=query, allow_redirects=False) as resp):
        assert resp.status == 302
        location = resp.headers["Location"]
    assert location.startswith(REDIRECT + "?code=") and location.endswith("&state=st-1")
    code = location.split("code=")[1].split("&")[0]
    answer = await client(emu).oauth_v2_access(client_id="1111.2222", client_secret="emulator-client-secret",
                                               code=code, redirect_uri=REDIRECT)
    return dict(answer.data)  # type: ignore[arg-type]


async def test_a_user_only_grant_gives_a_user_token_and_no_bot_token(emu: SlackEmulator) -> None:
    answer = await sign_in(emu, "U1")
    authed = answer["authed_user"]
    assert authed["id"] == "U1" and authed["token_type"] == "user" and authed["scope"] == PROFILE_SCOPES
    assert authed["access_token"].startswith("xoxp-")
    assert "access_token" not in answer and "bot_user_id" not in answer, "no bot scope asked: no bot token"
    assert answer["team"]["id"] == "T0001"
    who = await client(emu, authed["access_token"]).auth_test()
    assert who["user_id"] == "U1" and "bot_id" not in who
    assert who.headers["x-oauth-scopes"] == PROFILE_SCOPES, "exactly the granted scopes"


async def test_a_person_sets_reads_and_clears_their_own_status(emu: SlackEmulator) -> None:
    token = (await sign_in(emu, "U1"))["authed_user"]["access_token"]
    c = client(emu, token)
    assert (await c.users_profile_get())["profile"]["status_text"] == ""
    until = int(emu.state.now()) + 3600
    done = await c.users_profile_set(profile={"status_text": "In a meeting", "status_emoji": ":calendar:",
                                              "status_expiration": until})
    assert done["profile"]["status_emoji"] == ":calendar:"
    got = (await c.users_profile_get())["profile"]
    assert (got["status_text"], got["status_emoji"], got["status_expiration"]) == ("In a meeting", ":calendar:", until)
    emu.state.advance_time(3601)
    assert (await c.users_profile_get())["profile"]["status_text"] == "", "Slack clears an expired status"


async def test_profile_errors_are_slacks(emu: SlackEmulator) -> None:
    granted = await sign_in(emu, "U1", user_scope="users.profile:read")
    read_only = client(emu, granted["authed_user"]["access_token"])
    assert await error_of(read_only.users_profile_set(profile={"status_text": "x"})) == "missing_scope"
    assert await error_of(client(emu).users_profile_get()) == "not_authed"
    assert await error_of(client(emu, "xoxp-nope").users_profile_get()) == "invalid_auth"
    token = (await sign_in(emu, "U1"))["authed_user"]["access_token"]
    writer = client(emu, token)
    assert await error_of(writer.users_profile_set(user="U2", profile={"status_text": "x"})) == "not_admin", \
        "a user token sets only its own user's profile"
    assert await error_of(writer.users_profile_set(profile={"status_emoji": "calendar"})) == \
        "profile_status_set_failed_not_emoji_syntax"
    assert await error_of(writer.users_profile_set(profile={"status_text": "x" * 101})) == "invalid_profile"
    async with aiohttp.ClientSession() as http:
        await http.post(emu.url + "/_emulator/status", json={"too_long": "truncate"})
    await writer.users_profile_set(profile={"status_text": "x" * 101})
    assert len((await writer.users_profile_get())["profile"]["status_text"]) == 100


async def test_auth_revoke_ends_the_token(emu: SlackEmulator) -> None:
    token = (await sign_in(emu, "U1"))["authed_user"]["access_token"]
    c = client(emu, token)
    assert (await c.auth_revoke(test=True))["revoked"] is False
    assert (await c.auth_revoke())["revoked"] is True
    assert await error_of(c.users_profile_get()) == "token_revoked"


async def test_snooze_and_end_it(emu: SlackEmulator) -> None:
    token = (await sign_in(emu, "U1", user_scope=PROFILE_SCOPES + ",dnd:write"))["authed_user"]["access_token"]
    c = client(emu, token)
    snoozed = await c.dnd_setSnooze(num_minutes=30)
    assert snoozed["snooze_enabled"] is True and snoozed["snooze_remaining"] == 1800
    assert (await c.dnd_endSnooze())["snooze_enabled"] is False
    assert await error_of(c.dnd_endSnooze()) == "snooze_not_active"
    plain = client(emu, (await sign_in(emu, "U2"))["authed_user"]["access_token"])
    assert await error_of(plain.dnd_setSnooze(num_minutes=5)) == "missing_scope"


async def test_control_routes_change_a_status_by_hand_and_sign_a_person_out(emu: SlackEmulator) -> None:
    token = (await sign_in(emu, "U1"))["authed_user"]["access_token"]
    async with aiohttp.ClientSession() as http:
        async with http.post(emu.url + "/_emulator/status",
                             json={"user": "U1", "status_text": "Lunch", "status_emoji": ":taco:"}) as resp:
            assert (await resp.json())["status_text"] == "Lunch"
        assert (await client(emu, token).users_profile_get())["profile"]["status_emoji"] == ":taco:"
        async with http.get(emu.url + "/_emulator/status", params={"user": "U1"}) as resp:
            assert (await resp.json())["status_text"] == "Lunch"
        async with http.post(emu.url + "/_emulator/sign_out", json={"user": "U1"}) as resp:
            out = await resp.json()
    assert out["event"]["type"] == "tokens_revoked" and out["event"]["tokens"]["oauth"] == ["U1"]
    assert out["envelope"]["event"] == out["event"]
    assert await error_of(client(emu, token).users_profile_get()) == "token_revoked"
    assert [h["by"] for h in emu.state.profiles.history] == ["hand"]
