"""Pasted meet.google.com links: `link_shared` unfurls and the "Meeting status" message shortcut."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.meetings import Actor, Meetings
from bot.core.previews import LinkPreview, meeting_links, preview_links
from bot.meet.links import find_references
from bot.slack.account_handlers import AccountHandlers
from bot.slack.cards import end_button, join_button, status_message
from bot.slack.messages import Message, notice
from bot.slack.mrkdwn import code, escape, truncate

__all__ = ["PreviewHandlers", "unfurl_blocks"]

log = logging.getLogger(__name__)

MAX_SHORTCUT_LINKS = 5
Block = dict[str, Any]


def _names(preview: LinkPreview) -> str:
    people = (preview.status.participants or ()) if preview.status else ()
    names = ", ".join(escape(p.display_name or "someone") for p in people[:8])
    extra = len(people) - 8
    return names + (f" +{extra} more" if extra > 0 else "")


def unfurl_blocks(preview: LinkPreview) -> list[Block]:
    """A compact status card for one link. End is offered only to the owner, and only while live."""
    label = code(preview.ref.value if preview.ref.kind == "code" else preview.ref.resource_name)
    status = preview.status
    uri = (status.space.meeting_uri if status else None) or preview.ref.url
    if status is None:
        line = f":lock: Google Meet {label}" if preview.needs_connect else \
            f":warning: Google Meet {label}: {escape(preview.problem or 'unknown')}"
    else:
        title = f"*{escape(status.info.title)}* · " if status.info and status.info.title else ""
        if status.role == "other":
            line = f":video_camera: {title}Google Meet {label}"
        elif status.space.is_live:
            count = len(status.participants or ())
            line = f":large_green_circle: {title}{label} is *live* · {count} in the call: {_names(preview)}"
        else:
            line = f":white_circle: {title}{label} · nobody in it right now"
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(line, 3000)}}]
    buttons = join_button(uri)
    if status is not None and status.role == "owner" and status.space.is_live:
        buttons.append(end_button(status.space.name, status.label))
    if buttons:
        blocks.append({"type": "actions", "block_id": "meeting", "elements": buttons})
    return blocks


@dataclass(frozen=True, slots=True)
class PreviewHandlers:
    meetings: Meetings
    accounts: AccountHandlers

    async def unfurl(self, actor: Actor, event: dict[str, Any], client: AsyncWebClient) -> None:
        links = meeting_links([str(link.get("url", "")) for link in event.get("links") or []])
        if not links:
            return  # nothing of ours: no chat.unfurl call at all
        previews = await preview_links(self.meetings, actor, links)
        # A link still in the composer has no real message yet (its channel/ts are placeholders): use unfurl_id.
        where: dict[str, Any] = (
            {"unfurl_id": event["unfurl_id"], "source": event["source"]}
            if event.get("source") == "composer" and event.get("unfurl_id")
            else {"channel": event["channel"], "ts": event["message_ts"]}
        )
        extra: dict[str, Any] = {}
        if any(p.needs_connect for p in previews):
            # Slack shows this invitation to the sharer only; everyone else just sees the basic cards.
            extra = {
                "user_auth_required": True,
                "user_auth_url": await self.accounts.link_url(actor, None, None),
                "user_auth_message": "Connect your Google account so meetbot can show who's in these meetings.",
            }
        unfurls = {p.url: {"blocks": unfurl_blocks(p)} for p in previews}
        await client.chat_unfurl(unfurls=unfurls, **where, **extra)

    async def shortcut(self, actor: Actor, message: dict[str, Any]) -> Message:
        """The status of every meeting linked in a message, privately, for workspaces with unfurling off."""
        text = str(message.get("text", ""))
        for attachment in message.get("attachments") or []:
            text += " " + str(attachment.get("from_url") or attachment.get("original_url") or "")
        refs = find_references(text)[:MAX_SHORTCUT_LINKS]
        if not refs:
            return notice("There are no Google Meet links in that message.")
        previews = await preview_links(self.meetings, actor, [(r.resource_name, r) for r in refs])
        blocks: list[Block] = []
        for preview in previews:
            if preview.needs_connect:
                reason = preview.problem or "Your Google account isn't connected."
                return await self.accounts.connect_prompt(actor, None, reason, None)
            blocks.extend(status_message(preview.status)["blocks"] if preview.status else unfurl_blocks(preview))
            blocks.append({"type": "divider"})
        return {"response_type": "ephemeral", "replace_original": False, "text": "Meeting status",
                "blocks": blocks[:-1][:50]}
