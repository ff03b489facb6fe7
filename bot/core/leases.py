"""Keeping a short cross-process lock while its holder works (a token refresh, a card's edit): renewed on a beat,
given up the moment it is no longer the holder's. Storage failing ends the renewing too: the lock then just expires
and another process may take over, which every user of these locks is built to allow."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from bot.errors import StorageUnavailable

__all__ = ["renewed"]


async def renewed(renew: Callable[[], Awaitable[bool]], every: float) -> None:
    """Call `renew` every `every` seconds until it says the lock is no longer ours; run as a task beside the work
    and cancel it when the work is done."""
    with contextlib.suppress(StorageUnavailable):
        while True:
            await asyncio.sleep(every)
            if not await renew():
                return
