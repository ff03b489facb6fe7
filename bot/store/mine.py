"""`/meet mine` in Redis: each person's choice, and the conferences of theirs being followed until their recap is
complete. One hash per person (their own slot); a team set of who opted in, so an uninstall finds everyone.
Turning it off deletes the hash: nothing kept outlives the choice. Recap claims reuse `Recaps`, keyed by the
person's id as the "channel" of their DM."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from bot.domain import LiveState, PersonalMeeting, SubscriptionRecord, Tenant
from bot.store.errors import translated
from bot.store.keys import Keys

__all__ = ["MineChoices"]

_MODE = "mode"
_CONF = "c:"  # field prefix: a followed conference's newest state
_ABOUT = "t:"  # field prefix: what its recap calls it, and its link
_KEEP_IF_ON = """
if redis.call('HEXISTS', KEYS[1], 'mode') == 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV))
  return 1
end
return 0
"""


@translated
class MineChoices:
    """The MineMemory port."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._keep = redis.register_script(_KEEP_IF_ON)

    async def mode(self, tenant: Tenant, user_id: str) -> str | None:
        raw = await self._redis.hget(self._keys.mine(tenant, user_id), _MODE)
        return _text(raw) if raw else None

    async def turn_on(self, tenant: Tenant, user_id: str, mode: str) -> None:
        await self._redis.hset(self._keys.mine(tenant, user_id), _MODE, mode)
        await self._redis.sadd(self._keys.mine_people(tenant), user_id)

    async def turn_off(self, tenant: Tenant, user_id: str) -> bool:
        """Everything kept for the person goes. True if they had it on."""
        removed = await self._redis.delete(self._keys.mine(tenant, user_id))
        await self._redis.srem(self._keys.mine_people(tenant), user_id)
        return bool(removed)

    async def people(self, tenant: Tenant) -> list[str]:
        return sorted(_text(u) for u in await self._redis.smembers(self._keys.mine_people(tenant)))

    async def followed(self, tenant: Tenant, user_id: str) -> dict[str, PersonalMeeting]:
        """conference → the meeting as last read."""
        raw = {_text(k): v for k, v in (await self._redis.hgetall(self._keys.mine(tenant, user_id))).items()}
        out: dict[str, PersonalMeeting] = {}
        for field, value in raw.items():
            state = LiveState.from_json(value) if field.startswith(_CONF) else None
            if state is not None:
                conference = field.removeprefix(_CONF)
                about = json.loads(raw.get(_ABOUT + conference) or "{}")
                out[conference] = PersonalMeeting(state, str(about.get("title") or ""), about.get("uri"),
                                                  about.get("owned") is True)
        return out

    async def keep(self, tenant: Tenant, user_id: str, meeting: PersonalMeeting) -> None:
        """Only while the person is opted in (a read racing an opt-out must not bring a record back)."""
        conference = meeting.state.conference or ""
        about = json.dumps({"title": meeting.title, "uri": meeting.uri, "owned": meeting.owned},
                           separators=(",", ":"))
        await self._keep(keys=[self._keys.mine(tenant, user_id)],
                         args=[_CONF + conference, meeting.state.to_json(), _ABOUT + conference, about])

    async def subscription(self, tenant: Tenant, user_id: str) -> SubscriptionRecord | None:
        """Their user-target Workspace Events subscription, when events are configured."""
        raw = await self._redis.hmget(self._keys.mine(tenant, user_id), "sub", "sub_expires", "sub_state")
        name, expires, state = (_text(v) if v is not None else None for v in raw)
        return SubscriptionRecord(name, float(expires or 0), state or "active") if name else None

    async def set_subscription(self, tenant: Tenant, user_id: str, record: SubscriptionRecord | None) -> None:
        key = self._keys.mine(tenant, user_id)
        if record is None:
            await self._redis.hdel(key, "sub", "sub_expires", "sub_state")
        else:
            await self._keep(keys=[key], args=["sub", record.name, "sub_expires", repr(record.expires),
                                               "sub_state", record.state])

    async def drop(self, tenant: Tenant, user_id: str, conference: str) -> None:
        await self._redis.hdel(self._keys.mine(tenant, user_id), _CONF + conference, _ABOUT + conference)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
