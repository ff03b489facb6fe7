"""Every outcome a person is told about, worded in one place: each domain refusal of bot.core.errors, Redis
being down, and meetbot's own bugs. Handlers catch once and ask here for the words; nothing else decides how an
error becomes a message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot import actions
from bot.core.errors import NotLinked, ReauthRequired, Remedy, StorageUnavailable, UserFacingError
from bot.core.members import MembersRefusal, MembersRefused, Skip, Skipped
from bot.slack.mrkdwn import escape, plain
from bot.slack.views.blocks import Message, notice

__all__ = ["CHANNEL_UNREADABLE", "OUR_FAULT", "answering", "is_expected", "modal_text", "outcome_of", "refusal_text",
           "reply_for", "skipped_text", "unavailable_message"]

log = logging.getLogger(__name__)

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
OUR_FAULT = ("Something went wrong on meetbot's side, so that didn't finish. Please try again; if it keeps "
             "failing, tell your Slack admin.")


def is_expected(error: BaseException) -> bool:
    """A refusal or an outage: worth a reply, not a traceback."""
    return isinstance(error, UserFacingError)


# --- members: whole refusals and the reasons one person wasn't added -------------------------------------------

CHANNEL_UNREADABLE = ("Slack didn't say who is in this channel, so the room's members weren't changed. Please try "
                      "again in a minute.")
_MEMBERS_REFUSALS = {
    MembersRefusal.NOT_OWNER: "Only the meeting's owner can change the co-hosts and members of {label}.",
    MembersRefusal.NOT_OWNER_READ: "Only the meeting's owner can see the co-hosts and members of {label}.",
    MembersRefusal.OUTSIDE_MEETBOT: (
        "Google didn't let meetbot change the members of {label}: meetbot can do that only for meetings started "
        "with meetbot. For a meeting started in Google Meet, Calendar or another app, its owner can add co-hosts "
        "there."),
    MembersRefusal.NO_SCOPE: (
        "Your Google connection doesn't let meetbot change the members of {label}. Run `/meet connect` again and "
        "allow meetbot to manage the meetings it creates."),
}
_SKIPS = {
    Skip.BOT: "is a bot, and bots have no Google account",
    Skip.DEACTIVATED: "is deactivated in Slack",
    Skip.NO_EMAIL: "has no email in their Slack profile",
    Skip.EXTERNAL: "is a guest from another organisation, so meetbot doesn't add them by their Slack email",
    Skip.UNKNOWN_USER: "isn't someone Slack would tell meetbot about right now",
    Skip.SHARED_EMAIL: "has the same Slack email as someone else here, so neither was added under it",
    Skip.OWNER: "owns the meeting already",
    Skip.GOOGLE_REFUSED: "was refused by Google",
    Skip.LIMIT: "wasn't added: the meeting has reached Google's limit on members",
    Skip.NOT_DONE: "wasn't done because Google didn't answer in time; run the command again",
}


def skipped_text(skipped: Skipped) -> str:
    """mrkdwn: the person mentioned, then why they weren't added (with Google's own words when it refused)."""
    detail = f" ({plain(skipped.detail, 300)})" if skipped.detail and skipped.why is Skip.GOOGLE_REFUSED else ""
    who = f"<@{skipped.user_id}>" if _USER_ID.fullmatch(skipped.user_id) else escape(skipped.user_id)
    return f"{who} {_SKIPS[skipped.why]}{detail}"


_REMEDIES = {
    Remedy.RECONNECT: "Run `/meet connect` again to allow it.",
    Remedy.LOOK_AGAIN: "Try `/meet room` in a moment to see the result.",
    Remedy.NEW_ROOM: "Create a new room with `/meet room new`.",
}


def refusal_text(refusal: UserFacingError) -> str:
    """mrkdwn for a domain refusal: its plain words escaped, the person it names mentioned, and what to do about it
    in Slack's terms."""
    if isinstance(refusal, MembersRefused):
        text = plain(_MEMBERS_REFUSALS[refusal.why].format(label=refusal.label), 2900)
    else:
        text = plain(refusal.reason, 2900)
    if refusal.person and _USER_ID.fullmatch(refusal.person):
        text += f" <@{refusal.person}> {escape(refusal.person_is)}."
    if refusal.remedy is not None:
        text += f" {_REMEDIES[refusal.remedy]}"
    return text


def reply_for(error: BaseException) -> Message:
    """The ephemeral reply for any failure: a refusal in its own words, an outage, or our fault."""
    if isinstance(error, StorageUnavailable):
        return unavailable_message()
    if isinstance(error, UserFacingError):
        return notice(refusal_text(error), emoji=":no_entry:")
    return notice(escape(OUR_FAULT), emoji=":warning:")


def outcome_of(error: BaseException) -> str:
    """The action line's outcome for a failure the person was told about."""
    if isinstance(error, StorageUnavailable):
        return "unavailable"
    if isinstance(error, NotLinked | ReauthRequired):
        return "not_linked"
    return "refused" if isinstance(error, UserFacingError) else "error"


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
        actions.outcome("deferred")
        raise
    except (NotLinked, ReauthRequired) as missing:
        actions.outcome(outcome_of(missing))
        await tell(**await connect_prompt(missing.reason))
    except Exception as error:
        actions.outcome(outcome_of(error))
        if not is_expected(error):
            log.exception("%s failed", name)
        await tell(**reply_for(error))
