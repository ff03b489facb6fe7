"""The Redis data layout carries a version (issue 21): a new store is marked, an old one (no version) is this
layout, and a start against data from a newer layout refuses with one line, writing nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.store.keys import Keys
from bot.store.layout import LAYOUT_VERSION, UnknownLayout, ensure_layout

KEY = Keys().layout_version()


async def test_a_new_store_is_marked_with_this_layout(redis_client: aioredis.Redis) -> None:
    assert await ensure_layout(redis_client, Keys()) == LAYOUT_VERSION
    assert await redis_client.get(KEY) == str(LAYOUT_VERSION).encode()
    assert await redis_client.ttl(KEY) == -1, "the version must never expire"


async def test_the_same_layout_is_accepted_and_left_alone(redis_client: aioredis.Redis) -> None:
    await redis_client.set(KEY, str(LAYOUT_VERSION))
    assert await ensure_layout(redis_client, Keys()) == LAYOUT_VERSION
    assert await redis_client.get(KEY) == str(LAYOUT_VERSION).encode()


@pytest.mark.parametrize("stored", [str(LAYOUT_VERSION + 1), "v2"])
async def test_a_newer_or_unreadable_layout_is_refused_without_a_write(redis_client: aioredis.Redis,
                                                                       stored: str) -> None:
    await redis_client.set(KEY, stored)
    with pytest.raises(UnknownLayout) as refused:
        await ensure_layout(redis_client, Keys())
    assert await redis_client.get(KEY) == stored.encode() and await redis_client.dbsize() == 1
    line = refused.value.line()
    assert line.startswith("meetbot cannot start: ") and "\n" not in line


def test_the_layout_key_lives_in_its_own_cluster_slot() -> None:
    assert KEY == "meetbot:{layout}:version"


def _start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env={"PATH": os.environ.get("PATH", ""), **env},
                          cwd=cwd, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("command", [[], ["worker"], ["rotate-keys"]])
async def test_a_start_against_a_newer_layout_refuses_with_one_line(
    bot_env: dict[str, str], redis_client: aioredis.Redis, tmp_path: Path, command: list[str]
) -> None:
    newer = str(LAYOUT_VERSION + 1)
    await redis_client.set(KEY, newer)
    result = _start(command, bot_env, tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        f"meetbot cannot start: the data in Redis has layout version {newer}, newer than this release understands "
        f"(up to {LAYOUT_VERSION}); run the meetbot release that wrote it, or newer"
    ]
    assert await redis_client.keys("*") == [KEY.encode()], "a refused start wrote something"
    assert await redis_client.get(KEY) == newer.encode()
