"""Composition root: builds the long-lived clients once and wires them into the Bolt app. No logic lives here."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import httpx
from redis.asyncio import Redis
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import BackgroundTasks
from bot.config import Settings
from bot.slack.listeners import SlackDeps, register
from bot.store.connection import connect
from bot.store.keys import Keys

__all__ = ["Services", "build_bolt_app", "close_services", "open_services"]


@dataclass(slots=True)
class Services:
    settings: Settings
    redis: Redis
    keys: Keys
    http: httpx.AsyncClient
    slack_session: aiohttp.ClientSession
    slack: AsyncWebClient
    tasks: BackgroundTasks


def slack_retry_handlers() -> list[AsyncRetryHandler]:
    # The SDK retries only connection errors by default; a 429 or a 5xx from Slack deserves a second try too.
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


async def open_services(settings: Settings) -> Services:
    """Create the pools. Must run inside the event loop that will use them."""
    slack_session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    slack = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        session=slack_session,
        timeout=10,
        retry_handlers=slack_retry_handlers(),
    )
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=2.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )
    return Services(
        settings=settings,
        redis=connect(settings.redis_url),
        keys=Keys(),
        http=http,
        slack_session=slack_session,
        slack=slack,
        tasks=BackgroundTasks(limit=256),
    )


async def close_services(services: Services) -> None:
    await services.http.aclose()
    await services.slack_session.close()
    await services.redis.aclose()


def build_bolt_app(services: Services) -> AsyncApp:
    settings = services.settings
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret or "",
        client=services.slack,
        token=settings.slack_bot_token,
        process_before_response=True,
        request_verification_enabled=not settings.socket_mode,
    )
    register(app, SlackDeps(redis=services.redis, keys=services.keys, tasks=services.tasks))
    return app
