"""Slack's OAuth v2 user-token flow and the methods a person's own token calls (`users.profile.get/set`,
`dnd.info/setSnooze/endSnooze`, `auth.revoke`): core's SlackUserApi port over slack_sdk. Tokens are passed per
call and never logged."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.slack_sign_in import SlackTokenDead, SlackUserUnavailable
from bot.domain import SlackStatus, SlackUserGrant
from bot.json_values import ReadJson
from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name

__all__ = ["SlackUserCalls"]

# What Slack answers for a token that will never work again (or an OAuth code it won't exchange).
_REFUSED = frozenset({"not_authed", "invalid_auth", "token_revoked", "token_expired", "account_inactive",
                      "invalid_code", "bad_redirect_uri", "invalid_client_id", "bad_client_secret", "missing_scope",
                      "not_allowed_token_type", "user_not_found"})


class SlackUserCalls:
    def __init__(self, base: AsyncWebClient, *, client_id: str, client_secret: str, authorize_url: str,
                 redirect_uri: str, user_scopes: Sequence[str]) -> None:
        self._base = base
        self._client_id = client_id
        self._client_secret = client_secret
        self._authorize = authorize_url
        self._redirect_uri = redirect_uri
        self._scopes = tuple(user_scopes)

    def authorize_url(self, state: str) -> str:
        # user_scope only, no bot `scope`: Slack then issues a user token alone (reference §10)
        query = {"client_id": self._client_id, "user_scope": ",".join(self._scopes), "state": state,
                 "redirect_uri": self._redirect_uri}
        return f"{self._authorize}?{urlencode(query)}"

    def _as(self, token: str | None) -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=self._base.base_url, session=self._base.session,
                              timeout=self._base.timeout, retry_handlers=list(self._base.retry_handlers))

    async def _call(self, token: str | None, method: str, *, fine: frozenset[str] = frozenset(), **args: Any
                    ) -> ReadJson:
        """`fine`: errors that only say the wanted state is there already (answered as an empty object)."""
        nested = any(isinstance(value, dict) for value in args.values())
        try:  # a nested argument (users.profile.set's profile) goes as JSON, the rest as a form
            answer = await (self._as(token).api_call(method, json=args) if nested else
                            self._as(token).api_call(method, data=args))
        except SlackApiError as error:
            if slack_error_name(error) in fine:
                return {}
            if slack_error_name(error) in _REFUSED:
                raise SlackTokenDead(slack_error_name(error)) from None
            raise SlackUserUnavailable(slack_error_name(error)) from None
        except SLACK_FAILURES as error:
            raise SlackUserUnavailable(slack_error_name(error)) from None
        return dict(answer.data) if isinstance(answer.data, dict) else {}

    async def exchange(self, code: str) -> SlackUserGrant:
        answer = await self._call(None, "oauth.v2.access", client_id=self._client_id,
                                  client_secret=self._client_secret, code=code, redirect_uri=self._redirect_uri)
        authed = answer.get("authed_user") or {}
        token = authed.get("access_token")
        if not token or authed.get("token_type") != "user":
            raise SlackTokenDead("no user token in the answer")
        team = (answer.get("team") or {}).get("id") or ""
        scopes = tuple(s for s in str(authed.get("scope") or "").split(",") if s)
        return SlackUserGrant(str(authed.get("id") or ""), str(team), str(token), scopes, time.time())

    async def revoke(self, token: str) -> bool:
        return bool((await self._call(token, "auth.revoke")).get("revoked"))

    async def status(self, token: str) -> SlackStatus:
        profile = (await self._call(token, "users.profile.get")).get("profile") or {}
        return SlackStatus(str(profile.get("status_text") or ""), str(profile.get("status_emoji") or ""),
                           int(profile.get("status_expiration") or 0))

    async def set_status(self, token: str, status: SlackStatus) -> None:
        await self._call(token, "users.profile.set", profile={
            "status_text": status.text, "status_emoji": status.emoji, "status_expiration": status.expiration})

    async def snoozed_until(self, token: str) -> int | None:
        answer = await self._call(token, "dnd.info")
        if not answer.get("snooze_enabled"):
            return None
        return int(answer.get("snooze_endtime") or 0) or None

    async def snooze(self, token: str, minutes: int) -> int:
        return int((await self._call(token, "dnd.setSnooze", num_minutes=minutes)).get("snooze_endtime") or 0)

    async def end_snooze(self, token: str) -> None:
        # snooze_not_active: it ran out (or was ended) a moment ago; either way it is over
        await self._call(token, "dnd.endSnooze", fine=frozenset({"snooze_not_active"}))
