"""Bolt listeners: thin adapters from Slack payloads to the use cases, and from their results to Slack replies.

The app runs with `process_before_response=True`: Bolt answers Slack as soon as the listener returns, with no
10 ms ack polling. So a listener acks first and hands slow work (Google calls) to the bounded background runner,
which replies through `respond` (the response_url) or the Web API.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import BackgroundTasks
from bot.core.errors import InvalidSettings, StorageUnavailable
from bot.core.settings_catalog import parse_assignments
from bot.domain import Actor
from bot.jobs.queue import JobQueue
from bot.slack import grammar
from bot.slack.account_handlers import AccountHandlers
from bot.slack.clients import SlackClients
from bot.slack.home import HomeHandlers
from bot.slack.interaction import Interaction
from bot.slack.meeting_handlers import MeetingHandlers, settings_errors
from bot.slack.previews import PreviewHandlers
from bot.slack.replies import answering, is_expected, modal_text, reply_for
from bot.slack.responder import Reply, reliable, webhook_reply
from bot.slack.room_handlers import RoomHandlers, is_direct_message
from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name
from bot.slack.start_job import StartJob
from bot.slack.views.account import ACTION_CONNECT, ACTION_RETRY
from bot.slack.views.blocks import Message, notice
from bot.slack.views.help import help_message
from bot.slack.views.home import ACTION_DISCONNECT
from bot.slack.views.meeting import (
    ACTION_END,
    ACTION_JOIN,
    ACTION_SETTINGS,
    SETTINGS_CALLBACK,
    START_CALLBACK,
    end_target,
    settings_notice_modal,
    start_choices,
    start_modal,
)
from bot.slack.views.room import ACTION_ROOM_NEW
from bot.slack.views.unfurl import ACTION_STATUS_ME
from bot.store.dedupe import Deliveries
from bot.store.errors import is_unavailable

__all__ = ["SlackDeps", "register"]

log = logging.getLogger(__name__)

START_SHORTCUT = "meet_start"
STATUS_SHORTCUT = "meet_status_from_message"

Ack = Callable[..., Awaitable[None]]
Work = Callable[[], Coroutine[Any, Any, None]]
Later = Callable[[Work, str], None]  # what to do with the work a command starts after its ack
COMMAND_JOB = "slack.command"
END_CLICK_JOB = "slack.end-click"


@dataclass(frozen=True, slots=True)
class SlackDeps:
    deliveries: Deliveries
    tasks: BackgroundTasks
    meeting_handlers: MeetingHandlers
    accounts: AccountHandlers
    rooms: RoomHandlers
    previews: PreviewHandlers
    home: HomeHandlers
    start: StartJob
    jobs: JobQueue
    clients: SlackClients
    session: aiohttp.ClientSession  # for response_urls, when a job answers
    installations: AsyncInstallationStore | None = None  # many-workspace mode


def register(app: AsyncApp, deps: SlackDeps) -> None:
    listeners = _Listeners(deps)
    deps.jobs.job(COMMAND_JOB)(listeners.run_command_job)
    deps.jobs.job(END_CLICK_JOB)(listeners.run_end_click_job)
    app.command("/meet")(listeners.on_meet)
    app.action(ACTION_JOIN)(listeners.on_join)
    app.action(ACTION_END)(listeners.on_end_click)
    app.action(ACTION_SETTINGS)(listeners.on_settings_click)
    app.action(ACTION_RETRY)(listeners.on_retry_click)
    app.action(ACTION_ROOM_NEW)(listeners.on_room_new_click)
    app.action(ACTION_DISCONNECT)(listeners.on_disconnect_click)
    app.action(ACTION_CONNECT)(listeners.on_link_click)
    app.action(ACTION_STATUS_ME)(listeners.on_status_me_click)
    app.view(SETTINGS_CALLBACK)(listeners.on_settings_submit)
    app.view(START_CALLBACK)(listeners.on_start_submit)
    app.shortcut(START_SHORTCUT)(listeners.on_start_shortcut)
    app.shortcut(STATUS_SHORTCUT)(listeners.on_status_shortcut)
    app.event("link_shared")(listeners.on_link_shared)
    app.event("app_home_opened")(listeners.on_home_opened)
    app.event("app_uninstalled")(listeners.on_app_uninstalled)
    app.event("tokens_revoked")(listeners.on_tokens_revoked)


async def _raise(error: BaseException) -> None:
    """Work that only reports a failure that happened on the ack path."""
    raise error


async def _no_reply(**_: Any) -> None:
    """For work started where Slack gives no response_url (App Home buttons); the Home tab shows the result."""


class _Listeners:
    def __init__(self, deps: SlackDeps) -> None:
        self._deps = deps

    async def _guarded(self, actor: Actor, respond: Reply, work: Coroutine[Any, Any, None], *, name: str,
                       retry_text: str | None = None, response_url: str | None = None) -> None:
        """Run work that follows an ack; turn every failure into a plain-words reply, never silence."""

        async def prompt(reason: str) -> Message:
            return await self._deps.accounts.connect_prompt(actor, response_url, reason, retry_text)

        await answering(work, respond, prompt, name=name)

    def _background(self, actor: Actor, respond: Reply, work: Coroutine[Any, Any, None], *, name: str,
                    retry_text: str | None = None, response_url: str | None = None) -> None:
        """Run slow work after the ack, in this process."""
        self._deps.tasks.spawn(self._guarded(actor, respond, work, name=name, retry_text=retry_text,
                                             response_url=response_url), name=name)

    def _in_process(self, where: Interaction, respond: Reply, text: str) -> Later:
        def later(work: Work, name: str) -> None:
            self._background(where.actor, respond, work(), name=name, retry_text=text, response_url=where.response_url)

        return later

    # --- /meet -------------------------------------------------------------------------------------------------

    async def on_meet(self, ack: Ack, command: dict[str, Any], respond: Reply, client: AsyncWebClient) -> None:
        text = command.get("text", "")
        respond = reliable(respond)
        queued: list[str] = []

        def later(work: Work, name: str) -> None:
            queued.append(name)  # the work itself runs in the durable job, rebuilt from the command

        try:
            where = Interaction.of_command(command)
            immediate = await self._dispatch(grammar.parse(text), text, where, respond, client,
                                             str(command.get("channel_name") or ""), later)
            if queued:  # durable before the ack returns: a crash after the ack loses nothing
                await self._deps.jobs.enqueue(COMMAND_JOB, {"command": dict(command)},
                                              f"cmd-{where.actor.tenant.team_id}-{where.trigger_id or ''}")
        except Exception as error:
            if not is_expected(error):
                log.exception("/meet failed before its ack")
            immediate = reply_for(error)
        await ack(**immediate) if immediate else await ack()

    async def run_command_job(self, payload: dict[str, Any]) -> None:
        """The durable half of a `/meet` command: rebuilt from the command Slack sent, in any process."""
        command = payload["command"]
        where = Interaction.of_command(command)
        client = await self._deps.clients.for_tenant(where.actor.tenant)
        url = where.response_url
        respond = reliable(webhook_reply(url, self._deps.session)) if url else _no_reply
        text = str(command.get("text", ""))
        works: list[tuple[Work, str]] = []
        immediate = await self._dispatch(grammar.parse(text), text, where, respond, client,
                                         str(command.get("channel_name") or ""), lambda w, n: works.append((w, n)))
        if immediate:
            await respond(**immediate)
        for work, name in works:
            await self._guarded(where.actor, respond, work(), name=name, retry_text=text, response_url=url)

    async def _dispatch(self, parsed: grammar.Command, text: str, where: Interaction, respond: Reply,
                        client: AsyncWebClient, channel_name: str, later: Later) -> Message | None:
        """Answer in the ack when no outside call is needed; otherwise hand the work to `later` and ack empty."""
        actor, url = where.actor, where.response_url
        meetings, accounts = self._deps.meeting_handlers, self._deps.accounts

        match parsed:
            case grammar.Help():
                return help_message()
            case grammar.Unknown(problem=problem, suggestion=suggestion):
                return help_message(problem, suggestion)
            case grammar.New(title=title, access=access):
                # Durable: queued before the ack returns, so a crash after the ack loses nothing.
                await self._deps.start.enqueue(actor, title, access, where.channel_id or "", where.trigger_id or "",
                                               url, text)
            case grammar.Status(reference=reference):
                later(lambda: meetings.status(actor, reference, respond, client), "status")
            case grammar.End(reference=reference):
                later(lambda: self._then_home(actor, client, meetings.end(actor, reference, respond, client)), "end")
            case grammar.Set():
                try:
                    parse_assignments(parsed.assignments)
                except InvalidSettings as invalid:
                    return reply_for(invalid)
                later(lambda: meetings.change(actor, parsed, respond), "set")
            case grammar.OpenSettings(reference=reference):
                later(lambda: meetings.open_settings(actor, reference, where.trigger_id or "", where.channel_id,
                                                     client), "settings")
            case grammar.ShowHistory(reference=reference):
                later(lambda: meetings.history(actor, reference, respond, client), "history")
            case grammar.Connect():
                return await accounts.connect(actor, url)
            case grammar.Disconnect():
                later(lambda: accounts.disconnect(actor, respond), "disconnect")
            case grammar.Me():
                return await accounts.me(actor)
            case grammar.RoomAction(action=action, reference=room_reference):
                channel = where.channel_id or ""
                if is_direct_message(channel, channel_name):
                    return notice("Rooms belong to channels. Run `/meet room` in the channel that should have one.")
                rooms = self._deps.rooms
                works: dict[str, Work] = {
                    "show": lambda: rooms.show(actor, channel, respond, client),
                    "new": lambda: rooms.create(actor, channel, respond, client),
                    "set": lambda: rooms.adopt(actor, channel, room_reference or "", respond, client),
                    "clear": lambda: rooms.clear(actor, channel, respond, client),
                }
                work = works[action]
                later(lambda: self._then_home(actor, client, work()), f"room-{action}")
        return None

    def _then_home(self, actor: Actor, client: AsyncWebClient, work: Coroutine[Any, Any, None]
                   ) -> Coroutine[Any, Any, None]:
        """After work that changes what the Home tab shows, republish it if the user has one (never failing)."""

        async def chained() -> None:
            try:
                await work
            finally:
                self._deps.tasks.spawn(self._deps.home.refresh_if_published(actor, client), name="home")

        return chained()

    # --- buttons and modals ------------------------------------------------------------------------------------

    async def on_join(self, ack: Ack) -> None:
        await ack()  # a link button still sends an action; Slack opens the URL itself

    async def on_end_click(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Reply,
                           client: AsyncWebClient) -> None:
        """Durable like the commands: queued before the ack under the click's own id, run by any process."""
        where = Interaction.of_payload(body)
        job_id = f"end-{where.actor.tenant.team_id}-{where.actor.user_id}-{action.get('action_ts') or ''}"
        try:
            await self._deps.jobs.enqueue(END_CLICK_JOB, {"body": body, "action": action}, job_id)
        except Exception as error:
            if not is_expected(error):
                raise
            self._background(where.actor, _ephemeral(respond), _raise(error), name="end-click",
                             response_url=where.response_url)
        await ack()

    async def run_end_click_job(self, payload: dict[str, Any]) -> None:
        body, action = payload["body"], payload["action"]
        where = Interaction.of_payload(body)
        client = await self._deps.clients.for_tenant(where.actor.tenant)
        url = where.response_url
        ephemeral = _ephemeral(webhook_reply(url, self._deps.session)) if url else _no_reply
        space_name, label = end_target(str(action.get("value") or ""))
        work = self._deps.meeting_handlers.end(where.actor, space_name, ephemeral, client, card=where.card,
                                               label=label)
        await self._guarded(where.actor, ephemeral, work, name="end-click", response_url=url)

    async def on_settings_click(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Reply,
                                client: AsyncWebClient) -> None:
        await ack()
        where = Interaction.of_payload(body)
        work = self._deps.meeting_handlers.open_settings(where.actor, str(action.get("value") or ""),
                                                         where.trigger_id or "", where.channel_id, client)
        self._background(where.actor, _ephemeral(respond), work, name="settings-click",
                         response_url=where.response_url)

    async def on_retry_click(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Reply,
                             client: AsyncWebClient) -> None:
        """"Try again" after connecting: re-run the command the user typed, as them, where they typed it."""
        await ack()
        where = Interaction.of_payload(body)
        actor, text = where.actor, str(action.get("value") or "")
        reply = await self._dispatch(grammar.parse(text), text, where, _ephemeral(respond), client, "",
                                     self._in_process(where, _ephemeral(respond), text))
        if reply:  # posted after the ack: Bolt answers Slack only once the listener returns
            ephemeral = _ephemeral(respond)

            async def post() -> None:
                await ephemeral(**reply)

            self._background(actor, ephemeral, post(), name="retry-reply")

    async def on_settings_submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any],
                                 client: AsyncWebClient) -> None:
        errors = settings_errors(view)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="update", view=settings_notice_modal(":hourglass_flowing_sand: Saving…"))
        actor = Interaction.of_payload(body).actor

        async def save() -> None:
            try:
                await self._deps.meeting_handlers.save_settings(actor, view, client)
            except Exception as error:
                if not is_expected(error):
                    log.exception("saving settings failed")
                await client.views_update(view_id=view["id"], view=settings_notice_modal(modal_text(error)))

        self._deps.tasks.spawn(save(), name="settings-save")

    async def on_room_new_click(self, ack: Ack, body: dict[str, Any], respond: Reply, client: AsyncWebClient
                                ) -> None:
        await ack()
        where = Interaction.of_payload(body)
        actor, reply = where.actor, _ephemeral(respond)
        self._background(actor, reply, self._then_home(actor, client, self._deps.rooms.create(
            actor, where.channel_id or "", reply, client)), name="room-new", response_url=where.response_url)

    async def on_disconnect_click(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        actor = Interaction.of_payload(body).actor
        work = self._then_home(actor, client, self._deps.accounts.disconnect(actor, _no_reply))
        self._background(actor, _no_reply, work, name="home-disconnect")

    async def on_link_click(self, ack: Ack) -> None:
        await ack()  # a URL button (Connect): Slack opens the link itself

    async def on_start_shortcut(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Bolt answers Slack only when a listener returns, so the modal opens after the ack, not before."""
        await ack()

        async def open_modal() -> None:
            try:
                await client.views_open(trigger_id=Interaction.of_payload(body).trigger_id or "", view=start_modal())
            except SLACK_FAILURES as error:
                log.warning("the Start a Meet modal did not open: %s", slack_error_name(error))

        self._deps.tasks.spawn(open_modal(), name="start-shortcut")

    async def on_start_submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any],
                              client: AsyncWebClient) -> None:
        title, access_word, channel = start_choices(view)
        if not channel:
            await ack(response_action="errors", errors={"channel": "Choose where to post the meeting."})
            return
        actor = Interaction.of_payload(body).actor
        access = grammar.Access(access_word) if access_word else None
        # Durable, under the view's id; no response_url from a modal, so the job answers in the DM.
        try:
            await self._deps.start.enqueue(actor, title, access, channel, str(view.get("id") or ""), None)
        except Exception as error:
            if not is_expected(error):
                raise
            await ack(response_action="errors", errors={"channel": StorageUnavailable().reason})
            return
        await ack()

    async def on_status_me_click(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Reply
                                 ) -> None:
        """"Status for me" on an unfurl: the clicker's own view, privately, as Google shows it to them."""
        await ack()
        where = Interaction.of_payload(body)
        actor, reply = where.actor, _ephemeral(respond)

        async def show() -> None:
            await reply(**await self._deps.previews.status_for(actor, str(action.get("value") or "")))

        self._background(actor, reply, show(), name="status-me", response_url=where.response_url)

    async def on_status_shortcut(self, ack: Ack, body: dict[str, Any], respond: Reply) -> None:
        await ack()
        where = Interaction.of_payload(body)
        actor, reply = where.actor, _ephemeral(respond)

        async def show() -> None:
            await reply(**await self._deps.previews.shortcut(actor, body.get("message") or {}))

        self._background(actor, reply, show(), name="status-shortcut", response_url=where.response_url)

    async def _first_delivery(self, body: dict[str, Any]) -> bool:
        """Slack retries an event it thinks failed; the first delivery of each event_id wins, across processes.

        Checked inside the event listeners that act, not as global middleware: Bolt builds a middleware's
        arguments on every request, which cost a fifth of the ack path for commands that never need it.
        """
        event_id = body.get("event_id")
        if not isinstance(event_id, str):
            return True
        try:
            first = await self._deps.deliveries.first_event(event_id)
        except Exception as error:
            if not is_unavailable(error):
                raise
            log.warning("event dedupe skipped: Redis unavailable")
            return True  # better a rare duplicate than a lost event while Redis is down
        if not first:
            log.info("duplicate delivery of %s ignored", event_id)
        return first

    async def on_link_shared(self, ack: Ack, body: dict[str, Any], event: dict[str, Any],
                             client: AsyncWebClient) -> None:
        await ack()
        if not await self._first_delivery(body):
            return
        actor = Interaction.of_event(body, event).actor
        self._background(actor, _no_reply, self._deps.previews.unfurl(actor, event, client), name="unfurl")

    async def on_home_opened(self, ack: Ack, body: dict[str, Any], event: dict[str, Any],
                             client: AsyncWebClient) -> None:
        await ack()
        if event.get("tab") == "home" and await self._first_delivery(body):
            actor = Interaction.of_event(body, event).actor
            self._deps.tasks.spawn(self._deps.home.refresh(actor, client), name="home")

    async def on_app_uninstalled(self, ack: Ack, body: dict[str, Any], event: dict[str, Any],
                                 context: AsyncBoltContext) -> None:
        """Uninstalled: every Google grant given in this workspace is revoked and forgotten, and so is the
        installation. Nothing of the workspace stays usable."""
        await ack()
        if not await self._first_delivery(body):
            return
        tenant = Interaction.of_event(body, event).actor.tenant
        installations = self._deps.installations

        async def forget() -> None:
            await self._deps.accounts.accounts.forget(tenant)
            if installations is not None:
                await AsyncTokenRevocationListeners(installations).handle_app_uninstalled_events(context)

        self._deps.tasks.spawn(self._logged(forget(), "app_uninstalled"), name="uninstalled")

    async def on_tokens_revoked(self, ack: Ack, body: dict[str, Any], event: dict[str, Any],
                                context: AsyncBoltContext) -> None:
        """Slack revoked tokens: the bot's (meetbot is gone from the workspace: forget everyone) or some users'
        (forget those users' Google links)."""
        await ack()
        if not await self._first_delivery(body):
            return
        tenant = Interaction.of_event(body, event).actor.tenant
        found = event.get("tokens")
        tokens: dict[str, Any] = found if isinstance(found, dict) else {}
        users = [str(u) for u in tokens.get("oauth") or [] if isinstance(u, str)]
        whole_workspace = bool(tokens.get("bot"))
        installations = self._deps.installations

        async def forget() -> None:
            await self._deps.accounts.accounts.forget(tenant, None if whole_workspace else users)
            if installations is not None:
                await AsyncTokenRevocationListeners(installations).handle_tokens_revoked_events(event, context)

        self._deps.tasks.spawn(self._logged(forget(), "tokens_revoked"), name="revoked")

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except Exception:
            log.exception("handling %s failed", what)


def _ephemeral(respond: Reply) -> Reply:
    """Replies to a click go only to the clicker, and never replace the card."""

    sure = reliable(respond)

    async def reply(**message: Any) -> Any:
        message.setdefault("response_type", "ephemeral")
        message.setdefault("replace_original", False)
        return await sure(**message)

    return reply

