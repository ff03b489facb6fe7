"""Fixtures: one private redis-server for the whole run, fresh emulators per test, the bot as a subprocess."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
import yaml
from cryptography.fernet import Fernet

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess, BotStarter, emulator_env
from tests.support.in_process import InProcessBot
from tests.support.redis_server import RedisServer
from tests.support.slack_requests import SIGNING_SECRET

# `world` (meetings through the bot), `edge` (the services in-process), `events_world` (Workspace Events)
pytest_plugins = ["tests.support.world", "tests.support.edge", "tests.support.events_world"]

BOT_TOKEN = "xoxb-test-bot-token"
TEAM_ID = "T0001"
MANIFEST_PATH = Path(__file__).resolve().parents[1] / "manifest.yaml"


def manifest_bot_scopes() -> tuple[str, ...]:
    """The bot scopes manifest.yaml asks for: the bot's token in tests carries these and no others."""
    manifest = yaml.safe_load(MANIFEST_PATH.read_text())
    return tuple(str(scope) for scope in manifest["oauth_config"]["scopes"]["bot"])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The private server, emptied before each test. Only ever the server this run started."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def encryption_key() -> str:
    return Fernet.generate_key().decode()


def block_text_limit() -> int | None:
    """The Slack emulator's cumulative block-text limit, a guess (reference §8): off unless the run sets
    SLACK_EMULATOR_BLOCK_TEXT_LIMIT (e.g. 13000), so the suite can run under both settings."""
    value = os.environ.get("SLACK_EMULATOR_BLOCK_TEXT_LIMIT", "")
    return int(value) if value else None


@pytest.fixture
def slack_emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token=BOT_TOKEN, team_id=TEAM_ID, scopes=manifest_bot_scopes(),
                       block_text_limit=block_text_limit()) as emulator:
        emulator.state.add_channel("C0GENERAL", "general")
        yield emulator


@pytest.fixture
def meet_emulator() -> Iterator[MeetEmulator]:
    with MeetEmulator() as emulator:
        yield emulator


@pytest.fixture
def bot_env(redis_url: str, encryption_key: str, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
            ) -> dict[str, str]:
    """A complete configuration that points every outside service at the emulators."""
    env = emulator_env(slack_api_url=slack_emulator.api_url, meet_url=meet_emulator.url, redis_url=redis_url,
                       encryption_key=encryption_key, bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET)
    # Following live meetings edits cards on its own schedule; the tests of it (tests/edge/test_live.py) turn it on.
    # Events for one space are read together at most every 0.2 s instead of 2 s: the tests of coalescing say so
    # in their own setting, the rest shouldn't wait out a gap meant to spare Google's quota.
    return {**env, "MEET_POLL_SECONDS": "0", "MEET_COALESCE_MS": "200"}


@pytest.fixture
def start_bot(bot_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[BotStarter]:
    """Start `python -m bot` with the test configuration plus overrides; every bot started is stopped after.
    A test (or module) marked `in_process` gets the same server run in the test's own process instead."""
    starter = BotStarter(bot_env, tmp_path, InProcessBot if request.node.get_closest_marker("in_process")
                         else BotProcess)
    yield starter
    starter.stop_all()


@pytest.fixture
def bot(start_bot: Callable[..., BotProcess]) -> BotProcess:
    return start_bot()
