"""Block Kit for meetings: the meeting card, status and history replies, and the settings modal. Pure functions.

Every piece of user or Google text goes through `escape`; lists are capped with a "+N more" line so a message
stays inside Block Kit's limits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.meetings import ConferenceSummary, EndedMeeting, MeetingStatus, SettingChange
from bot.core.settings_catalog import GROUPS, SETTINGS, Setting, read_path
from bot.domain import Card, LiveState, Phase, SpaceInfo, space_id_of
from bot.meet.models import Participant, ParticipantKind, Space, SpaceConfig
from bot.slack.interaction import SubmittedView
from bot.slack.mrkdwn import code, escape, plain
from bot.slack.views.blocks import Block, Message, View, context, header, plain_text, section
from bot.slack.views.live import RECAP_NAMES_NOTE, duration_words, status_line

__all__ = [
    "ACTION_END",
    "ACTION_JOIN",
    "ACTION_MANAGE",
    "ACTION_SETTINGS",
    "ACTION_STATUS_ME",
    "COHOSTS_BLOCK",
    "END_CONFIRM_CALLBACK",
    "SETTINGS_CALLBACK",
    "START_CALLBACK",
    "CardContent",
    "card_content",
    "chosen_people",
    "cohosts_line",
    "end_button",
    "end_confirm_modal",
    "end_confirmed",
    "end_target",
    "ended_card",
    "history_message",
    "join_button",
    "manage_menu",
    "manage_target",
    "meeting_card",
    "settings_button",
    "settings_changed_message",
    "settings_modal",
    "settings_notice_modal",
    "start_choices",
    "start_modal",
    "status_me_button",
    "status_message",
]

ACTION_JOIN = "meet_join"
ACTION_STATUS_ME = "meet_status_me"
ACTION_END = "meet_end"
ACTION_SETTINGS = "meet_settings"
ACTION_MANAGE = "meet_manage"
END_CONFIRM_CALLBACK = "meet_end_confirm"
SETTINGS_CALLBACK = "meet_settings_submit"
COHOSTS_BLOCK = "cohosts"
MAX_NAMES = 20
_NEVER = datetime.max.replace(tzinfo=UTC)  # sorts people Google gave no join time last


@dataclass(frozen=True, slots=True)
class CardContent:
    """What a meeting card shows; kept small so a card can be rebuilt from Redis when the meeting ends."""

    space_name: str
    meeting_code: str | None
    meeting_uri: str | None
    title: str | None
    started_by: str | None
    cohosts: tuple[str, ...] = ()
    started_at: float | None = None  # when meetbot created it (epoch seconds)  # Slack user ids meetbot made co-hosts




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


def _when(moment: datetime, now: datetime | None = None) -> str:
    """Slack's date token, so each reader sees their own time zone (the fallback is UTC); with its date when
    `now` is given and the moment is more than half a day before it (Slack writes "yesterday" for yesterday)."""
    dated = now is not None and now - moment > timedelta(hours=12)
    shown = "{date_short_pretty} {time}" if dated else "{time}"
    return f"<!date^{int(moment.timestamp())}^{shown}|{moment:{'%Y-%m-%d %H:%M' if dated else '%H:%M'}} UTC>"


def _minutes(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    return duration_words(max(int((end - start).total_seconds() // 60), 0))


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
        parts.append(f"at {_when(record.end_time)}")
    duration = _minutes(record.start_time, record.end_time) if record else ""
    if duration:
        parts.append("in under a minute" if duration == duration_words(0) else f"after {duration}")
    message = _card(content, " ".join(parts) + ". It can be joined again at any time.",
                    join_button(content.meeting_uri, "Join again", primary=False, space_name=content.space_name))
    message["text"] = plain(f"{content.title or 'Google Meet'} ended", 500)
    return message


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
        since = f" since {_when(status.started_at, now or datetime.now(UTC))}" if status.started_at else ""
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
        when = _when(record.start_time, now) if record.start_time else "Unknown time"
        length = "live now" if record.end_time is None else _minutes(record.start_time, record.end_time)
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


def _option(setting: Setting, word: str) -> Block:
    return {"text": plain_text(setting.choices[word]), "value": word}


def _setting_input(setting: Setting, word: str | None) -> Block:
    """A select for one setting, preselected with `word`; without one it must be optional, and choosing nothing
    leaves the setting as it is."""
    element: Block = {"type": "static_select", "action_id": "value",
                      "options": [_option(setting, w) for w in setting.values]}
    if word is not None:
        element["initial_option"] = _option(setting, word)
    return {"type": "input", "block_id": setting.key, "optional": word is None,
            "label": plain_text(setting.label, 2000), "hint": plain_text(setting.hint, 2000), "element": element}


def _cohosts_input(cohosts: Sequence[str]) -> Block:
    picker: Block = {"type": "multi_users_select", "action_id": "value",
                     "placeholder": plain_text("Choose people")}
    if cohosts:
        picker["initial_users"] = list(cohosts)
    return {"type": "input", "block_id": COHOSTS_BLOCK, "optional": True, "label": plain_text("Co-hosts"),
            "hint": plain_text("They manage the call with you. Leave it empty for none.", 2000), "element": picker}


PEOPLE_BLOCK = "people"
_PEOPLE_WORDS = {"on": "Show who is in the call", "off": "Show nobody (the card still counts them)"}


def _people_input(on: bool) -> Block:
    """Whether the card's Slack call shows the channel who is in the call (meetbot's own switch, not Google's)."""
    def option(word: str) -> Block:
        return {"text": plain_text(_PEOPLE_WORDS[word], 75), "value": word}

    return {"type": "input", "block_id": PEOPLE_BLOCK, "label": plain_text("People in the Slack call"),
            "hint": plain_text("What the call on this meeting's cards shows the channel.", 2000),
            "element": {"type": "static_select", "action_id": "value", "options": [option("on"), option("off")],
                        "initial_option": option("on" if on else "off")}}


def chosen_people(view: SubmittedView) -> bool | None:
    """The settings modal's people choice (None when the form had no such field)."""
    option = view.input(PEOPLE_BLOCK).option
    return None if option is None else option == "on"


def settings_modal(space: Space, label: str, channel_id: str | None, cohosts: Sequence[str] | None = None, *,
                   chosen: Mapping[str, str] | None = None, problem: str | None = None,
                   people: bool | None = None) -> View:
    """The settings form, grouped, each select preselected with the current value. `cohosts` (Slack user ids;
    None: not offered) fills the co-hosts field; saving sends the difference from the co-hosts Google has then.
    The metadata stays small whatever the co-hosts (Slack keeps 3,000 characters): the space, not the people.
    `chosen` (key → word) and `problem` (mrkdwn, its emoji included) show the form again after Google refused it:
    as the person left it, with what went wrong on top."""
    config = space.config or SpaceConfig()
    words = {s.key: w for s in SETTINGS
             if (w := (chosen or {}).get(s.key) or s.word_for(read_path(config, s.path))) in s.values}
    blocks: list[Block] = []
    if problem:
        blocks.append(section(problem))
    intro = f"Settings of {code(label)}. Only what you change is sent to Google."
    if len(words) < len(SETTINGS):  # a value Google didn't report (or meetbot has no word for) preselects nothing
        intro += " A setting left empty stays as it is."
    blocks.append(section(intro))
    for group in GROUPS:
        blocks.append(header(group))
        blocks += [_setting_input(s, words.get(s.key)) for s in SETTINGS if s.group == group]
        if group == "Moderation" and cohosts is not None:
            blocks.append(_cohosts_input(cohosts))
    if people is not None:
        blocks += [header("In Slack"), _people_input(people)]
    meta: dict[str, str | bool | None] = {"space": space.name, "label": label, "channel": channel_id}
    if cohosts is not None:
        meta["cohosts"] = True  # the field is offered
    return {
        "type": "modal",
        "callback_id": SETTINGS_CALLBACK,
        "private_metadata": json.dumps(meta),
        "title": plain_text("Meeting settings", 24),
        "submit": plain_text("Save", 24),
        "close": plain_text("Cancel", 24),
        "blocks": blocks,
    }


def settings_notice_modal(text: str, title: str = "Meeting settings") -> View:
    """A modal that only says something: loading, a refusal, or the result of a save."""
    return {"type": "modal", "title": plain_text(title, 24), "close": plain_text("Close", 24),
            "blocks": [section(text)]}


START_CALLBACK = "meet_start_submit"
_ACCESS = next(s for s in SETTINGS if s.key == "access")  # the Start modal words access as the settings do
_ACCESS_ORDER = ("trusted", "open", "restricted")


def start_modal() -> View:
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
                         "options": [{"text": plain_text(_ACCESS.choices[word]), "value": word}
                                     for word in _ACCESS_ORDER]}},
            {"type": "input", "block_id": "channel", "label": plain_text("Post the meeting card in"),
             "element": {"type": "conversations_select", "action_id": "value",
                         "filter": {"include": ["public", "private", "im", "mpim"],
                                    "exclude_bot_users": True}}},
        ],
    }


def start_choices(view: SubmittedView) -> tuple[str | None, str | None, str | None]:
    """(title, access word, channel id) from a submitted start modal."""
    title = view.input("title").value
    return (title.strip() or None) if title else None, view.input("access").option, view.input("channel").conversation
