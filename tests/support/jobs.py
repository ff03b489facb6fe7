"""Whether the bot's durable jobs are all done, read from the job queue's own Redis keys (streaq's layout under the
`{meetbot}` hash tag): nothing waiting, nothing scheduled for a retry, nothing running. A test that must show that
something did *not* happen (a second card, a second reply) waits for this instead of sleeping: once every job has
finished, nothing more is on its way. Works for a bot in a process of its own as well as in-process."""

from __future__ import annotations

import redis

from bot.jobs.queue import QUEUE
from tests.support.bot_process import BotProcess
from tests.support.waits import eventually

__all__ = ["jobs_done", "settled"]

PREFIX = f"streaq:{QUEUE}"


def jobs_done(redis_url: str) -> bool:
    """True when the queue holds no job: none waiting or delayed (`queues:*`), none running (`index:running`)."""
    with redis.Redis.from_url(redis_url) as client:
        if client.scard(f"{PREFIX}:index:running"):
            return False
        for key in client.scan_iter(match=f"{PREFIX}:queues:*"):
            kind = client.type(key)
            size = client.xlen(key) if kind == b"stream" else client.zcard(key) if kind == b"zset" else 0
            if size:
                return False
        return True


def settled(bot: BotProcess, within: float = 15.0) -> None:
    """Wait until every job of `bot`'s queue is done: whatever an acknowledged request would still do, is done."""
    eventually(lambda: jobs_done(bot.env["REDIS_URL"]), "every job done", within)
