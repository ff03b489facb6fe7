"""HTTP routes: Slack's single request URL, health and readiness. Handlers translate; they hold no logic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.app import Services

__all__ = ["SLACK_EVENTS_PATH", "build_web_app"]

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
READY_TIMEOUT = 0.5

ReadyProbe = Callable[[], Awaitable[bool]]


def build_web_app(
    services: Services, bolt: AsyncApp, *, serve_slack: bool = True, extra_ready: ReadyProbe | None = None
) -> web.Application:
    """`serve_slack=False` in Socket Mode: Slack requests arrive over the socket, health routes stay."""

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        checks = {"redis": await _redis_answers(services), "config": True}
        if extra_ready is not None:
            checks["slack_socket"] = await extra_ready()
        ready = all(checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    app = web.Application(client_max_size=1024**2)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if serve_slack:
        app.router.add_post(SLACK_EVENTS_PATH, slack_events)
    return app


async def _redis_answers(services: Services) -> bool:
    try:
        return bool(await asyncio.wait_for(services.redis.ping(), READY_TIMEOUT))
    except Exception as error:  # readiness reports any failure; it must never raise
        log.warning("readiness: Redis did not answer (%s)", type(error).__name__)
        return False
