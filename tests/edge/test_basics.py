"""The base every feature stands on, through the bot's HTTP edge in-process: signed requests, help, health,
readiness, event de-duplication and the many-workspace install. What needs `python -m bot` itself (signals,
start-up, several processes, Socket Mode's process) lives with the end-to-end tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
import redis.asyncio as aioredis

from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.jobs import settled
from tests.support.redis_server import RedisServer
from tests.support.slack_requests import event, slash_command
from tests.support.waits import eventually, eventually_async

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]


def block_text(reply: dict[str, object]) -> str:
    return json.dumps(reply.get("blocks", []))


async def test_help_is_an_ephemeral_block_kit_usage(bot: BotProcess) -> None:
    response = await bot.post(slash_command("help"))
    assert response.status_code == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    text = block_text(reply)
    for usage in ("/meet end &lt;meeting&gt;", "/meet room", "/meet history", "/meet connect", "/meet set"):
        assert usage in text


async def test_unknown_input_gets_help_with_the_closest_command(bot: BotProcess) -> None:
    reply = (await bot.post(slash_command("stauts abc-mnop-xyz"))).json()
    assert "`stauts` isn't a /meet command" in reply["text"]
    assert [b["text"]["text"] for b in reply["blocks"]] == [
        ":thinking_face: `stauts` isn't a /meet command. Try `/meet status abc-mnop-xyz`, or see `/meet help`."
    ], "one line, not the whole help"


async def test_help_answers_a_topic_and_hello_world_suggests_nothing(bot: BotProcess) -> None:
    topic = block_text((await bot.post(slash_command("help room"))).json())
    assert "makes an existing meeting the room" in topic and "*Start*" not in topic
    hello = (await bot.post(slash_command("hello world"))).json()
    assert [b["text"]["text"] for b in hello["blocks"]] == [
        ":thinking_face: `hello` isn't a /meet command. See `/meet help`."]


async def test_bad_signature_is_refused(bot: BotProcess) -> None:
    response = await bot.post(slash_command("help"), secret="not-the-signing-secret")
    assert response.status_code == 401


async def test_stale_timestamp_is_refused(bot: BotProcess) -> None:
    response = await bot.post(slash_command("help"), timestamp=int(time.time()) - 301)
    assert response.status_code == 401


async def test_unsigned_request_is_refused(bot: BotProcess) -> None:
    body, content_type = slash_command("help")
    async with httpx.AsyncClient() as client:
        response = await client.post(bot.url + "/slack/events", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 401


async def test_retried_event_is_handled_once(
    bot: BotProcess, slack_emulator: SlackEmulator, redis_client: aioredis.Redis
) -> None:
    request = event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home",
                     "event_ts": "1.1"}, event_id="EvRETRY1")
    assert (await bot.post(request)).status_code == 200
    retry = await bot.post(request, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    slack_emulator.state.wait_for_calls_blocking("views.publish", 1, timeout=10)
    settled(bot)
    assert len(slack_emulator.state.calls_to("views.publish")) == 1
    # Deduped by the event's own id: its durable job is recorded as done, for a day (a later retry does nothing).
    assert await redis_client.ttl("meetbot:{job:home-opened-EvRETRY1}:progress") > 0


def test_health_and_readiness(bot: BotProcess) -> None:
    assert httpx.get(bot.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(bot.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"redis": True, "config": True}


def test_readiness_follows_redis_down_and_back(start_bot: Callable[..., BotProcess]) -> None:
    own_redis = RedisServer().start()
    try:
        bot = start_bot(REDIS_URL=own_redis.url)
        assert httpx.get(bot.url + "/readyz").status_code == 200
        own_redis.stop()
        down = httpx.get(bot.url + "/readyz", timeout=5)
        assert down.status_code == 503 and down.json()["checks"]["redis"] is False
        assert httpx.get(bot.url + "/healthz").status_code == 200
        own_redis.start()
        eventually(lambda: httpx.get(bot.url + "/readyz", timeout=5).status_code == 200,
                   "the bot ready again after Redis came back", 10)
        assert bot.stop() == 0  # while its Redis is still there: this test is about readiness, not a shutdown
    finally:
        own_redis.stop()


async def test_many_workspace_install_round_trip(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, redis_client: aioredis.Redis
) -> None:
    state = slack_emulator.state
    bot = start_bot(SLACK_BOT_TOKEN="", SLACK_CLIENT_ID=state.client_id, SLACK_CLIENT_SECRET=state.client_secret)
    async with httpx.AsyncClient(timeout=5) as client:
        install = await client.get(bot.url + "/slack/install", follow_redirects=False)
        assert install.status_code == 302
        consent = install.headers["location"]
        assert consent.startswith(slack_emulator.url + "/oauth/v2/authorize") and "chat:write" in consent
        cookie = install.headers["set-cookie"].split(";")[0]
        back = await client.get(consent, follow_redirects=False)
        callback = back.headers["location"]
        assert callback.startswith(bot.url + "/slack/oauth_redirect")
        done = await client.get(callback, headers={"Cookie": cookie}, follow_redirects=False)
        assert done.status_code in (200, 302), done.text
        replay = await client.get(callback, headers={"Cookie": cookie}, follow_redirects=False)
        assert replay.status_code >= 400

    raw = await redis_client.get("meetbot:{-:T0001}:installation")
    assert raw is not None and b"xoxb-" not in raw, "the bot token is stored encrypted"

    help_reply = await bot.post(slash_command("help"))
    assert help_reply.status_code == 200 and "How to use /meet" in help_reply.text

    await bot.post(event({"type": "app_uninstalled"}))

    async def uninstalled() -> bool:
        return await redis_client.get("meetbot:{-:T0001}:installation") is None

    await eventually_async(uninstalled, "the uninstall to remove the installation", 5)
