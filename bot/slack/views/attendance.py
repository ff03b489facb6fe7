"""`/meet attendance`: who came to a meeting's latest call, as a table that stays readable at 100 people and more.

The table is preformatted text (columns line up in every client), cut into sections at whole lines: a section's
text stays within Slack's 3,000 characters, and past `MAX_SECTIONS` the rest is "+N more".
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.meetings import Attendance, Attendee
from bot.meet.models import ParticipantKind
from bot.slack.mrkdwn import code, escape, plain
from bot.slack.views.blocks import SECTION_LIMIT, Block, Message, context, section
from bot.slack.views.live import duration_words

__all__ = ["MAX_SECTIONS", "attendance_message"]

NAME_WIDTH = 26
MAX_SECTIONS = 12  # about 50 people each: 600 people, well inside Slack's 50 blocks
_FENCE = "```"
_KIND = {ParticipantKind.ANONYMOUS: " (guest)", ParticipantKind.PHONE: " (phone)"}


def attendance_message(attendance: Attendance, now: datetime | None = None) -> Message:
    label, record = attendance.label, attendance.record
    if record is None:
        return {"response_type": "ephemeral", "text": plain(f"Nobody has met in {label} yet"),
                "blocks": [section(f":white_circle: Nobody has met in {code(label)} yet. Google keeps calls for "
                                   "30 days.")]}
    now = now or datetime.now(UTC)
    people = attendance.people
    when = _date(record.start_time) if record.start_time else "an unknown time"
    length = "live now" if record.end_time is None else duration_words(_minutes(record.start_time, record.end_time))
    blocks: list[Block] = [section(f"*Who came to* {code(label)}: the call of {when} · {length} · "
                                   f"{escape(_counts(people))}")]
    lines = [_row(attendee, now) for attendee in people]
    blocks += [section(_FENCE + "\n" + "\n".join(chunk) + _FENCE) for chunk in _chunks(_heading(), lines)]
    blocks.append(context("Times in UTC, in the order people joined; minutes add up every time someone rejoined. "
                          "Only you can see this."))
    return {"response_type": "ephemeral", "text": plain(f"Who came to {label}: {_counts(people)}", 300),
            "blocks": blocks}


def _counts(people: tuple[Attendee, ...]) -> str:
    guests = sum(a.participant.kind is ParticipantKind.ANONYMOUS for a in people)
    phones = sum(a.participant.kind is ParticipantKind.PHONE for a in people)
    words = [f"{len(people)} {'person' if len(people) == 1 else 'people'}"]
    words += [f"{guests} {'guest' if guests == 1 else 'guests'}"] if guests else []
    words += [f"{phones} by phone"] if phones else []
    return words[0] + (f" ({', '.join(words[1:])})" if words[1:] else "")


def _heading() -> str:
    return f"{'Name':<{NAME_WIDTH}}  Joined  Left     Minutes"


def _row(attendee: Attendee, now: datetime) -> str:
    """One person: name (cut to the column), first join, last leave ("in call" while connected), minutes."""
    person = attendee.participant
    name = (person.display_name or "someone").replace("`", "'") + _KIND.get(person.kind, "")
    if len(name) > NAME_WIDTH:
        name = name[:NAME_WIDTH - 1] + "…"
    starts = [s.start_time for s in attendee.sessions if s.start_time]
    joined = min(starts) if starts else person.earliest_start_time
    connected = any(s.end_time is None for s in attendee.sessions) or person.latest_end_time is None
    ends = [s.end_time for s in attendee.sessions if s.end_time]
    left = "in call" if connected else _clock(max(ends) if ends else person.latest_end_time)
    minutes = int(attendee.seconds(now) // 60)
    joins = len(attendee.sessions)
    rejoined = f" ({joins} joins)" if joins > 1 else ""
    return escape(f"{name:<{NAME_WIDTH}}  {_clock(joined):<6}  {left:<7}  {minutes:>7}{rejoined}")


def _chunks(heading: str, lines: list[str]) -> list[list[str]]:
    """The table's lines in sections of at most SECTION_LIMIT characters (fences included), each headed, cut at
    whole lines; past MAX_SECTIONS the last line says how many more people there are."""
    room = SECTION_LIMIT - 2 * len(_FENCE) - 2
    chunks: list[list[str]] = [[heading]]
    for line in lines:
        if sum(len(x) + 1 for x in chunks[-1]) + len(line) > room:
            chunks.append([heading])
        chunks[-1].append(line)
    if len(chunks) <= MAX_SECTIONS:
        return chunks
    kept = chunks[:MAX_SECTIONS]
    last = kept[-1]
    hidden = len(lines) - sum(len(chunk) - 1 for chunk in kept)
    while len(last) > 1 and sum(len(x) + 1 for x in last) + len(f"+{hidden + 1} more") > room:
        last.pop()
        hidden += 1
    last.append(f"+{hidden} more")
    return kept


def _clock(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%H:%M}" if moment else "?"


def _date(moment: datetime) -> str:
    """Slack's date token: each reader sees their own time zone (the fallback is UTC)."""
    fallback = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _minutes(start: datetime | None, end: datetime) -> int:
    return max(int((end - start).total_seconds() // 60), 0) if start else 0
