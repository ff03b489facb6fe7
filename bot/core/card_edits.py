"""Edits of the cards that show a space, safe against a card's retirement in another process.

Two kinds of writer edit a card. Following edits every card of a followed space after each read (what the call is
now); a retirement edits a card once, into a pointer, when it stops showing the space (a room card posted again, or
its room moved or cleared), after forgetting it. The follower reads the card list, then reads Google and Redis, then
edits: a retirement landing in between used to be overwritten by the live card, on a card nobody followed any more.

So a follower's edit runs under a short per-card lock that can be taken only while the space still lists the card
(both in one script), and a retirement forgets the cards first, then writes each pointer only once no edit of that
card is in flight. Every interleaving ends with the pointer: either the follower finds the card gone and leaves it
alone (no edit, no recap), or its edit was under way before the card was forgotten and lands before the pointer.

Costs: a follower's edit makes two more Redis round trips (take, release); a retirement one (are any of the cards
being edited now?) plus one per poll while one is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

from bot.core.leases import renewed
from bot.core.ports import CardLocks, SpaceMemory
from bot.domain import Card, Tenant, space_id_of
from bot.errors import StorageUnavailable

__all__ = ["CardEdits"]

log = logging.getLogger(__name__)

EDIT_LOCK_MS = 5_000  # a holder that died holds up a card's pointer at most this long
RENEW_SECONDS = 2.0  # a live holder keeps its lock while its edit is in flight (Slack's retries can outlast it)
# A follower finding another edit of the card under way waits this long, then leaves the card for this read. It
# waits rather than skips because a card is drawn only when what it shows changed: a skipped edit would wait for
# the next change. It is bounded because that other edit is one chat.update, which Slack's retries can stretch to
# many seconds, and the follower's slot (one read of one space) must move on.
EDIT_WAIT = 2.0
# A retirement waits this long for an edit in flight (its holder renews the lock while Slack answers) before writing
# its pointer anyway, logged: longer than a chat.update with its retries normally takes.
RETIRE_WAIT = 30.0
POLL_SECONDS = 0.05


class CardEdits:
    def __init__(self, spaces: SpaceMemory, locks: CardLocks, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._spaces = spaces
        self._locks = locks
        self._clock = clock

    async def edit(self, tenant: Tenant, space_name: str, card: Card, edit: Callable[[], Awaitable[None]]) -> bool:
        """Run `edit` (a follower's Slack edit of the card) while the space still lists the card and nothing else
        edits it. False: the card no longer shows the space (retired), nothing was done, and nothing more should be
        (no recap in its thread either). True otherwise, also when another edit held the card past EDIT_WAIT and
        this one was left out (logged)."""
        space_id = space_id_of(space_name)
        deadline = self._clock() + EDIT_WAIT
        while True:
            listed, owner = await self._locks.take(tenant, space_id, card, EDIT_LOCK_MS)
            if not listed:
                return False
            if owner is not None:
                break
            if self._clock() >= deadline:
                log.warning("a followed card was not updated: another edit of it took longer than %.0f s", EDIT_WAIT)
                return True
            await asyncio.sleep(POLL_SECONDS)
        keeper = asyncio.ensure_future(renewed(partial(self._locks.renew, tenant, card, owner, EDIT_LOCK_MS),
                                               RENEW_SECONDS))
        try:
            await edit()
        finally:
            keeper.cancel()
            await self._release(tenant, card, owner)
        return True

    async def retire(self, tenant: Tenant, space_name: str, cards: list[Card],
                     edit: Callable[[Card], Awaitable[None]]) -> None:
        """The cards stop showing the space: forgotten (a follower about to edit one then leaves it alone), then
        each edited by `edit` (into its pointer) once no follower's edit of it is in flight, so the pointer is the
        card's last word."""
        if not cards:
            return
        await self._spaces.forget_cards(tenant, space_id_of(space_name), cards)
        # From here no follower can take a lock on these cards: one held now is an edit that began before.
        waiting = await self._locks.editing(tenant, cards)
        for card in cards:
            if card not in waiting:
                await edit(card)
        deadline = self._clock() + RETIRE_WAIT
        while waiting and self._clock() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            still = await self._locks.editing(tenant, waiting)
            for card in waiting:
                if card not in still:
                    await edit(card)
            waiting = still
        if waiting:
            log.warning("%d retired card(s) edited while a follower's edit of them may still land after", len(waiting))
        for card in waiting:
            await edit(card)

    async def _release(self, tenant: Tenant, card: Card, owner: str) -> None:
        try:
            await self._locks.release(tenant, card, owner)
        except StorageUnavailable:
            log.warning("a card's edit lock was not released (Redis unavailable); it expires on its own")
