"""`/meet attendance <meeting>`: the last call's attendance, privately, for the meeting's owner only. In-process
through Bolt (signed payloads, the Meet and Slack emulators, real Redis); the table's limits as a unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.meetings import Attendance, Attendee
from bot.meet.models import ConferenceRecord, Participant, ParticipantKind, ParticipantSession
from bot.slack.views.attendance import MAX_SECTIONS, attendance_message
from bot.slack.views.blocks import SECTION_LIMIT
from emulators.slack.blockkit import validate_blocks
from tests.support.edge import ALICE, EMAIL, Edge
from tests.support.flows import all_text
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually_async

BOB, BOB_EMAIL = "U0BOB", "bob@example.com"


async def _ask(edge: Edge, text: str, user: str, name: str) -> dict[str, object]:
    url = edge.slack.response_url(name)
    response = await edge.send(slash_command(text, user_id=user, response_url=url))
    assert response.status == 200 and response.body == "", "answered by the job, not in the ack"
    (reply,) = await eventually_async(lambda: edge.slack.state.response_posts(name), f"the reply to /meet {text}")
    body: dict[str, object] = reply["body"]
    return body


async def test_the_owner_sees_everyone_who_came_with_their_joins_and_minutes(edge: Edge) -> None:
    await edge.link(ALICE, EMAIL)
    space = edge.meet.state.create_space(EMAIL, client_id="meetbot")
    meet = edge.meet.state
    meet.join(space["name"], user=BOB_EMAIL)
    meet.join(space["name"], anonymous="Visitor")
    meet.advance_time(10 * 60)
    meet.leave(space["name"], user=BOB_EMAIL)
    meet.advance_time(60)
    meet.join(space["name"], user=BOB_EMAIL)
    meet.join(space["name"], phone="+15551234567")
    meet.advance_time(5 * 60)
    meet.end_conference(space["name"])

    reply = await _ask(edge, f"attendance {space['meetingCode']}", ALICE, "attendance-owner")
    text = all_text(reply)
    assert reply["response_type"] == "ephemeral"
    assert "3 people (1 guest, 1 by phone)" in text
    heading, *lines = _table_lines(reply)
    assert heading.split() == ["Name", "Joined", "Left", "Minutes"]
    rows = {line[:26].strip(): line[26:].split() for line in lines}
    assert rows["Bob"][2:] == ["15", "(2", "joins)"]  # 10 + 5 minutes over two sessions
    assert rows["Visitor (guest)"][2:] == ["16"]
    (phone,) = [row for name, row in rows.items() if name.endswith("(phone)")]
    assert phone[2:] == ["5"]
    assert list(rows) == ["Bob", "Visitor (guest)", next(name for name in rows if name.endswith("(phone)"))]
    assert len(meet.calls_to("participantSessions.list")) == 3


async def test_someone_else_is_told_who_owns_it_and_google_is_not_asked_who_came(edge: Edge) -> None:
    await edge.link(ALICE, EMAIL)
    await edge.send(slash_command("new Planning", trigger_id=edge.slack.state.issue_trigger_id()))
    (space,) = await eventually_async(lambda: edge.meet.state.spaces(), "the new meeting")
    await eventually_async(lambda: edge.slack.state.calls_to("chat.postMessage"), "its card")
    edge.slack.state.add_user(BOB, "bob", email=BOB_EMAIL)
    await edge.link(BOB, BOB_EMAIL)

    reply = await _ask(edge, f"attendance {space['meetingCode']}", BOB, "attendance-other")
    text = all_text(reply)
    assert "Only the meeting's owner can see who came to" in text and f"<@{ALICE}>" in text
    assert edge.meet.state.calls_to("participants.list") == []


async def test_a_meeting_nobody_has_met_in_says_so(edge: Edge) -> None:
    await edge.link(ALICE, EMAIL)
    space = edge.meet.state.create_space(EMAIL, client_id="meetbot")
    reply = await _ask(edge, f"attendance {space['meetingCode']}", ALICE, "attendance-empty")
    assert "Nobody has met in" in all_text(reply)


def _crowd(size: int) -> Attendance:
    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    kinds = [ParticipantKind.SIGNED_IN, ParticipantKind.ANONYMOUS, ParticipantKind.PHONE]
    people = tuple(Attendee(
        Participant(f"conferenceRecords/r/participants/{n}", kinds[n % 3], f"Person <{n}> & a very long name indeed",
                    None, start + timedelta(minutes=n % 30), start + timedelta(minutes=60)),
        (ParticipantSession(f"s{n}", start + timedelta(minutes=n % 30), start + timedelta(minutes=60)),))
        for n in range(size))
    return Attendance("spaces/x", "abc-mnop-xyz", ConferenceRecord("conferenceRecords/r", start,
                                                                   start + timedelta(minutes=60)), people)


def _table_lines(message: dict[str, object]) -> list[str]:
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith("```")]
    return [line for text in texts for line in text.strip("`").split("\n") if line]


def test_a_hundred_people_fit_whole_lines_within_slacks_limits() -> None:
    message = attendance_message(_crowd(100))
    blocks = message["blocks"]
    assert validate_blocks(blocks, "/blocks", 50) == []
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    people = [line for line in _table_lines(message) if line.startswith("Person")]
    assert len(people) == 100 and all(line.split()[-1].isdigit() for line in people)
    assert "100 people (33 guests, 33 by phone)" in all_text(message)
    assert people[0].startswith("Person &lt;0&gt; &amp; a very long …  09:00   10:00")  # cut to its column


def test_past_the_section_limit_the_rest_is_counted_not_cut_mid_line() -> None:
    message = attendance_message(_crowd(1000))
    blocks = message["blocks"]
    assert validate_blocks(blocks, "/blocks", 50) == []
    lines = _table_lines(message)
    shown = [line for line in lines if line.startswith("Person")]
    (more,) = [line for line in lines if line.startswith("+")]
    assert more == f"+{1000 - len(shown)} more" and len(shown) < 1000
    assert sum(b["type"] == "section" and b["text"]["text"].startswith("```") for b in blocks) == MAX_SECTIONS
