"""manifest.yaml must match what the code registers and asks for."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.app import BOT_SCOPES, SLACK_REDIRECT_PATH
from bot.config import DEFAULT_SLACK_USER_SCOPES
from bot.slack.listeners import START_SHORTCUT, STATUS_SHORTCUT
from bot.slack.presence_handlers import USER_REDIRECT_PATH
from bot.web import SLACK_EVENTS_PATH

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "manifest.yaml").read_text())


def test_scopes_match_the_install_request() -> None:
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert MANIFEST["oauth_config"]["redirect_urls"][0].endswith(SLACK_REDIRECT_PATH)


def test_user_scopes_and_redirect_match_sign_in_with_slack() -> None:
    assert sorted(MANIFEST["oauth_config"]["scopes"]["user"]) == sorted(DEFAULT_SLACK_USER_SCOPES)
    assert any(url.endswith(USER_REDIRECT_PATH) for url in MANIFEST["oauth_config"]["redirect_urls"])


def test_command_events_shortcuts_and_urls() -> None:
    features, settings = MANIFEST["features"], MANIFEST["settings"]
    (command,) = features["slash_commands"]
    assert command["command"] == "/meet" and command["should_escape"] is True and command["usage_hint"]
    assert {s["callback_id"]: s["type"] for s in features["shortcuts"]} == {
        START_SHORTCUT: "global", STATUS_SHORTCUT: "message"}
    assert features["unfurl_domains"] == ["meet.google.com"] and features["app_home"]["home_tab_enabled"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "link_shared", "app_home_opened", "app_uninstalled", "tokens_revoked",
        "member_joined_channel", "member_left_channel", "user_change"}  # channels:read, groups:read, users:read
    for url in (command["url"], settings["event_subscriptions"]["request_url"],
                settings["interactivity"]["request_url"]):
        assert url.endswith(SLACK_EVENTS_PATH)
    assert settings["interactivity"]["is_enabled"] is True


def test_the_description_promises_only_what_the_card_has() -> None:
    """The card has one Join button; End meeting and Settings live in the owner's menu (issue 23, finding 8)."""
    text = " ".join(MANIFEST["display_information"]["long_description"].split())
    assert "Join, End meeting and Settings buttons" not in text
    assert "Join button" in text and "menu" in text


# Read scopes with the Web API methods that would need them: one the bot never calls must not be asked for.
_READ_SCOPE_METHODS = {"bookmarks:read": ("bookmarks_list",)}


def test_no_read_scope_is_declared_for_a_method_the_bot_never_calls() -> None:
    source = "\n".join(p.read_text() for p in (Path(__file__).parents[2] / "bot").rglob("*.py"))
    declared = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    for scope, methods in _READ_SCOPE_METHODS.items():
        if scope in declared:
            assert any(f".{m}(" in source for m in methods), f"{scope} is declared but nothing uses it"
