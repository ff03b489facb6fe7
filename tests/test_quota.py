"""The spaces.create token bucket (bot/store/quota.py) on a real Redis, shared by clients as processes share it;
and the Meet emulator's create quotas it paces against."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import redis.asyncio as aioredis

from bot.store.keys import Keys
from bot.store.quota import BURST, PER_MINUTE, CreateBucket
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import all_text, link_google
from tests.support.slack_requests import slash_command

INTERVAL = 60 / (PER_MINUTE - BURST)


async def test_a_burst_goes_at_once_then_creates_are_paced_and_queued_in_order(redis_url: str) -> None:
    first, second = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    keys = Keys(prefix="quota-test")
    try:
        a, b = CreateBucket(first, keys), CreateBucket(second, keys)  # two processes, one bucket
        waits = [await (a if n % 2 else b).reserve() for n in range(BURST + 5)]
        assert waits[:BURST] == [0.0] * BURST
        queued = waits[BURST:]
        assert queued == sorted(queued), "each reservation waits behind the one before"
        for n, wait in enumerate(queued, start=1):
            assert wait == pytest.approx(n * INTERVAL, abs=0.1)
        # no minute ever holds more than the quota: the burst, then one per interval
        assert pytest.approx(PER_MINUTE) == BURST + 60 / INTERVAL
    finally:
        await first.aclose()
        await second.aclose()


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


async def test_a_burst_of_creates_is_queued_and_each_user_told_when(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    """BURST + 3 creates at once: Google is never asked past the bucket, the waiting ones are told "queued, about
    N seconds" at once, and every meeting comes."""
    await link_google(bot, slack_emulator, meet_emulator, "U0ALICE", "alice@example.com")
    count = BURST + 3
    for n in range(count):
        url = slack_emulator.response_url(f"burst-{n}", channel="C0GENERAL", user="U0ALICE")
        await bot.post(slash_command(f"new burst-{n}", response_url=url,
                                     trigger_id=slack_emulator.state.issue_trigger_id()))
    deadline = time.monotonic() + 20
    posts = slack_emulator.state.calls_to
    while len([c for c in posts("chat.postMessage") if "burst-" in all_text(c["args"])]) < count:
        assert time.monotonic() < deadline, "every meeting comes"
        await asyncio.sleep(0.1)
    told = [all_text(p["body"]) for n in range(count) for p in slack_emulator.state.response_posts(f"burst-{n}")]
    queued = [t for t in told if "queued" in t]
    assert len(queued) >= 2 and all("in about" in t and "second" in t for t in queued), told
    assert all(c["status"] == 200 for c in meet_emulator.state.calls_to("spaces.create"))
    assert len(meet_emulator.state.calls_to("spaces.create")) == count
