"""Pasted meet.google.com links: `link_shared` unfurls and the "Meeting status" message shortcut."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.meetings import Actor, Meetings
from bot.core.previews import LinkPreview, meeting_links, preview_links
from bot.meet.links import find_references
from bot.slack.account_handlers import AccountHandlers
from bot.slack.cards import join_button, status_message
from bot.slack.messages import Message, notice
from bot.slack.mrkdwn import code as mrkdwn_code
from bot.slack.mrkdwn import escape, truncate

__all__ = ["ACTION_STATUS_ME", "PreviewHandlers", "status_me_button", "unfurl_blocks"]

ACTION_STATUS_ME = "meet_status_me"

log = logging.getLogger(__name__)

MAX_SHORTCUT_LINKS = 5
Block = dict[str, Any]


def status_me_button(reference: str) -> Block:
    """Each clicker gets their own view, privately: what Google shows them, not what it showed the sharer."""
    return {"type": "button", "action_id": ACTION_STATUS_ME, "text": {"type": "plain_text", "text": "Status for me"},
            "value": reference}


def unfurl_blocks(preview: LinkPreview) -> list[Block]:
    """A card the whole channel sees: only what Google shows everyone (DESIGN §1). No live state, no
    participants, no owner-only buttons; "Status for me" answers each clicker privately, as themselves."""
    code = preview.space.meeting_code if preview.space and preview.space.meeting_code else None
    label = mrkdwn_code(code or (preview.ref.value if preview.ref.kind == "code" else preview.ref.resource_name))
    if preview.unknown:
        line = f":warning: Google Meet {label}: Google doesn't know this meeting (the code may have expired)."
        return [{"type": "section", "block_id": "meeting-line", "text": {"type": "mrkdwn", "text": line}}]
    title = preview.info.title if preview.info else None
    line = f":video_camera: *{escape(title)}* · Google Meet {label}" if title else f":video_camera: Google Meet {label}"
    if preview.needs_connect:
        line += "\n_Connect your Google account to see more about meetings you paste._"
    blocks: list[Block] = [{"type": "section", "block_id": "meeting-line",
                            "text": {"type": "mrkdwn", "text": truncate(line, 3000)}}]
    uri = (preview.space.meeting_uri if preview.space else None) or preview.ref.url
    buttons = [*join_button(uri), status_me_button(preview.ref.resource_name)]
    blocks.append({"type": "actions", "block_id": "meeting", "elements": buttons})
    return blocks


def _numbered(blocks: list[Block], n: int) -> list[Block]:
    """Block ids must be unique in a message: one message shows several meetings' blocks."""
    return [{**b, "block_id": f"{b['block_id']}-{n}"} if "block_id" in b else b for b in blocks]


@dataclass(frozen=True, slots=True)
class PreviewHandlers:
    meetings: Meetings
    accounts: AccountHandlers

    async def unfurl(self, actor: Actor, event: dict[str, Any], client: AsyncWebClient) -> None:
        links = meeting_links([str(link.get("url", "")) for link in event.get("links") or []])
        if not links:
            return  # nothing of ours: no chat.unfurl call at all
        previews = await preview_links(self.meetings, actor, links, private=False)
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
        try:
            await client.chat_unfurl(unfurls=unfurls, **where, **extra)
        except SlackApiError as error:
            if not extra or error.response.get("error") != "cannot_prompt":
                raise
            # The sharer told Slack never to ask them to connect: unfurl anyway, without the invitation.
            await client.chat_unfurl(unfurls=unfurls, **where)

    async def status_for(self, actor: Actor, reference: str) -> Message:
        return status_message(await self.meetings.status(actor, reference))

    async def shortcut(self, actor: Actor, message: dict[str, Any]) -> Message:
        """The status of every meeting linked in a message, privately, for workspaces with unfurling off."""
        text = str(message.get("text", ""))
        for attachment in message.get("attachments") or []:
            text += " " + str(attachment.get("from_url") or attachment.get("original_url") or "")
        refs = find_references(text)[:MAX_SHORTCUT_LINKS]
        if not refs:
            return notice("There are no Google Meet links in that message.")
        previews = await preview_links(self.meetings, actor, [(r.resource_name, r) for r in refs], private=True)
        blocks: list[Block] = []
        for n, preview in enumerate(previews):
            if preview.needs_connect:
                reason = preview.problem or "Your Google account isn't connected."
                return await self.accounts.connect_prompt(actor, None, reason, None)
            shown = status_message(preview.status)["blocks"] if preview.status else unfurl_blocks(preview)
            blocks.extend(_numbered(shown, n))
            blocks.append({"type": "divider"})
        return {"response_type": "ephemeral", "replace_original": False, "text": "Meeting status",
                "blocks": blocks[:-1][:50]}
