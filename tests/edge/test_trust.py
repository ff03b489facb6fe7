"""Trust, end to end: the front door refuses before it parses, a signed request is accepted once, a Connect link
links only its owner, the channel sees only what Google shows everyone, and no text can ping a channel."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import redis.asyncio as aioredis

from tests.support.bot_process import BotProcess
from tests.support.flows import all_text
from tests.support.jobs import settled
from tests.support.slack_requests import SIGNING_SECRET, interactive, slash_command
from tests.support.waits import eventually_async
from tests.support.world import ALICE, CHANNEL, World, space_of

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]


def signed_headers(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


async def post_raw(bot: BotProcess, body: bytes, headers: dict[str, Any],
                   content_type: str = "application/x-www-form-urlencoded") -> httpx.Response:
    async with httpx.AsyncClient(base_url=bot.url, timeout=5) as client:
        return await client.post("/slack/events", content=body, headers={"Content-Type": content_type, **headers})


def command_fields(**overrides: str) -> dict[str, str]:
    body, _ = slash_command("status abc-mnop-xyz")
    fields = dict(pair.split("=", 1) for pair in body.split("&"))
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v != "<drop>"}


MALFORMED_SIGNED = {
    "payload is not JSON": (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    "body is not UTF-8": (b"payload=\xff\xfe\xfa", "application/x-www-form-urlencoded"),
    "payload is a JSON list": (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
    "user is a string": (urlencode({"payload": json.dumps({"type": "block_actions", "user": "U1", "team": "T"})})
                         .encode(), "application/x-www-form-urlencoded"),
    "actions is an object": (urlencode({"payload": json.dumps({
        "type": "block_actions", "user": {"id": "U0ALICE", "team_id": "T0001"}, "trigger_id": "1.2",
        "actions": {"action_id": "meet_end"}})}).encode(), "application/x-www-form-urlencoded"),
    "event is a string": (json.dumps({"type": "event_callback", "team_id": "T0001", "event_id": "Ev1",
                                      "event": "link_shared"}).encode(), "application/json"),
    "JSON body is nested garbage": (b'{"type": {"nested": [1, {"x": null}]}, "team": [1]}', "application/json"),
    "command without user_id": (urlencode(command_fields(user_id="<drop>")).encode(),
                                "application/x-www-form-urlencoded"),
    "command without team_id": (urlencode(command_fields(team_id="<drop>")).encode(),
                                "application/x-www-form-urlencoded"),
    "command without channel_id": (urlencode(command_fields(channel_id="<drop>")).encode(),
                                   "application/x-www-form-urlencoded"),
    "command without trigger_id": (urlencode(command_fields(trigger_id="<drop>")).encode(),
                                   "application/x-www-form-urlencoded"),
}


async def test_malformed_signed_requests_get_400_without_a_traceback(bot: BotProcess) -> None:
    for name, (body, content_type) in MALFORMED_SIGNED.items():
        response = await post_raw(bot, body, signed_headers(body), content_type)
        assert response.status_code == 400, (name, response.status_code, response.text)
    log = bot.log_text()
    assert "Traceback" not in log and " ERROR " not in log, log[-2000:]


async def test_unsigned_and_odd_headers_get_401_before_parsing(bot: BotProcess) -> None:
    body = b"payload=%7Bnot-json"
    cases: list[dict[str, Any]] = [
        {},  # no signature at all
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},  # non-numeric timestamp
        {"X-Slack-Request-Timestamp": "١٢٣٤٥".encode(), "X-Slack-Signature": "v0=00"},  # non-ASCII digits
        {**signed_headers(body), "X-Slack-Signature": "v0=" + "0" * 64},  # wrong signature
        signed_headers(body, str(int(time.time()) - 301)),  # stale
        signed_headers(body, str(int(time.time()) + 400)),  # from the future
    ]
    for headers in cases:
        response = await post_raw(bot, body, headers)
        assert response.status_code == 401, (headers, response.text)
    assert "Traceback" not in bot.log_text()


async def test_a_flood_of_unsigned_garbage_is_refused_and_barely_logged(bot: BotProcess) -> None:
    """Bounded: at most 3,000 requests or 3 seconds, whichever comes first, to this machine's loopback only."""
    before = len(bot.log_text().encode())
    statuses: dict[int, int] = {}
    deadline, sent = time.monotonic() + 3.0, 0
    garbage = [b"payload=%7B", b"\xff\xfe", b'{"type":"event_callback"}', b"command=%2Fmeet&text=help", b""]

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while sent < 3000 and time.monotonic() < deadline:
            body = garbage[sent % len(garbage)]
            sent += 1
            headers = {"X-Slack-Request-Timestamp": "x" if sent % 2 else str(int(time.time())),
                       "X-Slack-Signature": "v0=bad"}
            response = await client.post("/slack/events", content=body, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    async with httpx.AsyncClient(base_url=bot.url, timeout=5) as client:
        await asyncio.gather(*(worker(client) for _ in range(16)))
    grown = len(bot.log_text().encode()) - before
    assert set(statuses) == {401}, statuses
    assert sent >= 200, "the flood should have sent a few hundred requests at least"
    assert grown < sent, f"{grown} bytes of log for {sent} refused requests (budget: 1 KB per 1,000)"


async def test_a_replayed_end_does_not_end_the_next_call(world: World) -> None:
    """Finding 5: the same signed `/meet end` sent again inside Slack's window is dropped."""
    meet = world.meet
    await world.command("new", wait=False)
    space = space_of(world.card())
    code = meet.state.space(space)["meetingCode"]
    meet.state.join(space, user="bob@example.com")
    url = world.slack.response_url("end-once", channel=CHANNEL, user=ALICE[0])
    body, content_type = slash_command(f"end {code}", user_id=ALICE[0], response_url=url,
                                       trigger_id=world.slack.state.issue_trigger_id())
    headers = signed_headers(body.encode())
    assert (await post_raw(world.bot, body.encode(), headers, content_type)).status_code == 200
    world.slack.state.wait_for_response_posts_blocking("end-once", 1, timeout=10)
    assert len(meet.state.calls_to("spaces.endActiveConference")) == 1

    meet.state.join(space, user="bob@example.com")  # a new call starts in the same space
    replay = await post_raw(world.bot, body.encode(), headers, content_type)
    assert replay.status_code == 200 and not replay.content
    settled(world.bot)
    assert len(meet.state.calls_to("spaces.endActiveConference")) == 1
    assert meet.state.space(space).get("activeConference"), "the new call goes on"


async def test_a_replayed_click_is_dropped_but_a_fresh_one_works(world: World) -> None:
    await world.command("new", wait=False)
    card = world.card()
    space = space_of(card)
    world.meet.state.join(space, user="bob@example.com")
    payload = {
        "type": "block_actions", "user": {"id": ALICE[0], "team_id": "T0001"}, "team": {"id": "T0001"},
        "trigger_id": world.slack.state.issue_trigger_id(),
        "container": {"type": "message", "message_ts": card["response"]["ts"], "channel_id": CHANNEL},
        "channel": {"id": CHANNEL}, "response_url": world.slack.response_url("click", channel=CHANNEL),
        "actions": [{"action_id": "meet_end", "block_id": "meeting", "value": space, "action_ts": "1.000001"}],
    }
    body, content_type = interactive(payload)
    headers = signed_headers(body.encode())
    for _ in range(3):
        assert (await post_raw(world.bot, body.encode(), headers, content_type)).status_code == 200
    world.slack.state.wait_for_calls_blocking("chat.update", 1, timeout=10)
    settled(world.bot)
    assert len(world.meet.state.calls_to("spaces.endActiveConference")) == 1
    assert "dropped" in world.bot.log_text()
    assert all_text(world.slack.state.calls_to("chat.update")[0]["args"])


async def test_a_title_typed_with_channel_mentions_pings_nobody(world: World) -> None:
    """Finding 4: Slack sends `@channel` as `<!channel>`; the card's notification text must not carry it."""
    await world.command("new <!channel> Q&amp;A with R&amp;D &lt;2025&gt; <!here>", wait=False)
    card = world.card()["args"]
    everything = json.dumps(card, ensure_ascii=False)
    assert "<!channel>" not in everything and "<!here>" not in everything
    assert card["text"].startswith("@channel Q&amp;A with R&amp;D &lt;2025&gt; @here"), card["text"]
    assert "&amp;amp;" not in everything, "escaped exactly once"


async def test_settings_typed_with_mentions_and_backticks_ping_nobody(world: World) -> None:
    await world.command("new", wait=False)
    code = world.meet.state.space(space_of(world.card()))["meetingCode"]
    reply = await world.command(f"set {code} x`<!here>`=1")
    assert "<!here>" not in json.dumps(reply) and "is not a setting" in all_text(reply)


async def send_event(bot: BotProcess, world: World, inner: dict[str, object]) -> None:
    envelope = world.slack.state.event_envelope(inner)
    assert (await bot.post((json.dumps(envelope), "application/json"))).status_code == 200


async def no_links(world: World) -> bool:
    return await google_links(world) == []


async def links_left(world: World, n: int) -> bool:
    return len(await google_links(world)) == n


def live_refresh_tokens(world: World) -> list[str]:
    return [r.value for r in world.meet.state._refresh.values() if not r.revoked]  # emulator bookkeeping


async def google_links(world: World) -> list[bytes]:
    client = aioredis.Redis.from_url(world.bot.env["REDIS_URL"])
    try:
        return [k async for k in client.scan_iter("meetbot:*:google")]
    finally:
        await client.aclose()


async def test_uninstalling_revokes_and_forgets_every_google_link(world: World) -> None:
    """Finding 6: app_uninstalled revokes every grant given in the workspace and deletes the links."""
    assert len(await google_links(world)) == 3 and len(live_refresh_tokens(world)) == 3
    await send_event(world.bot, world, {"type": "app_uninstalled"})
    await eventually_async(lambda: live_refresh_tokens(world) == [], "every Google grant revoked", 10)
    await eventually_async(lambda: no_links(world), "every Google link forgotten", 10)


async def test_revoked_user_tokens_forget_only_those_users(world: World) -> None:
    await send_event(world.bot, world, {"type": "tokens_revoked", "tokens": {"oauth": [ALICE[0]], "bot": []}})
    await eventually_async(lambda: links_left(world, 2), "Alice's Google link forgotten", 10)
    links = await google_links(world)
    assert len(links) == 2 and not any(ALICE[0].encode() in k for k in links)
    assert len(live_refresh_tokens(world)) == 2


async def test_debug_logs_never_show_a_response_url(
    start_bot: Any, slack_emulator: Any, meet_emulator: Any
) -> None:
    """Finding 7: a response_url is a capability to post into a channel; DEBUG logs must not print it."""
    bot = start_bot(LOG_LEVEL="DEBUG")
    url = slack_emulator.response_url("secret-hook-name")
    await bot.post(slash_command("status abc-mnop-xyz", response_url=url))
    slack_emulator.state.wait_for_response_posts_blocking("secret-hook-name", 1, timeout=10)
    settled(bot)
    log = bot.log_text()
    assert "DEBUG" in log, "the bot logged at DEBUG"
    assert "secret-hook-name" not in log and "[redacted response_url]" in log
