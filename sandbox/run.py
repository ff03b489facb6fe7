"""`python -m bot sandbox`: meetbot with no Slack workspace and no Google project.

It starts a redis-server, the Slack, Meet + OAuth (and, when present, Workspace Events) emulators, the real bot
as `python -m bot` configured against them, and the page on HOST:PORT (default http://localhost:3000/). Ctrl-C
(or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from aiohttp import web

from sandbox.desk import Desk
from sandbox.feed import Feed
from sandbox.processes import Child, free_port, start_bot, start_redis
from sandbox.web import build_app
from sandbox.world import World, encryption_key

__all__ = ["Sandbox", "main"]

DATA_DIR = Path(".data") / "sandbox"


class Sandbox:
    """Everything the sandbox runs; `start()` then `serve_forever()`, or use `async with` (tests, screenshots)."""

    def __init__(self, host: str, port: int, data_dir: Path = DATA_DIR) -> None:
        self.host, self.port, self.data_dir = host, port, data_dir.resolve()
        self.world = World()
        self.children: list[Child] = []
        self._runner: web.AppRunner | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self._feed: Feed | None = None
        self.desk: Desk | None = None

    @property
    def url(self) -> str:
        shown = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "localhost") else self.host
        return f"http://{shown}:{self.port}/"

    async def start(self) -> Sandbox:
        self.world.start()
        redis, redis_url = start_redis(self.data_dir)
        self.children.append(redis)
        bot_port = free_port()
        env = self.world.bot_env(redis_url=redis_url, key=encryption_key(self.data_dir),
                                 public_url=f"http://127.0.0.1:{bot_port}")
        self.children.append(await asyncio.to_thread(start_bot, env, self.data_dir / "bot", bot_port))
        self.desk = Desk(self.world, f"http://127.0.0.1:{bot_port}")
        feed = self._feed = Feed(self.desk)
        self._feed_task = asyncio.create_task(feed.run())
        self._runner = web.AppRunner(build_app(self.desk, feed), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        return self

    async def stop(self) -> None:
        if self._feed is not None:
            await self._feed.close()  # open pages' event streams end now, or the server would wait for them
        if self._feed_task is not None:
            self._feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed_task
        if self._runner is not None:
            await self._runner.cleanup()
        if self.desk is not None:
            await self.desk.close()
        for child in reversed(self.children):  # the bot first, so it never sees Redis vanish under it
            await asyncio.to_thread(child.stop)
        self.world.stop()

    async def __aenter__(self) -> Sandbox:
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _serve(host: str, port: int, started: float) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    sandbox = Sandbox(host, port)
    try:
        await sandbox.start()
    except (RuntimeError, OSError) as error:
        await sandbox.stop()
        print(f"the sandbox cannot start: {error}", file=sys.stderr)
        return 1
    print(f"meetbot sandbox: open {sandbox.url}  (ready in {time.monotonic() - started:.1f} s; Ctrl-C stops it; "
          f"the bot's log is {sandbox.data_dir / 'bot' / 'bot.log'})", flush=True)
    try:
        await stopping.wait()
    finally:
        print("stopping the sandbox…", flush=True)
        await sandbox.stop()
    return 0


def main() -> int:
    started = time.monotonic()
    host = os.environ.get("HOST", "127.0.0.1")
    try:
        port = int(os.environ.get("PORT", "3000"))
    except ValueError:
        print(f"PORT must be a number, got {os.environ['PORT']!r}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(host, port, started))
