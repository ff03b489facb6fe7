"""Slack's Calls API for core.calls, and the `call` block a card carries.

Rate limits: every Calls method is Tier 3 (about 50 a minute per method per workspace). The client's retry handlers
wait out a 429's Retry-After; a request still refused is a passing `CallsUnavailable`, and the next read reconciles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.core.calls import BadUsers, CallsUnavailable, InactiveCall, NewCall
from bot.domain import CallUser, Tenant
from bot.slack.clients import NotInstalled, SlackClients
from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name
from bot.slack.views.blocks import Block, Message

__all__ = ["CALL_BLOCK", "SlackCallsApi", "with_call"]

CALL_BLOCK = "call"
# Answers that will come again until an admin acts: the scope is missing, Calls are off, the token can't do it.
_LASTING = frozenset({
    "missing_scope", "not_implemented", "not_authorized", "not_allowed_token_type", "no_permission",
    "access_denied", "invalid_auth", "account_inactive", "token_revoked", "ekm_access_denied",
    "enterprise_is_restricted", "team_access_not_granted",
})


def with_call(message: Message, call_id: str | None) -> Message:
    """The card with Slack's call object under its first block (the title). The card's own blocks stay: older
    clients and anything that doesn't render calls still read the status line and the Join button."""
    if not call_id:
        return message
    blocks: list[Block] = list(message.get("blocks") or [])
    call: Block = {"type": "call", "call_id": call_id, "block_id": CALL_BLOCK}
    return {**message, "blocks": [*blocks[:1], call, *blocks[1:]]}


def without_call(message: Message) -> Message:
    blocks = [b for b in message.get("blocks") or [] if b.get("type") != "call"]
    return {**message, "blocks": blocks}


def _reason(error: SlackApiError) -> str:
    name = slack_error_name(error)
    if name == "missing_scope":
        return f"missing scope {error.response.get('needed') or 'calls:write'}"
    return name


class SlackCallsApi:
    def __init__(self, clients: SlackClients) -> None:
        self._clients = clients

    async def _call(self, tenant: Tenant, method: str, **args: Any) -> dict[str, Any]:
        try:
            client = await self._clients.for_tenant(tenant)
            response = await client.api_call(method, json=args)
        except NotInstalled as error:
            raise CallsUnavailable("not installed", lasting=True) from error
        except SlackApiError as error:
            name = slack_error_name(error)
            if name == "bad_users":
                raise BadUsers(name) from error
            if name in ("inactive_call", "invalid_call_id"):
                raise InactiveCall(name) from error
            raise CallsUnavailable(_reason(error), lasting=name in _LASTING) from error
        except SLACK_FAILURES as error:
            raise CallsUnavailable(slack_error_name(error), lasting=False) from error
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def add(self, tenant: Tenant, call: NewCall) -> str:
        args: dict[str, Any] = {"external_unique_id": call.unique_id, "join_url": call.join_url,
                                "title": call.title, "created_by": call.created_by}
        if call.display_id:
            args["external_display_id"] = call.display_id
        if call.date_start:
            args["date_start"] = call.date_start
        if call.users:
            args["users"] = [u.to_api() for u in call.users]
        body = await self._call(tenant, "calls.add", **args)
        call_id = (body.get("call") or {}).get("id")
        if not call_id:
            raise CallsUnavailable("calls.add answered no call id", lasting=False)
        return str(call_id)

    async def add_people(self, tenant: Tenant, call_id: str, users: Sequence[CallUser]) -> None:
        await self._call(tenant, "calls.participants.add", id=call_id, users=[u.to_api() for u in users])

    async def remove_people(self, tenant: Tenant, call_id: str, users: Sequence[CallUser]) -> None:
        await self._call(tenant, "calls.participants.remove", id=call_id, users=[u.to_api() for u in users])

    async def people(self, tenant: Tenant, call_id: str) -> tuple[CallUser, ...]:
        body = await self._call(tenant, "calls.info", id=call_id)
        users = (body.get("call") or {}).get("users") or []
        return tuple(CallUser.from_api(u) for u in users if isinstance(u, dict))

    async def end(self, tenant: Tenant, call_id: str, duration: int | None) -> None:
        args: dict[str, Any] = {"id": call_id}
        if duration is not None:
            args["duration"] = max(duration, 0)
        await self._call(tenant, "calls.end", **args)
