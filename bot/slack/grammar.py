"""The `/meet` grammar: turns the text after `/meet` into one typed command. Pure: no I/O, no Bolt types.

Meeting references stay raw text here; `bot.meet.links` validates them, so every command gets the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from bot.core.typos import closest
from bot.slack.mrkdwn import from_slack

__all__ = [
    "ACCESS_FLAGS",
    "SUBCOMMANDS",
    "Access",
    "Cohost",
    "Command",
    "Connect",
    "Disconnect",
    "End",
    "Help",
    "Me",
    "New",
    "OpenSettings",
    "RoomAction",
    "RoomMembership",
    "RoomPeople",
    "RoomRecaps",
    "Set",
    "ShowHistory",
    "ShowMembers",
    "Status",
    "Uncohost",
    "Unknown",
    "closest",
    "parse",
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
class Unknown:
    """Input that matches no command. `problem` says what is wrong (a sentence, mrkdwn of plain words and code
    spans, not yet escaped); `suggestion` is a whole command to try; `topic` the `/meet help` topic to point at."""

    text: str
    problem: str
    suggestion: str | None = None
    topic: str | None = None


Command = (
    Help | New | Status | End | OpenSettings | Set | RoomAction | ShowHistory | Connect | Disconnect | Me | Unknown
    | Cohost | Uncohost | ShowMembers | RoomMembership | RoomRecaps | RoomPeople
)

# Subcommand → usage line, in the order help lists them.
SUBCOMMANDS: dict[str, str] = {
    "new": "/meet new [title] [@people] [--open|--trusted|--restricted]",
    "status": "/meet status <meeting>",
    "end": "/meet end <meeting>",
    "settings": "/meet settings <meeting>",
    "set": "/meet set <meeting> access=trusted moderation=on chat=hosts …",
    "room": "/meet room [new | set <meeting> | clear | members on|off | recap on|off | people on|off]",
    "history": "/meet history <meeting>",
    "cohost": "/meet cohost <meeting> @person…",
    "uncohost": "/meet uncohost <meeting> @person…",
    "members": "/meet members <meeting>",
    "connect": "/meet connect",
    "disconnect": "/meet disconnect",
    "me": "/meet me",
    "help": "/meet help",
}
ROOM_ACTIONS = ("new", "set", "clear", "members", "recap", "people")
# A person as Slack sends a mention: <@U123> or <@U123|name>. Read before the text is made plain.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]*)?>")
_REFERENCE_COMMANDS: dict[str, Callable[[str], Command]] = {
    "status": Status,
    "end": End,
    "settings": OpenSettings,
    "history": ShowHistory,
}

# A meeting reference as pasted: a meet/g.co link (maybe in Slack's <…> form), a spaces/ name or a bare code.
_LOOKS_LIKE_MEETING = re.compile(
    r"(meet\.google\.com|g\.co/meet|^<?https?://|^spaces/|^[a-z]{3,}-[a-z]{3,}-[a-z]{3,}$)", re.IGNORECASE
)


def _needs_reference(name: str, rest: str) -> Command | None:
    if rest:
        return None
    return Unknown(name, f"`/meet {name}` needs a meeting link or code", f"/meet {name} <meeting>", name)


def _parse_set(rest: str) -> Command:
    words = rest.split()
    if not words:
        return Unknown("set", "`/meet set` needs a meeting and at least one key=value", SUBCOMMANDS["set"], "set")
    reference, pairs = words[0], words[1:]
    if "=" in reference:
        return Unknown(rest, "Put the meeting link or code first, then the key=value pairs", SUBCOMMANDS["set"],
                       "set")
    assignments: list[tuple[str, str]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            return Unknown(rest, f"`{pair}` isn't key=value", SUBCOMMANDS["set"], "set")
        assignments.append((key.lower(), value.lower()))
    if not assignments:
        return Unknown(rest, "Say what to change, like `access=trusted`", SUBCOMMANDS["set"], "set")
    return Set(reference, tuple(assignments))


def _mentions(raw: str) -> tuple[tuple[str, ...], str]:
    """The people mentioned (Slack ids, in order, once each) and the raw text without them."""
    return tuple(dict.fromkeys(_MENTION.findall(raw))), _MENTION.sub(" ", raw)


def _parse_people_command(name: str, rest: str, people: tuple[str, ...]) -> Command:
    usage = SUBCOMMANDS[name]
    words = rest.split()
    if not words:
        return Unknown(name, f"`/meet {name}` needs a meeting link or code, then the people", usage, name)
    if len(words) > 1:
        return Unknown(rest, f"`{words[1]}` isn't a person: mention people with @", usage, name)
    if not people:
        return Unknown(rest, "Say who: mention one or more people with @ after the meeting", usage, name)
    return (Cohost if name == "cohost" else Uncohost)(words[0], people)


def _parse_new(rest: str, people: tuple[str, ...] = ()) -> Command:
    access: Access | None = None
    title_words: list[str] = []
    for word in rest.split():
        flag = ACCESS_FLAGS.get(word.lower())
        if flag is not None:
            if access is not None and access is not flag:
                return Unknown(rest, "Choose one of `--open`, `--trusted` or `--restricted`", SUBCOMMANDS["new"],
                               "new")
            access = flag
        elif word.startswith("--"):
            return Unknown(rest, f"`{word}` isn't an option of `/meet new`", SUBCOMMANDS["new"], "new")
        else:
            title_words.append(word)
    return New(" ".join(title_words) or None, access, people)


def _parse_room(rest: str) -> Command:
    action, _, reference = rest.partition(" ")
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
        words = reference.lower().split()
        default = words[:1] == ["default"]
        chosen = " ".join(words[1:] if default else words)
        if chosen not in ("on", "off"):
            usage = f"/meet room {action} default on" if default else f"/meet room {action} on"
            return Unknown(rest, f"Say `on` or `off` after `/meet room {action}{' default' if default else ''}`",
                           usage, "room")
        return (RoomRecaps if action == "recap" else RoomPeople)(chosen == "on", default)
    if reference:
        return Unknown(rest, f"`/meet room {action}` takes nothing after it", f"/meet room {action}", "room")
    return RoomAction(action)


def parse(text: str) -> Command:
    """Parse the text Slack sends after `/meet` (already trimmed or not). Slack's escaping and control sequences
    are undone first, once: everything below, a title included, is the plain text the person typed."""
    people, text = _mentions(text)
    text = " ".join(from_slack(text).split())
    if not text:
        return New(people=people)
    head, _, rest = text.partition(" ")
    name = head.lower()
    simple: dict[str, Command] = {"connect": Connect(), "disconnect": Disconnect(), "me": Me()}
    if name in simple:
        if rest:
            return Unknown(text, f"`/meet {name}` takes nothing after it", f"/meet {name}", name)
        return simple[name]
    if name == "help":
        return Help(rest.lower() or None)
    if name == "new":
        return _parse_new(rest, people)
    if name in ("cohost", "uncohost"):
        return _parse_people_command(name, rest, people)
    if name == "members":
        missing = _needs_reference(name, rest)
        return missing if missing is not None else ShowMembers(rest.split()[0])
    if name in ("status", "end", "settings", "history"):
        missing = _needs_reference(name, rest)
        if missing is not None:
            return missing
        return _REFERENCE_COMMANDS[name](rest.split()[0])
    if name == "set":
        return _parse_set(rest)
    if name == "room":
        return _parse_room(rest)
    if _LOOKS_LIKE_MEETING.search(head):
        return Status(head)
    if head.startswith("--"):
        return _parse_new(text)
    # Only the command word is compared: the rest is kept as typed, so a typo keeps its meeting.
    close = closest(name, SUBCOMMANDS)
    fixed = f"/meet {close}" + (f" {rest}" if rest else "") if close else None
    return Unknown(text, f"`{head}` isn't a /meet command", fixed)
