"""Per-user Google OAuth 2.0: authorization URL with PKCE, code exchange, refresh, revoke, userinfo.

The code exchange, revoke and userinfo are single async httpx calls. The refresh goes through google-auth's
`google.oauth2.credentials.Credentials` on the httpx transport (see transport.py), so its grant handling, retries on
5xx and error parsing are Google's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from google.auth import exceptions as gexc
from google.oauth2 import credentials as user_credentials

from bot.google.errors import (
    GoogleAuthError,
    GoogleAuthUnavailable,
    from_refresh_error,
    from_token_response,
)
from bot.google.transport import FALLBACK_LIFETIME, HttpxRequest, epoch_seconds, run_refresh
from bot.googleapi.calls import NO_ANSWER, answered
from bot.json_values import ReadJson

__all__ = ["GoogleIdentity", "GoogleOAuth", "TokenGrant"]

IDENTITY_SCOPES = ("openid", "email")


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    expires_at: float  # epoch seconds
    scopes: tuple[str, ...]  # granted scopes as Google reported them; () when the answer didn't say
    refresh_token: str | None  # a code exchange's refresh token, or a rotated one from a refresh

    def __repr__(self) -> str:
        return f"TokenGrant(expires_at={self.expires_at!r}, scopes={self.scopes!r})"


@dataclass(frozen=True, slots=True)
class GoogleIdentity:
    sub: str
    email: str
    email_verified: bool = False  # Google vouches that the account owns this address


class GoogleOAuth:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str,
        auth_url: str,
        token_url: str,
        revoke_url: str,
        userinfo_url: str,
        redirect_uri: str,
        scopes: Sequence[str],
        transport: HttpxRequest | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._auth_url = auth_url
        self._token_url = token_url
        self._revoke_url = revoke_url
        self._userinfo_url = userinfo_url
        self.redirect_uri = redirect_uri
        self.scopes = tuple(dict.fromkeys([*scopes, *IDENTITY_SCOPES]))
        self._transport = transport or HttpxRequest()
        self._clock = clock

    def close(self) -> None:
        """Close the sync client of the google-auth transport (the async client belongs to the caller)."""
        self._transport.close()

    def authorization_url(self, state: str, code_challenge: str, login_hint: str | None) -> str:
        params = {
            "client_id": self._client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "state": state,
            "access_type": "offline",  # a refresh token, so commands work while the user is away
            "include_granted_scopes": "true",
            "prompt": "consent",  # Google sends a refresh token again on re-link only with consent
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if login_hint:
            params["login_hint"] = login_hint
        separator = "&" if "?" in self._auth_url else "?"
        return self._auth_url + separator + urlencode(params)

    async def exchange_code(self, code: str, code_verifier: str) -> TokenGrant:
        """One attempt only: a code is single-use, so a retry after a lost answer would fail anyway."""
        body = await self._post_json(
            self._token_url,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "code_verifier": code_verifier,
            },
        )
        return self._grant(body)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        # No scopes: asking for scopes on refresh fails with invalid_scope when the user granted only some of them.
        creds = user_credentials.Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=refresh_token,
            token_uri=self._token_url,
            client_id=self._client_id,
            client_secret=self._client_secret,
        )
        try:
            await run_refresh(creds, self._transport)
        except (gexc.RefreshError, gexc.TransportError) as error:
            raise from_refresh_error(error) from None
        token = creds.token
        if not isinstance(token, str) or not token:
            raise GoogleAuthError("the token answer had no access token")
        rotated = creds.refresh_token if creds.refresh_token != refresh_token else None
        expires_at = epoch_seconds(creds.expiry) or self._clock() + FALLBACK_LIFETIME
        return TokenGrant(token, expires_at, (), rotated)

    async def revoke(self, token: str) -> bool:
        """True when Google no longer honours the token (revoked now, or already invalid); False if unsure."""
        try:
            response = await self._http.post(self._revoke_url, data={"token": token})
        except httpx.HTTPError:
            answered("oauth.revoke", NO_ANSWER)
            return False
        answered("oauth.revoke", response.status_code)
        if response.status_code == 200:
            return True
        return response.status_code == 400 and _json(response).get("error") == "invalid_token"

    async def userinfo(self, access_token: str) -> GoogleIdentity:
        try:
            response = await self._http.get(self._userinfo_url, headers={"Authorization": f"Bearer {access_token}"})
        except httpx.HTTPError:
            answered("oauth.userinfo", NO_ANSWER)
            raise GoogleAuthUnavailable("Google userinfo is unreachable") from None
        answered("oauth.userinfo", response.status_code)
        body = _json(response)
        if response.status_code != 200:
            raise from_token_response(response.status_code, body)
        sub, email = body.get("sub"), body.get("email")
        if not isinstance(sub, str) or not sub or not isinstance(email, str) or not email:
            raise GoogleAuthError("Google userinfo gave no sub or email (was the email scope granted?)")
        return GoogleIdentity(sub, email, body.get("email_verified") is True)

    async def _post_json(self, url: str, form: dict[str, str]) -> ReadJson:
        try:
            response = await self._http.post(url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError:
            answered("oauth.token", NO_ANSWER)
            raise GoogleAuthUnavailable("Google sign-in is unreachable") from None
        answered("oauth.token", response.status_code)
        body = _json(response)
        if response.status_code != 200:
            raise from_token_response(response.status_code, body or None)
        return body

    def _grant(self, body: ReadJson) -> TokenGrant:
        token, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(token, str) or not token:
            raise GoogleAuthError("the token answer had no access token")
        expires_in = body.get("expires_in")
        try:
            lifetime = float(expires_in) if expires_in is not None else FALLBACK_LIFETIME
        except (TypeError, ValueError):
            lifetime = FALLBACK_LIFETIME
        scope = body.get("scope")
        scopes = tuple(scope.split()) if isinstance(scope, str) else ()
        return TokenGrant(
            token, self._clock() + lifetime, scopes, refresh if isinstance(refresh, str) and refresh else None
        )


def _json(response: httpx.Response) -> ReadJson:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
