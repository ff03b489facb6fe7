"""No acknowledged write is lost when Sentinel fails over (issue 22, item 8): pending sign-ins (the OAuth state of a
link already handed to a user) are issued, and jobs (the work an ack promised) are enqueued, at a steady rate while
the sentinels fail over, gracefully (SENTINEL FAILOVER) or because the master was killed -9. Every write that returned
must be on the new master afterwards; a write that failed told its caller so (StorageUnavailable), which is fine.
Real master, replicas and three sentinels on loopback ports, started and stopped here; bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.domain import Card, PendingLink, SpaceInfo, Tenant
from bot.errors import StorageUnavailable
from bot.jobs.queue import QUEUE, JobQueue
from bot.store.connection import connect
from bot.store.crypto import TokenCipher
from bot.store.keys import Keys
from bot.store.oauth_state import OAuthStateStore
from bot.store.replication import Replicas
from bot.store.spaces import SpaceRecords
from tests.support.redis_topology import SentinelSet
from tests.support.waits import eventually_async

pytestmark = pytest.mark.e2e

EVERY = 0.02  # seconds between issues: 50 a second, well past the 5 a second of the red-team run
AFTER = 20  # states issued on the new master before the writer stops: writes came back by themselves
WITHIN = 45.0


Write = Callable[[int], Awaitable[str]]  # the n-th write; what to look for on the new master afterwards


def _sentinel_client(topology: SentinelSet) -> aioredis.Redis:
    return connect("redis://127.0.0.1:1/0", mode="sentinel",
                   sentinels=tuple(("127.0.0.1", p) for p in topology.sentinel_ports),
                   sentinel_master=SentinelSet.MASTER)


async def _write_through(write: Write, disrupt: Callable[[], int]) -> tuple[list[str], int, int]:
    """Writes at a steady rate across the disruption: (keys of writes acknowledged, writes refused, the new
    master's port)."""
    acked: list[str] = []
    refused = 0
    failed_over = asyncio.Event()
    after = 0

    async def writer() -> None:
        nonlocal refused, after
        deadline = time.monotonic() + WITHIN
        n = 0
        while after < AFTER and time.monotonic() < deadline:
            n += 1
            try:
                acked.append(await write(n))
                after += failed_over.is_set()
            except StorageUnavailable:
                refused += 1
            await asyncio.sleep(EVERY)

    task = asyncio.create_task(writer())
    await eventually_async(lambda: len(acked) >= 20, "the writer under way on the first master", WITHIN, every=EVERY)
    new = await asyncio.to_thread(disrupt)
    failed_over.set()
    await task
    return acked, refused, new


async def _issue_through(topology: SentinelSet, disrupt: Callable[[], int]) -> tuple[list[str], int, int]:
    """OAuth states: keys of states acknowledged, issues refused, the new master's port."""
    client = _sentinel_client(topology)
    store = OAuthStateStore(client, Keys(), TokenCipher([Fernet.generate_key()]))

    async def issue(n: int) -> str:
        return Keys().oauth_state(await store.issue(PendingLink(Tenant("T1"), f"U{n}", "v" * 43, None, time.time())))

    try:
        return await _write_through(issue, disrupt)
    finally:
        await client.aclose()


async def _remember_through(topology: SentinelSet, disrupt: Callable[[], int]) -> tuple[list[str], int, int]:
    """Meetings posted on a card (what keeps the card followed): their records' keys, writes refused, the new
    master's port."""
    client = _sentinel_client(topology)
    spaces = SpaceRecords(client, Keys())

    async def remember(n: int) -> str:
        info = SpaceInfo(f"spaces/s{n}", f"abc-defg-{n:03}", None, "U1", "Standup")
        await spaces.remember_created(Tenant("T1"), info, Card("C1", f"{n}.0"))
        return Keys().cards(Tenant("T1"), f"s{n}")

    try:
        return await _write_through(remember, disrupt)
    finally:
        await client.aclose()


async def _enqueue_through(topology: SentinelSet, disrupt: Callable[[], int]) -> tuple[list[str], int, int]:
    """Jobs, as the ack path enqueues them (nothing runs them here): their task keys, enqueues refused, the new
    master's port."""
    client = _sentinel_client(topology)
    queue = JobQueue("redis://127.0.0.1:1/0", mode="sentinel",
                     sentinels=tuple(("127.0.0.1", p) for p in topology.sentinel_ports),
                     sentinel_master=SentinelSet.MASTER, cipher=TokenCipher([Fernet.generate_key()]),
                     replicas=Replicas(client))

    @queue.job("noop")
    async def noop(payload: dict[str, object]) -> None:  # never run: only the enqueue is under test
        raise AssertionError(payload)

    async def enqueue(n: int) -> str:
        await queue.enqueue("noop", {"n": n}, f"job-{n}")
        return f"streaq:{QUEUE}:task:data:job-{n}"

    try:
        return await _write_through(enqueue, disrupt)
    finally:
        await queue.stop(0)
        await client.aclose()


async def _missing_on(port: int, keys: list[str]) -> list[str]:
    master = aioredis.Redis(port=port)
    try:
        return [k for k in keys if not await master.exists(k)]
    finally:
        await master.aclose()


async def test_a_graceful_failover_loses_no_acknowledged_write() -> None:
    """Old code kept writing to the old master on its pooled connections until it was demoted and resynced:
    53 of 81 states handed out were gone. Here the old master is not told to refuse (no min-replicas-to-write):
    the bot alone must not count a write the promoted replica never got."""
    topology = SentinelSet().start()
    try:
        acked, refused, new = await _issue_through(topology, topology.failover)
        assert await _missing_on(new, acked) == [], f"{len(acked)} acknowledged, {refused} refused"
        assert len(acked) >= 20 + AFTER
    finally:
        topology.stop()


async def test_a_graceful_failover_loses_no_posted_card() -> None:
    """A card whose record the promoted replica never got would never be followed again."""
    topology = SentinelSet().start()
    try:
        acked, refused, new = await _remember_through(topology, topology.failover)
        assert await _missing_on(new, acked) == [], f"{len(acked)} acknowledged, {refused} refused"
        assert len(acked) >= 20 + AFTER
    finally:
        topology.stop()


async def test_a_graceful_failover_loses_no_acknowledged_job() -> None:
    """The job queue talks to Redis through its own client (coredis): before, an enqueue counted once the old
    master took it, whether or not the promoted replica ever got it."""
    topology = SentinelSet().start()
    try:
        acked, refused, new = await _enqueue_through(topology, topology.failover)
        assert await _missing_on(new, acked) == [], f"{len(acked)} acknowledged, {refused} refused"
        assert len(acked) >= 20 + AFTER
    finally:
        topology.stop()


async def test_a_master_killed_mid_write_loses_no_acknowledged_write() -> None:
    """kill -9 of the master, with two replicas and min-replicas-to-write 1 as the README says: writes the dead
    master confirmed were on a replica, the one the sentinels promote, and writes resume once the other replica
    follows the new master (a master refusing for want of a replica, NOREPLICAS, is "unavailable", not a bug)."""
    topology = SentinelSet(replicas=2, min_replicas=1).start()
    try:
        acked, refused, new = await _issue_through(topology, topology.kill_master)
        assert await _missing_on(new, acked) == [], f"{len(acked)} acknowledged, {refused} refused"
        assert len(acked) >= 20 + AFTER
    finally:
        topology.stop()


async def test_a_master_killed_mid_enqueue_loses_no_acknowledged_job() -> None:
    topology = SentinelSet(replicas=2, min_replicas=1).start()
    try:
        acked, refused, new = await _enqueue_through(topology, topology.kill_master)
        assert await _missing_on(new, acked) == [], f"{len(acked)} acknowledged, {refused} refused"
        assert len(acked) >= 20 + AFTER
    finally:
        topology.stop()
