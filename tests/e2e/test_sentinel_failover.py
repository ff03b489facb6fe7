"""No acknowledged write is lost when Sentinel fails over (issue 22, item 8): pending sign-ins (the OAuth state of a
link already handed to a user) are issued at a steady rate through the store while the sentinels fail over,
gracefully (SENTINEL FAILOVER) or because the master was killed -9. Every issue that returned a state must be
readable on the new master afterwards; an issue that failed told its caller so (StorageUnavailable), which is fine.
Real master, replicas and three sentinels on loopback ports, started and stopped here; bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.domain import PendingLink, Tenant
from bot.errors import StorageUnavailable
from bot.store.connection import connect
from bot.store.crypto import TokenCipher
from bot.store.keys import Keys
from bot.store.oauth_state import OAuthStateStore
from tests.support.redis_topology import SentinelSet

pytestmark = pytest.mark.e2e

EVERY = 0.02  # seconds between issues: 50 a second, well past the 5 a second of the red-team run
AFTER = 20  # states issued on the new master before the writer stops: writes came back by themselves
WITHIN = 45.0


async def _issue_through(topology: SentinelSet, disrupt: Callable[[], int]) -> tuple[list[str], int, int]:
    """(states acknowledged, issues refused, the new master's port)."""
    client = connect("redis://127.0.0.1:1/0", mode="sentinel",
                     sentinels=tuple(("127.0.0.1", p) for p in topology.sentinel_ports),
                     sentinel_master=SentinelSet.MASTER)
    store = OAuthStateStore(client, Keys(), TokenCipher([Fernet.generate_key()]))
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
                acked.append(await store.issue(PendingLink(Tenant("T1"), f"U{n}", "v" * 43, None, time.time())))
                after += failed_over.is_set()
            except StorageUnavailable:
                refused += 1
            await asyncio.sleep(EVERY)

    try:
        task = asyncio.create_task(writer())
        while len(acked) < 20:  # the writer is under way on the first master  # noqa: ASYNC110
            await asyncio.sleep(EVERY)
        new = await asyncio.to_thread(disrupt)
        failed_over.set()
        await task
    finally:
        await client.aclose()
    return acked, refused, new


async def _missing_on(port: int, states: list[str]) -> list[str]:
    master = aioredis.Redis(port=port)
    try:
        return [s for s in states if not await master.exists(Keys().oauth_state(s))]
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
