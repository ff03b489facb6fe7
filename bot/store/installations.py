"""Slack installations (many-workspace mode) and the Slack install `state`, in Redis.

One record per workspace (or per Enterprise Grid org for org-wide installs), encrypted whole: it carries the bot
token. No TTL: losing it uninstalls the app from that workspace. Install states expire after 10 minutes and are
consumed atomically (GETDEL), so each works once.
"""

from __future__ import annotations

import json
import logging
import secrets
from logging import Logger
from typing import Any

from redis.asyncio import Redis
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.domain import Tenant
from bot.json_values import parse_object
from bot.store.crypto import TokenCipher, UnreadableRecord
from bot.store.errors import translated
from bot.store.keys import Keys
from bot.store.replication import Replicas

__all__ = ["RedisInstallStateStore", "RedisInstallationStore"]

log = logging.getLogger(__name__)

STATE_TTL = 600
ORG_WIDE = "org"  # the team part of the key for an org-wide (Enterprise Grid) install


def _tenant(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None) -> Tenant:
    if is_enterprise_install and enterprise_id:
        return Tenant(ORG_WIDE, enterprise_id)
    return Tenant(team_id or "-", enterprise_id or None)


@translated
class RedisInstallationStore(AsyncInstallationStore):
    """Keeps the latest installation per workspace: meetbot only needs the bot token, not per-user tokens."""

    def __init__(self, redis: Redis, keys: Keys, cipher: TokenCipher) -> None:
        self._redis = redis
        self._keys = keys
        self._cipher = cipher
        self._replicas = Replicas(redis)

    @property
    def logger(self) -> Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        tenant = _tenant(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        data = {k: v for k, v in vars(installation).items() if not k.startswith("_")}
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._keys.installation(tenant), self._cipher.encrypt(json.dumps(data, default=str)))
        await self._replicas.kept(pipe, "an installation")

    async def async_save_bot(self, bot: Bot) -> None:
        # Only token rotation calls this; the whole installation is rewritten on every install instead.
        log.debug("save_bot ignored: installations are saved whole")

    async def async_find_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        raw = await self._redis.get(self._keys.installation(_tenant(enterprise_id, team_id, is_enterprise_install)))
        if raw is None:
            return None
        try:
            data = parse_object(self._cipher.decrypt(raw if isinstance(raw, bytes) else raw.encode()))
            return Installation(**data)
        except (UnreadableRecord, ValueError, TypeError):
            log.error("an installation record can't be read (key removed from TOKEN_ENCRYPTION_KEYS?)")
            return None

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = await self.async_find_installation(enterprise_id=enterprise_id, team_id=team_id,
                                                   is_enterprise_install=is_enterprise_install)
        return found.to_bot() if found is not None else None

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # a user's own token revoked: meetbot keeps no user tokens, nothing to do
            await self._redis.delete(self._keys.installation(_tenant(enterprise_id, team_id, False)))

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._redis.delete(self._keys.installation(_tenant(enterprise_id, team_id, False)))

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


@translated
class RedisInstallStateStore(AsyncOAuthStateStore):
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    @property
    def logger(self) -> Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        await self._redis.set(self._keys.install_state(state), b"1", ex=STATE_TTL)
        return state

    async def async_consume(self, state: str) -> bool:
        if not state or len(state) > 128 or any(c in state for c in "{}: \r\n"):
            return False
        return bool(await self._redis.getdel(self._keys.install_state(state)))
