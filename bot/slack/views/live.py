"""What a followed meeting looks like: the status line cards carry, and the recap posted in a card's thread.

Cards show counts only; the recap, in the thread of a card its owner posted, names the signed-in people who came
and counts guests and phone callers (Google shows no more of them). Files are links: meetbot downloads nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import LiveState, Phase
from bot.slack.mrkdwn import escape, plain
from bot.slack.views.blocks import Block, Message, context, section

__all__ = ["RECAP_NAMES_NOTE", "duration_words", "file_links", "minutes_words", "recap_message", "status_line",
           "when_words"]

# On cards whose recaps name people (the owner posted or set them up): the owner chose to show the channel who came,
# and is told so when posting. True whether or not recaps are on (no recap, no list).
RECAP_NAMES_NOTE = "Recaps in this thread list who came."

MAX_RECAP_NAMES = 30
_FILES = (("recording", ":movie_camera:", "Recording"), ("transcript", ":page_facing_up:", "Transcript"),
          ("notes", ":memo:", "Notes by Gemini"))


def _date(epoch: float, token: str, fallback: str = "%H:%M UTC") -> str:
    # Slack renders the date token in each reader's own time zone; the fallback is UTC.
    return f"<!date^{int(epoch)}^{token}|{datetime.fromtimestamp(epoch, UTC).strftime(fallback)}>"


def duration_words(minutes: int) -> str:
    """"23 min", "1 h 5 min", and "under a minute" (never "0 min")."""
    if minutes < 1:
        return "under a minute"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _people(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _linkable(uri: str) -> bool:
    """A Google file link, safe inside Slack's <url|label> syntax."""
    return uri.startswith("https://") and not any(c in uri for c in "<>| \n")


UNAVAILABLE = {"disconnected": "the Google account this card was followed with is no longer connected to meetbot"}


def status_line(state: LiveState | None, *, room: bool = False) -> str:
    """*waiting for people* → *live · 3 in the call* → *ended after 23 min · 4 attended* (a room waits again);
    once meetbot stops following, the line says so (or, with no way to read it, that the status is unavailable)."""
    if state is not None and state.unavailable:
        reason = UNAVAILABLE.get(state.unavailable, "meetbot can't read this meeting any more")
        return f":warning: Live status unavailable: {reason}. *Status* shows the latest."
    line = _phase_line(state, room=room)
    if state is not None and state.unfollowed_at:
        line += f" · not followed since {_date(state.unfollowed_at, '{time}')}, *Status* for the latest"
    return line


def _phase_line(state: LiveState | None, *, room: bool) -> str:
    if state is None or state.phase is Phase.WAITING or (room and state.phase is Phase.ENDED):
        return ":hourglass_flowing_sand: Waiting for people"
    if state.phase is Phase.LIVE:
        if not state.present:  # everyone left; Google ends an empty call by itself a little later
            left = [a.left_at for a in state.attendees if a.left_at is not None]
            return ":large_green_circle: *Live* · empty" + (f" since {_date(max(left), '{time}')}" if left else "")
        since = f" since {_date(state.started_at, '{time}')}" if state.started_at else ""
        return f":large_green_circle: *Live* · {len(state.present)} in the call{since}"
    minutes = state.minutes
    length = "" if minutes is None else " in under a minute" if minutes < 1 else f" after {duration_words(minutes)}"
    return f":white_circle: Ended{length} · {_people(len(state.attendees), 'person', 'people')} attended"


def file_links(state: LiveState) -> list[str]:
    """The call's recording, transcript and notes that Google has made, as links (a recap's, a Home line's)."""
    return [f"{emoji} <{uri}|{label}>" for kind, emoji, label in _FILES
            for uri in [next((p.uri for p in state.artifacts if p.kind == kind and _linkable(p.uri)), None)] if uri]


def recap_message(state: LiveState, title: str | None, *, names: bool = True) -> Message:
    """The recap of an ended call, edited in place as Google's files arrive. `names=False` (a room someone other
    than the owner set up): how many came, never who."""
    name = plain(title, 200) if title else "the meeting"
    blocks: list[Block] = [section(f":clipboard: *Recap of {escape(name)}*")]
    if state.started_at is not None and state.ended_at is not None:
        when = (f"{_date(state.started_at, '{date_short_pretty} {time}', '%Y-%m-%d %H:%M UTC')} to "
                f"{_date(state.ended_at, '{time}')}")
        blocks.append(context(f"{when} · {duration_words(state.minutes or 0)}"))
    signed_in = [a for a in state.attendees if a.kind == "person"]
    shown = [escape(a.display_name or "someone") for a in signed_in[:MAX_RECAP_NAMES]]
    if len(signed_in) > MAX_RECAP_NAMES:
        shown.append(f"+{len(signed_in) - MAX_RECAP_NAMES} more")
    guests, phones = state.count("guest"), state.count("phone")
    if guests:
        shown.append(_people(guests, "guest", "guests"))
    if phones:
        shown.append(_people(phones, "phone caller", "phone callers"))
    if not names:  # not the owner's card: the owner never chose to show this channel who came
        blocks.append(section(f"*Who came:* {_people(len(state.attendees), 'person', 'people')}"))
    else:
        blocks.append(section(f"*Who came ({len(state.attendees)}):* {', '.join(shown) or 'nobody'}"))
    links = file_links(state)
    if links:
        blocks.append(section("   ".join(links)))
    if len(links) < len(_FILES):
        blocks.append(context("Links to the recording, transcript and notes appear here when Google has them "
                              "(if they were turned on)."))
    return {"text": plain(f"Recap of {name}", 300), "blocks": blocks}


def when_words(moment: datetime, now: datetime | None = None) -> str:
    """Slack's date token, so each reader sees their own time zone (the fallback is UTC); with its date when
    `now` is given and the moment is more than half a day before it (Slack writes "yesterday" for yesterday)."""
    dated = now is not None and now - moment > timedelta(hours=12)
    shown = "{date_short_pretty} {time}" if dated else "{time}"
    return f"<!date^{int(moment.timestamp())}^{shown}|{moment:{'%Y-%m-%d %H:%M' if dated else '%H:%M'}} UTC>"


def minutes_words(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    return duration_words(max(int((end - start).total_seconds() // 60), 0))
