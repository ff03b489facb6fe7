"""People → emails for space members: bot/slack/directory.py over the Slack emulator and a real Redis, and the
Slack emulator's conversations.members, users.lookupByEmail and strangers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import ServiceUnavailable
from bot.core.members import Person, Skip
from bot.domain import Tenant
from bot.slack.clients import SlackClients
from bot.slack.directory import SlackDirectory
from bot.store.keys import Keys
from bot.store.slack_cache import EmailCache
from emulators.slack import SlackEmulator
from tests.conftest import BOT_TOKEN

TENANT = Tenant("T0001")


@pytest.fixture
async def directory(slack_emulator: SlackEmulator, redis_client: aioredis.Redis) -> AsyncIterator[SlackDirectory]:
    state = slack_emulator.state
    state.add_user("U0ALICE", "alice", email="alice@example.com")
    state.add_user("U0ROBOT", "robot", is_bot=True)
    state.add_user("U0GONE", "gone", email="gone@example.com", deleted=True)
    state.add_user("U0NOMAIL", "nomail")
    state.add_user("U0EXT", "ext", email="ext@partner.example", team_id="T0OTHER")
    state.add_user("U0STRANGE", "strange", email="s@partner.example", is_stranger=True)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_emulator.api_url)
    yield SlackDirectory(SlackClients(client), EmailCache(redis_client, Keys()))


async def test_each_person_gets_an_email_or_a_reason(directory: SlackDirectory) -> None:
    assert await directory.person(TENANT, "U0ALICE") == Person("U0ALICE", "alice@example.com")
    assert (await directory.person(TENANT, "U0ROBOT")).problem is Skip.BOT
    gone = await directory.person(TENANT, "U0GONE")
    assert gone.problem is Skip.DEACTIVATED and gone.email == "gone@example.com"  # kept, so leaving still works
    assert await directory.person(TENANT, "U0NOMAIL") == Person("U0NOMAIL")
    assert (await directory.person(TENANT, "U0EXT")).problem is Skip.EXTERNAL
    assert (await directory.person(TENANT, "U0STRANGE")).problem is Skip.EXTERNAL
    assert (await directory.person(TENANT, "U0NOBODY")).problem is Skip.UNKNOWN_USER


async def test_cached_until_user_change(directory: SlackDirectory, slack_emulator: SlackEmulator) -> None:
    await directory.person(TENANT, "U0ALICE")
    calls = len(slack_emulator.state.calls_to("users.info"))
    slack_emulator.state.add_user("U0ALICE", "alice", email="alice@new.example")
    assert (await directory.person(TENANT, "U0ALICE")).email == "alice@example.com"  # from the cache
    assert len(slack_emulator.state.calls_to("users.info")) == calls
    await directory.forget(TENANT, "U0ALICE")  # what a user_change event does
    assert (await directory.person(TENANT, "U0ALICE")).email == "alice@new.example"
    assert await directory.email(TENANT, "U0ALICE") == "alice@new.example"  # linking reads the same cache
    assert await directory.email(TENANT, "U0GONE") == "gone@example.com"


async def test_channel_members_and_lookup(directory: SlackDirectory, slack_emulator: SlackEmulator) -> None:
    people = [f"U{i:05d}" for i in range(450)]
    slack_emulator.state.add_channel("C0BIG", "big", members=people)
    assert await directory.channel_members(TENANT, "C0BIG") == people
    assert len(slack_emulator.state.calls_to("conversations.members")) == 3  # 200 a page
    with pytest.raises(ServiceUnavailable):
        await directory.channel_members(TENANT, "C0MISSING")
    assert await directory.user_for_email(TENANT, "ALICE@example.com") == "U0ALICE"
    assert await directory.user_for_email(TENANT, "nobody@example.com") is None


async def test_emulator_members_of_a_private_channel_need_the_bot_in_it(slack_emulator: SlackEmulator) -> None:
    slack_emulator.state.add_channel("G0SECRET", "secret", is_private=True, is_member=False, members=["U1"])
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_emulator.api_url)
    with pytest.raises(SlackApiError) as hidden:
        await client.conversations_members(channel="G0SECRET")
    assert hidden.value.response["error"] == "channel_not_found"
    slack_emulator.state.join_channel("G0SECRET", "U2")
    slack_emulator.state.leave_channel("G0SECRET", "U1")
    assert slack_emulator.state.members_of("G0SECRET") == ["U2"]
