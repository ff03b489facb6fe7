"""`make run` (scripts/run.sh) as a new user meets it (issue 21): gcloud's variables don't turn the sandbox off, and a
configuration error doesn't leave a redis-server behind. Each test runs the script in a scratch copy of the checkout
(its packages and virtualenv linked in), on a free port: never the system Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    copy = tmp_path / "meetbot"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run.sh", copy / "scripts" / "run.sh")
    for name in ("bot", "sandbox", "emulators", ".venv"):
        (copy / name).symlink_to(ROOT / name)
    return copy


def run_script(checkout: Path, env: dict[str, str], python: Path | None = None) -> subprocess.CompletedProcess[str]:
    if python is not None:  # a stand-in for the virtualenv's python that only says how it was called
        venv_bin = checkout / "venv-stub" / "bin"
        venv_bin.mkdir(parents=True)
        (venv_bin / "python").symlink_to(python)
        (checkout / ".venv").unlink()
        (checkout / ".venv").symlink_to(checkout / "venv-stub")
    return subprocess.run(["bash", str(checkout / "scripts" / "run.sh")], cwd=checkout, capture_output=True, text=True,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": str(checkout), **env}, timeout=60)


def test_gcloud_variables_alone_still_start_the_sandbox(checkout: Path, tmp_path: Path) -> None:
    stub = tmp_path / "python-stub"
    stub.write_text('#!/bin/sh\necho "python $*"\n')
    stub.chmod(0o755)
    gcloud = {"GOOGLE_CLOUD_PROJECT": "my-project", "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "adc.json"),
              "SLACK_WEBHOOK_URL": "https://hooks.slack.example/x"}
    result = run_script(checkout, gcloud, python=stub)
    assert result.returncode == 0, result.stderr
    assert "starting the sandbox" in result.stdout
    assert result.stdout.strip().endswith("python -m bot sandbox")


def test_a_meetbot_variable_in_env_file_means_a_real_run(checkout: Path, tmp_path: Path) -> None:
    stub = tmp_path / "python-stub"
    stub.write_text('#!/bin/sh\necho "python $*"\n')
    stub.chmod(0o755)
    (checkout / ".env").write_text("export SLACK_BOT_TOKEN_FILE=/run/secrets/slack_bot_token\nREDIS_URL=redis://x\n")
    result = run_script(checkout, {}, python=stub)
    assert "sandbox" not in result.stdout and result.stdout.strip().endswith("python -m bot")


def test_a_configuration_error_leaves_no_redis_server_behind(checkout: Path) -> None:
    port = free_port()
    env = {"GOOGLE_CLOUD_PROJECT": "my-project", "SLACK_BOT_TOKEN": "not-a-token",
           "MEETBOT_LOCAL_REDIS_PORT": str(port)}
    try:
        result = run_script(checkout, env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "meetbot cannot start" in result.stderr and "SLACK_BOT_TOKEN: must be a bot token" in result.stderr
        assert "Stopped the local Redis this run started" in result.stdout
        assert subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0
    finally:  # whatever happened, the Redis this test's run started on its own port is gone
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
