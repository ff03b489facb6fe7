"""A room whose channel's members are its space's members: `/meet room members on|off`, the channel events that
keep it true, and an hourly check against the channel for the events that were missed. Every write is made as the
room's owner (bot/core/members.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from bot.core.following import Schedule
from bot.core.members import Members, MembersChange, MembersRefusal, MembersRefused
from bot.core.ports import RoomMemory
from bot.core.rooms import NoRoom
from bot.domain import Actor, Room, Tenant

__all__ = ["RECONCILE_EVERY", "ChannelRoster", "RoomMembers"]

RECONCILE_EVERY = 60 * 60.0  # a room that follows its channel is checked against it hourly, for missed events
RECONCILE_LEASE = 60.0


class ChannelRoster(Protocol):
    async def channel_members(self, tenant: Tenant, channel_id: str) -> list[str]: ...


class RoomMembers:
    """`/meet room members on|off` and the channel events that keep it true."""

    def __init__(self, members: Members, rooms: RoomMemory, roster: ChannelRoster,
                 reconciles: Schedule | None = None, clock: Callable[[], float] = time.time) -> None:
        self._members = members
        self._rooms = rooms
        self._roster = roster
        self._reconciles = reconciles  # when each following room's members are next checked against its channel
        self._clock = clock

    async def turn_on(self, actor: Actor, channel_id: str) -> MembersChange:
        await self.switch(actor, channel_id, True)
        return await self.sync(actor, channel_id)

    async def turn_off(self, actor: Actor, channel_id: str) -> MembersChange:
        await self.switch(actor, channel_id, False)
        return await self.sync(actor, channel_id)

    async def switch(self, actor: Actor, channel_id: str, on: bool) -> Room:
        """Only the room's owner may: set whether the room follows its channel (quick: no Google call)."""
        room = await self._owned_room(actor, channel_id)
        if room.members_sync != on:
            await self._rooms.put(actor.tenant, channel_id, room.with_members_sync(on), previous=room)
        if self._reconciles is not None:
            if on:
                await self._reconciles.at(actor.tenant, channel_id, self._clock() + RECONCILE_EVERY)
            else:
                await self._reconciles.drop(actor.tenant, channel_id)
        return room.with_members_sync(on)

    async def due_reconciles(self, limit: int) -> list[tuple[Tenant, str]]:
        """Rooms whose members are due a check against their channel (leased: one process takes each)."""
        if self._reconciles is None:
            return []
        return await self._reconciles.claim(self._clock(), RECONCILE_LEASE, limit)

    async def reconcile_as(self, tenant: Tenant, channel_id: str) -> Actor | None:
        """Who syncs a due room (its owner), with its next check scheduled; None: it no longer follows its
        channel, and is no longer checked. Events keep a room true; this catches the ones that were missed."""
        room = await self._following(tenant, channel_id)
        if self._reconciles is None:
            return None
        if room is None or room.owner_user_id is None:
            await self._reconciles.drop(tenant, channel_id)
            return None
        now = self._clock()
        await self._reconciles.at(tenant, channel_id, now + RECONCILE_EVERY, read_at=now)
        return Actor(tenant, room.owner_user_id)

    async def sync(self, actor: Actor, channel_id: str) -> MembersChange:
        """Members = the channel's people while the room follows it; off, the plain memberships it gave go
        (co-hosts stay). Long for a big channel: writes are paced at Google's per-user quota."""
        room = await self._owned_room(actor, channel_id)
        people = await self._roster.channel_members(actor.tenant, channel_id) if room.members_sync else []
        return await self._members.sync(actor, room.space_name, _label(room), people)

    async def joined(self, tenant: Tenant, channel_id: str, user_id: str) -> MembersChange | None:
        room = await self._following(tenant, channel_id)
        if room is None or room.owner_user_id is None:
            return None
        return await self._members.add_member(Actor(tenant, room.owner_user_id), room.space_name, _label(room),
                                              user_id)

    async def left(self, tenant: Tenant, channel_id: str, user_id: str) -> MembersChange | None:
        room = await self._following(tenant, channel_id)
        if room is None or room.owner_user_id is None:
            return None
        return await self._members.remove_member(Actor(tenant, room.owner_user_id), room.space_name, _label(room),
                                                 user_id)

    async def _following(self, tenant: Tenant, channel_id: str) -> Room | None:
        room = await self._rooms.get(tenant, channel_id)
        return room if room is not None and room.members_sync else None

    async def _owned_room(self, actor: Actor, channel_id: str) -> Room:
        """Only the Slack user whose Google account owns the room's space writes its members."""
        room = await self._rooms.get(actor.tenant, channel_id)
        if room is None:
            raise NoRoom()
        if room.owner_user_id != actor.user_id:
            raise MembersRefused(MembersRefusal.NOT_OWNER if room.owner_user_id else MembersRefusal.OUTSIDE_MEETBOT,
                                 _label(room), room.owner_user_id)
        return room


def _label(room: Room) -> str:
    return room.meeting_code or room.space_name
