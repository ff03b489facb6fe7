"""Every outcome a person is told about, worded in one place: each domain refusal of bot.core.errors, Redis
being down, and meetbot's own bugs. Handlers catch once and ask here for the words; nothing else decides how an
error becomes a message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.core.errors import NotLinked, ReauthRequired, StorageUnavailable, UserFacingError
from bot.slack.mrkdwn import escape, plain
from bot.slack.views.blocks import Message, notice
from bot.store.errors import StoreUnavailable

__all__ = ["OUR_FAULT", "answering", "is_expected", "modal_text", "refusal_text", "reply_for",
           "unavailable_message"]

log = logging.getLogger(__name__)

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
OUR_FAULT = ("Something went wrong on meetbot's side, so that didn't finish. Please try again; if it keeps "
             "failing, tell your Slack admin.")


def is_expected(error: BaseException) -> bool:
    """A refusal or an outage: worth a reply, not a traceback."""
    return isinstance(error, UserFacingError | StoreUnavailable)


def refusal_text(refusal: UserFacingError) -> str:
    """mrkdwn for a domain refusal: its plain words escaped, and the person it names mentioned."""
    text = plain(refusal.reason, 2900)
    if refusal.person and _USER_ID.fullmatch(refusal.person):
        text += f" <@{refusal.person}> {escape(refusal.person_is)}."
    return text


def reply_for(error: BaseException) -> Message:
    """The ephemeral reply for any failure: a refusal in its own words, an outage, or our fault."""
    if isinstance(error, StorageUnavailable | StoreUnavailable):
        return unavailable_message()
    if isinstance(error, UserFacingError):
        return notice(refusal_text(error), emoji=":no_entry:")
    return notice(escape(OUR_FAULT), emoji=":warning:")


def modal_text(error: BaseException) -> str:
    """The same words, for a modal's body."""
    return str(reply_for(error)["blocks"][0]["text"]["text"])


def unavailable_message() -> Message:
    """Redis is down: the same words wherever it is noticed (core's StorageUnavailable carries them)."""
    return notice(plain(StorageUnavailable().reason), emoji=":hourglass_flowing_sand:")


async def answering(work: Coroutine[Any, Any, None], tell: Callable[..., Awaitable[Any]],
                    connect_prompt: Callable[[str], Awaitable[Message]], *, name: str,
                    passthrough: tuple[type[BaseException], ...] = ()) -> None:
    """Run work that follows an ack and answer every failure in plain words, never silence: a missing Google
    link gets the Connect prompt, everything else its reply. `passthrough` errors (a job's retry) propagate."""
    try:
        await work
    except passthrough:
        raise
    except (NotLinked, ReauthRequired) as missing:
        await tell(**await connect_prompt(missing.reason))
    except Exception as error:
        if not is_expected(error):
            log.exception("%s failed", name)
        await tell(**reply_for(error))
