"""The bot started the way production starts it: `python -m bot`, in its own process, configured by environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.googleapi.tls import shared_tls
from emulators.bot_env import emulator_env
from tests.support.ports import free_port
from tests.support.slack_requests import sign

__all__ = ["BotProcess", "BotStarter", "emulator_env"]

START_TIMEOUT = 20.0


class BotProcess:
    def __init__(self, env: dict[str, str], workdir: Path, module: str = "bot") -> None:
        self.module = module  # the bench runs meetbot with its metrics off through another entry point
        self.port = int(env.get("PORT") or free_port())
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "PUBLIC_URL": self.url, **env,
                    "PORT": str(self.port)}
        self.workdir = workdir
        self.log_path = workdir / "bot.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._launched = 0.0
        self.startup_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> BotProcess:
        return self.launch().healthy()

    def launch(self) -> BotProcess:
        """Start the process without waiting for it: several bots launched together start side by side."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._launched = time.monotonic()
        # cwd is a scratch folder so a developer's own .env never leaks into a test run.
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module], env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    def healthy(self) -> BotProcess:
        """Wait until the launched process answers /healthz."""
        process = self._process
        assert process is not None, "launch() first"
        return self._healthy(self._launched,
                             lambda: None if process.poll() is None else f"bot exited with {process.returncode}")

    def _healthy(self, started: float, gone: Callable[[], str | None]) -> BotProcess:
        """Wait for /healthz; `gone` says why the bot can no longer answer (None while it runs). One client for the
        whole wait: a client per poll cost 50 ms of CPU each (the CA bundle), taken from the bot starting beside it."""
        with httpx.Client(timeout=0.5, verify=shared_tls()) as http:
            while time.monotonic() < started + START_TIMEOUT:
                reason = gone()
                if reason is not None:
                    raise RuntimeError(f"{reason}:\n{self.log_text()}")
                try:
                    if http.get(self.url + "/healthz").status_code == 200:
                        self.startup_seconds = time.monotonic() - started
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"bot did not answer /healthz within {START_TIMEOUT} s:\n{self.log_text()}")

    def ask_to_stop(self) -> None:
        """SIGTERM without waiting: several bots asked together shut down side by side (then `stop()` each)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20.0, *, test_over: bool = False) -> int | None:
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        return self._process.returncode

    def kill(self) -> None:
        """kill -9: no shutdown, no cleanup, exactly like a crashed or OOM-killed process."""
        assert self._process is not None
        self._process.kill()
        self._process.wait(timeout=5)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def post(
        self,
        request: tuple[str, str],
        *,
        path: str = "/slack/events",
        headers: dict[str, str] | None = None,
        wait: float = 5.0,
        **sign_args: Any,
    ) -> httpx.Response:
        """POST a (body, content type) pair, signed unless `headers` already carries a signature."""
        body, content_type = request
        all_headers = {"Content-Type": content_type, **sign(body, **sign_args), **(headers or {})}
        async with httpx.AsyncClient(base_url=self.url, timeout=wait, verify=shared_tls()) as client:
            return await client.post(path, content=body.encode(), headers=all_headers)


class BotStarter:
    """`start_bot(**overrides)`: one bot, started; `start_bot.many(n, **overrides)`: n bots on one configuration,
    launched side by side and then waited for (each `python -m bot` spends its start-up importing)."""

    def __init__(self, env: dict[str, str], workdir: Path, kind: type[BotProcess]) -> None:
        self.env, self.workdir, self.kind = env, workdir, kind
        self.started: list[BotProcess] = []

    def __call__(self, **overrides: str) -> BotProcess:
        return self._new(overrides).start()

    def many(self, count: int, **overrides: str) -> list[BotProcess]:
        if self.kind is not BotProcess:
            return [self(**overrides) for _ in range(count)]
        bots = [self._new(overrides).launch() for _ in range(count)]
        return [bot.healthy() for bot in bots]

    def stop_all(self) -> None:
        for bot in self.started:
            if type(bot) is BotProcess:
                bot.ask_to_stop()
        for bot in self.started:
            bot.stop(test_over=True)

    def _new(self, overrides: dict[str, str]) -> BotProcess:
        bot = self.kind({**self.env, **overrides}, self.workdir / f"bot{len(self.started)}")
        self.started.append(bot)
        return bot
