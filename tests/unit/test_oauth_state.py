"""Pending sign-ins: random, encrypted, 10-minute, single-use states."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.domain import PendingLink, Tenant
from bot.store.crypto import TokenCipher
from bot.store.keys import Keys
from bot.store.oauth_state import STATE_TTL_SECONDS, OAuthStateStore

TENANT = Tenant("T0001", "E0001")
VERIFIER = "v" * 43 + "-verifier-that-must-stay-secret"
RESPONSE_URL = "https://hooks.slack.com/commands/T0001/123/secret-response-url"


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher([Fernet.generate_key()])


@pytest.fixture
def states(redis_client: aioredis.Redis, cipher: TokenCipher) -> OAuthStateStore:
    return OAuthStateStore(redis_client, Keys(), cipher)


def pending(user_id: str = "U1", retry_text: str | None = "new standup") -> PendingLink:
    return PendingLink(TENANT, user_id, VERIFIER, RESPONSE_URL, 1_700_000_000.5, retry_text)


async def test_issue_makes_a_random_url_safe_state_with_a_ttl_and_an_encrypted_record(
    states: OAuthStateStore, redis_client: aioredis.Redis
) -> None:
    state = await states.issue(pending("U0SLACKUSER"))
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", state)  # 32 random bytes
    assert state != await states.issue(pending())
    key = Keys().oauth_state(state)
    assert 590 <= await redis_client.ttl(key) <= STATE_TTL_SECONDS
    raw = await redis_client.get(key)
    assert raw is not None
    # Long markers only: a two-letter id could turn up in random base64 ciphertext by chance.
    for secret in (VERIFIER, RESPONSE_URL, "new standup", "U0SLACKUSER"):
        assert secret.encode() not in raw
    assert VERIFIER not in repr(pending()) and RESPONSE_URL not in repr(pending())


async def test_consume_returns_the_pending_link_exactly_once(states: OAuthStateStore) -> None:
    state = await states.issue(pending())
    assert await states.consume(state) == pending()
    assert await states.consume(state) is None  # reused


async def test_none_fields_round_trip(states: OAuthStateStore) -> None:
    link = PendingLink(Tenant("T9"), "U2", VERIFIER, None, 5.0)
    assert await states.consume(await states.issue(link)) == link


async def test_concurrent_consumers_of_one_state_get_it_once(states: OAuthStateStore) -> None:
    state = await states.issue(pending())
    results = await asyncio.gather(*(states.consume(state) for _ in range(20)))
    assert sum(r is not None for r in results) == 1


async def test_expired_state_is_refused(states: OAuthStateStore, redis_client: aioredis.Redis) -> None:
    state = await states.issue(pending())
    await redis_client.pexpire(Keys().oauth_state(state), 1)
    await asyncio.sleep(0.01)
    assert await states.consume(state) is None


@pytest.mark.parametrize(
    "state",
    ["", "short", "x" * 500, "a" * 43 + ":", "{" + "a" * 43 + "}", "a" * 43 + "\n", "a" * 42 + "/", "a" * 43 + "*"],
)
async def test_unknown_or_malformed_states_are_refused_without_error(states: OAuthStateStore, state: str) -> None:
    assert await states.consume(state) is None


async def test_unknown_well_formed_state_is_refused(states: OAuthStateStore) -> None:
    assert await states.consume("A" * 43) is None


async def test_corrupt_or_foreign_key_record_is_refused_with_a_log_line(
    states: OAuthStateStore, redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    corrupt = await states.issue(pending())
    await redis_client.set(Keys().oauth_state(corrupt), b"gAAAAAgarbage")
    assert await states.consume(corrupt) is None
    foreign = await OAuthStateStore(redis_client, Keys(), TokenCipher([Fernet.generate_key()])).issue(pending())
    assert await states.consume(foreign) is None  # encrypted under a key we don't hold (removed key)
    assert "unreadable" in caplog.text
    assert VERIFIER not in caplog.text and RESPONSE_URL not in caplog.text


async def test_a_master_refusing_writes_for_want_of_a_replica_is_unavailable(
    states: OAuthStateStore, redis_client: aioredis.Redis
) -> None:
    """`min-replicas-to-write 1` (README, Sentinel) makes a master with no replica answer NOREPLICAS: that is
    Redis being unavailable (the user is told to try again), not a bug answered with "something went wrong"."""
    from bot.errors import StorageUnavailable

    await redis_client.config_set("min-replicas-to-write", 1)  # this run's own redis-server
    try:
        with pytest.raises(StorageUnavailable):
            await states.issue(pending())
    finally:
        await redis_client.config_set("min-replicas-to-write", 0)
