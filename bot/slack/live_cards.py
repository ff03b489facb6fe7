"""Cards that follow the meeting: after each read of a followed space, every card showing it is edited in place,
and when a call ends its recap goes into each meeting card's thread (then edited as Google's files arrive).

Slack sees at most one `chat.update` per card per read, and reads of one space are coalesced (core.following), so a
burst of joins costs one edit per card per window; the last state always wins because it is re-read, not replayed.
Each edit goes through core.card_edits, so a card retired after the read (it now points to a newer one) is left as
it is, whatever process retired it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.call_people import PeopleSwitch
from bot.core.calls import Calls
from bot.core.card_edits import CardEdits
from bot.core.event_feed import FollowNotice
from bot.core.following import Following, FollowUpdate
from bot.core.meetings import Meetings
from bot.core.rooms import Rooms
from bot.domain import Card, LiveState, Phase, Room, SpaceInfo, Tenant
from bot.slack.calls import with_call, without_call
from bot.slack.clients import SlackClients
from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name
from bot.slack.views.blocks import Message, notice
from bot.slack.views.card import CardContent, card_content, meeting_card
from bot.slack.views.live import recap_message
from bot.slack.views.room import room_card

__all__ = ["LiveCards", "RecapMemory"]

log = logging.getLogger(__name__)

FOLLOW_NOTICES = {
    FollowNotice.LIVE_UPDATES_REVOKED: (
        "Google stopped telling meetbot about your meeting as it happens, because your Google account no longer "
        "allows it. meetbot checks on it every little while instead; run `/meet connect` to turn live updates "
        "back on."),
}
ROOM_CALL_TITLE = "Meet room"


class RecapMemory(Protocol):
    async def claim(self, tenant: Tenant, channel: str, conference: str) -> tuple[bool, str | None]: ...

    async def posted(self, tenant: Tenant, channel: str, conference: str, ts: str) -> None: ...


class LiveCards:
    def __init__(self, following: Following, meetings: Meetings, rooms: Rooms, recaps: RecapMemory,
                 clients: SlackClients, edits: CardEdits, calls: Calls | None = None,
                 people: PeopleSwitch | None = None, *,
                 seen: Callable[[Tenant, LiveState], Awaitable[None]] | None = None) -> None:
        self._following = following
        self._edits = edits  # each edit only while the card still shows the space (a retired card keeps its pointer)
        self._seen = seen  # who is in the call, for presence (core.presence); None: nobody's status follows it
        self._calls = calls  # Slack's own call object beside each card (core.calls); None: cards only
        self._people = people  # whether that call shows who is in it (core.call_people); None: it does
        self._meetings = meetings
        self._rooms = rooms
        self._recaps = recaps
        self._clients = clients

    async def refresh(self, tenant: Tenant, space_id: str) -> None:
        """One scheduled read of a followed space, and the Slack edits it calls for."""
        update = await self._following.refresh(tenant, space_id)
        if update is None:
            return
        if self._seen is not None:
            await self._seen(tenant, update.current)
        if update.notice is not None:
            await self._tell(tenant, update.follower, FOLLOW_NOTICES[update.notice])
        call_id, moved = await self._sync_call(tenant, update)
        if update.changed or moved:
            await self._draw(tenant, update.cards, update.current, update.follower, recaps=True, call_id=call_id)

    async def _sync_call(self, tenant: Tenant, update: FollowUpdate) -> tuple[str | None, bool]:
        """Slack's call for the conference, reconciled on every read; and whether the cards must move to it."""
        if self._calls is None:
            return None, False
        before = await self._calls.current(tenant, update.current)
        info = await self._call_facts(tenant, update)
        # Names go to a channel only as the owner shared them: read with the owner's own token (DESIGN §1)
        owner_reads = info is not None and info.owner_user_id == update.follower
        shown = owner_reads and (self._people is None or await self._people.shown(
            tenant, update.current.space_name, update.cards, lambda card: self._rooms.current(tenant, card.channel)))
        call_id = await self._calls.sync(tenant, update.current, update.previous, info, update.follower,
                                         show_people=shown)
        return call_id, call_id != before

    async def _tell(self, tenant: Tenant, user_id: str, text: str) -> None:
        client = await self._clients.for_tenant(tenant)
        message = notice(text, emoji=":warning:")
        message.pop("response_type")  # a DM, not a reply
        try:
            await client.chat_postMessage(channel=user_id, **message)
        except SLACK_FAILURES as error:
            log.warning("a follower was not told about their meeting's updates: %s", slack_error_name(error))

    async def _call_facts(self, tenant: Tenant, update: FollowUpdate) -> SpaceInfo | None:
        """What the call is made of: the meeting's own record, or, for a room, the room's link and code."""
        info = await self._meetings.info(tenant, update.current.space_name)
        if info is not None and info.meeting_uri:
            return info
        for card in update.cards:
            room = await self._rooms.current(tenant, card.channel) if card.kind == "room" else None
            if room is not None and room.space_name == update.current.space_name:
                return SpaceInfo(room.space_name, room.meeting_code, room.meeting_uri, room.owner_user_id,
                                 title=ROOM_CALL_TITLE)
        return info

    async def show(self, tenant: Tenant, update: FollowUpdate) -> None:
        call_id = await self._calls.current(tenant, update.current) if self._calls else None
        await self._draw(tenant, update.cards, update.current, update.follower, recaps=True, call_id=call_id)

    async def redraw(self, tenant: Tenant, space_name: str) -> None:
        """What the cards show changed outside the call (its co-hosts): draw them again, as the meeting is now.
        Only a followed meeting's cards: without a fresh state meetbot can't say what the card should show."""
        state = await self._following.shown_state(tenant, space_name)
        follower = await self._following.follower(tenant, space_name)
        if state is not None and follower is not None:
            call_id = await self._calls.current(tenant, state) if self._calls else None
            await self._draw(tenant, tuple(await self._meetings.cards(tenant, space_name)), state, follower,
                             recaps=False, call_id=call_id)

    async def _draw(self, tenant: Tenant, cards: tuple[Card, ...], state: LiveState, follower: str, *,
                    recaps: bool, call_id: str | None = None) -> None:
        """`state` was read with `follower`'s token: it goes only on cards they posted or set up, and a recap
        names people only where that follower owns the meeting (DESIGN §1)."""
        client = await self._clients.for_tenant(tenant)
        info = await self._meetings.info(tenant, state.space_name)
        content = card_content(state.space_name, info)
        for card in cards:
            room = await self._rooms.current(tenant, card.channel) if card.kind == "room" else None
            message = self._card_message(card, room, content, state, follower)
            if message is None:
                continue
            edit = partial(self._update, client, card, with_call(message, call_id))
            try:
                if not await self._edits.edit(tenant, state.space_name, card, edit):
                    continue  # retired since the cards were read: its pointer stays, and no recap in its thread
            except SLACK_FAILURES as error:
                log.warning("a followed card was not updated: %s", slack_error_name(error))
            if recaps and state.phase is Phase.ENDED and state.conference and await self._rooms.recaps_on(tenant, room):
                owner = room.owner_user_id if room is not None else content.started_by
                await self._recap(tenant, client, card, state, content.title, names=owner == follower)

    async def _update(self, client: AsyncWebClient, card: Card, message: Message) -> None:
        try:
            await client.chat_update(channel=card.channel, ts=card.ts, **message)
        except SLACK_FAILURES as error:
            if slack_error_name(error) != "invalid_blocks" or message == without_call(message):
                raise
            # Slack didn't take the call block (a call it no longer knows): the card works without it.
            log.warning("a card's call block was refused; the card is updated without it")
            await client.chat_update(channel=card.channel, ts=card.ts, **without_call(message))

    @staticmethod
    def _card_message(card: Card, room: Room | None, content: CardContent, state: LiveState, follower: str
                      ) -> Message | None:
        if card.kind != "room":
            # meeting cards are posted by the meeting's creator, the one who follows it
            return meeting_card(content, state) if content.started_by in (None, follower) else None
        if room is None or room.space_name != state.space_name:
            return None  # the channel's room moved on: that old card is history
        if room.creator_user_id != follower:
            return None  # read with someone else's token (the owner's own card): not this room's to show
        return room_card(room, state)

    async def _recap(self, tenant: Tenant, client: AsyncWebClient, card: Card, state: LiveState,
                     title: str | None, *, names: bool) -> None:
        conference = state.conference or ""
        # Claimed per channel: a channel showing the space on several cards (a meeting card and a room card, or
        # an old room card) gets one recap of each call, in the thread of whichever card claimed it first.
        may_post, ts = await self._recaps.claim(tenant, card.channel, conference)
        message = recap_message(state, title, names=names)
        try:
            if ts:
                await client.chat_update(channel=card.channel, ts=ts, **message)
            elif may_post:
                posted = await client.chat_postMessage(channel=card.channel, thread_ts=card.ts, **message)
                await self._recaps.posted(tenant, card.channel, conference, str(posted["ts"]))
            # else: an earlier try claimed it and may have posted: never a second recap
        except SLACK_FAILURES as error:
            log.warning("a recap was not posted or updated: %s", slack_error_name(error))
