"""`CardEdits` (bot/core/card_edits.py) in process, against an in-memory CardLocks and card list: a follower's edit
happens only while the card is listed and nobody else edits it, and a retirement's pointer comes after any edit that
was already under way, with every wait bounded."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from bot.core import card_edits
from bot.core.card_edits import CardEdits
from bot.domain import Card, Tenant

TENANT = Tenant("T0001")
SPACE = "spaces/abc"
OLD, NEW = Card("C1", "100.000001", "room"), Card("C1", "200.000001", "room")


@dataclass
class MemoryCardLocks:
    """The CardLocks port and the card list it guards (SpaceMemory.forget_cards), in dicts."""

    listed: set[str] = field(default_factory=set)
    held: dict[str, str] = field(default_factory=dict)  # card field → owner
    renewals: int = 0
    taken: int = 0

    async def take(self, tenant: Tenant, space_id: str, card: Card, ttl_ms: int) -> tuple[bool, str | None]:
        if card.field not in self.listed:
            return False, None
        if card.field in self.held:
            return True, None
        self.taken += 1
        self.held[card.field] = owner = f"owner-{self.taken}"
        return True, owner

    async def renew(self, tenant: Tenant, card: Card, owner: str, ttl_ms: int) -> bool:
        self.renewals += 1
        return self.held.get(card.field) == owner

    async def release(self, tenant: Tenant, card: Card, owner: str) -> None:
        if self.held.get(card.field) == owner:
            del self.held[card.field]

    async def editing(self, tenant: Tenant, cards: list[Card]) -> list[Card]:
        return [c for c in cards if c.field in self.held]

    async def forget_cards(self, tenant: Tenant, space_id: str, cards: list[Card]) -> None:
        self.listed -= {c.field for c in cards}


@pytest.fixture
def locks() -> MemoryCardLocks:
    return MemoryCardLocks(listed={OLD.field, NEW.field})


@pytest.fixture
def edits(locks: MemoryCardLocks) -> CardEdits:
    return CardEdits(locks, locks)  # type: ignore[arg-type]  # the fake is only the SpaceMemory part retire uses


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(card_edits, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(card_edits, "EDIT_WAIT", 0.1)
    monkeypatch.setattr(card_edits, "RETIRE_WAIT", 0.3)


async def test_a_listed_card_is_edited_under_its_lock_and_let_go(edits: CardEdits, locks: MemoryCardLocks) -> None:
    seen: list[dict[str, str]] = []

    async def edit() -> None:
        seen.append(dict(locks.held))

    assert await edits.edit(TENANT, SPACE, OLD, edit)
    assert seen == [{OLD.field: "owner-1"}] and locks.held == {}


async def test_a_retired_card_is_left_alone(edits: CardEdits, locks: MemoryCardLocks) -> None:
    await locks.forget_cards(TENANT, "abc", [OLD])
    edited: list[Card] = []

    async def edit() -> None:
        edited.append(OLD)

    assert not await edits.edit(TENANT, SPACE, OLD, edit)
    assert edited == [] and locks.held == {}


async def test_a_failed_edit_still_lets_the_lock_go(edits: CardEdits, locks: MemoryCardLocks) -> None:
    async def edit() -> None:
        raise RuntimeError("Slack said no")

    with pytest.raises(RuntimeError):
        await edits.edit(TENANT, SPACE, OLD, edit)
    assert locks.held == {}


async def test_a_follower_waits_briefly_for_another_edit_then_leaves_the_card(
        edits: CardEdits, locks: MemoryCardLocks) -> None:
    locks.held[OLD.field] = "someone-else"
    edited: list[Card] = []

    async def edit() -> None:
        edited.append(OLD)

    started = asyncio.get_running_loop().time()
    assert await edits.edit(TENANT, SPACE, OLD, edit)  # still shows the space: not a retirement
    assert edited == [] and 0.1 <= asyncio.get_running_loop().time() - started < 1.0

    async def release_soon() -> None:
        await asyncio.sleep(0.03)
        del locks.held[OLD.field]

    releasing = asyncio.create_task(release_soon())
    assert await edits.edit(TENANT, SPACE, OLD, edit)
    await releasing
    assert edited == [OLD], "the other edit finished within the wait: this one went ahead"


async def test_a_slow_edit_keeps_its_lock(edits: CardEdits, locks: MemoryCardLocks,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(card_edits, "RENEW_SECONDS", 0.02)

    async def slow() -> None:
        await asyncio.sleep(0.15)

    assert await edits.edit(TENANT, SPACE, OLD, slow)
    assert locks.renewals >= 3 and locks.held == {}


async def test_a_retirement_forgets_first_and_points_after_the_edit_under_way(
        edits: CardEdits, locks: MemoryCardLocks) -> None:
    order: list[str] = []
    in_flight, land = asyncio.Event(), asyncio.Event()

    async def live() -> None:
        in_flight.set()
        await land.wait()
        order.append("live")

    async def pointer(card: Card) -> None:
        order.append(f"pointer {card.ts}")

    following = asyncio.create_task(edits.edit(TENANT, SPACE, OLD, live))
    await in_flight.wait()
    retiring = asyncio.create_task(edits.retire(TENANT, SPACE, [OLD, NEW], pointer))
    await asyncio.sleep(0.05)
    assert order == [f"pointer {NEW.ts}"], "a card nobody edits points on at once; the one being edited waits"
    assert not locks.listed
    land.set()
    assert await following
    await retiring
    assert order == [f"pointer {NEW.ts}", "live", f"pointer {OLD.ts}"]

    assert not await edits.edit(TENANT, SPACE, OLD, live), "and no follower edits it again"


async def test_a_retirement_waits_for_a_stuck_edit_only_so_long(edits: CardEdits, locks: MemoryCardLocks) -> None:
    locks.held[OLD.field] = "a-holder-that-never-answers"
    pointed: list[Card] = []

    async def pointer(card: Card) -> None:
        pointed.append(card)

    await asyncio.wait_for(edits.retire(TENANT, SPACE, [OLD], pointer), 2)
    assert pointed == [OLD]
