"""HTTP routes: Slack's single request URL, health and readiness. Handlers translate; they hold no logic."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot import ack_deadline, metrics
from bot.app import Services, counted
from bot.core.linking import LinkOutcome
from bot.core.slack_sign_in import SignInOutcome
from bot.domain import Actor
from bot.google.pubsub import PushCerts, PushTokens, WorkspaceEvent, parse_push
from bot.google.push_errors import MalformedEvent, PushRejected
from bot.slack.fast_path import fast_answer
from bot.slack.front_door import FrontDoor, Refused
from bot.slack.presence_handlers import USER_INSTALL_PATH, USER_REDIRECT_PATH
from bot.store.connection import writable
from bot.store.dedupe import SignedDeliveries
from bot.store.errors import is_unavailable
from bot.store.live import FollowedPhases
from bot.store.oauth_state import STATE_TTL_SECONDS
from bot.store.slack_users import SIGN_IN_TTL_SECONDS
from bot.web_pages import callback_page, confirm_page, mismatch_page, slack_sign_in_page

__all__ = ["GOOGLE_CALLBACK_PATH", "GOOGLE_CONFIRM_PATH", "GOOGLE_EVENTS_PATH", "METRICS_PATH", "SLACK_EVENTS_PATH",
           "build_probe_app", "build_web_app", "probe_routes"]

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
GOOGLE_EVENTS_PATH = "/google/events"
GOOGLE_CALLBACK_PATH = "/google/oauth/callback"
GOOGLE_CONFIRM_PATH = "/google/oauth/confirm"
METRICS_PATH = "/metrics"
CSRF_COOKIE = "meetbot_confirm"
SIGN_IN_COOKIE = "meetbot_slack_sign_in"  # the OAuth state, kept by the browser that opened the sign-in link
READY_TIMEOUT = 0.5

ReadyProbe = Callable[[], Awaitable[bool]]


def build_web_app(
    services: Services, bolt: AsyncApp, *, serve_slack: bool = True, extra_ready: ReadyProbe | None = None
) -> web.Application:
    """`serve_slack=False` in Socket Mode: Slack requests arrive over the socket, health routes stay."""

    door = FrontDoor(services.settings.slack_signing_secret or "")
    deliveries = SignedDeliveries(services.redis, services.keys)
    secure_cookies = services.settings.public_url.startswith("https:")

    async def slack_events(request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        admitted = door.admit(await request.read(), request.headers, request.query_string)
        if isinstance(admitted, Refused):
            return web.json_response({"error": admitted.why}, status=admitted.status)
        quick = fast_answer(admitted.text)
        if quick is not None:
            metrics.ack("command", time.perf_counter() - arrived)
            return web.Response(text=quick, content_type="application/json")
        kind = metrics.ack_kind(admitted.request.body)
        with ack_deadline.starting():  # one deadline over every Redis call Slack waits on
            if not await _first_delivery(deliveries, admitted.signature):
                metrics.ack(kind, time.perf_counter() - arrived)
                return web.Response(status=200)  # the same signed bytes again: acknowledged, not acted on twice
            response = await to_aiohttp_response(await bolt.async_dispatch(admitted.request))
        metrics.ack(kind, time.perf_counter() - arrived)
        return response

    async def google_callback(request: web.Request) -> web.Response:
        query = request.query
        try:
            outcome = await services.linking.complete_link(query.get("state"), query.get("code"), query.get("error"))
        except Exception as error:
            if not is_unavailable(error):
                raise
            return _page(*callback_page("unavailable"))
        if outcome.reason == "confirm" and outcome.pending is not None and outcome.confirm_id:
            who, workspace = await services.account_handlers.receiver(_actor(outcome))
            csrf = secrets.token_urlsafe(32)
            page = confirm_page(outcome.confirm_id, csrf, outcome.email or "", who, workspace)
            response = _page(200, page)
            response.set_cookie(CSRF_COOKIE, csrf, max_age=STATE_TTL_SECONDS, path=GOOGLE_CONFIRM_PATH,
                                httponly=True, samesite="Strict", secure=secure_cookies)
            return response
        return await _settled(outcome)

    async def google_confirm(request: web.Request) -> web.Response:
        """The consenter's answer on the confirmation page: a same-site POST whose token matches its cookie."""
        form = await request.post()
        csrf, cookie = str(form.get("csrf") or ""), request.cookies.get(CSRF_COOKIE, "")
        if not csrf or not hmac.compare_digest(csrf.encode(), cookie.encode()):
            return _page(*callback_page("bad_state"))
        try:
            outcome = await services.linking.confirm_link(str(form.get("confirm") or ""),
                                                          accept=form.get("answer") == "confirm")
        except Exception as error:
            if not is_unavailable(error):
                raise
            return _page(*callback_page("unavailable"))
        response = await _settled(outcome)
        response.del_cookie(CSRF_COOKIE, path=GOOGLE_CONFIRM_PATH)
        return response

    async def _settled(outcome: LinkOutcome) -> web.Response:
        """Tell Slack and the browser how a sign-in ended."""
        await services.account_handlers.announce(outcome)
        if outcome.ok and outcome.pending is not None:
            services.tasks.spawn(_refresh_home(services, _actor(outcome)), name="home")
        if outcome.reason == "email_mismatch" and outcome.pending is not None:
            who, workspace = await services.account_handlers.receiver(_actor(outcome))
            return _page(*mismatch_page(outcome.email or "", who, workspace))
        return _page(*callback_page(outcome.reason, outcome.email))

    async def user_install(request: web.Request) -> web.Response:
        """The sign-in link from `/meet presence on`: spends its ticket and sends the browser to Slack's consent."""
        if services.presence is None:
            return _page(*slack_sign_in_page("not_configured"))
        try:
            opened = await services.presence.presence.sign_in.open(request.query.get("ticket", ""))
        except Exception as error:
            if not is_unavailable(error):
                raise
            return _page(*slack_sign_in_page("unavailable"))
        if opened is None:
            return _page(*slack_sign_in_page("bad_state"))
        state, url = opened
        response = web.Response(status=302, headers={"Location": url, **_NO_STORE})
        # Lax: the cookie must come back on Slack's top-level redirect to us, and on nothing cross-site else.
        response.set_cookie(SIGN_IN_COOKIE, state, max_age=SIGN_IN_TTL_SECONDS, path=USER_REDIRECT_PATH,
                            httponly=True, samesite="Lax", secure=secure_cookies)
        return response

    async def user_redirect(request: web.Request) -> web.Response:
        if services.presence is None:
            return _page(*slack_sign_in_page("not_configured"))
        query = request.query
        try:
            outcome = await services.presence.presence.sign_in.complete(
                query.get("state"), request.cookies.get(SIGN_IN_COOKIE), query.get("code"), query.get("error"))
            await services.presence.signed_in(outcome)
            if outcome.ok:
                services.tasks.spawn(_refresh_home(services, _actor(outcome)), name="home")
        except Exception as error:
            if not is_unavailable(error):
                raise
            return _page(*slack_sign_in_page("unavailable"))
        response = _page(*slack_sign_in_page(outcome.reason))
        response.del_cookie(SIGN_IN_COOKIE, path=USER_REDIRECT_PATH)
        return response

    app = web.Application(client_max_size=1024**2)
    app.router.add_get(USER_INSTALL_PATH, user_install)
    app.router.add_get(USER_REDIRECT_PATH, user_redirect)
    app.router.add_get(GOOGLE_CALLBACK_PATH, google_callback)
    app.router.add_post(GOOGLE_CONFIRM_PATH, google_confirm)
    if services.event_intake is not None and services.push_certs is not None:
        app.router.add_post(GOOGLE_EVENTS_PATH, _events_route(services, counted(services.event_intake),
                                                              services.push_certs))
    app.router.add_routes(probe_routes(services, extra_ready))
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


def probe_routes(services: Services, extra_ready: ReadyProbe | None = None) -> list[web.RouteDef]:
    """`/healthz`, `/readyz` and `/metrics`: in the web process, and alone in `python -m bot worker`."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        checks = {"redis": await _redis_answers(services), "config": True}
        if extra_ready is not None:
            checks["slack_socket"] = await extra_ready()
        ready = all(checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    follows = FollowedPhases(services.redis, services.keys)

    async def metrics_page(_: web.Request) -> web.Response:
        await _shared_gauges(services, follows)
        return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get(METRICS_PATH, metrics_page)]


def build_probe_app(services: Services) -> web.Application:
    """`python -m bot worker`'s listener: probes and metrics only, so the worker can be probed and scraped."""
    app = web.Application()
    app.router.add_routes(probe_routes(services))
    return app


async def _shared_gauges(services: Services, follows: FollowedPhases) -> None:
    """The gauges kept in Redis (the queue's depth, the meetings followed), read at scrape time; a scrape with
    Redis down still answers, with the process's own figures."""
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            metrics.jobs_queued(await services.jobs.queued())
            metrics.followed_meetings({phase.value: n for phase, n in (await follows.count()).items()})
    except Exception as error:  # a scrape must never fail on Redis
        if not (is_unavailable(error) or isinstance(error, TimeoutError)):
            raise
        log.warning("metrics: Redis did not answer (%s)", type(error).__name__)


_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}


def _page(status: int, html: str) -> web.Response:
    return web.Response(status=status, text=html, content_type="text/html", headers=_NO_STORE)


def _actor(outcome: LinkOutcome | SignInOutcome) -> Actor:
    assert outcome.pending is not None
    return Actor(outcome.pending.tenant, outcome.pending.user_id)


def _events_route(services: Services, accept: Callable[[WorkspaceEvent], Awaitable[str]], certs: PushCerts
                  ) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Pub/Sub push: verify Google's OIDC token before reading the body; 2xx only once the event is taken."""
    settings = services.settings
    tokens = PushTokens(settings.events_push_audience, settings.google_pubsub_push_account, certs)

    async def google_events(request: web.Request) -> web.Response:
        try:
            await tokens.check(request.headers.get("Authorization"))
        except PushRejected as rejected:
            metrics.event_intake("refused")
            log.warning("a push to %s was refused: %s", GOOGLE_EVENTS_PATH, rejected)
            return web.json_response({"error": "unauthenticated"}, status=401)
        try:
            event = parse_push(await request.read())
        except MalformedEvent as malformed:  # acknowledged: Pub/Sub would redeliver it forever
            log.warning("a verified push that is no Workspace event was dropped: %s", malformed)
            return web.json_response({"dropped": str(malformed)})
        try:
            await accept(event)
        except Exception as error:
            if not is_unavailable(error):
                raise
            return web.json_response({"error": "storage unavailable; deliver again"}, status=503)
        return web.Response(status=204)

    return google_events


async def _refresh_home(services: Services, actor: Actor) -> None:
    try:
        client = await services.clients.for_tenant(actor.tenant)
    except LookupError:
        return
    await services.home.refresh_if_published(actor, client)


async def _first_delivery(deliveries: SignedDeliveries, signature: str) -> bool:
    try:
        first = await deliveries.first(signature)
    except Exception as error:
        if not is_unavailable(error):
            raise
        return True  # Redis down: the command will say so itself; refusing here would hide why
    if not first:
        log.info("a replayed Slack request was dropped")
    return first


async def _redis_answers(services: Services) -> bool:
    try:
        return await asyncio.wait_for(writable(services.redis, services.keys.health_probe()), READY_TIMEOUT)
    except Exception as error:  # readiness reports any failure; it must never raise
        log.warning("readiness: Redis did not answer (%s)", type(error).__name__)
        return False
