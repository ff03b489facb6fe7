"""The help: usage grouped by what people do, led by what went wrong when the input didn't parse."""

from __future__ import annotations

from bot.slack.grammar import SUBCOMMANDS
from bot.slack.mrkdwn import code, escape, plain
from bot.slack.views.blocks import Block, Message, section

__all__ = ["help_message", "usage_text"]



_HELP_LINES = (
    ("/meet", "start a meeting here and post a card with Join, End meeting and Settings"),
    (SUBCOMMANDS["new"], "start a meeting with a title, co-hosts, and who may join without knocking"),
    ("/meet <meeting>", "show a meeting: live or idle, who is in it, its settings if you own it"),
    (SUBCOMMANDS["end"], "end the meeting for everyone (owner only)"),
    (SUBCOMMANDS["settings"], "change access, moderation, recording… (owner only)"),
    (SUBCOMMANDS["set"], "change settings in one line (owner only)"),
    (SUBCOMMANDS["cohost"], "make people co-hosts: they co-manage the call (owner only)"),
    (SUBCOMMANDS["uncohost"], "take co-hosting back (owner only)"),
    (SUBCOMMANDS["members"], "who is a member of a meeting, and who co-hosts it (owner only)"),
    (SUBCOMMANDS["room"], "this channel's standing meeting room; members on: its people join without knocking"),
    (SUBCOMMANDS["history"], "recent calls in a meeting: when, how long, who came"),
    ("/meet connect · disconnect · me", "link, unlink or show your Google account"),
)




def usage_text() -> str:
    return "\n".join(f"{code(cmd)}  {escape(what)}" for cmd, what in _HELP_LINES)


def help_message(problem: str | None = None, suggestion: str | None = None) -> Message:
    """Usage, led by what went wrong and the closest valid command when the input didn't parse."""
    blocks: list[Block] = []
    fallback = "How to use /meet"
    if problem:
        lead = f":warning: {escape(problem)}."
        if suggestion:
            lead += f" Did you mean {code(suggestion)}?"
        blocks.append(section(lead))
        fallback = plain(f"{problem}." + (f" Did you mean {suggestion}?" if suggestion else ""), 300)
    blocks.append(section("*How to use /meet*\n" + usage_text()))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "A <meeting> is a meet.google.com link, a meeting code like `abc-mnop-xyz`, "
                    "or a `spaces/…` name.",
                }
            ],
        }
    )
    return {"response_type": "ephemeral", "text": fallback, "blocks": blocks}
