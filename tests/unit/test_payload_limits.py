"""Payloads Slack would reject (issue 22 §14), checked with the Slack emulator's Block Kit validation: the card's
menu with the longest meeting code, the settings modal with many co-hosts, long member lists cut at whole lines."""

from __future__ import annotations

import re

from bot.core.members import MemberList, MembersChange, Skip, Skipped
from bot.domain import Room
from bot.meet.models import Member, MemberRole, Space
from bot.slack.views.blocks import whole_lines
from bot.slack.views.card import CardContent, manage_target, meeting_card
from bot.slack.views.members import change_message, members_message
from bot.slack.views.room import room_card
from bot.slack.views.settings import settings_modal
from emulators.slack import validate_blocks, validate_view
from tests.support.flows import block_texts

LONG_CODE = "x" * 128  # Meet codes are documented up to 128 characters
SPACE = "spaces/jQCFfuBOdN5z"


def user(n: int) -> str:
    return f"U{n:010d}"


def test_the_cards_menu_fits_the_longest_meeting_code() -> None:
    card = meeting_card(CardContent(SPACE, LONG_CODE, f"https://meet.google.com/{LONG_CODE}", "Planning", "U1"))
    room = room_card(Room(SPACE, LONG_CODE, f"https://meet.google.com/{LONG_CODE}", "U1", None, "U1", 0.0))
    for message in (card, room):
        assert validate_blocks(message["blocks"], "/blocks", 50) == []
    menu = next(el for b in card["blocks"] if b["type"] == "actions" for el in b["elements"]
                if el["type"] == "overflow")
    assert [manage_target(o["value"]) for o in menu["options"]] == [("end", SPACE, None), ("settings", SPACE, None)]


def test_the_settings_modal_stays_within_slacks_metadata_limit_with_many_cohosts() -> None:
    view = settings_modal(Space(SPACE), LONG_CODE, "C0GENERAL", [user(n) for n in range(250)])
    assert validate_view(view, ("modal",)) == []


def test_a_long_members_list_is_cut_at_whole_lines_and_says_how_many_more() -> None:
    email = "person.with.a.rather.long.name.{}@engineering.department.of.example.com"
    members = tuple(Member(f"{SPACE}/members/{n}", email.format(n), MemberRole.COHOST) for n in range(40))
    people = {m.email.lower(): user(n) for n, m in enumerate(members) if m.email}
    message = members_message(MemberList(SPACE, "abc-mnop-xyz", members + members[:5]), people)
    assert validate_blocks(message["blocks"], "/blocks", 50) == []
    listing = block_texts(message)[1]
    lines = listing.split("\n")
    assert all(re.fullmatch(r"• <@U\d{10}> \([^)]+\) · \*co-host\*", line) for line in lines[:-1]), lines[-2:]
    shown = len(lines) - 1
    assert lines[-1] == f"• +{45 - shown} more"


def test_a_long_skipped_list_is_cut_at_whole_lines_and_says_how_many_more() -> None:
    skipped = tuple(Skipped(user(n), Skip.GOOGLE_REFUSED, "x" * 150) for n in range(60))
    message = change_message(MembersChange(SPACE, "abc-mnop-xyz", skipped=skipped), "cohost")
    assert validate_blocks(message["blocks"], "/blocks", 50) == []
    lines = block_texts(message)[0].split("\n")
    listed = [line for line in lines if line.startswith("• <@")]
    assert all(line.endswith("x)") for line in listed), "every line whole"
    assert lines[-1] == f"• +{60 - len(listed)} more"


def test_a_long_notice_is_cut_after_a_whole_line() -> None:
    lines = "".join(f"\n• <@{user(n)}> can now co-host" for n in range(200))
    text = ":white_check_mark: Updated `abc-mnop-xyz`." + lines
    cut = whole_lines(text)
    assert len(cut) <= 2900 and cut.endswith("\n…")
    assert all(line.endswith("co-host") for line in cut.split("\n")[1:-1]), "no mention cut in half"
