"""Slack calls in-process: the real services (Bolt, jobs, core, store) against the emulators and the private Redis,
with each read of a followed meeting run by hand (`live_cards.refresh`) instead of the follow loop's schedule.

Calls are an extra: without the scope, with Calls turned off or on any Calls error the card works as before, the
reason is logged once per workspace, and `python -m bot check` names a missing scope."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from slack_bolt.async_app import AsyncApp

from bot.app import Services, build_bolt_app
from bot.check import run_checks
from bot.config import load_settings
from bot.domain import Tenant, space_id_of
from bot.googleapi.tls import shared_tls
from bot.slack.front_door import Admitted, FrontDoor
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.conftest import manifest_bot_scopes
from tests.support.edge import services_in_loop
from tests.support.flows import all_text, view_submission
from tests.support.slack_requests import SIGNING_SECRET, sign, slash_command
from tests.support.waits import eventually_async
from tests.support.world import space_of

TENANT = Tenant("T0001")
CHANNEL = "C0GENERAL"
ALICE, ALICE_EMAIL = "U0ALICE", "alice@example.com"
BOB, BOB_EMAIL = "U0BOB", "bob@example.com"
NO_CALLS = "xoxb-predates-calls"


@dataclass
class Edge:
    services: Services
    bolt: AsyncApp
    slack: SlackEmulator
    meet: MeetEmulator
    replies: int = 0

    async def send(self, request: tuple[str, str]) -> None:
        body, content_type = request
        admitted = FrontDoor(SIGNING_SECRET).admit(body.encode(), {"Content-Type": content_type, **sign(body)})
        assert isinstance(admitted, Admitted), admitted
        assert (await self.bolt.async_dispatch(admitted.request)).status == 200

    async def link(self, user: str, email: str) -> None:
        self.slack.state.add_user(user, user.lower(), email=email)
        self.meet.state.set_consent(email)
        body, content_type = slash_command("connect", user_id=user)
        admitted = FrontDoor(SIGNING_SECRET).admit(body.encode(), {"Content-Type": content_type, **sign(body)})
        assert isinstance(admitted, Admitted)
        reply = json.loads((await self.bolt.async_dispatch(admitted.request)).body)
        url = next(e["url"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"])
        async with httpx.AsyncClient(verify=shared_tls()) as client:
            location = (await client.get(url, follow_redirects=False)).headers["location"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert (await self.services.linking.complete_link(query["state"], query.get("code"), None)).ok

    async def new_card(self, text: str = "new Planning", user: str = ALICE) -> tuple[str, str]:
        """`/meet new` as `user`: the card's (space name, ts), once the job posted it."""
        def posts() -> list[dict[str, Any]]:
            return [c for c in self.slack.state.calls_to("chat.postMessage") if c["args"]["channel"] == CHANNEL]

        before = len(posts())
        await self.send(slash_command(text, user_id=user, trigger_id=self.slack.state.issue_trigger_id()))
        card = (await eventually_async(lambda: posts()[before:], f"the card of /meet {text}", 10))[0]
        space, ts = space_of(card), card["response"]["ts"]

        async def followed() -> bool:  # the job goes on to remember the card and follow its meeting
            cards = await self.services.meetings.cards(TENANT, space)
            shown = await self.services.following.shown_state(TENANT, space)
            return any(c.ts == ts for c in cards) and shown is not None

        await eventually_async(followed, f"the card of /meet {text} to be remembered and followed", 10)
        return space, ts

    async def run(self, text: str, user: str = ALICE) -> str:
        """`/meet text` as `user`, to the reply it posts to its response_url (the work runs after the ack)."""
        self.replies += 1
        name = f"reply-{self.replies}"
        url = self.slack.response_url(name, channel=CHANNEL, user=user)
        await self.send(slash_command(text, user_id=user, response_url=url,
                                      trigger_id=self.slack.state.issue_trigger_id()))
        (post,) = await self.slack.state.wait_for_response_posts(name, 1, timeout=10)
        return all_text(post["body"])

    async def read(self, space: str) -> None:
        await self.services.live_cards.refresh(TENANT, space_id_of(space))

    def card(self, ts: str) -> dict[str, Any]:
        return self.slack.state.message(CHANNEL, ts) or {}


def call_ids(message: dict[str, Any]) -> list[str]:
    return [b["call_id"] for b in message.get("blocks") or [] if b.get("type") == "call"]


def calls_requests(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [c for c in slack.state.calls if c["method"].startswith("calls.")]


@asynccontextmanager
async def open_edge(env: dict[str, str], slack: SlackEmulator, meet: MeetEmulator) -> AsyncIterator[Edge]:
    async with services_in_loop({**env, "MEET_POLL_SECONDS": "30"}) as services:
        edge = Edge(services, build_bolt_app(services), slack, meet)
        await edge.link(ALICE, ALICE_EMAIL)
        await edge.link(BOB, BOB_EMAIL)
        yield edge


@pytest.fixture
async def edge(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
               ) -> AsyncIterator[Edge]:
    async with open_edge(bot_env, slack_emulator, meet_emulator) as edge:
        yield edge


@pytest.fixture
async def edge_without_scope(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
                             ) -> AsyncIterator[Edge]:
    scopes = [s for s in manifest_bot_scopes() if not s.startswith("calls:")]
    slack_emulator.state.add_token(NO_CALLS, scopes=scopes)
    async with open_edge({**bot_env, "SLACK_BOT_TOKEN": NO_CALLS}, slack_emulator, meet_emulator) as edge:
        yield edge


def calls_log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Slack calls for workspace")]


async def test_a_live_card_carries_its_call_and_a_read_changes_only_what_changed(edge: Edge) -> None:
    space, ts = await edge.new_card()
    await edge.read(space)
    assert not calls_requests(edge.slack), "waiting: no call yet"
    edge.meet.state.join(space, user=BOB_EMAIL)
    await edge.read(space)
    (call_id,) = call_ids(edge.card(ts))
    assert "Live* · 1 in the call" in all_text(edge.card(ts))
    updates = len(edge.slack.state.calls_to("chat.update"))
    await edge.read(space)
    await edge.read(space)
    assert [c["method"] for c in calls_requests(edge.slack)] == ["calls.add"], "unchanged: nothing sent to Slack"
    assert len(edge.slack.state.calls_to("chat.update")) == updates
    assert edge.slack.state.call_objects.get(call_id)["users"] == [{"slack_id": BOB}]  # type: ignore[index]


async def test_with_calls_turned_off_the_card_works_as_before_and_the_reason_is_logged_once(
        edge: Edge, caplog: pytest.LogCaptureFixture) -> None:
    edge.slack.state.call_objects.enabled = False
    space, ts = await edge.new_card()
    edge.meet.state.join(space, user=BOB_EMAIL)
    await edge.read(space)
    assert "Live* · 1 in the call" in all_text(edge.card(ts)) and call_ids(edge.card(ts)) == []
    edge.meet.state.join(space, anonymous="Visitor")
    await edge.read(space)
    assert "Live* · 2 in the call" in all_text(edge.card(ts))
    assert [c["error"] for c in calls_requests(edge.slack)] == ["not_implemented"], "not asked again for a while"
    assert calls_log_lines(caplog) == ["Slack calls for workspace T0001: not_implemented; meeting cards work "
                                       "without them"]


async def test_an_install_without_the_calls_scope_keeps_its_cards_and_check_names_the_scope(
        edge_without_scope: Edge, bot_env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    edge = edge_without_scope
    space, ts = await edge.new_card()
    edge.meet.state.join(space, user=BOB_EMAIL)
    await edge.read(space)
    await edge.read(space)
    assert "Live* · 1 in the call" in all_text(edge.card(ts)) and call_ids(edge.card(ts)) == []
    assert len(calls_log_lines(caplog)) == 1 and "missing scope calls:write" in calls_log_lines(caplog)[0]

    settings = load_settings({**bot_env, "SLACK_BOT_TOKEN": NO_CALLS}, env_file=None)
    slack_line = next(r for r in await run_checks(settings) if r.name == "slack")
    assert not slack_line.ok and "calls:read, calls:write" in slack_line.detail
    assert "reinstall" in slack_line.detail


async def test_a_failed_calls_request_leaves_the_card_working_and_the_next_read_reconciles(edge: Edge) -> None:
    space, ts = await edge.new_card()
    edge.meet.state.join(space, user=BOB_EMAIL)
    await edge.read(space)
    (call_id,) = call_ids(edge.card(ts))
    edge.slack.state.inject_fault("calls.participants.add", status=500, count=3)  # more than the client retries
    edge.meet.state.join(space, anonymous="Visitor")
    await edge.read(space)
    assert "Live* · 2 in the call" in all_text(edge.card(ts)) and call_ids(edge.card(ts)) == [call_id]
    await edge.read(space)
    users = edge.slack.state.call_objects.get(call_id)["users"]  # type: ignore[index]
    assert [u.get("slack_id") or u["display_name"] for u in users] == [BOB, "Guest"]


def users_of(edge: Edge, ts: str) -> list[dict[str, str]]:
    (call_id,) = call_ids(edge.card(ts))
    return list((edge.slack.state.call_objects.get(call_id) or {}).get("users") or [])


async def test_the_owner_turns_people_off_for_a_meeting_and_the_call_shows_nobody(edge: Edge) -> None:
    space, ts = await edge.new_card()
    refusal = await edge.run(f"set {space} people=off", user=BOB)
    assert "own" in refusal.lower(), refusal
    edge.meet.state.join(space, user=BOB_EMAIL)
    await edge.read(space)
    assert users_of(edge, ts) == [{"slack_id": BOB}], "on by default for a card its owner posted"

    answer = await edge.run(f"set {space} people=off")
    assert "no longer shows who is in the call" in answer
    edge.meet.state.join(space, anonymous="Visitor")
    await edge.read(space)
    assert users_of(edge, ts) == [], "off: the call shows nobody"
    assert "Live* · 2 in the call" in all_text(edge.card(ts)), "the card's status line still counts them"
    await edge.run(f"set {space} people=on")
    await edge.read(space)
    assert [u.get("slack_id") or u["display_name"] for u in users_of(edge, ts)] == [BOB, "Guest"]


async def test_a_rooms_creator_turns_its_people_off_and_an_admin_sets_the_default(edge: Edge) -> None:
    space, ts = await edge.new_card("room new")
    refused = await edge.run("room people off", user=BOB)
    assert "no longer shows" not in refused, refused
    assert "no longer shows" in await edge.run("room people off")
    edge.meet.state.join(space, user=BOB_EMAIL)
    await edge.read(space)
    assert users_of(edge, ts) == []

    await edge.run("room people on")
    edge.slack.state.add_user("U0ADMIN", "admin", email="admin@example.com", is_admin=True)
    assert "only a workspace admin" in (await edge.run("room people default off", user=BOB)).lower()
    assert "off by default" in await edge.run("room people default off", user="U0ADMIN")
    await edge.read(space)
    assert users_of(edge, ts) == [{"slack_id": BOB}], "the room's own choice wins over the default"
    meeting, card_ts = await edge.new_card("new Later")
    edge.meet.state.join(meeting, user=BOB_EMAIL)
    await edge.read(meeting)
    assert users_of(edge, card_ts) == [], "a meeting without its own choice follows the admin's default"


async def test_the_settings_modal_offers_the_people_switch_and_saves_it(edge: Edge) -> None:
    space, ts = await edge.new_card()
    await edge.send(slash_command(f"settings {space}", user_id=ALICE, trigger_id=edge.slack.state.issue_trigger_id()))
    (filled,) = await edge.slack.state.wait_for_calls("views.update", 1, timeout=10)
    view = filled["args"]["view"]
    view = json.loads(view) if isinstance(view, str) else view
    people = next(b for b in view["blocks"] if b.get("block_id") == "people")
    assert people["element"]["initial_option"]["value"] == "on", "on by default"
    view["id"] = filled["args"]["view_id"]
    await edge.send(view_submission(view, {"people": "off"}, user_id=ALICE))
    (saved,) = (await edge.slack.state.wait_for_calls("views.update", 2, timeout=10))[1:]
    assert "no longer shows who is in the call" in json.dumps(saved["args"]["view"])
    edge.meet.state.join(space, user=BOB_EMAIL)
    await edge.read(space)
    assert users_of(edge, ts) == [] and "Live* · 1 in the call" in all_text(edge.card(ts))
