"""Presence in a person's own meetings: `/meet mine`'s feed tells which of their meetings are running, and, for a
person who also turned `/meet presence` on, one `participants.list` of each (only those still in the call, read as
them, for them) says whether they are in it. Meetings with a card are left to the card's following, which already
reads who is in them and tells presence; a meeting mine saw end is over for the person.

Google reads per mine read: none for someone without presence; with it, one per running meeting without a card.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from bot.core.following import Reader
from bot.core.live import observed
from bot.core.ports import SpaceMemory
from bot.core.presence import Presence
from bot.domain import PersonalMeeting, Tenant, space_id_of
from bot.googleapi.errors import GoogleApiError
from bot.meet.client import MeetClient
from bot.meet.models import ConferenceRecord, Participant

__all__ = ["IN_THE_CALL", "OwnCalls"]

log = logging.getLogger(__name__)

IN_THE_CALL = "latest_end_time IS NULL"  # participants still connected (reference §3)


class OwnCalls:
    def __init__(self, meet: MeetClient, presence: Presence, spaces: SpaceMemory,
                 clock: Callable[[], float] = time.time) -> None:
        self._meet = meet
        self._presence = presence
        self._spaces = spaces
        self._clock = clock

    async def __call__(self, tenant: Tenant, user_id: str, running: Sequence[ConferenceRecord],
                       followed: Mapping[str, PersonalMeeting], reader: Reader) -> None:
        """After mine listed the person's running meetings (`followed`: what it followed before this read)."""
        if not await self._presence.is_on(tenant, user_id):
            return
        listed = {record.name for record in running}
        for conference, meeting in followed.items():
            if conference in listed or meeting.state.ended_at is not None:
                continue
            if await self._spaces.cards(tenant, space_id_of(meeting.state.space_name)):
                continue  # its card's following tells presence who is in it, for as long as it runs
            await self._presence.left(tenant, user_id, conference)
        for record in running:
            if not record.space or not record.is_live or await self._spaces.cards(tenant, space_id_of(record.space)):
                continue
            try:
                people = await reader.call(partial(self._in_call, conference=record.name))
            except GoogleApiError as error:  # the status waits for the next read; the recaps don't wait for it
                log.warning("presence: participants of %s unread for %s user %s: %s", record.name, tenant.tag,
                            user_id, type(error).__name__)
                continue
            await self._presence.observe(tenant, observed(record.space, self._clock(), record, people), only=user_id)

    async def _in_call(self, token: str, conference: str) -> list[Participant]:
        return await self._meet.list_participants(token, conference, filter=IN_THE_CALL)

