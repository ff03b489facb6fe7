"""HTTP routes: Slack's single request URL, health and readiness. Handlers translate; they hold no logic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.app import Services
from bot.core.meetings import Actor
from bot.slack.account_handlers import connected_message
from bot.slack.fast_path import FastPath
from bot.store.connection import is_unavailable
from bot.web_pages import callback_page

__all__ = ["GOOGLE_CALLBACK_PATH", "SLACK_EVENTS_PATH", "build_web_app"]

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
GOOGLE_CALLBACK_PATH = "/google/oauth/callback"
READY_TIMEOUT = 0.5

ReadyProbe = Callable[[], Awaitable[bool]]


def build_web_app(
    services: Services, bolt: AsyncApp, *, serve_slack: bool = True, extra_ready: ReadyProbe | None = None
) -> web.Application:
    """`serve_slack=False` in Socket Mode: Slack requests arrive over the socket, health routes stay."""

    fast = FastPath(services.settings.slack_signing_secret or "") if serve_slack else None

    async def slack_events(request: web.Request) -> web.Response:
        assert fast is not None
        body = await request.text()
        quick = fast.answer(body, request.headers)
        if quick is not None:
            return web.Response(text=quick, content_type="application/json")
        bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=dict(request.headers))
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        checks = {"redis": await _redis_answers(services), "config": True}
        if extra_ready is not None:
            checks["slack_socket"] = await extra_ready()
        ready = all(checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def google_callback(request: web.Request) -> web.Response:
        query = request.query
        try:
            outcome = await services.accounts.complete_link(query.get("state"), query.get("code"), query.get("error"))
        except Exception as error:
            if not is_unavailable(error):
                raise
            status, page = callback_page("unavailable")
            return web.Response(status=status, text=page, content_type="text/html", headers=_NO_STORE)
        if outcome.ok and outcome.pending is not None:
            if outcome.pending.response_url:
                message = connected_message(outcome.email or "", outcome.scopes, outcome.pending.retry_text)
                await _tell_slack(services, outcome.pending.response_url, message)
            actor = Actor(outcome.pending.tenant, outcome.pending.user_id)
            services.tasks.spawn(_refresh_home(services, actor), name="home")
        status, page = callback_page(outcome.reason, outcome.email)
        return web.Response(status=status, text=page, content_type="text/html", headers=_NO_STORE)

    app = web.Application(client_max_size=1024**2)
    app.router.add_get(GOOGLE_CALLBACK_PATH, google_callback)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if serve_slack:
        app.router.add_post(SLACK_EVENTS_PATH, slack_events)
    if bolt.oauth_flow is not None:
        flow = bolt.oauth_flow

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

        async def installed(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

        app.router.add_get(flow.install_path, install)
        app.router.add_get(flow.redirect_uri_path, installed)
    return app


_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


async def _tell_slack(services: Services, response_url: str, message: dict[str, object]) -> None:
    """Best effort: the link is stored either way; a response_url older than 30 minutes just won't answer."""
    try:
        await AsyncWebhookClient(response_url, session=services.slack_session, timeout=5).send_dict(message)
    except Exception as error:
        log.warning("could not tell Slack about the new link: %s", type(error).__name__)


async def _refresh_home(services: Services, actor: Actor) -> None:
    try:
        client = await services.clients.for_tenant(actor.tenant)
    except LookupError:
        return
    await services.home.refresh_if_published(actor, client)


async def _redis_answers(services: Services) -> bool:
    try:
        return bool(await asyncio.wait_for(services.redis.ping(), READY_TIMEOUT))
    except Exception as error:  # readiness reports any failure; it must never raise
        log.warning("readiness: Redis did not answer (%s)", type(error).__name__)
        return False
