"""Per-job progress: which side effects a job already made ("space created: spaces/X", "card posted: ts"), so a
re-run after a crash resumes instead of repeating. A record lives a day: long after any job could be re-run."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store.errors import translated
from bot.store.keys import Keys

__all__ = ["JobProgress"]

PROGRESS_TTL = 24 * 60 * 60


@translated
class JobProgress:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def done(self, job_id: str) -> dict[str, str]:
        raw = await self._redis.hgetall(self._keys.job_progress(job_id))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def note(self, job_id: str, step: str, value: str) -> None:
        key = self._keys.job_progress(job_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, step, value)
            pipe.expire(key, PROGRESS_TTL)
            await pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
