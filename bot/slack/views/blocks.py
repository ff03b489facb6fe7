"""The Block Kit helpers every view uses. Text given to them is mrkdwn the caller escaped (bot.slack.mrkdwn);
they apply Block Kit's limits after escaping, so a long title is cut, never rejected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack.mrkdwn import truncate

__all__ = ["Block", "Message", "View", "actions", "context", "header", "listed", "notice", "plain_text", "section",
           "whole_lines"]

Message = dict[str, Any]  # chat.postMessage / response_url arguments: text, blocks, response_type…
Block = dict[str, Any]  # one Block Kit block or element (a composition object too)
View = dict[str, Any]  # a modal or the Home tab (views.open / update / publish)

SECTION_LIMIT = 3000
HEADER_LIMIT = 150


def plain_text(text: str, limit: int = 75) -> Block:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def section(text: str, accessory: Block | None = None, *, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def listed(lines: Sequence[str], more: int = 0, limit: int = SECTION_LIMIT - 100) -> str:
    """Lines of a list, as many whole lines as fit in `limit`, then "• +N more" for the rest (`more`: people
    already left out by the caller). Cutting mid-line would break a mention and lose the count."""
    shown: list[str] = []
    size = 0
    for n, line in enumerate(lines):
        left = more + len(lines) - n
        tail = len(f"\n• +{left} more")
        last = n == len(lines) - 1 and not more
        if size + len(line) + (0 if last else tail) > limit:
            return "\n".join([*shown, f"• +{left} more"])
        shown.append(line)
        size += len(line) + 1
    return "\n".join([*shown, f"• +{more} more"] if more else shown)


def whole_lines(text: str, limit: int = SECTION_LIMIT - 100) -> str:
    """At most `limit` characters, cut after a whole line (never inside a mention), with "…" on a line of its
    own when something was left out."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit - 2)
    return (text[:cut] if cut > 0 else truncate(text, limit - 2)) + "\n…"


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain_text(text, HEADER_LIMIT)}


def actions(block_id: str, elements: Sequence[Block]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def notice(text: str, *, emoji: str = ":information_source:") -> Message:
    """A one-line ephemeral reply; `text` is mrkdwn the caller has already escaped."""
    return {"response_type": "ephemeral", "text": truncate(text, SECTION_LIMIT), "blocks": [section(f"{emoji} {text}")]}
