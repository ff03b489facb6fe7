"""Answering through a response_url, reliably: one retry, and a failure that raises instead of passing silently.

Bolt's `respond` returns the webhook's HTTP answer and raises only when no answer came; a 5xx from Slack would
otherwise look like success and the user would never hear back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name

__all__ = ["Reply", "ResponseUrlFailed", "dm_reply", "reliable", "webhook_reply"]

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


def webhook_reply(response_url: str, session: aiohttp.ClientSession) -> Reply:
    """A `respond` for a response_url outside a request (a job rebuilt from plain data)."""

    async def reply(**message: Any) -> Any:
        return await AsyncWebhookClient(response_url, session=session, timeout=5).send_dict(message)

    return reply


def dm_reply(client: AsyncWebClient, user_id: str) -> Reply:
    """Where there is no response_url (a modal): the user's DM with meetbot."""

    async def reply(**message: Any) -> Any:
        return await client.chat_postMessage(channel=user_id, text=str(message.get("text", "")),
                                             blocks=message.get("blocks"))

    return reply
