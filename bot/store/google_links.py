"""Google account links: one Redis hash per (enterprise, team, Slack user), tokens encrypted, no TTL.

Hash fields: `v` (layout version), `sub`, `email`, `scopes` (space-separated), `linked_at`, `via`, and, Fernet
ciphertexts, `rt` (refresh token) and `at` (access token) with `exp` (its expiry, epoch seconds). Identity and
scopes stay readable for operators; only the tokens are secret. A hash (not one blob) lets a refresh update the
access token with one atomic command, without reading and re-encrypting the rest.

Also here, because they only exist for links: the cross-process refresh lock and the delegated-token cache.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from bot.domain import CachedToken, GoogleLink, Tenant
from bot.json_values import parse_object
from bot.store.crypto import TokenCipher, UnreadableRecord
from bot.store.errors import translated
from bot.store.keys import Keys
from bot.store.locks import OwnedLocks
from bot.store.replication import Replicas

__all__ = ["DelegatedTokenCache", "GoogleLinkStore", "RefreshLock", "RotationReport"]

log = logging.getLogger(__name__)

_VERSION = b"1"

# Update the access token only while the link still exists (a refresh racing a disconnect must not resurrect a
# partial record) and, when a guard is given, only while it is the same link (not one re-made meanwhile).
_REPLACE = "redis.call('DEL', KEYS[1]); redis.call('HSET', KEYS[1], unpack(ARGV)); return 1"
_SAVE_ACCESS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'linked_at') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'at', ARGV[2], 'exp', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'rt', ARGV[4]) end
return 1
"""

_GUARDED_DELETE = """
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'linked_at') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""

# Rotation writes a field back only if nobody changed it since it was read (ARGV: field, old, new triples).
_COMPARE_AND_SET = """
for i = 1, #ARGV, 3 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
for i = 1, #ARGV, 3 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2]) end
return 1
"""



@dataclass(frozen=True, slots=True)
class RotationReport:
    rotated: int
    unreadable: int


def _stamp(value: float) -> str:
    # repr round-trips a float exactly, so the stored text doubles as a compare-and-set guard.
    return repr(float(value))


@translated
class GoogleLinkStore:
    def __init__(self, redis: Redis, keys: Keys, cipher: TokenCipher) -> None:
        self._redis = redis
        self._keys = keys
        self.cipher = cipher
        self._save_access = redis.register_script(_SAVE_ACCESS)
        self._guarded_delete = redis.register_script(_GUARDED_DELETE)
        self._compare_and_set = redis.register_script(_COMPARE_AND_SET)
        self._replace = redis.register_script(_REPLACE)
        self._replicas = Replicas(redis)

    async def get(self, tenant: Tenant, user_id: str) -> GoogleLink | None:
        """The link, or None when there is none or it can't be read (logged, never raised)."""
        raw = cast(dict[bytes, bytes], await self._redis.hgetall(self._keys.google_link(tenant, user_id)))
        if not raw:
            return None
        try:
            return self._decode(raw)
        except (UnreadableRecord, KeyError, ValueError) as error:
            log.warning(
                "Google link of %s user %s is unreadable (%s); treating it as not linked",
                tenant.tag, user_id, type(error).__name__,
            )
            return None

    def _decode(self, raw: dict[bytes, bytes]) -> GoogleLink:
        if raw.get(b"v") != _VERSION:
            raise ValueError("unknown record layout")

        def secret(field: bytes) -> str | None:
            value = raw.get(field)
            return None if value is None else self.cipher.decrypt(value).decode()

        exp = raw.get(b"exp")
        return GoogleLink(
            google_sub=raw[b"sub"].decode(),
            google_email=raw[b"email"].decode(),
            scopes=tuple(raw[b"scopes"].decode().split()),
            refresh_token=secret(b"rt"),
            access_token=secret(b"at"),
            access_expires_at=None if exp is None else float(exp),
            linked_at=float(raw[b"linked_at"]),
            via=raw.get(b"via", b"oauth").decode(),
        )

    async def save(self, tenant: Tenant, user_id: str, link: GoogleLink) -> None:
        """Replace the user's link as a whole (DEL + HSET in one script: no stale field survives, nothing partial),
        confirmed by a replica when there is one."""
        fields: dict[str, bytes | str] = {
            "v": _VERSION,
            "sub": link.google_sub,
            "email": link.google_email,
            "scopes": " ".join(link.scopes),
            "linked_at": _stamp(link.linked_at),
            "via": link.via,
        }
        if link.refresh_token is not None:
            fields["rt"] = self.cipher.encrypt(link.refresh_token)
        if link.access_token is not None:
            fields["at"] = self.cipher.encrypt(link.access_token)
        if link.access_expires_at is not None:
            fields["exp"] = _stamp(link.access_expires_at)
        key = self._keys.google_link(tenant, user_id)
        await self._replicas.script(self._replace, [key], [part for pair in fields.items() for part in pair],
                                    "a Google link")

    async def delete(self, tenant: Tenant, user_id: str, *, linked_at: float | None = None) -> bool:
        """Delete the link. With `linked_at`, only if it is still that link (not one re-made since)."""
        guard = "" if linked_at is None else _stamp(linked_at)
        deleted = await self._guarded_delete(keys=[self._keys.google_link(tenant, user_id)], args=[guard])
        return bool(deleted)

    async def save_access_token(
        self,
        tenant: Tenant,
        user_id: str,
        token: str,
        expires_at: float,
        *,
        refresh_token: str | None = None,
        linked_at: float | None = None,
    ) -> bool:
        """Store a refreshed access token (and a rotated refresh token, if Google sent one) in one atomic step.

        False when the link is gone (or, with `linked_at`, was replaced): nothing is written then.
        """
        args: list[str | bytes] = [
            "" if linked_at is None else _stamp(linked_at),
            self.cipher.encrypt(token),
            _stamp(expires_at),
            b"" if refresh_token is None else self.cipher.encrypt(refresh_token),
        ]
        done = await self._save_access(keys=[self._keys.google_link(tenant, user_id)], args=args)
        return bool(done)

    async def expire_access_token(self, tenant: Tenant, user_id: str, token: str) -> bool:
        """Mark `token` used up, only while it is still the stored one: a token another process refreshed
        meanwhile is never overwritten with the dead one (which would make everyone refresh again)."""
        key = self._keys.google_link(tenant, user_id)
        stored, expires = cast(list[bytes | None], await self._redis.hmget(key, "at", "exp"))
        if stored is None or self.cipher.decrypt(stored).decode() != token:
            return False
        args: list[str | bytes] = ["at", stored, stored, "exp", b"" if expires is None else expires, _stamp(0.0)]
        return bool(await self._compare_and_set(keys=[key], args=args))

    async def linked_users(self, tenant: Tenant) -> list[str]:
        """The Slack users of one workspace who have a Google link (a SCAN: for rare, workspace-wide clean-ups)."""
        users = []
        async for key in self._redis.scan_iter(match=self._keys.google_link_pattern(tenant), count=500):
            tag = _safe(key).partition("{")[2].partition("}")[0]
            users.append(tag.rsplit(":", 1)[-1])
        return users

    async def rotate_report(self) -> RotationReport:
        rotated = unreadable = 0
        async for key in self._redis.scan_iter(match=self._keys.google_link_pattern(), count=500):
            if await self._rotate_one(key):
                rotated += 1
            else:
                unreadable += 1
                log.warning("Google link %s is unreadable with the configured keys; left as it is", _safe(key))
        return RotationReport(rotated, unreadable)

    async def _rotate_one(self, key: bytes) -> bool:
        for _ in range(5):  # a concurrent save re-encrypts with the first key anyway; then just re-read
            raw = cast(dict[bytes, bytes], await self._redis.hgetall(key))
            if not raw:
                return True  # deleted meanwhile: nothing left under an old key
            args: list[bytes] = []
            try:
                for field in (b"rt", b"at"):
                    if field in raw:
                        args += [field, raw[field], self.cipher.rotate(raw[field])]
            except UnreadableRecord:
                return False
            if not args or await self._compare_and_set(keys=[key], args=args):
                return True
        return False


def _safe(key: bytes) -> str:
    return key.decode(errors="replace")


@translated
class RefreshLock:
    """One refresh of a person's token at a time: an owned lock (bot/store/locks.py) on the person's key."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._keys = keys
        self._locks = OwnedLocks(redis)

    async def acquire(self, tenant: Tenant, user_id: str, ttl_ms: int) -> str | None:
        return await self._locks.take(self._keys.google_refresh_lock(tenant, user_id), ttl_ms)

    async def release(self, tenant: Tenant, user_id: str, owner: str) -> bool:
        return await self._locks.release(self._keys.google_refresh_lock(tenant, user_id), owner)

    async def renew(self, tenant: Tenant, user_id: str, owner: str, ttl_ms: int) -> bool:
        """Extend the lock while its owner still works; False when it is no longer theirs."""
        return await self._locks.renew(self._keys.google_refresh_lock(tenant, user_id), owner, ttl_ms)

    async def held(self, tenant: Tenant, user_id: str) -> bool:
        return await self._locks.held(self._keys.google_refresh_lock(tenant, user_id))


@translated
class DelegatedTokenCache:
    """Impersonated access tokens (domain-wide delegation), encrypted, expiring with the token."""

    def __init__(self, redis: Redis, keys: Keys, cipher: TokenCipher) -> None:
        self._redis = redis
        self._keys = keys
        self._cipher = cipher

    async def get(self, tenant: Tenant, user_id: str) -> CachedToken | None:
        raw = cast(bytes | None, await self._redis.get(self._keys.delegated_token(tenant, user_id)))
        if raw is None:
            return None
        try:
            data = parse_object(self._cipher.decrypt(raw))
            return CachedToken(str(data["token"]), float(data["exp"]), str(data["email"]))
        except (UnreadableRecord, KeyError, ValueError, TypeError):
            log.warning("cached delegated token of %s user %s is unreadable; minting a new one", tenant.tag, user_id)
            return None

    async def put(self, tenant: Tenant, user_id: str, cached: CachedToken, *, margin: float = 60.0) -> None:
        ttl = int(cached.expires_at - margin - time.time())
        if ttl <= 0:
            return  # would be stale before anyone reads it
        blob = json.dumps({"token": cached.token, "exp": cached.expires_at, "email": cached.email})
        await self._redis.set(self._keys.delegated_token(tenant, user_id), self._cipher.encrypt(blob), ex=ttl)

    async def delete(self, tenant: Tenant, user_id: str) -> None:
        await self._redis.delete(self._keys.delegated_token(tenant, user_id))
