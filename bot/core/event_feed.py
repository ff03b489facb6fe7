"""Workspace Events for followed spaces: one subscription per space, made, renewed and released with the token of
the person whose card it is; and the intake that turns each delivered event into a read of the right space.

An event says only *that* something changed in a space; the read that follows says *what* (core.following). So
intake is idempotent by design: a duplicate or a late event makes at most one more, coalesced, read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import Enum
from typing import Protocol, TypeVar

from bot.domain import SubscriptionRecord, Tenant
from bot.google.pubsub import WorkspaceEvent
from bot.google.workspace_events import LIVE_EVENT_TYPES, WorkspaceEvents, user_target
from bot.googleapi.errors import GoogleApiError, NotFound, PermissionDenied, Unauthenticated

__all__ = ["DUPLICATE", "PERSON", "TAKEN", "UNROUTED", "EventFeed", "EventIntake", "PersonalFeed", "RouteMemory",
           "SubscriptionMemory"]

TAKEN, UNROUTED, DUPLICATE = "taken", "unrouted", "duplicate"  # what became of a delivered event

log = logging.getLogger(__name__)

T = TypeVar("T")
RENEW_BEFORE = 24 * 60 * 60  # renew a day before expiry (Google reminds at 12 h and 1 h)
class FollowNotice(Enum):
    """What a meeting's follower must be told about its following (the edge words it)."""

    LIVE_UPDATES_REVOKED = "live_updates_revoked"  # their grant no longer allows events: polled meanwhile


GRANT_REASONS = ("USER_SCOPE_REVOKED", "USER_AUTHORIZATION_FAILURE")
REMINDER = "google.workspace.events.subscription.v1.expirationReminder"
SUSPENDED = "google.workspace.events.subscription.v1.suspended"
EXPIRED = "google.workspace.events.subscription.v1.expired"
PERSON = "~"  # a route to a person (`/meet mine`'s user-target subscription), not to a space: "~U123"


class Call(Protocol):
    """Runs one request with the follower's token (refreshed and retried once on a 401)."""

    async def __call__(self, request: Callable[[str], Awaitable[T]]) -> T: ...


class SubscriptionMemory(Protocol):
    async def subscription(self, tenant: Tenant, space_id: str) -> SubscriptionRecord | None: ...

    async def set_subscription(self, tenant: Tenant, space_id: str, record: SubscriptionRecord | None) -> None: ...


class RouteMemory(Protocol):
    async def link(self, tenant: Tenant, space_id: str, *, subscription: str | None = None,
                   conference: str | None = None) -> None: ...


class SeenEvents(Protocol):
    async def look_up(self, event_id: str, *, subscription: str | None = None, space_id: str | None = None,
                      conference: str | None = None) -> tuple[bool, tuple[Tenant, str] | None]:
        """(the event was taken before, the followed space its subscription, space or conference record is
        linked to, tried in that order), in one read: intake's hot path."""
        ...

    async def done(self, event_id: str) -> None: ...


class EventFeed:
    def __init__(self, client: WorkspaceEvents, topic: str, memory: SubscriptionMemory, routes: RouteMemory,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._topic = topic
        self._memory = memory
        self._routes = routes
        self._clock = clock

    async def keep(self, tenant: Tenant, space_id: str, call: Call) -> tuple[bool, FollowNotice | None]:
        """Make sure the space has a live subscription. (events flow for it, a notice for its follower or None).

        A subscription Google suspended is not fought: the space is polled, and if the follower's grant is why,
        they are told once.
        """
        record = await self._memory.subscription(tenant, space_id)
        now = self._clock()
        if record is not None and record.state != "active":
            return False, await self._suspended_notice(tenant, space_id, record, call)
        if record is not None and record.expires - now > RENEW_BEFORE:
            return True, None
        try:
            if record is None:
                made = await call(lambda token: self._client.subscribe(token, space_id, LIVE_EVENT_TYPES,
                                                                       self._topic))
            else:
                made = await call(lambda token: self._client.renew(token, record.name, timedelta(0)))
        except NotFound:  # expired or deleted at Google's end: make a new one next time
            await self._memory.set_subscription(tenant, space_id, None)
            return False, None
        except (PermissionDenied, Unauthenticated):
            log.warning("no Workspace Events subscription for a followed space: permission refused; polling it")
            if record is not None:
                await self._memory.set_subscription(tenant, space_id, SubscriptionRecord(record.name, 0, "noticed"))
            return False, None
        except GoogleApiError as error:
            log.warning("Workspace Events subscription not made or renewed (%s); polling meanwhile",
                        type(error).__name__)
            return record is not None and record.expires > now, None
        expires = made.expire_time.timestamp() if made.expire_time else now + RENEW_BEFORE
        await self._memory.set_subscription(tenant, space_id, SubscriptionRecord(
            made.name, expires, "active" if made.active else "suspended"))
        await self._routes.link(tenant, space_id, subscription=made.name)
        return made.active, None

    async def _suspended_notice(self, tenant: Tenant, space_id: str, record: SubscriptionRecord,
                                call: Call) -> FollowNotice | None:
        if record.state == "noticed":
            return None
        reason = None
        try:
            found = await call(lambda token: self._client.get(token, record.name))
            reason = found.suspension_reason
        except GoogleApiError:
            reason = "USER_AUTHORIZATION_FAILURE"  # the follower can't even read it: their grant is the cause
        await self._memory.set_subscription(tenant, space_id, SubscriptionRecord(record.name, 0, "noticed"))
        return FollowNotice.LIVE_UPDATES_REVOKED if reason in GRANT_REASONS else None

    async def release(self, tenant: Tenant, space_id: str, call: Call) -> None:
        """Nothing shows the space any more: delete its subscription (best effort; it expires anyway)."""
        record = await self._memory.subscription(tenant, space_id)
        if record is None:
            return
        try:
            await call(lambda token: self._client.delete(token, record.name))
        except GoogleApiError as error:
            log.info("a subscription was left to expire: %s", type(error).__name__)

    async def lifecycle(self, tenant: Tenant, space_id: str, event: WorkspaceEvent) -> None:
        record = await self._memory.subscription(tenant, space_id)
        if record is None or record.name != event.subscription_name:
            return
        if event.type == REMINDER:  # renew now
            await self._memory.set_subscription(tenant, space_id, SubscriptionRecord(record.name, 0, record.state))
        elif event.type == SUSPENDED and record.state == "active":
            await self._memory.set_subscription(tenant, space_id, SubscriptionRecord(record.name, 0, "suspended"))
        elif event.type == EXPIRED:
            await self._memory.set_subscription(tenant, space_id, None)  # a new one is made on the next read

    async def learned_conference(self, tenant: Tenant, space_id: str, conference: str) -> None:
        await self._routes.link(tenant, space_id, conference=conference)


class PersonalFeed:
    """`/meet mine` with Workspace Events: one user-target subscription per opted-in person, made and renewed with
    their own token a day before Google's 7-day limit, deleted when they opt out; routed to the person."""

    def __init__(self, client: WorkspaceEvents, topic: str, memory: SubscriptionMemory, routes: RouteMemory,
                 clock: Callable[[], float] = time.time) -> None:
        self._client, self._topic, self._memory, self._routes, self._clock = client, topic, memory, routes, clock

    async def keep(self, tenant: Tenant, user_id: str, google_user: str, call: Call) -> bool:
        """Whether events flow for the person (else they are polled)."""
        record = await self._memory.subscription(tenant, user_id)
        now = self._clock()
        if record is not None and record.state != "active":
            return False
        if record is not None and record.expires - now > RENEW_BEFORE:
            return True
        try:
            if record is None:
                made = await call(lambda token: self._client.subscribe_target(
                    token, user_target(google_user), LIVE_EVENT_TYPES, self._topic))
            else:
                made = await call(lambda token: self._client.renew(token, record.name, timedelta(0)))
        except NotFound:
            await self._memory.set_subscription(tenant, user_id, None)
            return False
        except GoogleApiError as error:
            log.warning("no user-target subscription for /meet mine (%s); polling meanwhile", type(error).__name__)
            return record is not None and record.expires > now
        expires = made.expire_time.timestamp() if made.expire_time else now + RENEW_BEFORE
        await self._memory.set_subscription(tenant, user_id, SubscriptionRecord(
            made.name, expires, "active" if made.active else "suspended"))
        await self._routes.link(tenant, PERSON + user_id, subscription=made.name)
        return made.active

    async def learned_conference(self, tenant: Tenant, user_id: str, conference: str) -> None:
        """Events may name only the space and its conference (ce-source, §9): route this conference's to them."""
        await self._routes.link(tenant, PERSON + user_id, conference=conference)

    async def release(self, tenant: Tenant, user_id: str, call: Call) -> None:
        """They opted out: delete the subscription (best effort: with their grant gone it expires by itself)."""
        record = await self._memory.subscription(tenant, user_id)
        if record is None:
            return
        try:
            await call(lambda token: self._client.delete(token, record.name))
        except GoogleApiError as error:
            log.info("a /meet mine subscription was left to expire: %s", type(error).__name__)

    async def lifecycle(self, tenant: Tenant, user_id: str, event: WorkspaceEvent) -> None:
        record = await self._memory.subscription(tenant, user_id)
        if record is None or record.name != event.subscription_name:
            return
        if event.type == REMINDER:
            await self._memory.set_subscription(tenant, user_id, SubscriptionRecord(record.name, 0, record.state))
        elif event.type == SUSPENDED:
            await self._memory.set_subscription(tenant, user_id, SubscriptionRecord(record.name, 0, "suspended"))
        elif event.type == EXPIRED:
            await self._memory.set_subscription(tenant, user_id, None)


class EventIntake:
    """Every delivered event (push or pull): which followed space, then a coalesced read of it."""

    def __init__(self, seen: SeenEvents, poke: Callable[[Tenant, str, str], Awaitable[bool]], feed: EventFeed,
                 *, personal: PersonalFeed | None = None,
                 poke_person: Callable[[Tenant, str], Awaitable[bool]] | None = None) -> None:
        """`poke(tenant, space name, event id)` makes the space due and marks the event taken, in one round trip.
        `personal`, `poke_person`: `/meet mine`'s user-target subscriptions, routed to a person."""
        self._seen = seen
        self._poke = poke
        self._feed = feed
        self._personal = personal  # `/meet mine`'s user-target subscriptions, routed to a person
        self._poke_person = poke_person

    async def accept(self, event: WorkspaceEvent) -> str:
        """What became of the event: TAKEN (about a followed space, acted on), UNROUTED (no followed space: nothing
        to do) or DUPLICATE (delivered before)."""
        seen, found = await self._seen.look_up(event.id, subscription=event.subscription_name,
                                               space_id=event.space_id, conference=event.conference_record)
        if seen:
            return DUPLICATE
        if found is None:
            log.info("a Workspace event for no followed space (%s) was dropped", event.type)
            await self._seen.done(event.id)
            return UNROUTED
        tenant, space_id = found
        if space_id.startswith(PERSON):
            user_id = space_id.removeprefix(PERSON)
            if self._personal is not None and event.is_lifecycle:
                await self._personal.lifecycle(tenant, user_id, event)
            if self._poke_person is not None:
                await self._poke_person(tenant, user_id)
            await self._seen.done(event.id)  # after its effect: a crash in between redelivers it (idempotent)
            return TAKEN
        if event.is_lifecycle:
            await self._feed.lifecycle(tenant, space_id, event)
        await self._poke(tenant, f"spaces/{space_id}", event.id)  # marked taken with the poke, never before
        return TAKEN
