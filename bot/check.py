"""`python -m bot check`: configuration, Redis, Slack and Google, one line per check, non-zero exit on failure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import BOT_SCOPES
from bot.config import Settings
from bot.store.connection import connect_to

__all__ = ["CheckResult", "run_checks"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name:<8} {self.detail}"


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or parts.path
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


async def _timed(name: str, probe: Callable[[], Awaitable[str]]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), timeout=5)
    except Exception as error:
        return CheckResult(name, False, _describe(error))
    return CheckResult(name, True, f"{detail} ({(time.perf_counter() - started) * 1000:.0f} ms)")


class ScopesMissing(Exception):
    """The bot token answers but lacks scopes manifest.yaml asks for (an install that predates them)."""


def _describe(error: BaseException) -> str:
    if isinstance(error, ScopesMissing):
        return str(error)
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error', 'an error')}"
    if isinstance(error, TimeoutError):
        return "no answer within 5 s"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def run_checks(settings: Settings) -> list[CheckResult]:
    async def redis_probe() -> str:
        redis = connect_to(settings)
        try:
            await redis.ping()
        finally:
            await redis.aclose()
        return f"{_safe_url(settings.redis_url)} answers PING"

    async def slack_probe() -> str:
        if settings.slack_bot_token is None:
            return "many-workspace mode: tokens come from installations"
        client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=5)
        answer = await client.auth_test()
        granted = set(str(answer.headers.get("x-oauth-scopes", "")).replace(" ", "").split(","))
        missing = [scope for scope in BOT_SCOPES if scope not in granted]
        if missing:
            needs = ", ".join(missing)
            calls = " (Slack calls are off: meeting cards work without them)" if any(
                s.startswith("calls:") for s in missing) else ""
            raise ScopesMissing(f"auth.test ok as {answer.get('user')}, but the token lacks the scope {needs}{calls};"
                                " reinstall the app with manifest.yaml's scopes")
        return f"auth.test ok as {answer.get('user')} in {answer.get('team')}"

    async def google_probe() -> str:
        # Any HTTP answer proves the endpoint is reachable; the token endpoint refuses an empty grant with 400.
        async with httpx.AsyncClient(timeout=5) as http:
            token = await http.post(settings.google_token_url, data={})
            meet = await http.get(settings.meet_api_url + "/v2/spaces/meetbot-check")
        return f"token endpoint HTTP {token.status_code}, Meet API HTTP {meet.status_code}"

    return [
        CheckResult("config", True, "all variables present and well-formed"),
        await _timed("redis", redis_probe),
        await _timed("slack", slack_probe),
        await _timed("google", google_probe),
    ]
