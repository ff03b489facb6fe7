"""Slack side of channel rooms: `/meet room [new | set <meeting> | clear]`, the room card and the channel bookmark.

Creating a room runs in a job, at least once: in its turn in Google's create quota (CreateTurns), resuming from the
job's progress record, so a re-run after a crash stores the space already made and posts the card only once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.call_people import PeopleSwitch
from bot.core.card_edits import CardEdits
from bot.core.meetings import Meetings
from bot.core.ports import Progress
from bot.core.rooms import RoomChange, RoomExpired, Rooms
from bot.domain import Actor, Card, Room, Tenant
from bot.slack.mrkdwn import code
from bot.slack.pacing import CreateTurns
from bot.slack.replies import refusal_text
from bot.slack.views.blocks import Message, notice
from bot.slack.views.room import moved_room_card, replaced_room_card, room_card, room_offer

__all__ = ["RoomHandlers", "is_direct_message"]

log = logging.getLogger(__name__)

BOOKMARK_TITLE = "Meet room"
_CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived"}


def is_direct_message(channel_id: str | None, channel_name: str | None) -> bool:
    return bool(channel_id and channel_id.startswith("D")) or channel_name == "directmessage"


@dataclass(frozen=True, slots=True)
class RoomHandlers:
    rooms: Rooms
    meetings: Meetings
    linked: Callable[[Tenant, str], Awaitable[bool]]  # whether the caller can ask Google anything
    turns: CreateTurns
    edits: CardEdits  # a retired card's pointer lands after any edit of it in flight, and none comes after
    call_people: PeopleSwitch | None = None  # whether calls show who is in them (the admin's default)

    async def show(self, actor: Actor, channel_id: str, respond: Any, client: AsyncWebClient) -> None:
        room = await self.rooms.current(actor.tenant, channel_id)
        if room is None:
            await respond(**room_offer(":information_source: This channel has no Meet room yet. Create one that "
                                       "anyone here can join; you'll own it.", "Create a room"))
            return
        if await self.linked(actor.tenant, actor.user_id):
            try:
                await self.rooms.verify(actor, room)
            except RoomExpired as expired:
                await respond(**room_offer(f":warning: {refusal_text(expired)}", "Create a new room"))
                return
        await self._post(actor, channel_id, room, respond, client)

    async def create(self, actor: Actor, channel_id: str, respond: Any, client: AsyncWebClient,
                     progress: Progress) -> None:
        """`progress` is the job's record; a Retry asks the job to come back when its turn in the quota comes."""
        async def make() -> None:
            change = await self.rooms.create(actor, channel_id, progress)
            await self._settle(actor, channel_id, change, client)
            done = await progress.done()
            if change.room is None or "card" in done:  # the card is the one answer
                return
            if "posting" in done:  # a run died while posting: Slack may have the card, and two must never appear
                await respond(**notice("This channel's room is ready. meetbot was interrupted while posting its "
                                       "card, so it may be missing here: `/meet room` shows it.", emoji=":warning:"))
            else:
                await progress.note("posting", "1")
                await self._post(actor, channel_id, change.room, respond, client)
            await progress.note("card", "1")

        await self.turns.run(make, progress, respond, "your room")

    async def adopt(self, actor: Actor, channel_id: str, reference: str, respond: Any,
                    client: AsyncWebClient) -> None:
        change = await self.rooms.adopt(actor, channel_id, reference)
        await self._settle(actor, channel_id, change, client)
        label = change.room.meeting_code if change.room else reference
        await respond(**notice(f"This channel's room is now {code(label or reference)}.", emoji=":white_check_mark:"))

    async def recaps(self, actor: Actor, channel_id: str, on: bool, default: bool, respond: Any) -> None:
        """Whether calls get a recap in their card's thread: this room, or (an admin) every channel by default."""
        state = "on" if on else "off"
        if default:
            await self.rooms.set_recap_default(actor, on)
            text = (f"Recaps are now {state} by default in this workspace. A room's own "
                    "`/meet room recap on|off` still wins.")
        else:
            await self.rooms.set_recaps(actor, channel_id, on)
            text = (f"Recaps are {state} for this channel's room: " +
                    ("each call gets one in its card's thread." if on else "calls end without one."))
        await respond(**notice(text, emoji=":white_check_mark:"))

    async def people(self, actor: Actor, channel_id: str, on: bool, default: bool, respond: Any) -> None:
        """Whether a room's Slack call shows who is in it: this room, or (an admin) every card and room by default."""
        state = "on" if on else "off"
        if default:
            if self.call_people is not None:
                await self.call_people.set_default(actor, on)
            text = (f"Showing who is in a call is now {state} by default in this workspace. A meeting's "
                    "`/meet set <meeting> people=on|off` and a room's `/meet room people on|off` still win.")
        else:
            await self.rooms.set_people(actor, channel_id, on)
            text = ("This channel's room call shows who is in it." if on else
                    "This channel's room call no longer shows who is in it; the card still counts them.")
        await respond(**notice(text, emoji=":white_check_mark:"))

    async def clear(self, actor: Actor, channel_id: str, respond: Any, client: AsyncWebClient) -> None:
        change = await self.rooms.clear(actor, channel_id)
        await self._settle(actor, channel_id, change, client)
        await respond(**notice("This channel's room is forgotten. The meeting itself still exists at Google.",
                               emoji=":white_check_mark:"))

    async def _post(self, actor: Actor, channel_id: str, room: Room, respond: Any, client: AsyncWebClient) -> None:
        """Post the room card; the channel's older cards of the room then point to it, so one card is live."""
        message = room_card(room)
        try:
            posted = await client.chat_postMessage(channel=channel_id, **message)
        except SlackApiError as error:
            if error.response.get("error") not in _CANNOT_POST:
                raise
            await respond(response_type="in_channel", **message)
            return
        card = Card(str(posted["channel"]), str(posted["ts"]), "room")
        # Read with the token of whoever set the room up, never the owner's because someone pointed a room at their
        # meeting (DESIGN §1): an adopted room shows what Google shows the adopter.
        await self.meetings.add_card(actor, room.space_name, card, follower=room.creator_user_id,
                                     owners=room.owner_user_id == room.creator_user_id)
        # Re-read after adding: two cards posted at once both keep the newest, whichever ran last.
        cards = await self._room_cards(actor.tenant, room.space_name, card.channel)
        newest = max(cards, key=lambda c: c.posted_at, default=card)
        await self._retire(actor.tenant, room.space_name, [c for c in cards if c.ts != newest.ts],
                           replaced_room_card(room), client)

    async def _room_cards(self, tenant: Tenant, space_name: str, channel_id: str) -> list[Card]:
        return [c for c in await self.meetings.cards(tenant, space_name)
                if c.kind == "room" and c.channel == channel_id]

    async def _retire(self, tenant: Tenant, space_name: str, cards: list[Card], message: Message,
                      client: AsyncWebClient) -> None:
        """Old room cards stop offering the room and get no more updates or recaps."""
        async def point(card: Card) -> None:
            try:
                await client.chat_update(channel=card.channel, ts=card.ts, **message)
            except SlackApiError as error:
                log.warning("an old room card was not retired: %s", error.response.get("error"))

        await self.edits.retire(tenant, space_name, cards, point)

    async def _settle(self, actor: Actor, channel_id: str, change: RoomChange, client: AsyncWebClient) -> None:
        """Keep the channel's "Meet room" bookmark in step with the room. A failed bookmark never undoes the room."""
        old_bookmark = change.previous.bookmark_id if change.previous else None
        previous = change.previous
        if previous is not None and (change.room is None or change.room.space_name != previous.space_name):
            cards = await self._room_cards(actor.tenant, previous.space_name, channel_id)
            await self._retire(actor.tenant, previous.space_name, cards, moved_room_card(previous, change.room),
                               client)
        try:
            if change.room is None:
                if old_bookmark:
                    await client.bookmarks_remove(channel_id=channel_id, bookmark_id=old_bookmark)
                return
            link = change.room.meeting_uri or ""
            if old_bookmark:
                await client.bookmarks_edit(channel_id=channel_id, bookmark_id=old_bookmark, link=link,
                                            title=BOOKMARK_TITLE)
                bookmark_id: str | None = old_bookmark
            else:
                added = await client.bookmarks_add(channel_id=channel_id, title=BOOKMARK_TITLE, type="link",
                                                   link=link, emoji=":door:")
                bookmark_id = str(added["bookmark"]["id"])
            await self.rooms.save_bookmark(actor.tenant, channel_id, change.room, bookmark_id)
        except SlackApiError as error:
            log.warning("room bookmark not updated: %s", error.response.get("error"))
