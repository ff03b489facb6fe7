"""Pending Google sign-ins: the OAuth `state` value → who asked, with which PKCE verifier, where to answer.

The state is 256 random bits, URL-safe. Its record is encrypted as a whole (the verifier, the `response_url` that
can post into the user's channel and the command text are all worth hiding), lives 10 minutes, and is taken out of
Redis with GETDEL: a state works once, whoever presents it first.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import asdict
from typing import cast

from redis.asyncio import Redis

from bot.domain import GoogleLink, HeldLink, PendingLink, Tenant
from bot.json_values import JsonObject, ReadJson, parse_object
from bot.store.crypto import TokenCipher, UnreadableRecord
from bot.store.errors import translated
from bot.store.keys import Keys
from bot.store.replication import Replicas

__all__ = ["STATE_TTL_SECONDS", "LinkConfirmations", "OAuthStateStore"]

log = logging.getLogger(__name__)

STATE_TTL_SECONDS = 600
_STATE_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,128}")  # what issue() makes; anything else is never looked up


@translated
class OAuthStateStore:
    def __init__(self, redis: Redis, keys: Keys, cipher: TokenCipher) -> None:
        self._redis = redis
        self._keys = keys
        self._cipher = cipher
        self._replicas = Replicas(redis)

    async def issue(self, pending: PendingLink) -> str:
        """A new state. Its link is handed to the user, so under Sentinel it counts once a replica has it (WAIT):
        a failover must not turn a link just given out into "that sign-in link expired"."""
        state = secrets.token_urlsafe(32)
        blob = self._cipher.encrypt(json.dumps(_pending_record(pending)))
        pipe = self._redis.pipeline(transaction=False)
        # NX: a collision of 256 random bits won't happen, but if it did the first pending link must not be replaced.
        pipe.set(self._keys.oauth_state(state), blob, ex=STATE_TTL_SECONDS, nx=True)
        if not (await self._replicas.kept(pipe, "a pending sign-in"))[0]:
            raise RuntimeError("OAuth state collision")
        return state

    async def consume(self, state: str) -> PendingLink | None:
        """The pending link, at most once per state. Unknown, expired, reused or malformed states give None."""
        if not _STATE_SHAPE.fullmatch(state):
            return None
        raw = cast(bytes | None, await self._redis.getdel(self._keys.oauth_state(state)))
        if raw is None:
            return None
        try:
            return _pending_from(json.loads(self._cipher.decrypt(raw)))
        except (UnreadableRecord, KeyError, ValueError, TypeError) as error:
            log.warning("a pending Google sign-in is unreadable (%s); refusing it", type(error).__name__)
            return None


def _pending_record(pending: PendingLink) -> JsonObject:
    record: JsonObject = asdict(pending)
    record["tenant"] = {"team_id": pending.tenant.team_id, "enterprise_id": pending.tenant.enterprise_id}
    return record


def _pending_from(data: ReadJson) -> PendingLink:
    return PendingLink(
        tenant=Tenant(str(data["tenant"]["team_id"]), _opt(data["tenant"].get("enterprise_id"))),
        user_id=str(data["user_id"]),
        code_verifier=str(data["code_verifier"]),
        response_url=_opt(data.get("response_url")),
        created_at=float(data["created_at"]),
        retry_text=_opt(data.get("retry_text")),
    )


@translated
class LinkConfirmations:
    """Held grants, encrypted as a whole, for 10 minutes, taken out once (GETDEL) by the confirm or cancel POST."""

    def __init__(self, redis: Redis, keys: Keys, cipher: TokenCipher) -> None:
        self._redis = redis
        self._keys = keys
        self._cipher = cipher

    async def hold(self, held: HeldLink) -> str:
        confirm_id = secrets.token_urlsafe(32)
        record = {"pending": _pending_record(held.pending), "link": asdict(held.link)}
        blob = self._cipher.encrypt(json.dumps(record))
        if not await self._redis.set(self._keys.link_confirmation(confirm_id), blob, ex=STATE_TTL_SECONDS, nx=True):
            raise RuntimeError("confirmation id collision")
        return confirm_id

    async def take(self, confirm_id: str) -> HeldLink | None:
        if not _STATE_SHAPE.fullmatch(confirm_id):
            return None
        raw = cast(bytes | None, await self._redis.getdel(self._keys.link_confirmation(confirm_id)))
        if raw is None:
            return None
        try:
            data = parse_object(self._cipher.decrypt(raw))
            link = dict(data["link"])
            link["scopes"] = tuple(link["scopes"])
            return HeldLink(_pending_from(data["pending"]), GoogleLink(**link))
        except (UnreadableRecord, KeyError, ValueError, TypeError) as error:
            log.warning("a held Google link is unreadable (%s); refusing it", type(error).__name__)
            return None


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
