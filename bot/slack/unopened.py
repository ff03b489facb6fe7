"""Telling someone that their queued request was not run because its stored payload couldn't be opened as theirs
(copied from another job, too old, or its key gone): never silence, and nothing of the payload in the message."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypedDict

import aiohttp

from bot.domain import Tenant
from bot.slack.clients import SlackClients
from bot.slack.responder import dm_reply, reliable, webhook_reply
from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name
from bot.slack.views.blocks import notice

__all__ = ["UNOPENED_TEXT", "JobNotice", "job_notice", "unopened_teller"]

log = logging.getLogger(__name__)

UNOPENED_TEXT = ("meetbot didn't run your last request: its stored copy didn't check out, so nothing was done. "
                 "Please try it again.")


class JobNotice(TypedDict):
    """Where to reach the person a job is for, stored sealed beside the job."""

    team: str
    enterprise: str | None
    user: str | None
    response_url: str | None


def job_notice(team_id: str, enterprise_id: str | None, user_id: str | None, response_url: str | None
               ) -> JobNotice | None:
    """Where to reach the person a job is for; None when there is nobody."""
    if not user_id and not response_url:
        return None
    return {"team": team_id, "enterprise": enterprise_id, "user": user_id, "response_url": response_url}


def unopened_teller(clients: SlackClients, session: aiohttp.ClientSession
                    ) -> Callable[[Mapping[str, Any]], Awaitable[None]]:
    async def tell(where: Mapping[str, Any]) -> None:
        message = notice(UNOPENED_TEXT, emoji=":warning:")
        url, user = where.get("response_url"), where.get("user")
        try:
            if isinstance(url, str) and url:
                await reliable(webhook_reply(url, session))(**message)
            elif isinstance(user, str) and user:
                client = await clients.for_tenant(Tenant(str(where.get("team") or ""), where.get("enterprise")))
                await dm_reply(client, user)(**message)
        except SLACK_FAILURES as error:
            log.warning("a person whose job couldn't be opened was not told: %s", slack_error_name(error))

    return tell
