"""Live meetings through Google's Workspace Events, end to end: a `python -m bot` killed with an event acknowledged
but its card not yet edited; the bot started again edits it. The rest of the event path, in-process: the edge
tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from emulators.events import EventsEmulator
from tests.support.bot_process import BotProcess
from tests.support.events_world import PUSH_SUB, PUSHER, TOPIC, events_env, post_card, subscriptions
from tests.support.waits import eventually
from tests.support.world import BOB, World, card_text

pytestmark = pytest.mark.e2e


async def test_a_crash_between_receipt_and_update_is_recovered(
        pushed: World, events_emulator: EventsEmulator, start_bot: Callable[..., BotProcess]) -> None:
    space, ts = await post_card(pushed)
    eventually(lambda: subscriptions(events_emulator), "subscribed")
    pushed.slack.state.inject_fault("chat.update", status=200, delay=3.0)  # Slack is slow to take the edit...
    pushed.meet.state.join(space, user=BOB[1])
    eventually(lambda: pushed.slack.state.calls_to("chat.update") or any(
        d.get("status") == 204 for d in events_emulator.broker.snapshot()["deliveries"]), "the push taken")
    eventually(lambda: pushed.slack.state.faults_left() == 0, "the card's edit on its way to Slack")
    pushed.bot.kill()  # ...and the bot dies with the event acknowledged but the card not yet edited
    restarted = start_bot(**events_env(events_emulator))
    events_emulator.broker.configure_subscription(PUSH_SUB, TOPIC, restarted.url + "/google/events",
                                                  service_account=PUSHER)
    eventually(lambda: "Live* · 1 in the call" in card_text(pushed, ts), "the card edited after the restart",
               within=40)
