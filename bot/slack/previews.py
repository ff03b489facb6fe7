"""Pasted meet.google.com links: `link_shared` unfurls and the "Meeting status" message shortcut."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.meetings import Meetings
from bot.core.previews import meeting_links, preview_links
from bot.domain import Actor
from bot.errors import StorageUnavailable
from bot.meet.links import find_references
from bot.slack.account_handlers import AccountHandlers
from bot.slack.interaction import SlackEvent
from bot.slack.views.blocks import Block, Message, notice
from bot.slack.views.meeting import status_message
from bot.slack.views.unfurl import numbered, unfurl_blocks, unknown_links_message

__all__ = ["PreviewHandlers"]

log = logging.getLogger(__name__)

MAX_SHORTCUT_LINKS = 5


@dataclass(frozen=True, slots=True)
class PreviewHandlers:
    meetings: Meetings
    accounts: AccountHandlers

    async def unfurl(self, actor: Actor, event: SlackEvent, client: AsyncWebClient) -> None:
        links = meeting_links(list(event.links))
        if not links:
            return  # nothing of ours: no chat.unfurl call at all
        composer = event.source == "composer"
        previews = await preview_links(self.meetings, actor, links, private=False,
                                       channel_id=None if composer else event.channel)
        # A link still in the composer has no real message yet (its channel/ts are placeholders): use unfurl_id.
        by_id = composer and event.unfurl_id is not None
        channel, ts = (None, None) if by_id else (event.channel, event.message_ts)
        unfurl_id, source = (event.unfurl_id, event.source) if by_id else (None, None)  # None: not sent
        for live in {p.space.name for p in previews if p.space is not None and p.space.is_live}:
            await self._seen_live(actor, live)
        # The channel sees only what needs no token; a warning (an unknown code) goes to the sharer alone.
        shown = [p for p in previews if not p.unknown]
        unfurls = {p.url: {"blocks": unfurl_blocks(p)} for p in shown}
        if unfurls:
            await client.chat_unfurl(unfurls=unfurls, channel=channel, ts=ts, unfurl_id=unfurl_id, source=source)
        if any(p.needs_connect for p in shown):
            # Slack shows the invitation to the sharer only, and shows no unfurl with it: hence its own call.
            try:
                await client.chat_unfurl(unfurls=unfurls, channel=channel, ts=ts, unfurl_id=unfurl_id, source=source,
                                         user_auth_required=True,
                                         user_auth_url=await self.accounts.link_url(actor, None, None),
                                         user_auth_message="Connect your Google account to see its status.")
            except SlackApiError as error:
                if error.response.get("error") != "cannot_prompt":
                    raise  # cannot_prompt: the sharer told Slack never to ask them; the unfurls are up already
        unknown = [p for p in previews if p.unknown]
        if unknown and event.channel and not composer:
            try:
                await client.chat_postEphemeral(channel=event.channel, user=actor.user_id,
                                                **unknown_links_message([p.ref for p in unknown]))
            except SlackApiError as error:
                log.warning("the sharer was not told about an unknown meeting: %s", error.response.get("error"))

    async def status_for(self, actor: Actor, reference: str, channel_id: str | None) -> Message:
        status = await self.meetings.status(actor, reference, channel_id)
        if status.space.is_live:
            await self._seen_live(actor, status.space.name)
        return status_message(status)

    async def _seen_live(self, actor: Actor, space_name: str) -> None:
        """A live call seen by someone: its cards are followed again if meetbot had stopped (best effort)."""
        try:
            await self.meetings.noticed(actor.tenant, space_name, live=True)
        except StorageUnavailable:
            log.warning("a live meeting was not followed again: Redis unavailable")

    async def shortcut(self, actor: Actor, message_text: str, channel_id: str | None) -> Message:
        """The status of every meeting linked in a message (its text and attachments' URLs), privately, for
        workspaces with unfurling off."""
        refs = find_references(message_text)[:MAX_SHORTCUT_LINKS]
        if not refs:
            return notice("There are no Google Meet links in that message.")
        previews = await preview_links(self.meetings, actor, [(r.resource_name, r) for r in refs], private=True,
                                       channel_id=channel_id)
        blocks: list[Block] = []
        for n, preview in enumerate(previews):
            if preview.needs_connect:
                reason = preview.problem or "Your Google account isn't connected."
                return await self.accounts.connect_prompt(actor, None, reason, None)
            shown = status_message(preview.status)["blocks"] if preview.status else unfurl_blocks(preview)
            blocks.extend(numbered(shown, n))
            blocks.append({"type": "divider"})
        return {"response_type": "ephemeral", "replace_original": False, "text": "Meeting status",
                "blocks": blocks[:-1][:50]}
