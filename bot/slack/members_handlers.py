"""Slack side of space members: `/meet cohost|uncohost|members`, the co-hosts of `/meet new` and of the settings
modal, `/meet room members on|off`, and the channel and profile events that keep members true.

Every Google write is the space owner's own: the caller's, or for a room that follows its channel, the owner who
turned that on (see bot/core/members.py and bot/core/room_members.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import NotLinked
from bot.core.members import Members, MembersChange, Skip
from bot.core.room_members import RECONCILE_EVERY, RoomMembers
from bot.domain import Actor, Card, Tenant
from bot.jobs.queue import JobQueue, Payload, Retry, tries_left
from bot.meet.models import Member, Space
from bot.slack import grammar
from bot.slack.directory import SlackDirectory
from bot.slack.replies import answering, reply_for
from bot.slack.responder import Reply, reliable, webhook_reply
from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name
from bot.slack.unopened import job_notice
from bot.slack.views.blocks import Message
from bot.slack.views.card import CardContent, meeting_card
from bot.slack.views.members import change_message, members_message

__all__ = ["ROOM_SYNC_JOB", "MembersHandlers"]

log = logging.getLogger(__name__)

ROOM_SYNC_JOB = "members.room-sync"
# A 500-person channel paced at Google's 100 writes a minute takes about 5 minutes: this job may take 15.
ROOM_SYNC_TIMEOUT = 15 * 60.0


@dataclass(frozen=True, slots=True)
class MembersHandlers:
    members: Members
    rooms: RoomMembers
    directory: SlackDirectory
    jobs: JobQueue
    session: aiohttp.ClientSession  # for the response_url a room sync answers through
    redraw: Callable[[Tenant, str], Awaitable[None]] | None = None  # the space's cards, drawn again (co-hosts)

    def register(self) -> None:
        self.jobs.job(ROOM_SYNC_JOB, timeout=ROOM_SYNC_TIMEOUT)(self.run_room_sync)

    # --- commands ----------------------------------------------------------------------------------------------

    async def cohost(self, actor: Actor, parsed: grammar.Cohost, respond: Reply) -> None:
        change = await self.members.add_cohosts(actor, parsed.reference, parsed.people)
        await respond(**change_message(change, "cohost"))
        await self._cards_follow(actor, change)

    async def uncohost(self, actor: Actor, parsed: grammar.Uncohost, respond: Reply) -> None:
        change = await self.members.remove_cohosts(actor, parsed.reference, parsed.people)
        await respond(**change_message(change, "uncohost"))
        await self._cards_follow(actor, change)

    async def _cards_follow(self, actor: Actor, change: MembersChange) -> None:
        """The cards' "Co-hosts" line changes with them (a failure here never undoes the change)."""
        if self.redraw is None or not (change.added or change.removed):
            return
        try:
            await self.redraw(actor.tenant, change.space_name)
        except Exception as error:
            log.warning("cards not redrawn after a co-host change: %s", type(error).__name__)

    async def show(self, actor: Actor, reference: str, respond: Reply) -> None:
        listing = await self.members.listing(actor, reference)
        await respond(**members_message(listing, await self._slack_people(actor.tenant, listing.members[:40])))

    async def room(self, actor: Actor, channel_id: str, on: bool, response_url: str | None, request_id: str
                   ) -> None:
        """Set the switch now (owner only), then sync in a job of its own: a big channel takes minutes."""
        await self.rooms.switch(actor, channel_id, on)
        payload: Payload = {"team": actor.tenant.team_id, "enterprise": actor.tenant.enterprise_id,
                            "user": actor.user_id, "channel": channel_id, "on": on, "response_url": response_url}
        await self.jobs.enqueue(ROOM_SYNC_JOB, payload, f"room-sync-{actor.tenant.team_id}-{request_id}",
                                notice=job_notice(actor.tenant.team_id, actor.tenant.enterprise_id, actor.user_id,
                                                  response_url))

    async def reconcile(self, tenant: Tenant, channel_id: str) -> None:
        """A room's hourly check against its channel: the owner's sync, queued once an hour however many
        processes see it due. Nobody is told unless something needs them (the sync's own skipped reasons)."""
        owner = await self.rooms.reconcile_as(tenant, channel_id)
        if owner is None:
            return
        hour = int(time.time() // RECONCILE_EVERY)
        payload: Payload = {"team": tenant.team_id, "enterprise": tenant.enterprise_id, "user": owner.user_id,
                            "channel": channel_id, "on": True, "response_url": None}
        await self.jobs.enqueue(ROOM_SYNC_JOB, payload, f"room-reconcile-{tenant.team_id}-{channel_id}-{hour}")

    async def run_room_sync(self, payload: Payload) -> None:
        actor = Actor(Tenant(str(payload["team"]), payload.get("enterprise")), str(payload["user"]))
        url = payload.get("response_url")
        respond: Reply = reliable(webhook_reply(url, self.session)) if url else _nowhere

        async def work() -> None:
            channel_id = str(payload["channel"])
            change = await self.rooms.sync(actor, channel_id)
            if not payload.get("on"):
                await respond(**change_message(change, "room_off"))
                return
            # Someone asked (an hourly check answers no one): promise to follow joins only if Slack will say.
            hears = await self.directory.bot_in_channel(actor.tenant, channel_id) if url else None
            await respond(**change_message(change, "room_on", hears_channel=hears))

        async def unlinked(reason: str) -> dict[str, object]:
            return reply_for(NotLinked(reason))

        await answering(work(), respond, unlinked, name="room members sync")

    # --- /meet new and the settings modal -------------------------------------------------------------------

    async def new_space_cohosts(self, actor: Actor, space: Space, title: str | None, user_ids: Sequence[str],
                                card: Card | None, client: AsyncWebClient, tell: Reply) -> None:
        """After the card is up: add the co-hosts (concurrently), then put them on the card."""
        label = space.meeting_code or space.name
        change = await self.members.add_to_new_space(actor, space.name, label, user_ids)
        cohosts = change.cohosts if change.cohosts is not None else change.added
        if card is not None and cohosts:
            # The card was posted moments ago: its ts is when the meeting was started (the card's date).
            content = CardContent(space.name, space.meeting_code, space.meeting_uri, title, actor.user_id,
                                  tuple(cohosts), card.posted_at)
            try:
                await client.chat_update(channel=card.channel, ts=card.ts, **meeting_card(content))
            except SLACK_FAILURES as error:
                log.warning("the card's co-hosts line was not added: %s", slack_error_name(error))
        if change.skipped:
            await tell(**change_message(change, "new"))

    async def current_cohosts(self, actor: Actor, space_name: str) -> list[str]:
        """The space's co-hosts as Slack users (those with a Slack account under that email), for the modal."""
        listing = await self.members.listing(actor, space_name)
        people = await self._slack_people(actor.tenant, listing.cohosts)
        return [people[m.email.lower()] for m in listing.cohosts if m.email and m.email.lower() in people]

    async def save_cohosts(self, actor: Actor, space_name: str, before: Sequence[str], after: Sequence[str]
                           ) -> list[Message]:
        """Only the difference goes to Google: who was added in the modal, and who was taken out."""
        added = [u for u in after if u not in before]
        dropped = [u for u in before if u not in after]
        said = []
        if added:
            said.append(change_message(await self.members.add_cohosts(actor, space_name, added), "cohost"))
        if dropped:
            said.append(change_message(await self.members.remove_cohosts(actor, space_name, dropped), "uncohost"))
        return said

    # --- events --------------------------------------------------------------------------------------------------

    async def channel_joined(self, tenant: Tenant, channel_id: str, user_id: str) -> None:
        _retry_if_not_done(await self.rooms.joined(tenant, channel_id, user_id))

    async def channel_left(self, tenant: Tenant, channel_id: str, user_id: str) -> None:
        _retry_if_not_done(await self.rooms.left(tenant, channel_id, user_id))

    async def user_changed(self, tenant: Tenant, user_id: str) -> None:
        await self.directory.forget(tenant, user_id)

    async def _slack_people(self, tenant: Tenant, members: Sequence[Member]) -> dict[str, str]:
        """email (lowercase) → the Slack user with that profile email, for the members shown."""
        emails = [m.email for m in members if m.email]
        found = await asyncio.gather(*(self.directory.user_for_email(tenant, e) for e in emails))
        return {e.lower(): u for e, u in zip(emails, found, strict=True) if u}


async def _nowhere(**_: object) -> None:
    """A sync with no response_url to answer through (none is expected: it starts from a command)."""


def _retry_if_not_done(change: MembersChange | None) -> None:
    """Google was down or rate-limiting for a channel event's one write: the job runs again (the write is
    idempotent), until its last try."""
    if change is None:
        return
    if any(s.why is Skip.NOT_DONE for s in change.skipped) and tries_left():
        raise Retry(30)
    for skipped in change.skipped:
        log.info("a channel member's room membership did not change: %s", skipped.why.value)
