"""Slack user facts meetbot needs (the email, for Google's login hint and for delegation), cached in Redis."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError

from bot.domain import Tenant
from bot.slack.clients import NotInstalled, SlackClients
from bot.store.slack_cache import NO_EMAIL, EmailCache

__all__ = ["SlackDirectory"]

log = logging.getLogger(__name__)



class SlackDirectory:
    def __init__(self, clients: SlackClients, emails: EmailCache, timeout: float = 1.5) -> None:
        self._clients = clients
        self._emails = emails
        self._timeout = timeout

    async def cached_email(self, tenant: Tenant, user_id: str) -> str | None:
        """The email if meetbot already knows it; never asks Slack (for the ack path)."""
        cached = await self._emails.get(tenant, user_id)
        return cached or None

    async def email(self, tenant: Tenant, user_id: str) -> str | None:
        """The user's Slack profile email, or None when Slack has none (or won't say in time)."""
        cached = await self._emails.get(tenant, user_id)
        if cached is not None:
            return None if cached == NO_EMAIL else cached
        try:
            client = await self._clients.for_tenant(tenant)
            answer = await asyncio.wait_for(client.users_info(user=user_id), self._timeout)
        except (SlackApiError, TimeoutError, NotInstalled) as error:
            log.warning("users.info failed for a user: %s", type(error).__name__)
            return None
        profile = (answer.get("user") or {}).get("profile") or {}
        email = profile.get("email")
        await self._emails.put(tenant, user_id, str(email) if email else None)
        return str(email) if email else None

    async def names(self, tenant: Tenant, user_id: str) -> tuple[str, str]:
        """(the user's name, the workspace's name) as people see them in Slack; ids when Slack won't say."""
        user_name, team_name = user_id, tenant.team_id
        try:
            client = await self._clients.for_tenant(tenant)
            user, team = await asyncio.wait_for(
                asyncio.gather(client.users_info(user=user_id), client.auth_test()), self._timeout)
        except (SlackApiError, TimeoutError, NotInstalled) as error:
            log.warning("could not read Slack names: %s", type(error).__name__)
            return user_name, team_name
        profile = (user.get("user") or {}).get("profile") or {}
        user_name = str(profile.get("real_name") or profile.get("display_name") or user_name)
        return user_name, str(team.get("team") or team_name)

    async def is_admin(self, tenant: Tenant, user_id: str) -> bool:
        """Workspace admins and owners may replace or clear any channel's room. Asked fresh: roles change."""
        try:
            client = await self._clients.for_tenant(tenant)
            answer = await asyncio.wait_for(client.users_info(user=user_id), self._timeout)
        except (SlackApiError, TimeoutError, NotInstalled):
            return False  # when in doubt, not an admin
        user = answer.get("user") or {}
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

