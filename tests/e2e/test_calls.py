"""Slack's own call object, end to end: a `python -m bot` killed with -9 mid-call is reconciled with Google's list by
the next process. The call object's life in-process: the edge tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core.calls import external_id
from tests.support.bot_process import BotProcess
from tests.support.slack_calls import call_block, calls, people
from tests.support.waits import eventually
from tests.support.world import BOB, World, space_of

pytestmark = pytest.mark.e2e

DANA = "dana@elsewhere.example"  # signed in to Google, never linked to Slack


async def test_a_bot_killed_mid_call_is_reconciled_with_googles_list_by_the_next(
        live: World, start_bot: Callable[..., BotProcess]) -> None:
    await live.command("new", wait=False)
    card = live.card()
    space, ts = space_of(card), card["response"]["ts"]
    live.meet.state.join(space, user=BOB[1])
    call_id = eventually(lambda: call_block(live, ts), "a call")
    eventually(lambda: people(live, call_id) == [{"slack_id": BOB[0]}], "Bob in the call")
    live.bot.kill()
    guest = live.meet.state.join(space, anonymous="Visitor")
    live.meet.state.leave(space, user=BOB[1])
    live.meet.state.join(space, user=DANA)
    start_bot(MEET_POLL_SECONDS="1")
    eventually(lambda: len(people(live, call_id)) == 2 and {"slack_id": BOB[0]} not in people(live, call_id),
               "the call to hold exactly who Google shows")
    assert {"external_id": external_id(guest), "display_name": "Guest"} in people(live, call_id)
    assert len(calls(live)) == 1, "the same call, not a second one"
