"""Google's spaces.create quota as a token bucket in Redis, shared by every process of every host.

Google allows 100 creates a minute per project (reference §8). The bucket is a GCRA (one timestamp, one script,
Redis's own clock): a burst of BURST goes at once, then one create every 60 / (PER_MINUTE - BURST) seconds, so no
sliding minute ever holds more than PER_MINUTE. Each call reserves the next slot and says how long to wait for it,
so a burst becomes a short, ordered queue instead of 429s, and each waiting user can be told roughly when.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store.errors import translated
from bot.store.keys import Keys

__all__ = ["BURST", "PER_MINUTE", "CreateBucket"]

PER_MINUTE = 100  # Google's project quota for spaces.create; a constant, as DESIGN §3 has no setting for it
BURST = 10

# KEYS[1] the bucket; ARGV[1] seconds between creates, ARGV[2] the burst. Returns the wait, in seconds, as a string.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - (burst - 1) * interval
if wait < 0 then wait = 0 end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil((tat + interval - now) * 1000) + 60000)
return tostring(wait)
"""


@translated
class CreateBucket:
    def __init__(self, redis: Redis, keys: Keys, *, per_minute: int = PER_MINUTE, burst: int = BURST) -> None:
        self._redis = redis
        self._key = keys.create_quota()
        self._interval = 60.0 / (per_minute - burst)
        self._burst = burst
        self._script = redis.register_script(_RESERVE)

    async def reserve(self) -> float:
        """Reserve the next create slot; returns the seconds until it (0: go now)."""
        raw = await self._script(keys=[self._key], args=[repr(self._interval), str(self._burst)])
        return float(raw.decode() if isinstance(raw, bytes) else raw)
