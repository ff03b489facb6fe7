"""Answers that need nothing but the request: `/meet help` and input that doesn't parse.

Served before Bolt, which would otherwise run its whole middleware chain (authorization included) for a reply
that is pure text. Only requests the front door admitted (signed, fresh, well-formed) get here; a replay of help
is harmless, so this path skips the replay check and its Redis round trip.
"""

from __future__ import annotations

import json
from functools import lru_cache
from urllib.parse import parse_qs

from bot.slack import grammar
from bot.slack.commands import parse
from bot.slack.views.help import help_message, unknown_message

__all__ = ["fast_answer"]

_COMMAND_MARK = "command=%2Fmeet"


@lru_cache(maxsize=512)
def _help_body(topic: str | None) -> str:
    return json.dumps(help_message(topic))


@lru_cache(maxsize=512)
def _unknown_body(problem: str, suggestion: str | None, topic: str | None) -> str:
    return json.dumps(unknown_message(problem, suggestion, topic))


def fast_answer(body: str) -> str | None:
    """The JSON reply for an admitted `/meet help` or unparseable `/meet …`; None to let Bolt handle it."""
    if _COMMAND_MARK not in body or not body.startswith(("token=", "team_id=", "command=")):
        return None
    form = parse_qs(body)
    if form.get("command") != ["/meet"] or "ssl_check" in form:
        return None
    match parse(form.get("text", [""])[0]):
        case grammar.Help(topic=topic):
            return _help_body(topic)
        case grammar.Unknown(problem=problem, suggestion=suggestion, topic=topic):
            return _unknown_body(problem, suggestion, topic)
    return None
