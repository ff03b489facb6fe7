"""Slack side of account linking: `/meet connect`, `disconnect`, `me`, and the Connect prompt.

The Connect button is a plain link to Google's consent page with a fresh single-use `state`; the state remembers
who asked, where to answer, and the command to offer again once connected.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core.accounts import Accounts, LinkOutcome
from bot.core.meetings import Actor
from bot.slack.clients import NotInstalled, SlackClients
from bot.slack.directory import SlackDirectory
from bot.slack.messages import Message, notice
from bot.slack.mrkdwn import code, escape, plain

__all__ = ["SCOPE_FEATURES", "AccountHandlers", "connected_message", "link_refused_message"]

log = logging.getLogger(__name__)

ACTION_CONNECT = "meet_connect"
ACTION_RETRY = "meet_retry"
_SCOPE = "https://www.googleapis.com/auth/meetings.space."
# What each Meet scope lets meetbot do, in the words users see in `/meet me`.
SCOPE_FEATURES = {
    _SCOPE + "created": "start meetings, and see, end and configure the ones meetbot started",
    _SCOPE + "readonly": "see the status and history of any meeting you're in, including pasted links",
    _SCOPE + "settings": "change settings of any meeting you own, also ones started outside meetbot",
}


def _connect_blocks(lead: str, url: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": lead}},
        {
            "type": "actions",
            "block_id": "connect",
            "elements": [{
                "type": "button",
                "action_id": ACTION_CONNECT,
                "text": {"type": "plain_text", "text": "Connect Google account"},
                "url": url,
                "style": "primary",
            }],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            "The link works once, for you only, for 10 minutes. meetbot acts in Google Meet only as you, "
            "and only when you ask it to."}]},
    ]


def connected_message(email: str, scopes: tuple[str, ...], retry_text: str | None) -> Message:
    """Told in Slack after the browser comes back from Google."""
    allowed = [SCOPE_FEATURES[s] for s in scopes if s in SCOPE_FEATURES]
    lines = "\n".join(f"• {escape(a)}" for a in allowed) or "• nothing yet"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text":
        f":white_check_mark: Connected to Google as *{escape(email)}*. meetbot can now:\n{lines}"}}]
    if retry_text is not None:
        blocks.append({"type": "actions", "block_id": "retry", "elements": [{
            "type": "button",
            "action_id": ACTION_RETRY,
            "text": {"type": "plain_text", "text": f"Run /meet {retry_text}"[:75]},
            "value": retry_text[:2000],
        }]})
    return {"response_type": "ephemeral", "replace_original": False, "text": plain(f"Connected to Google as {email}"),
            "blocks": blocks}


def link_refused_message(outcome: LinkOutcome) -> Message | None:
    """Told in Slack when a sign-in came back but linked nothing; the Google account is never named here, since
    whoever consented may not be the person reading this."""
    if outcome.reason == "email_mismatch":
        text = (f"Nothing was connected: the Google account that signed in doesn't use your Slack email "
                f"(*{escape(outcome.slack_email or '')}*). Run `/meet connect` again and sign in with that "
                "account. If your Google account has another address, ask your Slack admin.")
    elif outcome.reason == "no_slack_email":
        text = ("Nothing was connected: your Slack profile has no email meetbot can see, so it can't check that "
                "the Google account is yours. Ask your Slack admin to add your email to your profile.")
    elif outcome.reason == "declined":
        text = "Nothing was connected: the person who signed in to Google cancelled on the confirmation page."
    else:
        return None
    return {**notice(text, emoji=":no_entry:"), "replace_original": False}


def link_announcement(email: str) -> Message:
    """The DM sent on every new link, so a link nobody asked for can't go unnoticed."""
    text = (f":link: Your Slack account is now connected to the Google account *{escape(email)}*. meetbot acts "
            "in Google Meet as that account when you ask it to. If this wasn't you, run `/meet disconnect`.")
    return {"text": plain(f"Connected to Google as {email}"), "blocks": [{"type": "section", "text": {
        "type": "mrkdwn", "text": text}}]}


@dataclass(frozen=True, slots=True)
class AccountHandlers:
    accounts: Accounts
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
        return await self.accounts.start_link(actor.tenant, actor.user_id, response_url, hint, retry_text)

    async def connect(self, actor: Actor, response_url: str | None) -> Message:
        if self.uses_delegation:
            return notice(
                "This workspace uses domain-wide delegation: meetbot acts as the Google account with your Slack "
                "email automatically, so there's nothing to connect."
            )
        link = await self.accounts.describe(actor.tenant, actor.user_id)
        lead = (f"You're connected as *{escape(link.google_email)}*. Connect again to switch accounts or grant "
                "more access." if link else
                "Connect your Google account so meetbot can start and manage meetings as you.")
        url = await self.link_url(actor, response_url, None, on_ack_path=True)
        return {"response_type": "ephemeral", "text": "Connect your Google account", "blocks":
                _connect_blocks(lead, url)}

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
                "blocks": _connect_blocks(lead, url)}

    async def disconnect(self, actor: Actor, respond: Any) -> None:
        if self.uses_delegation:
            await respond(**notice("This workspace uses domain-wide delegation; there is no personal connection "
                                   "to remove. Ask your Google admin to change delegation."))
            return
        outcome = await self.accounts.disconnect(actor.tenant, actor.user_id)
        if not outcome.was_linked:
            text = "Your Google account wasn't connected, so there was nothing to remove."
        elif outcome.revoked:
            text = "Disconnected: meetbot's access was revoked at Google and its copy of your tokens is deleted."
        else:
            text = ("Disconnected: meetbot deleted its copy of your tokens, but Google didn't confirm the revocation. "
                    "You can remove meetbot at https://myaccount.google.com/permissions.")
        await respond(**notice(text, emoji=":wave:"))

    async def me(self, actor: Actor) -> Message:
        if self.uses_delegation:
            email = await self.directory.email(actor.tenant, actor.user_id)
            who = f"*{escape(email)}*" if email else "the Google account with your Slack email (none is set)"
            return notice(f"This workspace uses domain-wide delegation: meetbot acts as {who}.")
        link = await self.accounts.describe(actor.tenant, actor.user_id)
        if link is None:
            return notice("Your Google account isn't connected. Run `/meet connect` to link it.")
        day = time.strftime("%Y-%m-%d", time.gmtime(link.linked_at))
        since = f"<!date^{int(link.linked_at)}^{{date_short}} {{time}}|{day}>"
        allowed = [f"• :white_check_mark: {escape(SCOPE_FEATURES[s])}" for s in SCOPE_FEATURES if s in link.scopes]
        blocked = [f"• :no_entry_sign: {escape(SCOPE_FEATURES[s])} (not granted)" for s in SCOPE_FEATURES
                   if s not in link.scopes]
        scopes = ", ".join(code(s.rsplit("/", 1)[-1]) for s in link.scopes)
        text = (f"Connected as *{escape(link.google_email)}* since {since}.\nGranted: {scopes}\n"
                + "\n".join(allowed + blocked))
        return {"response_type": "ephemeral", "text": plain(f"Connected as {link.google_email}"),
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
