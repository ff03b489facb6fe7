"""The `/meet` grammar: turns the text after `/meet` into one typed command. Pure: no I/O, no Bolt types.

Meeting references stay raw text here; `bot.meet.links` validates them, so every command gets the same rules.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

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
    "Set",
    "ShowHistory",
    "ShowMembers",
    "Status",
    "Uncohost",
    "Unknown",
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
    """Input that matches no command. `problem` says what is wrong; `suggestion` is a whole command to try."""

    text: str
    problem: str
    suggestion: str | None = None


Command = (
    Help | New | Status | End | OpenSettings | Set | RoomAction | ShowHistory | Connect | Disconnect | Me | Unknown
    | Cohost | Uncohost | ShowMembers | RoomMembership
)

# Subcommand → usage line, in the order help lists them.
SUBCOMMANDS: dict[str, str] = {
    "new": "/meet new [title] [@people] [--open|--trusted|--restricted]",
    "status": "/meet status <meeting>",
    "end": "/meet end <meeting>",
    "settings": "/meet settings <meeting>",
    "set": "/meet set <meeting> access=trusted moderation=on chat=hosts …",
    "room": "/meet room [new | set <meeting> | clear | members on|off]",
    "history": "/meet history <meeting>",
    "cohost": "/meet cohost <meeting> @person…",
    "uncohost": "/meet uncohost <meeting> @person…",
    "members": "/meet members <meeting>",
    "connect": "/meet connect",
    "disconnect": "/meet disconnect",
    "me": "/meet me",
    "help": "/meet help",
}
ROOM_ACTIONS = ("new", "set", "clear", "members")
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
    return Unknown(f"{name}", f"`/meet {name}` needs a meeting link or code", f"/meet {name} <meeting>")


def _parse_set(rest: str) -> Command:
    words = rest.split()
    if not words:
        return Unknown("set", "`/meet set` needs a meeting and at least one key=value", SUBCOMMANDS["set"])
    reference, pairs = words[0], words[1:]
    if "=" in reference:
        return Unknown(rest, "put the meeting link or code first, then key=value pairs", SUBCOMMANDS["set"])
    assignments: list[tuple[str, str]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            return Unknown(rest, f"`{pair}` is not key=value", SUBCOMMANDS["set"])
        assignments.append((key.lower(), value.lower()))
    if not assignments:
        return Unknown(rest, "say what to change, like access=trusted", SUBCOMMANDS["set"])
    return Set(reference, tuple(assignments))


def _mentions(raw: str) -> tuple[tuple[str, ...], str]:
    """The people mentioned (Slack ids, in order, once each) and the raw text without them."""
    return tuple(dict.fromkeys(_MENTION.findall(raw))), _MENTION.sub(" ", raw)


def _parse_people_command(name: str, rest: str, people: tuple[str, ...]) -> Command:
    usage = SUBCOMMANDS[name]
    words = rest.split()
    if not words:
        return Unknown(name, f"`/meet {name}` needs a meeting link or code, then the people", usage)
    if len(words) > 1:
        return Unknown(rest, f"`{words[1]}` is not a person: mention people with @", usage)
    if not people:
        return Unknown(rest, "say who: mention one or more people with @ after the meeting", usage)
    return (Cohost if name == "cohost" else Uncohost)(words[0], people)


def _parse_new(rest: str, people: tuple[str, ...] = ()) -> Command:
    access: Access | None = None
    title_words: list[str] = []
    for word in rest.split():
        flag = ACCESS_FLAGS.get(word.lower())
        if flag is not None:
            if access is not None and access is not flag:
                return Unknown(rest, "choose one of --open, --trusted or --restricted", SUBCOMMANDS["new"])
            access = flag
        elif word.startswith("--"):
            return Unknown(rest, f"unknown option `{word}`", SUBCOMMANDS["new"])
        else:
            title_words.append(word)
    return New(" ".join(title_words) or None, access, people)


def _parse_room(rest: str) -> Command:
    action, _, reference = rest.partition(" ")
    action, reference = action.lower(), reference.strip()
    if not action:
        return RoomAction("show")
    if action not in ROOM_ACTIONS:
        close = difflib.get_close_matches(action, ROOM_ACTIONS, n=1)
        return Unknown(rest, f"`{action}` is not a room action", f"/meet room {close[0]}" if close else None)
    if action == "set":
        return RoomAction("set", reference) if reference else Unknown(rest, "`/meet room set` needs a meeting",
                                                                "/meet room set <meeting>")
    if action == "members":
        switch = reference.lower()
        if switch not in ("on", "off"):
            return Unknown(rest, "say `on` or `off`", "/meet room members on")
        return RoomMembership(switch == "on")
    if reference:
        return Unknown(rest, f"`/meet room {action}` takes nothing after it", f"/meet room {action}")
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
        return simple[name] if not rest else Unknown(text, f"`/meet {name}` takes nothing after it", f"/meet {name}")
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
    close = difflib.get_close_matches(name, SUBCOMMANDS, n=1, cutoff=0.6)
    if close:
        fixed = f"/meet {close[0]}" + (f" {rest}" if rest else "")
        return Unknown(text, f"`{head}` is not a /meet command", fixed)
    return Unknown(text, f"`{head}` is not a /meet command", f"/meet new {text}")
