"""Starting a meeting is a durable job (bot/jobs): enqueued before the ack returns, under Slack's own id, and
run at least once by any process. Its progress record makes a re-run after a crash resume: a space already
created is reused, a card already posted is not posted again, and the user always hears how it ended.

Creates are paced by Google's per-project quota, shared by every process (CreateTurns, as rooms are): a create
that must wait for its slot tells the user at once that the meeting is queued and roughly when, and the job
retries then.

The payload is plain data; the worker rebuilds the Slack client and the response_url reply from it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp

from bot import actions
from bot.domain import Actor, Tenant
from bot.jobs.queue import JobQueue, Payload, Retry
from bot.slack import grammar
from bot.slack.account_handlers import AccountHandlers
from bot.slack.clients import SlackClients
from bot.slack.home import HomeHandlers
from bot.slack.meeting_handlers import MeetingHandlers
from bot.slack.pacing import CreateTurns
from bot.slack.replies import answering
from bot.slack.responder import Reply, dm_reply, reliable, webhook_reply
from bot.slack.unopened import job_notice
from bot.slack.views.blocks import Message
from bot.store.progress import JobProgress

__all__ = ["START_JOB", "StartJob"]

log = logging.getLogger(__name__)

START_JOB = "meeting.start"


@dataclass(frozen=True, slots=True)
class StartJob:
    jobs: JobQueue
    handlers: MeetingHandlers
    accounts: AccountHandlers
    home: HomeHandlers
    clients: SlackClients
    session: aiohttp.ClientSession
    progress: JobProgress
    turns: CreateTurns

    def register(self) -> None:
        self.jobs.job(START_JOB)(self.run)

    async def enqueue(self, actor: Actor, title: str | None, access: grammar.Access | None, channel_id: str,
                      request_id: str, response_url: str | None, retry_text: str | None = None,
                      cohosts: tuple[str, ...] = ()) -> None:
        """On the ack path: one Redis round trip. `request_id` is Slack's (trigger_id, or the modal's view id);
        `cohosts` are the Slack users to make co-hosts once the card is up."""
        job_id = f"start-{actor.tenant.team_id}-{request_id}"
        payload: Payload = {
            "job": job_id, "team": actor.tenant.team_id, "enterprise": actor.tenant.enterprise_id,
            "user": actor.user_id, "title": title, "access": access.value if access else None,
            "channel": channel_id, "response_url": response_url, "retry_text": retry_text,
            "cohosts": list(cohosts),
        }
        await self.jobs.enqueue(START_JOB, payload, job_id, notice=job_notice(
            actor.tenant.team_id, actor.tenant.enterprise_id, actor.user_id, response_url))

    async def run(self, payload: Payload) -> None:
        actor = Actor(Tenant(str(payload["team"]), payload.get("enterprise")), str(payload["user"]))
        client = await self.clients.for_tenant(actor.tenant)
        url = payload.get("response_url")
        respond: Reply | None = reliable(webhook_reply(url, self.session)) if url else None
        tell = respond or dm_reply(client, actor.user_id)  # a modal has no response_url: the DM with meetbot
        access = grammar.Access(payload["access"]) if payload.get("access") else None
        progress = self.progress.of(str(payload["job"]))

        async def start() -> None:
            home = await self.handlers.start(actor, payload.get("title"), access, str(payload["channel"]),
                                             client, respond, progress)
            await self.handlers.start_cohosts(actor, payload.get("title"), payload.get("cohosts") or [], client,
                                              tell, progress)
            if home:
                await self.home.refresh(actor, client)

        async def prompt(reason: str) -> Message:
            return await self.accounts.connect_prompt(actor, url, reason, payload.get("retry_text"))

        with actions.action("start meeting", actor.tenant.team_id, actor.user_id):
            await answering(self.turns.run(start, progress, tell, "yours"), tell, prompt,
                            name="starting a meeting", passthrough=(Retry,))
