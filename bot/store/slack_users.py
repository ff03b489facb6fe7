"""People's own Slack user tokens ("Sign in with Slack", for presence) and their pending sign-ins.

A token is encrypted with the configured keys and kept without a TTL until the person signs out, disconnects, or
Slack revokes it; like a Google link, it counts as saved once a replica has it (bot/store/replication.py), and so
does a ticket handed out in Slack. A pending sign-in is a single-use ticket (the link handed out in Slack) that
becomes a single-use OAuth state when the browser opens it; both are encrypted (they carry a response_url), live
10 minutes, and are taken out of Redis with GETDEL, so each works once, whoever presents it first.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import cast

from redis.asyncio import Redis

from bot.domain import PendingSignIn, SlackUserGrant, Tenant
from bot.json_values import parse_object
from bot.store.crypto import TokenCipher, UnreadableRecord
from bot.store.errors import translated
from bot.store.google_links import RotationReport
from bot.store.keys import Keys
from bot.store.replication import Replicas

__all__ = ["SIGN_IN_TTL_SECONDS", "SlackSignIns", "SlackUserTokens"]

log = logging.getLogger(__name__)

SIGN_IN_TTL_SECONDS = 600
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,128}")  # what issue() makes; anything else is never looked up
_SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end
return 0
"""


@translated
class SlackUserTokens:
    def __init__(self, redis: Redis, keys: Keys, cipher: TokenCipher) -> None:
        self._redis = redis
        self._keys = keys
        self._cipher = cipher
        self._replicas = Replicas(redis)
        self._swap = redis.register_script(_SWAP)

    async def save(self, tenant: Tenant, grant: SlackUserGrant) -> None:
        record = {"user_id": grant.user_id, "team_id": grant.team_id, "token": grant.token,
                  "scopes": list(grant.scopes), "granted_at": grant.granted_at}
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._keys.slack_user_token(tenant, grant.user_id), self._cipher.encrypt(json.dumps(record)))
        await self._replicas.kept(pipe, "a Slack sign-in")

    async def get(self, tenant: Tenant, user_id: str) -> SlackUserGrant | None:
        raw = cast(bytes | None, await self._redis.get(self._keys.slack_user_token(tenant, user_id)))
        if raw is None:
            return None
        try:
            data = parse_object(self._cipher.decrypt(raw))
            return SlackUserGrant(str(data["user_id"]), str(data["team_id"]), str(data["token"]),
                                  tuple(str(s) for s in data["scopes"]), float(data["granted_at"]))
        except (UnreadableRecord, KeyError, ValueError, TypeError) as error:
            log.warning("a stored Slack user token is unreadable (%s); treated as absent", type(error).__name__)
            return None

    async def delete(self, tenant: Tenant, user_id: str) -> bool:
        return bool(await self._redis.delete(self._keys.slack_user_token(tenant, user_id)))

    async def rotate(self) -> RotationReport:
        """Re-encrypt every stored token with the first key (`python -m bot rotate-keys`).
        A token saved meanwhile is already under the first key, so only the ciphertext that was read is replaced."""
        rotated = unreadable = 0
        async for key in self._redis.scan_iter(match=self._keys.slack_user_pattern(), count=500):
            raw = cast(bytes | None, await self._redis.get(key))
            if raw is None:
                continue
            try:
                fresh = self._cipher.rotate(raw)
            except UnreadableRecord:
                unreadable += 1
                continue
            await self._swap(keys=[key], args=[raw, fresh])
            rotated += 1
        return RotationReport(rotated, unreadable)

    async def revoking(self, tenant: Tenant, user_id: str) -> None:
        """Remember (10 minutes) that meetbot itself is revoking the person's token."""
        await self._redis.set(self._keys.slack_signed_out(tenant, user_id), "1", ex=SIGN_IN_TTL_SECONDS)

    async def revoked_by_us(self, tenant: Tenant, user_id: str) -> bool:
        """Whether a revocation Slack reports was meetbot's own (once: the marker is taken)."""
        return bool(await self._redis.getdel(self._keys.slack_signed_out(tenant, user_id)))


@translated
class SlackSignIns:
    """The pending sign-ins: tickets (the link in Slack) and OAuth states (the trip through Slack's consent)."""

    def __init__(self, redis: Redis, keys: Keys, cipher: TokenCipher) -> None:
        self._redis = redis
        self._keys = keys
        self._cipher = cipher
        self._replicas = Replicas(redis)

    async def issue(self, kind: str, pending: PendingSignIn) -> str:
        value = secrets.token_urlsafe(32)
        record = {"team_id": pending.tenant.team_id, "enterprise_id": pending.tenant.enterprise_id,
                  "user_id": pending.user_id, "response_url": pending.response_url, "created_at": pending.created_at}
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._keys.slack_sign_in(kind, value), self._cipher.encrypt(json.dumps(record)),
                 ex=SIGN_IN_TTL_SECONDS, nx=True)
        if not (await self._replicas.kept(pipe, "a pending Slack sign-in"))[0]:
            raise RuntimeError("sign-in id collision")
        return value

    async def take(self, kind: str, value: str) -> PendingSignIn | None:
        """The pending sign-in, at most once. Unknown, expired, reused or malformed values give None."""
        if not _SHAPE.fullmatch(value):
            return None
        raw = cast(bytes | None, await self._redis.getdel(self._keys.slack_sign_in(kind, value)))
        if raw is None:
            return None
        try:
            data = parse_object(self._cipher.decrypt(raw))
            enterprise = data.get("enterprise_id")
            response_url = data.get("response_url")
            return PendingSignIn(Tenant(str(data["team_id"]), None if enterprise is None else str(enterprise)),
                                 str(data["user_id"]), None if response_url is None else str(response_url),
                                 float(data["created_at"]))
        except (UnreadableRecord, KeyError, ValueError, TypeError) as error:
            log.warning("a pending Slack sign-in is unreadable (%s); refusing it", type(error).__name__)
            return None
