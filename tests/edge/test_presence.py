"""`/meet presence` in-process: the real services (Bolt, jobs, core, store, the web routes) against the Slack and
Meet emulators and the private Redis.

"Sign in with Slack" keeps a person's own token only when Slack says it is theirs, once per link; while meetbot sees
an opted-in person in a followed call their status says so, and afterwards they get back what they had, unless they
changed it during the call; opting out, disconnecting and Slack revoking them give the status back where possible
and forget the token; with a bot token the app stays single-workspace although the OAuth client is configured."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.domain import Actor
from bot.slack.front_door import Admitted, FrontDoor
from bot.slack.views.home import ACTION_MINE, ACTION_PRESENCE, PRESENCE_SWITCH
from bot.slack.views.presence import ACTION_SLACK_SIGN_IN
from bot.web import build_web_app
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.edge.test_calls_edge import ALICE, BOB, BOB_EMAIL, TENANT, Edge, open_edge
from tests.edge.test_mine_edge import home_click, published
from tests.support.flows import all_text
from tests.support.slack_requests import SIGNING_SECRET, event, interactive, sign, slash_command
from tests.support.waits import eventually_async

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")  # slack_sdk's own

CLIENT = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "emulator-client-secret"}
LINK = re.compile(r"http://127\.0\.0\.1:9(/slack/user-install\?ticket=[A-Za-z0-9_-]+)")


class Presence:
    """The edge, plus the bot's web routes served on the test's loop and a browser (with its cookie jar) per
    person."""

    def __init__(self, edge: Edge, web: TestServer) -> None:
        self.edge, self.web = edge, web
        self.browsers: dict[str, TestClient[Any, Any]] = {}

    async def browser(self, user: str) -> TestClient[Any, Any]:
        if user not in self.browsers:
            self.browsers[user] = TestClient(self.web)
            await self.browsers[user].start_server()
        return self.browsers[user]

    async def link(self, user: str) -> str:
        """`/meet presence on` before signing in: the path of the "Sign in with Slack" button."""
        reply = await self.edge.run("presence on", user)
        found = LINK.search(reply)
        assert found, reply
        return found.group(1)

    async def open_link(self, path: str, browser_of: str, consenter: str) -> aiohttp.ClientResponse:
        """The link opened in `browser_of`'s browser, Slack's consent given by `consenter`, back to the bot."""
        browser = await self.browser(browser_of)
        to_slack = await browser.get(path, allow_redirects=False)
        assert to_slack.status == 302, await to_slack.text()
        async with aiohttp.ClientSession() as http, http.get(
                to_slack.headers["Location"] + f"&user_id={consenter}", allow_redirects=False) as consent:
            back = urlsplit(consent.headers["Location"])
        assert back.path == "/slack/user-oauth-redirect"
        return await browser.get(f"{back.path}?{back.query}")

    async def sign_in(self, user: str) -> None:
        page = await self.open_link(await self.link(user), user, user)
        assert page.status == 200 and "Signed in with Slack" in await page.text()

    def status(self, user: str) -> tuple[str, str]:
        now = self.edge.slack.state.profiles.status(user, self.edge.slack.state.now())
        return now.text, now.emoji

    def by_hand(self, user: str, text: str, emoji: str) -> None:
        from emulators.slack_profile import Status
        self.edge.slack.state.profiles.set_status(user, Status(text, emoji), self.edge.slack.state.now(), by="hand")

    def sets(self, user: str) -> int:
        return len([h for h in self.edge.slack.state.profiles.history if h["user"] == user and h["by"] == "api"])

    def revokes(self) -> int:
        return len([c for c in self.edge.slack.state.calls_to("auth.revoke") if c["ok"]])

    async def token_kept(self, user: str) -> bool:
        return await self.edge.services.presence.presence.sign_in.token(TENANT, user) is not None  # type: ignore[union-attr]


async def ack_of(edge: Edge, text: str, user: str = ALICE) -> dict[str, Any]:
    return dict(json.loads((await edge.bolt.async_dispatch(_admitted(slash_command(text, user_id=user)))).body))


@contextlib.asynccontextmanager
async def open_presence(env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
                        monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Presence]:
    for name, value in CLIENT.items():  # as an operator's environment would hold them, where Bolt reads them too
        monkeypatch.setenv(name, value)
    async with open_edge({**env, **CLIENT}, slack_emulator, meet_emulator) as edge:
        web = TestServer(build_web_app(edge.services, edge.bolt), host="127.0.0.1")
        await web.start_server()
        presence = Presence(edge, web)
        try:
            yield presence
        finally:
            for browser in presence.browsers.values():
                await browser.close()
            await web.close()


@pytest.fixture
async def p(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
            monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Presence]:
    async with open_presence(bot_env, slack_emulator, meet_emulator, monkeypatch) as presence:
        yield presence


async def test_with_a_bot_token_the_app_stays_single_workspace_though_the_oauth_client_is_set(p: Presence) -> None:
    assert p.edge.bolt.oauth_flow is None, "Bolt did not switch to its install mode"
    browser = await p.browser(ALICE)
    assert (await browser.get("/slack/install", allow_redirects=False)).status == 404
    assert "Presence" in await p.edge.run("presence off"), "commands are authorised with the bot token"
    assert os.environ["SLACK_CLIENT_ID"] == CLIENT["SLACK_CLIENT_ID"], "the environment is left as it was"


async def test_sign_in_keeps_the_persons_own_token_encrypted_and_turns_presence_on(p: Presence) -> None:
    await p.sign_in(BOB)
    posts = [c["body"] for c in p.edge.slack.state.response_posts() if c.get("body")]
    assert "Presence is on" in all_text(posts[-1])
    assert "also turn on `/meet mine`" in all_text(posts[-1]), "without mine: only meetings with a card, it says"
    grant = await p.edge.services.presence.presence.sign_in.token(TENANT, BOB)  # type: ignore[union-attr]
    assert grant is not None and grant.token.startswith("xoxp-") and grant.user_id == BOB
    raw = await p.edge.services.redis.get(p.edge.services.keys.slack_user_token(TENANT, BOB))
    assert raw is not None and b"xoxp-" not in raw, "encrypted at rest"
    assert await p.edge.services.redis.ttl(p.edge.services.keys.slack_user_token(TENANT, BOB)) == -1, "no TTL"
    assert "Presence is on" in await p.edge.run("presence on", BOB), "signed in: on without another sign-in"


async def test_a_forwarded_link_finished_by_someone_else_keeps_nothing(p: Presence) -> None:
    path = await p.link(ALICE)
    page = await p.open_link(path, BOB, BOB)  # Alice forwarded it; Bob opened it and consented as himself
    assert page.status == 403 and "someone else" in await page.text()
    assert not await p.token_kept(ALICE) and not await p.token_kept(BOB)
    assert p.revokes() == 1, "the token Slack gave for Bob is given back at once"
    assert not await p.edge.services.presence.presence.is_on(TENANT, ALICE)  # type: ignore[union-attr]


async def test_the_link_and_its_state_work_once_and_only_in_the_browser_that_opened_it(p: Presence) -> None:
    path = await p.link(BOB)
    browser = await p.browser(BOB)
    assert (await browser.get(path, allow_redirects=False)).status == 302
    again = await browser.get(path, allow_redirects=False)
    assert again.status == 400 and "already used" in await again.text(), "the ticket is single-use"

    path = await p.link(BOB)
    to_slack = await (await p.browser(BOB)).get(path, allow_redirects=False)
    async with aiohttp.ClientSession() as http, http.get(
            to_slack.headers["Location"] + f"&user_id={BOB}", allow_redirects=False) as consent:
        back = urlsplit(consent.headers["Location"])
    stranger = await p.browser(ALICE)  # the redirect URL replayed in another browser: no cookie, refused
    assert (await stranger.get(f"{back.path}?{back.query}")).status == 400
    assert not await p.token_kept(BOB)
    assert (await browser.get(f"{back.path}?{back.query}")).status == 200
    assert (await browser.get(f"{back.path}?{back.query}")).status == 400, "the state is single-use"
    assert await p.token_kept(BOB)


async def test_status_is_set_on_join_once_and_restored_on_leave(p: Presence) -> None:
    await p.sign_in(BOB)
    p.by_hand(BOB, "Working from home", ":house:")
    space, _ = await p.edge.new_card()
    p.edge.meet.state.join(space, user=BOB_EMAIL)
    await p.edge.read(space)
    assert p.status(BOB) == ("In a meeting", ":calendar:")
    expiry = p.edge.slack.state.profiles.status(BOB, p.edge.slack.state.now()).expiration
    assert expiry > p.edge.slack.state.now(), "an expiration as a safety net"
    await p.edge.read(space)
    await p.edge.services.presence.presence.observe(  # type: ignore[union-attr]
        TENANT, (await p.edge.services.following.shown_state(TENANT, space)))  # type: ignore[arg-type]
    assert p.sets(BOB) == 1, "one set per join, however often the call is read"
    p.edge.meet.state.leave(space, user=BOB_EMAIL)
    await p.edge.read(space)
    assert p.status(BOB) == ("Working from home", ":house:")
    assert p.sets(BOB) == 2 and not await p.edge.services.redis.hexists(
        p.edge.services.keys.presence(TENANT, BOB), "hold")


async def test_a_status_changed_during_the_call_is_left_alone(p: Presence) -> None:
    await p.sign_in(BOB)
    space, _ = await p.edge.new_card()
    p.edge.meet.state.join(space, user=BOB_EMAIL)
    await p.edge.read(space)
    assert p.status(BOB) == ("In a meeting", ":calendar:")
    p.by_hand(BOB, "Presenting", ":tv:")
    p.edge.meet.state.end_conference(space)
    await p.edge.read(space)
    assert p.status(BOB) == ("Presenting", ":tv:") and p.sets(BOB) == 1


async def test_opting_out_gives_the_status_back_revokes_and_forgets_but_keeps_the_google_link(p: Presence) -> None:
    await p.sign_in(BOB)
    space, _ = await p.edge.new_card()
    p.edge.meet.state.join(space, user=BOB_EMAIL)
    await p.edge.read(space)
    assert "gave back your status" in await p.edge.run("presence off", BOB)
    assert p.status(BOB) == ("", "") and p.revokes() == 1 and not await p.token_kept(BOB)
    assert not await p.edge.services.presence.presence.is_on(TENANT, BOB)  # type: ignore[union-attr]
    # Slack tells the app of meetbot's own revocation too: that echo forgets nothing else.
    await p.edge.send(event({"type": "tokens_revoked", "tokens": {"oauth": [BOB], "bot": []}}))

    async def echo_handled() -> bool:  # the marker of meetbot's own revocation is taken by the event's job
        return not await p.edge.services.redis.exists(p.edge.services.keys.slack_signed_out(TENANT, BOB))

    await eventually_async(echo_handled, "the tokens_revoked job")  # a durable job, on this loop
    assert await p.edge.services.linking.describe(TENANT, BOB) is not None, "the Google link stays"
    p.edge.meet.state.leave(space, user=BOB_EMAIL)
    p.edge.meet.state.join(space, user=BOB_EMAIL)
    await p.edge.read(space)
    assert p.status(BOB) == ("", ""), "off: the status no longer follows calls"


async def test_disconnect_gives_the_status_back_and_revokes_the_slack_token(p: Presence) -> None:
    await p.sign_in(BOB)
    p.by_hand(BOB, "Lunch", ":taco:")
    space, _ = await p.edge.new_card()
    p.edge.meet.state.join(space, user=BOB_EMAIL)
    await p.edge.read(space)
    await p.edge.run("disconnect", BOB)
    assert p.status(BOB) == ("Lunch", ":taco:") and p.revokes() == 1 and not await p.token_kept(BOB)


async def test_slack_revoking_the_person_forgets_their_token_and_choice(p: Presence) -> None:
    await p.sign_in(BOB)
    async with aiohttp.ClientSession() as http, http.post(p.edge.slack.url + "/_emulator/sign_out",
                                                          json={"user": BOB}) as resp:
        revoked = (await resp.json())["event"]
    await p.edge.send(event(revoked))

    async def forgotten() -> bool:
        return not await p.token_kept(BOB)

    await eventually_async(forgotten, "the token forgotten")  # a durable job, on this loop
    assert not await p.edge.services.presence.presence.is_on(TENANT, BOB)  # type: ignore[union-attr]
    assert p.revokes() == 0, "nothing to revoke: Slack already did"


async def test_without_the_oauth_client_presence_says_why(bot_env: dict[str, str], slack_emulator: SlackEmulator,
                                                          meet_emulator: MeetEmulator) -> None:
    async with open_edge(bot_env, slack_emulator, meet_emulator) as edge:
        reply = await ack_of(edge, "presence on")
    assert "Sign in with Slack" in all_text(reply) and "SLACK_CLIENT_ID" in all_text(reply)


def home_elements(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b["accessory"] for b in view["blocks"] if b.get("accessory")]


async def test_the_home_tab_offers_the_sign_in_then_a_switch_beside_mine(p: Presence) -> None:
    actor = Actor(TENANT, BOB)
    home = await published(p.edge, actor)
    (button,) = [e for e in home_elements(home) if e.get("action_id") == ACTION_SLACK_SIGN_IN]
    assert PRESENCE_SWITCH in all_text(home) and ACTION_PRESENCE not in str(home), "no token: no switch yet"
    assert ACTION_MINE in str(home), "beside the /meet mine switch"
    click = {"type": "block_actions", "user": {"id": BOB, "team_id": TENANT.team_id}, "team": {"id": TENANT.team_id},
             "api_app_id": "A0MEETBOT", "trigger_id": "0.0.x", "container": {"type": "view", "view_id": "V0HOME"},
             "actions": [{"action_id": ACTION_SLACK_SIGN_IN, "block_id": "x", "type": "button",
                          "action_ts": "1.0"}]}
    assert (await p.edge.bolt.async_dispatch(_admitted(interactive(click)))).status == 200, "the URL button is acked"

    found = LINK.search(button["url"])
    assert found, button["url"]
    page = await p.open_link(found.group(1), BOB, BOB)
    assert page.status == 200 and await p.edge.services.presence.presence.is_on(TENANT, BOB)  # type: ignore[union-attr]
    home = await published(p.edge, actor)
    (switch,) = [e for e in home_elements(home) if e.get("action_id") == ACTION_PRESENCE]
    assert switch.get("initial_options"), "signed in and on: ticked"
    assert ACTION_SLACK_SIGN_IN not in str(home)

    await p.edge.send(home_click(BOB, ticked=False, action_id=ACTION_PRESENCE, label=PRESENCE_SWITCH))

    async def signed_out() -> bool:
        return not await p.token_kept(BOB)

    await eventually_async(signed_out, "unticked: presence off, signed out")  # a durable job, on this loop
    assert p.revokes() == 1
    assert ACTION_SLACK_SIGN_IN in str(await published(p.edge, actor)), "the sign-in button again"


def _admitted(request: tuple[str, str]) -> Any:
    body, content_type = request
    admitted = FrontDoor(SIGNING_SECRET).admit(body.encode(), {"Content-Type": content_type, **sign(body)})
    assert isinstance(admitted, Admitted)
    return admitted.request
