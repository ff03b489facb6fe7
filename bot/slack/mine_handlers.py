"""`/meet mine` on the Slack side: the switch, and the personal DM recap of each of the person's meetings that
ended (posted once, then edited as Google's files arrive, like the recap in a card's thread)."""

from __future__ import annotations

import logging
from typing import Any

from bot.core.mine import BOTH, Mine, MineUpdate
from bot.domain import Actor, Tenant
from bot.slack.clients import SlackClients
from bot.slack.live_cards import RecapMemory
from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name
from bot.slack.views.blocks import notice
from bot.slack.views.live import recap_message

__all__ = ["MineHandlers"]

log = logging.getLogger(__name__)


class MineHandlers:
    def __init__(self, mine: Mine, recaps: RecapMemory, clients: SlackClients) -> None:
        self.mine = mine
        self._recaps = recaps
        self._clients = clients

    async def switch(self, actor: Actor, mode: str | None, respond: Any) -> None:
        if mode is None:
            had = await self.mine.turn_off(actor.tenant, actor.user_id)
            text = ("meetbot stopped following your meetings and deleted what it kept about them."
                    if had else "meetbot wasn't following your meetings. Nothing changed.")
            await respond(**notice(text, emoji=":white_check_mark:"))
            return
        if not self.mine.enabled:
            await respond(**notice("This meetbot doesn't follow meetings (its operator turned following off), so "
                                   "it can't send you recaps.", emoji=":warning:"))
            return
        await self.mine.turn_on(actor.tenant, actor.user_id, mode)
        both = (" Meetings with a card in a channel get a DM too." if mode == BOTH else
                " Meetings with a card in a channel get their recap in the card's thread instead "
                "(`/meet mine both` for a DM too).")
        await respond(**notice(
            "meetbot now follows the Google Meet meetings you own or organised, also those started from Calendar, "
            "with the Google access you already gave. When one ends, you get a DM recap: when, how long, who came, "
            "and the recording, transcript and notes as Google makes them. Meetings you only join show on your "
            f"Home tab while they run, with no recap (Google shows who came only to the owner).{both} "
            "`/meet mine off` stops it.",
            emoji=":white_check_mark:"))

    async def refresh(self, tenant: Tenant, user_id: str) -> None:
        """One scheduled read for a person who opted in, and the DM recaps it calls for."""
        for update in await self.mine.read(tenant, user_id):
            await self._recap(tenant, update)

    async def _recap(self, tenant: Tenant, update: MineUpdate) -> None:
        """One DM per conference, ever: claimed in Redis before the post (the person's id stands for their DM)."""
        conference = update.meeting.state.conference or ""
        may_post, ts = await self._recaps.claim(tenant, update.user_id, conference)
        message = recap_message(update.meeting.state, update.meeting.title, names=True)  # their own token, their own DM
        client = await self._clients.for_tenant(tenant)
        try:
            if ts:  # kept as "channel/ts": chat.update needs the DM's own id
                channel, _, message_ts = ts.partition("/")
                await client.chat_update(channel=channel, ts=message_ts, **message)
            elif may_post:
                posted = await client.chat_postMessage(channel=update.user_id, **message)
                await self._recaps.posted(tenant, update.user_id, conference,
                                          f"{posted['channel']}/{posted['ts']}")
        except SLACK_FAILURES as error:
            log.warning("a personal recap was not posted or updated: %s", slack_error_name(error))
