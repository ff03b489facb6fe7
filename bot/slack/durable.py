"""One durable job for every acknowledged Slack payload (a click, a modal submission, a shortcut, an event).

The ack path stores the body Slack sent, as plain JSON, under Slack's own id for it; any process that runs jobs
re-dispatches that body to the work registered under its kind, which rebuilds its clients from the body. So a
crash after the ack loses nothing. Slack's retries and double clicks run once: the queue drops a second enqueue
under the same id while the first is waiting or running, and a job that finished is marked done in its progress
record, which a later delivery of the same id finds (marked after the work, so a crash mid-way still re-runs it).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from bot import actions
from bot.jobs.queue import JobQueue, Payload
from bot.slack.interaction import Delivery, Interaction, SlackBody
from bot.slack.unopened import JobNotice, job_notice
from bot.store.progress import JobProgress, JobRecord

__all__ = ["PAYLOAD_JOB", "DurablePayloads", "PayloadWork", "slack_id"]

PAYLOAD_JOB = "slack.payload"
DONE = "done"

PayloadWork = Callable[[Delivery], Coroutine[Any, Any, None]]


def slack_id(body: Mapping[str, Any]) -> str:
    """Slack's own id for a delivery: the same for a retry or a double click, distinct otherwise."""
    if isinstance(body.get("event_id"), str):
        return str(body["event_id"])
    user, team = _dict(body.get("user")), _dict(body.get("team"))
    team_id = str(user.get("team_id") or team.get("id") or "")
    who = f"{team_id}-{user.get('id') or ''}"
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], Mapping):
        return f"{who}-{actions[0].get('action_ts') or ''}"
    view = body.get("view")
    if body.get("type") == "view_submission" and isinstance(view, Mapping):
        return f"{who}-{view.get('id') or ''}"
    return f"{who}-{body.get('trigger_id') or body.get('action_ts') or ''}"


def _job_id(kind: str, body: Mapping[str, Any]) -> str:
    return f"{kind}-{slack_id(body)}"


def _interaction(body: Mapping[str, Any]) -> Interaction:
    event = body.get("event")
    return Interaction.of_event(body, event) if isinstance(event, Mapping) else Interaction.of_payload(body)


def _who(body: Mapping[str, Any]) -> tuple[str, str]:
    """The Slack team and user a payload or event came from, for the action line."""
    where = _interaction(body)
    return where.actor.tenant.team_id, where.actor.user_id


def _notice(body: Mapping[str, Any]) -> JobNotice | None:
    """Where to tell the person who sent this payload if its job can't be opened."""
    where = _interaction(body)
    tenant = where.actor.tenant
    return job_notice(tenant.team_id, tenant.enterprise_id, where.actor.user_id, where.response_url)


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class DurablePayloads:
    def __init__(self, jobs: JobQueue, progress: JobProgress) -> None:
        self._jobs = jobs
        self._progress = progress
        self._works: dict[str, PayloadWork] = {}
        jobs.job(PAYLOAD_JOB)(self._run)

    def handles(self, kind: str, work: PayloadWork) -> None:
        """`work(delivery)` does what a payload of `kind` asks, in whichever process takes the job."""
        self._works[kind] = work

    async def enqueue(self, kind: str, body: SlackBody) -> None:
        """On the ack path: one Redis round trip. Raises StorageUnavailable when Redis doesn't answer."""
        job_id = _job_id(kind, body)
        await self._jobs.enqueue(PAYLOAD_JOB, {"kind": kind, "body": dict(body), "id": job_id}, job_id,
                                 notice=_notice(body))

    def progress(self, kind: str, body: Mapping[str, Any]) -> JobRecord:
        """The progress record of the job that runs this payload, for work that must resume instead of repeat."""
        return self._progress.of(_job_id(kind, body))

    def now(self, kind: str, body: SlackBody) -> Coroutine[Any, Any, None]:
        """The same work, to run in this process when the queue can't be reached."""
        return self._works[kind](Delivery.of(body))

    async def _run(self, payload: Payload) -> None:
        job_id = str(payload["id"])
        if DONE in await self._progress.done(job_id):
            return  # Slack delivered this payload again after its job had finished
        body = payload["body"]
        with actions.action(str(payload["kind"]), *_who(body)):
            await self.now(str(payload["kind"]), body)
        await self._progress.note(job_id, DONE, "1")
