"""The spaces.create quota reservation (bot/store/quota.py) on a real Redis, shared by clients as processes share
it; the Meet emulator's create quotas it paces against; and a burst through the bot (meetings, and a room), queued
and told when."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from bot.domain import Tenant
from bot.store.keys import Keys
from bot.store.quota import PER_MINUTE, WINDOW, CreateQuota, WriteQuota
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import all_text, block_action, link_google, room_cards
from tests.support.jobs import jobs_done
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually, eventually_async
from tests.support.world import ALICE, CHANNEL


async def test_a_minute_of_creates_goes_at_once_and_the_rest_wait_their_slot_in_order(redis_url: str) -> None:
    first, second = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    keys = Keys(prefix="quota-test")
    try:
        a, b = CreateQuota(first, keys), CreateQuota(second, keys)  # two processes, one quota
        waits = [await (a if n % 2 else b).reserve() for n in range(PER_MINUTE + 5)]
        assert waits[:PER_MINUTE] == [0.0] * PER_MINUTE
        assert all(w == pytest.approx(WINDOW, abs=1.0) for w in waits[PER_MINUTE:]), "when the minute's first leaves"
    finally:
        await first.aclose()
        await second.aclose()


async def test_slots_follow_the_window_not_a_fixed_rate(redis_url: str) -> None:
    """Three a minute: the fourth waits for the first to leave the window, the seventh for the fourth."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        quota = CreateQuota(client, Keys(prefix="quota-window"), per_minute=3, window=1.0)
        waits = [await quota.reserve() for _ in range(7)]
        assert waits[:3] == [0.0] * 3
        assert all(w == pytest.approx(1.0, abs=0.2) for w in waits[3:6])
        assert waits[6] == pytest.approx(2.0, abs=0.3)
    finally:
        await client.aclose()


async def test_the_emulator_refuses_creates_past_its_project_quota(meet_emulator: MeetEmulator) -> None:
    meet_emulator.state.configure(create_quota_per_project=2)
    token = meet_emulator.state.mint_token("quota@example.com", ["meetings.space.created"])
    async with httpx.AsyncClient(base_url=meet_emulator.url) as client:
        answers = [await client.post("/v2/spaces", json={}, headers={"Authorization": f"Bearer {token}"})
                   for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


@pytest.mark.in_process
async def test_creates_past_the_quota_are_queued_and_each_user_told_when(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_client: aioredis.Redis
) -> None:
    """The minute is almost full (earlier creates, by any process): the next ones are told at once "queued, about
    N seconds", Google is never asked past its quota, and every meeting comes when its slot does."""
    await link_google(bot, slack_emulator, meet_emulator, "U0ALICE", "alice@example.com")
    seconds, micros = await redis_client.time()
    earlier = seconds + micros / 1e6 - WINDOW + 3  # a full minute of slots, the oldest leaving in 3 s
    await redis_client.rpush(Keys().create_quota(), *[f"{earlier + n * 0.01:.6f}" for n in range(PER_MINUTE)])
    count = 3
    for n in range(count):
        url = slack_emulator.response_url(f"burst-{n}", channel="C0GENERAL", user="U0ALICE")
        await bot.post(slash_command(f"new burst-{n}", response_url=url,
                                     trigger_id=slack_emulator.state.issue_trigger_id()))

    def cards() -> list[dict[str, Any]]:
        return [c for c in slack_emulator.state.calls_to("chat.postMessage") if "burst-" in all_text(c["args"])]

    await eventually_async(lambda: len(cards()) >= count, "every meeting's card", 20)
    told = [all_text(p["body"]) for n in range(count) for p in slack_emulator.state.response_posts(f"burst-{n}")]
    queued = [t for t in told if "queued" in t]
    assert len(queued) == count and all("in about 3 seconds" in t or "in about 2 seconds" in t for t in queued), told
    assert [c["status"] for c in meet_emulator.state.calls_to("spaces.create")] == [200] * count


async def test_each_users_writes_share_one_window_across_processes(redis_client: aioredis.Redis) -> None:
    """Two processes' pacers (two WriteQuota objects, one Redis) together keep one owner within Google's per-user
    write quota; another owner has a window of their own."""
    team = Tenant("T0001")
    here, there = WriteQuota(redis_client, Keys(), per_minute=4, window=2.0), WriteQuota(redis_client, Keys(),
                                                                                        per_minute=4, window=2.0)
    waits = [await (here if n % 2 else there).reserve(team, "U0ALICE") for n in range(6)]
    assert waits[:4] == [0.0] * 4 and all(1.5 < w <= 2.0 for w in waits[4:]), waits
    assert await here.reserve(team, "U0BOB") == 0.0


@pytest.mark.in_process
async def test_a_room_waiting_its_turn_in_the_create_quota_is_told_and_made_once(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_client: aioredis.Redis,
    redis_url: str,
) -> None:
    """The minute's creates are spent (earlier creates, by any process): the "Create a room" click is told at
    once that its room is queued and about when, Google is not asked before the slot, and the room comes once."""
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    meet_emulator.state.configure(create_quota_per_project=1)  # a create past Google's quota would be refused
    seconds, micros = await redis_client.time()
    earlier = seconds + micros / 1e6 - WINDOW + 3  # a full minute of slots, the oldest leaving in 3 s
    await redis_client.rpush(Keys().create_quota(), *[f"{earlier + n * 0.01:.6f}" for n in range(PER_MINUTE)])
    name = f"room-quota-{time.monotonic_ns()}"
    url = slack_emulator.response_url(name, channel=CHANNEL, user=ALICE[0])
    clicked = time.monotonic()
    response = await bot.post(block_action("meet_room_new", "", user_id=ALICE[0], channel=CHANNEL,
                                           message_ts=None, response_url=url))
    assert response.status_code == 200
    eventually(lambda: slack_emulator.state.response_posts(name), "the queued notice", 5)
    told = all_text(slack_emulator.state.response_posts(name)[0]["body"])
    assert "your room is queued" in told and ("in about 3 seconds" in told or "in about 2 seconds" in told), told
    assert not meet_emulator.state.calls_to("spaces.create"), "Google is not asked before the slot"
    eventually(lambda: room_cards(slack_emulator), "the room card", 15)
    assert time.monotonic() - clicked >= 2.0, "the room came when its slot did"
    eventually(lambda: jobs_done(redis_url), "every job done")
    assert len(room_cards(slack_emulator)) == 1
    assert [c["status"] for c in meet_emulator.state.calls_to("spaces.create")] == [200]
    assert len(slack_emulator.state.response_posts(name)) == 1, "told once"
    assert await redis_client.get(f"meetbot:{{-:T0001}}:room:{CHANNEL}") is not None
