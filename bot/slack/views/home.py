"""The App Home tab: the Google connection, recent meetings with their status, rooms the user set up, a guide."""

from __future__ import annotations

from typing import Any

from bot.core.previews import LinkPreview
from bot.domain import Room, SpaceInfo
from bot.slack.mrkdwn import code, plain
from bot.slack.views.blocks import Block, header, plain_text, section
from bot.slack.views.help import usage_text
from bot.slack.views.meeting import join_button

__all__ = ["ACTION_DISCONNECT", "disconnect_button", "home_view"]

ACTION_DISCONNECT = "meet_disconnect"




def _state(preview: LinkPreview | None) -> str:
    if preview is None or preview.status is None or preview.status.role == "other":
        return ""
    if preview.status.space.is_live:
        return f" · :large_green_circle: live, {len(preview.status.participants or ())} in the call"
    return " · idle"


def home_view(connection: str, connect_button: Block | None, recent: list[tuple[SpaceInfo, LinkPreview | None]],
              rooms: list[tuple[str, Room]]) -> dict[str, Any]:
    blocks: list[Block] = [
        header("meetbot"),
        section(connection, connect_button),
        {"type": "divider"},
        header("Your recent meetings"),
    ]
    if not recent:
        blocks.append(section("None yet. Type `/meet` in any channel to start one."))
    for info, preview in recent:
        title = plain(info.title, 200) if info.title else "Google Meet"
        join = join_button(info.meeting_uri)
        blocks.append(section(f"*{title}* {code(info.meeting_code or info.space_name)}{_state(preview)}",
                               join[0] if join else None))
    blocks += [{"type": "divider"}, header("Rooms you set up")]
    blocks.append(section("\n".join(f"• <#{channel}> {code(room.meeting_code or room.space_name)}"
                                     for channel, room in rooms) or "None. `/meet room` gives a channel one."))
    blocks += [{"type": "divider"}, section("*How to use*\n" + usage_text())]
    return {"type": "home", "blocks": blocks[:100]}




def disconnect_button() -> Block:
    return {"type": "button", "action_id": ACTION_DISCONNECT, "text": plain_text("Disconnect"),
            "confirm": {"title": plain_text("Disconnect Google?"),
                        "text": {"type": "mrkdwn", "text": "meetbot will revoke its access to your account."},
                        "confirm": plain_text("Disconnect"), "deny": plain_text("Cancel")}}
