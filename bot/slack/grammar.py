"""The `/meet` grammar: the typed commands and each word's parser. Pure: no I/O, no Bolt types. Which word has
which parser is the command table's (bot/slack/commands.py), so a new command is one row there.

Meeting references stay raw text here; `bot.meet.links` validates them, so every command gets the same rules.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, get_args, get_type_hints

from bot.core.typos import closest
from bot.json_values import JsonObject
from bot.slack.mrkdwn import from_slack

__all__ = [
    "ACCESS_FLAGS",
    "Access",
    "Cohost",
    "Command",
    "Connect",
    "Disconnect",
    "End",
    "Help",
    "Me",
    "Mine",
    "New",
    "OpenSettings",
    "Parser",
    "PresenceDnd",
    "PresenceSwitch",
    "RoomAction",
    "RoomMembership",
    "RoomPeople",
    "RoomRecaps",
    "Set",
    "ShowAttendance",
    "ShowHistory",
    "ShowMembers",
    "Status",
    "Uncohost",
    "Unknown",
    "Words",
    "bare",
    "closest",
    "decode",
    "encode",
    "parse",
    "parse_help",
    "parse_new",
    "parse_people",
    "parse_room",
    "parse_set",
    "referring",
]


class Access(Enum):
    OPEN = "open"
    TRUSTED = "trusted"
    RESTRICTED = "restricted"


ACCESS_FLAGS = {f"--{a.value}": a for a in Access}


@dataclass(frozen=True, slots=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class New:
    title: str | None = None
    access: Access | None = None
    people: tuple[str, ...] = ()  # Slack user ids mentioned: the new space's co-hosts


@dataclass(frozen=True, slots=True)
class Status:
    reference: str


@dataclass(frozen=True, slots=True)
class End:
    reference: str


@dataclass(frozen=True, slots=True)
class OpenSettings:
    reference: str


@dataclass(frozen=True, slots=True)
class Set:
    reference: str
    assignments: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RoomAction:
    action: str  # "show" | "new" | "set" | "clear"
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class ShowHistory:
    reference: str


@dataclass(frozen=True, slots=True)
class ShowAttendance:
    reference: str


@dataclass(frozen=True, slots=True)
class Cohost:
    reference: str
    people: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Uncohost:
    reference: str
    people: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ShowMembers:
    reference: str


@dataclass(frozen=True, slots=True)
class RoomRecaps:
    """`/meet room recap on|off` (this channel's room) or `/meet room recap default on|off` (an admin: every
    channel that hasn't chosen)."""

    on: bool
    default: bool = False


@dataclass(frozen=True, slots=True)
class RoomPeople:
    """`/meet room people on|off` (whether this channel's room's call shows who is in it) or `/meet room people
    default on|off` (an admin: every card and room that hasn't chosen)."""

    on: bool
    default: bool = False


@dataclass(frozen=True, slots=True)
class RoomMembership:
    """`/meet room members on|off`."""

    on: bool


@dataclass(frozen=True, slots=True)
class Connect:
    pass


@dataclass(frozen=True, slots=True)
class Disconnect:
    pass


@dataclass(frozen=True, slots=True)
class Me:
    pass


@dataclass(frozen=True, slots=True)
class Mine:
    """`/meet mine on|off|both`: follow every Meet the caller runs, wherever it started; `both` also DMs a recap of
    meetings whose card already gets one."""

    mode: str | None  # "on", "both", or None: off


MINE_MODES = {"on": "on", "both": "both", "off": None}


@dataclass(frozen=True, slots=True)
class PresenceSwitch:
    """`/meet presence on|off`: the caller's Slack status follows the calls meetbot sees them in."""

    on: bool


@dataclass(frozen=True, slots=True)
class PresenceDnd:
    """`/meet presence dnd on|off`: Do Not Disturb too, for the length of each call."""

    on: bool


@dataclass(frozen=True, slots=True)
class Unknown:
    """Input that matches no command. `problem` says what is wrong (a sentence, mrkdwn of plain words and code
    spans, not yet escaped); `suggestion` is a whole command to try; `topic` the `/meet help` topic to point at."""

    text: str
    problem: str
    suggestion: str | None = None
    topic: str | None = None


Command = (
    Help | New | Status | End | OpenSettings | Set | RoomAction | ShowHistory | Connect | Disconnect | Me | Unknown
    | Cohost | Uncohost | ShowMembers | RoomMembership | RoomRecaps | RoomPeople | ShowAttendance | Mine
    | PresenceSwitch | PresenceDnd
)

ROOM_ACTIONS = ("new", "set", "clear", "members", "recap", "people")
# A person as Slack sends a mention: <@U123> or <@U123|name>. Read before the text is made plain.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]*)?>")


@dataclass(frozen=True, slots=True)
class Words:
    """What a command's parser gets: the command word as its table row spells it, the rest of the text (plain,
    single-spaced), the people mentioned, the whole text as typed, and the row's usage line."""

    name: str
    rest: str
    people: tuple[str, ...]
    text: str
    usage: str


Parser = Callable[[Words], "Command"]

# A meeting reference as pasted: a meet/g.co link (maybe in Slack's <…> form), a spaces/ name or a bare code.
_LOOKS_LIKE_MEETING = re.compile(
    r"(meet\.google\.com|g\.co/meet|^<?https?://|^spaces/|^[a-z]{3,}-[a-z]{3,}-[a-z]{3,}$)", re.IGNORECASE
)


def referring(make: Callable[[str], Command]) -> Parser:
    """The parser of a command that takes one meeting: its first word (anything after it is ignored)."""

    def parse(words: Words) -> Command:
        name = words.name
        if not words.rest:
            return Unknown(name, f"`/meet {name}` needs a meeting link or code", f"/meet {name} <meeting>", name)
        return make(words.rest.split()[0])

    return parse


def bare(command: Command) -> Parser:
    """The parser of a command that takes nothing after its word."""

    def parse(words: Words) -> Command:
        if words.rest:
            return Unknown(words.text, f"`/meet {words.name}` takes nothing after it", f"/meet {words.name}",
                           words.name)
        return command

    return parse


def parse_mine(words: Words) -> Command:
    choice = words.rest.lower()
    if choice not in MINE_MODES:
        return Unknown(words.text, "Say `on`, `off` or `both` after `/meet mine`", "/meet mine on", "mine")
    return Mine(MINE_MODES[choice])


def parse_presence(words: Words) -> Command:
    choice = words.rest.lower().split()
    if choice[:1] == ["dnd"]:
        if choice[1:] not in (["on"], ["off"]):
            return Unknown(words.text, "Say `on` or `off` after `/meet presence dnd`", "/meet presence dnd on",
                           "presence")
        return PresenceDnd(choice[1] == "on")
    if choice not in (["on"], ["off"]):
        return Unknown(words.text, "Say `on`, `off` or `dnd on|off` after `/meet presence`", "/meet presence on",
                       "presence")
    return PresenceSwitch(choice == ["on"])


def parse_help(words: Words) -> Command:
    return Help(words.rest.lower() or None)


def parse_set(words: Words) -> Command:
    rest, usage = words.rest, words.usage
    parts = rest.split()
    if not parts:
        return Unknown("set", "`/meet set` needs a meeting and at least one key=value", usage, "set")
    reference, pairs = parts[0], parts[1:]
    if "=" in reference:
        return Unknown(rest, "Put the meeting link or code first, then the key=value pairs", usage, "set")
    assignments: list[tuple[str, str]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            return Unknown(rest, f"`{pair}` isn't key=value", usage, "set")
        assignments.append((key.lower(), value.lower()))
    if not assignments:
        return Unknown(rest, "Say what to change, like `access=trusted`", usage, "set")
    return Set(reference, tuple(assignments))


def _mentions(raw: str) -> tuple[tuple[str, ...], str]:
    """The people mentioned (Slack ids, in order, once each) and the raw text without them."""
    return tuple(dict.fromkeys(_MENTION.findall(raw))), _MENTION.sub(" ", raw)


def parse_people(words_: Words) -> Command:
    """`/meet cohost|uncohost <meeting> @person…`."""
    name, rest, people, usage = words_.name, words_.rest, words_.people, words_.usage
    words = rest.split()
    if not words:
        return Unknown(name, f"`/meet {name}` needs a meeting link or code, then the people", usage, name)
    if len(words) > 1:
        return Unknown(rest, f"`{words[1]}` isn't a person: mention people with @", usage, name)
    if not people:
        return Unknown(rest, "Say who: mention one or more people with @ after the meeting", usage, name)
    return (Cohost if name == "cohost" else Uncohost)(words[0], people)


def parse_new(words: Words) -> Command:
    return _new(words.rest, words.usage, words.people)


def _new(rest: str, usage: str, people: tuple[str, ...] = ()) -> Command:
    access: Access | None = None
    title_words: list[str] = []
    for word in rest.split():
        flag = ACCESS_FLAGS.get(word.lower())
        if flag is not None:
            if access is not None and access is not flag:
                return Unknown(rest, "Choose one of `--open`, `--trusted` or `--restricted`", usage, "new")
            access = flag
        elif word.startswith("--"):
            return Unknown(rest, f"`{word}` isn't an option of `/meet new`", usage, "new")
        else:
            title_words.append(word)
    return New(" ".join(title_words) or None, access, people)


def parse_room(words: Words) -> Command:
    action, _, reference = words.rest.partition(" ")
    rest = words.rest
    action, reference = action.lower(), reference.strip()
    if not action:
        return RoomAction("show")
    if action not in ROOM_ACTIONS:
        close = closest(action, ROOM_ACTIONS)
        return Unknown(rest, f"`{action}` isn't a room action", f"/meet room {close}" if close else None, "room")
    if action == "set":
        return RoomAction("set", reference) if reference else Unknown(rest, "`/meet room set` needs a meeting",
                                                                "/meet room set <meeting>", "room")
    if action == "members":
        switch = reference.lower()
        if switch not in ("on", "off"):
            return Unknown(rest, "Say `on` or `off` after `/meet room members`", "/meet room members on", "room")
        return RoomMembership(switch == "on")
    if action in ("recap", "people"):
        switches = reference.lower().split()
        default = switches[:1] == ["default"]
        chosen = " ".join(switches[1:] if default else switches)
        if chosen not in ("on", "off"):
            usage = f"/meet room {action} default on" if default else f"/meet room {action} on"
            return Unknown(rest, f"Say `on` or `off` after `/meet room {action}{' default' if default else ''}`",
                           usage, "room")
        return (RoomRecaps if action == "recap" else RoomPeople)(chosen == "on", default)
    if reference:
        return Unknown(rest, f"`/meet room {action}` takes nothing after it", f"/meet room {action}", "room")
    return RoomAction(action)


def parse(text: str, parsers: Mapping[str, tuple[Parser, str]]) -> Command:
    """Parse the text Slack sends after `/meet` (already trimmed or not) with `parsers` (command word → its parser
    and usage line: the command table's). Slack's escaping and control sequences are undone first, once:
    everything below, a title included, is the plain text the person typed."""
    people, text = _mentions(text)
    text = " ".join(from_slack(text).split())
    if not text:
        return New(people=people)
    head, _, rest = text.partition(" ")
    name = head.lower()
    found = parsers.get(name)
    if found is not None:
        parser, usage = found
        return parser(Words(name, rest, people, text, usage))
    if _LOOKS_LIKE_MEETING.search(head):
        return Status(head)
    if head.startswith("--"):
        return _new(text, parsers["new"][1])
    # Only the command word is compared: the rest is kept as typed, so a typo keeps its meeting.
    close = closest(name, parsers)
    fixed = f"/meet {close}" + (f" {rest}" if rest else "") if close else None
    return Unknown(text, f"`{head}` isn't a /meet command", fixed)


# --- a parsed command as a job carries it: parsed once on the ack path, rebuilt as the same value in the job ----

# Every command but Unknown (which never reaches a job), by its type's name: a new command type is known here as
# soon as it is in `Command`.
_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in get_args(Command) if cls is not Unknown}


def encode(command: Command) -> JsonObject:
    """The command as JSON values: its type's name and its fields (tuples as lists, an Access as its word)."""
    fields: dict[str, object] = {"type": type(command).__name__}
    for field in dataclasses.fields(command):
        value = getattr(command, field.name)
        fields[field.name] = value.value if isinstance(value, Access) else value
    plain: JsonObject = json.loads(json.dumps(fields))  # tuples become lists: what the job's JSON gives back
    return plain


def decode(data: object) -> Command:
    """The command `encode` made; ValueError for anything else (an older job's shape, or a forged one)."""
    if not isinstance(data, dict) or data.get("type") not in _TYPES:
        raise ValueError("not a parsed command")
    cls = _TYPES[data["type"]]
    hints = get_type_hints(cls)
    values: dict[str, object] = {}
    for field in dataclasses.fields(cls):
        if field.name not in data:
            raise ValueError(f"a parsed {cls.__name__} without {field.name}")
        values[field.name] = _typed(hints[field.name], data[field.name])
    command: Command = cls(**values)
    return command


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if hint is Access or Access in get_args(hint):
        return Access(value)
    if isinstance(value, list):
        return tuple(tuple(item) if isinstance(item, list) else item for item in value)
    if not isinstance(value, str | bool):
        raise ValueError("not a command field")
    return value
