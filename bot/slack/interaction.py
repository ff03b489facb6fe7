"""One typed view of each incoming Slack interaction, built once from the payload: who (actor, in which
workspace), where (channel, the card clicked), and how to answer (response_url, trigger_id).

Listeners read these fields instead of digging in payloads; the front door has already checked the shapes they
rely on (bot/slack/front_door.py), so a missing optional field reads as None here, never as a KeyError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import Actor, Card, Tenant

__all__ = ["Interaction", "submitted"]


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def submitted(view: Mapping[str, Any], block: str, action: str = "value") -> Mapping[str, Any]:
    """One input's state in a submitted modal (`view.state.values[block][action]`); empty for any part missing or
    of another shape than Slack sends (a signed but odd submission answered 500 when read with chained .get)."""
    return _dict(_dict(_dict(_dict(view.get("state")).get("values")).get(block)).get(action))


@dataclass(frozen=True, slots=True)
class Interaction:
    actor: Actor
    channel_id: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    card: Card | None = None  # the channel message a button was clicked on (not an ephemeral one)

    @classmethod
    def of_command(cls, command: Mapping[str, Any]) -> Interaction:
        tenant = Tenant(str(command.get("team_id") or ""), _str(command.get("enterprise_id")))
        return cls(Actor(tenant, str(command.get("user_id") or "")), _str(command.get("channel_id")),
                   _str(command.get("response_url")), _str(command.get("trigger_id")))

    @classmethod
    def of_payload(cls, body: Mapping[str, Any]) -> Interaction:
        """A click, a shortcut or a modal submission."""
        user, team, enterprise = _dict(body.get("user")), _dict(body.get("team")), _dict(body.get("enterprise"))
        team_id = str(user.get("team_id") or team.get("id") or "")
        tenant = Tenant(team_id, _str(enterprise.get("id")) or _str(team.get("enterprise_id")))
        container = _dict(body.get("container"))
        card = None
        if container.get("type") == "message" and not container.get("is_ephemeral"):
            channel, ts = _str(container.get("channel_id")), _str(container.get("message_ts"))
            card = Card(channel, ts) if channel and ts else None
        return cls(Actor(tenant, str(user.get("id") or "")), _str(_dict(body.get("channel")).get("id")),
                   _str(body.get("response_url")), _str(body.get("trigger_id")), card)

    @classmethod
    def of_event(cls, body: Mapping[str, Any], event: Mapping[str, Any]) -> Interaction:
        """An Events API delivery: the user behind the event, in the workspace it came from."""
        authorizations = body.get("authorizations")
        first = _dict(authorizations[0]) if isinstance(authorizations, list) and authorizations else {}
        enterprise = _str(body.get("enterprise_id")) or _str(first.get("enterprise_id"))
        tenant = Tenant(str(body.get("team_id") or ""), enterprise)
        return cls(Actor(tenant, str(event.get("user") or "")), _str(event.get("channel")))
