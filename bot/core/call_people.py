"""Who may see who is in a call: whether a card's Slack call shows its people.

The call object shows the channel who is in the call. Posting a meeting to a channel is its owner sharing that, and
a room is shared by whoever set it up: on by default for both. (A room set up by someone who doesn't own the
meeting never names people: slack/live_cards.py shows names only from the owner's own reads, DESIGN §1.) The owner
turns it off per meeting (`/meet set <meeting> people=off`), the room's creator per room (`/meet room people off`),
and a workspace admin can make off the default (`/meet room people default off`). A call shown on several cards
shows people only if every one of them allows it. Unfurls never carry a call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from bot.core.errors import InvalidSettings
from bot.core.rooms import NotAnAdmin
from bot.domain import Actor, Card, Room, Tenant, space_id_of

__all__ = ["PeoplePrefs", "PeopleSwitch", "google_assignments", "people_choice"]


class PeoplePrefs(Protocol):
    async def meeting(self, tenant: Tenant, space_id: str) -> bool | None: ...

    async def set_meeting(self, tenant: Tenant, space_id: str, on: bool) -> None: ...

    async def default(self, tenant: Tenant) -> bool | None: ...

    async def set_default(self, tenant: Tenant, on: bool) -> None: ...


class PeopleSwitch:
    def __init__(self, prefs: PeoplePrefs, is_admin: Callable[[Tenant, str], Awaitable[bool]]) -> None:
        self._prefs = prefs
        self._is_admin = is_admin

    async def set_meeting(self, tenant: Tenant, space_name: str, on: bool) -> None:
        """The meeting's owner chose (the caller checked that they own it)."""
        await self._prefs.set_meeting(tenant, space_id_of(space_name), on)

    async def meeting_shows(self, tenant: Tenant, space_name: str) -> bool:
        """Whether a meeting's cards' call shows people: its owner's choice, else the workspace's default."""
        chosen = await self._prefs.meeting(tenant, space_id_of(space_name))
        if chosen is None:
            chosen = await self._prefs.default(tenant)
        return True if chosen is None else chosen

    async def set_default(self, actor: Actor, on: bool) -> None:
        if not await self._is_admin(actor.tenant, actor.user_id):
            raise NotAnAdmin()
        await self._prefs.set_default(actor.tenant, on)

    async def shown(self, tenant: Tenant, space_name: str, cards: Sequence[Card],
                    room_of: Callable[[Card], Awaitable[Room | None]]) -> bool:
        default = await self._prefs.default(tenant)
        fallback = True if default is None else default
        meeting = await self._prefs.meeting(tenant, space_id_of(space_name))
        for card in cards:
            room = await room_of(card) if card.kind == "room" else None
            chosen = (room.people if room is not None else meeting)
            if not (fallback if chosen is None else chosen):
                return False
        return True


PEOPLE_KEY = "people"


def people_choice(assignments: Sequence[tuple[str, str]]) -> bool | None:
    """`people=on|off` among `/meet set`'s key=value pairs (None when absent)."""
    words = {word for key, word in assignments if key == PEOPLE_KEY}
    if not words:
        return None
    if len(words) > 1:
        raise InvalidSettings("`people` is given twice with different values.")
    (word,) = words
    if word not in ("on", "off"):
        raise InvalidSettings("`people` can be `on` (the channel sees who is in the call) or `off`.")
    return word == "on"


def google_assignments(assignments: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The pairs that are Google's settings (all but meetbot's own `people`)."""
    return tuple(pair for pair in assignments if pair[0] != PEOPLE_KEY)
