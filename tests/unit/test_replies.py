"""The error-to-reply tables (issue 12): every error of the tree gets its words in one place.

1. Google's answer and the operation → the domain refusal (bot.core.explain).
2. Every domain refusal, outage and bug → the Slack reply (bot.slack.replies). A new error class without a row
   here fails `test_every_error_class_has_a_row`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from bot.core import errors as core
from bot.core import members, rooms
from bot.core.explain import Operation, explain
from bot.domain import Room
from bot.errors import StorageUnavailable
from bot.googleapi import errors as gapi
from bot.slack.replies import OUR_FAULT, refusal_text, reply_for, skipped_text
from bot.store.keys import Keys
from bot.store.spaces import SpaceRecords
from tests.support.ports import refused_port

NASTY = "<!channel> Q&A"


def api(cls: type[gapi.ApiStatusError], status: int, code: str, reason: str | None = None,
        retry_after: float | None = None) -> gapi.ApiStatusError:
    return cls(status, code, "Google's own words <@U0EVIL>", reason=reason, retry_after=retry_after)


SCOPE = "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
# (Google's error, operation, made by meetbot) → (domain refusal, words the reply must have)
EXPLAIN_TABLE: list[tuple[gapi.GoogleApiError, Operation, bool, type[core.UserFacingError], str]] = [
    (api(gapi.NotFound, 404, "NOT_FOUND"), "read", True, core.UnknownMeeting, "doesn't know the meeting abc"),
    (api(gapi.NotFound, 404, "NOT_FOUND"), "end", True, core.UnknownMeeting, "Check the link or code"),
    (api(gapi.PermissionDenied, 403, "PERMISSION_DENIED", SCOPE), "read", True, core.MissingScope, "/meet connect"),
    (api(gapi.PermissionDenied, 403, "PERMISSION_DENIED", SCOPE), "patch", True, core.MissingScope,
     "meetings.space.settings"),
    (api(gapi.PermissionDenied, 403, "PERMISSION_DENIED"), "end", True, core.NotOwner, "owner can end abc"),
    (api(gapi.PermissionDenied, 403, "PERMISSION_DENIED"), "patch", True, core.NotOwner, "change the settings of"),
    (api(gapi.PermissionDenied, 403, "PERMISSION_DENIED"), "end", False, core.MissingScope,
     "only for meetings started with meetbot"),
    (api(gapi.PermissionDenied, 403, "PERMISSION_DENIED"), "read", True, core.MissingScope, "can't see abc"),
    (api(gapi.Unauthenticated, 401, "UNAUTHENTICATED"), "create", True, core.ReauthRequired, "any more"),
    (api(gapi.RateLimited, 429, "RESOURCE_EXHAUSTED", retry_after=17), "create", True, core.SlowDown,
     "Try again in 17 seconds"),
    (api(gapi.RateLimited, 429, "RESOURCE_EXHAUSTED"), "read", True, core.SlowDown, "Try again in 30 seconds"),
    (api(gapi.FailedPrecondition, 400, "FAILED_PRECONDITION"), "end", True, core.NothingLive, "no live call in abc"),
    (api(gapi.InvalidArgument, 400, "INVALID_ARGUMENT"), "patch", True, core.InvalidSettings,
     "Google refused those settings"),
    (gapi.ApiTimeout("slow"), "create", True, core.ServiceUnavailable, "Google may have made one anyway"),
    (gapi.ApiTimeout("slow"), "end", True, core.ServiceUnavailable, "may not have changed"),
    (api(gapi.Unavailable, 503, "UNAVAILABLE"), "read", True, core.ServiceUnavailable, "isn't answering"),
    (gapi.ApiTransportError("reset"), "history", True, core.ServiceUnavailable, "isn't answering"),
]


@pytest.mark.parametrize(("error", "operation", "made_by_meetbot", "refusal", "words"), EXPLAIN_TABLE)
def test_googles_answers_become_plain_refusals(error: gapi.GoogleApiError, operation: Operation, made_by_meetbot: bool,
                                               refusal: type[core.UserFacingError], words: str) -> None:
    found = explain(error, operation, "abc", "U0ALICE", made_by_meetbot=made_by_meetbot)
    assert type(found) is refusal
    text = json.dumps(reply_for(found))
    assert words in refusal_text(found), refusal_text(found)  # a remedy is worded by the edge
    assert "<@U0EVIL>" not in text, "Google's words are escaped"


ROOM = Room("spaces/s1", "abc-mnop-xyz", None, "U0ALICE", None, "U0ALICE", 0.0)
# Every domain refusal → how to build one, and the words and emoji its reply carries.
REPLY_TABLE: dict[type[core.UserFacingError], tuple[Callable[[], core.UserFacingError], str, str]] = {
    core.UserFacingError: (lambda: core.UserFacingError(NASTY), "&lt;!channel&gt; Q&amp;A", ":no_entry:"),
    core.NotLinked: (core.NotLinked, "isn't connected", ":no_entry:"),
    core.ReauthRequired: (core.ReauthRequired, "no longer accepts", ":no_entry:"),
    core.DelegationRefused: (lambda: core.DelegationRefused(NASTY), "&lt;!channel&gt;", ":no_entry:"),
    core.DelegationInUse: (core.DelegationInUse, "domain-wide delegation", ":no_entry:"),
    core.ServiceUnavailable: (lambda: core.ServiceUnavailable("Google Meet isn't answering."), "isn't answering",
                              ":no_entry:"),
    core.StorageUnavailable: (core.StorageUnavailable, "storage isn't answering", ":hourglass_flowing_sand:"),
    core.SlowDown: (lambda: core.SlowDown("Try again in 5 seconds.", 5), "in 5 seconds", ":no_entry:"),
    core.BadReference: (lambda: core.BadReference(NASTY), "&lt;!channel&gt;", ":no_entry:"),
    core.UnknownMeeting: (lambda: core.UnknownMeeting("Google doesn't know it."), "doesn't know", ":no_entry:"),
    core.NotOwner: (lambda: core.NotOwner("Only the owner can end abc.", "U0ALICE"), "<@U0ALICE> owns it.",
                    ":no_entry:"),
    core.MissingScope: (lambda: core.MissingScope("Run /meet connect again."), "/meet connect", ":no_entry:"),
    core.NothingLive: (lambda: core.NothingLive("No live call."), "No live call", ":no_entry:"),
    core.InvalidSettings: (lambda: core.InvalidSettings(f"Google refused: {NASTY}"), "&lt;!channel&gt;",
                           ":no_entry:"),
    rooms.NoRoom: (rooms.NoRoom, "no Meet room yet", ":no_entry:"),
    rooms.NotAnAdmin: (rooms.NotAnAdmin, "Only a workspace admin can change what every channel gets", ":no_entry:"),
    rooms.RoomBusy: (rooms.RoomBusy, "changing this channel's room", ":no_entry:"),
    rooms.RoomNotYours: (lambda: rooms.RoomNotYours("U0ALICE"), "<@U0ALICE> set it up.", ":no_entry:"),
    rooms.RoomExpired: (lambda: rooms.RoomExpired(ROOM), "abc-mnop-xyz", ":no_entry:"),
    members.MembersRefused: (lambda: members.MembersRefused(members.MembersRefusal.NOT_OWNER, "abc-mnop-xyz",
                                                            "U0ALICE"),
                             "Only the meeting's owner can change the co-hosts and members of abc-mnop-xyz. "
                             "<@U0ALICE> owns it.", ":no_entry:"),
}


@pytest.mark.parametrize("why", list(members.MembersRefusal))
def test_members_refusals_are_worded(why: members.MembersRefusal) -> None:
    text = reply_for(members.MembersRefused(why, "abc-<!here>"))["blocks"][0]["text"]["text"]
    assert "abc-&lt;!here&gt;" in text and "(" not in text  # the structured reason, worded here, escaped


@pytest.mark.parametrize("why", list(members.Skip))
def test_every_skip_is_worded(why: members.Skip) -> None:
    text = skipped_text(members.Skipped("U0BOB", why, "Google's <words>"))
    assert text.startswith("<@U0BOB> ") and len(text) > 20 and "<words>" not in text


def all_subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= all_subclasses(sub)
    return found


def test_every_error_class_has_a_row() -> None:
    known = {c for c in all_subclasses(core.UserFacingError) | {core.UserFacingError}
             if c.__module__.startswith("bot.")}
    assert known == set(REPLY_TABLE), f"add rows for {known - set(REPLY_TABLE)}"


@pytest.mark.parametrize("error_class", sorted(REPLY_TABLE, key=lambda c: c.__name__))
def test_every_refusal_has_its_words(error_class: type[core.UserFacingError]) -> None:
    build, words, emoji = REPLY_TABLE[error_class]
    reply = reply_for(build())
    text = reply["blocks"][0]["text"]["text"]
    assert reply["response_type"] == "ephemeral"
    assert text.startswith(emoji) and words in text, text
    assert "<!channel>" not in json.dumps(reply)


def test_an_outage_and_a_bug_have_their_words_too() -> None:
    outage = reply_for(StorageUnavailable("ConnectionError"))
    assert outage["blocks"][0]["text"]["text"].startswith(":hourglass_flowing_sand:"), "one wording for a Redis outage"
    bug = reply_for(RuntimeError("KeyError: 'secret' xoxb-123"))
    text = json.dumps(bug)
    assert OUR_FAULT.split(",")[0] in text and "xoxb" not in text and "KeyError" not in text


async def test_a_store_that_cannot_reach_redis_raises_the_one_storage_error_core_knows() -> None:
    """One error for Redis being down, from the store that notices it to core and the reply: no second class."""
    with refused_port() as port:
        redis = Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        try:
            with pytest.raises(core.StorageUnavailable) as caught:
                await SpaceRecords(redis, Keys()).space_for_code("abc-mnop-xyz")
        finally:
            await redis.aclose()
    assert isinstance(caught.value, core.ServiceUnavailable) and caught.value.cause == "ConnectionError"
    assert "storage isn't answering" in caught.value.reason


async def test_something_other_than_redis_at_the_redis_url_is_storage_unavailable_too() -> None:
    """A REDIS_URL that reaches another service (here one speaking HTTP, as a neighbour did when the suite first ran
    in parallel): the same honest error as no Redis at all, not an unexpected protocol error."""
    async def http_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(http_answer, "127.0.0.1", 0)
    redis = Redis(host="127.0.0.1", port=server.sockets[0].getsockname()[1], socket_connect_timeout=1)
    try:
        with pytest.raises(core.StorageUnavailable) as caught:
            await SpaceRecords(redis, Keys()).space_for_code("abc-mnop-xyz")
    finally:
        await redis.aclose()
        server.close()
    assert caught.value.cause == "InvalidResponse"
