"""Sealed job payloads (issue 22 #5), against a real redis-server: someone with write access to Redis but no key
can't make one person's queued job run under another's id, and the person whose job can't be opened is told."""

from __future__ import annotations

import time

import aiohttp
import pytest
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.jobs.queue import JobQueue, Payload
from bot.jobs.sealed import SEAL_TTL, Unopenable, open_sealed, seal
from bot.slack.clients import SlackClients
from bot.slack.unopened import UNOPENED_TEXT, job_notice, unopened_teller
from bot.store.crypto import TokenCipher
from emulators.slack import SlackEmulator
from tests.conftest import BOT_TOKEN
from tests.support.waits import eventually_async


async def task_key(redis_client: aioredis.Redis, job_id: str) -> bytes:
    (key,) = [k for k in await redis_client.keys("*task*") if k.endswith(job_id.encode())]
    return bytes(key)


async def test_alices_end_copied_over_bobs_status_ends_nothing_and_bob_is_told(
        redis_url: str, redis_client: aioredis.Redis, encryption_key: str) -> None:
    ran: list[tuple[str, Payload]] = []
    told: list[Payload] = []
    queue = JobQueue(redis_url, cipher=TokenCipher([encryption_key.encode()]), concurrency=2)

    @queue.job("meet.end")
    async def end(payload: Payload) -> None:
        ran.append(("end", payload))

    @queue.job("meet.status")
    async def status(payload: Payload) -> None:
        ran.append(("status", payload))

    async def tell(notice: Payload) -> None:
        told.append(notice)

    queue.on_unopened(tell)
    await queue.enqueue("meet.status", {"user": "U0BOB", "text": "status abc"}, "cmd-bob",
                        notice={"user": "U0BOB", "response_url": "https://hooks.slack.test/bob"})
    await queue.enqueue("meet.end", {"user": "U0ALICE", "text": "end abc"}, "cmd-alice",
                        notice={"user": "U0ALICE", "response_url": "https://hooks.slack.test/alice"})
    # Mallory can write to Redis but holds no key: Alice's sealed record goes over Bob's, and Alice's own is gone.
    alice, bob = await task_key(redis_client, "cmd-alice"), await task_key(redis_client, "cmd-bob")
    await redis_client.set(bob, await redis_client.get(alice) or b"")
    await redis_client.delete(alice)
    queue.start()
    try:
        await eventually_async(lambda: told, "Bob to be told his request couldn't be run")
    finally:
        await queue.stop(1.0)
    assert ran == [], "a job ran from a record sealed for another job"
    assert told == [{"user": "U0BOB", "response_url": "https://hooks.slack.test/bob"}]


def test_a_sealed_payload_opens_only_as_its_own_job_and_kind_and_only_while_fresh(encryption_key: str) -> None:
    cipher = TokenCipher([encryption_key.encode()])
    sealed = seal(cipher, "cmd-alice", "meet.end", {"text": "end abc"})
    assert "end abc" not in sealed
    assert open_sealed(cipher, sealed, "cmd-alice", "meet.end") == {"text": "end abc"}
    for job_id, kind in (("cmd-bob", "meet.end"), ("cmd-alice", "meet.status")):
        with pytest.raises(Unopenable, match="another job"):
            open_sealed(cipher, sealed, job_id, kind)
    with pytest.raises(Unopenable, match="time to live"):
        open_sealed(cipher, sealed, "cmd-alice", "meet.end", now=time.time() + SEAL_TTL + 60)
    with pytest.raises(Unopenable, match="not a sealed payload"):
        open_sealed(cipher, {"text": "end abc"}, "cmd-alice", "meet.end")  # a record from before sealing


async def test_the_person_is_told_in_plain_words_through_their_reply_or_a_dm(slack_emulator: SlackEmulator) -> None:
    url = slack_emulator.response_url("bob-status", channel="C0GENERAL", user="U0BOB")
    base = AsyncWebClient(token=BOT_TOKEN, base_url=slack_emulator.api_url)
    async with aiohttp.ClientSession() as session:
        tell = unopened_teller(SlackClients(base), session)
        await tell(job_notice("T0001", None, "U0BOB", url) or {})
        await tell(job_notice("T0001", None, "U0CAROL", None) or {})  # a modal's job: no response_url
    (reply,) = await slack_emulator.state.wait_for_response_posts("bob-status", 1, timeout=5)
    assert reply["body"]["text"] == UNOPENED_TEXT and reply["body"]["response_type"] == "ephemeral"
    (dm,) = slack_emulator.state.calls_to("chat.postMessage")
    assert dm["args"]["channel"] == "U0CAROL" and dm["args"]["text"] == UNOPENED_TEXT
    assert job_notice("T0001", None, None, None) is None
