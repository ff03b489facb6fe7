"""Bolt listeners: thin adapters from Slack payloads to the use cases, and from their results to Slack replies.
`routes` is the one table of them (Slack id → how it is acknowledged → its job → its work); `/meet` goes on to
the command table (bot/slack/commands.py).

The app runs with `process_before_response=True`: Bolt answers Slack as soon as the listener returns, with no
10 ms ack polling. So a listener queues its slow work (Google calls) as a durable job before it acks: `/meet` under
COMMAND_JOB, the start of a meeting under StartJob, and every other payload through `queued` (bot/slack/durable.py),
which stores the body Slack sent and re-dispatches it in whichever process takes the job. The job replies through
the response_url or the Web API, rebuilt from the payload.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_bolt.request.async_internals import build_async_context
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot import actions
from bot.background import BackgroundTasks
from bot.core.errors import NotOwner, StorageUnavailable
from bot.core.ports import Progress
from bot.core.settings_catalog import SETTINGS
from bot.domain import Actor
from bot.jobs.queue import JobQueue, Payload, Retry
from bot.jobs.sealed import Unopenable
from bot.slack import commands, grammar
from bot.slack.account_handlers import AccountHandlers
from bot.slack.clients import SlackClients
from bot.slack.durable import DurablePayloads, PayloadWork
from bot.slack.home import HomeHandlers
from bot.slack.interaction import Delivery, Interaction, SlackBody, SlackEvent, SubmittedView
from bot.slack.meeting_handlers import MeetingHandlers, settings_errors
from bot.slack.members_handlers import MembersHandlers
from bot.slack.mine_handlers import MineHandlers
from bot.slack.presence_handlers import PresenceHandlers
from bot.slack.previews import PreviewHandlers
from bot.slack.replies import answering, is_expected, modal_text, outcome_of, reply_for
from bot.slack.responder import Reply, reliable, webhook_reply
from bot.slack.room_handlers import RoomHandlers
from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name
from bot.slack.start_job import StartJob
from bot.slack.unopened import job_notice
from bot.slack.views.account import ACTION_CONNECT, ACTION_RETRY
from bot.slack.views.blocks import Message, notice
from bot.slack.views.card import (
    ACTION_END,
    ACTION_JOIN,
    ACTION_MANAGE,
    ACTION_SETTINGS,
    END_CONFIRM_CALLBACK,
    end_confirm_modal,
    end_confirmed,
    end_target,
    manage_target,
)
from bot.slack.views.help import text_answer
from bot.slack.views.home import ACTION_DISCONNECT, ACTION_HOME_START, ACTION_MINE, ACTION_PRESENCE
from bot.slack.views.presence import ACTION_SLACK_SIGN_IN
from bot.slack.views.room import ACTION_ROOM_NEW
from bot.slack.views.settings import SETTINGS_CALLBACK, settings_notice_modal
from bot.slack.views.start import START_CALLBACK, start_choices, start_modal
from bot.slack.views.unfurl import ACTION_STATUS_ME
from bot.store.progress import JobProgress

__all__ = ["SlackDeps", "register"]

log = logging.getLogger(__name__)

START_SHORTCUT = "meet_start"
STATUS_SHORTCUT = "meet_status_from_message"

Ack = Callable[..., Awaitable[None]]
Work = Callable[[], Coroutine[Any, Any, None]]
Later = Callable[[Work, str], None]  # what to do with the work a command starts after its ack
Listener = Callable[[Ack, dict[str, Any]], Awaitable[None]]  # Bolt hands a listener the body as a dict
COMMAND_JOB = "slack.command"
SETTINGS_SAVE = "settings-save"
RETRY_CLICK = "retry-click"
ROOM_NEW_CLICK = "room-new"
END_CONFIRMED = "end-confirmed"


@dataclass(frozen=True, slots=True)
class SlackDeps:
    tasks: BackgroundTasks
    meeting_handlers: MeetingHandlers
    accounts: AccountHandlers
    rooms: RoomHandlers
    previews: PreviewHandlers
    home: HomeHandlers
    start: StartJob
    jobs: JobQueue
    progress: JobProgress  # which payload jobs already finished
    clients: SlackClients
    session: aiohttp.ClientSession  # for response_urls, when a job answers
    members: MembersHandlers
    installations: AsyncInstallationStore | None = None  # many-workspace mode
    mine: MineHandlers | None = None  # `/meet mine`
    presence: PresenceHandlers | None = None  # `/meet presence`


Surface = Literal["command", "action", "view", "shortcut", "event"]  # Bolt's listener kinds


@dataclass(frozen=True, slots=True)
class Route:
    """One Slack payload: where Slack sends it (`surface` and Slack's id), how it is acknowledged, and the durable
    job that does its work. `ack` None: the standard ack, after `work(body)` is queued under `kind`; otherwise a
    listener that acks by itself (a validation, a modal that needs the trigger_id), queueing `kind` when it has
    one. Bolt only delivers the payload to its route: the table is the one router."""

    surface: Surface
    slack_id: str
    kind: str | None = None
    work: PayloadWork | None = None
    ack: Callable[..., Awaitable[None]] | None = None


def routes(on: _Listeners) -> tuple[Route, ...]:
    return (
        Route("command", "/meet", COMMAND_JOB, ack=on.on_meet),  # its job: run_command_job, a typed command
        Route("action", ACTION_JOIN, ack=on.on_join),  # two Redis calls, done in the ack
        Route("action", ACTION_CONNECT, ack=on.on_link_click),  # a URL button: Slack opens the link itself
        Route("action", ACTION_END, "end-click", on.end_click),
        Route("action", ACTION_SETTINGS, "settings-click", on.settings_click),
        Route("action", ACTION_MANAGE, "manage-click", on.manage_click),
        Route("action", ACTION_RETRY, RETRY_CLICK, on.retry_click),
        Route("action", ACTION_ROOM_NEW, ROOM_NEW_CLICK, on.room_new_click),
        Route("action", ACTION_DISCONNECT, "home-disconnect", on.disconnect_click),
        Route("action", ACTION_MINE, "home-mine", on.mine_click),
        Route("action", ACTION_PRESENCE, "home-presence", on.presence_click),
        Route("action", ACTION_SLACK_SIGN_IN, ack=on.on_link_click),  # a URL button, as Connect
        Route("action", ACTION_STATUS_ME, "status-me", on.status_me_click),
        Route("action", ACTION_HOME_START, ack=on.on_start_shortcut),  # the Home tab's Start a meeting: the modal
        Route("view", END_CONFIRM_CALLBACK, END_CONFIRMED, on.end_confirmed, ack=on.on_end_confirm_submit),
        Route("view", SETTINGS_CALLBACK, SETTINGS_SAVE, on.save_settings, ack=on.on_settings_submit),
        Route("view", START_CALLBACK, ack=on.on_start_submit),  # its job: the StartJob
        Route("shortcut", START_SHORTCUT, ack=on.on_start_shortcut),
        Route("shortcut", STATUS_SHORTCUT, "status-shortcut", on.status_shortcut),
        Route("event", "link_shared", "unfurl", on.link_shared),
        Route("event", "app_home_opened", "home-opened", on.home_opened),
        Route("event", "app_uninstalled", "app-uninstalled", on.app_uninstalled),
        Route("event", "tokens_revoked", "tokens-revoked", on.tokens_revoked),
        Route("event", "member_joined_channel", "channel-joined", on.channel_joined),
        Route("event", "member_left_channel", "channel-left", on.channel_left),
        Route("event", "user_change", "user-change", on.user_changed),
    )


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """Each route's listener on Bolt (the adapter: signatures, authorization, acks), each job's work on the queue."""
    payloads = DurablePayloads(deps.jobs, deps.progress)
    listeners = _Listeners(deps, payloads)
    deps.jobs.job(COMMAND_JOB)(listeners.run_command_job)
    bolt: dict[Surface, Callable[[str], Callable[[Listener], object]]] = {
        "command": app.command, "action": app.action, "view": app.view, "shortcut": app.shortcut, "event": app.event}
    table = routes(listeners)
    if len({(r.surface, r.slack_id) for r in table}) < len(table) or len({r.kind for r in table if r.kind}) < len(
            [r for r in table if r.kind]):
        raise ValueError("two routes for one Slack id, or two routes sharing a job kind")
    for route in table:
        if route.work is not None and route.kind is not None:
            payloads.handles(route.kind, route.work)
        listener = route.ack or (listeners.queued(route.kind, route.work) if route.kind and route.work else None)
        if listener is None:
            raise ValueError(f"the route {route.surface} {route.slack_id} has no listener")
        bolt[route.surface](route.slack_id)(listener)


_SUBVERBS = {grammar.RoomRecaps: "room recap", grammar.RoomMembership: "room members",
             grammar.RoomPeople: "room people"}


def verb(command: grammar.Command) -> str:
    """The action line's name of a command ("/meet new"): its row's word, never what the person typed."""
    spec = commands.spec_of(command)
    return "/meet " + (_SUBVERBS.get(type(command)) or (spec.word if spec else "unknown"))


async def _no_reply(**_: Any) -> None:
    """For work started where Slack gives no response_url (App Home buttons); the Home tab shows the result."""


class _Listeners:
    def __init__(self, deps: SlackDeps, payloads: DurablePayloads) -> None:
        self._deps = deps
        self._payloads = payloads
        self._commands = commands.CommandDeps(deps.meeting_handlers, deps.accounts, deps.rooms, deps.members,
                                              deps.start, self._then_home, deps.mine, deps.presence)

    def queued(self, kind: str, work: PayloadWork) -> Listener:
        """A listener that makes `work(body)` durable: queued before the ack under Slack's own id for the payload,
        run by any process. With Redis down it runs here instead, and answers the outage itself."""

        async def listener(ack: Ack, body: SlackBody) -> None:
            try:
                await self._payloads.enqueue(kind, body)
            except Exception as error:
                if not is_expected(error):
                    raise
                log.warning("the job queue is unavailable: %s runs in this process", kind)
                self._deps.tasks.spawn(self._payloads.now(kind, body), name=kind)
            await ack()

        return listener

    async def _rebuilt(self, delivery: Delivery) -> tuple[Interaction, AsyncWebClient, Reply]:
        """In a job: who clicked where, the workspace's client, and a private reply through the response_url."""
        where = delivery.where
        client = await self._deps.clients.for_tenant(where.actor.tenant)
        url = where.response_url
        return where, client, _ephemeral(webhook_reply(url, self._deps.session)) if url else _no_reply

    async def _event(self, delivery: Delivery) -> tuple[Actor, SlackEvent, AsyncWebClient]:
        actor = delivery.where.actor
        return actor, delivery.event or SlackEvent(""), await self._deps.clients.for_tenant(actor.tenant)

    async def _guarded(self, actor: Actor, respond: Reply, work: Coroutine[Any, Any, None], *, name: str,
                       retry_text: str | None = None, response_url: str | None = None) -> None:
        """Run work that follows an ack; turn every failure into a plain-words reply, never silence."""

        async def prompt(reason: str) -> Message:
            return await self._deps.accounts.connect_prompt(actor, response_url, reason, retry_text)

        await answering(work, respond, prompt, name=name, passthrough=(Retry,))  # a Retry: the job runs again

    # --- /meet -------------------------------------------------------------------------------------------------

    async def on_meet(self, ack: Ack, command: SlackBody, respond: Reply, client: AsyncWebClient) -> None:
        """Parse once, answer what needs no outside call in the ack, and queue the rest as a typed command job
        (the parsed command and the command Slack sent), durable before the ack returns."""
        text = command.get("text", "")
        parsed = commands.parse(text)
        with actions.action(verb(parsed), str(command.get("team_id") or ""), str(command.get("user_id") or "")
                            ) as action:
            try:
                where = Interaction.of_command(command)
                job_id = _command_job_id(where)
                run = self._run(where, reliable(respond), client, _text_and_channel(command),
                                self._deps.progress.of(job_id))
                immediate = await self._answer(parsed, run)
                spec = commands.spec_of(parsed)
                queued = immediate is None and spec is not None and spec.work is not None
                if queued:
                    actor = where.actor
                    await self._deps.jobs.enqueue(
                        COMMAND_JOB, {"command": dict(command), "parsed": grammar.encode(parsed)}, job_id,
                        notice=job_notice(actor.tenant.team_id, actor.tenant.enterprise_id, actor.user_id,
                                          where.response_url))
                # Work that goes on in a job (a start's included) is reported by the job, once, when it is done.
                action.quiet = immediate is None
            except Exception as error:
                if not is_expected(error):
                    log.exception("/meet failed before its ack")
                action.outcome = outcome_of(error)
                immediate = reply_for(error)
            await ack(**immediate) if immediate else await ack()

    async def run_command_job(self, payload: Payload) -> None:
        """The durable half of a `/meet` command, in any process: the command parsed on the ack path, run as is.
        A job of an older shape (the text only) is refused like any payload that can't be opened: its person is
        told to try again."""
        command = payload["command"]
        try:
            parsed = grammar.decode(payload.get("parsed"))
        except ValueError as why:
            raise Unopenable(f"of an older shape ({why})") from None
        spec = commands.spec_of(parsed)
        if spec is None or spec.work is None:
            raise Unopenable(f"a {type(parsed).__name__}, which runs no job")
        where = Interaction.of_command(command)
        with actions.action(verb(parsed), where.actor.tenant.team_id, where.actor.user_id):
            client = await self._deps.clients.for_tenant(where.actor.tenant)
            url = where.response_url
            respond = reliable(webhook_reply(url, self._deps.session)) if url else _no_reply
            run = self._run(where, respond, client, _text_and_channel(command),
                            self._deps.progress.of(_command_job_id(where)))
            await self._work(spec, parsed, run)

    def _run(self, where: Interaction, respond: Reply, client: AsyncWebClient, typed: tuple[str, str],
             progress: Progress) -> commands.Run:
        """`typed`: the command's text and the channel's name, as Slack sent them."""
        text, channel_name = typed
        again = text.strip() or "new"  # what "Try again" re-runs: a bare `/meet` starts one
        return commands.Run(self._commands, where, respond, client, channel_name, progress, again)

    @staticmethod
    async def _answer(parsed: grammar.Command, run: commands.Run) -> Message | None:
        """The reply that needs no outside call (help, a refusal, …), or None when the command's work goes on."""
        text = text_answer(parsed)
        if text is not None:
            return text
        spec = commands.spec_of(parsed)
        return await spec.answer(run, parsed) if spec is not None and spec.answer is not None else None

    async def _work(self, spec: commands.CommandSpec, parsed: grammar.Command, run: commands.Run) -> None:
        """A command's work, every failure answered (a Retry runs the job again)."""
        if spec.work is not None:
            await self._guarded(run.actor, run.respond, spec.work(run, parsed), name=spec.name_of(parsed),
                                retry_text=run.again, response_url=run.where.response_url)

    async def _dispatch_here(self, text: str, where: Interaction, respond: Reply, client: AsyncWebClient,
                             channel_name: str, progress: Progress) -> None:
        """In a job (whose record is `progress`), for text that was not parsed yet ("Try again" after
        connecting): answer what needs no outside call, then run the work."""
        parsed = commands.parse(text)
        run = self._run(where, respond, client, (text, channel_name), progress)
        immediate = await self._answer(parsed, run)
        if immediate:
            await respond(**immediate)
            return
        spec = commands.spec_of(parsed)
        if spec is not None:
            await self._work(spec, parsed, run)

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

    async def on_join(self, ack: Ack, body: SlackBody) -> None:
        """A link button still sends an action (Slack opens the URL itself): someone is joining, so a meeting
        whose cards meetbot had stopped following is followed again. Two Redis calls: done here, not queued."""
        await ack()
        clicked = Delivery.of(body)
        space_id = clicked.action_value
        if not space_id or "/" in space_id:
            return  # a card posted before Join buttons carried their space (or a forged value)
        tenant = clicked.where.actor.tenant
        await self._logged(self._deps.meeting_handlers.meetings.noticed(tenant, f"spaces/{space_id}", live=True),
                           "join-click")

    # Each work below runs in a job (see `queued`), rebuilt from the body Slack sent.

    async def end_click(self, clicked: Delivery) -> None:
        where, client, reply = await self._rebuilt(clicked)
        space_name, label = end_target(clicked.action_value)
        work = self._deps.meeting_handlers.end(where.actor, space_name, reply, client, card=where.card, label=label,
                                               progress=self._payloads.progress("end-click", clicked.raw))
        await self._guarded(where.actor, reply, work, name="end-click", response_url=where.response_url)

    async def settings_click(self, clicked: Delivery) -> None:
        """The modal opens with the click's trigger_id, which Slack honours for 3 s: a first run takes
        milliseconds to start; a re-run after a crash comes too late to open it and says so."""
        where, client, reply = await self._rebuilt(clicked)
        work = self._deps.meeting_handlers.open_settings(where.actor, clicked.action_value, where.trigger_id or "",
                                                         where.channel_id, client)
        await self._guarded(where.actor, reply, work, name="settings-click", response_url=where.response_url)

    async def manage_click(self, clicked: Delivery) -> None:
        """The card's menu: a non-owner is told privately who owns the meeting, before any dialog opens; the
        owner gets the End confirm dialog, or the settings."""
        where, client, reply = await self._rebuilt(clicked)
        what, space_name, label = manage_target(clicked.action_value)
        try:
            name = await self._deps.meeting_handlers.meetings.may_manage(
                where.actor, space_name, "settings" if what == "settings" else "end", label)
        except NotOwner as refusal:
            await reply(**reply_for(refusal))
            return
        if what == "settings":
            work = self._deps.meeting_handlers.open_settings(where.actor, space_name, where.trigger_id or "",
                                                             where.channel_id, client)
            await self._guarded(where.actor, reply, work, name="manage-click", response_url=where.response_url)
            return
        empty = await self._deps.meeting_handlers.meetings.followed_empty(where.actor.tenant, space_name)
        try:
            await client.views_open(trigger_id=where.trigger_id or "",
                                    view=end_confirm_modal(space_name, name, where.card, empty=empty))
        except SLACK_FAILURES as error:
            log.warning("the End confirm dialog did not open: %s", slack_error_name(error))
            await reply(**notice("Slack didn't open the confirm dialog in time. Please choose *End meeting…* again.",
                                 emoji=":warning:"))

    async def on_end_confirm_submit(self, ack: Ack, body: SlackBody) -> None:
        try:
            await self._payloads.enqueue(END_CONFIRMED, body)
        except Exception as error:
            if not is_expected(error):
                raise
            log.warning("the job queue is unavailable: %s runs in this process", END_CONFIRMED)
            self._deps.tasks.spawn(self._payloads.now(END_CONFIRMED, body), name=END_CONFIRMED)
        await ack()

    async def end_confirmed(self, submitted: Delivery) -> None:
        """The owner confirmed: end it as them, reply privately in the card's channel."""
        actor = submitted.where.actor
        client = await self._deps.clients.for_tenant(actor.tenant)
        space_name, label, card = end_confirmed(submitted.view or SubmittedView(""))

        async def reply(**message: Any) -> Any:
            if card is None:
                return None
            message.pop("response_type", None)
            message.pop("replace_original", None)
            return await client.chat_postEphemeral(channel=card.channel, user=actor.user_id, **message)

        work = self._deps.meeting_handlers.end(actor, space_name, reply, client, card=card, label=label,
                                               progress=self._payloads.progress(END_CONFIRMED, submitted.raw))
        await self._guarded(actor, reply, work, name=END_CONFIRMED)

    async def retry_click(self, clicked: Delivery) -> None:
        """"Try again" after connecting: re-run the command the user typed, as them, where they typed it."""
        where, client, reply = await self._rebuilt(clicked)
        await self._dispatch_here(clicked.action_value, where, reply, client, "",
                                  self._payloads.progress(RETRY_CLICK, clicked.raw))

    async def on_settings_submit(self, ack: Ack, body: SlackBody, view: SlackBody) -> None:
        errors = settings_errors(SubmittedView.of(view))
        if not errors:
            try:
                await self._payloads.enqueue(SETTINGS_SAVE, body)
            except Exception as error:
                if not is_expected(error):
                    raise
                errors = {SETTINGS[0].key: modal_text(error)}  # nothing queued: the form stays, to submit again
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="update", view=settings_notice_modal(":hourglass_flowing_sand: Saving…"))

    async def save_settings(self, submitted: Delivery) -> None:
        view = submitted.view or SubmittedView("")
        actor = submitted.where.actor
        client = await self._deps.clients.for_tenant(actor.tenant)
        try:
            await self._deps.meeting_handlers.save_settings(actor, view, client)
        except Exception as error:
            if not is_expected(error):
                log.exception("saving settings failed")
            await client.views_update(view_id=view.id, view=settings_notice_modal(modal_text(error)))

    async def room_new_click(self, clicked: Delivery) -> None:
        where, client, reply = await self._rebuilt(clicked)
        actor = where.actor
        progress = self._payloads.progress(ROOM_NEW_CLICK, clicked.raw)
        work = self._then_home(actor, client, self._deps.rooms.create(actor, where.channel_id or "", reply, client,
                                                                      progress))
        await self._guarded(actor, reply, work, name=ROOM_NEW_CLICK, response_url=where.response_url)

    async def disconnect_click(self, clicked: Delivery) -> None:
        where, client, _ = await self._rebuilt(clicked)
        work = self._then_home(where.actor, client, self._deps.accounts.disconnect(where.actor, _no_reply))
        await self._guarded(where.actor, _no_reply, work, name="home-disconnect")

    async def mine_click(self, clicked: Delivery) -> None:
        """The Home tab's "Follow my Google Meet meetings" box: ticked turns `/meet mine` on, unticked off."""
        where, client, _ = await self._rebuilt(clicked)
        mine = self._deps.mine
        if mine is None:
            return
        mode = "on" if clicked.ticked else None
        work = self._then_home(where.actor, client, mine.switch(where.actor, mode, _no_reply))
        await self._guarded(where.actor, _no_reply, work, name="home-mine")

    async def presence_click(self, clicked: Delivery) -> None:
        """The Home tab's "Slack status while in a call" box: ticked turns `/meet presence` on, unticked off."""
        where, client, _ = await self._rebuilt(clicked)
        presence = self._deps.presence
        if presence is None:
            return
        work = self._then_home(where.actor, client, presence.switch(where.actor, clicked.ticked, None, _no_reply))
        await self._guarded(where.actor, _no_reply, work, name="home-presence")

    async def on_link_click(self, ack: Ack) -> None:
        await ack()  # a URL button (Connect): Slack opens the link itself

    async def on_start_shortcut(self, ack: Ack, body: SlackBody, client: AsyncWebClient) -> None:
        """Not a job: the modal needs the shortcut's trigger_id, which Slack honours for 3 s, longer than a job
        held by a dead process waits to be taken over. A crash here loses only an empty modal; the user sees none
        open and clicks again. Bolt answers Slack only when a listener returns, so the modal opens after the ack."""
        await ack()

        async def open_modal() -> None:
            try:
                await client.views_open(trigger_id=Interaction.of_payload(body).trigger_id or "", view=start_modal())
            except SLACK_FAILURES as error:
                log.warning("the Start a Meet modal did not open: %s", slack_error_name(error))

        self._deps.tasks.spawn(open_modal(), name="start-shortcut")

    async def on_start_submit(self, ack: Ack, body: SlackBody, view: SlackBody) -> None:
        title, access_word, channel = start_choices(SubmittedView.of(view))
        if not channel:
            await ack(response_action="errors", errors={"channel": "Choose where to post the meeting."})
            return
        actor = Interaction.of_payload(body).actor
        access = grammar.Access(access_word) if access_word else None
        # Durable, under the view's id; no response_url from a modal, so the job answers in the DM.
        try:
            await self._deps.start.enqueue(actor, title, access, channel, SubmittedView.of(view).id, None)
        except Exception as error:
            if not is_expected(error):
                raise
            await ack(response_action="errors", errors={"channel": StorageUnavailable().reason})
            return
        await ack()

    async def status_me_click(self, clicked: Delivery) -> None:
        """"Status for me" on an unfurl: the clicker's own view, privately, as Google shows it to them."""
        where, _, reply = await self._rebuilt(clicked)

        async def show() -> None:
            await reply(**await self._deps.previews.status_for(where.actor, clicked.action_value, where.channel_id))

        await self._guarded(where.actor, reply, show(), name="status-me", response_url=where.response_url)

    async def status_shortcut(self, shortcut: Delivery) -> None:
        where, _, reply = await self._rebuilt(shortcut)

        async def show() -> None:
            await reply(**await self._deps.previews.shortcut(where.actor, shortcut.message_text, where.channel_id))

        await self._guarded(where.actor, reply, show(), name="status-shortcut", response_url=where.response_url)

    # --- events: each a job under its event_id, so Slack's retries of one event run it once ---------------------

    async def link_shared(self, delivered: Delivery) -> None:
        actor, event, client = await self._event(delivered)
        await self._guarded(actor, _no_reply, self._deps.previews.unfurl(actor, event, client), name="unfurl")

    async def channel_joined(self, delivered: Delivery) -> None:
        """Someone joined a channel: if its room follows the channel, they become a member of its space."""
        actor, event, _ = await self._event(delivered)  # failures propagate: the job runs again (idempotent writes)
        await self._deps.members.channel_joined(actor.tenant, event.channel or "", actor.user_id)

    async def channel_left(self, delivered: Delivery) -> None:
        actor, event, _ = await self._event(delivered)
        await self._deps.members.channel_left(actor.tenant, event.channel or "", actor.user_id)

    async def user_changed(self, delivered: Delivery) -> None:
        """A profile changed (its email, or the account was deactivated): the cached email is forgotten."""
        user_id = delivered.event.changed_user if delivered.event else None
        if user_id:
            tenant = delivered.where.actor.tenant
            await self._logged(self._deps.members.user_changed(tenant, user_id), "user_change")

    async def home_opened(self, delivered: Delivery) -> None:
        if delivered.event is not None and delivered.event.tab == "home":
            actor, _, client = await self._event(delivered)
            await self._logged(self._deps.home.refresh(actor, client, opened=True), "app_home_opened")

    async def app_uninstalled(self, delivered: Delivery) -> None:
        """Uninstalled: every Google grant given in this workspace is revoked and forgotten, and so is the
        installation. Nothing of the workspace stays usable."""
        tenant = delivered.where.actor.tenant
        installations = self._deps.installations

        async def forget() -> None:
            if self._deps.presence is not None:  # Slack revoked every token of the app: nothing to give back with
                await self._deps.presence.presence.forget(tenant)
            await self._deps.accounts.linking.forget(tenant)
            if self._deps.mine is not None:  # also people whose link was never kept here (delegation)
                await self._deps.mine.mine.forget(tenant)
            if installations is not None:
                context = _bolt_context(delivered.raw)
                await AsyncTokenRevocationListeners(installations).handle_app_uninstalled_events(context)

        await self._logged(forget(), "app_uninstalled")

    async def tokens_revoked(self, delivered: Delivery) -> None:
        """Slack revoked tokens: the bot's (meetbot is gone from the workspace: forget everyone) or some users'
        (forget those users' Google links)."""
        tenant = delivered.where.actor.tenant
        event = delivered.event or SlackEvent("")
        users = list(event.revoked_users)
        whole_workspace = event.revoked_bot
        installations = self._deps.installations

        async def forget() -> None:
            gone = None if whole_workspace else users
            presence = self._deps.presence
            if presence is not None:
                # meetbot's own revocations (`/meet presence off`, or the older token after a second sign-in) come
                # back as tokens_revoked too: they forget nothing, since what was revoked is already gone.
                echoes = [u for u in users if await presence.presence.sign_in.revoked_by_us(tenant, u)]
                gone = None if whole_workspace else [u for u in users if u not in echoes]
                await presence.presence.forget(tenant, gone)
            if gone is None or gone:
                await self._deps.accounts.linking.forget(tenant, gone)
                if self._deps.mine is not None:
                    await self._deps.mine.mine.forget(tenant, gone)
            if installations is not None:
                context = _bolt_context(delivered.raw)
                await AsyncTokenRevocationListeners(installations).handle_tokens_revoked_events(
                    dict(delivered.raw.get("event") or {}), context)

        await self._logged(forget(), "tokens_revoked")

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except Exception:
            log.exception("handling %s failed", what)


def _command_job_id(where: Interaction) -> str:
    """A `/meet` command's job is Slack's trigger_id for it: a retried delivery enqueues once."""
    return f"cmd-{where.actor.tenant.team_id}-{where.trigger_id or ''}"


def _text_and_channel(command: SlackBody) -> tuple[str, str]:
    """A slash command's text and its channel's name, as Slack sent them."""
    return str(command.get("text") or ""), str(command.get("channel_name") or "")


def _bolt_context(body: SlackBody) -> AsyncBoltContext:
    """Bolt's own context for a stored body: its token revocation listeners read the installation from it."""
    return build_async_context(AsyncBoltContext(), dict(body))


def _ephemeral(respond: Reply) -> Reply:
    """Replies to a click go only to the clicker, and never replace the card."""

    sure = reliable(respond)

    async def reply(**message: Any) -> Any:
        message.setdefault("response_type", "ephemeral")
        message.setdefault("replace_original", False)
        return await sure(**message)

    return reply

