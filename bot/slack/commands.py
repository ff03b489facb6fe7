"""The `/meet` command table: one `CommandSpec` a command word. The grammar (`parse`), `/meet help`, the "did you
mean" suggestions and the router (listeners.py) are all derived from it, so a new command is one row here plus its
use case and its reply view.

A row answers in two places. `answer` runs on the ack path and needs no outside call: it returns the reply (help,
a refusal, the Connect button), or None to go on. `work` runs in the durable command job, with the command parsed
once on the ack path and carried in the job (grammar.encode/decode), never parsed again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.call_people import google_assignments, people_choice
from bot.core.errors import InvalidSettings
from bot.core.ports import Progress
from bot.core.settings_catalog import SETTINGS, parse_assignments
from bot.domain import Actor
from bot.slack import grammar
from bot.slack.grammar import Command
from bot.slack.interaction import Interaction
from bot.slack.replies import reply_for
from bot.slack.responder import Reply
from bot.slack.room_handlers import is_direct_message
from bot.slack.views.attendance import attendance_message
from bot.slack.views.blocks import Message, notice
from bot.slack.views.presence import DND_NOT_OFFERED

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.account_handlers import AccountHandlers
    from bot.slack.meeting_handlers import MeetingHandlers
    from bot.slack.members_handlers import MembersHandlers
    from bot.slack.mine_handlers import MineHandlers
    from bot.slack.presence_handlers import PresenceHandlers
    from bot.slack.room_handlers import RoomHandlers
    from bot.slack.start_job import StartJob

__all__ = ["COMMANDS", "SUBCOMMANDS", "CommandDeps", "CommandSpec", "Run", "parse", "spec_of"]

Work = Coroutine[Any, Any, None]


@dataclass(frozen=True, slots=True)
class CommandDeps:
    """The use cases a command's row can call (Slack-side handlers and the core services behind them)."""

    meetings: MeetingHandlers
    accounts: AccountHandlers
    rooms: RoomHandlers
    members: MembersHandlers
    start: StartJob
    then_home: Callable[[Actor, AsyncWebClient, Work], Work]  # republish the Home tab after the work
    mine: MineHandlers | None = None  # `/meet mine`
    presence: PresenceHandlers | None = None  # `/meet presence` (None: "Sign in with Slack" isn't configured)


@dataclass(frozen=True, slots=True)
class Run:
    """One command being answered: who typed it where, how to reply (privately, through its response_url), the
    workspace's client, the channel's name (Slack's, to tell a DM), the job's record, and the text a "Try again"
    re-runs."""

    deps: CommandDeps
    where: Interaction
    respond: Reply
    client: AsyncWebClient
    channel_name: str
    progress: Progress
    again: str

    @property
    def actor(self) -> Actor:
        return self.where.actor

    @property
    def channel(self) -> str:
        return self.where.channel_id or ""


Answer = Callable[[Run, Any], Awaitable[Message | None]]
JobWork = Callable[[Run, Any], Work]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    word: str  # what follows /meet
    usage: str
    parser: grammar.Parser
    short: str  # its line in its help group: plain words and code spans, escaped when shown
    about: str  # its own help topic's text, the same way
    example: str
    topic: str | None  # the help group it is listed in (None: the help itself)
    types: tuple[type[Any], ...]  # the parsed commands this row runs
    answer: Answer | None = None
    work: JobWork | None = None
    job_name: Callable[[Any], str] | None = None  # how a failure names the work (default: the word)
    listed: bool = True  # False: its group explains it in lines of its own

    def name_of(self, command: Command) -> str:
        return self.job_name(command) if self.job_name else self.word


# --- the rows' answers and work -----------------------------------------------------------------------------------

async def _start(run: Run, command: grammar.New) -> Message | None:
    """Durable: the start is queued under its own job before the ack returns, so a crash after the ack loses
    nothing; the start job answers."""
    where = run.where
    await run.deps.start.enqueue(run.actor, command.title, command.access, run.channel, where.trigger_id or "",
                                 where.response_url, run.again, command.people)
    return None


async def _check_settings(run: Run, command: grammar.Set) -> Message | None:
    try:
        parse_assignments(google_assignments(command.assignments))
        people_choice(command.assignments)
    except InvalidSettings as invalid:
        return reply_for(invalid)
    return None


async def _connect(run: Run, command: grammar.Connect) -> Message | None:
    return await run.deps.accounts.connect(run.actor, run.where.response_url)


async def _me(run: Run, command: grammar.Me) -> Message | None:
    return await run.deps.accounts.me(run.actor)


_ROOM_IN_DM = {
    grammar.RoomAction: "Rooms belong to channels. Run `/meet room` in the channel that should have one.",
    grammar.RoomMembership: "Rooms belong to channels. Run `/meet room members on` in the channel whose people "
                            "should join its room without knocking.",
}


async def _room_here(run: Run, command: Command) -> Message | None:
    """Rooms belong to channels: refused in a DM (an admin's `default` choice is not about one channel)."""
    if getattr(command, "default", False) or not is_direct_message(run.channel, run.channel_name):
        return None
    if isinstance(command, grammar.RoomRecaps | grammar.RoomPeople):
        word = "recap" if isinstance(command, grammar.RoomRecaps) else "people"
        return notice(f"Rooms belong to channels. Run `/meet room {word} on` or `off` in the channel whose room "
                      "it is.")
    return notice(_ROOM_IN_DM[type(command)])


def _room(run: Run, command: Command) -> Work:
    rooms, actor, channel, respond, client = run.deps.rooms, run.actor, run.channel, run.respond, run.client
    match command:
        case grammar.RoomRecaps(on=on, default=default):
            return rooms.recaps(actor, channel, on, default, respond)
        case grammar.RoomPeople(on=on, default=default):
            return rooms.people(actor, channel, on, default, respond)
        case grammar.RoomMembership(on=on):
            return run.deps.members.room(actor, channel, on, run.where.response_url, run.where.trigger_id or "")
        case grammar.RoomAction(action="new"):
            work = rooms.create(actor, channel, respond, client, run.progress)
        case grammar.RoomAction(action="set", reference=reference):
            work = rooms.adopt(actor, channel, reference or "", respond, client)
        case grammar.RoomAction(action="clear"):
            work = rooms.clear(actor, channel, respond, client)
        case _:
            work = rooms.show(actor, channel, respond, client)
    return run.deps.then_home(actor, client, work)


async def _attendance(run: Run, command: grammar.ShowAttendance) -> None:
    attendance = await run.deps.meetings.meetings.attendance(run.actor, command.reference)
    await run.respond(**attendance_message(attendance))


async def _mine_here(run: Run, command: grammar.Mine) -> Message | None:
    if run.deps.mine is None:
        return notice("This meetbot doesn't follow people's own meetings.")
    return None


async def _mine(run: Run, command: grammar.Mine) -> None:
    if run.deps.mine is not None:
        await run.deps.mine.switch(run.actor, command.mode, run.respond)


async def _presence_here(run: Run, command: grammar.PresenceSwitch | grammar.PresenceDnd) -> Message | None:
    if run.deps.presence is None:
        return notice("This meetbot can't set Slack statuses: its operator hasn't set up \"Sign in with Slack\" "
                      "(the app's SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).", emoji=":warning:")
    if isinstance(command, grammar.PresenceDnd) and command.on and not run.deps.presence.presence.dnd_offered:
        return notice(DND_NOT_OFFERED, emoji=":warning:")
    return None


async def _presence(run: Run, command: grammar.PresenceSwitch | grammar.PresenceDnd) -> None:
    presence = run.deps.presence
    if presence is None:
        return
    if isinstance(command, grammar.PresenceDnd):
        await presence.dnd(run.actor, command.on, run.where.response_url, run.respond)
    else:
        await presence.switch(run.actor, command.on, run.where.response_url, run.respond)


def _room_job(command: Command) -> str:
    match command:
        case grammar.RoomRecaps():
            return "room-recaps"
        case grammar.RoomPeople():
            return "room-people"
        case grammar.RoomMembership():
            return "room-members"
        case grammar.RoomAction(action=action):
            return f"room-{action}"
    return "room"


# --- the table: in the order `/meet help` lists them ---------------------------------------------------------------

_SET_KEYS = "\n".join(f"• `{s.key}={'|'.join(s.values)}`: {s.label}" for s in SETTINGS)

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "new", "/meet new [title] [@people] [--open|--trusted|--restricted]", grammar.parse_new,
        "the same, with a title, co-hosts and who joins without knocking",
        "Starts a Google Meet and posts its card here. Everything is optional: a title, the people who co-host it "
        "(mention them), and who can join without knocking. `/meet` alone starts one without a title.",
        "/meet new Weekly sync @Bob --trusted", "start", (grammar.New,), answer=_start),
    CommandSpec(
        "status", "/meet status <meeting>", grammar.referring(grammar.Status),
        "whether a meeting is live, and who is in the call",
        "Shows whether a meeting is live and who is in the call. Its owner also sees the settings that differ from "
        "Google's defaults. `/meet <meeting>` does the same.", "/meet status abc-mnop-xyz", "check",
        (grammar.Status,),
        work=lambda run, c: run.deps.meetings.status(run.actor, c.reference, run.respond, run.client,
                                                     run.where.channel_id)),
    CommandSpec(
        "end", "/meet end <meeting>", grammar.referring(grammar.End), "end the call for everyone",
        "Ends the call for everyone in it. The meeting itself stays: anyone can start it again from its link. Only "
        "its owner can do this.", "/meet end abc-mnop-xyz", "manage", (grammar.End,),
        work=lambda run, c: run.deps.then_home(run.actor, run.client, run.deps.meetings.end(
            run.actor, c.reference, run.respond, run.client, progress=run.progress))),
    CommandSpec(
        "settings", "/meet settings <meeting>", grammar.referring(grammar.OpenSettings),
        "change who can join, moderation, recording and notes in a form",
        "Opens a form with the meeting's settings: who can join without knocking, host management, recording and "
        "notes, and its co-hosts. Only its owner can do this.", "/meet settings abc-mnop-xyz", "manage",
        (grammar.OpenSettings,),
        work=lambda run, c: run.deps.meetings.open_settings(run.actor, c.reference, run.where.trigger_id or "",
                                                            run.where.channel_id, run.client)),
    CommandSpec(
        "set", "/meet set <meeting> access=trusted moderation=on chat=hosts …", grammar.parse_set,
        "change settings in one line", "Changes settings in one line; only its owner can do this. The settings:\n"
        + _SET_KEYS, "/meet set abc-mnop-xyz access=trusted chat=hosts", "manage", (grammar.Set,),
        answer=_check_settings, work=lambda run, c: run.deps.meetings.change(run.actor, c, run.respond)),
    CommandSpec(
        "room", "/meet room [new | set <meeting> | clear | members on|off | recap on|off | people on|off]",
        grammar.parse_room, "this channel's standing meeting: show, create, adopt or forget it",
        "A channel can have a standing meeting, its room, that anyone in the channel can join at any time. "
        "`/meet room` posts its card; `new` creates one (you own it), `set <meeting>` makes an existing meeting the "
        "room, `clear` forgets it, `members on` lets the channel's people join without knocking, and `recap off` "
        "stops the recap after each call (an admin sets everyone's default with `recap default on|off`).",
        "/meet room new", "rooms",
        (grammar.RoomAction, grammar.RoomMembership, grammar.RoomRecaps, grammar.RoomPeople),
        answer=_room_here, work=_room, job_name=_room_job, listed=False),
    CommandSpec(
        "history", "/meet history <meeting>", grammar.referring(grammar.ShowHistory),
        "recent calls: when, how long, who came",
        "Lists the recent calls in a meeting: when each started, how long it lasted and who came. Google keeps "
        "calls for 30 days.", "/meet history abc-mnop-xyz", "check", (grammar.ShowHistory,),
        work=lambda run, c: run.deps.meetings.history(run.actor, c.reference, run.respond, run.client)),
    CommandSpec(
        "attendance", "/meet attendance <meeting>", grammar.referring(grammar.ShowAttendance),
        "who came to its last call: when each joined and left, and for how long",
        "Shows who came to a meeting's last call: when each person joined and left and how many minutes they were "
        "in it, guests and phone callers included. Only its owner can see it, and only they see the answer.",
        "/meet attendance abc-mnop-xyz", "check", (grammar.ShowAttendance,), work=_attendance),
    CommandSpec(
        "cohost", "/meet cohost <meeting> @person…", grammar.parse_people, "make people co-hosts",
        "Makes people co-hosts: they manage the call with you. Only the owner can do this, for meetings started "
        "with meetbot.", "/meet cohost abc-mnop-xyz @Bob", "manage", (grammar.Cohost,),
        work=lambda run, c: run.deps.members.cohost(run.actor, c, run.respond)),
    CommandSpec(
        "uncohost", "/meet uncohost <meeting> @person…", grammar.parse_people, "take co-hosting back",
        "Takes co-hosting back from people. Only the owner can do this.", "/meet uncohost abc-mnop-xyz @Bob",
        "manage", (grammar.Uncohost,), work=lambda run, c: run.deps.members.uncohost(run.actor, c, run.respond)),
    CommandSpec(
        "members", "/meet members <meeting>", grammar.referring(grammar.ShowMembers),
        "who are its members and co-hosts", "Lists a meeting's members and co-hosts. Only its owner can see them.",
        "/meet members abc-mnop-xyz", "manage", (grammar.ShowMembers,),
        work=lambda run, c: run.deps.members.show(run.actor, c.reference, run.respond)),
    CommandSpec(
        "connect", "/meet connect", grammar.bare(grammar.Connect()), "link your Google account",
        "Links your Google account, so meetbot can start and check meetings as you.", "/meet connect", "account",
        (grammar.Connect,), answer=_connect),
    CommandSpec(
        "disconnect", "/meet disconnect", grammar.bare(grammar.Disconnect()), "unlink it",
        "Unlinks your Google account; meetbot forgets its tokens.", "/meet disconnect", "account",
        (grammar.Disconnect,), work=lambda run, c: run.deps.accounts.disconnect(run.actor, run.respond)),
    CommandSpec(
        "me", "/meet me", grammar.bare(grammar.Me()), "which Google account is linked",
        "Shows which Google account is linked, and what it lets meetbot do.", "/meet me", "account", (grammar.Me,),
        answer=_me),
    CommandSpec(
        "mine", "/meet mine on|off|both", grammar.parse_mine,
        "a DM recap of every Google Meet you run, wherever it started",
        "Follows the Google Meet meetings you run, also those started from Calendar, and sends you a DM recap when "
        "each ends: when, how long, who came, and the recording, transcript and notes as Google makes them. It "
        "reads with the Google access you already gave, and nothing more. Meetings with a card here already get a "
        "recap in the card's thread: `both` sends you the DM too. `off` stops it and deletes what meetbot kept.",
        "/meet mine on", "account", (grammar.Mine,), answer=_mine_here, work=_mine),
    CommandSpec(
        "presence", "/meet presence on|off · /meet presence dnd on|off", grammar.parse_presence,
        "your Slack status says when you're in a Google Meet call",
        "While meetbot sees you in a Google Meet call, your Slack status says you're in a meeting; afterwards you get "
        "back the status you had, unless you changed it during the call. It needs you to sign in with Slack once, "
        "which lets meetbot read and change your status and nothing else. `dnd on` also pauses your notifications "
        "(Do Not Disturb) during each call, and resumes them when you leave unless you changed the pause yourself. "
        "`off` gives back your status and signs meetbot out of your Slack account.",
        "/meet presence on", "account", (grammar.PresenceSwitch, grammar.PresenceDnd), answer=_presence_here,
        work=_presence),
    CommandSpec(
        "help", "/meet help", grammar.parse_help, "this help; `/meet help <topic>` for one group or command",
        "Shows all commands. `/meet help <topic>` explains one group (start, check, manage, rooms, account) or one "
        "command.", "/meet help room", None, (grammar.Help,)),  # answered by views/help.text_answer
)

BY_WORD: Mapping[str, CommandSpec] = {spec.word: spec for spec in COMMANDS}
SUBCOMMANDS: Mapping[str, str] = {spec.word: spec.usage for spec in COMMANDS}  # word → usage line
_PARSERS = {spec.word: (spec.parser, spec.usage) for spec in COMMANDS}
_BY_TYPE: Mapping[type[Any], CommandSpec] = {kind: spec for spec in COMMANDS for kind in spec.types}


def parse(text: str) -> Command:
    """The text Slack sends after `/meet`, as one typed command (grammar.Unknown when it isn't one)."""
    return grammar.parse(text, _PARSERS)


def spec_of(command: Command) -> CommandSpec | None:
    """The row that runs a parsed command (None for grammar.Unknown)."""
    return _BY_TYPE.get(type(command))
