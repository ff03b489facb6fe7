"""bot.core.linking end to end below Slack: the real private Redis, the Meet/OAuth emulator, real HTTP.

Covers the round trip, every "bad input and attacks" case of issue 4, Redis going down mid-flow, and disconnect with
revoke. The tokens a link yields (refresh, single-flight, no token in Redis or logs) are tests/core/test_credentials.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.core.errors import DelegationInUse, NotLinked, ServiceUnavailable
from bot.core.linking import DisconnectOutcome, Linking, LinkOutcome
from bot.google.oauth import GoogleIdentity, TokenGrant
from bot.store.connection import connect
from bot.store.keys import Keys
from tests.support.google_accounts import (
    CREATED,
    READONLY,
    RESPONSE_URL,
    SCOPES,
    SLACK_EMAILS,
    TENANT,
    World,
    assert_nothing_stored,
    open_world,
    world_of,
)
from tests.support.redis_server import RedisServer


@pytest.fixture
async def world(redis_client: aioredis.Redis, meet_emulator: Any) -> AsyncIterator[World]:
    async with open_world(redis_client, meet_emulator) as opened:
        yield opened


# -- the round trip -------------------------------------------------------------------------------------------------
async def test_connect_round_trip_stores_the_link_and_the_token_works(world: World) -> None:
    outcome = await world.link(retry="new standup")
    assert outcome.ok and outcome.reason == "linked" and outcome.email == "alice@example.com"
    assert CREATED in outcome.scopes and READONLY in outcome.scopes
    assert outcome.pending is not None and outcome.pending.user_id == "U1" and outcome.pending.tenant == TENANT
    assert outcome.pending.response_url == RESPONSE_URL and outcome.pending.retry_text == "new standup"
    link = await world.linking.describe(TENANT, "U1")
    assert link is not None and link.google_email == "alice@example.com" and link.via == "oauth"
    assert link.google_sub == world.emulator.state.user("alice@example.com")["sub"]
    assert abs(link.linked_at - time.time()) < 5
    token = await world.credentials.get_access_token(TENANT, "U1")
    assert token == link.access_token and world.emulator.state.refresh_grants == 0  # cached, not refreshed
    assert world.emulator.state.lookup_token(token)[1] == ""
    assert await world.credentials.get_access_token(TENANT, "U1") == token


async def test_authorization_url_has_pkce_login_hint_and_a_fresh_state(world: World) -> None:
    url = await world.linking.start_link(TENANT, "U1", None, "alice@example.com")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["login_hint"] == "alice@example.com" and len(query["state"]) >= 43
    assert await world.redis.ttl(Keys().oauth_state(query["state"])) > 590


# -- bad input and attacks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("state", [None, "", "A" * 43, "not a state", "{x}:y", "x" * 5000])
async def test_unknown_or_malformed_state(world: World, state: str | None) -> None:
    outcome = await world.linking.complete_link(state, "4/0some-code", None)
    assert outcome == LinkOutcome(False, "bad_state")
    assert world.emulator.state.calls_to("oauth.token") == []  # the code was never even tried
    await assert_nothing_stored(world)


async def test_reused_state_is_refused(world: World) -> None:
    SLACK_EMAILS["U1"] = "alice@example.com"
    url = await world.linking.start_link(TENANT, "U1", None, "alice@example.com")
    params = await world.authorize(url)
    assert (await world.linking.complete_link(params["state"], params["code"], None)).ok
    await world.linking.disconnect(TENANT, "U1")
    again = await world.linking.complete_link(params["state"], params["code"], None)
    assert again.reason == "bad_state"
    await assert_nothing_stored(world)


async def test_expired_state_is_refused(world: World) -> None:
    url = await world.linking.start_link(TENANT, "U1", None, None)
    params = await world.authorize(url)
    await world.redis.pexpire(Keys().oauth_state(params["state"]), 1)
    await asyncio.sleep(0.01)
    assert (await world.linking.complete_link(params["state"], params["code"], None)).reason == "bad_state"
    await assert_nothing_stored(world)


async def test_a_state_links_only_the_user_it_was_issued_for(world: World) -> None:
    SLACK_EMAILS.update(U1="alice@example.com", U2="alice@example.com")
    world.emulator.state.set_consent("alice@example.com")
    mine = await world.authorize(await world.linking.start_link(TENANT, "U1", None, None))
    theirs = await world.authorize(await world.linking.start_link(TENANT, "U2", None, None))
    # Someone replays U2's code with U1's state: the PKCE verifier bound to U1's state doesn't fit U2's code.
    swapped = await world.linking.complete_link(mine["state"], theirs["code"], None)
    assert (swapped.ok, swapped.reason) == (False, "exchange_failed")
    await assert_nothing_stored(world)
    # Completing U2's own state links U2 and nobody else, whoever's browser brings it back.
    outcome = await world.linking.complete_link(theirs["state"], theirs["code"], None)
    assert outcome.ok and outcome.pending is not None and outcome.pending.user_id == "U2"
    assert await world.linking.describe(TENANT, "U1") is None
    assert await world.linking.describe(TENANT, "U2") is not None


async def test_missing_code(world: World) -> None:
    params = await world.authorize(await world.linking.start_link(TENANT, "U1", None, None))
    outcome = await world.linking.complete_link(params["state"], None, None)
    assert outcome.reason == "missing_code" and outcome.pending is not None and outcome.pending.user_id == "U1"
    await assert_nothing_stored(world)
    assert (await world.linking.complete_link(params["state"], params["code"], None)).reason == "bad_state"


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
    params = await world.authorize(await world.linking.start_link(TENANT, "U1", None, None))
    outcome = await world.linking.complete_link(params["state"], params["code"], error)
    assert (outcome.ok, outcome.reason) == (False, reason)
    assert world.emulator.state.calls_to("oauth.token") == []  # a code that came with an error isn't used
    await assert_nothing_stored(world)


async def test_pkce_mismatch(world: World) -> None:
    first = await world.authorize(await world.linking.start_link(TENANT, "U1", None, None))
    second = await world.authorize(await world.linking.start_link(TENANT, "U1", None, None))
    assert (await world.linking.complete_link(first["state"], second["code"], None)).reason == "exchange_failed"
    await assert_nothing_stored(world)


async def test_token_response_without_refresh_token(world: World) -> None:
    url = await world.linking.start_link(TENANT, "U1", None, None)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "access_type"}  # online: no refresh token
    params = await world.authorize(parts._replace(query=urlencode(query)).geturl())
    outcome = await world.linking.complete_link(params["state"], params["code"], None)
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
    link = await world.linking.describe(TENANT, "U1")
    assert link is not None and CREATED in link.scopes and READONLY not in link.scopes


async def test_corrupt_record_reads_as_not_linked_and_disconnect_clears_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await world.link()).ok
    await world.redis.hset(Keys().google_link(TENANT, "U1"), "rt", b"gAAAAAcorrupted")
    with pytest.raises(NotLinked):
        await world.credentials.get_access_token(TENANT, "U1")
    assert await world.linking.describe(TENANT, "U1") is None
    assert "unreadable" in caplog.text
    outcome = await world.linking.disconnect(TENANT, "U1")
    assert outcome.was_linked and not outcome.revoked
    await assert_nothing_stored(world)


async def test_removed_key_reads_as_not_linked(world: World) -> None:
    assert (await world.link()).ok
    async with httpx.AsyncClient() as http:
        other = world_of(world.redis, world.emulator, http, Fernet.generate_key())
        with pytest.raises(NotLinked):
            await other.credentials.get_access_token(TENANT, "U1")
        assert await other.linking.describe(TENANT, "U1") is None
        # Re-connecting under the new key replaces the unreadable record.
        world.linking, world.credentials, world.links = other.linking, other.credentials, other.links
        assert (await world.link()).ok
        assert await other.credentials.get_access_token(TENANT, "U1")


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
        world = world_of(redis, meet_emulator, http, key)
        assert (await world.link()).ok
        # Down while a sign-in is pending: the callback answers "unavailable", nothing crashes.
        pending = await world.authorize(await world.linking.start_link(TENANT, "U2", None, None))
        own_redis.stop()
        assert (await world.linking.complete_link(pending["state"], pending["code"], None)).reason == "unavailable"
        for call in (
            world.linking.start_link(TENANT, "U1", None, None),
            world.credentials.get_access_token(TENANT, "U1"),
            world.linking.describe(TENANT, "U1"),
            world.linking.disconnect(TENANT, "U1"),
        ):
            with pytest.raises(ServiceUnavailable):
                await call
        own_redis.restart()
        # Down between the code exchange and the save: nothing partial, and the code isn't retried.
        oauth = world.linking._oauth
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
            await world.credentials.get_access_token(TENANT, "U1")
        own_redis.restart()
        monkeypatch.setattr(oauth, "refresh", refresh)
        with pytest.raises(NotLinked):  # the restarted server kept nothing (no persistence in tests)
            await world.credentials.get_access_token(TENANT, "U1")
        assert (await world.link()).ok
    await redis.aclose()


# -- disconnect -------------------------------------------------------------------------------------------------
async def test_disconnect_revokes_then_deletes(world: World) -> None:
    assert (await world.link()).ok
    link = await world.links.get(TENANT, "U1")
    assert link is not None and link.refresh_token and link.access_token
    outcome = await world.linking.disconnect(TENANT, "U1")
    assert outcome.was_linked and outcome.revoked
    assert link.refresh_token in world.emulator.state.revoked
    assert world.emulator.state.lookup_token(link.access_token)[1] != ""  # its access token died with it
    await assert_nothing_stored(world)
    with pytest.raises(NotLinked):
        await world.credentials.get_access_token(TENANT, "U1")


async def test_disconnect_deletes_even_when_revocation_fails(world: World) -> None:
    assert (await world.link()).ok
    world.emulator.state.inject_fault("oauth.revoke", 503)
    outcome = await world.linking.disconnect(TENANT, "U1")
    assert outcome.was_linked and not outcome.revoked
    await assert_nothing_stored(world)


async def test_disconnect_when_not_linked(world: World) -> None:
    assert await world.linking.disconnect(TENANT, "U1") == DisconnectOutcome(False, False)
    assert world.emulator.state.calls_to("oauth.revoke") == []


async def test_relinking_replaces_the_link(world: World) -> None:
    assert (await world.link()).ok
    world.emulator.state.set_consent("bob@example.com")
    outcome = await world.link(email="alice@example.com")  # Slack says alice@, but bob@ consents
    assert (outcome.ok, outcome.reason, outcome.slack_email) == (False, "email_mismatch", "alice@example.com")
    link = await world.linking.describe(TENANT, "U1")
    assert link is not None and link.google_email == "alice@example.com", "the old link stays"
    world.emulator.state.set_consent("alice@example.com")
    assert (await world.link()).ok


async def test_start_link_is_refused_under_delegation(world: World) -> None:
    linking = Linking(world.links, world.linking._states, None, SCOPES, None, SCOPES,
                      drop_cached=world.credentials.drop_cached)
    with pytest.raises(DelegationInUse) as caught:
        await linking.start_link(TENANT, "U1", None, None)
    assert "delegation" in caught.value.reason
