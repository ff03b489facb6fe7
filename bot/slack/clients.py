"""The Slack Web API client to use for a workspace, outside a request (where Bolt hands one over).

One workspace: the configured bot token. Many workspaces: that workspace's installation. Clients share one HTTP
session and the retry handlers, and are kept per token.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import Tenant

__all__ = ["NotInstalled", "SlackClients"]


class NotInstalled(LookupError):
    pass


class SlackClients:
    def __init__(self, base: AsyncWebClient, installations: AsyncInstallationStore | None = None) -> None:
        self._base = base
        self._installations = installations
        self._by_token: dict[str, AsyncWebClient] = {}

    async def for_tenant(self, tenant: Tenant) -> AsyncWebClient:
        if self._installations is None:
            return self._base
        org_wide = tenant.team_id == "org"
        bot = await self._installations.async_find_bot(
            enterprise_id=tenant.enterprise_id, team_id=tenant.team_id, is_enterprise_install=org_wide)
        if bot is None or not bot.bot_token:
            raise NotInstalled(f"meetbot is not installed in {tenant.team_id}")
        client = self._by_token.get(bot.bot_token)
        if client is None:
            client = AsyncWebClient(token=bot.bot_token, base_url=self._base.base_url, session=self._base.session,
                                    timeout=self._base.timeout, retry_handlers=list(self._base.retry_handlers))
            self._by_token[bot.bot_token] = client
        return client
