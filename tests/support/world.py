"""Three linked people, the bot and both emulators: the world most end-to-end meeting tests start from."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import block_action, channel_posts, link_google, message_text
from tests.support.slack_requests import slash_command

__all__ = ["ALICE", "BOB", "CAROL", "CHANNEL", "World", "card_text", "end_value", "live", "space_of", "world"]

ALICE, BOB, CAROL = ("U0ALICE", "alice@example.com"), ("U0BOB", "bob@example.com"), ("U0CAROL", "carol@example.com")
CHANNEL = "C0GENERAL"


class World:
    """The bot, both emulators, and three linked people: Alice owns meetings, Bob joins them, Carol doesn't."""

    def __init__(self, bot: BotProcess, slack: SlackEmulator, meet: MeetEmulator) -> None:
        self.bot, self.slack, self.meet = bot, slack, meet
        self._replies = 0

    async def link_everyone(self) -> None:
        for user_id, email in (ALICE, BOB, CAROL):
            callback = await link_google(self.bot, self.slack, self.meet, user_id, email)
            assert callback.status_code == 200, callback.text

    async def command(self, text: str, user: tuple[str, str] = ALICE, *, wait: bool = True) -> dict[str, Any]:
        """Run `/meet text` as `user`; returns the ack body, or (wait=True and empty ack) the first reply."""
        self._replies += 1
        name = f"reply-{self._replies}"
        url = self.slack.response_url(name, channel=CHANNEL, user=user[0])
        trigger = self.slack.state.issue_trigger_id()
        started = time.monotonic()
        response = await self.bot.post(slash_command(text, user_id=user[0], response_url=url, trigger_id=trigger))
        assert response.status_code == 200
        assert time.monotonic() - started < 3, "Slack needs the ack within 3 seconds"
        if response.content or not wait:
            return response.json() if response.content else {}
        return self.slack.state.wait_for_response_posts_blocking(name, 1, timeout=10)[0]["body"]

    async def click(self, action_id: str, value: str, user: tuple[str, str], message_ts: str | None
                    ) -> tuple[int, str]:
        self._replies += 1
        name = f"click-{self._replies}"
        url = self.slack.response_url(name, channel=CHANNEL, user=user[0], message_ts=message_ts)
        request = block_action(action_id, value, user_id=user[0], channel=CHANNEL, message_ts=message_ts,
                               response_url=url, trigger_id=self.slack.state.issue_trigger_id())
        response = await self.bot.post(request)
        return response.status_code, name

    def card(self) -> dict[str, Any]:
        """The one message posted in a channel (the DMs that announce each new Google link are not cards)."""
        (post,) = channel_posts(self.slack, 1)
        return post


@pytest.fixture
async def live(start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
               ) -> World:
    """The world with the bot following live meetings (a read a second), as cards are kept true."""
    followed = World(start_bot(MEET_POLL_SECONDS="1"), slack_emulator, meet_emulator)
    await followed.link_everyone()
    return followed


def card_text(world: World, ts: str) -> str:
    """A channel message (a card) as it reads now, after every edit."""
    return message_text(world.slack, CHANNEL, ts)


@pytest.fixture
async def world(bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator) -> World:
    w = World(bot, slack_emulator, meet_emulator)
    await w.link_everyone()
    return w


def end_value(card_call: dict[str, Any]) -> str:
    """"spaces/ID": what the card's End choice carries (the value an End button click sends)."""
    blocks = card_call["args"]["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    menu = next(el for b in blocks if b["type"] == "actions" for el in b["elements"]
                if el["action_id"] == "meet_manage")
    end = next(o["value"] for o in menu["options"] if o["value"].startswith("end "))
    return str(end).removeprefix("end ")


def space_of(card_call: dict[str, Any]) -> str:
    return end_value(card_call).split()[0]  # the space (older cards carried the label after it)
