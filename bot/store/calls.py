"""Slack call objects in Redis: the call registered for each conference and who meetbot told Slack is in it
(core.calls' CallMemory), whether Calls are off for a workspace for now, and which Google users are linked to which
Slack users (its LinkedPeople).

A call record lives as long as a followed meeting's state (a week); the "off" marker and the log-once markers expire
by themselves, so an admin who adds the scope sees calls come back within the hour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from redis.asyncio import Redis

from bot.domain import CallRecord, Tenant
from bot.store.errors import translated
from bot.store.keys import Keys

__all__ = ["CallPeoplePrefs", "CallRecords", "LinkedGoogleUsers"]

RECORD_TTL = 7 * 24 * 60 * 60
NOTICE_TTL = 24 * 60 * 60  # a reason is logged again at most once a day per workspace
LINKS_TTL = 5 * 60  # a new link shows in calls within this


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


@translated
class CallRecords:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, tenant: Tenant, conference: str) -> CallRecord | None:
        raw = await self._redis.get(self._keys.call(tenant, conference))
        return CallRecord.from_json(raw) if raw else None

    async def save(self, tenant: Tenant, conference: str, record: CallRecord) -> None:
        await self._redis.set(self._keys.call(tenant, conference), record.to_json(), ex=RECORD_TTL)

    async def off(self, tenant: Tenant) -> str | None:
        raw = await self._redis.get(self._keys.calls_off(tenant))
        return _text(raw) if raw else None

    async def turn_off(self, tenant: Tenant, reason: str, seconds: float) -> None:
        await self._redis.set(self._keys.calls_off(tenant), reason, ex=max(int(seconds), 1))

    async def first_notice(self, tenant: Tenant, reason: str) -> bool:
        return bool(await self._redis.set(self._keys.calls_notice(tenant, reason), "1", nx=True, ex=NOTICE_TTL))


@translated
class LinkedGoogleUsers:
    """Google "users/{sub}" → Slack user, from the workspace's Google links (their `sub` field only, no token)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def slack_users(self, tenant: Tenant, google_users: Sequence[str]) -> Mapping[str, str]:
        key = self._keys.google_users(tenant)
        if not await self._redis.exists(key):
            await self._rebuild(tenant, key)
        found = cast(list[bytes | None], await self._redis.hmget(key, list(google_users)))
        return {g: _text(u) for g, u in zip(google_users, found, strict=True) if u and _text(u) != "-"}

    async def _rebuild(self, tenant: Tenant, key: str) -> None:
        mapping: dict[str, str] = {"-": "-"}  # never empty, so a workspace with no links is cached too
        async for raw in self._redis.scan_iter(match=self._keys.google_link_pattern(tenant), count=500):
            link_key = _text(raw)
            user_id = link_key.partition("{")[2].partition("}")[0].rsplit(":", 1)[-1]
            sub = await self._redis.hget(link_key, "sub")
            if sub:
                mapping[f"users/{_text(sub)}"] = user_id
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping={k: v for k, v in mapping.items()})
        pipe.expire(key, LINKS_TTL)
        await pipe.execute()


def _switch(raw: bytes | str | None) -> bool | None:
    return None if raw is None else _text(raw) == "on"


@translated
class CallPeoplePrefs:
    """Whether a meeting's call shows who is in it (its owner's choice), and the workspace's default (an admin's)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def meeting(self, tenant: Tenant, space_id: str) -> bool | None:
        return _switch(await self._redis.get(self._keys.call_people(tenant, space_id)))

    async def set_meeting(self, tenant: Tenant, space_id: str, on: bool) -> None:
        await self._redis.set(self._keys.call_people(tenant, space_id), "on" if on else "off")

    async def default(self, tenant: Tenant) -> bool | None:
        return _switch(await self._redis.get(self._keys.call_people_default(tenant)))

    async def set_default(self, tenant: Tenant, on: bool) -> None:
        await self._redis.set(self._keys.call_people_default(tenant), "on" if on else "off")
