"""Answers that need nothing but the request: `/meet help` and input that doesn't parse.

Served before Bolt, which would otherwise run its whole middleware chain (authorization included) for a reply
that is pure text. The signature is checked exactly as Bolt checks it; anything else falls through to Bolt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from bot.slack import grammar
from bot.slack.messages import help_message

__all__ = ["FastPath"]

_COMMAND_MARK = "command=%2Fmeet"


@lru_cache(maxsize=512)
def _help_body(problem: str | None, suggestion: str | None) -> str:
    return json.dumps(help_message(problem, suggestion))


class FastPath:
    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def answer(self, body: str, headers: Mapping[str, str]) -> str | None:
        """The JSON reply for a signed `/meet help` or unparseable `/meet …`; None to let Bolt handle it."""
        if _COMMAND_MARK not in body or not body.startswith(("token=", "team_id=", "command=")):
            return None
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp.isdigit() or not signature or not self._verifier.is_valid(body, timestamp, signature):
            return None  # Bolt answers 401 with its usual body
        form = parse_qs(body)
        if form.get("command") != ["/meet"] or "ssl_check" in form:
            return None
        match grammar.parse(form.get("text", [""])[0]):
            case grammar.Help():
                return _help_body(None, None)
            case grammar.Unknown(problem=problem, suggestion=suggestion):
                return _help_body(problem, suggestion)
        return None
