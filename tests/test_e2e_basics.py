"""The base every feature stands on, proven through `python -m bot` exactly as production starts it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
import redis.asyncio as aioredis

from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.redis_server import RedisServer
from tests.support.slack_requests import event, slash_command

pytestmark = pytest.mark.e2e


def block_text(reply: dict[str, object]) -> str:
    return json.dumps(reply.get("blocks", []))


@pytest.mark.in_process
async def test_help_is_an_ephemeral_block_kit_usage(bot: BotProcess) -> None:
    response = await bot.post(slash_command("help"))
    assert response.status_code == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    text = block_text(reply)
    for usage in ("/meet end &lt;meeting&gt;", "/meet room", "/meet history", "/meet connect", "/meet set"):
        assert usage in text


@pytest.mark.in_process
async def test_unknown_input_gets_help_with_the_closest_command(bot: BotProcess) -> None:
    reply = (await bot.post(slash_command("stauts abc-mnop-xyz"))).json()
    assert "`stauts` isn't a /meet command" in reply["text"]
    assert [b["text"]["text"] for b in reply["blocks"]] == [
        ":thinking_face: `stauts` isn't a /meet command. Try `/meet status abc-mnop-xyz`, or see `/meet help`."
    ], "one line, not the whole help"


@pytest.mark.in_process
async def test_help_answers_a_topic_and_hello_world_suggests_nothing(bot: BotProcess) -> None:
    topic = block_text((await bot.post(slash_command("help room"))).json())
    assert "makes an existing meeting the room" in topic and "*Start*" not in topic
    hello = (await bot.post(slash_command("hello world"))).json()
    assert [b["text"]["text"] for b in hello["blocks"]] == [
        ":thinking_face: `hello` isn't a /meet command. See `/meet help`."]


@pytest.mark.in_process
async def test_bad_signature_is_refused(bot: BotProcess) -> None:
    response = await bot.post(slash_command("help"), secret="not-the-signing-secret")
    assert response.status_code == 401


@pytest.mark.in_process
async def test_stale_timestamp_is_refused(bot: BotProcess) -> None:
    response = await bot.post(slash_command("help"), timestamp=int(time.time()) - 301)
    assert response.status_code == 401


@pytest.mark.in_process
async def test_unsigned_request_is_refused(bot: BotProcess) -> None:
    body, content_type = slash_command("help")
    async with httpx.AsyncClient() as client:
        response = await client.post(bot.url + "/slack/events", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 401


@pytest.mark.in_process
async def test_retried_event_is_handled_once(
    bot: BotProcess, slack_emulator: SlackEmulator, redis_client: aioredis.Redis
) -> None:
    request = event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home",
                     "event_ts": "1.1"}, event_id="EvRETRY1")
    assert (await bot.post(request)).status_code == 200
    retry = await bot.post(request, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    slack_emulator.state.wait_for_calls_blocking("views.publish", 1, timeout=10)
    await asyncio.sleep(0.3)
    assert len(slack_emulator.state.calls_to("views.publish")) == 1
    # Deduped by the event's own id: its durable job is recorded as done, for a day (a later retry does nothing).
    assert await redis_client.ttl("meetbot:{job:home-opened-EvRETRY1}:progress") > 0


@pytest.mark.in_process
def test_health_and_readiness(bot: BotProcess) -> None:
    assert httpx.get(bot.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(bot.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"redis": True, "config": True}


@pytest.mark.in_process
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
        deadline = time.monotonic() + 10
        while httpx.get(bot.url + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "the bot did not recover after Redis came back"
            time.sleep(0.1)
    finally:
        own_redis.stop()


def test_sigterm_shuts_down_cleanly(bot: BotProcess) -> None:
    assert bot.stop() == 0
    log = bot.log_text()
    assert "shutting down" in log and "stopped" in log
    assert "Traceback" not in log


def _run_bot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_no_configuration_lists_missing_variables_without_traceback(tmp_path: Path) -> None:
    result = _run_bot([], {}, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "GOOGLE_CLIENT_ID", "TOKEN_ENCRYPTION_KEYS"):
        assert f"  {name}: missing" in result.stderr


def test_env_file_is_read_and_named_in_problems(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=not-a-number\n")
    result = _run_bot([], {}, tmp_path)
    assert result.returncode == 2
    assert "PORT: must be a whole number from 1 to 65535 (from .env line 1)" in result.stderr


def test_check_passes_against_the_emulators(bot_env: dict[str, str], tmp_path: Path) -> None:
    result = _run_bot(["check"], bot_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    expected = [["ok", "config"], ["ok", "url"], ["ok", "redis"], ["ok", "slack"], ["ok", "google"], ["ok", "redirect"],
                ["ok", "presence"]]
    assert [line.split()[:2] for line in lines] == expected
    assert "auth.test ok" in lines[3]
    assert "/slack/user-oauth-redirect" in lines[6] or "SLACK_CLIENT_ID" in lines[6], lines[6]


def test_check_fails_and_says_which(bot_env: dict[str, str], tmp_path: Path) -> None:
    dead = RedisServer()  # a free port with nothing listening
    result = _run_bot(["check"], {**bot_env, "REDIS_URL": dead.url, "SLACK_BOT_TOKEN": "xoxb-revoked"}, tmp_path)
    assert result.returncode == 1
    by_name = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert by_name["redis"].startswith("FAIL") and by_name["slack"].startswith("FAIL")
    assert "invalid_auth" in by_name["slack"]
    assert by_name["config"].startswith("ok")


def test_check_reports_configuration_problems(tmp_path: Path) -> None:
    result = _run_bot(["check"], {"PORT": "0"}, tmp_path)
    assert result.returncode == 1
    assert "FAIL  config   PORT: must be a whole number from 1 to 65535 (from the environment)" in result.stdout


def test_several_workers_share_the_port(start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot(WEB_CONCURRENCY="2")
    log_deadline = time.monotonic() + 10
    while bot.log_text().count("meetbot serving HTTP") < 2:
        assert time.monotonic() < log_deadline, bot.log_text()
        time.sleep(0.05)
    assert all(httpx.get(bot.url + "/healthz").status_code == 200 for _ in range(20))
    assert bot.stop() == 0
    assert bot.log_text().count("stopped") == 2


def test_a_worker_that_dies_is_replaced(start_bot: Callable[..., BotProcess]) -> None:
    """Issue 13: with WEB_CONCURRENCY, a killed worker process used to shrink capacity until the next deploy."""
    bot = start_bot(WEB_CONCURRENCY="2")
    deadline = time.monotonic() + 10
    while "started 2 workers:" not in bot.log_text() or bot.log_text().count("meetbot serving HTTP") < 2:
        assert time.monotonic() < deadline, bot.log_text()
        time.sleep(0.05)
    line = next(x for x in bot.log_text().splitlines() if "started 2 workers:" in x)
    victim = int(line.rsplit(":", 1)[1].split(",")[0])
    os.kill(victim, signal.SIGKILL)
    while bot.log_text().count("meetbot serving HTTP") < 3:
        assert time.monotonic() < deadline + 15, bot.log_text()
        time.sleep(0.05)
    assert "starting a replacement" in bot.log_text()
    assert all(httpx.get(bot.url + "/healthz").status_code == 200 for _ in range(20))
    assert bot.stop() == 0


@pytest.mark.in_process
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
    deadline = time.monotonic() + 5
    while await redis_client.get("meetbot:{-:T0001}:installation") is not None:
        assert time.monotonic() < deadline, "uninstall did not remove the installation"
        await asyncio.sleep(0.05)


def test_socket_mode_serves_commands_and_keeps_health_routes(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator
) -> None:
    bot = start_bot(SLACK_APP_TOKEN="xapp-1-test", SLACK_SIGNING_SECRET="")
    socket = slack_emulator.state.socket_mode
    deadline = time.monotonic() + 10
    while not socket.connected or httpx.get(bot.url + "/readyz").status_code != 200:
        assert time.monotonic() < deadline, bot.log_text()
        time.sleep(0.05)
    assert httpx.get(bot.url + "/readyz").json()["checks"]["slack_socket"] is True
    payload = dict(parse_qsl(slash_command("help")[0]))
    ack = socket.deliver("slash_commands", payload)
    assert "How to use /meet" in json.dumps(ack["payload"])
    assert httpx.post(bot.url + "/slack/events", content=b"{}").status_code == 404, "no HTTP request URL"
    assert bot.stop() == 0
