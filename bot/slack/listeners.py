"""Bolt listeners: thin adapters from Slack payloads to the use cases, and from their results to Slack replies.

The app runs with `process_before_response=True`: Bolt answers Slack as soon as the listener returns, with no
10 ms ack polling. So a listener acks first and hands slow work (Google calls) to the bounded background runner.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.background import BackgroundTasks
from bot.slack import grammar
from bot.slack.messages import Message, help_message, notice, unavailable_message
from bot.store.connection import is_unavailable
from bot.store.dedupe import claim
from bot.store.keys import Keys

__all__ = ["SlackDeps", "register"]

log = logging.getLogger(__name__)

EVENT_DEDUPE_TTL = 60 * 60  # Slack retries for about 5 minutes; an hour is a wide margin.

Ack = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SlackDeps:
    redis: Redis
    keys: Keys
    tasks: BackgroundTasks


def register(app: AsyncApp, deps: SlackDeps) -> None:
    app.use(_event_dedupe(deps))
    app.command("/meet")(_meet_command(deps))


def _event_dedupe(deps: SlackDeps) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Slack retries an event it thinks failed; the first delivery of each event_id wins, across processes."""

    async def skip_seen_events(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        event_id = req.body.get("event_id") if req.body.get("type") == "event_callback" else None
        if isinstance(event_id, str):
            try:
                first = await claim(deps.redis, deps.keys.event_seen(event_id), EVENT_DEDUPE_TTL)
            except Exception as error:
                if not is_unavailable(error):
                    raise
                first = True  # Better a rare duplicate than a lost event while Redis is down.
                log.warning("event dedupe skipped: Redis unavailable")
            if not first:
                log.info("duplicate delivery of %s ignored", event_id)
                resp.status, resp.body = 200, ""
                return resp
        return await next()

    return skip_seen_events


CommandHandler = Callable[[Any, dict[str, Any]], Awaitable[Message | None]]


def _meet_command(deps: SlackDeps) -> Callable[..., Awaitable[None]]:
    async def on_meet(ack: Ack, command: dict[str, Any]) -> None:
        parsed = grammar.parse(command.get("text", ""))
        try:
            reply = await _dispatch(parsed)
        except Exception as error:
            if not is_unavailable(error):
                raise
            log.warning("/meet answered 'unavailable': Redis is not answering")
            reply = unavailable_message()
        await ack(**reply) if reply else await ack()

    return on_meet


async def _dispatch(parsed: grammar.Command) -> Message | None:
    match parsed:
        case grammar.Help():
            return help_message()
        case grammar.Unknown(problem=problem, suggestion=suggestion):
            return help_message(problem, suggestion)
        case _:
            return notice("That command is not available yet. Try `/meet help`.")
