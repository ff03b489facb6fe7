"""Multi-step user journeys through the real routes, shared by the end-to-end tests."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.googleapi.tls import shared_tls
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.slack_requests import interactive, slash_command
from tests.support.waits import eventually

TEAM_ID = "T0001"


def button_urls(reply: dict[str, Any]) -> list[str]:
    return [el["url"] for block in reply.get("blocks", []) if block.get("type") == "actions"
            for el in block["elements"] if "url" in el]


def block_texts(message: dict[str, Any], kinds: tuple[str, ...] = ("mrkdwn", "plain_text")) -> list[str]:
    """Every text object of these kinds anywhere in a message's blocks."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in kinds and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks", []))
    return found


def all_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + str(message.get("text", ""))


async def link_google(bot: BotProcess, slack: SlackEmulator, meet: MeetEmulator, user_id: str, email: str,
                      scopes: list[str] | None = None) -> httpx.Response:
    """The whole connect journey: signed `/meet connect`, Google's consent redirect, the bot's callback."""
    if user_id not in slack.state.users():
        slack.state.add_user(user_id, email.split("@")[0], email=email)
    meet.state.set_consent(email, scopes)
    name = f"connect-{user_id}-{time.monotonic_ns()}"
    ack = await bot.post(slash_command("connect", user_id=user_id, response_url=slack.response_url(name)))
    # An empty ack: the reply missed the ack's deadline (a loaded machine) and goes to the response_url instead.
    reply = ack.json() if ack.content else slack.state.wait_for_response_posts_blocking(name, 1, timeout=10)[0]["body"]
    urls = button_urls(reply)
    assert len(urls) == 1, f"no Connect button in the reply: {all_text(reply)}"
    consent_url = urls[0]
    async with httpx.AsyncClient(timeout=5, verify=shared_tls()) as client:
        redirect = await client.get(consent_url, follow_redirects=False)
        assert redirect.status_code == 302, redirect.text
        callback = await client.get(redirect.headers["location"], follow_redirects=False)
    return callback


async def link_in_process(services: Any, slack: SlackEmulator, meet: MeetEmulator, user_id: str, email: str,
                          connect: Callable[[], Awaitable[dict[str, Any]]]) -> None:
    """The connect journey for a bot running in the test's own process: `connect()` sends `/meet connect` as the
    user and returns the reply; Google's consent, then the callback's work done directly on `services`."""
    slack.state.add_user(user_id, user_id.lower(), email=email)
    meet.state.set_consent(email)
    (url,) = button_urls(await connect())
    async with httpx.AsyncClient(verify=shared_tls()) as client:
        location = (await client.get(url, follow_redirects=False)).headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    outcome = await services.linking.complete_link(query["state"], query.get("code"), None)
    assert outcome.ok, outcome


def channel_posts(slack: SlackEmulator, n: int = 0, timeout: float = 10.0) -> list[dict[str, Any]]:
    """chat.postMessage calls into channels, waiting for at least `n`; DMs to users (the link announcements
    every new Google link gets) are left out."""
    def posts() -> list[dict[str, Any]]:
        return [c for c in slack.state.calls_to("chat.postMessage")
                if not str(c["args"].get("channel", "")).startswith("U")]

    def enough() -> tuple[list[dict[str, Any]]] | None:
        seen = posts()
        return (seen,) if len(seen) >= n else None  # wrapped: no post at all is enough when n is 0

    (found,) = eventually(enough, lambda: f"{n} channel post(s), saw {len(posts())}", timeout, every=0.01)
    return found


def room_cards(slack: SlackEmulator) -> list[dict[str, Any]]:
    """The channel room cards posted so far."""
    return [c for c in channel_posts(slack) if "This channel's Meet room" in all_text(c["args"])]


def block_action(action_id: str, value: str, *, user_id: str, channel: str, message_ts: str | None,
                 response_url: str, trigger_id: str = "0.0.x") -> tuple[str, str]:
    """A click on a card button, as Slack sends it."""
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "team": {"id": TEAM_ID, "domain": "acme"},
        "api_app_id": "A0MEETBOT",
        "trigger_id": trigger_id,
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "general"},
        "message": {"ts": message_ts, "text": "card"} if message_ts else None,
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": "meeting", "type": "button", "value": value,
                     "action_ts": f"{time.time():.6f}"}],
    }
    return interactive(payload)


def view_submission(view: dict[str, Any], values: dict[str, str], *, user_id: str) -> tuple[str, str]:
    """Submitting a modal with the given select choices (block_id → option value)."""
    state = {"values": {block: {"value": {"type": "static_select",
                                          "selected_option": {"value": word, "text": {"type": "plain_text",
                                                                                      "text": word}}}}
                        for block, word in values.items()}}
    payload = {
        "type": "view_submission",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "team": {"id": TEAM_ID, "domain": "acme"},
        "api_app_id": "A0MEETBOT",
        "trigger_id": "0.0.y",
        "view": {**view, "state": state},
        "response_urls": [],
    }
    return interactive(payload)


def message_text(slack: SlackEmulator, channel: str, ts: str) -> str:
    """The text of a message as it is now (after every chat.update), or "" if there is none."""
    message = slack.state.message(channel, ts)
    return all_text(message) if message else ""
