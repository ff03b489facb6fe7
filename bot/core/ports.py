"""The storage the use cases need, stated as small interfaces. bot/store implements them over Redis; tests
implement them in memory. Core never sees how (or whether) they are persisted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.domain import CachedToken, Card, GoogleLink, HeldLink, PendingLink, Room, SpaceInfo, Tenant

__all__ = [
    "CardLocks", "CreatePacer", "DelegatedTokens", "EmailLookup", "HeldLinks", "LinkMemory", "Progress", "RefreshLocks",
    "RoomMemory", "SignInStates", "SpaceMemory",
]


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


class CardLocks(Protocol):
    """One edit of a card at a time across processes, and none once its space no longer lists it (core.card_edits):
    a short lock per card, with an owner token, renewed while its edit is in flight."""

    async def take(self, tenant: Tenant, space_id: str, card: Card, ttl_ms: int) -> tuple[bool, str | None]:
        """Whether the space still lists the card, and if so an owner token, or None while someone else holds the
        card's lock. Both answered at once: a card forgotten after the check can't be taken before it."""
        ...

    async def renew(self, tenant: Tenant, card: Card, owner: str, ttl_ms: int) -> bool: ...

    async def release(self, tenant: Tenant, card: Card, owner: str) -> None: ...

    async def editing(self, tenant: Tenant, cards: list[Card]) -> list[Card]:
        """Those of `cards` whose lock someone holds now (an edit in flight)."""
        ...


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


# --- account linking and credentials (core/linking.py, core/credentials.py) -------------------------------------------

# A Slack user's profile email (or, for `email_owner`, the member whose Slack email this is): the Slack directory.
EmailLookup = Callable[[Tenant, str], Awaitable[str | None]]


class LinkMemory(Protocol):
    """Each person's Google link, its tokens kept secret at rest, until they disconnect."""

    async def get(self, tenant: Tenant, user_id: str) -> GoogleLink | None: ...

    async def save(self, tenant: Tenant, user_id: str, link: GoogleLink) -> None: ...

    async def delete(self, tenant: Tenant, user_id: str, *, linked_at: float | None = None) -> bool:
        """With `linked_at`, only while the stored link is that one (a newer link is never deleted)."""
        ...

    async def save_access_token(self, tenant: Tenant, user_id: str, token: str, expires_at: float, *,
                                refresh_token: str | None = None, linked_at: float | None = None) -> bool:
        """A refreshed access token (and a rotated refresh token) in one step; False when the link is gone."""
        ...

    async def expire_access_token(self, tenant: Tenant, user_id: str, token: str) -> bool: ...

    async def linked_users(self, tenant: Tenant) -> list[str]: ...


class SignInStates(Protocol):
    """Sign-ins waiting for Google's redirect: an OAuth `state` that works once, whoever presents it first."""

    async def issue(self, pending: PendingLink) -> str: ...

    async def consume(self, state: str) -> PendingLink | None: ...


class HeldLinks(Protocol):
    """Grants waiting for their consenter to confirm who gets them (other-email mode): a single-use id each."""

    async def hold(self, held: HeldLink) -> str: ...

    async def take(self, confirm_id: str) -> HeldLink | None: ...


class RefreshLocks(Protocol):
    """One refresh of a person's token at a time across processes: an owner token, renewed while it works."""

    async def acquire(self, tenant: Tenant, user_id: str, ttl_ms: int) -> str | None: ...

    async def release(self, tenant: Tenant, user_id: str, owner: str) -> bool: ...

    async def renew(self, tenant: Tenant, user_id: str, owner: str, ttl_ms: int) -> bool: ...

    async def held(self, tenant: Tenant, user_id: str) -> bool: ...


class DelegatedTokens(Protocol):
    """Access tokens minted by domain-wide delegation, kept until shortly before they expire."""

    async def get(self, tenant: Tenant, user_id: str) -> CachedToken | None: ...

    async def put(self, tenant: Tenant, user_id: str, cached: CachedToken, *, margin: float = 60.0) -> None: ...

    async def delete(self, tenant: Tenant, user_id: str) -> None: ...
