"""Followed meetings in Redis: each space's newest `LiveState`, who reads it, when it is due, and its recaps.

- The state is replaced only by a newer one (by `as_of`), in one script, so two processes reading the same space
  at once can't put an older picture back.
- The schedule is one sorted set (score = when due) with its own hash tag. `claim` leases what is due by pushing
  it `lease` seconds ahead in the same script: a process that dies mid-read leaves the space to be claimed again,
  never lost. `poke` only ever brings a read forward, never sooner than `window` after the last one.
- Everything expires when nothing shows the space any more (a week at most; a card that old is history).
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from bot.domain import LiveState, Phase, SubscriptionRecord, Tenant
from bot.store.errors import translated
from bot.store.keys import Keys

__all__ = ["EventRoutes", "FollowSchedule", "FollowedPhases", "LiveStates", "Recaps", "WorkspaceEventsSeen"]

STATE_TTL = 7 * 24 * 60 * 60
EVENT_SEEN_TTL = 7 * 24 * 60 * 60  # Pub/Sub redelivers for up to 7 days

_SAVE_NEWER = """
local current = redis.call('HGET', KEYS[1], 'as_of')
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return redis.call('HGET', KEYS[1], 'state')
end
redis.call('HSET', KEYS[1], 'as_of', ARGV[1], 'state', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return ARGV[2]
"""

# A read holds a lease on its space. A poke during a read doesn't move the schedule (that would hand the space to
# a second reader at once); it is noted, and the read's own rescheduling then brings the next read within `window`
# so that what the event announced is read even if the first read started too early to see it.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local until_ = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], until_, member)
  redis.call('HSET', KEYS[2], member, until_)
end
return due
"""

_AT = """  -- keys: due, last read, leases, pokes; args: member, when, read_at ('' if no read), window
local when = tonumber(ARGV[2])
if ARGV[3] ~= '' then
  local read_at = tonumber(ARGV[3])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('HDEL', KEYS[3], ARGV[1])
  local poked = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
  if poked >= read_at then
    when = math.min(when, read_at + tonumber(ARGV[4]))
  end
end
redis.call('ZADD', KEYS[1], when, ARGV[1])
return 1
"""

_POKE = """  -- keys: due, last read, leases, pokes; args: member, now, window
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
local now = tonumber(ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
if tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0') > now then
  return 1
end
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local at = math.max(now, last + tonumber(ARGV[3]))
if at < tonumber(score) then redis.call('ZADD', KEYS[1], at, ARGV[1]) end
return 1
"""


def _member(tenant: Tenant, space_id: str) -> str:
    return f"{tenant.enterprise_id or '-'}|{tenant.team_id}|{space_id}"


def _parse_member(raw: bytes | str) -> tuple[Tenant, str] | None:
    parts = _text(raw).split("|")
    if len(parts) != 3 or not all(parts):
        return None
    enterprise, team, space_id = parts
    return Tenant(team, None if enterprise == "-" else enterprise), space_id


@translated
class LiveStates:
    """The FollowMemory port: states and followers."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._save = redis.register_script(_SAVE_NEWER)

    async def state(self, tenant: Tenant, space_id: str) -> LiveState | None:
        raw = await self._redis.hget(self._keys.live_state(tenant, space_id), "state")
        return LiveState.from_json(raw) if raw else None

    async def save(self, tenant: Tenant, space_id: str, state: LiveState) -> LiveState:
        kept = await self._save(keys=[self._keys.live_state(tenant, space_id)],
                                args=[repr(state.as_of), state.to_json(), STATE_TTL])
        return LiveState.from_json(kept) or state

    async def follower(self, tenant: Tenant, space_id: str) -> str | None:
        raw = await self._redis.hget(self._keys.follow(tenant, space_id), "user")
        return _text(raw) if raw else None

    async def set_follower(self, tenant: Tenant, space_id: str, user_id: str, *, keep: bool = False) -> None:
        key = self._keys.follow(tenant, space_id)
        pipe = self._redis.pipeline(transaction=True)
        if keep:
            pipe.hsetnx(key, "user", user_id)
        else:
            pipe.hset(key, "user", user_id)
        pipe.expire(key, STATE_TTL)
        await pipe.execute()

    async def forget(self, tenant: Tenant, space_id: str) -> None:
        """Nothing shows the space any more: its follow record and state go (one slot: the team's tag)."""
        await self._redis.delete(self._keys.follow(tenant, space_id), self._keys.live_state(tenant, space_id))

    async def subscription(self, tenant: Tenant, space_id: str) -> SubscriptionRecord | None:
        raw = await self._redis.hmget(self._keys.follow(tenant, space_id), "sub", "sub_expires", "sub_state")
        name, expires, state = (_text(v) if v is not None else None for v in raw)
        if not name:
            return None
        return SubscriptionRecord(name, float(expires or 0), state or "active")

    async def set_subscription(self, tenant: Tenant, space_id: str, record: SubscriptionRecord | None) -> None:
        key = self._keys.follow(tenant, space_id)
        if record is None:
            await self._redis.hdel(key, "sub", "sub_expires", "sub_state")
            return
        await self._redis.hset(key, mapping={"sub": record.name, "sub_expires": repr(record.expires),
                                             "sub_state": record.state})


@translated
class FollowSchedule:
    """The Schedule port: live meetings by default; `name` gives another schedule the same leases."""

    def __init__(self, redis: Redis, keys: Keys, window: float = 2.0, name: str = "follow") -> None:
        self._redis = redis
        self._keys_of = keys
        self._keys = list(keys.schedule(name))
        self._window = window
        self._claim = redis.register_script(_CLAIM)
        self._at = redis.register_script(_AT)
        self._poke = redis.register_script(_POKE)

    async def claim(self, now: float, lease: float, limit: int) -> list[tuple[Tenant, str]]:
        raw = await self._claim(keys=[self._keys[0], self._keys[2]], args=[repr(now), repr(lease), limit])
        return [found for found in map(_parse_member, raw) if found is not None]

    async def at(self, tenant: Tenant, space_id: str, when: float, *, read_at: float | None = None) -> None:
        await self._at(keys=self._keys, args=[_member(tenant, space_id), repr(when),
                                              "" if read_at is None else repr(read_at), repr(self._window)])

    async def poke(self, tenant: Tenant, space_id: str, now: float, window: float, *, taken: str | None = None
                   ) -> bool:
        args = [_member(tenant, space_id), repr(now), repr(window)]
        if taken is None:
            return bool(await self._poke(keys=self._keys, args=args))
        # The poke, then the event's seen marker (WorkspaceEventsSeen.done), in one round trip. The marker has a
        # slot of its own, so no script can hold both: it is undone if the poke failed (a Redis that lost its
        # scripts pokes again through the loading path; anything else is raised, and Pub/Sub delivers again).
        seen = _seen_key(self._keys_of, taken)
        pipe = self._redis.pipeline(transaction=False)
        pipe.evalsha(self._poke.sha, len(self._keys), *self._keys, *args)
        pipe.set(seen, "1", ex=EVENT_SEEN_TTL)
        poked, marked = await pipe.execute(raise_on_error=False)
        if isinstance(poked, NoScriptError):
            try:
                poked = await self._poke(keys=self._keys, args=args)
            except Exception as error:  # undone below
                poked = error
        if isinstance(poked, Exception):
            await self._redis.delete(seen)
            raise poked
        if isinstance(marked, Exception):
            raise marked  # poked but not marked: a redelivery pokes again, which is harmless
        return bool(poked)

    async def drop(self, tenant: Tenant, space_id: str) -> None:
        member = _member(tenant, space_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrem(self._keys[0], member)
        for key in self._keys[1:]:
            pipe.hdel(key, member)
        await pipe.execute()


@translated
class FollowedPhases:
    """For metrics: how many followed meetings are waiting, live or ended, from the follow schedule and each
    space's newest state (one that has none yet shows waiting, as its cards do). One pipelined read per scrape,
    of at most LIMIT spaces."""

    LIMIT = 10_000

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._due = keys.schedule("follow")[0]

    async def count(self) -> dict[Phase, int]:
        members = await self._redis.zrange(self._due, 0, self.LIMIT - 1)  # without scores: names only
        followed = [m for m in (_parse_member(raw) for raw in members if isinstance(raw, bytes | str)) if m]
        counts = dict.fromkeys(Phase, 0)
        if not followed:
            return counts
        pipe = self._redis.pipeline(transaction=False)
        for tenant, space_id in followed:
            pipe.hget(self._keys.live_state(tenant, space_id), "state")
        for raw in await pipe.execute():
            state = LiveState.from_json(raw) if raw else None
            counts[state.phase if state is not None else Phase.WAITING] += 1
        return counts


@translated
class Recaps:
    """Per channel and conference, the recap message (in a card's thread): claimed once, then its ts."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def claim(self, tenant: Tenant, channel: str, conference: str) -> tuple[bool, str | None]:
        """(this caller may post it, the ts of one already posted). A claim without a ts means a post was
        started and may have landed: it is never posted a second time."""
        key = self._keys.recap(tenant, channel)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hsetnx(key, conference, "")
        pipe.hget(key, conference)
        pipe.expire(key, STATE_TTL)
        claimed, value, _ = await pipe.execute()
        return bool(claimed), (_text(value) or None) if value is not None else None

    async def posted(self, tenant: Tenant, channel: str, conference: str, ts: str) -> None:
        await self._redis.hset(self._keys.recap(tenant, channel), conference, ts)


@translated
class EventRoutes:
    """Events name a subscription, a space or a conference record; these records say which followed space (and
    workspace) that is. Routes live as long as states do."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    def _key(self, kind: str, ident: str) -> str:
        return _route_key(self._keys, kind, ident)

    async def link(self, tenant: Tenant, space_id: str, *, subscription: str | None = None,
                   conference: str | None = None) -> None:
        member = _member(tenant, space_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._key("space", space_id), member, ex=STATE_TTL)
        for kind, ident in (("sub", subscription), ("conf", conference)):
            if ident:
                pipe.set(self._key(kind, ident), member, ex=STATE_TTL)
        await pipe.execute()


def _seen_key(keys: Keys, event_id: str) -> str:
    return keys.workspace_event_seen(hashlib.sha256(event_id.encode()).hexdigest()[:32])


def _route_key(keys: Keys, kind: str, ident: str) -> str:
    return keys.event_route(kind, hashlib.sha256(ident.encode()).hexdigest()[:32])


@translated
class WorkspaceEventsSeen:
    """CloudEvents ids already accepted (Pub/Sub delivers at least once), read together with the event's routes
    (EventRoutes' records): one round trip per delivered event before it is acted on."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    def _key(self, event_id: str) -> str:
        return _seen_key(self._keys, event_id)

    async def look_up(self, event_id: str, *, subscription: str | None = None, space_id: str | None = None,
                      conference: str | None = None) -> tuple[bool, tuple[Tenant, str] | None]:
        routes = [(kind, ident) for kind, ident in (("sub", subscription), ("space", space_id),
                                                     ("conf", conference)) if ident]
        pipe = self._redis.pipeline(transaction=False)  # reads of several slots: no transaction needed
        pipe.exists(self._key(event_id))
        for kind, ident in routes:
            pipe.get(_route_key(self._keys, kind, ident))
        seen, *raw = await pipe.execute()
        found = next((m for m in (_parse_member(r) for r in raw if r) if m is not None), None)
        return bool(seen), found

    async def done(self, event_id: str) -> None:
        """Marked after the event's effects: a crash in between redelivers it, and its effects are idempotent."""
        await self._redis.set(self._key(event_id), "1", ex=EVENT_SEEN_TTL)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
