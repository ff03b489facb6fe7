"""A channel's room card, and the offer to create one."""

from __future__ import annotations

from bot.domain import LiveState, Room
from bot.slack.mrkdwn import code, plain, truncate
from bot.slack.views.blocks import Message, actions, context, header, plain_text, section
from bot.slack.views.card import join_button, manage_menu, status_me_button
from bot.slack.views.live import RECAP_NAMES_NOTE, status_line

__all__ = ["ACTION_ROOM_NEW", "moved_room_card", "replaced_room_card", "room_card", "room_offer"]

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
            # set up by the meeting's owner: its recaps name people (a room set to another's meeting names nobody)
            *([context(RECAP_NAMES_NOTE)] if room.owner_user_id == room.creator_user_id else []),
            actions("meeting", [*join_button(room.meeting_uri, "Join the room", space_name=room.space_name),
                                *status, manage_menu(room.space_name)]),
        ],
    }


def replaced_room_card(room: Room) -> Message:
    """An older card of the channel's room, once a newer one is posted: a pointer, so one card is live."""
    return _pointer(f"This card of the channel's Meet room ({code(room.meeting_code or room.space_name)}) was "
                    "replaced by a newer one below. The room is also in the channel's bookmarks (*Meet room*).")


def moved_room_card(old: Room, now: Room | None) -> Message:
    """A card of the room the channel had before `room set`, `room new` or `room clear` (`now` None): it no
    longer offers to join a meeting that isn't the room."""
    label = code(old.meeting_code or old.space_name)
    if now is None:
        return _pointer(f"This channel no longer has a Meet room ({label} was cleared). `/meet room new` makes one.")
    return _pointer(f"This channel's Meet room moved from {label} to {code(now.meeting_code or now.space_name)}: "
                    "it is in the channel's bookmarks (*Meet room*), and `/meet room` posts its card.")


def _pointer(text: str) -> Message:
    return {"text": plain("This channel's Meet room card is out of date"),
            "blocks": [context(f":information_source: {text}")]}


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
