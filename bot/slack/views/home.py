"""The App Home tab: the Google connection, recent meetings with their status, rooms the user set up, a guide."""

from __future__ import annotations

from bot.core.previews import LinkPreview
from bot.domain import PersonalMeeting, Phase, Room, SpaceInfo
from bot.slack.mrkdwn import code, plain
from bot.slack.views.blocks import Block, View, actions, context, header, plain_text, section
from bot.slack.views.card import join_button
from bot.slack.views.live import duration_words, file_links
from bot.slack.views.presence import ACTION_SLACK_SIGN_IN

__all__ = ["ACTION_DISCONNECT", "ACTION_HOME_START", "ACTION_MINE", "ACTION_PRESENCE", "MINE_SWITCH", "PRESENCE_SWITCH",
           "MineSection", "PresenceSection", "disconnect_button", "home_view", "start_button"]

ACTION_DISCONNECT = "meet_disconnect"
ACTION_HOME_START = "meet_home_start"
ACTION_MINE = "meet_mine_switch"
ACTION_PRESENCE = "meet_presence_switch"
MINE_SWITCH = "Follow my Google Meet meetings"
PRESENCE_SWITCH = "Slack status while in a call"
MineSection = tuple[bool, list[PersonalMeeting]]  # whether `/meet mine` is on, and its meetings
# Whether `/meet presence` is on, and, when meetbot holds no Slack sign-in of theirs, the link to give one.
PresenceSection = tuple[bool, str | None]




def _live(preview: LinkPreview | None) -> int | None:
    """How many are in the call, if the user may see it and it is live; None otherwise."""
    if preview is None or preview.status is None or preview.status.role == "other":
        return None
    return len(preview.status.participants or ()) if preview.status.space.is_live else None


def _meeting_line(info: SpaceInfo, preview: LinkPreview | None) -> str:
    title = f"*{plain(info.title, 200)}*" if info.title else "*Google Meet*"
    live = _live(preview)
    status = f":large_green_circle: Live · {live} in the call" if live is not None else _when(info)
    return f"{title} · {code(info.meeting_code or info.space_name)}\n{status}"


def _when(info: SpaceInfo) -> str:
    if info.created_at is None:
        return "Started earlier"
    return f"Started <!date^{int(info.created_at)}^{{date_short_pretty}} {{time}}|earlier>"


def _join(uri: str | None, primary: bool) -> Block | None:
    button = join_button(uri)
    if not button:
        return None
    if not primary:
        button[0].pop("style", None)
    return button[0]


def _switch(action_id: str, label: str, description: str, on: bool) -> Block:
    option = {"text": plain_text(label), "value": "on", "description": plain_text(description)}
    return {"type": "checkboxes", "action_id": action_id, "options": [option],
            **({"initial_options": [option]} if on else {})}


def _presence_block(on: bool, sign_in_url: str | None) -> Block:
    """`/meet presence`'s switch, or, before the person signed in with Slack, the button to do it."""
    if sign_in_url is not None:
        button = {"type": "button", "action_id": ACTION_SLACK_SIGN_IN, "text": plain_text("Sign in with Slack"),
                  "url": sign_in_url}
        return section(f"*{PRESENCE_SWITCH}*: to set your status to *In a meeting* while you're in a call, meetbot "
                       "needs your permission to change it. The button works once, for 10 minutes.", button)
    return section("Your Slack status says *In a meeting* :calendar: while meetbot sees you in a call, and is "
                   "yours again after.", _switch(ACTION_PRESENCE, PRESENCE_SWITCH,
                                                 "Unticking gives your status back and signs meetbot out", on))


def _mine_blocks(mine: MineSection | None, presence: PresenceSection | None) -> list[Block]:
    """The `/meet mine` switch with the presence one beside it, and the person's meetings mine follows: live ones
    to join, ended ones' recap links."""
    blocks: list[Block] = [header("Your Google Meet meetings")]
    on, meetings = mine if mine is not None else (False, [])
    if mine is not None:
        blocks.append(section("Who came, and the recording, transcript and notes, sent to you after each meeting. "
                              "meetbot reads them with the Google access you already gave.",
                              _switch(ACTION_MINE, MINE_SWITCH,
                                      "A DM recap after each meeting you own or organised, Calendar's too", on)))
    if presence is not None:
        blocks.append(_presence_block(*presence))
    for meeting in meetings:
        state = meeting.state
        is_code = bool(meeting.uri) and str(meeting.uri).endswith("/" + meeting.title)  # no title: its code
        name = code(meeting.title) if is_code else f"*{plain(meeting.title, 200)}*"
        if state.phase is Phase.LIVE:
            since = f" since <!date^{int(state.started_at)}^{{time}}|earlier>" if state.started_at else ""
            blocks.append(section(f"{name}\n:large_green_circle: Live{since}", _join(meeting.uri, primary=False)))
        elif state.ended_at is not None:
            length = duration_words(state.minutes or 0)
            links = "   ".join(file_links(state))
            line = f"{name}\nEnded <!date^{int(state.ended_at)}^{{date_short_pretty}} {{time}}|earlier> · {length}"
            blocks.append(section(line + (f"\n{links}" if links else "")))
    return blocks


def home_view(connection: str, connect_button: Block | None, recent: list[tuple[SpaceInfo, LinkPreview | None]],
              rooms: list[tuple[str, Room]], mine: MineSection | None = None,
              presence: PresenceSection | None = None) -> View:
    """Live now, your rooms, recent meetings: at most one primary button in each section."""
    blocks: list[Block] = [
        header("meetbot"),
        section(connection, connect_button),
        actions("home", [start_button()]),
        {"type": "divider"},
    ]
    live = [(i, p) for i, p in recent if _live(p) is not None]
    earlier = [(i, p) for i, p in recent if _live(p) is None]
    if live:
        blocks.append(header("Live now"))
        blocks += [section(_meeting_line(i, p), _join(i.meeting_uri, primary=n == 0)) for n, (i, p) in enumerate(live)]
    if mine is not None or presence is not None:
        blocks += _mine_blocks(mine, presence)
    blocks.append(header("Your rooms"))
    if rooms:
        blocks += [section(f"<#{channel}> · {code(room.meeting_code or room.space_name)}",
                           _join(room.meeting_uri, primary=False)) for channel, room in rooms]
    else:
        blocks.append(context("None yet. Type `/meet room` in a channel to give it a standing meeting room."))
    blocks.append(header("Recent meetings"))
    if earlier:
        blocks += [section(_meeting_line(i, p), _join(i.meeting_uri, primary=False)) for i, p in earlier]
    else:
        blocks.append(context("None yet. Type `/meet` in any channel, or press *Start a meeting*."))
    blocks += [{"type": "divider"}, context("Type `/meet help` in any channel to see everything meetbot does. "
                                            "Paste a meeting link and meetbot shows what the channel may see.")]
    return {"type": "home", "blocks": blocks[:100]}


def start_button() -> Block:
    return {"type": "button", "action_id": ACTION_HOME_START, "text": plain_text("Start a meeting"),
            "style": "primary"}


def disconnect_button() -> Block:
    return {"type": "button", "action_id": ACTION_DISCONNECT, "text": plain_text("Disconnect"),
            "confirm": {"title": plain_text("Disconnect Google?"),
                        "text": {"type": "mrkdwn", "text": "meetbot will revoke its access to your account."},
                        "confirm": plain_text("Disconnect"), "deny": plain_text("Cancel")}}
