"""bot.core.credentials end to end below Slack: the real private Redis, the Meet/OAuth emulator, real HTTP.

Covers refresh (cached, single-flight in one and in four processes, invalid_grant clean-up, outages, the lock's
bounds) and that no token is in Redis or logs. Linking is tests/core/test_linking.py; delegation's tokens are
tests/unit/test_delegation.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from bot.core import credentials as credentials_module
from bot.core.errors import NotLinked, ReauthRequired, ServiceUnavailable, UserFacingError
from bot.store.keys import Keys
from tests.support.google_accounts import CREATED, READONLY, TENANT, World, assert_nothing_stored, build, open_world
from tests.unit.test_google_links import every_value

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def world(redis_client: aioredis.Redis, meet_emulator: Any) -> AsyncIterator[World]:
    async with open_world(redis_client, meet_emulator) as opened:
        yield opened


async def test_no_token_in_redis_or_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert (await world.link()).ok
    first = await world.links.get(TENANT, "U1")
    assert first is not None and first.refresh_token and first.access_token
    await world.expire_access()
    second = await world.credentials.get_access_token(TENANT, "U1")
    secrets = [first.refresh_token, first.access_token, second]
    blob = b"\n".join(await every_value(world.redis))
    for secret in secrets:
        assert secret.encode() not in blob
    world.emulator.state.revoke(first.refresh_token)
    await world.expire_access()
    with pytest.raises(ReauthRequired):
        await world.credentials.get_access_token(TENANT, "U1")
    assert (await world.link()).ok
    await world.linking.disconnect(TENANT, "U1")
    for secret in secrets:
        assert secret not in caplog.text
    assert "linked" in caplog.text  # the test captured what the bot logs


# -- refresh ----------------------------------------------------------------------------------------------------
async def test_expired_access_token_is_refreshed_once_then_cached(world: World) -> None:
    assert (await world.link()).ok
    old = await world.expire_access()
    tokens = await asyncio.gather(*(world.credentials.get_access_token(TENANT, "U1") for _ in range(50)))
    assert len(set(tokens)) == 1 and tokens[0] != old
    assert world.emulator.state.refresh_grants == 1
    link = await world.links.get(TENANT, "U1")
    assert link is not None and link.access_token == tokens[0] and link.access_expires_at is not None
    assert link.access_expires_at > time.time() + 3000
    assert await world.credentials.get_access_token(TENANT, "U1") == tokens[0]
    assert world.emulator.state.refresh_grants == 1
    assert not await world.redis.exists(Keys().google_refresh_lock(TENANT, "U1"))  # released


async def test_token_within_a_minute_of_expiry_is_refreshed(world: World) -> None:
    assert (await world.link()).ok
    link = await world.links.get(TENANT, "U1")
    assert link is not None and link.access_token
    await world.links.save_access_token(TENANT, "U1", link.access_token, time.time() + 59)
    assert await world.credentials.get_access_token(TENANT, "U1") != link.access_token
    assert world.emulator.state.refresh_grants == 1


async def test_invalid_grant_deletes_the_link_and_asks_to_reconnect(world: World) -> None:
    assert (await world.link()).ok
    link = await world.links.get(TENANT, "U1")
    assert link is not None and link.refresh_token
    world.emulator.state.revoke(link.refresh_token)  # revoked at myaccount.google.com, or the 7-day limit
    await world.expire_access()
    results = await asyncio.gather(
        *(world.credentials.get_access_token(TENANT, "U1") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, ReauthRequired) for r in results)
    assert isinstance(results[0], UserFacingError) and results[0].reason
    await assert_nothing_stored(world)
    with pytest.raises(NotLinked):
        await world.credentials.get_access_token(TENANT, "U1")


async def test_google_outage_keeps_the_link(world: World) -> None:
    assert (await world.link()).ok
    await world.expire_access()
    world.emulator.state.inject_fault("oauth.token", 502, body="<html>Bad Gateway</html>")
    with pytest.raises(ServiceUnavailable):
        await world.credentials.get_access_token(TENANT, "U1")
    assert await world.credentials.get_access_token(TENANT, "U1")  # next time it works
    assert world.emulator.state.refresh_grants == 1


async def test_unlinked_user_is_not_linked(world: World) -> None:
    with pytest.raises(NotLinked):
        await world.credentials.get_access_token(TENANT, "U9")
    assert await world.linking.describe(TENANT, "U9") is None


async def test_granted_scopes_are_the_links(world: World) -> None:
    assert await world.credentials.granted_scopes(TENANT, "U1") == ()
    world.emulator.state.set_consent("alice@example.com", granted_scopes=[CREATED, "openid", "email"])
    assert (await world.link()).ok
    link = await world.linking.describe(TENANT, "U1")
    assert link is not None and await world.credentials.granted_scopes(TENANT, "U1") == link.scopes
    assert CREATED in link.scopes and READONLY not in link.scopes


async def test_waits_for_another_process_instead_of_refreshing(world: World) -> None:
    assert (await world.link()).ok
    await world.expire_access()
    await world.redis.set(Keys().google_refresh_lock(TENANT, "U1"), b"other-process", px=10_000)

    async def other_process_finishes() -> None:
        await asyncio.sleep(0.3)
        await world.links.save_access_token(TENANT, "U1", "ya29.from-the-other-process", time.time() + 3600)

    token, _ = await asyncio.gather(world.credentials.get_access_token(TENANT, "U1"), other_process_finishes())
    assert token == "ya29.from-the-other-process" and world.emulator.state.refresh_grants == 0
    assert await world.redis.get(Keys().google_refresh_lock(TENANT, "U1")) == b"other-process"  # not ours to free


async def test_takes_over_when_the_lock_holder_died(world: World) -> None:
    assert (await world.link()).ok
    await world.expire_access()
    await world.redis.set(Keys().google_refresh_lock(TENANT, "U1"), b"crashed-process", px=300)
    assert await world.credentials.get_access_token(TENANT, "U1")
    assert world.emulator.state.refresh_grants == 1


async def test_a_holder_that_died_with_a_real_lock_stalls_others_only_briefly(world: World) -> None:
    """Issue 11: a process killed while holding the refresh lock used to stall the user for 30 s and then fail."""
    assert (await world.link()).ok
    await world.expire_access()
    await world.redis.set(Keys().google_refresh_lock(TENANT, "U1"), b"killed-process",
                          px=credentials_module.LOCK_TTL_MS)
    started = time.monotonic()
    assert await world.credentials.get_access_token(TENANT, "U1")
    assert time.monotonic() - started < credentials_module.LOCK_TTL_MS / 1000 + 1.0
    assert world.emulator.state.refresh_grants == 1


async def test_a_slow_refresh_keeps_its_lock_so_no_second_refresh_starts(world: World) -> None:
    assert (await world.link()).ok
    await world.expire_access()
    key = world.key
    world.emulator.state.set_latency(credentials_module.LOCK_TTL_MS / 1000 + 1.5)  # longer than the lock lives
    async with httpx.AsyncClient(timeout=10) as http:
        _, other = build(world.redis, world.emulator, http, key)  # a second process
        first, second = await asyncio.gather(world.credentials.get_access_token(TENANT, "U1"),
                                             other.get_access_token(TENANT, "U1"))
    world.emulator.state.set_latency(0)
    assert first == second and world.emulator.state.refresh_grants == 1


async def test_gives_up_after_the_wait_bound(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials_module, "WAIT_SECONDS", 0.3)
    assert (await world.link()).ok
    await world.expire_access()
    await world.redis.set(Keys().google_refresh_lock(TENANT, "U1"), b"stuck-process", px=10_000)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        await world.credentials.get_access_token(TENANT, "U1")
    assert time.monotonic() - started < 2 and world.emulator.state.refresh_grants == 0


WORKER = """
import asyncio, sys, time
import httpx
from bot.store.connection import connect
from tests.support.google_accounts import TENANT, build

async def main(emulator_url, redis_url, key, calls):
    class Emu:
        auth_url = emulator_url + "/o/oauth2/v2/auth"
        token_url = emulator_url + "/token"
        revoke_url = emulator_url + "/revoke"
        userinfo_url = emulator_url + "/v1/userinfo"
    async with httpx.AsyncClient(timeout=5) as http:
        # Three independent Credentials per process (own pools): the Redis lock is tested, not only in-process sharing.
        instances = [build(connect(redis_url), Emu, http, key.encode())[1] for _ in range(3)]
        print("ready", flush=True)
        sys.stdin.readline()
        tokens = await asyncio.gather(*(instances[i % 3].get_access_token(TENANT, "U1") for i in range(calls)))
        print(" ".join(sorted(set(tokens))), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


async def test_single_flight_across_four_processes(world: World, redis_url: str, tmp_path: Path) -> None:
    assert (await world.link()).ok
    old = await world.expire_access()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    calls = [13, 13, 12, 12]  # 50 in all
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(script), world.emulator.url, redis_url, world.key.decode(), str(n),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
        )
        for n in calls
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert (await asyncio.wait_for(proc.stdout.readline(), 20)).strip() == b"ready"
        for proc in procs:  # all at once
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        outputs = [await asyncio.wait_for(proc.communicate(), 20) for proc in procs]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
    tokens = {line for out, _ in outputs for line in out.decode().split()}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(tokens) == 1 and old not in tokens
    assert world.emulator.state.refresh_grants == 1
