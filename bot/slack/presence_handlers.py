"""`/meet presence` on the Slack side: the switch, the sign-in link, and the answer after "Sign in with Slack"."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core.presence import Presence
from bot.core.slack_sign_in import SignInOutcome
from bot.domain import Actor, Tenant
from bot.slack.views.blocks import notice
from bot.slack.views.home import PresenceSection
from bot.slack.views.presence import DND_NOT_OFFERED, dnd_message, presence_on_message, sign_in_message, sign_in_result

__all__ = ["USER_INSTALL_PATH", "USER_REDIRECT_PATH", "PresenceHandlers"]

log = logging.getLogger(__name__)

USER_INSTALL_PATH = "/slack/user-install"
USER_REDIRECT_PATH = "/slack/user-oauth-redirect"


class PresenceHandlers:
    def __init__(self, presence: Presence, public_url: str, session: aiohttp.ClientSession,
                 follows_own: Callable[[Tenant, str], Awaitable[bool]]) -> None:
        self.presence = presence
        self._follows_own = follows_own  # whether `/meet mine` is on for them: what presence can see
        self._install_url = public_url.rstrip("/") + USER_INSTALL_PATH
        self._session = session

    async def switch(self, actor: Actor, on: bool, response_url: str | None, respond: Any) -> None:
        tenant, user = actor.tenant, actor.user_id
        if not on:
            stopped = await self.presence.turn_off(tenant, user)
            text = ("Presence is off: meetbot gave back your status if it had set one, and signed out of your Slack "
                    "account." if stopped else "Presence wasn't on. Nothing changed.")
            await respond(**notice(text, emoji=":white_check_mark:"))
            return
        if await self.presence.turn_on(tenant, user):
            await respond(**presence_on_message(await self._follows_own(tenant, user)))
            return
        await respond(**sign_in_message(await self.sign_in_url(actor, response_url)))

    async def dnd(self, actor: Actor, on: bool, response_url: str | None, respond: Any) -> None:
        """`/meet presence dnd on|off`; on without the DND scopes in their grant: "Sign in with Slack" again."""
        outcome = await self.presence.set_dnd(actor.tenant, actor.user_id, on)
        if outcome == "not_offered":
            await respond(**notice(DND_NOT_OFFERED, emoji=":warning:"))
        elif outcome == "sign_in":
            await respond(**sign_in_message(await self.sign_in_url(actor, response_url), for_dnd=True))
        else:
            await respond(**dnd_message(on))

    async def sign_in_url(self, actor: Actor, response_url: str | None) -> str:
        """A single-use "Sign in with Slack" link for this person (told of the result at `response_url`)."""
        ticket = await self.presence.sign_in.start(actor.tenant, actor.user_id, response_url)
        return f"{self._install_url}?{urlencode({'ticket': ticket})}"

    async def home(self, actor: Actor) -> PresenceSection:
        """The Home tab's switch: on or off, and a sign-in link when meetbot holds no Slack token of theirs."""
        if await self.presence.sign_in.token(actor.tenant, actor.user_id) is None:
            return False, await self.sign_in_url(actor, None)
        return await self.presence.is_on(actor.tenant, actor.user_id), None

    async def signed_in(self, outcome: SignInOutcome) -> None:
        """After the browser came back: presence turns on for the person who asked, who is told where they asked."""
        pending = outcome.pending
        if pending is None:
            return
        if outcome.ok:
            await self.presence.turn_on(pending.tenant, pending.user_id)
        if pending.response_url:
            try:  # best effort: a response_url older than 30 minutes just won't answer
                await AsyncWebhookClient(pending.response_url, session=self._session, timeout=5).send_dict(
                    sign_in_result(outcome.reason, await self._follows_own(pending.tenant, pending.user_id)))
            except Exception as error:
                log.warning("could not answer in Slack about a Slack sign-in: %s", type(error).__name__)
