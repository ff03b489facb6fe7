"""Replies about meetings: status, recent calls and changed settings, privately. Pure functions.

Every piece of user or Google text goes through `escape`; lists are capped with a "+N more" line so a message
stays inside Block Kit's limits. The card is in views/card.py, the settings modal in views/settings.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.core.meetings import ConferenceSummary, MeetingStatus, SettingChange
from bot.core.settings_catalog import SETTINGS, read_path
from bot.meet.models import Participant, ParticipantKind, SpaceConfig
from bot.slack.mrkdwn import code, escape, plain
from bot.slack.views.blocks import Block, Message, context, section
from bot.slack.views.card import MAX_NAMES, end_button, join_button, settings_button
from bot.slack.views.live import minutes_words, when_words

__all__ = [
    "history_message",
    "settings_changed_message",
    "status_message",
]

_NEVER = datetime.max.replace(tzinfo=UTC)  # sorts people Google gave no join time last


def _person(participant: Participant) -> str:
    name = escape(participant.display_name or "someone")
    if participant.kind is ParticipantKind.ANONYMOUS:
        return f"{name} (guest)"
    if participant.kind is ParticipantKind.PHONE:
        return f"{name} (phone)"
    return name


def _people(participants: Sequence[Participant], limit: int = MAX_NAMES) -> str:
    """Names in the order people joined, so the first to come is never hidden in "+N more"."""
    joined = sorted(participants, key=lambda p: p.earliest_start_time or _NEVER)
    names = [_person(p) for p in joined[:limit]]
    extra = len(joined) - limit
    return ", ".join(names) + (f", +{extra} more" if extra > 0 else "")


def _settings_summary(config: SpaceConfig) -> str:
    """Settings without a Google default (who can join: the organisation decides it) are always shown, on their
    own; below them, only the settings that differ from Google's defaults."""
    own, changed = [], []
    for setting in SETTINGS:
        value = read_path(config, setting.path)
        line = f"{escape(setting.label)}: *{escape(setting.text_for(value, short=True))}*"
        if setting.default is None and value is not None:
            own.append(line)
        elif not setting.is_default(value):
            changed.append(f"• {line}")
    if own and changed:
        return "*Settings*: " + "; ".join(own) + "\nThese differ from Google's defaults:\n" + "\n".join(changed)
    if own:
        return "*Settings*: " + "; ".join(own) + ". The others are Google's defaults."
    if changed:
        return "*Settings* that differ from Google's defaults\n" + "\n".join(changed)
    return "*Settings*: all are Google's defaults."


def status_message(status: MeetingStatus, now: datetime | None = None) -> Message:
    space = status.space
    owner = status.info.owner_user_id if status.info else None
    title = f"*{escape(status.info.title)}* · " if status.info and status.info.title else ""
    blocks: list[Block] = []
    if status.role == "other":
        head = (f"{title}{code(status.label)}: Google shows whether it's live only to its owner and the people "
                "in the call.")
        fallback = f"{status.label}: live status hidden"
    elif space.is_live:
        since = f" since {when_words(status.started_at, now or datetime.now(UTC))}" if status.started_at else ""
        head = f":large_green_circle: {title}{code(status.label)} is *live*{since}."
        fallback = f"{status.label} is live"
    else:
        head = f":white_circle: {title}{code(status.label)} is idle: nobody is in it."
        fallback = f"{status.label} is idle"
    blocks.append(section(head))
    if status.participants:
        present = status.participants
        blocks.append(section(f"*In the call ({len(present)}):* {_people(present)}"))
    if status.role == "owner" and space.config is not None:
        text = _settings_summary(space.config)
        blocks.append(section(text + ("\nThe *Settings* button shows them all." if status.manageable else "")))
    else:
        who = f" (<@{owner}>)" if owner else ""
        blocks.append(context(f"Settings are shown only to the meeting's owner{who}."))
    if status.role == "owner" and not status.manageable:
        blocks.append(context("This meeting was started outside meetbot, so meetbot can't end it or change its "
                              "settings for you. Do that in Google Meet, or run `/meet connect` again and allow "
                              "meeting settings."))
    buttons = join_button(space.meeting_uri)
    if status.manageable:
        if space.is_live:
            buttons.append(end_button(space.name, status.label, empty=status.participants == ()))
        buttons.append(settings_button(space.name))
    if buttons:
        blocks.append({"type": "actions", "block_id": "meeting", "elements": buttons})
    return {"response_type": "ephemeral", "text": fallback, "blocks": blocks}


def history_message(label: str, summaries: Sequence[ConferenceSummary], now: datetime | None = None) -> Message:
    if not summaries:
        return {
            "response_type": "ephemeral",
            "text": plain(f"No calls in {label} yet"),
            "blocks": [section(f":white_circle: Nobody has met in {code(label)} yet. Google keeps calls for 30 days.")],
        }
    now = now or datetime.now(UTC)
    blocks: list[Block] = [section(f"*Recent calls in* {code(label)}")]
    for summary in summaries:
        record = summary.record
        when = when_words(record.start_time, now) if record.start_time else "Unknown time"
        length = "live now" if record.end_time is None else minutes_words(record.start_time, record.end_time)
        people = summary.participants
        blocks.append(section(f"• {when} · {length} · *{len(people)}* "
                              f"{'person' if len(people) == 1 else 'people'}: {_people(people, 10) or 'nobody'}"))
    return {"response_type": "ephemeral", "text": plain(f"Recent calls in {label}"), "blocks": blocks[:50]}


def settings_changed_message(label: str, changes: Sequence[SettingChange]) -> Message:
    by_path = {s.path: s for s in SETTINGS}
    if not changes:
        text = f":white_check_mark: {code(label)} already has those settings, so nothing changed."
    else:
        lines = []
        for change in changes:
            setting = by_path[change.path]
            old, new = setting.text_for(change.old, short=True), setting.text_for(change.new, short=True)
            lines.append(f"• {escape(setting.label)}: {escape(old)} → *{escape(new)}*")
        text = f":white_check_mark: Updated {code(label)}:\n" + "\n".join(lines)
    return {"response_type": "ephemeral", "text": plain(f"Settings of {label} updated"), "blocks": [section(text)]}
