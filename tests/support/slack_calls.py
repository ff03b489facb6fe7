"""Slack's call objects as the Slack emulator holds them, and the call block a card carries."""

from __future__ import annotations

from typing import Any

from tests.support.world import CHANNEL, World

__all__ = ["call_block", "calls", "people"]


def calls(world: World) -> list[dict[str, Any]]:
    return world.slack.state.call_objects.all()


def call_block(world: World, ts: str) -> str | None:
    message = world.slack.state.message(CHANNEL, ts) or {}
    return next((b["call_id"] for b in message.get("blocks") or [] if b.get("type") == "call"), None)


def people(world: World, call_id: str) -> list[dict[str, str]]:
    call = world.slack.state.call_objects.get(call_id) or {}
    return list(call.get("users") or [])
