"""The bot's whole server run inside the test process: `bot.server.serve` (the aiohttp web app, Bolt, the jobs
runner, following) on its own event loop in a thread, on a loopback port, against the emulators and the private
redis-server. A behaviour test pays milliseconds of set-up instead of a `python -m bot` start (3.5 s), and still
sends signed Slack requests over HTTP. Tests that need a process (kill -9, signals, several processes, start-up
and its checks) keep `BotProcess`.

Its own thread and loop, so the tests' blocking waits (`eventually`, `channel_posts`) never stall the bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from pathlib import Path
from unittest import mock

from bot.config import Settings, load_settings
from bot.jobs import queue
from bot.logs import NOISY_LOGGERS, formatted
from bot.server import serve
from tests.support.bot_process import BotProcess

__all__ = ["InProcessBot"]


class InProcessBot(BotProcess):
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        super().__init__({**env, "HOST": "127.0.0.1"}, workdir)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failed: BaseException | None = None
        self._log: logging.Handler | None = None
        self._levels: dict[str, int] = {}

    @property
    def pid(self) -> int:
        raise AssertionError("an in-process bot has no process of its own: use BotProcess (start_bot)")

    def start(self) -> InProcessBot:
        self.workdir.mkdir(parents=True, exist_ok=True)
        settings = load_settings(self.env, env_file=None)
        started = time.monotonic()
        self._thread = threading.Thread(target=self._run, args=(settings,), name=f"bot-{self.port}", daemon=True)
        self._capture_log(settings, self._thread.name)
        self._thread.start()
        thread = self._thread
        self._healthy(started, lambda: None if thread.is_alive() else f"the in-process bot stopped: {self._failed!r}")
        return self

    def _run(self, settings: Settings) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            await serve(settings, stop=self._stop)

        try:
            asyncio.run(main())
        except BaseException as error:  # reported by start() and stop()
            self._failed = error

    def _capture_log(self, settings: Settings, thread_name: str) -> None:
        """bot.log for `log_text()`, written as `python -m bot` writes it (its level, format, redaction and quiet
        HTTP libraries), holding only this bot's thread's lines: the test process's root logger is shared."""
        handler = formatted(logging.FileHandler(self.log_path), settings.log_format)
        handler.addFilter(lambda record: record.threadName == thread_name)
        root = logging.getLogger()
        self._levels = {name: logging.getLogger(name).level for name in ("", *NOISY_LOGGERS)}
        root.setLevel(settings.log_level)
        for noisy in NOISY_LOGGERS:
            logging.getLogger(noisy).setLevel(logging.WARNING)
        root.addHandler(handler)
        self._log = handler

    def stop(self, timeout: float = 20.0, *, test_over: bool = False) -> int | None:
        """Shut down as SIGTERM would. `test_over` (the fixture's teardown): skip the beat a shutdown gives a job
        enqueued a moment ago to be picked up (0.3 s each time): nothing the test checks can depend on it now."""
        if self._thread is None:
            return None
        if self._thread.is_alive() and self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        with mock.patch.object(queue, "PICKUP_SECONDS", 0) if test_over else contextlib.nullcontext():
            self._thread.join(timeout)
        if self._log is not None:
            logging.getLogger().removeHandler(self._log)
            self._log.close()
            self._log = None
            for name, level in self._levels.items():
                logging.getLogger(name).setLevel(level)
        if self._thread.is_alive():
            raise RuntimeError(f"the in-process bot did not stop within {timeout} s")
        return 1 if self._failed is not None else 0

    def kill(self) -> None:
        raise AssertionError("kill -9 needs a process: use BotProcess (start_bot)")
