"""A channel's room card, and the offer to create one."""

from __future__ import annotations

from bot.domain import LiveState, Room
from bot.slack.mrkdwn import code, plain, truncate
from bot.slack.views.blocks import Message, actions, context, header, plain_text, section
from bot.slack.views.live import status_line
from bot.slack.views.meeting import join_button, manage_menu, status_me_button

__all__ = ["ACTION_ROOM_NEW", "room_card", "room_offer"]

ACTION_ROOM_NEW = "meet_room_new"


def room_card(room: Room, state: LiveState | None = None) -> Message:
    label = room.meeting_code or room.space_name
    owner = f"Owned by <@{room.owner_user_id}> · " if room.owner_user_id else ""
    status = [status_me_button(room.space_name, "Status")] if state is not None and state.unfollowed_at else []
    return {
        "text": plain(f"This channel's Meet room: {room.meeting_uri or label}"),
        "blocks": [
            header("This channel's Meet room"),
            context(f"{owner}{code(label)} · anyone here can join at any time"),
            section(status_line(state, room=True)),
            actions("meeting", [*join_button(room.meeting_uri, "Join the room", space_name=room.space_name),
                                *status, manage_menu(room.space_name, label)]),
        ],
    }


def room_offer(text: str, button: str) -> Message:
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": truncate(text, 3000),
        "blocks": [
            section(text),
            actions("room", [{"type": "button", "action_id": ACTION_ROOM_NEW, "style": "primary",
                              "text": plain_text(button)}]),
        ],
    }
