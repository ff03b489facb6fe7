"""Block Kit for meetings: the meeting card, status and history replies, and the settings modal. Pure functions.

Every piece of user or Google text goes through `escape`; lists are capped with a "+N more" line so a message
stays inside Block Kit's limits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.meetings import ConferenceSummary, EndedMeeting, MeetingStatus, SettingChange
from bot.core.settings_catalog import SETTINGS, read_path
from bot.domain import LiveState, Phase
from bot.meet.models import Participant, ParticipantKind, Space, SpaceConfig
from bot.slack.mrkdwn import code, escape, plain
from bot.slack.views.blocks import Block, Message, context, plain_text, section
from bot.slack.views.live import status_line

__all__ = [
    "ACTION_END",
    "ACTION_JOIN",
    "ACTION_SETTINGS",
    "COHOSTS_BLOCK",
    "SETTINGS_CALLBACK",
    "START_CALLBACK",
    "CardContent",
    "cohosts_line",
    "end_button",
    "end_target",
    "ended_card",
    "history_message",
    "join_button",
    "meeting_card",
    "settings_button",
    "settings_changed_message",
    "settings_modal",
    "settings_notice_modal",
    "start_choices",
    "start_modal",
    "status_message",
]

ACTION_JOIN = "meet_join"
ACTION_END = "meet_end"
ACTION_SETTINGS = "meet_settings"
SETTINGS_CALLBACK = "meet_settings_submit"
COHOSTS_BLOCK = "cohosts"
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




def join_button(uri: str | None, label: str = "Join") -> list[Block]:
    if not uri:
        return []
    return [{"type": "button", "action_id": ACTION_JOIN, "text": plain_text(label), "url": uri, "style": "primary"}]


def end_button(space_name: str, label: str) -> Block:
    """The value carries the stable space name (codes can be reassigned) and the label replies need."""
    return {
        "type": "button",
        "action_id": ACTION_END,
        "text": plain_text("End meeting"),
        "style": "danger",
        "value": space_name if label == space_name else f"{space_name} {label}",
        "confirm": {
            "title": plain_text("End this meeting?"),
            "text": {"type": "mrkdwn", "text": f"Everyone in {escape(label)} will be removed from the call."},
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


def _when(moment: datetime) -> str:
    # Slack renders the date token in each reader's own time zone; the fallback is UTC.
    return f"<!date^{int(moment.timestamp())}^{{time}}|{moment:%H:%M} UTC>"


def _minutes(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    minutes = max(int((end - start).total_seconds() // 60), 0)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _title(content: CardContent) -> str:
    return plain(content.title, 500) if content.title else "Google Meet"


def meeting_card(content: CardContent, state: LiveState | None = None) -> Message:
    """The card in the channel; `state` (what following the meeting found) sets its status line."""
    label = content.meeting_code or content.space_name
    by = f"Started by <@{content.started_by}>" if content.started_by else "Meeting"
    ended = state is not None and state.phase is Phase.ENDED
    buttons = join_button(content.meeting_uri, "Rejoin" if ended else "Join")
    if not ended:
        buttons += [end_button(content.space_name, label), settings_button(content.space_name)]
    return {
        "text": plain(f"{content.title or 'Google Meet'}: {content.meeting_uri or label}", 500),
        "blocks": [
            section(f"*{_title(content)}*\n{by} · {code(label)}"),
            *([context(cohosts_line(content.cohosts))] if content.cohosts else []),
            context(status_line(state)),
            *([{"type": "actions", "block_id": "meeting", "elements": buttons}] if buttons else []),
        ],
    }


def cohosts_line(user_ids: Sequence[str]) -> str:
    names = [f"<@{u}>" for u in user_ids[:MAX_NAMES]]
    extra = len(user_ids) - MAX_NAMES
    return "Co-hosts: " + ", ".join(names) + (f", +{extra} more" if extra > 0 else "")


def ended_card(content: CardContent, ended: EndedMeeting | None, ended_by: str | None) -> Message:
    record = ended.record if ended else None
    parts = [f":white_circle: *{_title(content)}*: ended"]
    if ended_by:
        parts.append(f"by <@{ended_by}>")
    if record and record.end_time:
        parts.append(f"at {_when(record.end_time)}")
    duration = _minutes(record.start_time, record.end_time) if record else ""
    if duration:
        parts.append(f"after {duration}")
    label = content.meeting_code or content.space_name
    blocks: list[Block] = [section(" ".join(parts) + f"\n{code(label)} can be joined again at any time.")]
    rejoin = join_button(content.meeting_uri, "Rejoin")
    if rejoin:
        blocks.append({"type": "actions", "block_id": "meeting", "elements": rejoin})
    return {"text": plain(f"{content.title or 'Google Meet'} ended", 500), "blocks": blocks}


def _person(participant: Participant) -> str:
    name = escape(participant.display_name or "someone")
    if participant.kind is ParticipantKind.ANONYMOUS:
        return f"{name} (guest)"
    if participant.kind is ParticipantKind.PHONE:
        return f"{name} (phone)"
    return name


def _people(participants: Sequence[Participant], limit: int = MAX_NAMES) -> str:
    names = [_person(p) for p in participants[:limit]]
    extra = len(participants) - limit
    return ", ".join(names) + (f", +{extra} more" if extra > 0 else "")


def _settings_lines(config: SpaceConfig) -> str:
    lines = []
    for setting in SETTINGS:
        value = read_path(config, setting.path)
        if value is not None:
            lines.append(f"{escape(setting.label)}: *{setting.word_for(value)}*")
    return "\n".join(lines) or "Google's defaults"


def status_message(status: MeetingStatus) -> Message:
    space = status.space
    owner = status.info.owner_user_id if status.info else None
    title = f"*{escape(status.info.title)}* · " if status.info and status.info.title else ""
    blocks: list[Block] = []
    if status.role == "other":
        head = (f":grey_question: {title}{code(status.label)}: Google shows whether it's live only to its owner "
                "and the people in the call.")
        fallback = f"{status.label}: live status hidden"
    elif space.is_live:
        since = f" since {_when(status.started_at)}" if status.started_at else ""
        head = f":large_green_circle: {title}{code(status.label)} is *live*{since}."
        fallback = f"{status.label} is live"
    else:
        head = f":white_circle: {title}{code(status.label)} is idle: nobody is in it."
        fallback = f"{status.label} is idle"
    blocks.append(section(head))
    if status.participants is not None:
        present = status.participants
        blocks.append(section(f"*In the call ({len(present)}):* {_people(present)}" if present
                               else "*In the call:* nobody right now"))
    if status.role == "owner" and space.config is not None:
        blocks.append(section("*Settings*\n" + _settings_lines(space.config)))
    else:
        who = f" (<@{owner}>)" if owner else ""
        blocks.append(context(f"Settings are shown only to the meeting's owner{who}."))
    if status.role == "owner" and not status.manageable:
        blocks.append(context("This meeting was started outside meetbot, so meetbot can't end it or change its "
                               "settings for you: do that in Google Meet, or run `/meet connect` again and allow "
                               "meeting settings."))
    buttons = join_button(space.meeting_uri)
    if status.manageable:
        if space.is_live:
            buttons.append(end_button(space.name, status.label))
        buttons.append(settings_button(space.name))
    if buttons:
        blocks.append({"type": "actions", "block_id": "meeting", "elements": buttons})
    return {"response_type": "ephemeral", "text": fallback, "blocks": blocks}


def history_message(label: str, summaries: Sequence[ConferenceSummary]) -> Message:
    if not summaries:
        return {
            "response_type": "ephemeral",
            "text": plain(f"No calls in {label} yet"),
            "blocks": [section(f":calendar: Nobody has met in {code(label)} yet (Google keeps calls for 30 days).")],
        }
    blocks: list[Block] = [section(f":calendar: *Recent calls in* {code(label)}")]
    for summary in summaries:
        record = summary.record
        when = _when(record.start_time) if record.start_time else "unknown time"
        date = f"<!date^{int(record.start_time.timestamp())}^{{date_short}}|{record.start_time:%Y-%m-%d}>" \
            if record.start_time else ""
        length = "live now" if record.end_time is None else _minutes(record.start_time, record.end_time)
        people = summary.participants
        blocks.append(section(f"• {date} {when} · {length} · *{len(people)}* "
                               f"{'person' if len(people) == 1 else 'people'}: {_people(people, 10) or 'nobody'}"))
    return {"response_type": "ephemeral", "text": plain(f"Recent calls in {label}"), "blocks": blocks[:50]}


def settings_changed_message(label: str, changes: Sequence[SettingChange]) -> Message:
    by_path = {s.path: s for s in SETTINGS}
    if not changes:
        text = f":white_check_mark: {code(label)} already has those settings; nothing changed."
    else:
        lines = []
        for change in changes:
            setting = by_path[change.path]
            old, new = setting.word_for(change.old), setting.word_for(change.new)
            lines.append(f"• {escape(setting.label)}: {old} → *{new}*")
        text = f":white_check_mark: Updated {code(label)}:\n" + "\n".join(lines)
    return {"response_type": "ephemeral", "text": plain(f"Settings of {label} updated"), "blocks": [section(text)]}


def settings_modal(space: Space, label: str, channel_id: str | None,
                   cohosts: Sequence[str] | None = None) -> dict[str, Any]:
    """`cohosts` (Slack user ids; None: not offered) prefills the co-hosts field; saving sends the difference."""
    config = space.config or SpaceConfig()
    blocks: list[Block] = [section(f"Settings of {code(label)}. Only what you change is sent to Google.")]
    for setting in SETTINGS:
        current = read_path(config, setting.path)
        options = [{"text": plain_text(word), "value": word} for word in setting.values]
        element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
        word = setting.word_for(current)
        if current is not None and word in setting.values:  # a value meetbot has no word for preselects nothing
            element["initial_option"] = {"text": plain_text(word), "value": word}
        blocks.append({
            "type": "input",
            "block_id": setting.key,
            "optional": True,
            "label": plain_text(setting.label, 2000),
            "element": element,
        })
    meta: dict[str, Any] = {"space": space.name, "label": label, "channel": channel_id}
    if cohosts is not None:
        picker: dict[str, Any] = {"type": "multi_users_select", "action_id": "value",
                                  "placeholder": plain_text("People who co-manage the call")}
        if cohosts:
            picker["initial_users"] = list(cohosts)
        blocks.append({"type": "input", "block_id": COHOSTS_BLOCK, "optional": True,
                       "label": plain_text("Co-hosts"), "element": picker})
        meta["cohosts"] = list(cohosts)
    return {
        "type": "modal",
        "callback_id": SETTINGS_CALLBACK,
        "private_metadata": json.dumps(meta),
        "title": plain_text("Meeting settings", 24),
        "submit": plain_text("Save", 24),
        "close": plain_text("Cancel", 24),
        "blocks": blocks,
    }


def settings_notice_modal(text: str, title: str = "Meeting settings") -> dict[str, Any]:
    """A modal that only says something: loading, a refusal, or the result of a save."""
    return {"type": "modal", "title": plain_text(title, 24), "close": plain_text("Close", 24),
            "blocks": [section(text)]}


START_CALLBACK = "meet_start_submit"
_ACCESS_WORDS = (("trusted", "Your organisation joins without knocking"), ("open", "Anyone with the link joins"),
                 ("restricted", "Only invited people join"))


def start_modal() -> dict[str, Any]:
    """The "Start a Meet" global shortcut: a title, who may join without knocking, and where to post."""
    return {
        "type": "modal",
        "callback_id": START_CALLBACK,
        "title": plain_text("Start a Meet", 24),
        "submit": plain_text("Start", 24),
        "close": plain_text("Cancel", 24),
        "blocks": [
            {"type": "input", "block_id": "title", "optional": True, "label": plain_text("Title"),
             "element": {"type": "plain_text_input", "action_id": "value", "max_length": 150,
                         "placeholder": plain_text("Weekly sync")}},
            {"type": "input", "block_id": "access", "optional": True,
             "label": plain_text("Who can join without knocking"),
             "element": {"type": "static_select", "action_id": "value",
                         "options": [{"text": plain_text(text), "value": word} for word, text in _ACCESS_WORDS]}},
            {"type": "input", "block_id": "channel", "label": plain_text("Post the meeting card in"),
             "element": {"type": "conversations_select", "action_id": "value",
                         "filter": {"include": ["public", "private", "im", "mpim"],
                                    "exclude_bot_users": True}}},
        ],
    }


def start_choices(view: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(title, access word, channel id) from a submitted start modal."""
    values = view.get("state", {}).get("values", {})
    title = (values.get("title", {}).get("value", {}).get("value") or "").strip() or None
    access = (values.get("access", {}).get("value", {}).get("selected_option") or {}).get("value")
    channel = values.get("channel", {}).get("value", {}).get("selected_conversation")
    return title, access, channel
