"""Answering through a response_url, reliably: one retry, and a failure that raises instead of passing silently.

Bolt's `respond` returns the webhook's HTTP answer and raises only when no answer came; a 5xx from Slack would
otherwise look like success and the user would never hear back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackRequestError

from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name

__all__ = ["Reply", "ResponseUrlFailed", "reliable"]

log = logging.getLogger(__name__)

Reply = Callable[..., Awaitable[Any]]
RETRY_DELAY = 0.5


class ResponseUrlFailed(SlackRequestError):
    """Slack did not take the message posted to a response_url, even on a second try."""


def _failed(result: Any) -> bool:
    status = getattr(result, "status_code", 200)
    return not isinstance(status, int) or status >= 400


def reliable(respond: Reply) -> Reply:
    async def reply(**message: Any) -> Any:
        for attempt in (1, 2):
            try:
                result = await respond(**message)
            except SLACK_FAILURES as error:
                problem = slack_error_name(error)
            else:
                if not _failed(result):
                    return result
                problem = f"HTTP {getattr(result, 'status_code', '?')}"
                if getattr(result, "status_code", 0) == 404:
                    break  # expired or used up: a retry can't help
            if attempt == 1:
                await asyncio.sleep(RETRY_DELAY)
        log.warning("a reply through response_url failed: %s", problem)
        raise ResponseUrlFailed(problem)

    return reply
