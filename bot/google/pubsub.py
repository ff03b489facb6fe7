"""Workspace events arriving through Pub/Sub (reference meet-api.md §9, §13): verifying a push, decoding a message
into a `WorkspaceEvent`, and pulling with a service account.

Pull goes through Pub/Sub's REST API on the project's httpx client rather than `google-cloud-pubsub`: that client
pulls over gRPC StreamingPull (a second HTTP stack, threads of its own, and nothing an emulator speaks without
gRPC), while `:pull` / `:acknowledge` are two plain JSON calls that fit the bot's async code and its emulator.

Push tokens are verified with google-auth (`google.oauth2.id_token.verify_token`). google-auth fetches the certs on
every call unless the transport caches them, so `PushCerts` is a transport that keeps the certs response for its
Cache-Control max-age (at most `ttl`): verification then costs one RS256 check and no network. Pub/Sub sends one
token with many pushes, so `PushTokens` keeps each token that verified, by its exact text, until its `exp`: a push
with a known token costs a dictionary look-up, and any other token (a forgery included) is verified in full.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from google.auth import exceptions as gexc
from google.auth import transport
from google.oauth2 import id_token, service_account

from bot.google.errors import from_refresh_error
from bot.google.push_errors import MalformedEvent, PushRejected
from bot.google.rest import call_json
from bot.google.transport import HttpxRequest, epoch_seconds, run_refresh
from bot.googleapi.errors import ApiProtocolError, ApiReadTimeout
from bot.json_values import ReadJson

__all__ = [
    "DEFAULT_CERTS_URL",
    "PUBSUB_SCOPE",
    "Puller",
    "PushCerts",
    "PushTokens",
    "ServiceAccountToken",
    "WorkspaceEvent",
    "parse_message",
    "parse_push",
    "verify_push",
]

log = logging.getLogger(__name__)

DEFAULT_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
PUBSUB_SCOPE = "https://www.googleapis.com/auth/pubsub"
GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
LIFECYCLE_PREFIX = "google.workspace.events.subscription.v1."
_SUBSCRIPTION_SOURCE = re.compile(r"^//workspaceevents\.googleapis\.com/(subscriptions/[^/]+)$")
_SPACE_TARGET = re.compile(r"^//meet\.googleapis\.com/spaces/([^/]+)$")
_MAX_AGE = re.compile(r"max-age=(\d+)")


# ---------------------------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class WorkspaceEvent:
    """One CloudEvent. `resource_name` is what the data names (a conference record, a participant session, an
    artifact, or for lifecycle events the subscription). `space_id` is known only when the data says it (lifecycle
    events); Meet events name conference records, which the caller maps to a space."""

    id: str  # ce-id: the de-duplication key
    type: str
    time: datetime
    resource_name: str
    subscription_name: str | None
    space_id: str | None

    @property
    def is_lifecycle(self) -> bool:
        return self.type.startswith(LIFECYCLE_PREFIX)

    @property
    def conference_record(self) -> str | None:
        """`conferenceRecords/{id}` of a Meet event's resource."""
        if not self.resource_name.startswith("conferenceRecords/"):
            return None
        return "/".join(self.resource_name.split("/")[:2])


def parse_message(message: Mapping[str, Any]) -> WorkspaceEvent:
    """A Pub/Sub message (`attributes` + base64 `data`, the CloudEvents binary binding) → WorkspaceEvent."""
    attributes = message.get("attributes")
    if not isinstance(attributes, Mapping):
        raise MalformedEvent("the message has no attributes")
    event_id, kind, when = (attributes.get(k) for k in ("ce-id", "ce-type", "ce-time"))
    if not (isinstance(event_id, str) and event_id and isinstance(kind, str) and kind and isinstance(when, str)):
        raise MalformedEvent("the message lacks ce-id, ce-type or ce-time")
    try:
        data = json.loads(base64.b64decode(str(message.get("data", "")), validate=True))
        time_ = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", when).replace("Z", "+00:00"))
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: JSON nested deeper than Python goes
        raise MalformedEvent("the message's data or ce-time is malformed") from None
    if not isinstance(data, dict) or len(data) != 1:
        raise MalformedEvent("the event data should name exactly one resource")
    resource = next(iter(data.values()))
    name = resource.get("name") if isinstance(resource, dict) else None
    if not isinstance(name, str) or not name:
        raise MalformedEvent("the event data names no resource")
    subscription = None
    space_id = None
    if kind.startswith(LIFECYCLE_PREFIX):
        subscription = name
        target = resource.get("targetResource")
        found = _SPACE_TARGET.match(target) if isinstance(target, str) else None
        space_id = found.group(1) if found else None
    else:
        # Which of ce-source/ce-subject names the subscription and which the space is not documented for Meet
        # (§9): take each from whichever attribute has its form.
        for key in ("ce-source", "ce-subject"):
            value = attributes.get(key)
            if not isinstance(value, str):
                continue
            if (found := _SUBSCRIPTION_SOURCE.match(value)) is not None:
                subscription = subscription or found.group(1)
            elif (found := _SPACE_TARGET.match(value)) is not None:
                space_id = space_id or found.group(1)
    return WorkspaceEvent(event_id, kind, time_, name, subscription, space_id)


def parse_push(body: bytes | str | Mapping[str, Any]) -> WorkspaceEvent:
    """A Pub/Sub push envelope `{"message": {...}, "subscription": ...}` → WorkspaceEvent (MalformedEvent if not)."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            raise MalformedEvent("the push body is not JSON (or nests too deep)") from None
    message = body.get("message") if isinstance(body, Mapping) else None
    if not isinstance(message, Mapping):
        raise MalformedEvent("the push body has no message")
    return parse_message(message)


# ---------------------------------------------------------------------------------------------------------------
# Push verification


class _CachedResponse(transport.Response):
    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self._status, self._headers, self._data = status, dict(headers), data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class PushCerts(transport.Request):
    """The keys that sign push tokens (GOOGLE_CERTS_URL), fetched through `HttpxRequest` and kept for the response's
    max-age (at most `ttl` seconds). A google-auth transport: pass it as `request` with `certs_url=self.url`."""

    def __init__(self, url: str = DEFAULT_CERTS_URL, ttl: float = 3600.0, inner: HttpxRequest | None = None) -> None:
        self.url = url
        self._ttl = ttl
        self._inner = inner or HttpxRequest()
        self._lock = threading.Lock()
        self._cached: _CachedResponse | None = None
        self._expires = 0.0
        self.fetches = 0

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> transport.Response:
        if url != self.url or method != "GET":
            return self._inner(url, method, body, headers, timeout, **kwargs)
        with self._lock:
            if self._cached is not None and time.monotonic() < self._expires:
                return self._cached
            response = self._inner(url, "GET", None, headers, timeout)
            self.fetches += 1
            if response.status != 200:
                return response  # not cached: the next push tries again
            found = _MAX_AGE.search(response.headers.get("Cache-Control", ""))
            lifetime = min(self._ttl, float(found.group(1))) if found else self._ttl
            self._cached = _CachedResponse(response.status, response.headers, response.data)
            self._expires = time.monotonic() + lifetime
            return self._cached

    def prefetch(self) -> None:
        """Fetch the certs now (blocking: at start-up, or through asyncio.to_thread), so no push waits for them."""
        self(self.url)

    def close(self) -> None:
        self._inner.close()


def verify_push(authorization_header: str | None, audience: str, push_account: str | None, certs: PushCerts) -> Any:
    """Check a push's `Authorization: Bearer <OIDC token>`: Google's signature, issuer, `audience`, a verified
    `email` equal to `push_account` when given. Returns the claims; raises PushRejected. Synchronous and network-free
    once the certs are cached (the first call, and one per max-age, fetches them)."""
    scheme, _, token = (authorization_header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PushRejected("the push has no bearer token")
    try:
        claims = id_token.verify_token(token.strip(), certs, audience=audience, certs_url=certs.url)
    except gexc.TransportError:
        raise PushRejected("the keys that sign push tokens could not be fetched") from None
    except (ValueError, gexc.GoogleAuthError) as exc:
        raise PushRejected(f"the push token does not verify ({type(exc).__name__})") from None
    if not isinstance(claims, Mapping) or claims.get("iss") not in GOOGLE_ISSUERS:
        raise PushRejected("the push token was not issued by Google")
    wrong_account = claims.get("email") != push_account or claims.get("email_verified") is not True
    if push_account is not None and wrong_account:
        raise PushRejected("the push token is for another service account")
    return claims


class PushTokens:
    """`verify_push` for one audience and push account, remembering the tokens that verified (by their exact text,
    at most `size` of them) until their `exp`. Only a token that passed every check is kept, so a kept one is
    accepted as `verify_push` would accept it again before it expires; a token that differs in any byte (another
    signature, other claims) is verified in full. Not thread-safe: use it from the event loop."""

    def __init__(self, audience: str, push_account: str | None, certs: PushCerts, *, size: int = 64,
                 clock: Callable[[], float] = time.time,
                 verify: Callable[[str | None, str, str | None, PushCerts], Any] = verify_push) -> None:
        self._audience, self._push_account, self._certs = audience, push_account, certs
        self._size, self._clock, self._verify = size, clock, verify
        self._known: OrderedDict[str, tuple[float, Mapping[str, Any]]] = OrderedDict()

    def known(self, authorization_header: str | None) -> Mapping[str, Any] | None:
        """The claims of a token that verified before and has not expired; None: verify it (`check`)."""
        found = self._known.get(authorization_header or "")
        if found is None:
            return None
        expires, claims = found
        if self._clock() > expires:  # google-auth refuses once now > exp: so does this
            del self._known[authorization_header or ""]
            return None
        return claims

    async def check(self, authorization_header: str | None) -> Mapping[str, Any]:
        """The token's claims, verified now or before; raises PushRejected. A token not seen yet is verified in a
        thread: the first one after start-up, and one per certs max-age, fetches the certs synchronously."""
        if (kept := self.known(authorization_header)) is not None:
            return kept
        claims: Mapping[str, Any] = await asyncio.to_thread(
            self._verify, authorization_header, self._audience, self._push_account, self._certs)
        expires = claims.get("exp")
        if authorization_header and isinstance(expires, int | float):
            self._known[authorization_header] = (float(expires), claims)
            while len(self._known) > self._size:
                self._known.popitem(last=False)  # the oldest: Pub/Sub moves on to newer tokens
        return claims


# ---------------------------------------------------------------------------------------------------------------
# Pull


class ServiceAccountToken:
    """Access tokens of the service account in a key file (GOOGLE_APPLICATION_CREDENTIALS), from its `token_uri`,
    refreshed through the httpx transport when they near expiry."""

    def __init__(
        self,
        key_file: Path | str,
        scopes: Sequence[str] = (PUBSUB_SCOPE,),
        transport_: HttpxRequest | None = None,
    ) -> None:
        self._credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(key_file), scopes=list(scopes)
        )
        self.email: str = self._credentials.service_account_email
        self._transport = transport_ or HttpxRequest()
        self._lock = asyncio.Lock()

    async def __call__(self) -> str:
        async with self._lock:
            expires = epoch_seconds(self._credentials.expiry)
            if not self._credentials.token or expires is None or expires - time.time() < 60:
                try:
                    await run_refresh(self._credentials, self._transport)
                except (gexc.RefreshError, gexc.TransportError) as exc:
                    raise from_refresh_error(exc) from None
            token = self._credentials.token
            if not isinstance(token, str) or not token:
                raise ApiProtocolError("the token answer had no access token")
            return token

    def close(self) -> None:
        self._transport.close()


PULL_HOLD = 90.0  # seconds a pull may wait for its answer: Pub/Sub holds an idle pull open up to its RPC deadline


class Puller:
    """`Puller(http, base_url, subscription, credentials)`: pull and acknowledge one Pub/Sub subscription
    (projects/P/subscriptions/S) over REST. `base_url` is PUBSUB_API_URL.

    Pub/Sub holds a pull open until messages arrive (reference §14). A pull that gave up sooner, at the shared
    client's 5 s, logged an error every idle cycle, and messages handed to the abandoned pull came back only after
    their ack deadline: a pull waits up to `hold` seconds, and a pull that still got no answer is "no messages"."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, subscription: str, credentials: ServiceAccountToken,
        *, hold: float = PULL_HOLD,
    ) -> None:
        if not re.match(r"^projects/[^/]+/subscriptions/[^/]+$", subscription):
            raise ValueError("a Pub/Sub subscription looks like projects/PROJECT/subscriptions/NAME")
        self._http = http
        self._url = f"{base_url.rstrip('/')}/v1/{subscription}"
        self._credentials = credentials
        self._pull_timeout = httpx.Timeout(connect=5.0, read=hold, write=5.0, pool=5.0)
        self.subscription = subscription

    async def pull(self, max_messages: int = 100) -> list[tuple[str, WorkspaceEvent]]:
        """Up to `max_messages` events with their ack ids; possibly none. Messages that are no Workspace event are
        acknowledged at once (they would come back forever) and logged without their content."""
        try:
            data = await self._call(":pull", {"maxMessages": max_messages}, "pubsub.pull", self._pull_timeout)
        except ApiReadTimeout:
            return []  # held open with nothing to deliver: an idle subscription, not a failure
        received = data.get("receivedMessages")
        out: list[tuple[str, WorkspaceEvent]] = []
        junk: list[str] = []
        for item in received if isinstance(received, list) else []:
            ack_id = item.get("ackId") if isinstance(item, dict) else None
            if not isinstance(ack_id, str):
                continue
            try:
                out.append((ack_id, parse_message(item.get("message") or {})))
            except MalformedEvent as exc:
                log.warning("dropping a Pub/Sub message that is not a Workspace event: %s", exc)
                junk.append(ack_id)
        if junk:
            await self.ack(junk)
        return out

    async def ack(self, ack_ids: Sequence[str]) -> None:
        if ack_ids:
            await self._call(":acknowledge", {"ackIds": list(ack_ids)}, "pubsub.acknowledge")

    async def extend(self, ack_ids: Sequence[str], seconds: int) -> None:
        """Keep messages from coming back for `seconds` more (0: let them come back now)."""
        if ack_ids:
            body = {"ackIds": list(ack_ids), "ackDeadlineSeconds": seconds}
            await self._call(":modifyAckDeadline", body, "pubsub.modifyAckDeadline")

    async def _call(self, verb: str, body: Mapping[str, Any], operation: str,
                    http_timeout: httpx.Timeout | None = None) -> ReadJson:
        token = await self._credentials()
        return await call_json(self._http, "POST", self._url + verb, token, operation=operation, body=body,
                               http_timeout=http_timeout)

