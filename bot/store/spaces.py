"""What meetbot remembers about spaces: code → id (a cache), and per space its owner, title and the cards showing it.

Codes are cached with a TTL because Google may reassign them. Space records and card lists expire too (several
days), but until then they are what keeps a posted card followed and its title: their writes are WAITed for like a
link's (bot/store/replication.py), so a failover right after a card was posted can't leave it unfollowed.

Also here, because it guards the card lists: the per-card edit lock (core.card_edits), taken only while the card is
still listed, in one script.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from redis.asyncio import Redis

from bot.domain import Card, SpaceInfo, Tenant, space_id_of
from bot.store.errors import translated
from bot.store.keys import Keys
from bot.store.locks import OwnedLocks, new_owner
from bot.store.replication import Replicas

__all__ = ["Card", "CardEditLocks", "SpaceInfo", "SpaceRecords"]

CODE_TTL = 6 * 60 * 60
SPACE_TTL = 14 * 24 * 60 * 60
CARD_TTL = 7 * 24 * 60 * 60
RECENT_KEPT = 10
# KEYS[1] the space's card list, KEYS[2] the card's lock; ARGV[1] the card's field, ARGV[2] the owner, ARGV[3] the
# lock's life (ms). -1: the card is no longer listed; 1: the lock is this owner's; 0: someone else holds it.
_TAKE_LISTED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 0
"""


@translated
class SpaceRecords:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._replicas = Replicas(redis)

    async def space_for_code(self, code: str) -> str | None:
        value = await self._redis.get(self._keys.space_by_code(code))
        return _text(value) if value else None

    async def forget_code(self, code: str) -> None:
        await self._redis.delete(self._keys.space_by_code(code))

    async def info(self, tenant: Tenant, space_id: str) -> SpaceInfo | None:
        return _info(await self._redis.get(self._keys.space_info(tenant, space_id)))

    async def learned(self, tenant: Tenant, space_name: str, code: str | None) -> SpaceInfo | None:
        """After Google answered a read: remember code → id (for later writes) and return what meetbot knows of
        the space, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        if code:
            pipe.set(self._keys.space_by_code(code), space_name, ex=CODE_TTL)
        pipe.get(self._keys.space_info(tenant, space_id_of(space_name)))
        results = await pipe.execute()
        return _info(results[-1])

    async def remember_created(self, tenant: Tenant, info: SpaceInfo, card: Card | None) -> bool:
        """One round trip: the space record, its code, the card that shows it, the owner's recent list.

        Returns whether the owner has a published Home tab (asked in the same round trip), so the caller knows
        whether re-rendering it is worth anything.
        """
        space_id = space_id_of(info.space_name)
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._keys.space_info(tenant, space_id), json.dumps(asdict(info)), ex=SPACE_TTL)
        if info.meeting_code:
            pipe.set(self._keys.space_by_code(info.meeting_code), info.space_name, ex=CODE_TTL)
        if card is not None:
            cards_key = self._keys.cards(tenant, space_id)
            pipe.hset(cards_key, card.field, card.kind)
            pipe.expire(cards_key, CARD_TTL)
        if info.owner_user_id:
            recent = self._keys.recent_meetings(tenant, info.owner_user_id)
            pipe.lrem(recent, 0, space_id)
            pipe.lpush(recent, space_id)
            pipe.ltrim(recent, 0, RECENT_KEPT - 1)
            pipe.expire(recent, SPACE_TTL)
            pipe.exists(self._keys.home_hash(tenant, info.owner_user_id))
        results = await self._replicas.kept(pipe, "a meeting's record")
        return bool(info.owner_user_id and results[-1])

    async def recent(self, tenant: Tenant, user_id: str, limit: int) -> list[SpaceInfo]:
        """The spaces this user started lately, newest first, with what meetbot remembers of each."""
        ids = await self._redis.lrange(self._keys.recent_meetings(tenant, user_id), 0, limit - 1)
        if not ids:
            return []
        raws = await self._redis.mget([self._keys.space_info(tenant, _text(i)) for i in ids])
        found = []
        for raw in raws:
            info = _info(raw)  # None: the space record expired (the id alone says nothing useful) or is unreadable
            if info is not None:
                found.append(info)
        return found

    async def add_card(self, tenant: Tenant, space_id: str, card: Card) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._keys.cards(tenant, space_id), card.field, card.kind)
        pipe.expire(self._keys.cards(tenant, space_id), CARD_TTL)
        await self._replicas.kept(pipe, "a meeting's card")

    async def forget_cards(self, tenant: Tenant, space_id: str, cards: list[Card]) -> None:
        if cards:
            await self._redis.hdel(self._keys.cards(tenant, space_id), *(c.field for c in cards))

    async def cards(self, tenant: Tenant, space_id: str) -> list[Card]:
        fields = await self._redis.hgetall(self._keys.cards(tenant, space_id))
        cards = []
        for raw, kind in fields.items():
            channel, _, ts = _text(raw).partition(":")
            cards.append(Card(channel, ts, "room" if _text(kind) == "room" else "meeting"))
        return sorted(cards, key=lambda c: (c.channel, c.ts))


@translated
class CardEditLocks:
    """The CardLocks port (bot/core/ports.py): an owned lock per card (bot/store/locks.py), taken only while the
    space still lists the card. A follower's edit costs two round trips more: the take and the release."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._locks = OwnedLocks(redis)
        self._take = redis.register_script(_TAKE_LISTED)

    async def take(self, tenant: Tenant, space_id: str, card: Card, ttl_ms: int) -> tuple[bool, str | None]:
        owner = new_owner()
        taken = await self._take(keys=[self._keys.cards(tenant, space_id), self._lock(tenant, card)],
                                 args=[card.field, owner, ttl_ms])
        return taken != -1, owner if taken == 1 else None

    async def renew(self, tenant: Tenant, card: Card, owner: str, ttl_ms: int) -> bool:
        return await self._locks.renew(self._lock(tenant, card), owner, ttl_ms)

    async def release(self, tenant: Tenant, card: Card, owner: str) -> None:
        await self._locks.release(self._lock(tenant, card), owner)

    async def editing(self, tenant: Tenant, cards: list[Card]) -> list[Card]:
        if not cards:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for card in cards:
            pipe.exists(self._lock(tenant, card))
        held = await pipe.execute()
        return [card for card, exists in zip(cards, held, strict=True) if exists]

    def _lock(self, tenant: Tenant, card: Card) -> str:
        return self._keys.card_lock(tenant, card.channel, card.ts)


def _info(raw: bytes | str | None) -> SpaceInfo | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
        data["cohosts"] = tuple(data.get("cohosts") or ())  # JSON has lists; the record compares as a tuple
        return SpaceInfo(**data)
    except (ValueError, TypeError, AttributeError):
        return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
