"""`python -m bot sandbox`: meetbot with no Slack workspace and no Google project.

It starts a redis-server, the Slack, Meet + OAuth (and, when present, Workspace Events) emulators, the real bot
as `python -m bot` configured against them, and the page on 127.0.0.1:PORT (default http://localhost:3000/; only
`--host` moves it off loopback, since the page acts as anyone). Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from sandbox.desk import Desk
from sandbox.feed import Feed
from sandbox.processes import Child, free_port, start_bot, start_redis
from sandbox.web import LOOPBACK_NAMES, build_app
from sandbox.world import World, encryption_key

__all__ = ["Listen", "Sandbox", "listen_options", "main"]

DATA_DIR = Path(".data") / "sandbox"


class Sandbox:
    """Everything the sandbox runs; `start()` then `serve_forever()`, or use `async with` (tests, screenshots)."""

    def __init__(self, host: str, port: int, data_dir: Path = DATA_DIR, names: frozenset[str] = LOOPBACK_NAMES
                 ) -> None:
        self.host, self.port, self.data_dir, self.names = host, port, data_dir.resolve(), names
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
        self._runner = web.AppRunner(build_app(self.desk, feed, self.names), access_log=None)
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


async def _serve(listen: Listen, port: int, started: float) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    sandbox = Sandbox(listen.host, port, names=listen.names)
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


@dataclass(frozen=True, slots=True)
class Listen:
    host: str  # the address the page is bound to
    names: frozenset[str]  # the host names it answers to


def listen_options(argv: Sequence[str]) -> Listen:
    """Loopback only unless `--host` says otherwise: the page acts as anyone, so `HOST` in the environment (set
    for the bot, or by a platform) never opens it to the network."""
    parser = argparse.ArgumentParser(prog="python -m bot sandbox", description="meetbot with emulated Slack and "
                                     "Google, on a local page that acts as anyone")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1). "
                        "Anyone who can reach it can act as anyone in the sandbox")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="another host name the page may be opened by (with --host; repeat for more)")
    args = parser.parse_args(list(argv))
    names = set(LOOPBACK_NAMES) | {n.lower() for n in args.allow_host}
    if args.host not in ("0.0.0.0", "::"):
        names.add(args.host.lower())
    return Listen(args.host, frozenset(names))


def main(argv: Sequence[str] = ()) -> int:
    started = time.monotonic()
    listen = listen_options(argv)
    try:
        port = int(os.environ.get("PORT", "3000"))
    except ValueError:
        print(f"PORT must be a number, got {os.environ['PORT']!r}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(listen, port, started))
