"""Slack user facts meetbot needs, cached in Redis: the email (for Google's login hint, for delegation, and for
space members) and whether the user can be a space member at all; a channel's members; who has an email."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError

from bot.core.errors import ServiceUnavailable
from bot.core.members import Person, Skip
from bot.domain import Tenant
from bot.slack.clients import NotInstalled, SlackClients
from bot.slack.replies import CHANNEL_UNREADABLE
from bot.store.slack_cache import NO_EMAIL, EmailCache

__all__ = ["SlackDirectory"]

_LOOKUPS_AT_ONCE = 10  # users.info is Tier 4 (100+/min): a big channel is resolved a few at a time

SLACK_UNREADABLE = "Slack didn't answer in time, so nothing was changed. Please try again in a minute."
log = logging.getLogger(__name__)



class SlackDirectory:
    def __init__(self, clients: SlackClients, emails: EmailCache, timeout: float = 1.5) -> None:
        self._clients = clients
        self._emails = emails
        self._timeout = timeout
        self._lookups = asyncio.Semaphore(_LOOKUPS_AT_ONCE)

    async def cached_email(self, tenant: Tenant, user_id: str) -> str | None:
        """The email if meetbot already knows it; never asks Slack (for the ack path)."""
        cached = await self._emails.get(tenant, user_id)
        return cached or None

    async def email(self, tenant: Tenant, user_id: str) -> str | None:
        """The user's Slack profile email, or None when Slack has none (or won't say in time)."""
        cached = await self._emails.get(tenant, user_id)
        if cached is not None:
            return None if cached == NO_EMAIL else cached
        fetched = await self._fetch(tenant, user_id)
        return fetched[0] if fetched else None

    async def person(self, tenant: Tenant, user_id: str) -> Person:
        """The user as a would-be space member: their profile email, or why they can't be one."""
        found = await self._emails.entry(tenant, user_id)
        if found is None:
            found = await self._fetch(tenant, user_id)
        if found is None:
            return Person(user_id, problem=Skip.UNKNOWN_USER)
        email, problem = found
        return Person(user_id, email, Skip(problem) if problem else None)

    async def forget(self, tenant: Tenant, user_id: str) -> None:
        """`user_change`: the profile (email, status) may differ now; the next use asks Slack again."""
        await self._emails.forget(tenant, user_id)

    async def _fetch(self, tenant: Tenant, user_id: str) -> tuple[str | None, str | None] | None:
        """Ask Slack, cache and return (email, problem); None when Slack won't say (nothing cached)."""
        try:
            client = await self._clients.for_tenant(tenant)
            async with self._lookups:
                answer = await asyncio.wait_for(client.users_info(user=user_id), self._timeout)
        except (SlackApiError, TimeoutError, NotInstalled) as error:
            log.warning("users.info failed for a user: %s", type(error).__name__)
            return None
        user = answer.get("user") or {}
        email = (user.get("profile") or {}).get("email")
        problem = _problem(tenant, user)
        email = str(email) if email else None
        await self._emails.put(tenant, user_id, email, problem.value if problem else None)
        return email, problem.value if problem else None

    async def channel_members(self, tenant: Tenant, channel_id: str) -> list[str]:
        """Every member of the conversation (conversations.members, all pages)."""
        members: list[str] = []
        cursor = ""
        try:
            client = await self._clients.for_tenant(tenant)
            while True:
                page = await client.conversations_members(channel=channel_id, limit=200, cursor=cursor or None)
                members.extend(str(m) for m in page.get("members") or [])
                cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
                if not cursor:
                    return members
        except (SlackApiError, NotInstalled) as error:
            log.warning("conversations.members failed: %s", type(error).__name__)
            raise ServiceUnavailable(CHANNEL_UNREADABLE) from None

    async def bot_in_channel(self, tenant: Tenant, channel_id: str) -> bool | None:
        """Whether meetbot's bot user is a member of the conversation (conversations.info's `is_member`): Slack
        sends channel member events only for conversations the bot is in. None when Slack won't say in time."""
        try:
            client = await self._clients.for_tenant(tenant)
            answer = await asyncio.wait_for(client.conversations_info(channel=channel_id), self._timeout)
        except (SlackApiError, TimeoutError, NotInstalled) as error:
            log.warning("conversations.info failed: %s", type(error).__name__)
            return None
        is_member = (answer.get("channel") or {}).get("is_member")
        return is_member if isinstance(is_member, bool) else None

    async def user_for_email(self, tenant: Tenant, email: str) -> str | None:
        """The Slack user with this profile email (users.lookupByEmail), None when there is none."""
        try:
            client = await self._clients.for_tenant(tenant)
            answer = await asyncio.wait_for(client.users_lookupByEmail(email=email), self._timeout)
        except (SlackApiError, TimeoutError, NotInstalled):
            return None
        user = answer.get("user") or {}
        return str(user["id"]) if user.get("id") else None

    async def email_owner(self, tenant: Tenant, email: str) -> str | None:
        """The member of the workspace whose Slack profile uses this email (users.lookupByEmail), None when Slack
        says nobody does; raises ServiceUnavailable when Slack doesn't say, so a caller never acts on a guess."""
        try:
            client = await self._clients.for_tenant(tenant)
            answer = await asyncio.wait_for(client.users_lookupByEmail(email=email), self._timeout)
        except SlackApiError as error:
            if error.response.get("error") == "users_not_found":
                return None
            raise ServiceUnavailable(SLACK_UNREADABLE) from None
        except (TimeoutError, NotInstalled):
            raise ServiceUnavailable(SLACK_UNREADABLE) from None
        user = answer.get("user") or {}
        return str(user["id"]) if user.get("id") else None

    async def names(self, tenant: Tenant, user_id: str) -> tuple[str, str]:
        """(the user, the workspace) by what their owners can't pick to look like someone else: "@handle (U123)"
        and "Name (domain.slack.com)". Display and real names are anyone's choice, so they are never used."""
        user_name, team_name = user_id, tenant.team_id
        try:
            client = await self._clients.for_tenant(tenant)
            user, team = await asyncio.wait_for(
                asyncio.gather(client.users_info(user=user_id), client.auth_test()), self._timeout)
        except (SlackApiError, TimeoutError, NotInstalled) as error:
            log.warning("could not read Slack names: %s", type(error).__name__)
            return user_name, team_name
        handle = (user.get("user") or {}).get("name")
        if handle:
            user_name = f"@{handle} ({user_id})"
        domain = urlsplit(str(team.get("url") or "")).hostname
        team_name = str(team.get("team") or team_name)
        return user_name, f"{team_name} ({domain})" if domain else team_name

    async def is_admin(self, tenant: Tenant, user_id: str) -> bool:
        """Workspace admins and owners may replace or clear any channel's room. Asked fresh: roles change."""
        try:
            client = await self._clients.for_tenant(tenant)
            answer = await asyncio.wait_for(client.users_info(user=user_id), self._timeout)
        except (SlackApiError, TimeoutError, NotInstalled):
            return False  # when in doubt, not an admin
        user = answer.get("user") or {}
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def _problem(tenant: Tenant, user: dict[str, object]) -> Skip | None:
    """Why a Slack user can't be a space member under their Slack email, if they can't."""
    if user.get("deleted"):
        return Skip.DEACTIVATED
    if user.get("is_bot") or user.get("id") == "USLACKBOT":
        return Skip.BOT
    if user.get("is_stranger"):
        return Skip.EXTERNAL
    team = user.get("team_id")
    grid = user.get("enterprise_user")
    enterprise = grid.get("enterprise_id") if isinstance(grid, dict) else None
    same_org = team in (None, tenant.team_id) or (tenant.enterprise_id is not None
                                                   and enterprise == tenant.enterprise_id)
    return None if same_org else Skip.EXTERNAL
