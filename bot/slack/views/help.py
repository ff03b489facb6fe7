"""The help: `/meet help` grouped by what people do, `/meet help <topic>` for one group or command, and the one
line that answers input meetbot didn't understand."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.commands import BY_WORD, COMMANDS
from bot.slack.grammar import Command, Help, Unknown, closest
from bot.slack.mrkdwn import code, escape, plain
from bot.slack.views.blocks import Block, Message, context, header, section

__all__ = ["help_message", "text_answer", "unknown_message"]


@dataclass(frozen=True, slots=True)
class _Group:
    """A help group: its commands are the table's rows of its topic, listed between lines of its own."""

    title: str
    example: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


_GROUPS: dict[str, _Group] = {
    "start": _Group("Start", "/meet new Weekly sync @Bob --trusted", before=(
        "`/meet`: start a meeting here and post its card",
    ), after=(
        "The *Start a Meet* shortcut (the + button by the message box): the same, with a form",
    )),
    "check": _Group("Check", "/meet status abc-mnop-xyz", after=(
        "Paste a Meet link in a message: meetbot shows under it whether the meeting is live",
        "The *Meeting status* shortcut (a message's ⋮ menu): the status of its Meet links, just for you",
    )),
    "manage": _Group("Manage (the meeting's owner)", "/meet set abc-mnop-xyz chat=hosts"),
    "rooms": _Group("Rooms: a channel's standing meeting", "/meet room new", before=(
        "`/meet room`: post this channel's room, which anyone here can join at any time",
        "`/meet room new`: create the room (you own it) · `/meet room set <meeting>`: use an existing meeting",
        "`/meet room clear`: forget the room · `/meet room members on|off`: the channel's people join without "
        "knocking",
        "`/meet room recap on|off`: a recap in the card's thread after each call (on unless turned off)",
    )),
    "account": _Group("Account", "/meet connect", after=(
        "meetbot's *Home* tab (click meetbot in the sidebar): your meetings and a *Start a meeting* button",
    )),
}
_MEETING = ("A <meeting> is a Meet link or a meeting code like `abc-mnop-xyz`. "
            "More on one group or command: `/meet help <topic>`, like `/meet help rooms`.")


def _group_text(key: str, group: _Group) -> str:
    lines = [f"*{escape(group.title)}*", *(f"• {escape(line)}" for line in group.before)]
    lines += [f"• {code(spec.usage)}: {escape(spec.short)}" for spec in COMMANDS if spec.topic == key and spec.listed]
    lines += [f"• {escape(line)}" for line in group.after]
    lines.append(f"_Example:_ {code(group.example)}")
    return "\n".join(lines)


def _topic_blocks(topic: str) -> list[Block] | None:
    if topic in _GROUPS:
        return [section(_group_text(topic, _GROUPS[topic]))]
    command = BY_WORD.get(topic)
    if command is None:
        return None
    group = command.topic
    part = f"Part of *{_GROUPS[group].title}*: `/meet help {group}`. " if group in _GROUPS else ""
    return [section(f"{code(command.usage)}\n{escape(command.about)}\n_Example:_ {code(command.example)}"),
            context(f"{part}All commands: `/meet help`.")]


_TOPICS = (*_GROUPS, *BY_WORD)
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
    blocks += [section(_group_text(key, group)) for key, group in _GROUPS.items()]
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


def text_answer(command: Command) -> Message | None:
    """The reply to `/meet help …` and to input that isn't a command: pure text, answered before anything else
    (also before Bolt, by the fast path); None for a command that runs."""
    match command:
        case Help(topic=topic):
            return help_message(topic)
        case Unknown(problem=problem, suggestion=suggestion, topic=topic):
            return unknown_message(problem, suggestion, topic)
    return None
