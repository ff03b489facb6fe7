"""The in-process harness: the real Bolt app over the Slack and Meet emulators and a real Redis, driven by signed
Slack payloads through the front door and Bolt's `async_dispatch` (no `python -m bot`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
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

ALICE, EMAIL = "U0ALICE", "alice@example.com"


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
        for _ in range(200):
            if not len(self.services.tasks):
                return
            await asyncio.sleep(0.02)
        raise AssertionError("background work did not finish")

    async def link(self, user: str, email: str) -> None:
        async def connect() -> dict[str, Any]:
            return dict(json.loads((await self.send(slash_command("connect", user_id=user))).body))

        await link_in_process(self.services, self.slack, self.meet, user, email, connect)


@pytest.fixture
async def edge(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
               ) -> AsyncIterator[Edge]:
    settings = load_settings({**bot_env, "PUBLIC_URL": "http://127.0.0.1:9"}, env_file=None)
    services = await open_services(settings)
    services.jobs.start()
    try:
        yield Edge(services, build_bolt_app(services), FrontDoor(SIGNING_SECRET), slack_emulator, meet_emulator)
    finally:
        await services.tasks.drain(5)
        await close_services(services)
