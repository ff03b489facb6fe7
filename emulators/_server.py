"""Run an aiohttp application on 127.0.0.1 in a background thread, or standalone from the command line.

Emulators run on their own thread and event loop so that they serve the bot subprocess and the tests alike,
whatever event loop pytest gives each test. Tests talk to them over HTTP (the `/_emulator/` control routes) or
through the emulator's state object, which guards itself with a lock.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from collections.abc import Callable

from aiohttp import web


class BackgroundServer:
    """An aiohttp app bound to a free loopback port, served from a daemon thread."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="emulator", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server  # aiohttp keeps the bound asyncio.Server private
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_standalone(build_app: Callable[[], web.Application], description: str) -> None:
    """`python -m emulators.<name> --port N`: serve until interrupted."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    web.run_app(build_app(), host=args.host, port=args.port, access_log=None)
