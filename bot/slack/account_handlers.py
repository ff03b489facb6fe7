"""Slack side of account linking: `/meet connect`, `disconnect`, `me`, and the Connect prompt.

The Connect button is a plain link to Google's consent page with a fresh single-use `state`; the state remembers
who asked, where to answer, and the command to offer again once connected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core.linking import Linking, LinkOutcome
from bot.domain import Actor
from bot.slack.clients import NotInstalled, SlackClients
from bot.slack.directory import SlackDirectory
from bot.slack.mrkdwn import escape, plain
from bot.slack.views.account import (
    connect_blocks,
    connected_message,
    link_announcement,
    link_denied_message,
    link_refused_message,
    me_message,
)
from bot.slack.views.blocks import Message, notice

__all__ = ["AccountHandlers"]

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class AccountHandlers:
    linking: Linking
    directory: SlackDirectory
    uses_delegation: bool
    clients: SlackClients
    session: aiohttp.ClientSession  # for posting to response_urls

    async def receiver(self, actor: Actor) -> tuple[str, str]:
        """Who a Google account would be given to: (Slack user's name, workspace name), for the consent pages."""
        return await self.directory.names(actor.tenant, actor.user_id)

    async def announce(self, outcome: LinkOutcome) -> None:
        """After the browser came back: answer where `/meet connect` was typed, and DM every new link."""
        pending = outcome.pending
        if pending is None:
            return
        if outcome.ok:
            message: Message | None = connected_message(outcome.email or "", outcome.scopes, pending.retry_text)
        elif outcome.reason == "denied" and pending.response_url:
            # The Connect button they clicked held a one-time link, now used: a fresh one, so trying again works.
            hint = await self.directory.email(pending.tenant, pending.user_id)
            url = await self.linking.start_link(pending.tenant, pending.user_id, pending.response_url, hint,
                                                pending.retry_text)
            message = link_denied_message(url)
        else:
            message = link_refused_message(outcome)
        if message is not None and pending.response_url:
            await self._respond(pending.response_url, message)
        if outcome.ok:
            try:
                client = await self.clients.for_tenant(pending.tenant)
                await client.chat_postMessage(channel=pending.user_id, **link_announcement(outcome.email or ""))
            except (SlackApiError, NotInstalled, aiohttp.ClientError, TimeoutError) as error:
                log.warning("could not DM a new Google link: %s", type(error).__name__)

    async def _respond(self, response_url: str, message: Message) -> None:
        """Best effort: a response_url older than 30 minutes just won't answer."""
        try:
            await AsyncWebhookClient(response_url, session=self.session, timeout=5).send_dict(message)
        except Exception as error:
            log.warning("could not answer in Slack about a Google link: %s", type(error).__name__)

    async def link_url(self, actor: Actor, response_url: str | None, retry_text: str | None, *,
                       on_ack_path: bool = False) -> str:
        """Google's consent URL, with the Slack email as Google's login hint. On the ack path it asks Slack
        nothing and uses the email only if it is cached (the check at the callback asks Slack itself)."""
        if on_ack_path:
            hint = await self.directory.cached_email(actor.tenant, actor.user_id)
        else:
            hint = await self.directory.email(actor.tenant, actor.user_id)
        return await self.linking.start_link(actor.tenant, actor.user_id, response_url, hint, retry_text)

    async def connect(self, actor: Actor, response_url: str | None) -> Message:
        if self.uses_delegation:
            return notice(
                "This workspace uses domain-wide delegation: meetbot acts as the Google account with your Slack "
                "email automatically, so there's nothing to connect."
            )
        link = await self.linking.describe(actor.tenant, actor.user_id)
        lead = (f"You're connected as *{escape(link.google_email)}*. Connect again to switch accounts or grant "
                "more access." if link else
                "Connect your Google account so meetbot can start and manage meetings as you.")
        url = await self.link_url(actor, response_url, None, on_ack_path=True)
        return {"response_type": "ephemeral", "text": "Connect your Google account", "blocks":
                connect_blocks(lead, url)}

    async def connect_prompt(self, actor: Actor, response_url: str | None, reason: str,
                             retry_text: str | None) -> Message:
        """An unlinked (or revoked) user asked for something: explain, and offer Connect plus a one-click retry."""
        if self.uses_delegation:
            return notice(reason, emoji=":no_entry:")
        url = await self.link_url(actor, response_url, retry_text)
        # Promise a one-click retry only where there is a command to re-run and a place to offer it.
        then = ("Connect it once and meetbot will offer to run your command again." if retry_text and response_url
                else "Connect it once, then try again.")
        lead = f":link: {escape(reason)} {then}"
        return {"response_type": "ephemeral", "replace_original": False, "text": plain(reason),
                "blocks": connect_blocks(lead, url)}

    async def disconnect(self, actor: Actor, respond: Any) -> None:
        if self.uses_delegation:
            await respond(**notice("This workspace uses domain-wide delegation; there is no personal connection "
                                   "to remove. Ask your Google admin to change delegation."))
            return
        outcome = await self.linking.disconnect(actor.tenant, actor.user_id)
        if not outcome.was_linked:
            text = "Your Google account wasn't connected, so there was nothing to remove."
            emoji = ":information_source:"
        elif outcome.revoked:
            text = "Disconnected: meetbot's access was revoked at Google and its copy of your tokens is deleted."
            emoji = ":white_check_mark:"
        else:  # done only partly
            text = ("Disconnected: meetbot deleted its copy of your tokens, but Google didn't confirm the revocation. "
                    "You can remove meetbot at https://myaccount.google.com/permissions.")
            emoji = ":warning:"
        await respond(**notice(text, emoji=emoji))

    async def me(self, actor: Actor) -> Message:
        if self.uses_delegation:
            email = await self.directory.email(actor.tenant, actor.user_id)
            who = f"*{escape(email)}*" if email else "the Google account with your Slack email (none is set)"
            return notice(f"This workspace uses domain-wide delegation: meetbot acts as {who}.")
        link = await self.linking.describe(actor.tenant, actor.user_id)
        if link is None:
            return notice("Your Google account isn't connected. Run `/meet connect` to link it.")
        return me_message(link)
