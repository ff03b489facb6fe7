"""What meetbot remembers of Slack itself: the hash of each user's last published Home tab (so a stale render
can't overwrite a newer one), who is rendering it right now (so processes coalesce), and users' profile emails (a
cache; Slack stays the source, and a `user_change` event forgets the entry)."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain import Tenant
from bot.store.errors import translated
from bot.store.keys import Keys

__all__ = ["NO_EMAIL", "EmailCache", "HomeHashes", "HomeRenders"]

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


# KEYS: lease, dirty, fresh. ARGV: this render's token, lease ms, changed (1: state changed, 0: the tab was opened).
_BEGIN = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[3] == '1' then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
  return 0
end
if ARGV[3] == '0' and redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# KEYS: lease, dirty, fresh. ARGV: the token, lease ms, fresh ms. 1: render again (a change came meanwhile).
_END = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
return 0
"""


@translated
class HomeRenders:
    """Coalesces Home-tab renders of one user across every process: one renders at a time (a lease); a change
    meanwhile makes it render once more; opening the tab just after a render, or during one, renders nothing."""

    def __init__(self, redis: Redis, keys: Keys, *, lease: float = 15.0, fresh: float = 2.0) -> None:
        self._keys = keys
        self._lease_ms, self._fresh_ms = str(int(lease * 1000)), str(int(fresh * 1000))
        self._begin = redis.register_script(_BEGIN)
        self._end = redis.register_script(_END)

    def _three(self, tenant: Tenant, user_id: str) -> list[str]:
        return [self._keys.home_render(tenant, user_id, part) for part in ("lease", "dirty", "fresh")]

    async def begin(self, tenant: Tenant, user_id: str, token: str, *, changed: bool) -> bool:
        """True: this caller renders now (and must call `again`). A dead renderer's lease lapses by itself."""
        return bool(await self._begin(keys=self._three(tenant, user_id),
                                      args=[token, self._lease_ms, "1" if changed else "0"]))

    async def again(self, tenant: Tenant, user_id: str, token: str) -> bool:
        """After a render: True if a change came meanwhile (render once more, the lease kept), else done."""
        return bool(await self._end(keys=self._three(tenant, user_id), args=[token, self._lease_ms, self._fresh_ms]))


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
