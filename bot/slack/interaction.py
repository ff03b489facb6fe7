"""One typed view of each incoming Slack interaction, built once from the payload: who (actor, in which
workspace), where (channel, the card clicked), and how to answer (response_url, trigger_id).

Listeners read these fields instead of digging in payloads; the front door has already checked the shapes they
rely on (bot/slack/front_door.py), so a missing optional field reads as None here, never as a KeyError.
`Delivery` is the whole of a click, modal submission, shortcut or event as the job that runs it reads it; the raw
body (`SlackBody`, what Bolt hands over) is read only here, and kept only for Bolt's own listeners.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain import Actor, Card, Tenant

__all__ = ["Delivery", "Input", "Interaction", "SlackBody", "SlackEvent", "SubmittedView", "submitted"]

SlackBody = Mapping[str, Any]  # a payload as Slack sent it (JSON): read through the constructors below


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
        # user_change's `user` is a profile, not an id: the actor is then nobody in the workspace
        return cls(Actor(tenant, _str(event.get("user")) or ""), _str(event.get("channel")))


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _option_value(value: object) -> str | None:
    return _str(_dict(value).get("value"))


@dataclass(frozen=True, slots=True)
class Input:
    """One input of a submitted modal, by the kind of element that sent it."""

    value: str | None = None  # plain_text_input
    option: str | None = None  # static_select: the chosen option's value
    options: tuple[str, ...] = ()  # checkboxes: the ticked options' values
    users: tuple[str, ...] = ()  # multi_users_select
    conversation: str | None = None  # conversations_select

    @classmethod
    def of(cls, state: Mapping[str, Any]) -> Input:
        ticked = state.get("selected_options")
        return cls(_str(state.get("value")), _option_value(state.get("selected_option")),
                   tuple(v for v in map(_option_value, ticked) if v) if isinstance(ticked, list) else (),
                   _strings(state.get("selected_users")), _str(state.get("selected_conversation")))


@dataclass(frozen=True, slots=True)
class SubmittedView:
    """A modal as Slack sends it back: its id, the metadata meetbot wrote into it, and each input's state."""

    id: str
    metadata: Mapping[str, Any] = field(default_factory=dict)  # private_metadata's JSON object ({} otherwise)
    inputs: Mapping[str, Input] = field(default_factory=dict)  # block_id → its "value" element's state

    @classmethod
    def of(cls, view: Mapping[str, Any]) -> SubmittedView:
        try:
            metadata = json.loads(view.get("private_metadata") or "{}")
        except (TypeError, ValueError):
            metadata = {}
        values = _dict(_dict(view.get("state")).get("values"))
        inputs = {block: Input.of(submitted(view, block)) for block in values if isinstance(block, str)}
        return cls(str(view.get("id") or ""), _dict(metadata), inputs)

    def input(self, block: str) -> Input:
        """The block's input; an empty one when the form had no such block."""
        return self.inputs.get(block) or Input()

    def note(self, key: str) -> str | None:
        """A string meetbot put in the metadata."""
        return _str(self.metadata.get(key))


@dataclass(frozen=True, slots=True)
class SlackEvent:
    """An Events API event, by the fields meetbot's events read."""

    type: str
    channel: str | None = None
    tab: str | None = None  # app_home_opened
    links: tuple[str, ...] = ()  # link_shared: the URLs
    source: str | None = None  # link_shared: "composer" while the message isn't posted yet
    unfurl_id: str | None = None
    message_ts: str | None = None
    changed_user: str | None = None  # user_change: whose profile
    revoked_users: tuple[str, ...] = ()  # tokens_revoked: users whose tokens went
    revoked_bot: bool = False  # tokens_revoked: the bot's token went

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> SlackEvent:
        links = event.get("links")
        tokens = _dict(event.get("tokens"))
        return cls(str(event.get("type") or ""), _str(event.get("channel")), _str(event.get("tab")),
                   tuple(str(_dict(link).get("url") or "") for link in links) if isinstance(links, list) else (),
                   _str(event.get("source")), _str(event.get("unfurl_id")), _str(event.get("message_ts")),
                   _str(_dict(event.get("user")).get("id")), _strings(tokens.get("oauth")), bool(tokens.get("bot")))


@dataclass(frozen=True, slots=True)
class Delivery:
    """A click, a modal submission, a shortcut or an event, as the job that runs it reads it."""

    where: Interaction
    raw: SlackBody  # kept for Bolt's own listeners (token revocation) and the job's id
    action_value: str = ""  # the button clicked or the menu option chosen (Bolt's `action`: the first one)
    ticked: bool = False  # a checkboxes action with any box ticked
    view: SubmittedView | None = None
    event: SlackEvent | None = None
    message_text: str = ""  # a message shortcut's message: its text and its attachments' URLs

    @classmethod
    def of(cls, body: SlackBody) -> Delivery:
        event = body.get("event")
        if isinstance(event, Mapping):
            return cls(Interaction.of_event(body, event), body, event=SlackEvent.of(event))
        actions = body.get("actions")
        first = _dict(actions[0]) if isinstance(actions, list) and actions else {}
        value = _str(first.get("value")) or _option_value(first.get("selected_option")) or ""
        view = body.get("view")
        return cls(Interaction.of_payload(body), body, value, bool(first.get("selected_options")),
                   SubmittedView.of(view) if isinstance(view, Mapping) else None,
                   message_text=_message_text(_dict(body.get("message"))))


def _message_text(message: Mapping[str, Any]) -> str:
    attachments = message.get("attachments")
    urls = [str(a.get("from_url") or a.get("original_url") or "") for a in attachments
            if isinstance(a, Mapping)] if isinstance(attachments, list) else []
    return " ".join([str(message.get("text") or ""), *urls]) if urls else str(message.get("text") or "")
