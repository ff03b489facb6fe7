"""The version of meetbot's Redis data layout, so that a release never runs on data a newer release wrote.

Version 1 is the layout of bot/store/keys.py as it stands; data written before versions existed has the same layout,
so a store without the key is version 1. A release that changes the layout raises LAYOUT_VERSION and migrates.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from bot.config import Settings
from bot.errors import StorageUnavailable
from bot.store.connection import connect_to
from bot.store.errors import translated_function
from bot.store.keys import Keys

__all__ = ["LAYOUT_VERSION", "UnknownLayout", "check_layout", "ensure_layout"]

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1


class UnknownLayout(Exception):
    """The stored layout is newer than this release understands (or unreadable): nothing may be written."""

    def __init__(self, found: str, supported: int) -> None:
        super().__init__(found)
        self.found = found
        self.supported = supported

    def line(self) -> str:
        if self.found.isdigit():
            return (f"meetbot cannot start: the data in Redis has layout version {self.found}, newer than this "
                    f"release understands (up to {self.supported}); run the meetbot release that wrote it, or newer")
        return (f"meetbot cannot start: the data layout version in Redis is not a number ({self.found[:20]!r}); "
                "is REDIS_URL another application's database?")


@translated_function
async def ensure_layout(redis: Redis, keys: Keys, supported: int = LAYOUT_VERSION) -> int:
    """At start-up: write the version when absent, else check it. Raises UnknownLayout, having written nothing,
    when the stored version is newer than `supported` or unreadable."""
    key = keys.layout_version()
    if await redis.set(key, supported, nx=True):  # SET NX: two processes starting at once can't disagree
        return supported
    raw = await redis.get(key)
    found = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if raw is None:  # deleted between the two calls: nothing to protect
        return supported
    if not found.isdigit() or int(found) > supported:
        raise UnknownLayout(found, supported)
    return int(found)


async def check_layout(settings: Settings) -> None:
    """Before a process serves or runs jobs: raise UnknownLayout for data a newer release wrote; mark a new store.
    Its own short-lived client, so that it runs before anything else is set up (metrics, workers)."""
    redis = connect_to(settings)
    try:
        await ensure_layout(redis, Keys())
    except StorageUnavailable:
        # Starting without Redis is allowed (readiness says so); the next start checks the layout.
        log.warning("Redis did not answer at start-up, so the data layout version was not checked")
    finally:
        await redis.aclose()
