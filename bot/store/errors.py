"""One error for "Redis can't be reached right now", raised by every store, and nothing else counted as one.

redis-py wraps socket failures in its own ConnectionError and TimeoutError; those, and only those, become
StorageUnavailable (bot/errors.py: the one error core and the Slack edge see too), and so does a master refusing
writes for want of a replica (NOREPLICAS). A bug (a script error, a wrong type) stays what it is, and so does a slow
Slack or Google: a TimeoutError from aiohttp is an OSError too, which is why callers must not catch OSError for this.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot import metrics
from bot.ack_deadline import AckDeadlinePassed, bounded
from bot.errors import StorageUnavailable

__all__ = ["is_unavailable", "refused_in_failover", "translated", "translated_function"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)

# InvalidResponse: something that isn't Redis answers at REDIS_URL (a wrong port, a proxy): unusable all the same.
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, InvalidResponse)
# A master with `min-replicas-to-write` (README) refuses writes while no replica follows it, as during a failover.
_NO_REPLICAS = re.compile(r"^NOREPLICAS |of pipeline caused error: NOREPLICAS ")
# What a node says to a client still writing to it once it lost its replicas or was demoted (the job queue's coredis
# client sees READONLY itself; redis-py's Sentinel connection turns it into a ConnectionError).
_FAILOVER = re.compile(r"(^|of pipeline caused error: )(NOREPLICAS|READONLY) ")


def refused_in_failover(message: str) -> bool:
    """A Redis error reply that means "not a master that can take writes now", as during a failover."""
    return _FAILOVER.search(message) is not None


def is_unavailable(error: BaseException) -> bool:
    return isinstance(error, StorageUnavailable)


def _translate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await bounded(fn(*args, **kwargs))  # on the ack path, within the ack's one deadline
        except _REDIS_DOWN as error:
            metrics.redis_error(type(error).__name__)  # ConnectionError, TimeoutError or InvalidResponse: a closed set
            raise StorageUnavailable(type(error).__name__) from error
        except AckDeadlinePassed as error:
            metrics.redis_error("TimeoutError")  # Redis didn't answer within the ack's deadline
            raise StorageUnavailable("no answer within the ack's deadline") from error
        except ResponseError as error:
            if not _NO_REPLICAS.search(str(error)):
                raise
            raise StorageUnavailable("NOREPLICAS") from error

    return wrapper


def translated(cls: C) -> C:
    """Class decorator: every coroutine method of a store raises StorageUnavailable for Redis being down."""
    for name, member in list(vars(cls).items()):
        if inspect.iscoroutinefunction(member) and not name.startswith("__"):
            setattr(cls, name, _translate(member))
    return cls


def translated_function(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    return _translate(fn)
