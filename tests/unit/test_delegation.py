"""Domain-wide delegation against the emulator's jwt-bearer grant: google-auth signs, our httpx transport carries."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.core.credentials import Credentials
from bot.core.errors import DelegationInUse, DelegationRefused, ServiceUnavailable
from bot.core.linking import Linking
from bot.domain import Tenant
from bot.google import errors as google
from bot.google.delegation import DelegatedCredentials
from bot.store.crypto import TokenCipher
from bot.store.google_links import DelegatedTokenCache, GoogleLinkStore, RefreshLock
from bot.store.keys import Keys
from bot.store.oauth_state import OAuthStateStore
from tests.support.ports import free_port

CREATED = "https://www.googleapis.com/auth/meetings.space.created"
READONLY = "https://www.googleapis.com/auth/meetings.space.readonly"
SCOPES = (CREATED, READONLY)
SA_EMAIL = "meetbot@project.iam.gserviceaccount.com"
TENANT = Tenant("T0001")


def service_account_file(tmp_path: Path, emulator: Any, *, register: bool = True) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    if register:
        emulator.state.register_service_account(SA_EMAIL, public.decode(), domain="example.com")
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "project", "private_key_id": "k1", "private_key": pem.decode(),
        "client_email": SA_EMAIL, "client_id": "1234", "token_uri": "https://oauth2.googleapis.com/token",
    }))
    return path


async def test_token_for_impersonates_the_user(tmp_path: Path, meet_emulator: Any) -> None:
    delegation = DelegatedCredentials(service_account_file(tmp_path, meet_emulator), SCOPES, meet_emulator.token_url)
    grant = await delegation.token_for("alice@example.com")
    found, problem = meet_emulator.state.lookup_token(grant.access_token)
    assert problem == "" and found.user == "alice@example.com" and set(found.scopes) == set(SCOPES)
    assert grant.refresh_token is None and grant.expires_at > time.time() + 3000
    assert grant.access_token not in repr(grant)
    call = meet_emulator.state.calls_to("oauth.token")[-1]
    assert call["body"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    delegation.close()


async def test_user_outside_the_domain_is_refused(tmp_path: Path, meet_emulator: Any) -> None:
    delegation = DelegatedCredentials(service_account_file(tmp_path, meet_emulator), SCOPES, meet_emulator.token_url)
    with pytest.raises(google.DelegationRefused) as caught:
        await delegation.token_for("mallory@elsewhere.org")
    assert "mallory@elsewhere.org" in caught.value.reason and "domain" in caught.value.reason
    delegation.close()


async def test_configuration_faults_are_not_the_users_fault(tmp_path: Path, meet_emulator: Any) -> None:
    unknown = DelegatedCredentials(
        service_account_file(tmp_path, meet_emulator, register=False), SCOPES, meet_emulator.token_url
    )
    with pytest.raises(google.GoogleAuthError) as caught:
        await unknown.token_for("alice@example.com")
    assert not isinstance(caught.value, google.DelegationRefused | google.GoogleAuthUnavailable)
    unknown.close()
    down = DelegatedCredentials(
        service_account_file(tmp_path, meet_emulator), SCOPES, f"http://127.0.0.1:{free_port()}/token"
    )
    with pytest.raises(google.GoogleAuthUnavailable):
        await down.token_for("alice@example.com")
    down.close()


@dataclass
class Delegated:
    """Linking and credentials under domain-wide delegation, wired as bot/app.py wires them."""

    linking: Linking
    credentials: Credentials
    emails: dict[str, str | None]  # each user's Slack email


@pytest.fixture
async def accounts(tmp_path: Path, meet_emulator: Any, redis_client: aioredis.Redis) -> AsyncIterator[Delegated]:
    emails: dict[str, str | None] = {"U1": "alice@example.com", "U2": None, "U3": "mallory@elsewhere.org"}

    async def email_lookup(tenant: Tenant, user_id: str) -> str | None:
        return emails.get(user_id)

    cipher = TokenCipher([Fernet.generate_key()])
    delegation = DelegatedCredentials(service_account_file(tmp_path, meet_emulator), SCOPES, meet_emulator.token_url)
    links = GoogleLinkStore(redis_client, Keys(), cipher)
    credentials = Credentials(links, None, delegation, email_lookup, RefreshLock(redis_client, Keys()),
                              DelegatedTokenCache(redis_client, Keys(), cipher))
    linking = Linking(links, OAuthStateStore(redis_client, Keys(), cipher), None, delegation.scopes, email_lookup,
                      SCOPES, drop_cached=credentials.drop_cached)
    yield Delegated(linking, credentials, emails)
    delegation.close()


async def test_accounts_mint_and_cache_the_delegated_token(
    accounts: Delegated, meet_emulator: Any, redis_client: aioredis.Redis
) -> None:
    provider, emails = accounts.credentials, accounts.emails
    token = await provider.get_access_token(TENANT, "U1")
    assert meet_emulator.state.token_user(token) == "alice@example.com"
    assert await provider.get_access_token(TENANT, "U1") == token  # cached: one grant
    assert len(meet_emulator.state.calls_to("oauth.token")) == 1
    raw = await redis_client.get(Keys().delegated_token(TENANT, "U1"))
    assert raw is not None and token.encode() not in raw
    assert 3000 < await redis_client.ttl(Keys().delegated_token(TENANT, "U1")) <= 3600
    emails["U1"] = "bob@example.com"  # the Slack profile changed: the cached token was someone else's
    assert meet_emulator.state.token_user(await provider.get_access_token(TENANT, "U1")) == "bob@example.com"


async def test_accounts_single_flight_for_delegation(accounts: Delegated, meet_emulator: Any) -> None:
    provider = accounts.credentials
    tokens = await asyncio.gather(*(provider.get_access_token(TENANT, "U1") for _ in range(20)))
    assert len(set(tokens)) == 1 and len(meet_emulator.state.calls_to("oauth.token")) == 1


async def test_accounts_refusals_say_why(accounts: Delegated, meet_emulator: Any) -> None:
    provider = accounts.credentials
    with pytest.raises(DelegationRefused) as no_email:
        await provider.get_access_token(TENANT, "U2")
    assert "email" in no_email.value.reason
    with pytest.raises(DelegationRefused) as outside:
        await provider.get_access_token(TENANT, "U3")
    assert "mallory@elsewhere.org" in outside.value.reason
    with pytest.raises(DelegationInUse):
        await accounts.linking.start_link(TENANT, "U1", None, None)
    described = await accounts.linking.describe(TENANT, "U1")
    assert described is not None and described.via == "delegation" and described.google_email == "alice@example.com"
    assert described.scopes == SCOPES and described.refresh_token is None
    assert await accounts.linking.describe(TENANT, "U2") is None
    # What the credentials say a user's token may do is what linking describes: the delegated scopes, given an email.
    assert await provider.granted_scopes(TENANT, "U1") == SCOPES
    assert await provider.granted_scopes(TENANT, "U2") == ()
    meet_emulator.state.inject_fault("oauth.token", 502, body="<html>Bad Gateway</html>")
    with pytest.raises(ServiceUnavailable):
        await provider.get_access_token(TENANT, "U1")
    assert await provider.get_access_token(TENANT, "U1")


async def test_removing_a_user_drops_their_cached_delegated_token(
    accounts: Delegated, meet_emulator: Any, redis_client: aioredis.Redis
) -> None:
    """Slack revoking a user (linking.forget → disconnect) drops the token minted for them: linking calls the
    credentials' `drop_cached`, the hook bot/app.py wires, so the next call mints afresh."""
    token = await accounts.credentials.get_access_token(TENANT, "U1")
    assert await redis_client.exists(Keys().delegated_token(TENANT, "U1"))
    assert await accounts.linking.forget(TENANT, ["U1"]) == 0  # nothing was linked: delegation links nobody
    assert not await redis_client.exists(Keys().delegated_token(TENANT, "U1"))
    assert await accounts.credentials.get_access_token(TENANT, "U1") != token
    assert len(meet_emulator.state.calls_to("oauth.token")) == 2
