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


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def public_url_check(public_url: str) -> CheckResult:
    """Slack and Google only call https:// addresses; plain http is for a bot on this machine."""
    parts = urlsplit(public_url)
    if parts.scheme == "https" or (parts.hostname or "") in LOCAL_HOSTS:
        return CheckResult("url", True, f"PUBLIC_URL {public_url}")
    return CheckResult("url", False, f"PUBLIC_URL {public_url} must start with https:// (Slack and Google call only "
                                     "https addresses; plain http is only for localhost)")


def granted_scopes_problem(granted_header: str | None) -> str | None:
    """Slack lists a token's scopes in auth.test's X-OAuth-Scopes header; manifest.yaml's bot scopes must be there."""
    if granted_header is None:
        return None
    granted = {scope.strip() for scope in granted_header.split(",") if scope.strip()}
    missing = [scope for scope in BOT_SCOPES if scope not in granted]
    if not missing:
        return None
    calls_off = any(scope.startswith("calls:") for scope in missing)
    calls = " (without calls:*, cards work but show no Slack call)" if calls_off else ""
    return ("the bot token lacks scopes that manifest.yaml asks for: " + ", ".join(missing) + calls
            + "; update the app from manifest.yaml and reinstall it (OAuth & Permissions > Reinstall to Workspace)")


def slack_sign_in_line(settings: Settings) -> CheckResult:
    """/meet presence needs the app's OAuth client and its redirect URL registered with Slack."""
    if not settings.slack_sign_in:
        return CheckResult("presence", True, "off: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for /meet presence")
    return CheckResult("presence", True, f"register {settings.slack_user_redirect_uri} as a Redirect URL of "
                                         "the Slack app (OAuth & Permissions), with the user scopes "
                                         + ", ".join(settings.slack_user_scopes))


def redirect_line(settings: Settings) -> CheckResult:
    if settings.uses_delegation:
        return CheckResult("redirect", True, "domain-wide delegation: no Google redirect URI to register")
    return CheckResult("redirect", True, f"register {settings.google_redirect_uri} as an Authorized redirect URI of "
                                         "the Google OAuth client (Google Cloud console > Credentials)")


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
        problem = granted_scopes_problem(answer.headers.get("x-oauth-scopes"))
        if problem is not None:
            raise ScopesMissing(problem)
        return f"auth.test ok as {answer.get('user')} in {answer.get('team')}, with every manifest.yaml bot scope"

    async def google_probe() -> str:
        # Any HTTP answer proves the endpoint is reachable; the token endpoint refuses an empty grant with 400.
        async with httpx.AsyncClient(timeout=5) as http:
            token = await http.post(settings.google_token_url, data={})
            meet = await http.get(settings.meet_api_url + "/v2/spaces/meetbot-check")
        return f"token endpoint HTTP {token.status_code}, Meet API HTTP {meet.status_code}"

    return [
        CheckResult("config", True, "all variables present and well-formed"),
        public_url_check(settings.public_url),
        await _timed("redis", redis_probe),
        await _timed("slack", slack_probe),
        await _timed("google", google_probe),
        redirect_line(settings),
        slack_sign_in_line(settings),
    ]
