"""bot.core.accounts end to end below Slack: the real private Redis, the Meet/OAuth emulator, real HTTP.

Covers the round trip, every "bad input and attacks" case of issue 4, refresh (cached, single-flight in one and in
four processes, invalid_grant clean-up, outages), disconnect with revoke, and that no token is in Redis or logs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.core import accounts as accounts_module
from bot.core.accounts import Accounts, LinkOutcome
from bot.core.errors import DelegationInUse, NotLinked, ReauthRequired, ServiceUnavailable, UserFacingError
from bot.domain import Tenant
from bot.google.oauth import GoogleIdentity, GoogleOAuth, TokenGrant
from bot.googleapi.tls import shared_tls
from bot.store.connection import connect
from bot.store.crypto import TokenCipher
from bot.store.google_links import DelegatedTokenCache, GoogleLinkStore, RefreshLock
from bot.store.keys import Keys
from bot.store.oauth_state import OAuthStateStore
from tests.support.redis_server import RedisServer
from tests.unit.test_google_links import every_value

ROOT = Path(__file__).resolve().parents[2]
CREATED = "https://www.googleapis.com/auth/meetings.space.created"
READONLY = "https://www.googleapis.com/auth/meetings.space.readonly"
SCOPES = (CREATED, READONLY)
REDIRECT = "http://127.0.0.1:3000/google/oauth/callback"
TENANT = Tenant("T0001")
RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1/abc"


# Each test user's Slack profile email; a link is made only when the Google account's email is the same.
SLACK_EMAILS: dict[str, str] = {}


async def slack_email(_: Tenant, user_id: str) -> str | None:
    return SLACK_EMAILS.get(user_id)


def build(redis: aioredis.Redis, emulator: Any, http: httpx.AsyncClient, key: bytes, **kw: Any) -> Accounts:
    cipher = TokenCipher([key])
    oauth = GoogleOAuth(
        http, client_id="meetbot", client_secret="meetbot-secret", auth_url=emulator.auth_url,
        token_url=emulator.token_url, revoke_url=emulator.revoke_url, userinfo_url=emulator.userinfo_url,
        redirect_uri=REDIRECT, scopes=SCOPES,
    )
    return Accounts(
        GoogleLinkStore(redis, Keys(), cipher), OAuthStateStore(redis, Keys(), cipher), kw.pop("oauth", oauth),
        None, kw.pop("email_lookup", slack_email), RefreshLock(redis, Keys()),
        DelegatedTokenCache(redis, Keys(), cipher), SCOPES, **kw,
    )


@dataclass
class World:
    accounts: Accounts
    links: GoogleLinkStore
    redis: aioredis.Redis
    emulator: Any
    http: httpx.AsyncClient
    key: bytes

    async def authorize(self, url: str) -> dict[str, str]:
        response = await self.http.get(url, follow_redirects=False)
        assert response.status_code == 302, response.text
        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}

    async def link(self, user: str = "U1", email: str = "alice@example.com", retry: str | None = None) -> LinkOutcome:
        SLACK_EMAILS[user] = email
        url = await self.accounts.start_link(TENANT, user, RESPONSE_URL, email, retry)
        params = await self.authorize(url)
        return await self.accounts.complete_link(params.get("state"), params.get("code"), params.get("error"))

    async def expire_access(self, user: str = "U1") -> str:
        link = await self.links.get(TENANT, user)
        assert link is not None and link.access_token
        await self.links.save_access_token(TENANT, user, link.access_token, time.time() - 1)
        return link.access_token

    async def google_link_keys(self) -> list[bytes]:
        return [k async for k in self.redis.scan_iter(match=Keys().google_link_pattern())]


@pytest.fixture
async def world(redis_client: aioredis.Redis, meet_emulator: Any) -> AsyncIterator[World]:
    key = Fernet.generate_key()
    async with httpx.AsyncClient(timeout=5, verify=shared_tls()) as http:
        accounts = build(redis_client, meet_emulator, http, key)
        yield World(accounts, accounts._links, redis_client, meet_emulator, http, key)


# -- the round trip -------------------------------------------------------------------------------------------------
async def test_connect_round_trip_stores_the_link_and_the_token_works(world: World) -> None:
    outcome = await world.link(retry="new standup")
    assert outcome.ok and outcome.reason == "linked" and outcome.email == "alice@example.com"
    assert CREATED in outcome.scopes and READONLY in outcome.scopes
    assert outcome.pending is not None and outcome.pending.user_id == "U1" and outcome.pending.tenant == TENANT
    assert outcome.pending.response_url == RESPONSE_URL and outcome.pending.retry_text == "new standup"
    link = await world.accounts.describe(TENANT, "U1")
    assert link is not None and link.google_email == "alice@example.com" and link.via == "oauth"
    assert link.google_sub == world.emulator.state.user("alice@example.com")["sub"]
    assert abs(link.linked_at - time.time()) < 5
    token = await world.accounts.get_access_token(TENANT, "U1")
    assert token == link.access_token and world.emulator.state.refresh_grants == 0  # cached, not refreshed
    assert world.emulator.state.lookup_token(token)[1] == ""
    assert await world.accounts.get_access_token(TENANT, "U1") == token


async def test_authorization_url_has_pkce_login_hint_and_a_fresh_state(world: World) -> None:
    url = await world.accounts.start_link(TENANT, "U1", None, "alice@example.com")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["login_hint"] == "alice@example.com" and len(query["state"]) >= 43
    assert await world.redis.ttl(Keys().oauth_state(query["state"])) > 590


async def test_no_token_in_redis_or_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert (await world.link()).ok
    first = await world.links.get(TENANT, "U1")
    assert first is not None and first.refresh_token and first.access_token
    await world.expire_access()
    second = await world.accounts.get_access_token(TENANT, "U1")
    secrets = [first.refresh_token, first.access_token, second]
    blob = b"\n".join(await every_value(world.redis))
    for secret in secrets:
        assert secret.encode() not in blob
    world.emulator.state.revoke(first.refresh_token)
    await world.expire_access()
    with pytest.raises(ReauthRequired):
        await world.accounts.get_access_token(TENANT, "U1")
    assert (await world.link()).ok
    await world.accounts.disconnect(TENANT, "U1")
    for secret in secrets:
        assert secret not in caplog.text
    assert "linked" in caplog.text  # the test captured what the bot logs


# -- bad input and attacks --------------------------------------------------------------------------------------
async def assert_nothing_stored(world: World) -> None:
    assert await world.google_link_keys() == []


@pytest.mark.parametrize("state", [None, "", "A" * 43, "not a state", "{x}:y", "x" * 5000])
async def test_unknown_or_malformed_state(world: World, state: str | None) -> None:
    outcome = await world.accounts.complete_link(state, "4/0some-code", None)
    assert outcome == LinkOutcome(False, "bad_state")
    assert world.emulator.state.calls_to("oauth.token") == []  # the code was never even tried
    await assert_nothing_stored(world)


async def test_reused_state_is_refused(world: World) -> None:
    url = await world.accounts.start_link(TENANT, "U1", None, "alice@example.com")
    params = await world.authorize(url)
    assert (await world.accounts.complete_link(params["state"], params["code"], None)).ok
    await world.accounts.disconnect(TENANT, "U1")
    again = await world.accounts.complete_link(params["state"], params["code"], None)
    assert again.reason == "bad_state"
    await assert_nothing_stored(world)


async def test_expired_state_is_refused(world: World) -> None:
    url = await world.accounts.start_link(TENANT, "U1", None, None)
    params = await world.authorize(url)
    await world.redis.pexpire(Keys().oauth_state(params["state"]), 1)
    await asyncio.sleep(0.01)
    assert (await world.accounts.complete_link(params["state"], params["code"], None)).reason == "bad_state"
    await assert_nothing_stored(world)


async def test_a_state_links_only_the_user_it_was_issued_for(world: World) -> None:
    SLACK_EMAILS.update(U1="alice@example.com", U2="alice@example.com")
    world.emulator.state.set_consent("alice@example.com")
    mine = await world.authorize(await world.accounts.start_link(TENANT, "U1", None, None))
    theirs = await world.authorize(await world.accounts.start_link(TENANT, "U2", None, None))
    # Someone replays U2's code with U1's state: the PKCE verifier bound to U1's state doesn't fit U2's code.
    swapped = await world.accounts.complete_link(mine["state"], theirs["code"], None)
    assert (swapped.ok, swapped.reason) == (False, "exchange_failed")
    await assert_nothing_stored(world)
    # Completing U2's own state links U2 and nobody else, whoever's browser brings it back.
    outcome = await world.accounts.complete_link(theirs["state"], theirs["code"], None)
    assert outcome.ok and outcome.pending is not None and outcome.pending.user_id == "U2"
    assert await world.accounts.describe(TENANT, "U1") is None
    assert await world.accounts.describe(TENANT, "U2") is not None


async def test_missing_code(world: World) -> None:
    params = await world.authorize(await world.accounts.start_link(TENANT, "U1", None, None))
    outcome = await world.accounts.complete_link(params["state"], None, None)
    assert outcome.reason == "missing_code" and outcome.pending is not None and outcome.pending.user_id == "U1"
    await assert_nothing_stored(world)
    assert (await world.accounts.complete_link(params["state"], params["code"], None)).reason == "bad_state"


async def test_access_denied(world: World) -> None:
    world.emulator.state.set_consent("alice@example.com", deny=True)
    outcome = await world.link()
    assert (outcome.ok, outcome.reason) == (False, "denied") and outcome.pending is not None
    await assert_nothing_stored(world)
    assert await world.redis.dbsize() == 0  # the state was consumed too


@pytest.mark.parametrize(
    ("error", "reason"),
    [("access_denied", "denied"), ("temporarily_unavailable", "unavailable"), ("invalid_scope", "exchange_failed")],
)
async def test_error_on_the_callback(world: World, error: str, reason: str) -> None:
    params = await world.authorize(await world.accounts.start_link(TENANT, "U1", None, None))
    outcome = await world.accounts.complete_link(params["state"], params["code"], error)
    assert (outcome.ok, outcome.reason) == (False, reason)
    assert world.emulator.state.calls_to("oauth.token") == []  # a code that came with an error isn't used
    await assert_nothing_stored(world)


async def test_pkce_mismatch(world: World) -> None:
    first = await world.authorize(await world.accounts.start_link(TENANT, "U1", None, None))
    second = await world.authorize(await world.accounts.start_link(TENANT, "U1", None, None))
    assert (await world.accounts.complete_link(first["state"], second["code"], None)).reason == "exchange_failed"
    await assert_nothing_stored(world)


async def test_token_response_without_refresh_token(world: World) -> None:
    url = await world.accounts.start_link(TENANT, "U1", None, None)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "access_type"}  # online: no refresh token
    params = await world.authorize(parts._replace(query=urlencode(query)).geturl())
    outcome = await world.accounts.complete_link(params["state"], params["code"], None)
    assert (outcome.ok, outcome.reason) == (False, "no_refresh_token")
    await assert_nothing_stored(world)


async def test_grant_without_any_meet_scope(world: World) -> None:
    world.emulator.state.set_consent("alice@example.com", granted_scopes=["openid", "email"])
    outcome = await world.link()
    assert (outcome.ok, outcome.reason) == (False, "missing_scope") and CREATED not in outcome.scopes
    await assert_nothing_stored(world)


async def test_partial_grant_with_one_meet_scope_links_and_records_it(world: World) -> None:
    world.emulator.state.set_consent("alice@example.com", granted_scopes=[CREATED, "openid", "email"])
    outcome = await world.link()
    assert outcome.ok and CREATED in outcome.scopes and READONLY not in outcome.scopes
    link = await world.accounts.describe(TENANT, "U1")
    assert link is not None and CREATED in link.scopes and READONLY not in link.scopes


async def test_corrupt_record_reads_as_not_linked_and_disconnect_clears_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await world.link()).ok
    await world.redis.hset(Keys().google_link(TENANT, "U1"), "rt", b"gAAAAAcorrupted")
    with pytest.raises(NotLinked):
        await world.accounts.get_access_token(TENANT, "U1")
    assert await world.accounts.describe(TENANT, "U1") is None
    assert "unreadable" in caplog.text
    outcome = await world.accounts.disconnect(TENANT, "U1")
    assert outcome.was_linked and not outcome.revoked
    await assert_nothing_stored(world)


async def test_removed_key_reads_as_not_linked(world: World) -> None:
    assert (await world.link()).ok
    async with httpx.AsyncClient() as http:
        other = build(world.redis, world.emulator, http, Fernet.generate_key())
        with pytest.raises(NotLinked):
            await other.get_access_token(TENANT, "U1")
        assert await other.describe(TENANT, "U1") is None
        # Re-connecting under the new key replaces the unreadable record.
        world.accounts = other
        world.links = other._links
        assert (await world.link()).ok
        assert await other.get_access_token(TENANT, "U1")


class OwnRedis:
    """A private redis-server this test may stop and start again on the same port."""

    def __init__(self) -> None:
        self.server = RedisServer().start()
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()

    def restart(self) -> None:
        self.server.stop()
        self.server = RedisServer(port=self.server.port).start()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    yield server
    server.stop()


async def test_redis_down_mid_flow(own_redis: OwnRedis, meet_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    redis = connect(own_redis.url)
    async with httpx.AsyncClient(timeout=5) as http:
        key = Fernet.generate_key()
        world = World(build(redis, meet_emulator, http, key), None, redis, meet_emulator, http, key)  # type: ignore[arg-type]
        world.links = world.accounts._links
        assert (await world.link()).ok
        # Down while a sign-in is pending: the callback answers "unavailable", nothing crashes.
        pending = await world.authorize(await world.accounts.start_link(TENANT, "U2", None, None))
        own_redis.stop()
        assert (await world.accounts.complete_link(pending["state"], pending["code"], None)).reason == "unavailable"
        for call in (
            world.accounts.start_link(TENANT, "U1", None, None),
            world.accounts.get_access_token(TENANT, "U1"),
            world.accounts.describe(TENANT, "U1"),
            world.accounts.disconnect(TENANT, "U1"),
        ):
            with pytest.raises(ServiceUnavailable):
                await call
        own_redis.restart()
        # Down between the code exchange and the save: nothing partial, and the code isn't retried.
        oauth = world.accounts._oauth
        assert oauth is not None
        userinfo, refresh = oauth.userinfo, oauth.refresh

        async def userinfo_then_redis_dies(access_token: str) -> GoogleIdentity:
            identity = await userinfo(access_token)
            own_redis.stop()
            return identity

        monkeypatch.setattr(oauth, "userinfo", userinfo_then_redis_dies)
        outcome = await world.link("U3")
        assert (outcome.ok, outcome.reason) == (False, "unavailable")
        own_redis.restart()
        monkeypatch.setattr(oauth, "userinfo", userinfo)
        assert await world.google_link_keys() == []
        # Down in the middle of a refresh: ServiceUnavailable, then it works again once Redis is back.
        assert (await world.link()).ok
        await world.expire_access()

        async def refresh_then_redis_dies(refresh_token: str) -> TokenGrant:
            grant = await refresh(refresh_token)
            own_redis.stop()
            return grant

        monkeypatch.setattr(oauth, "refresh", refresh_then_redis_dies)
        with pytest.raises(ServiceUnavailable):
            await world.accounts.get_access_token(TENANT, "U1")
        own_redis.restart()
        monkeypatch.setattr(oauth, "refresh", refresh)
        with pytest.raises(NotLinked):  # the restarted server kept nothing (no persistence in tests)
            await world.accounts.get_access_token(TENANT, "U1")
        assert (await world.link()).ok
    await redis.aclose()


# -- refresh ----------------------------------------------------------------------------------------------------
async def test_expired_access_token_is_refreshed_once_then_cached(world: World) -> None:
    assert (await world.link()).ok
    old = await world.expire_access()
    tokens = await asyncio.gather(*(world.accounts.get_access_token(TENANT, "U1") for _ in range(50)))
    assert len(set(tokens)) == 1 and tokens[0] != old
    assert world.emulator.state.refresh_grants == 1
    link = await world.links.get(TENANT, "U1")
    assert link is not None and link.access_token == tokens[0] and link.access_expires_at is not None
    assert link.access_expires_at > time.time() + 3000
    assert await world.accounts.get_access_token(TENANT, "U1") == tokens[0]
    assert world.emulator.state.refresh_grants == 1
    assert not await world.redis.exists(Keys().google_refresh_lock(TENANT, "U1"))  # released


async def test_token_within_a_minute_of_expiry_is_refreshed(world: World) -> None:
    assert (await world.link()).ok
    link = await world.links.get(TENANT, "U1")
    assert link is not None and link.access_token
    await world.links.save_access_token(TENANT, "U1", link.access_token, time.time() + 59)
    assert await world.accounts.get_access_token(TENANT, "U1") != link.access_token
    assert world.emulator.state.refresh_grants == 1


async def test_invalid_grant_deletes_the_link_and_asks_to_reconnect(world: World) -> None:
    assert (await world.link()).ok
    link = await world.links.get(TENANT, "U1")
    assert link is not None and link.refresh_token
    world.emulator.state.revoke(link.refresh_token)  # revoked at myaccount.google.com, or the 7-day limit
    await world.expire_access()
    results = await asyncio.gather(
        *(world.accounts.get_access_token(TENANT, "U1") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, ReauthRequired) for r in results)
    assert isinstance(results[0], UserFacingError) and results[0].reason
    await assert_nothing_stored(world)
    with pytest.raises(NotLinked):
        await world.accounts.get_access_token(TENANT, "U1")


async def test_google_outage_keeps_the_link(world: World) -> None:
    assert (await world.link()).ok
    await world.expire_access()
    world.emulator.state.inject_fault("oauth.token", 502, body="<html>Bad Gateway</html>")
    with pytest.raises(ServiceUnavailable):
        await world.accounts.get_access_token(TENANT, "U1")
    assert await world.accounts.get_access_token(TENANT, "U1")  # next time it works
    assert world.emulator.state.refresh_grants == 1


async def test_unlinked_user_is_not_linked(world: World) -> None:
    with pytest.raises(NotLinked):
        await world.accounts.get_access_token(TENANT, "U9")
    assert await world.accounts.describe(TENANT, "U9") is None


async def test_waits_for_another_process_instead_of_refreshing(world: World) -> None:
    assert (await world.link()).ok
    await world.expire_access()
    await world.redis.set(Keys().google_refresh_lock(TENANT, "U1"), b"other-process", px=10_000)

    async def other_process_finishes() -> None:
        await asyncio.sleep(0.3)
        await world.links.save_access_token(TENANT, "U1", "ya29.from-the-other-process", time.time() + 3600)

    token, _ = await asyncio.gather(world.accounts.get_access_token(TENANT, "U1"), other_process_finishes())
    assert token == "ya29.from-the-other-process" and world.emulator.state.refresh_grants == 0
    assert await world.redis.get(Keys().google_refresh_lock(TENANT, "U1")) == b"other-process"  # not ours to free


async def test_takes_over_when_the_lock_holder_died(world: World) -> None:
    assert (await world.link()).ok
    await world.expire_access()
    await world.redis.set(Keys().google_refresh_lock(TENANT, "U1"), b"crashed-process", px=300)
    assert await world.accounts.get_access_token(TENANT, "U1")
    assert world.emulator.state.refresh_grants == 1


async def test_a_holder_that_died_with_a_real_lock_stalls_others_only_briefly(world: World) -> None:
    """Issue 11: a process killed while holding the refresh lock used to stall the user for 30 s and then fail."""
    assert (await world.link()).ok
    await world.expire_access()
    await world.redis.set(Keys().google_refresh_lock(TENANT, "U1"), b"killed-process", px=accounts_module.LOCK_TTL_MS)
    started = time.monotonic()
    assert await world.accounts.get_access_token(TENANT, "U1")
    assert time.monotonic() - started < accounts_module.LOCK_TTL_MS / 1000 + 1.0
    assert world.emulator.state.refresh_grants == 1


async def test_a_slow_refresh_keeps_its_lock_so_no_second_refresh_starts(world: World) -> None:
    assert (await world.link()).ok
    await world.expire_access()
    key = world.key
    world.emulator.state.set_latency(accounts_module.LOCK_TTL_MS / 1000 + 1.5)  # longer than the lock lives
    async with httpx.AsyncClient(timeout=10) as http:
        other = build(world.redis, world.emulator, http, key)  # a second process
        first, second = await asyncio.gather(world.accounts.get_access_token(TENANT, "U1"),
                                             other.get_access_token(TENANT, "U1"))
    world.emulator.state.set_latency(0)
    assert first == second and world.emulator.state.refresh_grants == 1


async def test_gives_up_after_the_wait_bound(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts_module, "WAIT_SECONDS", 0.3)
    assert (await world.link()).ok
    await world.expire_access()
    await world.redis.set(Keys().google_refresh_lock(TENANT, "U1"), b"stuck-process", px=10_000)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        await world.accounts.get_access_token(TENANT, "U1")
    assert time.monotonic() - started < 2 and world.emulator.state.refresh_grants == 0


WORKER = """
import asyncio, sys, time
import httpx
from bot.store.connection import connect
sys.path.insert(0, {tests!r})
from test_accounts import TENANT, build

async def main(emulator_url, redis_url, key, calls):
    class Emu:
        auth_url = emulator_url + "/o/oauth2/v2/auth"
        token_url = emulator_url + "/token"
        revoke_url = emulator_url + "/revoke"
        userinfo_url = emulator_url + "/v1/userinfo"
    async with httpx.AsyncClient(timeout=5) as http:
        # Three independent Accounts per process (own pools): the Redis lock, not only in-process sharing, is tested.
        instances = [build(connect(redis_url), Emu, http, key.encode()) for _ in range(3)]
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
    script.write_text(WORKER.format(tests=str(ROOT / "tests" / "core")))
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


# -- disconnect -------------------------------------------------------------------------------------------------
async def test_disconnect_revokes_then_deletes(world: World) -> None:
    assert (await world.link()).ok
    link = await world.links.get(TENANT, "U1")
    assert link is not None and link.refresh_token and link.access_token
    outcome = await world.accounts.disconnect(TENANT, "U1")
    assert outcome.was_linked and outcome.revoked
    assert link.refresh_token in world.emulator.state.revoked
    assert world.emulator.state.lookup_token(link.access_token)[1] != ""  # its access token died with it
    await assert_nothing_stored(world)
    with pytest.raises(NotLinked):
        await world.accounts.get_access_token(TENANT, "U1")


async def test_disconnect_deletes_even_when_revocation_fails(world: World) -> None:
    assert (await world.link()).ok
    world.emulator.state.inject_fault("oauth.revoke", 503)
    outcome = await world.accounts.disconnect(TENANT, "U1")
    assert outcome.was_linked and not outcome.revoked
    await assert_nothing_stored(world)


async def test_disconnect_when_not_linked(world: World) -> None:
    assert await world.accounts.disconnect(TENANT, "U1") == accounts_module.DisconnectOutcome(False, False)
    assert world.emulator.state.calls_to("oauth.revoke") == []


async def test_relinking_replaces_the_link(world: World) -> None:
    assert (await world.link()).ok
    world.emulator.state.set_consent("bob@example.com")
    outcome = await world.link(email="alice@example.com")  # Slack says alice@, but bob@ consents
    assert (outcome.ok, outcome.reason, outcome.slack_email) == (False, "email_mismatch", "alice@example.com")
    link = await world.accounts.describe(TENANT, "U1")
    assert link is not None and link.google_email == "alice@example.com", "the old link stays"
    world.emulator.state.set_consent("alice@example.com")
    assert (await world.link()).ok


async def test_start_link_is_refused_under_delegation(world: World) -> None:
    accounts = Accounts(
        world.links, world.accounts._states, None, object(), None, RefreshLock(world.redis, Keys()),  # type: ignore[arg-type]
        DelegatedTokenCache(world.redis, Keys(), world.links.cipher), SCOPES,
    )
    with pytest.raises(DelegationInUse) as caught:
        await accounts.start_link(TENANT, "U1", None, None)
    assert "delegation" in caught.value.reason

