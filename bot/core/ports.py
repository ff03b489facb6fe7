"""The storage the use cases need, stated as small interfaces. bot/store implements them over Redis; tests
implement them in memory. Core never sees how (or whether) they are persisted."""

from __future__ import annotations

from typing import Protocol

from bot.domain import Card, Room, SpaceInfo, Tenant

__all__ = ["CreatePacer", "Progress", "RoomMemory", "SpaceMemory"]


class SpaceMemory(Protocol):
    """What meetbot remembers of spaces: code → id, who started each and its title, the cards that show it."""

    async def space_for_code(self, code: str) -> str | None: ...

    async def forget_code(self, code: str) -> None: ...

    async def info(self, tenant: Tenant, space_id: str) -> SpaceInfo | None: ...

    async def learned(self, tenant: Tenant, space_name: str, code: str | None) -> SpaceInfo | None: ...

    async def remember_created(self, tenant: Tenant, info: SpaceInfo, card: Card | None) -> bool: ...

    async def recent(self, tenant: Tenant, user_id: str, limit: int) -> list[SpaceInfo]: ...

    async def add_card(self, tenant: Tenant, space_id: str, card: Card) -> None: ...

    async def forget_cards(self, tenant: Tenant, space_id: str, cards: list[Card]) -> None: ...

    async def cards(self, tenant: Tenant, space_id: str) -> list[Card]: ...


class RoomMemory(Protocol):
    """Channel rooms, and a short per-channel lock for changing one."""

    async def get(self, tenant: Tenant, channel_id: str) -> Room | None: ...

    async def put(self, tenant: Tenant, channel_id: str, room: Room, *, previous: Room | None = None) -> None: ...

    async def delete(self, tenant: Tenant, room: Room, channel_id: str) -> None: ...

    async def channels_started_by(self, tenant: Tenant, user_id: str) -> list[str]: ...

    async def recap_default(self, tenant: Tenant) -> bool | None: ...

    async def set_recap_default(self, tenant: Tenant, on: bool) -> None: ...

    async def lock(self, tenant: Tenant, channel_id: str, owner: str | None = None) -> str | None:
        """An owner token, or None while someone else holds the lock; `owner` takes back a lock this job held."""
        ...

    async def unlock(self, tenant: Tenant, channel_id: str, owner: str) -> None: ...


class Progress(Protocol):
    """One job's record of the side effects it already made, so a re-run resumes instead of repeating."""

    async def done(self) -> dict[str, str]: ...

    async def note(self, step: str, value: str) -> None: ...


class CreatePacer(Protocol):
    """Google's per-project create quota, shared by every process: when the next create may go."""

    async def reserve(self) -> float:
        """Reserve the next create; returns the seconds to wait for it (0: now)."""
        ...
