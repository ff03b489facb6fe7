"""The in-process harness: the real Bolt app over the Slack and Meet emulators and a real Redis, driven by signed
Slack payloads through the front door and Bolt's `async_dispatch` (no `python -m bot`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.app import Services, build_bolt_app, close_services, open_services
from bot.config import load_settings
from bot.slack.front_door import Admitted, FrontDoor
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.flows import link_in_process
from tests.support.slack_requests import SIGNING_SECRET, sign, slash_command
from tests.support.waits import eventually_async

ALICE, EMAIL = "U0ALICE", "alice@example.com"


@asynccontextmanager
async def services_in_loop(env: dict[str, str]) -> AsyncIterator[Services]:
    """The real services on the test's own event loop, jobs running, for a test that also calls them directly (a
    read of a followed meeting by hand, the store behind a metric); bounded clean-up after."""
    services = await open_services(load_settings({"PUBLIC_URL": "http://127.0.0.1:9", **env}, env_file=None))
    services.jobs.start()
    try:
        yield services
    finally:
        await services.tasks.drain(5)
        await close_services(services)


@dataclass
class Edge:
    services: Services
    bolt: AsyncApp
    door: FrontDoor
    slack: SlackEmulator
    meet: MeetEmulator

    async def send(self, request: tuple[str, str]) -> BoltResponse:
        body, content_type = request
        admitted = self.door.admit(body.encode(), {"Content-Type": content_type, **sign(body)})
        assert isinstance(admitted, Admitted), admitted
        return await self.bolt.async_dispatch(admitted.request)

    async def settle(self) -> None:
        """Let the work started after the ack finish."""
        await eventually_async(lambda: not len(self.services.tasks), "the background work to finish", 4)

    async def link(self, user: str, email: str) -> None:
        async def connect() -> dict[str, Any]:
            return dict(json.loads((await self.send(slash_command("connect", user_id=user))).body))

        await link_in_process(self.services, self.slack, self.meet, user, email, connect)


@pytest.fixture
async def edge(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
               ) -> AsyncIterator[Edge]:
    async with services_in_loop(bot_env) as services:
        yield Edge(services, build_bolt_app(services), FrontDoor(SIGNING_SECRET), slack_emulator, meet_emulator)
