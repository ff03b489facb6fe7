"""Pub/Sub half of the Workspace Events emulator: topics, subscriptions, push with a Google-signed OIDC token and
REST pull with acknowledgements (reference meet-api.md §13). `events.py` publishes into a `Broker` and serves its
routes; nothing here knows Workspace Events.

At least once, like Pub/Sub: a pushed message is redelivered until the endpoint answers 2xx (with a short backoff,
at most `push_max_attempts` times), a pulled one comes back when its ack deadline passes. Switches, for the bot's
tests: `pull_wait` (how long an idle pull is held open, answering as soon as a message comes; a client that gave
up sooner has the messages taken for its abandoned pull come back only after their ack deadline, as on Pub/Sub),
`duplicate` (every message delivered twice), `hold` (keep new messages back until released) and `reorder`
("none", "reverse" or "shuffle": the order a held batch is released in).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import itertools
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from emulators.google_api import ApiError, fmt_time, signing_key

GOOGLE_ISSUER = "https://accounts.google.com"
ACK_STATUSES = frozenset({102, 200, 201, 202, 204})  # what Pub/Sub push counts as an acknowledgement
REORDER_MODES = ("none", "reverse", "shuffle")
FORGERIES = ("bad_signature", "wrong_audience", "wrong_email", "wrong_issuer", "expired", "no_token")
DEFAULT_PUSH_ACCOUNT = "pubsub-push@meetbot-emulator.iam.gserviceaccount.com"
# Pub/Sub holds an idle `:pull` open until a message arrives, up to its RPC deadline ("tens of seconds", reference
# §14; the exact hold is unverified, hence a setting). Above the 5 s a shared client's read timeout would allow.
PULL_WAIT = 20.0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class PushSigner:
    """The key Pub/Sub signs push tokens with, and its certificate in Google's v1 certs format {kid: PEM}."""

    def __init__(self) -> None:
        self.key = signing_key()
        self.kid = secrets.token_hex(20)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pubsub-emulator.local")])
        now = dt.datetime.now(dt.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )

    def certs(self) -> dict[str, str]:
        return {self.kid: self.certificate.public_bytes(serialization.Encoding.PEM).decode()}

    def token(
        self,
        audience: str,
        email: str,
        *,
        issuer: str = GOOGLE_ISSUER,
        lifetime: int = 3600,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "azp": "1" + "".join(secrets.choice("0123456789") for _ in range(20)),
            "sub": str(abs(hash(email)) % 10**21),
            "email": email,
            "email_verified": True,
            "iat": now if lifetime > 0 else now - 7200,
            "exp": now + lifetime,
        }
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = (key or self.key).sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


@dataclass
class Message:
    id: str
    topic: str
    data: bytes
    attributes: dict[str, str]
    publish_time: dt.datetime

    def json(self, push: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "data": base64.b64encode(self.data).decode(),
            "attributes": dict(self.attributes),
            "messageId": self.id,
            "publishTime": fmt_time(self.publish_time),
        }
        if push:  # push envelopes carry both spellings
            out.update(message_id=self.id, publish_time=out["publishTime"])
        return out


@dataclass
class Pending:
    """One copy of a message waiting in one subscription."""

    message: Message
    attempts: int = 0
    ack_id: str | None = None
    visible_at: float = 0.0  # monotonic time it may be (re)delivered
    in_flight: bool = False


@dataclass
class Subscription:
    name: str  # projects/P/subscriptions/S
    topic: str
    push_endpoint: str | None
    audience: str | None
    service_account: str
    ack_deadline: float
    pending: list[Pending] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "topic": self.topic, "ackDeadlineSeconds": self.ack_deadline}
        if self.push_endpoint:
            out["pushConfig"] = {
                "pushEndpoint": self.push_endpoint,
                "oidcToken": {"serviceAccountEmail": self.service_account, "audience": self.audience_for()},
            }
        out["waiting"] = len(self.pending)
        return out

    def audience_for(self) -> str:
        return self.audience or self.push_endpoint or ""


class Broker:
    """Topics → subscriptions → pending messages. Thread-safe; push runs on the serving loop (`run_push`)."""

    def __init__(
        self,
        *,
        ack_deadline: float = 10.0,
        push_max_attempts: int = 5,
        push_backoff: float = 0.05,
        pull_wait: float = PULL_WAIT,
    ) -> None:
        self._lock = threading.RLock()
        self.signer = PushSigner()
        self.default_ack_deadline = ack_deadline
        self.push_max_attempts = push_max_attempts
        self.push_backoff = push_backoff
        self.pull_wait = pull_wait
        self.closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._subscriptions: dict[str, Subscription] = {}
            self._held: list[tuple[Subscription, Pending]] = []
            self._ids = itertools.count(int(time.time() * 1000) % 10**12)
            self.published: list[Message] = []
            self.deliveries: list[dict[str, Any]] = []
            self.duplicate = False
            self.hold = False
            self.reorder = "none"

    # -- configuration ------------------------------------------------------------------------------------------
    def configure_subscription(
        self,
        name: str,
        topic: str,
        push_endpoint: str | None = None,
        audience: str | None = None,
        service_account: str = DEFAULT_PUSH_ACCOUNT,
        ack_deadline: float | None = None,
    ) -> dict[str, Any]:
        """Create or replace a Pub/Sub subscription of `topic`: push to `push_endpoint`, else pull."""
        _check_name(name, "subscriptions")
        _check_name(topic, "topics")
        with self._lock:
            old = self._subscriptions.get(name)
            sub = Subscription(
                name,
                topic,
                push_endpoint,
                audience,
                service_account,
                self.default_ack_deadline if ack_deadline is None else float(ack_deadline),
                old.pending if old and old.topic == topic else [],
            )
            self._subscriptions[name] = sub
        self._poke()
        return sub.json()

    def delete_subscription(self, name: str) -> None:
        with self._lock:
            if self._subscriptions.pop(name, None) is None:
                raise KeyError(f"no Pub/Sub subscription {name!r}")

    def subscriptions(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.json() for s in self._subscriptions.values()]

    def set_switches(
        self, duplicate: bool | None = None, hold: bool | None = None, reorder: str | None = None
    ) -> dict[str, Any]:
        """Turning `hold` off releases the held messages, in `reorder` order."""
        if reorder is not None and reorder not in REORDER_MODES:
            raise ValueError(f"reorder must be one of {', '.join(REORDER_MODES)} (got {reorder!r})")
        with self._lock:
            if duplicate is not None:
                self.duplicate = bool(duplicate)
            if reorder is not None:
                self.reorder = reorder
            if hold is not None:
                self.hold = bool(hold)
                if not self.hold:
                    for sub, pending in self._ordered(self._held):
                        sub.pending.append(pending)
                    self._held = []
            switches = {"duplicate": self.duplicate, "hold": self.hold, "reorder": self.reorder}
        self._poke()
        return switches

    def _ordered(self, items: list[Any]) -> list[Any]:
        if self.reorder == "reverse":
            return list(reversed(items))
        if self.reorder == "shuffle":
            return random.sample(items, len(items))
        return list(items)

    # -- publishing -------------------------------------------------------------------------------------------
    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> Message:
        with self._lock:
            message = Message(str(next(self._ids)), topic, data, dict(attributes), dt.datetime.now(dt.UTC))
            self.published.append(message)
            for sub in self._subscriptions.values():
                if sub.topic != topic:
                    continue
                for _ in range(2 if self.duplicate else 1):
                    if self.hold:
                        self._held.append((sub, Pending(message)))
                    else:
                        sub.pending.append(Pending(message))
        self._poke()
        return message

    # -- pull ---------------------------------------------------------------------------------------------------
    def _subscription(self, name: str) -> Subscription:
        sub = self._subscriptions.get(name)
        if sub is None:
            raise ApiError(404, f"Resource not found (resource={name.rpartition('/')[2]}).")
        return sub

    async def pull(self, name: str, max_messages: int, gone: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        """Held open up to `pull_wait` until a message is there; `gone()`: the caller hung up, stop holding."""
        if max_messages <= 0:
            raise ApiError(400, "max_messages must be > 0", code_name="INVALID_ARGUMENT")
        deadline = time.monotonic() + self.pull_wait
        while True:
            if gone() or self.closing:
                return {}
            batch = self._take(name, max_messages)
            if batch or time.monotonic() >= deadline:
                return {"receivedMessages": batch} if batch else {}
            await asyncio.sleep(0.02)

    def _take(self, name: str, max_messages: int) -> list[dict[str, Any]]:
        with self._lock:
            sub = self._subscription(name)
            if sub.push_endpoint:
                raise ApiError(400, "Pull is not allowed on a push subscription.", code_name="FAILED_PRECONDITION")
            now = time.monotonic()
            ready = [p for p in sub.pending if p.visible_at <= now][:max_messages]
            out = []
            for pending in ready:
                pending.attempts += 1
                pending.ack_id = secrets.token_urlsafe(24)
                pending.visible_at = now + sub.ack_deadline
                out.append(
                    {"ackId": pending.ack_id, "message": pending.message.json(), "deliveryAttempt": pending.attempts}
                )
                self._log(sub, pending, "pull", None)
            return out

    def acknowledge(self, name: str, ack_ids: list[str]) -> None:
        with self._lock:
            sub = self._subscription(name)
            wanted = set(ack_ids)
            sub.pending = [p for p in sub.pending if p.ack_id not in wanted]  # stale ids are ignored, as in Pub/Sub

    def modify_ack_deadline(self, name: str, ack_ids: list[str], seconds: float) -> None:
        if not 0 <= seconds <= 600:
            raise ApiError(400, "ack_deadline_seconds must be between 0 and 600.", code_name="INVALID_ARGUMENT")
        with self._lock:
            sub = self._subscription(name)
            now = time.monotonic()
            for pending in sub.pending:
                if pending.ack_id in ack_ids:
                    pending.visible_at = now + seconds
        self._poke()

    # -- push ---------------------------------------------------------------------------------------------------
    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    async def run_push(self) -> None:
        """Deliver push subscriptions' messages until cancelled (runs on the serving loop)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            tasks: set[asyncio.Task[None]] = set()
            while True:
                for sub, pending in self._due():
                    task = asyncio.create_task(self._push(session, sub, pending))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                with contextlib.suppress(TimeoutError):  # wake up anyway for retries that fell due
                    await asyncio.wait_for(self._wake.wait(), timeout=0.05)
                self._wake.clear()

    def _due(self) -> list[tuple[Subscription, Pending]]:
        with self._lock:
            now = time.monotonic()
            due = []
            for sub in self._subscriptions.values():
                if not sub.push_endpoint:
                    continue
                for pending in sub.pending:
                    if not pending.in_flight and pending.visible_at <= now:
                        pending.in_flight = True
                        pending.attempts += 1
                        due.append((sub, pending))
            return due

    async def _push(self, session: aiohttp.ClientSession, sub: Subscription, pending: Pending) -> None:
        assert sub.push_endpoint is not None
        token = self.signer.token(sub.audience_for(), sub.service_account)
        status, error = await self.post(session, sub, pending.message, token)
        with self._lock:
            pending.in_flight = False
            self._log(sub, pending, "push", status, error)
            if status in ACK_STATUSES:
                if pending in sub.pending:
                    sub.pending.remove(pending)
            elif pending.attempts >= self.push_max_attempts:
                if pending in sub.pending:
                    sub.pending.remove(pending)
                self.deliveries[-1]["dropped"] = True
            else:
                pending.visible_at = time.monotonic() + self.push_backoff * 2 ** (pending.attempts - 1)
        self._poke()

    @staticmethod
    async def post(
        session: aiohttp.ClientSession, sub: Subscription, message: Message, token: str | None
    ) -> tuple[int | None, str | None]:
        envelope = {"message": message.json(push=True), "subscription": sub.name}
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        assert sub.push_endpoint is not None
        try:
            async with session.post(sub.push_endpoint, json=envelope, headers=headers) as response:
                await response.read()
                return response.status, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, type(exc).__name__

    async def forged_push(self, name: str, kind: str, message: Message) -> dict[str, Any]:
        """Push `message` once to a push subscription with a token that must not verify."""
        if kind not in FORGERIES:
            raise ValueError(f"kind must be one of {', '.join(FORGERIES)} (got {kind!r})")
        with self._lock:
            sub = self._subscription(name)
        if not sub.push_endpoint:
            raise ValueError(f"{name} is a pull subscription")
        audience, email = sub.audience_for(), sub.service_account
        token: str | None = {
            "bad_signature": lambda: self.signer.token(
                audience, email, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
            ),
            "wrong_audience": lambda: self.signer.token(audience + "/elsewhere", email),
            "wrong_email": lambda: self.signer.token(audience, "intruder@evil.example.com"),
            "wrong_issuer": lambda: self.signer.token(audience, email, issuer="https://evil.example.com"),
            "expired": lambda: self.signer.token(audience, email, lifetime=-3600),
            "no_token": lambda: None,
        }[kind]()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            status, error = await self.post(session, sub, message, token)
        with self._lock:
            self.deliveries.append(
                {"subscription": name, "messageId": message.id, "mode": "forged", "forgery": kind, "status": status}
            )
        return {"status": status, "error": error}

    def _log(
        self, sub: Subscription, pending: Pending, mode: str, status: int | None, error: str | None = None
    ) -> None:
        entry: dict[str, Any] = {
            "subscription": sub.name,
            "messageId": pending.message.id,
            "ceId": pending.message.attributes.get("ce-id"),
            "ceType": pending.message.attributes.get("ce-type"),
            "mode": mode,
            "attempt": pending.attempts,
            "status": status,
        }
        if error:
            entry["error"] = error
        self.deliveries.append(entry)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "published": [m.json() | {"topic": m.topic} for m in self.published],
                "deliveries": [dict(d) for d in self.deliveries],
            }


def _check_name(name: str, collection: str) -> None:
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != collection or not parts[1] or not parts[3]:
        raise ValueError(f"expected projects/PROJECT/{collection}/NAME, got {name!r}")
