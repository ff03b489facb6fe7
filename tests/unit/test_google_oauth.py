"""bot.google against the OAuth half of the Meet emulator: PKCE, the authorization URL, code exchange, refresh
through google-auth on the httpx transport, revoke, userinfo, and the error tree."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.google.errors import GoogleAuthError, GoogleAuthUnavailable, InvalidClient, InvalidGrant
from bot.google.oauth import GoogleOAuth, TokenGrant
from bot.google.pkce import is_valid_verifier, make_verifier, s256_challenge
from bot.googleapi.tls import shared_tls
from tests.support.ports import free_port

CREATED = "https://www.googleapis.com/auth/meetings.space.created"
READONLY = "https://www.googleapis.com/auth/meetings.space.readonly"
REDIRECT = "http://127.0.0.1:3000/google/oauth/callback"


def test_pkce_verifier_and_rfc7636_s256_example() -> None:
    verifier = make_verifier()
    assert 43 <= len(verifier) <= 128 and is_valid_verifier(verifier)
    assert make_verifier() != verifier
    # RFC 7636 appendix B
    rfc_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    rfc_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert s256_challenge(rfc_verifier) == rfc_challenge
    for bad in ("short", "x" * 129, "a" * 42 + "!"):
        assert not is_valid_verifier(bad)
        with pytest.raises(ValueError):
            s256_challenge(bad)


def make_oauth(http: httpx.AsyncClient, emulator: Any, **overrides: Any) -> GoogleOAuth:
    options: dict[str, Any] = {
        "client_id": "meetbot",
        "client_secret": "meetbot-secret",
        "auth_url": emulator.auth_url,
        "token_url": emulator.token_url,
        "revoke_url": emulator.revoke_url,
        "userinfo_url": emulator.userinfo_url,
        "redirect_uri": REDIRECT,
        "scopes": [CREATED, READONLY],
        **overrides,
    }
    return GoogleOAuth(http, **options)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5, verify=shared_tls()) as client:
        yield client


@pytest.fixture
def oauth(http: httpx.AsyncClient, meet_emulator: Any) -> Iterator[GoogleOAuth]:
    client = make_oauth(http, meet_emulator)
    yield client
    client.close()


async def authorize(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    """The emulator's consent screen auto-consents: read the redirect it answers with."""
    response = await http.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def sign_in(http: httpx.AsyncClient, oauth: GoogleOAuth, verifier: str | None = None) -> tuple[str, str]:
    verifier = verifier or make_verifier()
    params = await authorize(http, oauth.authorization_url("s" * 43, s256_challenge(verifier), "alice@example.com"))
    return params["code"], verifier


def test_authorization_url_carries_every_required_parameter(oauth: GoogleOAuth, meet_emulator: Any) -> None:
    url = oauth.authorization_url("the-state", "the-challenge", "alice@example.com")
    assert url.startswith(meet_emulator.auth_url + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query == {
        "client_id": "meetbot",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": f"{CREATED} {READONLY} openid email",
        "state": "the-state",
        "access_type": "offline",
        "include_granted_scopes": "true",
        "prompt": "consent",
        "code_challenge": "the-challenge",
        "code_challenge_method": "S256",
        "login_hint": "alice@example.com",
    }
    assert "login_hint" not in oauth.authorization_url("s", "c", None)


async def test_code_exchange_and_userinfo(http: httpx.AsyncClient, oauth: GoogleOAuth, meet_emulator: Any) -> None:
    code, verifier = await sign_in(http, oauth)
    grant = await oauth.exchange_code(code, verifier)
    assert grant.access_token.startswith("ya29.") and grant.refresh_token
    assert CREATED in grant.scopes and READONLY in grant.scopes
    assert grant.access_token not in repr(grant) and grant.refresh_token not in repr(grant)
    identity = await oauth.userinfo(grant.access_token)
    assert identity.email == "alice@example.com"
    assert identity.sub == meet_emulator.state.user("alice@example.com")["sub"]


async def test_reused_code_and_pkce_mismatch_are_invalid_grant(http: httpx.AsyncClient, oauth: GoogleOAuth) -> None:
    code, verifier = await sign_in(http, oauth)
    await oauth.exchange_code(code, verifier)
    with pytest.raises(InvalidGrant):
        await oauth.exchange_code(code, verifier)
    code, _ = await sign_in(http, oauth)
    with pytest.raises(InvalidGrant) as caught:
        await oauth.exchange_code(code, make_verifier())
    assert code not in str(caught.value)


async def test_wrong_client_secret_is_invalid_client(
    http: httpx.AsyncClient, oauth: GoogleOAuth, meet_emulator: Any
) -> None:
    code, verifier = await sign_in(http, oauth)
    wrong = make_oauth(http, meet_emulator, client_secret="nope")
    with pytest.raises(InvalidClient):
        await wrong.exchange_code(code, verifier)
    wrong.close()


async def test_token_endpoint_outage_is_unavailable(
    http: httpx.AsyncClient, oauth: GoogleOAuth, meet_emulator: Any
) -> None:
    code, verifier = await sign_in(http, oauth)
    meet_emulator.state.inject_fault("oauth.token", 503)
    with pytest.raises(GoogleAuthUnavailable):
        await oauth.exchange_code(code, verifier)
    dead = make_oauth(http, meet_emulator, token_url=f"http://127.0.0.1:{free_port()}/token")
    with pytest.raises(GoogleAuthUnavailable):
        await dead.exchange_code(code, verifier)
    dead.close()


async def granted(http: httpx.AsyncClient, oauth: GoogleOAuth) -> TokenGrant:
    code, verifier = await sign_in(http, oauth)
    return await oauth.exchange_code(code, verifier)


async def test_refresh_through_google_auth(http: httpx.AsyncClient, oauth: GoogleOAuth, meet_emulator: Any) -> None:
    grant = await granted(http, oauth)
    assert grant.refresh_token is not None
    fresh = await oauth.refresh(grant.refresh_token)
    assert fresh.access_token != grant.access_token and fresh.refresh_token is None  # not rotated
    assert meet_emulator.state.refresh_grants == 1
    found, problem = meet_emulator.state.lookup_token(fresh.access_token)
    assert problem == "" and found.user == "alice@example.com"
    assert abs(fresh.expires_at - found.expires_at) < 5
    call = meet_emulator.state.calls_to("oauth.token")[-1]
    assert call["body"]["grant_type"] == "refresh_token" and "scope" not in call["body"]


async def test_refresh_of_a_revoked_token_is_invalid_grant(
    http: httpx.AsyncClient, oauth: GoogleOAuth, meet_emulator: Any
) -> None:
    grant = await granted(http, oauth)
    assert grant.refresh_token is not None
    assert await oauth.revoke(grant.refresh_token)
    assert grant.refresh_token in meet_emulator.state.revoked
    with pytest.raises(InvalidGrant) as caught:
        await oauth.refresh(grant.refresh_token)
    assert grant.refresh_token not in str(caught.value)


async def test_refresh_outages(http: httpx.AsyncClient, oauth: GoogleOAuth, meet_emulator: Any) -> None:
    grant = await granted(http, oauth)
    assert grant.refresh_token is not None
    meet_emulator.state.inject_fault("oauth.token", 502, body="<html>Bad Gateway</html>")
    with pytest.raises(GoogleAuthUnavailable):
        await oauth.refresh(grant.refresh_token)
    dead = make_oauth(http, meet_emulator, token_url=f"http://127.0.0.1:{free_port()}/token")
    with pytest.raises(GoogleAuthUnavailable):
        await dead.refresh(grant.refresh_token)
    dead.close()
    meet_emulator.state.inject_fault("oauth.token", 503)  # google-auth retries a transient error once (~1 s)
    assert (await oauth.refresh(grant.refresh_token)).access_token


async def test_revoke_results(http: httpx.AsyncClient, oauth: GoogleOAuth, meet_emulator: Any) -> None:
    grant = await granted(http, oauth)
    meet_emulator.state.inject_fault("oauth.revoke", 503)
    assert not await oauth.revoke(grant.access_token)
    assert await oauth.revoke(grant.access_token)
    assert await oauth.revoke("ya29.unknown")  # Google already refuses it: nothing left to revoke
    dead = make_oauth(http, meet_emulator, revoke_url=f"http://127.0.0.1:{free_port()}/revoke")
    assert not await dead.revoke(grant.access_token)
    dead.close()


async def test_userinfo_errors(http: httpx.AsyncClient, oauth: GoogleOAuth, meet_emulator: Any) -> None:
    with pytest.raises(GoogleAuthError) as caught:
        await oauth.userinfo("ya29.bogus")
    assert not isinstance(caught.value, GoogleAuthUnavailable) and "ya29.bogus" not in str(caught.value)
    meet_emulator.state.inject_fault("oauth.userinfo", 500)
    with pytest.raises(GoogleAuthUnavailable):
        await oauth.userinfo("ya29.bogus")


def test_google_auth_errors_map_onto_our_tree() -> None:
    from google.auth import exceptions as gexc

    from bot.google.errors import from_refresh_error

    def refresh_error(*args: object, retryable: bool = False) -> gexc.RefreshError:
        return gexc.RefreshError(*args, retryable=retryable)  # type: ignore[no-untyped-call]

    body = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    assert isinstance(from_refresh_error(refresh_error("x", body)), InvalidGrant)
    assert isinstance(from_refresh_error(refresh_error("x", {"error": "invalid_client"})), InvalidClient)
    assert isinstance(from_refresh_error(refresh_error("Reauthentication is needed. Please run…")), InvalidGrant)
    assert isinstance(from_refresh_error(refresh_error("<html>502</html>")), GoogleAuthUnavailable)
    retryable = refresh_error("x", {"error": "internal_failure"}, retryable=True)
    assert isinstance(from_refresh_error(retryable), GoogleAuthUnavailable)
    transport = gexc.TransportError("ConnectError")  # type: ignore[no-untyped-call]
    assert isinstance(from_refresh_error(transport), GoogleAuthUnavailable)


def test_no_requests_anywhere_in_bot() -> None:
    root = Path(__file__).resolve().parents[2]
    for path in (root / "bot").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import requests" not in text and "from requests" not in text, path
    code = (
        "import sys, bot.google.oauth, bot.google.delegation, bot.google.transport, bot.core.credentials,"
        " bot.core.linking;"
        "print('requests' in sys.modules, 'google.auth.transport.requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.split() == ["False", "False"]
