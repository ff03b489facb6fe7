"""The App Home tab: Google connection, recent meetings with their status, rooms the user set up, and a guide.

Published with `views.publish` and the last view's `hash`: if another publish won the race, re-render and try
once more with the newer hash, so an older render never overwrites a newer one. Renders coalesce across processes
(HomeRenders, in Redis): opens of the tab within a short window make one render, one Meet read and one publish.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.following import Following
from bot.core.linking import Linking
from bot.core.meetings import Meetings, MeetingStatus
from bot.core.mine import Mine
from bot.core.previews import LinkPreview, followed_status, preview_links
from bot.core.rooms import Rooms
from bot.domain import Actor, SpaceInfo
from bot.meet.links import parse_reference
from bot.slack.account_handlers import AccountHandlers
from bot.slack.mrkdwn import escape
from bot.slack.presence_handlers import PresenceHandlers
from bot.slack.views.account import connect_button
from bot.slack.views.blocks import Block, View
from bot.slack.views.home import MineSection, disconnect_button, home_view
from bot.store.slack_cache import HomeHashes, HomeRenders

__all__ = ["HomeHandlers"]

log = logging.getLogger(__name__)

@dataclass(slots=True)
class HomeHandlers:
    meetings: Meetings
    rooms: Rooms
    linking: Linking
    account_handlers: AccountHandlers
    hashes: HomeHashes
    renders: HomeRenders
    following: Following | None = None  # meetings it follows for the user cost no Google read
    mine: Mine | None = None  # `/meet mine`: its switch and the person's meetings (from Redis, no Google read)
    presence: PresenceHandlers | None = None  # `/meet presence`: its switch, or the "Sign in with Slack" button

    async def refresh_if_published(self, actor: Actor, client: AsyncWebClient) -> None:
        """After a change: re-render only for users who have a Home tab (they opened it at least once)."""
        try:
            published = await self.hashes.published(actor.tenant, actor.user_id)
        except Exception as error:
            log.warning("home tab check failed: %s", type(error).__name__)
            return
        if published:
            await self.refresh(actor, client)

    async def _connection(self, actor: Actor) -> tuple[str, Block | None, bool]:
        if self.linking.uses_delegation:
            return ("Your workspace uses domain-wide delegation: meetbot acts as the Google account with your "
                    "Slack email.", None, True)
        link = await self.linking.describe(actor.tenant, actor.user_id)
        if link is None:
            url = await self.account_handlers.link_url(actor, None, None)
            return ":link: Your Google account isn't connected.", connect_button(url), False
        return f":white_check_mark: Connected to Google as *{escape(link.google_email)}*.", disconnect_button(), True

    async def render(self, actor: Actor) -> View:
        connection, button, linked = await self._connection(actor)
        recent = await self.meetings.recent(actor)
        previews: dict[str, LinkPreview] = {}
        if linked and recent:
            links = [(info.space_name, parse_reference(info.space_name)) for info in recent]
            known = await self._followed(actor, recent)
            previews = {p.url: p for p in await preview_links(self.meetings, actor, links, private=True,
                                                               channel_id=None, within=2.0, known=known)}
        rooms = await self.rooms.rooms_started_by(actor)
        mine: MineSection | None = None
        if linked and self.mine is not None and self.mine.enabled:
            mode = await self.mine.mode(actor.tenant, actor.user_id)
            mine = (mode is not None, await self.mine.meetings(actor.tenant, actor.user_id) if mode else [])
        presence = await self.presence.home(actor) if linked and self.presence is not None else None
        return home_view(connection, button, [(i, previews.get(i.space_name)) for i in recent], rooms, mine,
                         presence)

    async def _followed(self, actor: Actor, recent: list[SpaceInfo]) -> dict[str, MeetingStatus]:
        if self.following is None:
            return {}
        known = {}
        for info in recent:
            if info.owner_user_id != actor.user_id:
                continue
            state = await self.following.fresh_state(actor.tenant, info.space_name, actor.user_id)
            if state is not None:
                known[info.space_name] = followed_status(info, state)
        return known

    async def refresh(self, actor: Actor, client: AsyncWebClient, *, opened: bool = False) -> None:
        """Publish, logging instead of raising: the Home tab is a convenience and must never disturb a command.

        Bursts coalesce across processes: while one renders a user's tab, a change folds into a single re-run and
        an `opened` tab into nothing; a tab opened just after a render is not rendered again.
        """
        token = secrets.token_hex(8)
        try:
            if not await self.renders.begin(actor.tenant, actor.user_id, token, changed=not opened):
                return
            while True:
                try:
                    await self.publish(actor, client)
                except Exception as error:
                    log.warning("home tab not published: %s", type(error).__name__)
                if not await self.renders.again(actor.tenant, actor.user_id, token):
                    return
        except Exception as error:  # Redis itself failing: the tab waits for the next open or change
            log.warning("home tab not rendered: %s", type(error).__name__)

    async def publish(self, actor: Actor, client: AsyncWebClient) -> None:
        for _ in range(2):
            view = await self.render(actor)
            last = await self.hashes.last(actor.tenant, actor.user_id)
            try:
                published = await client.views_publish(user_id=actor.user_id, view=view, hash=last or None)
            except SlackApiError as error:
                if error.response.get("error") != "hash_conflict":
                    raise
                log.info("home tab changed meanwhile; rendering again")
                continue
            new_hash = (published.get("view") or {}).get("hash")
            if new_hash:
                await self.hashes.remember(actor.tenant, actor.user_id, str(new_hash))
            return
