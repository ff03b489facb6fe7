"""In-memory fakes of the ports `Following`, `EventFeed` and `EventIntake` use (bot/core/following.py,
bot/core/event_feed.py): plain dicts, so core's decisions show in what they hold. Google stays real: the tests run the
Meet and Workspace Events emulators over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.errors import NotLinked
from bot.domain import Card, LiveState, SubscriptionRecord, Tenant

__all__ = ["MemoryCards", "MemoryFollow", "MemoryRoutes", "MemorySchedule", "MemorySeen", "MemorySubscriptions",
           "MintedTokens"]

Key = tuple[Tenant, str]


@dataclass
class MemorySchedule:
    """Schedule: when each followed space is due, and when it was last read (the coalescing window counts from it)."""

    due: dict[Key, float] = field(default_factory=dict)
    read: dict[Key, float] = field(default_factory=dict)
    taken: list[str] = field(default_factory=list)  # event ids marked taken with a poke

    async def claim(self, now: float, lease: float, limit: int) -> list[Key]:
        found = sorted((when, key) for key, when in self.due.items() if when <= now)[:limit]
        for _, key in found:
            self.due[key] = now + lease
        return [key for _, key in found]

    async def at(self, tenant: Tenant, space_id: str, when: float, *, read_at: float | None = None) -> None:
        self.due[(tenant, space_id)] = when
        if read_at is not None:
            self.read[(tenant, space_id)] = read_at

    async def poke(self, tenant: Tenant, space_id: str, now: float, window: float, *, taken: str | None = None
                   ) -> bool:
        key = (tenant, space_id)
        if key not in self.due:
            return False
        last = self.read.get(key)
        self.due[key] = min(self.due[key], now if last is None else max(now, last + window))
        if taken is not None:
            self.taken.append(taken)
        return True

    async def drop(self, tenant: Tenant, space_id: str) -> None:
        self.due.pop((tenant, space_id), None)
        self.read.pop((tenant, space_id), None)


@dataclass
class MemoryFollow:
    """FollowMemory: each space's newest state (by `as_of`) and its follower."""

    states: dict[Key, LiveState] = field(default_factory=dict)
    followers: dict[Key, str] = field(default_factory=dict)

    async def state(self, tenant: Tenant, space_id: str) -> LiveState | None:
        return self.states.get((tenant, space_id))

    async def save(self, tenant: Tenant, space_id: str, state: LiveState) -> LiveState:
        kept = self.states.get((tenant, space_id))
        if kept is None or kept.as_of <= state.as_of:
            self.states[(tenant, space_id)] = kept = state
        return kept

    async def follower(self, tenant: Tenant, space_id: str) -> str | None:
        return self.followers.get((tenant, space_id))

    async def set_follower(self, tenant: Tenant, space_id: str, user_id: str, *, keep: bool = False) -> None:
        if keep:
            self.followers.setdefault((tenant, space_id), user_id)
        else:
            self.followers[(tenant, space_id)] = user_id

    async def forget(self, tenant: Tenant, space_id: str) -> None:
        self.states.pop((tenant, space_id), None)
        self.followers.pop((tenant, space_id), None)


@dataclass
class MemoryCards:
    """The part of SpaceMemory following reads: the cards that show each space (the rest is not called)."""

    by_space: dict[Key, list[Card]] = field(default_factory=dict)

    async def cards(self, tenant: Tenant, space_id: str) -> list[Card]:
        return list(self.by_space.get((tenant, space_id), []))


@dataclass
class MintedTokens:
    """Tokens: each linked Slack user's Google token, minted by the Meet emulator; a rejected one is replaced."""

    mint: Callable[[str], str]  # Google email → a fresh access token
    emails: dict[Key, str] = field(default_factory=dict)
    tokens: dict[Key, str] = field(default_factory=dict)
    handed_out: list[tuple[str, str]] = field(default_factory=list)  # (user id, token), in order
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def link(self, tenant: Tenant, user_id: str, email: str) -> str:
        self.emails[(tenant, user_id)] = email
        self.tokens[(tenant, user_id)] = token = self.mint(email)
        return token

    def unlink(self, tenant: Tenant, user_id: str) -> None:
        self.emails.pop((tenant, user_id), None)
        self.tokens.pop((tenant, user_id), None)

    async def get_access_token(self, tenant: Tenant, user_id: str) -> str:
        token = self.tokens.get((tenant, user_id))
        if token is None:
            raise NotLinked()
        self.handed_out.append((user_id, token))
        return token

    async def reject_access_token(self, tenant: Tenant, user_id: str, token: str) -> None:
        self.rejected.append((user_id, token))
        if self.tokens.get((tenant, user_id)) == token:
            self.tokens[(tenant, user_id)] = self.mint(self.emails[(tenant, user_id)])


@dataclass
class MemorySubscriptions:
    """SubscriptionMemory: the subscription held for each space (or person)."""

    records: dict[Key, SubscriptionRecord] = field(default_factory=dict)

    async def subscription(self, tenant: Tenant, space_id: str) -> SubscriptionRecord | None:
        return self.records.get((tenant, space_id))

    async def set_subscription(self, tenant: Tenant, space_id: str, record: SubscriptionRecord | None) -> None:
        if record is None:
            self.records.pop((tenant, space_id), None)
        else:
            self.records[(tenant, space_id)] = record


@dataclass
class MemoryRoutes:
    """RouteMemory, and SeenEvents' half that reads it: subscription / conference → the followed space."""

    by_subscription: dict[str, Key] = field(default_factory=dict)
    by_space: dict[str, Key] = field(default_factory=dict)
    by_conference: dict[str, Key] = field(default_factory=dict)

    async def link(self, tenant: Tenant, space_id: str, *, subscription: str | None = None,
                   conference: str | None = None) -> None:
        self.by_space[space_id] = (tenant, space_id)  # as EventRoutes: every link routes the space's own id too
        if subscription is not None:
            self.by_subscription[subscription] = (tenant, space_id)
        if conference is not None:
            self.by_conference[conference] = (tenant, space_id)


@dataclass
class MemorySeen:
    """SeenEvents over MemoryRoutes: the ids taken, and the routes tried subscription, space, conference."""

    routes: MemoryRoutes
    done_ids: list[str] = field(default_factory=list)

    async def look_up(self, event_id: str, *, subscription: str | None = None, space_id: str | None = None,
                      conference: str | None = None) -> tuple[bool, Key | None]:
        found = (self.routes.by_subscription.get(subscription or "")
                 or self.routes.by_space.get(space_id or "")
                 or self.routes.by_conference.get(conference or ""))
        return event_id in self.done_ids, found

    async def done(self, event_id: str) -> None:
        self.done_ids.append(event_id)
