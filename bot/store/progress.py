"""Per-job progress: which side effects a job already made ("space created: spaces/X", "card posted: ts"), so a
re-run after a crash resumes instead of repeating. A record lives a day: long after any job could be re-run."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store.errors import translated
from bot.store.keys import Keys

__all__ = ["JobProgress", "JobRecord"]

PROGRESS_TTL = 24 * 60 * 60


@translated
class JobProgress:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    def of(self, job_id: str) -> JobRecord:
        """One job's record, as the `Progress` the use cases take."""
        return JobRecord(self, job_id)

    async def done(self, job_id: str) -> dict[str, str]:
        raw = await self._redis.hgetall(self._keys.job_progress(job_id))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def note(self, job_id: str, step: str, value: str) -> None:
        key = self._keys.job_progress(job_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, step, value)
            pipe.expire(key, PROGRESS_TTL)
            await pipe.execute()


@dataclass(frozen=True, slots=True)
class JobRecord:
    store: JobProgress
    job_id: str

    async def done(self) -> dict[str, str]:
        return await self.store.done(self.job_id)

    async def note(self, step: str, value: str) -> None:
        await self.store.note(self.job_id, step, value)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
