"""What meetbot remembers of Slack itself: the hash of each user's last published Home tab (so a stale render
can't overwrite a newer one) and users' profile emails (a cache; Slack stays the source, and a `user_change`
event forgets the entry)."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain import Tenant
from bot.store.errors import translated
from bot.store.keys import Keys

__all__ = ["NO_EMAIL", "EmailCache", "HomeHashes"]

HASH_TTL = 30 * 24 * 60 * 60
EMAIL_TTL = 24 * 60 * 60
NO_EMAIL = ""  # cached answer "Slack has no email for this user"
_NONE = b"-"
_PROBLEM = "!"  # "!<problem> <email>": a user who can't be a space member (a bot, deactivated, external), and why


@translated
class HomeHashes:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def last(self, tenant: Tenant, user_id: str) -> str | None:
        value = await self._redis.get(self._keys.home_hash(tenant, user_id))
        return value.decode() if isinstance(value, bytes) else value

    async def remember(self, tenant: Tenant, user_id: str, view_hash: str) -> None:
        await self._redis.set(self._keys.home_hash(tenant, user_id), view_hash, ex=HASH_TTL)

    async def published(self, tenant: Tenant, user_id: str) -> bool:
        """Whether the user has a Home tab (opened it at least once)."""
        return bool(await self._redis.exists(self._keys.home_hash(tenant, user_id)))


@translated
class EmailCache:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, tenant: Tenant, user_id: str) -> str | None:
        """The cached email, NO_EMAIL when Slack said there is none, None when nothing is cached."""
        found = await self.entry(tenant, user_id)
        if found is None:
            return None
        return found[0] or NO_EMAIL

    async def entry(self, tenant: Tenant, user_id: str) -> tuple[str | None, str | None] | None:
        """(email, problem) as cached, None when nothing is cached."""
        value = await self._redis.get(self._keys.slack_email(tenant, user_id))
        if value is None:
            return None
        text = value.decode() if isinstance(value, bytes) else str(value)
        if text == _NONE.decode():
            return None, None
        if text.startswith(_PROBLEM):
            problem, _, email = text[1:].partition(" ")
            return email or None, problem
        return text, None

    async def put(self, tenant: Tenant, user_id: str, email: str | None, problem: str | None = None) -> None:
        value = f"{_PROBLEM}{problem} {email or ''}" if problem else email or _NONE
        await self._redis.set(self._keys.slack_email(tenant, user_id), value, ex=EMAIL_TTL)

    async def forget(self, tenant: Tenant, user_id: str) -> None:
        await self._redis.delete(self._keys.slack_email(tenant, user_id))
