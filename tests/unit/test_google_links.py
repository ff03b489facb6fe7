"""Google links in Redis: one encrypted-at-rest hash per user, atomic access-token updates, rotation, the lock."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.domain import CachedToken, GoogleLink, SlackUserGrant, Tenant
from bot.rotate import cmd_rotate_keys
from bot.store.crypto import TokenCipher
from bot.store.google_links import DelegatedTokenCache, GoogleLinkStore, RefreshLock
from bot.store.keys import Keys
from bot.store.slack_users import SlackUserTokens

TENANT = Tenant("T0001")
GRID = Tenant("T0001", "E0001")
REFRESH = "1//0refresh-secret-abcdef"
ACCESS = "ya29.access-secret-abcdef"
LINK = GoogleLink(
    google_sub="1234567890",
    google_email="alice@example.com",
    scopes=("https://www.googleapis.com/auth/meetings.space.created", "openid"),
    refresh_token=REFRESH,
    access_token=ACCESS,
    access_expires_at=1_900_000_000.25,
    linked_at=1_700_000_000.123456,
)

SLACK_GRANT = SlackUserGrant("U1", "T0001", "xoxp-1-secret", ("users.profile:read", "users.profile:write"), 1.5)


@pytest.fixture
def key() -> bytes:
    return Fernet.generate_key()


@pytest.fixture
def store(redis_client: aioredis.Redis, key: bytes) -> GoogleLinkStore:
    return GoogleLinkStore(redis_client, Keys(), TokenCipher([key]))


async def every_value(redis: aioredis.Redis) -> list[bytes]:
    """Every byte Redis holds: key names, string values, hash fields and values."""
    client: Any = redis  # decode_responses=False: everything below is bytes
    values: list[bytes] = []
    async for name in client.scan_iter():
        values.append(name)
        kind = await client.type(name)
        if kind == b"hash":
            for field, value in (await client.hgetall(name)).items():
                values += [field, value]
        elif kind == b"string":
            values.append(await client.get(name))
    return values


async def test_save_get_round_trip_without_ttl_and_tokens_encrypted(
    store: GoogleLinkStore, redis_client: aioredis.Redis
) -> None:
    await store.save(TENANT, "U1", LINK)
    assert await store.get(TENANT, "U1") == LINK
    assert await store.get(GRID, "U1") is None  # another org's workspace with the same team id
    assert await store.get(TENANT, "U2") is None
    assert await redis_client.ttl(Keys().google_link(TENANT, "U1")) == -1  # links must not be lost
    values = b"\n".join(await every_value(redis_client))
    assert REFRESH.encode() not in values and ACCESS.encode() not in values
    assert b"alice@example.com" in values  # identity stays readable for operators
    assert REFRESH not in repr(LINK) and ACCESS not in repr(LINK)


async def test_save_replaces_the_whole_record(store: GoogleLinkStore) -> None:
    await store.save(TENANT, "U1", LINK)
    bare = GoogleLink("2", "bob@example.com", (), "1//other", None, None, 5.0, via="oauth")
    await store.save(TENANT, "U1", bare)
    assert await store.get(TENANT, "U1") == bare  # no stale access token survives


async def test_save_access_token_updates_only_those_fields(store: GoogleLinkStore) -> None:
    await store.save(TENANT, "U1", LINK)
    assert await store.save_access_token(TENANT, "U1", "ya29.new", 1_950_000_000.0)
    got = await store.get(TENANT, "U1")
    assert got is not None
    assert (got.access_token, got.access_expires_at) == ("ya29.new", 1_950_000_000.0)
    assert got.refresh_token == REFRESH and got.linked_at == LINK.linked_at and got.scopes == LINK.scopes
    assert await store.save_access_token(TENANT, "U1", "ya29.3", 2e9, refresh_token="1//rotated")
    rotated = await store.get(TENANT, "U1")
    assert rotated is not None and rotated.refresh_token == "1//rotated"


async def test_save_access_token_never_resurrects_or_overwrites_another_link(
    store: GoogleLinkStore, redis_client: aioredis.Redis
) -> None:
    assert not await store.save_access_token(TENANT, "U1", "ya29.x", 2e9)
    assert await redis_client.exists(Keys().google_link(TENANT, "U1")) == 0  # no partial record
    await store.save(TENANT, "U1", LINK)
    assert not await store.save_access_token(TENANT, "U1", "ya29.x", 2e9, linked_at=LINK.linked_at + 1)
    assert await store.save_access_token(TENANT, "U1", "ya29.x", 2e9, linked_at=LINK.linked_at)


async def test_delete_and_guarded_delete(store: GoogleLinkStore) -> None:
    assert not await store.delete(TENANT, "U1")
    await store.save(TENANT, "U1", LINK)
    assert not await store.delete(TENANT, "U1", linked_at=LINK.linked_at - 1)  # a newer link stays
    assert await store.delete(TENANT, "U1", linked_at=LINK.linked_at)
    assert await store.get(TENANT, "U1") is None
    await store.save(TENANT, "U1", LINK)
    assert await store.delete(TENANT, "U1")


@pytest.mark.parametrize(
    ("field", "value"),
    [("rt", b"gAAAAAcorrupt"), ("at", b"\xff\x00"), ("v", b"99"), ("linked_at", b"yesterday"), ("sub", None)],
)
async def test_unreadable_record_is_not_linked_with_a_log_line_and_no_secret(
    store: GoogleLinkStore,
    redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: bytes | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    await store.save(TENANT, "U1", LINK)
    name = Keys().google_link(TENANT, "U1")
    if value is None:
        await redis_client.hdel(name, field)
    else:
        await redis_client.hset(name, field, value)
    assert await store.get(TENANT, "U1") is None
    assert "unreadable" in caplog.text and "U1" in caplog.text
    assert REFRESH not in caplog.text and ACCESS not in caplog.text and "gAAAA" not in caplog.text


async def test_removed_key_reads_as_not_linked(redis_client: aioredis.Redis, store: GoogleLinkStore) -> None:
    await store.save(TENANT, "U1", LINK)
    other = GoogleLinkStore(redis_client, Keys(), TokenCipher([Fernet.generate_key()]))
    assert await other.get(TENANT, "U1") is None


async def test_rotate_all_re_encrypts_every_link_with_the_first_key(redis_client: aioredis.Redis, key: bytes) -> None:
    old_store = GoogleLinkStore(redis_client, Keys(), TokenCipher([key]))
    users = [f"U{i}" for i in range(30)]
    for user in users:
        await old_store.save(TENANT, user, LINK)
    await old_store.save(GRID, "U1", LINK)
    # Not links: the pattern must not pick up locks, states or caches.
    await redis_client.set(Keys().google_refresh_lock(TENANT, "U1"), b"owner")
    await redis_client.set(Keys().delegated_token(TENANT, "U1"), b"gAAAAA-not-rotated")
    new = Fernet.generate_key()
    report = await GoogleLinkStore(redis_client, Keys(), TokenCipher([new, key])).rotate_report()
    assert report.rotated == len(users) + 1
    only_new = GoogleLinkStore(redis_client, Keys(), TokenCipher([new]))
    for user in users:
        assert await only_new.get(TENANT, user) == LINK
    assert await only_new.get(GRID, "U1") == LINK
    assert await redis_client.get(Keys().google_refresh_lock(TENANT, "U1")) == b"owner"


async def test_rotate_leaves_unreadable_records_alone_and_reports_them(
    redis_client: aioredis.Redis, key: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    store = GoogleLinkStore(redis_client, Keys(), TokenCipher([key]))
    await store.save(TENANT, "U1", LINK)
    lost = GoogleLinkStore(redis_client, Keys(), TokenCipher([Fernet.generate_key()]))
    await lost.save(TENANT, "U2", LINK)
    before = await redis_client.hgetall(Keys().google_link(TENANT, "U2"))
    report = await store.rotate_report()
    assert (report.rotated, report.unreadable) == (1, 1)
    assert await redis_client.hgetall(Keys().google_link(TENANT, "U2")) == before
    assert REFRESH not in caplog.text


def test_rotate_keys_command(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()

    async def seed() -> None:
        client = aioredis.Redis.from_url(redis_url)
        await GoogleLinkStore(client, Keys(), TokenCipher([old])).save(TENANT, "U1", LINK)
        await SlackUserTokens(client, Keys(), TokenCipher([old])).save(TENANT, SLACK_GRANT)  # presence's token
        await client.aclose()

    async def read(keys: list[bytes]) -> GoogleLink | None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await GoogleLinkStore(client, Keys(), TokenCipher(keys)).get(TENANT, "U1")
        finally:
            await client.aclose()

    asyncio.run(seed())
    monkeypatch.chdir(tmp_path)  # no developer .env
    for name, value in {
        "SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "GOOGLE_CLIENT_ID": "c", "GOOGLE_CLIENT_SECRET": "s",
        "REDIS_URL": redis_url, "TOKEN_ENCRYPTION_KEYS": f"{new.decode()},{old.decode()}",
    }.items():
        monkeypatch.setenv(name, value)
    assert cmd_rotate_keys() == 0
    out = capsys.readouterr().out
    assert "re-encrypted 1 Google link(s)" in out and "re-encrypted 1 Slack user token(s)" in out
    assert asyncio.run(read([new])) == LINK

    async def slack_token(keys: list[bytes]) -> SlackUserGrant | None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await SlackUserTokens(client, Keys(), TokenCipher(keys)).get(TENANT, "U1")
        finally:
            await client.aclose()

    assert asyncio.run(slack_token([new])) == SLACK_GRANT, "readable with the new key alone"


async def test_refresh_lock_is_exclusive_and_released_only_by_its_owner(redis_client: aioredis.Redis) -> None:
    lock = RefreshLock(redis_client, Keys())
    owner = await lock.acquire(TENANT, "U1", 5_000)
    assert owner is not None
    assert await lock.acquire(TENANT, "U1", 5_000) is None
    assert await lock.acquire(TENANT, "U2", 5_000) is not None  # per user
    assert not await lock.release(TENANT, "U1", "someone-else")
    assert await lock.held(TENANT, "U1")
    assert await lock.release(TENANT, "U1", owner)
    assert not await lock.held(TENANT, "U1")
    assert await lock.acquire(TENANT, "U1", 20) is not None
    await asyncio.sleep(0.05)
    assert not await lock.held(TENANT, "U1")  # a crashed holder's lock times out


async def test_delegated_token_cache_is_encrypted_and_expires(redis_client: aioredis.Redis, key: bytes) -> None:
    import time

    cache = DelegatedTokenCache(redis_client, Keys(), TokenCipher([key]))
    cached = CachedToken(ACCESS, time.time() + 3599, "alice@example.com")
    await cache.put(TENANT, "U1", cached)
    assert await cache.get(TENANT, "U1") == cached
    assert 3400 < await redis_client.ttl(Keys().delegated_token(TENANT, "U1")) <= 3539
    assert ACCESS.encode() not in b"".join(await every_value(redis_client))
    await cache.put(TENANT, "U2", CachedToken(ACCESS, time.time() + 10, "bob@example.com"))
    assert await cache.get(TENANT, "U2") is None  # already inside the refresh margin: not cached
    await redis_client.set(Keys().delegated_token(TENANT, "U1"), b"corrupt")
    assert await cache.get(TENANT, "U1") is None


async def test_expiring_a_refused_token_never_overwrites_a_newer_one(store: GoogleLinkStore) -> None:
    """The race behind a second refresh: a process holding the old token, refused by Google, must not mark the
    new token (stored meanwhile by another process's refresh) as used up."""
    await store.save(TENANT, "U1", LINK)
    old = LINK.access_token or ""
    assert await store.save_access_token(TENANT, "U1", "ya29.refreshed", 2e9)  # another process refreshed
    assert not await store.expire_access_token(TENANT, "U1", old)  # this one's 401 comes back late
    now = await store.get(TENANT, "U1")
    assert now is not None and now.access_token == "ya29.refreshed" and now.access_expires_at == 2e9
    assert await store.expire_access_token(TENANT, "U1", "ya29.refreshed")
    now = await store.get(TENANT, "U1")
    assert now is not None and now.access_token == "ya29.refreshed" and now.access_expires_at == 0.0
