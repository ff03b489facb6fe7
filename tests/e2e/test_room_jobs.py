"""Creating a channel room is a job run at least once (issue 13): a `kill -9` after Google made the space but
before the room was stored resumes on the re-run with that space, through `python -m bot` (which is killed). A room
waiting its turn in Google's create quota: tests of the quota."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import all_text, link_google, room_cards
from tests.support.jobs import jobs_done
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually
from tests.support.write_gate import WriteGate

pytestmark = pytest.mark.e2e

ALICE = ("U0ALICE", "alice@example.com")
CHANNEL = "C0GENERAL"
ROOM_KEY = f"meetbot:{{-:T0001}}:room:{CHANNEL}"
RECOVERY = 20.0  # the job is taken over after JOB_IDLE_TIMEOUT (below); generous for a loaded CI box


@pytest.fixture
def bot_env(bot_env: dict[str, str]) -> dict[str, str]:
    """A killed bot's job is taken over after 1 s instead of the default 5 s: the wait every test here has."""
    return {**bot_env, "JOB_IDLE_TIMEOUT": "1"}


async def test_killed_after_google_made_the_room_the_rerun_stores_that_space(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
    redis_url: str, redis_client: aioredis.Redis,
) -> None:
    with WriteGate(redis_url, ROOM_KEY) as gate:  # the room's write is sent but never reaches Redis
        bot = start_bot(REDIS_URL=gate.url)
        await link_google(bot, slack_emulator, meet_emulator, *ALICE)
        meet_emulator.state.inject_fault("spaces.create", status=0, delay=1.5)  # Google is slow, then answers
        name = f"room-kill-{time.monotonic_ns()}"
        url = slack_emulator.response_url(name, channel=CHANNEL, user=ALICE[0])
        response = await bot.post(slash_command("room new", user_id=ALICE[0], channel_id=CHANNEL, response_url=url,
                                                trigger_id=slack_emulator.state.issue_trigger_id()))
        assert response.status_code == 200 and not response.content, "acked at once, the work is queued"
        eventually(gate.held.is_set, "the room's write", 10)  # Google answered; the room is on its way to Redis...
        bot.kill()  # ...and the bot dies before it lands
    assert len(meet_emulator.state.calls_to("spaces.create")) == 1
    assert await redis_client.get(ROOM_KEY) is None, "the crash left no room stored"
    start_bot()
    eventually(lambda: room_cards(slack_emulator), "the room card", RECOVERY)
    eventually(lambda: jobs_done(redis_url), "every job done", RECOVERY)  # a second card, if any, came by now
    assert len(room_cards(slack_emulator)) == 1, "exactly one room card"
    assert len(meet_emulator.state.calls_to("spaces.create")) == 1, "the re-run stored the space the first run made"
    room = json.loads(await redis_client.get(ROOM_KEY))
    card = room_cards(slack_emulator)[0]
    assert room["meeting_code"] and room["meeting_code"] in all_text(card["args"])
    assert len(slack_emulator.state.calls_to("bookmarks.add")) == 1
    told = [all_text(p["body"]) for p in slack_emulator.state.response_posts(name)]
    assert not any("changing this channel's room" in t for t in told), "the re-run took back its own lock"


async def test_killed_while_posting_the_room_card_never_posts_two(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_url: str,
) -> None:
    bot = start_bot()
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    slack_emulator.state.inject_fault("chat.postMessage", status=200, delay=1.5)  # Slack takes its time...
    name = f"room-post-{time.monotonic_ns()}"
    url = slack_emulator.response_url(name, channel=CHANNEL, user=ALICE[0])
    await bot.post(slash_command("room new", user_id=ALICE[0], channel_id=CHANNEL, response_url=url,
                                 trigger_id=slack_emulator.state.issue_trigger_id()))
    eventually(lambda: len(slack_emulator.state.calls_to("bookmarks.add")) == 1, "the bookmark", 10)
    eventually(lambda: slack_emulator.state.faults_left() == 0, "the room card on its way")
    bot.kill()  # ...and the bot dies while the room card is on its way
    start_bot()
    eventually(lambda: slack_emulator.state.response_posts(name), "the reply", RECOVERY)
    eventually(lambda: jobs_done(redis_url), "every job done", RECOVERY)
    assert len(room_cards(slack_emulator)) <= 1, "never a second room card"
    told = " ".join(all_text(p["body"]) for p in slack_emulator.state.response_posts(name))
    assert "may be missing here" in told and "/meet room" in told
    assert len(meet_emulator.state.calls_to("spaces.create")) == 1
