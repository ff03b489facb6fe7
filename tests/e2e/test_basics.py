"""The process itself, exactly as production starts it (`python -m bot`): SIGTERM, configuration errors at
start-up, `python -m bot check`, several server processes and Socket Mode. The same HTTP edge in-process lives
with the edge tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.redis_server import RedisServer
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e


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
    eventually(lambda: bot.log_text().count("meetbot serving HTTP") >= 2,
               lambda: f"both workers serving HTTP; the log:\n{bot.log_text()}", 10)
    assert all(httpx.get(bot.url + "/healthz").status_code == 200 for _ in range(20))
    assert bot.stop() == 0
    assert bot.log_text().count("stopped") == 2


def test_a_worker_that_dies_is_replaced(start_bot: Callable[..., BotProcess]) -> None:
    """Issue 13: with WEB_CONCURRENCY, a killed worker process used to shrink capacity until the next deploy."""
    bot = start_bot(WEB_CONCURRENCY="2")
    eventually(lambda: "started 2 workers:" in bot.log_text() and bot.log_text().count("meetbot serving HTTP") >= 2,
               lambda: f"both workers serving HTTP; the log:\n{bot.log_text()}", 10)
    line = next(x for x in bot.log_text().splitlines() if "started 2 workers:" in x)
    victim = int(line.rsplit(":", 1)[1].split(",")[0])
    os.kill(victim, signal.SIGKILL)
    eventually(lambda: bot.log_text().count("meetbot serving HTTP") >= 3,
               lambda: f"a replacement worker serving HTTP; the log:\n{bot.log_text()}", 25)
    assert "starting a replacement" in bot.log_text()
    assert all(httpx.get(bot.url + "/healthz").status_code == 200 for _ in range(20))
    assert bot.stop() == 0


def test_socket_mode_serves_commands_and_keeps_health_routes(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator
) -> None:
    bot = start_bot(SLACK_APP_TOKEN="xapp-1-test", SLACK_SIGNING_SECRET="")
    socket = slack_emulator.state.socket_mode
    eventually(lambda: socket.connected and httpx.get(bot.url + "/readyz").status_code == 200,
               lambda: f"the Socket Mode connection and /readyz; the log:\n{bot.log_text()}", 10)
    assert httpx.get(bot.url + "/readyz").json()["checks"]["slack_socket"] is True
    payload = dict(parse_qsl(slash_command("help")[0]))
    ack = socket.deliver("slash_commands", payload)
    assert "How to use /meet" in json.dumps(ack["payload"])
    assert httpx.post(bot.url + "/slack/events", content=b"{}").status_code == 404, "no HTTP request URL"
    assert bot.stop() == 0
