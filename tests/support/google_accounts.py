"""A Slack workspace's Google accounts below Slack, for tests/core/test_linking.py and tests/core/test_credentials.py:
`Linking` and `Credentials` wired as bot/app.py wires them, over the real private Redis and the Meet/OAuth emulator
with real HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.core.credentials import Credentials
from bot.core.linking import Linking, LinkOutcome
from bot.domain import Tenant
from bot.google.oauth import GoogleOAuth
from bot.googleapi.tls import shared_tls
from bot.store.crypto import TokenCipher
from bot.store.google_links import DelegatedTokenCache, GoogleLinkStore, RefreshLock
from bot.store.keys import Keys
from bot.store.oauth_state import OAuthStateStore

__all__ = ["CREATED", "READONLY", "REDIRECT", "RESPONSE_URL", "SCOPES", "SLACK_EMAILS", "TENANT", "World",
           "assert_nothing_stored", "build", "open_world", "world_of"]

CREATED = "https://www.googleapis.com/auth/meetings.space.created"
READONLY = "https://www.googleapis.com/auth/meetings.space.readonly"
SCOPES = (CREATED, READONLY)
REDIRECT = "http://127.0.0.1:3000/google/oauth/callback"
TENANT = Tenant("T0001")
RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1/abc"


# Each test user's Slack profile email; a link is made only when the Google account's email is the same.
SLACK_EMAILS: dict[str, str] = {}


async def slack_email(_: Tenant, user_id: str) -> str | None:
    return SLACK_EMAILS.get(user_id)


def build(redis: aioredis.Redis, emulator: Any, http: httpx.AsyncClient, key: bytes, **kw: Any
          ) -> tuple[Linking, Credentials]:
    """One process's linking and credentials, sharing one link store, wired as bot/app.py wires them."""
    cipher = TokenCipher([key])
    oauth = kw.pop("oauth", GoogleOAuth(
        http, client_id="meetbot", client_secret="meetbot-secret", auth_url=emulator.auth_url,
        token_url=emulator.token_url, revoke_url=emulator.revoke_url, userinfo_url=emulator.userinfo_url,
        redirect_uri=REDIRECT, scopes=SCOPES,
    ))
    email_lookup = kw.pop("email_lookup", slack_email)
    links = GoogleLinkStore(redis, Keys(), cipher)
    credentials = Credentials(links, oauth, None, email_lookup, RefreshLock(redis, Keys()),
                              DelegatedTokenCache(redis, Keys(), cipher))
    linking = Linking(links, OAuthStateStore(redis, Keys(), cipher), oauth, None, email_lookup, SCOPES,
                      drop_cached=credentials.drop_cached, **kw)
    return linking, credentials


@dataclass
class World:
    linking: Linking
    credentials: Credentials
    links: GoogleLinkStore
    redis: aioredis.Redis
    emulator: Any
    http: httpx.AsyncClient
    key: bytes

    async def authorize(self, url: str) -> dict[str, str]:
        response = await self.http.get(url, follow_redirects=False)
        assert response.status_code == 302, response.text
        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}

    async def link(self, user: str = "U1", email: str = "alice@example.com", retry: str | None = None) -> LinkOutcome:
        SLACK_EMAILS[user] = email
        url = await self.linking.start_link(TENANT, user, RESPONSE_URL, email, retry)
        params = await self.authorize(url)
        return await self.linking.complete_link(params.get("state"), params.get("code"), params.get("error"))

    async def expire_access(self, user: str = "U1") -> str:
        link = await self.links.get(TENANT, user)
        assert link is not None and link.access_token
        await self.links.save_access_token(TENANT, user, link.access_token, time.time() - 1)
        return link.access_token

    async def google_link_keys(self) -> list[bytes]:
        return [k async for k in self.redis.scan_iter(match=Keys().google_link_pattern())]


def world_of(redis: aioredis.Redis, emulator: Any, http: httpx.AsyncClient, key: bytes) -> World:
    linking, credentials = build(redis, emulator, http, key)
    return World(linking, credentials, credentials._links, redis, emulator, http, key)


@asynccontextmanager
async def open_world(redis_client: aioredis.Redis, meet_emulator: Any) -> AsyncIterator[World]:
    """A fresh key and HTTP client, and no Slack emails yet; each test module's `world` fixture opens one."""
    SLACK_EMAILS.clear()  # a test sees only the emails it set, whichever tests ran before it in this process
    key = Fernet.generate_key()
    async with httpx.AsyncClient(timeout=5, verify=shared_tls()) as http:
        yield world_of(redis_client, meet_emulator, http, key)


async def assert_nothing_stored(world: World) -> None:
    assert await world.google_link_keys() == []
