"""Starting a meeting is a durable job (bot/jobs): enqueued before the ack returns, under Slack's own id, and
run at least once by any process. Its progress record makes a re-run after a crash resume: a space already
created is reused, a card already posted is not posted again, and the user always hears how it ended.

Creates are paced by Google's per-project quota, shared by every process (CreatePacer): a create that must wait
for its slot tells the user at once that the meeting is queued and roughly when, and the job retries then.

The payload is plain data; the worker rebuilds the Slack client and the response_url reply from it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import aiohttp

from bot.core.errors import RateLimited
from bot.core.ports import CreatePacer
from bot.domain import Actor, Tenant
from bot.jobs.queue import JobQueue, Payload, Retry, tries_left
from bot.slack import grammar
from bot.slack.account_handlers import AccountHandlers
from bot.slack.clients import SlackClients
from bot.slack.home import HomeHandlers
from bot.slack.meeting_handlers import MeetingHandlers
from bot.slack.replies import answering
from bot.slack.responder import Reply, dm_reply, reliable, webhook_reply
from bot.slack.views.blocks import Message, notice
from bot.store.progress import JobProgress

__all__ = ["START_JOB", "StartJob"]

log = logging.getLogger(__name__)

START_JOB = "meeting.start"
ON_TIME = 0.05  # a slot this close is taken now rather than after a retry


@dataclass(frozen=True, slots=True)
class _Progress:
    store: JobProgress
    job_id: str

    async def done(self) -> dict[str, str]:
        return await self.store.done(self.job_id)

    async def note(self, step: str, value: str) -> None:
        await self.store.note(self.job_id, step, value)


@dataclass(frozen=True, slots=True)
class StartJob:
    jobs: JobQueue
    handlers: MeetingHandlers
    accounts: AccountHandlers
    home: HomeHandlers
    clients: SlackClients
    session: aiohttp.ClientSession
    progress: JobProgress
    pacer: CreatePacer

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
        await self.jobs.enqueue(START_JOB, payload, job_id)

    async def run(self, payload: Payload) -> None:
        actor = Actor(Tenant(str(payload["team"]), payload.get("enterprise")), str(payload["user"]))
        client = await self.clients.for_tenant(actor.tenant)
        url = payload.get("response_url")
        respond: Reply | None = reliable(webhook_reply(url, self.session)) if url else None
        tell = respond or dm_reply(client, actor.user_id)  # a modal has no response_url: the DM with meetbot
        access = grammar.Access(payload["access"]) if payload.get("access") else None
        progress = _Progress(self.progress, str(payload["job"]))

        async def start() -> None:
            try:
                await self._paced(progress, tell)
                home = await self.handlers.start(actor, payload.get("title"), access, str(payload["channel"]),
                                                 client, respond, progress)
                await self.handlers.start_cohosts(actor, payload.get("title"), payload.get("cohosts") or [], client,
                                                  tell, progress)
                if home:
                    await self.home.refresh(actor, client)
            except RateLimited as limited:
                if not tries_left():
                    raise  # the last try: answered below in plain words, with when to try again
                wait = limited.retry_after or 30
                await self._queued(progress, tell, wait)
                raise Retry(wait) from None

        async def prompt(reason: str) -> Message:
            return await self.accounts.connect_prompt(actor, url, reason, payload.get("retry_text"))

        await answering(start(), tell, prompt, name="starting a meeting", passthrough=(Retry,))

    async def _paced(self, progress: _Progress, tell: Reply) -> None:
        """Wait for this create's slot in the project's quota, reserved once per job (a re-run keeps it)."""
        done = await progress.done()
        if "space" in done:
            return
        if "slot" in done:
            slot = float(done["slot"])
        else:
            slot = time.time() + await self.pacer.reserve()
            await progress.note("slot", f"{slot:.3f}")
        left = slot - time.time()
        if left > ON_TIME:
            await self._queued(progress, tell, left)
            raise Retry(left)

    async def _queued(self, progress: _Progress, tell: Reply, wait: float) -> None:
        """Google's create quota is spent for now: say once that the meeting is coming, and when."""
        if "told_queued" in await progress.done():
            return
        seconds = max(1, round(wait))
        await tell(**notice(f"Google is busy creating meetings right now, so yours is queued: it will be posted "
                            f"here in about {seconds} second{'s' if seconds != 1 else ''}.",
                            emoji=":hourglass_flowing_sand:"))
        await progress.note("told_queued", str(seconds))
