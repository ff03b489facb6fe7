"""Shared plumbing of the baseline servers: argument parsing, the event loop and serving until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from tests.support.slack_requests import SIGNING_SECRET

EVENTS_PATH = "/slack/events"


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret", default=SIGNING_SECRET, help="Slack signing secret")
    parser.add_argument("--slack-api-url", default=None, help="Web API base URL (Bolt's one auth.test call)")
    parser.add_argument("--token", default="xoxb-test-bot-token")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--backlog", type=int, default=128, help="listen backlog (aiohttp's default: 128)")
    return parser.parse_args()


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _serve(app: web.Application, host: str, port: int, backlog: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=backlog).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def serve(build: Callable[[argparse.Namespace], Coroutine[Any, Any, web.Application]],
          args: argparse.Namespace) -> None:
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if args.loop == "uvloop":
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:
            factory = None

    async def main() -> None:
        app = await build(args)
        app.router.add_get("/healthz", healthz)
        await _serve(app, args.host, args.port, args.backlog)

    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())
