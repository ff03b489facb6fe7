"""Live meetings through Google's Workspace Events: the events emulator (both ways an event may name its space, §9),
the bot's configuration for it, and the world with push delivery. Fixtures for the edge and end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulators.events import EventsEmulator
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.world import World, space_of

__all__ = [
    "PULLER",
    "PULL_SUB",
    "PUSHER",
    "PUSH_SUB",
    "TOPIC",
    "events_emulator",
    "events_env",
    "post_card",
    "pushed",
    "subscriptions",
]

TOPIC = "projects/meetbot-test/topics/meet"
PUSH_SUB, PULL_SUB = "projects/meetbot-test/subscriptions/push", "projects/meetbot-test/subscriptions/pull"
PUSHER = "pubsub-push@meetbot-test.iam.gserviceaccount.com"
PULLER = "puller@meetbot-test.iam.gserviceaccount.com"


@pytest.fixture(params=["space", "subscription"])
def events_emulator(request: pytest.FixtureRequest, meet_emulator: MeetEmulator) -> Iterator[EventsEmulator]:
    """Where Meet events name their space and subscription is not documented (§9): the bot must work with both."""
    with EventsEmulator(meet_emulator.state, ce_source=request.param) as events:
        yield events


def events_env(events: EventsEmulator) -> dict[str, str]:
    return {"MEET_POLL_SECONDS": "1", "GOOGLE_PUBSUB_TOPIC": TOPIC, "GOOGLE_EVENTS_URL": events.url,
            "PUBSUB_API_URL": events.url, "GOOGLE_CERTS_URL": events.certs_url, "GOOGLE_PUBSUB_PUSH_ACCOUNT": PUSHER}


@pytest.fixture
async def pushed(start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
                 events_emulator: EventsEmulator) -> World:
    bot = start_bot(**events_env(events_emulator))
    events_emulator.broker.configure_subscription(PUSH_SUB, TOPIC, bot.url + "/google/events",
                                                  service_account=PUSHER)
    world = World(bot, slack_emulator, meet_emulator)
    await world.link_everyone()
    return world


def subscriptions(events: EventsEmulator) -> list[dict[str, Any]]:
    return events.state.subscriptions()


async def post_card(world: World) -> tuple[str, str]:
    await world.command("new Planning", wait=False)
    card = world.card()
    return space_of(card), card["response"]["ts"]
