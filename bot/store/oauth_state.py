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
from dataclasses import asdict, dataclass
from typing import Any, cast

from redis.asyncio import Redis

from bot.store.crypto import TokenCipher, UnreadableRecord
from bot.store.keys import Keys, Tenant

__all__ = ["STATE_TTL_SECONDS", "OAuthStateStore", "PendingLink"]

log = logging.getLogger(__name__)

STATE_TTL_SECONDS = 600
_STATE_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,128}")  # what issue() makes; anything else is never looked up


@dataclass(frozen=True, slots=True)
class PendingLink:
    tenant: Tenant
    user_id: str
    code_verifier: str
    response_url: str | None
    created_at: float
    retry_text: str | None = None  # the /meet command that was waiting on the connection, to retry in one click

    def __repr__(self) -> str:  # the verifier and response_url stay out of logs
        return f"PendingLink(tenant={self.tenant!r}, user_id={self.user_id!r}, created_at={self.created_at!r})"


class OAuthStateStore:
    def __init__(self, redis: Redis, keys: Keys, cipher: TokenCipher) -> None:
        self._redis = redis
        self._keys = keys
        self._cipher = cipher

    async def issue(self, pending: PendingLink) -> str:
        state = secrets.token_urlsafe(32)
        record = asdict(pending)
        record["tenant"] = {"team_id": pending.tenant.team_id, "enterprise_id": pending.tenant.enterprise_id}
        blob = self._cipher.encrypt(json.dumps(record))
        # NX: a collision of 256 random bits won't happen, but if it did the first pending link must not be replaced.
        if not await self._redis.set(self._keys.oauth_state(state), blob, ex=STATE_TTL_SECONDS, nx=True):
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
            data: dict[str, Any] = json.loads(self._cipher.decrypt(raw))
            tenant = Tenant(str(data["tenant"]["team_id"]), _opt(data["tenant"].get("enterprise_id")))
            return PendingLink(
                tenant=tenant,
                user_id=str(data["user_id"]),
                code_verifier=str(data["code_verifier"]),
                response_url=_opt(data.get("response_url")),
                created_at=float(data["created_at"]),
                retry_text=_opt(data.get("retry_text")),
            )
        except (UnreadableRecord, KeyError, ValueError, TypeError) as error:
            log.warning("a pending Google sign-in is unreadable (%s); refusing it", type(error).__name__)
            return None


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
