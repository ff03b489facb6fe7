"""The App Home tab: Google connection, recent meetings with their status, rooms the user set up, and a guide.

Published with `views.publish` and the last view's `hash`: if another publish won the race, re-render and try
once more with the newer hash, so an older render never overwrites a newer one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.accounts import Accounts
from bot.core.meetings import Actor, Meetings
from bot.core.previews import LinkPreview, preview_links
from bot.core.rooms import Rooms
from bot.meet.links import parse_reference
from bot.slack.account_handlers import ACTION_CONNECT, AccountHandlers
from bot.slack.cards import join_button
from bot.slack.messages import usage_text
from bot.slack.mrkdwn import code, escape, truncate
from bot.store.keys import Keys
from bot.store.rooms import Room
from bot.store.spaces import SpaceInfo

__all__ = ["ACTION_DISCONNECT", "HomeHandlers", "home_view"]

log = logging.getLogger(__name__)

ACTION_DISCONNECT = "meet_disconnect"
HASH_TTL = 30 * 24 * 60 * 60
Block = dict[str, Any]


def _section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}
    if accessory:
        block["accessory"] = accessory
    return block


def _state(preview: LinkPreview | None) -> str:
    if preview is None or preview.status is None or preview.status.role == "other":
        return ""
    if preview.status.space.is_live:
        return f" · :large_green_circle: live, {len(preview.status.participants or ())} in the call"
    return " · idle"


def home_view(connection: str, connect_button: Block | None, recent: list[tuple[SpaceInfo, LinkPreview | None]],
              rooms: list[tuple[str, Room]]) -> dict[str, Any]:
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "meetbot"}},
        _section(connection, connect_button),
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Your recent meetings"}},
    ]
    if not recent:
        blocks.append(_section("None yet. Type `/meet` in any channel to start one."))
    for info, preview in recent:
        title = escape(info.title) if info.title else "Google Meet"
        join = join_button(info.meeting_uri)
        blocks.append(_section(f"*{title}* {code(info.meeting_code or info.space_name)}{_state(preview)}",
                               join[0] if join else None))
    blocks += [{"type": "divider"}, {"type": "header", "text": {"type": "plain_text", "text": "Rooms you set up"}}]
    blocks.append(_section("\n".join(f"• <#{channel}> {code(room.meeting_code or room.space_name)}"
                                     for channel, room in rooms) or "None. `/meet room` gives a channel one."))
    blocks += [{"type": "divider"}, _section("*How to use*\n" + usage_text())]
    return {"type": "home", "blocks": blocks[:100]}


@dataclass(slots=True)
class HomeHandlers:
    meetings: Meetings
    rooms: Rooms
    accounts: Accounts
    account_handlers: AccountHandlers
    redis: Redis
    keys: Keys
    # Per user: a refresh is running; True if another was asked for meanwhile (it runs once more, then stops).
    _running: dict[tuple[str, str], bool] = field(default_factory=dict)

    async def refresh_if_published(self, actor: Actor, client: AsyncWebClient) -> None:
        """After a change: re-render only for users who have a Home tab (they opened it at least once)."""
        try:
            published = await self.redis.exists(self.keys.home_hash(actor.tenant, actor.user_id))
        except Exception as error:
            log.warning("home tab check failed: %s", type(error).__name__)
            return
        if published:
            await self.refresh(actor, client)

    async def _connection(self, actor: Actor) -> tuple[str, Block | None, bool]:
        if self.accounts.uses_delegation:
            return ("Your workspace uses domain-wide delegation: meetbot acts as the Google account with your "
                    "Slack email.", None, True)
        link = await self.accounts.describe(actor.tenant, actor.user_id)
        if link is None:
            url = await self.account_handlers.link_url(actor, None, None)
            button = {"type": "button", "action_id": ACTION_CONNECT, "style": "primary", "url": url,
                      "text": {"type": "plain_text", "text": "Connect Google account"}}
            return ":link: Your Google account isn't connected.", button, False
        button = {"type": "button", "action_id": ACTION_DISCONNECT,
                  "text": {"type": "plain_text", "text": "Disconnect"},
                  "confirm": {"title": {"type": "plain_text", "text": "Disconnect Google?"},
                              "text": {"type": "mrkdwn", "text": "meetbot will revoke its access to your account."},
                              "confirm": {"type": "plain_text", "text": "Disconnect"},
                              "deny": {"type": "plain_text", "text": "Cancel"}}}
        return f":white_check_mark: Connected to Google as *{escape(link.google_email)}*.", button, True

    async def render(self, actor: Actor) -> dict[str, Any]:
        connection, button, linked = await self._connection(actor)
        recent = await self.meetings.recent(actor)
        previews: dict[str, LinkPreview] = {}
        if linked and recent:
            links = [(info.space_name, parse_reference(info.space_name)) for info in recent]
            previews = {p.url: p for p in await preview_links(self.meetings, actor, links, private=True, within=2.0)}
        rooms = await self.rooms.rooms_started_by(actor)
        return home_view(connection, button, [(i, previews.get(i.space_name)) for i in recent], rooms)

    async def refresh(self, actor: Actor, client: AsyncWebClient) -> None:
        """Publish, logging instead of raising: the Home tab is a convenience and must never disturb a command.

        Bursts coalesce: while one render runs for a user, further requests fold into a single re-run.
        """
        key = (actor.tenant.tag, actor.user_id)
        if key in self._running:
            self._running[key] = True
            return
        self._running[key] = False
        try:
            while True:
                try:
                    await self.publish(actor, client)
                except Exception as error:
                    log.warning("home tab not published: %s", type(error).__name__)
                if not self._running[key]:
                    break
                self._running[key] = False
        finally:
            del self._running[key]

    async def publish(self, actor: Actor, client: AsyncWebClient) -> None:
        key = self.keys.home_hash(actor.tenant, actor.user_id)
        for _ in range(2):
            view = await self.render(actor)
            last = await self.redis.get(key)
            args: dict[str, Any] = {"hash": last.decode()} if isinstance(last, bytes) else {}
            try:
                published = await client.views_publish(user_id=actor.user_id, view=view, **args)
            except SlackApiError as error:
                if error.response.get("error") != "hash_conflict":
                    raise
                log.info("home tab changed meanwhile; rendering again")
                continue
            new_hash = (published.get("view") or {}).get("hash")
            if new_hash:
                await self.redis.set(key, str(new_hash), ex=HASH_TTL)
            return
