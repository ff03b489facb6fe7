"""Channel rooms: a standing meeting per channel that anyone in it can post or join.

Who may do what: anyone may show or join the room; only its creator or a workspace admin may replace or clear it;
ending it or changing its settings follows Google's role table like any other meeting (see meetings.py).

Creating a room is a job run at least once: with its `Progress`, a re-run after a crash takes back the lock its
earlier run held and reuses the space Google already made, instead of making a second one.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.errors import Remedy, UnknownMeeting, UserFacingError
from bot.core.meetings import Meetings, role_of
from bot.core.ports import Progress, RoomMemory
from bot.domain import Actor, Room, Tenant
from bot.meet.models import Space

__all__ = ["NoRoom", "NotAnAdmin", "RoomBusy", "RoomChange", "RoomExpired", "RoomNotYours", "Rooms"]

Lookup = Callable[[Tenant, str], Awaitable[str | None]]
AdminCheck = Callable[[Tenant, str], Awaitable[bool]]


class NoRoom(UserFacingError):
    def __init__(self) -> None:
        super().__init__("This channel has no Meet room yet.")


class RoomBusy(UserFacingError):
    def __init__(self) -> None:
        super().__init__("Someone else is changing this channel's room right now. Nothing was changed.",
                         remedy=Remedy.LOOK_AGAIN)


class RoomNotYours(UserFacingError):
    def __init__(self, creator: str) -> None:
        super().__init__("Only the person who set up this channel's room, or a workspace admin, can replace or "
                         "clear it.", person=creator, person_is="set it up")


class RoomExpired(UserFacingError):
    def __init__(self, room: Room) -> None:
        super().__init__(f"This channel's room `{room.meeting_code}` no longer exists at Google: meeting codes "
                         "expire after a year without use.", remedy=Remedy.NEW_ROOM)
        self.room = room


class NotAnAdmin(UserFacingError):
    def __init__(self) -> None:
        super().__init__("Only a workspace admin can change what every channel gets by default.")


@dataclass(frozen=True, slots=True)
class RoomChange:
    room: Room | None  # None after a clear
    previous: Room | None


class Rooms:
    def __init__(self, meetings: Meetings, store: RoomMemory, google_email: Lookup, is_admin: AdminCheck) -> None:
        self._meetings = meetings
        self._store = store
        self._google_email = google_email
        self._is_admin = is_admin

    async def current(self, tenant: Tenant, channel_id: str) -> Room | None:
        return await self._store.get(tenant, channel_id)

    async def rooms_started_by(self, actor: Actor) -> list[tuple[str, Room]]:
        found = []
        for channel in await self._store.channels_started_by(actor.tenant, actor.user_id):
            room = await self._store.get(actor.tenant, channel)
            if room is not None:
                found.append((channel, room))
        return found

    async def verify(self, actor: Actor, room: Room) -> None:
        """Ask Google, as the caller, whether the room's link still works. A space that is gone, or whose code
        Google has replaced, means the link people saved is dead: say so rather than post a broken card."""
        try:
            space = await self._meetings.lookup(actor, room.space_name)
        except UnknownMeeting:
            raise RoomExpired(room) from None
        if room.meeting_code and space.meeting_code != room.meeting_code:
            raise RoomExpired(room)  # replaced by a new code, or expired with none: the saved link is dead

    async def create(self, actor: Actor, channel_id: str, progress: Progress | None = None) -> RoomChange:
        """A new space becomes the channel's room. `progress` is the job's record: "space" is noted as soon as
        Google answers, so a re-run stores that space rather than asking for another."""
        async def make(previous: Room | None) -> Room:
            space = await self._new_space(actor, progress)
            return Room(space.name, space.meeting_code, space.meeting_uri, actor.user_id,
                        await self._google_email(actor.tenant, actor.user_id), actor.user_id, time.time(),
                        previous.bookmark_id if previous else None)

        return await self._change(actor, channel_id, make, progress)

    async def _new_space(self, actor: Actor, progress: Progress | None) -> Space:
        done = await progress.done() if progress else {}
        if "space" in done:
            return Space.from_json(json.loads(done["space"]))
        space = (await self._meetings.start(actor, None, None)).space
        if progress:
            await progress.note("space", json.dumps({"name": space.name, "meetingUri": space.meeting_uri,
                                                     "meetingCode": space.meeting_code}))
        return space

    async def adopt(self, actor: Actor, channel_id: str, reference: str) -> RoomChange:
        async def take(previous: Room | None) -> Room:
            space = await self._meetings.lookup(actor, reference)
            info = await self._meetings.info(actor.tenant, space.name)
            owns = role_of(actor, space, info) == "owner"  # evidence, never the mere presence of config
            owner = actor.user_id if owns else (info.owner_user_id if info else None)
            email = await self._google_email(actor.tenant, actor.user_id) if owns else None
            return Room(space.name, space.meeting_code, space.meeting_uri, owner, email, actor.user_id, time.time(),
                        previous.bookmark_id if previous else None)

        return await self._change(actor, channel_id, take)

    async def clear(self, actor: Actor, channel_id: str) -> RoomChange:
        owner = await self._store.lock(actor.tenant, channel_id)
        if owner is None:
            raise RoomBusy()
        try:
            previous = await self._store.get(actor.tenant, channel_id)
            if previous is None:
                raise NoRoom()
            await self._check_may_change(actor, previous)
            await self._store.delete(actor.tenant, previous, channel_id)
            return RoomChange(None, previous)
        finally:
            await self._store.unlock(actor.tenant, channel_id, owner)

    async def set_recaps(self, actor: Actor, channel_id: str, on: bool) -> Room:
        """`/meet room recap on|off`: whoever set the room up (or an admin) decides for this channel's room."""
        return await self._switched(actor, channel_id, lambda room: room.with_recaps(on))

    async def set_people(self, actor: Actor, channel_id: str, on: bool) -> Room:
        """`/meet room people on|off`: whoever set the room up (or an admin) decides whether its call shows people."""
        return await self._switched(actor, channel_id, lambda room: room.with_people(on))

    async def _switched(self, actor: Actor, channel_id: str, switch: Callable[[Room], Room]) -> Room:
        async def build(previous: Room | None) -> Room:
            if previous is None:
                raise NoRoom()
            return switch(previous)

        change = await self._change(actor, channel_id, build)
        assert change.room is not None
        return change.room

    async def set_recap_default(self, actor: Actor, on: bool) -> None:
        """`/meet room recap default on|off`: the workspace's default, a workspace admin's choice."""
        if not await self._is_admin(actor.tenant, actor.user_id):
            raise NotAnAdmin()
        await self._store.set_recap_default(actor.tenant, on)

    async def recaps_on(self, tenant: Tenant, room: Room | None) -> bool:
        """Whether a call's recap is posted: the room's own choice, else the workspace's (on unless an admin
        turned it off)."""
        if room is not None and room.recaps is not None:
            return room.recaps
        default = await self._store.recap_default(tenant)
        return True if default is None else default

    async def save_bookmark(self, tenant: Tenant, channel_id: str, room: Room, bookmark_id: str | None) -> None:
        await self._store.put(tenant, channel_id, room.with_bookmark(bookmark_id))

    async def _change(self, actor: Actor, channel_id: str, build: Callable[[Room | None], Awaitable[Room]],
                      progress: Progress | None = None) -> RoomChange:
        """Lock, check who may change it, build the new room (Google calls), then write it in one step."""
        owner = await self._lock(actor.tenant, channel_id, progress)
        if owner is None:
            raise RoomBusy()
        try:
            previous = await self._store.get(actor.tenant, channel_id)
            if previous is not None:
                await self._check_may_change(actor, previous)
            room = await build(previous)
            await self._store.put(actor.tenant, channel_id, room, previous=previous)
            return RoomChange(room, previous)
        finally:
            await self._store.unlock(actor.tenant, channel_id, owner)

    async def _lock(self, tenant: Tenant, channel_id: str, progress: Progress | None) -> str | None:
        """The channel's lock, under a token kept in the job's record: a re-run takes back what a crash left held
        (it would otherwise be refused as "someone else" until the lock expires)."""
        if progress is None:
            return await self._store.lock(tenant, channel_id)
        token = (await progress.done()).get("lock")
        if token is None:
            token = secrets.token_urlsafe(16)
            await progress.note("lock", token)
        return await self._store.lock(tenant, channel_id, token)

    async def _check_may_change(self, actor: Actor, room: Room) -> None:
        if room.creator_user_id != actor.user_id and not await self._is_admin(actor.tenant, actor.user_id):
            raise RoomNotYours(room.creator_user_id)
