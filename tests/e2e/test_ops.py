"""What an operator sees of the process itself: `--version`, JSON logs from start to shutdown, and one /metrics for
several server processes. In-process behaviour of the metrics and action lines: tests/edge/test_metrics.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot import VERSION
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.edge.test_metrics import parse, value
from tests.support.bot_process import BotProcess
from tests.support.flows import channel_posts, link_google
from tests.support.jobs import settled
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually_async

pytestmark = pytest.mark.e2e

ALICE = ("U0ALICE", "alice@example.com")


def test_version_prints_the_package_version() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--version"], capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 0 and result.stdout.strip() == f"meetbot {VERSION}"
    assert VERSION != "0+unknown", "the version comes from the installed package (pyproject.toml)"


def test_configuration_problems_are_json_lines_too(tmp_path: Path) -> None:
    env = {"PATH": "", "HOME": str(tmp_path), "LOG_FORMAT": "json", "PORT": "0"}
    result = subprocess.run([sys.executable, "-m", "bot"], capture_output=True, text=True, timeout=30, check=False,
                            env=env, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert any("PORT: must be a whole number" in str(line.get("problem")) for line in lines)
    assert all(line["level"] == "ERROR" for line in lines)


async def test_json_logs_from_start_to_shutdown_and_metrics_of_the_process(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    bot = start_bot(LOG_FORMAT="json")
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    await bot.post(slash_command("new Planning", user_id=ALICE[0], trigger_id=slack_emulator.state.issue_trigger_id()))
    channel_posts(slack_emulator, 1)
    meet_emulator.state.inject_fault("spaces.create", status=503, count=10)  # an error: Google keeps failing
    failed = slack_emulator.response_url("failed")
    await bot.post(slash_command("new Broken", user_id=ALICE[0], response_url=failed,
                                 trigger_id=slack_emulator.state.issue_trigger_id()))
    slack_emulator.state.wait_for_response_posts_blocking("failed", 1, timeout=30)
    async with httpx.AsyncClient(base_url=bot.url, timeout=5) as client:
        samples = parse((await client.get("/metrics")).text)
    assert value(samples, "meetbot_build_info", version=VERSION) == 1
    assert value(samples, "meetbot_google_calls_total", method="spaces.create", status="200") == 1
    assert value(samples, "meetbot_slack_ack_seconds_count", kind="command") >= 3
    settled(bot)  # the job's last lines
    assert bot.stop() == 0

    raw = bot.log_text().splitlines()
    lines = [json.loads(line) for line in raw]  # every line the process wrote is one JSON object
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(f"version {VERSION}" in str(line["message"]) for line in lines), "the start-up line names it"
    started = [line for line in lines if line.get("action") == "start meeting"]
    assert started[0]["outcome"] == "ok" and started[0]["team"] == "T0001" and started[0]["user"] == ALICE[0]
    assert started[0]["google_calls"] >= 1 and isinstance(started[0]["ms"], int)
    assert any(line["level"] == "WARNING" and line.get("google_method") == "spaces.create"
               and line.get("status") == 503 for line in lines), "a WARNING for Google's error"
    assert lines[-1]["message"] == "stopped"


async def test_two_server_processes_answer_one_metrics(start_bot: Callable[..., BotProcess], tmp_path: Path) -> None:
    """WEB_CONCURRENCY=2: whichever process a scrape lands on, it counts the acks of both; the shared directory is
    made under the temporary directory and removed at shutdown."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    bot = start_bot(WEB_CONCURRENCY="2", TMPDIR=str(scratch))
    await eventually_async(lambda: bot.log_text().count("meetbot serving HTTP") >= 2,
                           lambda: f"both processes serving HTTP; the log:\n{bot.log_text()}", 10)
    sent = 12
    for _ in range(sent):  # a new connection each: the kernel spreads them over both processes
        assert (await bot.post(slash_command("help"))).status_code == 200
    counts = set()
    for _ in range(8):
        async with httpx.AsyncClient(base_url=bot.url, timeout=5) as client:
            counts.add(value(parse((await client.get("/metrics")).text), "meetbot_slack_ack_seconds_count",
                             kind="command"))
    assert counts == {sent}
    assert next(p.name for p in scratch.iterdir()).startswith("meetbot-metrics-")
    assert bot.stop() == 0
    assert list(scratch.iterdir()) == []
