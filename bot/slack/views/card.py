"""The meeting card: what the channel sees of a meeting meetbot posted, its buttons and its owner's menu, and the
End confirm dialog that menu opens. Pure functions; every piece of user or Google text goes through `escape`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.meetings import EndedMeeting
from bot.domain import Card, LiveState, Phase, SpaceInfo, space_id_of
from bot.meet.models import Space
from bot.slack.interaction import SubmittedView
from bot.slack.mrkdwn import code, plain
from bot.slack.views.blocks import Block, Message, View, context, header, plain_text, section
from bot.slack.views.live import RECAP_NAMES_NOTE, duration_words, minutes_words, status_line, when_words

__all__ = [
    "ACTION_END",
    "ACTION_JOIN",
    "ACTION_MANAGE",
    "ACTION_SETTINGS",
    "ACTION_STATUS_ME",
    "END_CONFIRM_CALLBACK",
    "MAX_NAMES",
    "CardContent",
    "card_content",
    "cohosts_line",
    "end_button",
    "end_confirm_modal",
    "end_confirmed",
    "end_target",
    "ended_card",
    "join_button",
    "manage_menu",
    "manage_target",
    "meeting_card",
    "settings_button",
    "status_me_button",
]

ACTION_JOIN = "meet_join"
ACTION_STATUS_ME = "meet_status_me"
ACTION_END = "meet_end"
ACTION_SETTINGS = "meet_settings"
ACTION_MANAGE = "meet_manage"
END_CONFIRM_CALLBACK = "meet_end_confirm"
MAX_NAMES = 20


@dataclass(frozen=True, slots=True)
class CardContent:
    """What a meeting card shows; kept small so a card can be rebuilt from Redis when the meeting ends."""

    space_name: str
    meeting_code: str | None
    meeting_uri: str | None
    title: str | None
    started_by: str | None
    cohosts: tuple[str, ...] = ()  # Slack user ids meetbot made co-hosts
    started_at: float | None = None  # when meetbot created it (epoch seconds)


def card_content(space_name: str, info: SpaceInfo | None, space: Space | None = None) -> CardContent:
    """What a card shows, from meetbot's record of the space (and, where the record lacks them, Google's answer)."""
    code = (info.meeting_code if info else None) or (space.meeting_code if space else None)
    uri = (info.meeting_uri if info else None) or (space.meeting_uri if space else None)
    if info is None:
        return CardContent(space_name, code, uri, None, None)
    return CardContent(space_name, code, uri, info.title, info.owner_user_id, tuple(info.cohosts), info.created_at)


def join_button(uri: str | None, label: str = "Join", *, primary: bool = True, space_name: str | None = None
                ) -> list[Block]:
    """Slack opens the link itself and still sends meetbot the click: with the space's id as its value, someone
    joining makes meetbot follow the meeting again if it had stopped."""
    if not uri:
        return []
    button: Block = {"type": "button", "action_id": ACTION_JOIN, "text": plain_text(label), "url": uri}
    if space_name:
        button["value"] = space_id_of(space_name)
    if primary:
        button["style"] = "primary"
    return [button]


def status_me_button(reference: str, label: str = "Status for me") -> Block:
    """Each clicker gets their own view, privately: what Google shows them, not what it showed anyone else."""
    return {"type": "button", "action_id": ACTION_STATUS_ME, "text": plain_text(label), "value": reference}


def end_button(space_name: str, label: str, *, empty: bool = False) -> Block:
    """The value carries the stable space name (codes can be reassigned) and the label replies need."""
    return {
        "type": "button",
        "action_id": ACTION_END,
        "text": plain_text("End meeting"),
        "style": "danger",
        "value": space_name if label == space_name else f"{space_name} {label}",
        "confirm": {
            "title": plain_text("End this meeting?"),
            "text": {"type": "mrkdwn", "text": _ending(label, empty)},
            "confirm": plain_text("End meeting"),
            "deny": plain_text("Cancel"),
            "style": "danger",
        },
    }


def end_target(value: str) -> tuple[str, str | None]:
    """(space to end, its label) from an End button's value; older cards carry the space name alone."""
    space_name, _, label = value.strip().partition(" ")
    return space_name, label or None


def settings_button(space_name: str) -> Block:
    return {"type": "button", "action_id": ACTION_SETTINGS, "text": plain_text("Settings"), "value": space_name}


def _byline(content: CardContent) -> str:
    """Who started it, when, and the code: the card's context line."""
    parts = [f"Started by <@{content.started_by}>" if content.started_by else "Google Meet"]
    if content.started_at:
        parts.append(f"<!date^{int(content.started_at)}^{{date_short_pretty}} {{time}}|"
                     f"{datetime.fromtimestamp(content.started_at, UTC):%Y-%m-%d %H:%M} UTC>")
    parts.append(code(content.meeting_code or content.space_name))
    return " · ".join(parts)


def _card(content: CardContent, status: str, buttons: list[Block]) -> Message:
    return {
        "text": plain(f"{content.title or 'Google Meet'}: {content.meeting_uri or content.meeting_code or ''}", 500),
        "blocks": [
            header(content.title or "Google Meet"),
            context(_byline(content)),
            *([context(cohosts_line(content.cohosts))] if content.cohosts else []),
            section(status),
            context(RECAP_NAMES_NOTE),  # meeting cards are posted by their owner: recaps under them name people
            *([{"type": "actions", "block_id": "meeting", "elements": buttons}] if buttons else []),
        ],
    }


def meeting_card(content: CardContent, state: LiveState | None = None) -> Message:
    """The card in the channel; `state` (what following the meeting found) sets its status line. Join is the one
    primary button; End and Settings sit in a menu whose choice is checked privately before anything opens."""
    # A card meetbot no longer follows offers the latest status, privately, to whoever asks.
    status = [status_me_button(content.space_name, "Status")] if state is not None and state.unfollowed_at else []
    if state is not None and state.phase is Phase.ENDED:
        return _card(content, status_line(state), [*join_button(content.meeting_uri, "Join again", primary=False,
                                                                space_name=content.space_name), *status])
    return _card(content, status_line(state), [*join_button(content.meeting_uri, space_name=content.space_name),
                                               *status, manage_menu(content.space_name)])


def manage_menu(space_name: str) -> Block:
    """The owner's actions, offered to everyone without leading anyone into a refusal: choosing one is checked
    first (a non-owner is told privately who owns it); the owner then gets a confirm dialog or the settings.
    A choice carries the space name alone (an option value holds 150 characters; a meeting code may take 128):
    the click looks the label up."""
    def option(text: str, action: str) -> Block:
        return {"text": plain_text(text), "value": f"{action} {space_name}"}

    return {"type": "overflow", "action_id": ACTION_MANAGE,
            "options": [option("End meeting…", "end"), option("Settings…", "settings")]}


def manage_target(value: str) -> tuple[str, str, str | None]:
    """(what: "end" | "settings", space name, label) from a manage-menu choice; cards posted before labels were
    left out of the choice still carry one."""
    what, _, rest = value.strip().partition(" ")
    space_name, label = end_target(rest)
    return what, space_name, label


def _ending(label: str, empty: bool) -> str:
    return (f"Nobody is in {code(label)} now: ending it closes the empty call." if empty
            else f"Everyone in {code(label)} will be removed from the call.")


def end_confirm_modal(space_name: str, label: str, card: Card | None, *, empty: bool = False) -> View:
    """The confirm dialog, shown only to the owner: ending removes everyone from the call (`empty`: nobody is
    in it, so it says that instead)."""
    meta = {"space": space_name, "label": label, "card": [card.channel, card.ts] if card else None}
    return {
        "type": "modal",
        "callback_id": END_CONFIRM_CALLBACK,
        "private_metadata": json.dumps(meta),
        "title": plain_text("End this meeting?", 24),
        "submit": plain_text("End meeting", 24),
        "close": plain_text("Cancel", 24),
        "blocks": [section(f"{_ending(label, empty)} The meeting itself stays: anyone can start it again from its "
                           "link.")],
    }


def end_confirmed(view: SubmittedView) -> tuple[str, str | None, Card | None]:
    """(space, label, the card it was chosen on) from a submitted confirm dialog."""
    found = view.metadata.get("card")
    card = Card(str(found[0]), str(found[1])) if isinstance(found, list) and len(found) == 2 else None
    return view.note("space") or "", view.note("label"), card


def cohosts_line(user_ids: Sequence[str]) -> str:
    names = [f"<@{u}>" for u in user_ids[:MAX_NAMES]]
    extra = len(user_ids) - MAX_NAMES
    return "Co-hosts: " + ", ".join(names) + (f", +{extra} more" if extra > 0 else "")


def ended_card(content: CardContent, ended: EndedMeeting | None, ended_by: str | None) -> Message:
    record = ended.record if ended else None
    parts = [":white_circle: Ended"]
    if ended_by:
        parts.append(f"by <@{ended_by}>")
    if record and record.end_time:
        parts.append(f"at {when_words(record.end_time)}")
    duration = minutes_words(record.start_time, record.end_time) if record else ""
    if duration:
        parts.append("in under a minute" if duration == duration_words(0) else f"after {duration}")
    message = _card(content, " ".join(parts) + ". It can be joined again at any time.",
                    join_button(content.meeting_uri, "Join again", primary=False, space_name=content.space_name))
    message["text"] = plain(f"{content.title or 'Google Meet'} ended", 500)
    return message
