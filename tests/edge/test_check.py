"""`python -m bot check` (issue 21): the bot token's granted scopes against manifest.yaml, PUBLIC_URL's scheme, and the
Google redirect URI to register. In-process against the Slack and Meet emulators and the private Redis."""

from __future__ import annotations

import pytest

from bot.check import public_url_check, run_checks
from bot.config import load_settings
from emulators.slack import SlackEmulator
from tests.conftest import manifest_bot_scopes


async def test_a_complete_set_up_passes_and_names_the_redirect_uri(bot_env: dict[str, str]) -> None:
    settings = load_settings({**bot_env, "PUBLIC_URL": "https://meetbot.example.com"}, None)
    results = {result.name: result for result in await run_checks(settings)}
    assert all(result.ok for result in results.values()), [r.line() for r in results.values()]
    assert "with every manifest.yaml bot scope" in results["slack"].detail
    assert "register https://meetbot.example.com/google/oauth/callback as an Authorized redirect URI" in (
        results["redirect"].detail)


async def test_a_token_missing_a_manifest_scope_fails_and_says_which(
    bot_env: dict[str, str], slack_emulator: SlackEmulator
) -> None:
    narrow = [scope for scope in manifest_bot_scopes() if scope not in ("users:read.email", "links:write")]
    slack_emulator.state.add_token("xoxb-narrow", kind="bot", scopes=narrow)
    settings = load_settings({**bot_env, "SLACK_BOT_TOKEN": "xoxb-narrow"}, None)
    slack = next(result for result in await run_checks(settings) if result.name == "slack")
    assert not slack.ok
    assert slack.detail.startswith("the bot token lacks scopes that manifest.yaml asks for: links:write, "
                                   "users:read.email; ")
    assert "xoxb-narrow" not in slack.line()


@pytest.mark.parametrize(("url", "ok"), [
    ("https://meetbot.example.com", True),
    ("http://localhost:3000", True),
    ("http://127.0.0.1:8080", True),
    ("http://meetbot.example.com", False),
    ("http://localhost.example.com", False),
])
def test_public_url_must_be_https_outside_this_machine(url: str, ok: bool) -> None:
    result = public_url_check(url)
    assert result.ok is ok
    assert ("must start with https://" in result.detail) is not ok
