"""Google OAuth 2.0 half of the Meet emulator: users, access/refresh tokens, the authorize/token/revoke/userinfo
endpoints and their test controls. See /work/shared/reference/meet-api.md §6.

`OAuthState` is the base class of `meet.MeetState`; its `_lock` guards both halves. The request handlers here are
plain synchronous methods returning `OAuthReply`; `meet.py` wires them to aiohttp routes.

Only the `{"error", "error_description"}` shape and the error codes are documented; the description strings are
recollection (reference §6.2, §6.3) and tests should not depend on them, except "Token has been expired or revoked."
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emulators.google_api import signing_key

SCOPE_BASE = "https://www.googleapis.com/auth/"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_ISSUER = "https://accounts.google.com"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

CREATED = SCOPE_BASE + "meetings.space.created"
READONLY = SCOPE_BASE + "meetings.space.readonly"
SETTINGS = SCOPE_BASE + "meetings.space.settings"
USERINFO_EMAIL = SCOPE_BASE + "userinfo.email"
USERINFO_PROFILE = SCOPE_BASE + "userinfo.profile"
KNOWN_SCOPES = frozenset(
    {
        CREATED,
        READONLY,
        SETTINGS,
        SCOPE_BASE + "meetings.conference.media.readonly",
        SCOPE_BASE + "meetings.conference.media.audio.readonly",
        SCOPE_BASE + "meetings.conference.media.video.readonly",
        SCOPE_BASE + "drive.meet.readonly",
        USERINFO_EMAIL,
        USERINFO_PROFILE,
        "openid",
    }
)
_SHORT = {"email": USERINFO_EMAIL, "profile": USERINFO_PROFILE, "openid": "openid"}
EXPIRED_OR_REVOKED = "Token has been expired or revoked."


def normalize_scope(scope: str) -> str:
    """`meetings.space.created` → full URL; `email`/`profile` → their userinfo URLs; full URLs unchanged."""
    if scope in _SHORT:
        return _SHORT[scope]
    return scope if "://" in scope else SCOPE_BASE + scope


def normalize_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for scope in scopes:
        full = normalize_scope(scope)
        if full not in out:
            out.append(full)
    return tuple(out)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class User:
    email: str
    sub: str
    display_name: str
    email_verified: bool = True  # Google reports unverified addresses for some consumer and imported accounts

    @property
    def id(self) -> str:
        return f"users/{self.sub}"


@dataclass
class AccessToken:
    value: str
    user: str
    scopes: tuple[str, ...]
    client_id: str
    expires_at: float
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class RefreshToken:
    value: str
    user: str
    scopes: tuple[str, ...]
    client_id: str
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    user: str
    scopes: tuple[str, ...]
    challenge: str | None
    challenge_method: str
    offline: bool
    issue_refresh: bool
    nonce: str | None
    expires_at: float
    used: bool = False


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] | None = None  # None: any http(s) URI is accepted


@dataclass
class ServiceAccount:
    client_email: str
    public_key: rsa.RSAPublicKey
    domain: str
    client_id: str


@dataclass
class Consent:
    user: str | None = None
    granted_scopes: tuple[str, ...] | None = None
    deny: bool = False


@dataclass
class OAuthReply:
    """What an OAuth endpoint answers: JSON body, or a redirect when `location` is set."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    location: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    user: str | None = None  # the user the call acted for, for the call log
    html: str | None = None  # a page for a person (the consent screen), instead of JSON


def _oauth_error(status: int, error: str, description: str, **headers: str) -> OAuthReply:
    return OAuthReply(status, {"error": error, "error_description": description}, headers=dict(headers))


class OAuthState:
    """Users, tokens and OAuth endpoint logic. All public methods are thread-safe."""

    def __init__(
        self,
        *,
        default_user: str = "alice@example.com",
        access_token_lifetime: int = 3599,
        code_lifetime: float = 600.0,
        # emulator strictness, not Google's: Google accepts authorization requests without PKCE and `plain` PKCE;
        # the emulator demands S256 by default so that the bot's PKCE is exercised.
        require_pkce: bool = True,
        allow_plain_pkce: bool = False,
        issue_id_token: bool = True,
        # unverified: Google issues a refresh token only on the first offline consent or with prompt=consent
        # (reference §6.2, recollection). Off by default: every offline authorization gets one.
        refresh_token_requires_prompt_consent: bool = False,
        # unverified: Google's docs say revoking an access token also revokes its refresh token (not in reference).
        revoke_access_token_revokes_refresh: bool = True,
        # unverified: extra query parameters Google adds to the redirect ("may add authuser, prompt, hd").
        extra_redirect_params: Mapping[str, str] | None = None,
        # emulator presentation, not Google's behaviour: authorize shows a consent page with Allow and Deny (for
        # people, in the sandbox) instead of consenting at once (for tests).
        consent_page: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self.consent_page = consent_page
        self.default_user = default_user
        self.access_token_lifetime = access_token_lifetime
        self.code_lifetime = code_lifetime
        self.require_pkce = require_pkce
        self.allow_plain_pkce = allow_plain_pkce
        self.issue_id_token = issue_id_token
        self.refresh_token_requires_prompt_consent = refresh_token_requires_prompt_consent
        self.revoke_access_token_revokes_refresh = revoke_access_token_revokes_refresh
        self.extra_redirect_params = dict(
            {"authuser": "0", "prompt": "consent"} if extra_redirect_params is None else extra_redirect_params
        )
        self._signing_key: rsa.RSAPrivateKey | None = None
        self._time_offset = 0.0
        self._reset_oauth()

    def _reset_oauth(self) -> None:
        self._users: dict[str, User] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._codes: dict[str, AuthCode] = {}
        self._clients: dict[str, Client] = {"meetbot": Client("meetbot", "meetbot-secret")}
        self._service_accounts: dict[str, ServiceAccount] = {}
        self._consent = Consent()
        self._granted: dict[tuple[str, str], set[str]] = {}  # (user, client) → scopes ever granted
        self.refresh_grants = 0
        self.revoked: list[str] = []

    # -- clock -------------------------------------------------------------------------------------------------
    def now(self) -> float:
        """The emulator's clock (wall time plus `advance_time` offsets)."""
        return time.time() + self._time_offset

    def advance_time(self, seconds: float) -> None:
        """Move the emulator's clock forward: access tokens and auth codes expire, records age."""
        with self._lock:
            self._time_offset += seconds

    # -- users ---------------------------------------------------------------------------------------------------
    def _user(self, email: str) -> User:
        email = email.strip().lower()
        if "@" not in email:
            raise ValueError(f"users are identified by email, got {email!r}")
        user = self._users.get(email)
        if user is None:
            digest = int(hashlib.sha256(email.encode()).hexdigest()[:16], 16)
            sub = str(100000000000000000000 + digest % 10**20)  # stable 21-digit numeric id
            local = email.split("@", 1)[0]
            display = " ".join(part.capitalize() for part in local.replace("_", ".").split(".") if part)
            user = self._users[email] = User(email, sub, display or email)
        return user

    def user(self, email: str) -> dict[str, str]:
        """{email, sub, id ("users/<sub>"), displayName}; creates the user on first use."""
        with self._lock:
            u = self._user(email)
            return {"email": u.email, "sub": u.sub, "id": u.id, "displayName": u.display_name}

    # -- test controls ----------------------------------------------------------------------------------------------
    def mint_token(
        self, user: str, scopes: Iterable[str], client_id: str = "meetbot", expires_in: int | None = None
    ) -> str:
        """An access token for `user` with `scopes` (full URLs or short names), as if issued to `client_id`."""
        with self._lock:
            return self._issue_access(self._user(user).email, normalize_scopes(scopes), client_id, expires_in).value

    def expire_token(self, token: str) -> None:
        """Make an access token expire now (refresh tokens: revoke them instead)."""
        with self._lock:
            if token not in self._access:
                raise KeyError(f"unknown access token {token[:12]}…")
            self._access[token].expires_at = self.now() - 1

    def set_email_verified(self, email: str, verified: bool) -> None:
        """Whether userinfo (and ID tokens) report the user's email as verified."""
        with self._lock:
            self._user(email).email_verified = verified

    def set_consent(self, user: str, granted_scopes: Iterable[str] | None = None, deny: bool = False) -> None:
        """Who consents on the following authorizations (until changed or reset), and to which scopes
        (None: everything requested), or `deny` to refuse. Default without a call: the login_hint, else
        `default_user`, granting all requested scopes."""
        with self._lock:
            granted = None if granted_scopes is None else normalize_scopes(granted_scopes)
            self._consent = Consent(self._user(user).email, granted, deny)

    def register_client(self, client_id: str, client_secret: str, redirect_uris: Iterable[str] | None = None) -> None:
        """An OAuth client; `redirect_uris` None accepts any http(s) redirect URI."""
        with self._lock:
            uris = None if redirect_uris is None else tuple(redirect_uris)
            self._clients[client_id] = Client(client_id, client_secret, uris)

    def register_service_account(
        self, client_email: str, public_key_pem: str | bytes, domain: str = "example.com", client_id: str | None = None
    ) -> None:
        """A service account with domain-wide delegation over `domain`. `public_key_pem` is a PUBLIC KEY or a
        CERTIFICATE PEM. Tokens it mints carry `client_id` (default: the client email) as their app."""
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key: object = (
            x509.load_pem_x509_certificate(pem).public_key()
            if b"CERTIFICATE" in pem
            else serialization.load_pem_public_key(pem)
        )
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("service account keys must be RSA")
        with self._lock:
            self._service_accounts[client_email] = ServiceAccount(
                client_email, key, domain.lower(), client_id or client_email
            )

    def oauth_status(self) -> dict[str, Any]:
        with self._lock:
            return {"refresh_grants": self.refresh_grants, "revoked": list(self.revoked)}

    # -- token bookkeeping --------------------------------------------------------------------------------------
    def _issue_access(
        self,
        user: str,
        scopes: tuple[str, ...],
        client_id: str,
        expires_in: int | None = None,
        refresh: str | None = None,
    ) -> AccessToken:
        lifetime = self.access_token_lifetime if expires_in is None else expires_in
        token = AccessToken(
            "ya29." + secrets.token_urlsafe(32), user, scopes, client_id, self.now() + lifetime, refresh
        )
        self._access[token.value] = token
        return token

    def lookup_token(self, token: str | None) -> tuple[AccessToken | None, str]:
        """(token, "") when valid; (token or None, reason) otherwise. Reasons: CREDENTIALS_MISSING,
        ACCESS_TOKEN_EXPIRED (expired, revoked or unknown)."""
        with self._lock:
            if not token:
                return None, "CREDENTIALS_MISSING"
            found = self._access.get(token)
            if found is None or found.revoked or found.expires_at <= self.now():
                return found, "ACCESS_TOKEN_EXPIRED"
            return found, ""

    def token_user(self, token: str | None) -> str | None:
        with self._lock:
            found = self._access.get(token or "")
            return found.user if found else None

    def _token_reply(self, access: AccessToken, refresh: str | None, nonce: str | None = None) -> OAuthReply:
        body: dict[str, Any] = {
            "access_token": access.value,
            "expires_in": round(access.expires_at - self.now()),
            "scope": " ".join(access.scopes),
            "token_type": "Bearer",
        }
        if refresh:
            body["refresh_token"] = refresh
        if self.issue_id_token and "openid" in access.scopes:
            body["id_token"] = self._id_token(access, nonce)
        return OAuthReply(200, body, user=access.user)

    # -- id tokens ----------------------------------------------------------------------------------------------------
    def _key(self) -> rsa.RSAPrivateKey:
        if self._signing_key is None:
            self._signing_key = signing_key()
        return self._signing_key

    def _id_token(self, access: AccessToken, nonce: str | None) -> str:
        user = self._user(access.user)
        now = int(self.now())
        claims: dict[str, Any] = {
            "iss": GOOGLE_ISSUER,
            "azp": access.client_id,
            "aud": access.client_id,
            "sub": user.sub,
            "iat": now,
            "exp": now + 3600,
        }
        if USERINFO_EMAIL in access.scopes:
            claims.update(email=user.email, email_verified=user.email_verified)
        if nonce:
            claims["nonce"] = nonce
        header = {"alg": "RS256", "kid": "emulator", "typ": "JWT"}
        signing_input = (_b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())).encode()
        signature = self._key().sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return signing_input.decode() + "." + _b64url(signature)

    def jwks(self) -> dict[str, Any]:
        """JWKS of the id_token signing key (served at /oauth2/v3/certs)."""
        with self._lock:
            numbers = self._key().public_key().public_numbers()

        def enc(n: int) -> str:
            return _b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": "emulator",
                    "n": enc(numbers.n),
                    "e": enc(numbers.e),
                }
            ]
        }

    # -- endpoints -----------------------------------------------------------------------------------------------------
    def authorize(self, params: Mapping[str, str]) -> OAuthReply:
        """GET /o/oauth2/v2/auth: validate, auto-consent, redirect with a code (or access_denied)."""
        with self._lock:
            client = self._clients.get(params.get("client_id", ""))
            if client is None:
                return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
            redirect_uri = params.get("redirect_uri", "")
            parsed = urllib.parse.urlsplit(redirect_uri)
            if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.fragment:
                return _oauth_error(400, "redirect_uri_mismatch", "Missing or invalid redirect_uri.")
            if client.redirect_uris is not None and redirect_uri not in client.redirect_uris:
                return _oauth_error(400, "redirect_uri_mismatch", "The redirect URI is not registered.")
            state = params.get("state")

            def redirect(**query: str) -> OAuthReply:
                if state is not None:
                    query["state"] = state
                sep = "&" if parsed.query else "?"
                return OAuthReply(302, location=redirect_uri + sep + urllib.parse.urlencode(query))

            if params.get("response_type") != "code":
                return redirect(error="unsupported_response_type")
            requested = normalize_scopes(params.get("scope", "").split())
            if not requested:
                return _oauth_error(400, "invalid_request", "Missing required parameter: scope")
            unknown = [s for s in requested if s not in KNOWN_SCOPES]
            if unknown:
                return _oauth_error(400, "invalid_scope", f"Some requested scopes were invalid: {unknown}")
            challenge = params.get("code_challenge")
            method = params.get("code_challenge_method", "plain" if challenge else "")
            if challenge is None and self.require_pkce:
                return _oauth_error(400, "invalid_request", "Missing required parameter: code_challenge")
            if challenge is not None and method != "S256" and not (method == "plain" and self.allow_plain_pkce):
                return _oauth_error(400, "invalid_request", f"Invalid code_challenge_method: {method!r}")
            consent = self._consent
            decision = params.get("consent") if self.consent_page else "allow"
            chosen = params.get("account") if self.consent_page else None
            email = chosen or consent.user or params.get("login_hint") or self.default_user
            if decision not in ("allow", "deny"):
                return OAuthReply(200, html=consent_page_html(params, self._user(email).email, requested,
                                                              sorted(self._users)))
            if consent.deny or decision == "deny":
                return redirect(error="access_denied")
            user = self._user(email).email
            granted = [s for s in requested if consent.granted_scopes is None or s in consent.granted_scopes]
            key = (user, client.client_id)
            if params.get("include_granted_scopes") == "true":
                granted += [s for s in sorted(self._granted.get(key, ())) if s not in granted]
            first_consent = key not in self._granted
            self._granted.setdefault(key, set()).update(granted)
            offline = params.get("access_type") == "offline"
            prompts = params.get("prompt", "").split()
            issue_refresh = offline and (
                not self.refresh_token_requires_prompt_consent or first_consent or "consent" in prompts
            )
            code = AuthCode(
                "4/0" + secrets.token_urlsafe(24),
                client.client_id,
                redirect_uri,
                user,
                tuple(granted),
                challenge,
                method,
                offline,
                issue_refresh,
                params.get("nonce"),
                self.now() + self.code_lifetime,
            )
            self._codes[code.code] = code
            reply = redirect(code=code.code, scope=" ".join(granted), **self.extra_redirect_params)
            reply.user = user
            return reply

    def _client_auth(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> Client | OAuthReply:
        client_id, secret = basic if basic else (form.get("client_id", ""), form.get("client_secret", ""))
        client = self._clients.get(client_id)
        if client is None:
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if client.client_secret != secret:
            return _oauth_error(401, "invalid_client", "Unauthorized")
        return client

    def token(self, form: Mapping[str, str], basic: tuple[str, str] | None, token_urls: Iterable[str]) -> OAuthReply:
        """POST /token for the authorization_code, refresh_token and jwt-bearer grants."""
        with self._lock:
            grant = form.get("grant_type", "")
            if grant == JWT_BEARER:
                return self._jwt_grant(form.get("assertion", ""), set(token_urls))
            if grant not in ("authorization_code", "refresh_token"):
                return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
            client = self._client_auth(form, basic)
            if isinstance(client, OAuthReply):
                return client
            if grant == "authorization_code":
                return self._code_grant(form, client)
            return self._refresh_grant(form, client)

    def _code_grant(self, form: Mapping[str, str], client: Client) -> OAuthReply:
        code = self._codes.get(form.get("code", ""))
        if code is None or code.client_id != client.client_id:
            return _oauth_error(400, "invalid_grant", "Malformed auth code.")
        if code.used or code.expires_at <= self.now():
            return _oauth_error(400, "invalid_grant", "Bad Request")
        if form.get("redirect_uri") != code.redirect_uri:
            return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        verifier = form.get("code_verifier")
        if code.challenge is not None:
            if not verifier:
                return _oauth_error(400, "invalid_grant", "Missing code verifier.")
            if code.challenge_method == "S256":
                expected = _b64url(hashlib.sha256(verifier.encode()).digest())
            else:
                expected = verifier
            if not secrets.compare_digest(expected, code.challenge):
                return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
        code.used = True
        refresh = None
        if code.issue_refresh:
            refresh = "1//0" + secrets.token_urlsafe(40)
            self._refresh[refresh] = RefreshToken(refresh, code.user, code.scopes, client.client_id)
        access = self._issue_access(code.user, code.scopes, client.client_id, refresh=refresh)
        return self._token_reply(access, refresh, code.nonce)

    def _refresh_grant(self, form: Mapping[str, str], client: Client) -> OAuthReply:
        refresh = self._refresh.get(form.get("refresh_token", ""))
        if refresh is None or refresh.revoked:
            return _oauth_error(400, "invalid_grant", EXPIRED_OR_REVOKED)
        if refresh.client_id != client.client_id:
            return _oauth_error(400, "unauthorized_client", "Unauthorized")
        scopes = refresh.scopes
        if form.get("scope"):
            narrowed = normalize_scopes(form["scope"].split())
            if any(s not in refresh.scopes for s in narrowed):
                return _oauth_error(400, "invalid_scope", "Some requested scopes were not granted.")
            scopes = narrowed
        self.refresh_grants += 1
        access = self._issue_access(refresh.user, scopes, client.client_id, refresh=refresh.value)
        return self._token_reply(access, None)

    def _jwt_grant(self, assertion: str, token_urls: set[str]) -> OAuthReply:
        try:
            head_b64, claims_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(sig_b64)
        except ValueError:
            return _oauth_error(400, "invalid_grant", "Invalid JWT: malformed assertion.")
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
            return _oauth_error(400, "invalid_grant", "Invalid JWT: only RS256 assertions are accepted.")
        account = self._service_accounts.get(str(claims.get("iss", "")))
        if account is None:
            return _oauth_error(400, "invalid_grant", "Invalid grant: account not found")
        try:
            account.public_key.verify(
                signature, f"{head_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return _oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") not in token_urls | {GOOGLE_TOKEN_URL}:
            return _oauth_error(400, "invalid_grant", "Invalid JWT: audience is not the token endpoint.")
        now = self.now()
        iat, exp = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(iat, int | float)
            or not isinstance(exp, int | float)
            or exp <= now
            or iat > now + 300
            or exp - iat > 3600
        ):
            return _oauth_error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                "Check your iat and exp values in the JWT claim.",
            )
        scopes = normalize_scopes(str(claims.get("scope", "")).split())
        if not scopes:
            return _oauth_error(400, "invalid_scope", "Empty or missing scope not allowed.")
        subject = str(claims.get("sub") or account.client_email)
        if claims.get("sub") and subject.lower().rpartition("@")[2] != account.domain:
            return _oauth_error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client not authorized "
                "for any of the scopes requested.",
            )
        access = self._issue_access(self._user(subject).email, scopes, account.client_id)
        return self._token_reply(access, None)

    def revoke(self, token: str) -> OAuthReply:
        """POST /revoke: a refresh token dies with its access tokens; an access token (optionally) with its
        refresh token."""
        with self._lock:
            refresh = self._refresh.get(token)
            access = self._access.get(token)
            if (
                refresh is None
                and access is not None
                and access.refresh_token
                and not access.revoked
                and self.revoke_access_token_revokes_refresh
            ):
                refresh = self._refresh.get(access.refresh_token)
            if refresh is not None and not refresh.revoked:
                refresh.revoked = True
                self.revoked.append(refresh.value)
                for other in self._access.values():
                    if other.refresh_token == refresh.value and not other.revoked:
                        other.revoked = True
                        self.revoked.append(other.value)
                user = refresh.user
            elif access is not None and not access.revoked and access.expires_at > self.now():
                user = access.user
            else:
                return _oauth_error(400, "invalid_token", "Token expired or revoked")
            if access is not None and not access.revoked:
                access.revoked = True
                self.revoked.append(access.value)
            return OAuthReply(200, {}, user=user)

    def userinfo(self, token: str | None) -> OAuthReply:
        """GET /v1/userinfo (OpenID Connect)."""
        found, reason = self.lookup_token(token)
        if found is None or reason:
            return _oauth_error(
                401,
                "invalid_request",
                "Invalid Credentials",
                **{"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
            )
        if "openid" not in found.scopes and USERINFO_EMAIL not in found.scopes:
            return _oauth_error(
                403,
                "insufficient_scope",
                "Request had insufficient authentication scopes.",
                **{"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"'},
            )
        with self._lock:
            user = self._user(found.user)
        body: dict[str, Any] = {"sub": user.sub}
        if USERINFO_EMAIL in found.scopes:
            body.update(email=user.email, email_verified=user.email_verified)
        if USERINFO_PROFILE in found.scopes:
            body.update(name=user.display_name, given_name=user.display_name.split(" ")[0])
        return OAuthReply(200, body, user=user.email)


def consent_page_html(params: Mapping[str, str], email: str, scopes: Iterable[str], accounts: Iterable[str]) -> str:
    """Google's consent screen, reduced to what a person decides: which account, Allow or Deny. Both buttons
    re-send the authorization request with `consent` (and `account`) added."""
    esc = html.escape
    kept = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in params.items()
                   if k not in ("consent", "account"))
    choices = "".join(f'<option{" selected" if a == email else ""}>{esc(a)}</option>'
                      for a in dict.fromkeys([email, *accounts]))
    wanted = "".join(f"<li>{esc(s.removeprefix(SCOPE_BASE))}</li>" for s in scopes)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Sign in - Google Accounts</title>
<style>body{{font-family:Roboto,Arial,sans-serif;background:#f0f4f9;display:flex;justify-content:center;margin:0}}
main{{background:#fff;border-radius:28px;padding:36px 40px;margin-top:64px;width:440px}}
h1{{font-weight:400;font-size:28px;margin:8px 0}} .g{{font-size:22px;color:#4285f4;font-weight:500}}
select{{font-size:15px;padding:6px;width:100%;margin:12px 0}} li{{margin:4px 0;color:#444}}
.row{{display:flex;justify-content:flex-end;gap:12px;margin-top:28px}}
button{{border:0;border-radius:20px;padding:10px 24px;font-size:14px;cursor:pointer}}
#deny{{background:none;color:#0b57d0}} #allow{{background:#0b57d0;color:#fff}}</style></head>
<body><main><div class="g">Google</div><h1>meetbot wants to access your Google Account</h1>
<form method="get" id="consent-form">{kept}<label>Account <select name="account" id="account">{choices}</select>
</label><p>This will allow meetbot to:</p><ul>{wanted}</ul>
<div class="row"><button id="deny" name="consent" value="deny">Deny</button>
<button id="allow" name="consent" value="allow">Allow</button></div></form>
<p style="color:#666;font-size:12px">Emulated consent screen (emulators/meet_oauth.py).</p></main></body></html>"""
