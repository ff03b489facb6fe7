"""Process lifecycle: serve HTTP (or Socket Mode with health routes), then shut down gracefully on a signal.

Shutdown order: stop accepting, let in-flight requests and background work finish within a bound, close clients.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time

from aiohttp import web

from bot import VERSION, metrics
from bot.app import (
    Services,
    build_bolt_app,
    close_services,
    open_services,
    start_background,
    stop_background,
    with_ack_deadline,
)
from bot.config import Settings
from bot.web import build_probe_app, build_web_app

__all__ = ["serve", "serve_jobs"]

log = logging.getLogger(__name__)

REQUEST_DRAIN_SECONDS = 10.0
BACKGROUND_DRAIN_SECONDS = 10.0
LISTEN_BACKLOG = 2048


async def serve(settings: Settings, *, sock: socket.socket | None = None, stop: asyncio.Event | None = None
                ) -> None:
    """Serve until SIGTERM/SIGINT, or until `stop` is set (a bot run inside a test process gets no signals)."""
    started = time.monotonic()
    services = await open_services(settings)
    bolt = build_bolt_app(services)
    socket_handler = None
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket_handler = AsyncSocketModeHandler(with_ack_deadline(bolt), app_token=settings.slack_app_token,
                                                web_client=services.slack)

    async def socket_connected() -> bool:
        return socket_handler is not None and bool(await socket_handler.client.is_connected())

    web_app = build_web_app(
        services,
        bolt,
        serve_slack=socket_handler is None,
        extra_ready=socket_connected if socket_handler is not None else None,
    )
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=REQUEST_DRAIN_SECONDS)
    await runner.setup()
    site: web.BaseSite
    if sock is not None:
        site = web.SockSite(runner, sock)
    else:
        # A deep backlog: a burst of new connections (an all-hands starting) must queue, not be dropped and retried.
        site = web.TCPSite(runner, settings.host, settings.port, reuse_port=settings.web_concurrency > 1,
                           backlog=LISTEN_BACKLOG)
    await site.start()
    start_background(services)  # jobs and following run in the web process too; workers add capacity
    if socket_handler is not None:
        await socket_handler.connect_async()  # type: ignore[no-untyped-call]
    metrics.build_info()
    log.info(
        "meetbot serving %s on %s:%s in %.0f ms, version %s",
        "Socket Mode" if socket_handler else "HTTP",
        settings.host,
        settings.port,
        (time.monotonic() - started) * 1000,
        VERSION,
    )

    try:
        await (stop.wait() if stop is not None else _until_signalled())
    finally:
        log.info("shutting down")
        if socket_handler is not None:
            await socket_handler.close_async()  # type: ignore[no-untyped-call]
        await runner.cleanup()  # stops listening, then waits for in-flight requests
        await _wind_down(services)


async def serve_jobs(settings: Settings) -> None:
    """`python -m bot worker`: run durable jobs only, until SIGTERM; unfinished ones are handed back."""
    services = await open_services(settings)
    build_bolt_app(services)  # registers the jobs the Slack edge defines; Slack's requests go to the web process
    # Its own small listener, so that it can be probed and scraped: /healthz, /readyz and /metrics only.
    runner = web.AppRunner(build_probe_app(services), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    start_background(services)
    metrics.build_info()
    log.info("meetbot worker running jobs, probes and metrics on %s:%s, version %s", settings.host, settings.port,
             VERSION)
    try:
        await _until_signalled()
    finally:
        log.info("worker shutting down")
        await runner.cleanup()
        await _wind_down(services)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def _wind_down(services: Services) -> None:
    """Jobs still running are handed back (another process re-runs them), background work gets a bound."""
    await stop_background(services, BACKGROUND_DRAIN_SECONDS)
    cancelled = await services.tasks.drain(BACKGROUND_DRAIN_SECONDS)
    if cancelled:
        log.warning("shutdown cancelled %d unfinished background tasks", cancelled)
    await close_services(services)
    log.info("stopped")
