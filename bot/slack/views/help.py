"""The help: `/meet help` grouped by what people do, `/meet help <topic>` for one group or command, and the one
line that answers input meetbot didn't understand."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.settings_catalog import SETTINGS
from bot.slack.grammar import SUBCOMMANDS, closest
from bot.slack.mrkdwn import code, escape, plain
from bot.slack.views.blocks import Block, Message, context, header, section

__all__ = ["help_message", "unknown_message"]


@dataclass(frozen=True, slots=True)
class _Command:
    usage: str
    short: str  # its line in the group: plain words and code spans, escaped when shown
    about: str  # its own topic's text, the same way
    example: str


_SET_KEYS = "\n".join(f"• `{s.key}={'|'.join(s.values)}`: {s.label}" for s in SETTINGS)
_COMMANDS: dict[str, _Command] = {
    "new": _Command(SUBCOMMANDS["new"], "the same, with a title, co-hosts and who joins without knocking",
                    "Starts a Google Meet and posts its card here. Everything is optional: a title, the people who "
                    "co-host it (mention them), and who can join without knocking. `/meet` alone starts one "
                    "without a title.", "/meet new Weekly sync @Bob --trusted"),
    "status": _Command(SUBCOMMANDS["status"], "whether a meeting is live, and who is in the call",
                       "Shows whether a meeting is live and who is in the call. Its owner also sees the settings "
                       "that differ from Google's defaults. `/meet <meeting>` does the same.",
                       "/meet status abc-mnop-xyz"),
    "history": _Command(SUBCOMMANDS["history"], "recent calls: when, how long, who came",
                        "Lists the recent calls in a meeting: when each started, how long it lasted and who came. "
                        "Google keeps calls for 30 days.", "/meet history abc-mnop-xyz"),
    "end": _Command(SUBCOMMANDS["end"], "end the call for everyone",
                    "Ends the call for everyone in it. The meeting itself stays: anyone can start it again from "
                    "its link. Only its owner can do this.", "/meet end abc-mnop-xyz"),
    "settings": _Command(SUBCOMMANDS["settings"], "change who can join, moderation, recording and notes in a form",
                         "Opens a form with the meeting's settings: who can join without knocking, host management, "
                         "recording and notes, and its co-hosts. Only its owner can do this.",
                         "/meet settings abc-mnop-xyz"),
    "set": _Command(SUBCOMMANDS["set"], "change settings in one line",
                    "Changes settings in one line; only its owner can do this. The settings:\n" + _SET_KEYS,
                    "/meet set abc-mnop-xyz access=trusted chat=hosts"),
    "cohost": _Command(SUBCOMMANDS["cohost"], "make people co-hosts",
                       "Makes people co-hosts: they manage the call with you. Only the owner can do this, for "
                       "meetings started with meetbot.", "/meet cohost abc-mnop-xyz @Bob"),
    "uncohost": _Command(SUBCOMMANDS["uncohost"], "take co-hosting back",
                         "Takes co-hosting back from people. Only the owner can do this.",
                         "/meet uncohost abc-mnop-xyz @Bob"),
    "members": _Command(SUBCOMMANDS["members"], "who are its members and co-hosts",
                        "Lists a meeting's members and co-hosts. Only its owner can see them.",
                        "/meet members abc-mnop-xyz"),
    "room": _Command(SUBCOMMANDS["room"], "this channel's standing meeting: show, create, adopt or forget it",
                     "A channel can have a standing meeting, its room, that anyone in the channel can join at any "
                     "time. `/meet room` posts its card; `new` creates one (you own it), `set <meeting>` makes an "
                     "existing meeting the room, `clear` forgets it, `members on` lets the channel's people "
                     "join without knocking, and `recap off` stops the recap after each call (an admin sets "
                     "everyone's default with `recap default on|off`).", "/meet room new"),
    "connect": _Command(SUBCOMMANDS["connect"], "link your Google account",
                        "Links your Google account, so meetbot can start and check meetings as you.",
                        "/meet connect"),
    "disconnect": _Command(SUBCOMMANDS["disconnect"], "unlink it",
                           "Unlinks your Google account; meetbot forgets its tokens.", "/meet disconnect"),
    "me": _Command(SUBCOMMANDS["me"], "which Google account is linked",
                   "Shows which Google account is linked, and what it lets meetbot do.", "/meet me"),
    "help": _Command(SUBCOMMANDS["help"], "this help; `/meet help <topic>` for one group or command",
                     "Shows all commands. `/meet help <topic>` explains one group (start, check, manage, rooms, "
                     "account) or one command.", "/meet help room"),
}


@dataclass(frozen=True, slots=True)
class _Group:
    title: str
    lines: tuple[str, ...]  # a command's name (its usage and short line) or a line of its own
    example: str
    covers: tuple[str, ...] = ()  # commands this group explains without a line of their own

    def commands(self) -> tuple[str, ...]:
        return (*(line for line in self.lines if line in _COMMANDS), *self.covers)


_GROUPS: dict[str, _Group] = {
    "start": _Group("Start", (
        "`/meet`: start a meeting here and post its card",
        "new",
        "The *Start a Meet* shortcut (the + button by the message box): the same, with a form",
    ), "/meet new Weekly sync @Bob --trusted"),
    "check": _Group("Check", (
        "status",
        "history",
        "Paste a Meet link in a message: meetbot shows under it whether the meeting is live",
        "The *Meeting status* shortcut (a message's ⋮ menu): the status of its Meet links, just for you",
    ), "/meet status abc-mnop-xyz"),
    "manage": _Group("Manage (the meeting's owner)", ("end", "settings", "set", "cohost", "uncohost", "members"),
                     "/meet set abc-mnop-xyz chat=hosts"),
    "rooms": _Group("Rooms: a channel's standing meeting", (
        "`/meet room`: post this channel's room, which anyone here can join at any time",
        "`/meet room new`: create the room (you own it) · `/meet room set <meeting>`: use an existing meeting",
        "`/meet room clear`: forget the room · `/meet room members on|off`: the channel's people join without "
        "knocking",
        "`/meet room recap on|off`: a recap in the card's thread after each call (on unless turned off)",
    ), "/meet room new", covers=("room",)),
    "account": _Group("Account", (
        "connect",
        "disconnect",
        "me",
        "meetbot's *Home* tab (click meetbot in the sidebar): your meetings and a *Start a meeting* button",
    ), "/meet connect"),
}
_MEETING = ("A <meeting> is a Meet link or a meeting code like `abc-mnop-xyz`. "
            "More on one group or command: `/meet help <topic>`, like `/meet help rooms`.")


def _group_text(group: _Group) -> str:
    lines = [f"*{escape(group.title)}*"]
    for line in group.lines:
        command = _COMMANDS.get(line)
        lines.append(f"• {code(command.usage)}: {escape(command.short)}" if command else f"• {escape(line)}")
    lines.append(f"_Example:_ {code(group.example)}")
    return "\n".join(lines)


def _topic_blocks(topic: str) -> list[Block] | None:
    if topic in _GROUPS:
        return [section(_group_text(_GROUPS[topic]))]
    command = _COMMANDS.get(topic)
    if command is None:
        return None
    group = next((key for key, g in _GROUPS.items() if topic in g.commands()), None)
    part = f"Part of *{_GROUPS[group].title}*: `/meet help {group}`. " if group else ""
    return [section(f"{code(command.usage)}\n{escape(command.about)}\n_Example:_ {code(command.example)}"),
            context(f"{part}All commands: `/meet help`.")]


_TOPICS = (*_GROUPS, *_COMMANDS)
_ALIASES = {"room": "room", "rooms": "rooms", "shortcuts": "start", "home": "account", "owner": "manage"}


def help_message(topic: str | None = None) -> Message:
    """`/meet help` (every group, one example each) or `/meet help <topic>` (a group or one command)."""
    if topic:
        word = topic.split()[0].lower()
        found = _topic_blocks(_ALIASES.get(word, word))
        if found is None:
            return unknown_message(f"There's no help on `{word}`",
                                   f"/meet help {close}" if (close := closest(word, _TOPICS)) else None)
        return {"response_type": "ephemeral", "text": plain(f"How to use /meet {word}", 300), "blocks": found}
    blocks: list[Block] = [header("How to use /meet")]
    blocks += [section(_group_text(group)) for group in _GROUPS.values()]
    blocks.append(context(escape(_MEETING)))
    return {"response_type": "ephemeral", "text": "How to use /meet", "blocks": blocks}


def unknown_message(problem: str, suggestion: str | None = None, topic: str | None = None) -> Message:
    """One line for input meetbot didn't understand: what was wrong, the closest command when there is one, and
    where the help is. `problem` is a sentence of plain words and code spans, not yet escaped."""
    help_command = f"/meet help {topic}" if topic else "/meet help"
    line = escape(problem.rstrip(".")) + "."
    line += f" Try {code(suggestion)}, or see {code(help_command)}." if suggestion else f" See {code(help_command)}."
    fallback = problem.rstrip(".") + "." + (f" Try {suggestion}." if suggestion else f" See {help_command}.")
    return {"response_type": "ephemeral", "text": plain(fallback, 300), "blocks": [section(f":thinking_face: {line}")]}
