"""The plain types every layer shares: who (a workspace, a person in it) and what meetbot keeps (cards, rooms,
what it knows of a space). A leaf module: it imports nothing from bot, so store/ can return these and core can
reason with them without either importing the other's machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Actor", "Card", "Room", "SpaceInfo", "Tenant", "space_id_of"]


@dataclass(frozen=True, slots=True)
class Tenant:
    """A Slack workspace, inside an Enterprise Grid org when `enterprise_id` is set."""

    team_id: str
    enterprise_id: str | None = None

    @property
    def tag(self) -> str:
        return f"{self.enterprise_id or '-'}:{self.team_id}"


@dataclass(frozen=True, slots=True)
class Actor:
    tenant: Tenant
    user_id: str


@dataclass(frozen=True, slots=True)
class SpaceInfo:
    """Facts meetbot learned when it created or adopted a space; Google doesn't tell them to non-owners."""

    space_name: str
    meeting_code: str | None
    meeting_uri: str | None
    owner_user_id: str | None
    title: str | None = None
    created_at: float | None = None


@dataclass(frozen=True, slots=True)
class Card:
    """A Slack message that shows a meeting, so it can be updated in place when the meeting ends."""

    channel: str
    ts: str
    kind: str = "meeting"  # "meeting": a card for one call; "room": a channel's standing room

    @property
    def field(self) -> str:
        return f"{self.channel}:{self.ts}"

    @property
    def posted_at(self) -> float:
        """When Slack posted it: a message ts is epoch seconds."""
        try:
            return float(self.ts)
        except ValueError:
            return 0.0


@dataclass(frozen=True, slots=True)
class Room:
    space_name: str
    meeting_code: str | None
    meeting_uri: str | None
    owner_user_id: str | None  # the Slack user whose Google account owns the space, when meetbot knows
    owner_google_email: str | None
    creator_user_id: str  # who set the room up: they (or an admin) may replace or clear it
    created_at: float
    bookmark_id: str | None = None

    def with_bookmark(self, bookmark_id: str | None) -> Room:
        return replace(self, bookmark_id=bookmark_id)


def space_id_of(space_name: str) -> str:
    """`spaces/abc` → `abc`: the id meetbot's records are keyed by."""
    return space_name.partition("/")[2]
