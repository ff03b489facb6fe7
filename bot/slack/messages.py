"""Block Kit builders for plain replies: help, refusals and notices. Pure functions: data in, dict out."""

from __future__ import annotations

import re
from typing import Any

from bot.core.errors import StorageUnavailable, UserFacingError
from bot.slack.grammar import SUBCOMMANDS
from bot.slack.mrkdwn import code, escape, plain, truncate

__all__ = ["Message", "help_message", "notice", "refusal_text", "reply_for", "unavailable_message", "usage_text"]

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")

Message = dict[str, Any]

_HELP_LINES = (
    ("/meet", "start a meeting here and post a card with Join, End meeting and Settings"),
    (SUBCOMMANDS["new"], "start a meeting with a title and who may join without knocking"),
    ("/meet <meeting>", "show a meeting: live or idle, who is in it, its settings if you own it"),
    (SUBCOMMANDS["end"], "end the meeting for everyone (owner only)"),
    (SUBCOMMANDS["settings"], "change access, moderation, recording… (owner only)"),
    (SUBCOMMANDS["set"], "change settings in one line (owner only)"),
    (SUBCOMMANDS["room"], "this channel's standing meeting room"),
    (SUBCOMMANDS["history"], "recent calls in a meeting: when, how long, who came"),
    ("/meet connect · disconnect · me", "link, unlink or show your Google account"),
)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def usage_text() -> str:
    return "\n".join(f"{code(cmd)}  {escape(what)}" for cmd, what in _HELP_LINES)


def help_message(problem: str | None = None, suggestion: str | None = None) -> Message:
    """Usage, led by what went wrong and the closest valid command when the input didn't parse."""
    blocks: list[dict[str, Any]] = []
    fallback = "How to use /meet"
    if problem:
        lead = f":warning: {escape(problem)}."
        if suggestion:
            lead += f" Did you mean {code(suggestion)}?"
        blocks.append(_section(lead))
        fallback = plain(f"{problem}." + (f" Did you mean {suggestion}?" if suggestion else ""), 300)
    blocks.append(_section("*How to use /meet*\n" + usage_text()))
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


def notice(text: str, *, emoji: str = ":information_source:") -> Message:
    """A one-line ephemeral reply; `text` is mrkdwn the caller has already escaped."""
    return {"response_type": "ephemeral", "text": truncate(text, 3000), "blocks": [_section(f"{emoji} {text}")]}


def refusal_text(refusal: UserFacingError) -> str:
    """mrkdwn for a domain refusal: its plain words escaped, and the person it names mentioned."""
    text = plain(refusal.reason, 2900)
    if refusal.person and _USER_ID.fullmatch(refusal.person):
        text += f" <@{refusal.person}> {escape(refusal.person_is)}."
    return text


def reply_for(refusal: UserFacingError) -> Message:
    if isinstance(refusal, StorageUnavailable):
        return unavailable_message()
    return notice(refusal_text(refusal), emoji=":no_entry:")


def unavailable_message() -> Message:
    """Redis is down: the same words wherever it is noticed (core's StorageUnavailable carries them)."""
    return notice(plain(StorageUnavailable().reason), emoji=":hourglass_flowing_sand:")
