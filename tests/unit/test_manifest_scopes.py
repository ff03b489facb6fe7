"""The bot token in tests carries exactly the bot scopes of manifest.yaml, so a missing scope shows up in tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from emulators.slack import SlackEmulator

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yaml").read_text())
MANIFEST_BOT_SCOPES: list[str] = MANIFEST["oauth_config"]["scopes"]["bot"]


async def test_the_fixture_token_has_the_manifest_scopes(slack_emulator: SlackEmulator) -> None:
    client = AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)
    resp = await client.auth_test()
    assert resp.headers["x-oauth-scopes"].split(",") == MANIFEST_BOT_SCOPES


async def test_a_method_needing_a_scope_the_manifest_lacks_fails(slack_emulator: SlackEmulator) -> None:
    assert "channels:join" not in MANIFEST_BOT_SCOPES
    slack_emulator.state.add_channel("C0RANDOM", "random", is_member=False)
    client = AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)
    with pytest.raises(SlackApiError) as info:
        await client.conversations_join(channel="C0RANDOM")
    assert info.value.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "channels:join",
        "provided": ",".join(MANIFEST_BOT_SCOPES),
    }
    assert slack_emulator.state.channels()["C0RANDOM"]["is_member"] is False
