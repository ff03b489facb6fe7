"""The unfurl of a pasted meet.google.com link: what everyone in the channel may see, and "Status for me"."""

from __future__ import annotations

from bot.core.previews import LinkPreview
from bot.meet.links import MeetingRef
from bot.slack.mrkdwn import code as mrkdwn_code
from bot.slack.mrkdwn import escape
from bot.slack.views.blocks import Block, Message, actions, notice, section
from bot.slack.views.card import ACTION_STATUS_ME, join_button, status_me_button

__all__ = ["ACTION_STATUS_ME", "numbered", "status_me_button", "unfurl_blocks", "unknown_links_message"]



def unfurl_blocks(preview: LinkPreview) -> list[Block]:
    """A card the whole channel sees: only what Google shows everyone (DESIGN §1). No live state, no
    participants, no owner-only buttons; "Status for me" answers each clicker privately, as themselves."""
    code = preview.space.meeting_code if preview.space and preview.space.meeting_code else None
    label = mrkdwn_code(code or (preview.ref.value if preview.ref.kind == "code" else preview.ref.resource_name))
    if preview.unknown:
        line = f":warning: Google Meet {label}: Google doesn't know this meeting (the code may have expired)."
        return [section(line, block_id="meeting-line")]
    title = preview.info.title if preview.info else None
    owner = preview.info.owner_user_id if preview.info else None
    if title:
        line = f"*{escape(title)}* · Google Meet {label}"
    elif owner:
        line = f"*Google Meet* {label} · a meeting <@{owner}> started with meetbot"
    else:
        line = f"*Google Meet* {label} · its status is one click away (*Status for me*)"
    blocks: list[Block] = [section(line, block_id="meeting-line")]
    uri = (preview.space.meeting_uri if preview.space else None) or preview.ref.url
    buttons = [*join_button(uri), status_me_button(preview.ref.resource_name)]
    blocks.append(actions("meeting", buttons))
    return blocks


def unknown_links_message(refs: list[MeetingRef]) -> Message:
    """Told privately to whoever pasted links Google doesn't know: the channel never sees a warning."""
    labels = ", ".join(mrkdwn_code(r.value if r.kind == "code" else r.resource_name) for r in refs[:10])
    more = f" and {len(refs) - 10} more" if len(refs) > 10 else ""
    message = notice(f"Google doesn't know the meeting {labels}{more} you pasted (its code may have expired), so "
                     "meetbot shows nothing for it. Check the link, or start a new meeting with `/meet`.",
                     emoji=":warning:")
    message.pop("response_type")  # posted with chat.postEphemeral, not through a response_url
    return message


def numbered(blocks: list[Block], n: int) -> list[Block]:
    """Block ids must be unique in a message: one message shows several meetings' blocks."""
    return [{**b, "block_id": f"{b['block_id']}-{n}"} if "block_id" in b else b for b in blocks]
