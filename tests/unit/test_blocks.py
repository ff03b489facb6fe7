"""Block Kit builders are pure: data in, dict out. These pin escaping, limits and wording."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.errors import InvalidSettings
from bot.core.meetings import ConferenceSummary, EndedMeeting, MeetingStatus, SettingChange
from bot.core.settings_catalog import config_with, parse_assignments, read_path
from bot.domain import SpaceInfo
from bot.meet.models import (
    AccessType,
    ActiveConference,
    ConferenceRecord,
    Moderation,
    Participant,
    ParticipantKind,
    RestrictionType,
    Space,
    SpaceConfig,
)
from bot.slack.interaction import SubmittedView
from bot.slack.meeting_handlers import settings_errors
from bot.slack.mrkdwn import code, escape, truncate
from bot.slack.views.card import CardContent, ended_card, meeting_card
from bot.slack.views.help import help_message, unknown_message
from bot.slack.views.meeting import history_message, settings_changed_message, status_message
from bot.slack.views.settings import settings_modal
from tests.support.flows import block_texts

T0 = datetime(2026, 11, 24, 14, 9, tzinfo=UTC)
SPACE = Space("spaces/AbC123", "https://meet.google.com/abc-mnop-xyz", "abc-mnop-xyz",
              SpaceConfig(access_type=AccessType.TRUSTED, moderation=Moderation.OFF),
              ActiveConference("conferenceRecords/r1"))


def texts(message: dict[str, Any]) -> list[str]:
    return block_texts(message)


def within_limits(message: dict[str, Any], max_blocks: int = 50) -> None:
    assert len(message["blocks"]) <= max_blocks
    for block in message["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "actions":
            for element in block["elements"]:
                for option in element.get("options", [element]):  # an overflow's options, or the button itself
                    assert len(option["text"]["text"]) <= 75 and len(option.get("value", "")) <= 2000


def test_mrkdwn_escapes_exactly_three_characters() -> None:
    assert escape("<b> & \"quotes\" 'x'") == "&lt;b&gt; &amp; \"quotes\" 'x'"
    assert truncate("ab&amp;cd", 5) == "ab…" and truncate("ab&amp;cd", 8) == "ab&amp;…", "never half an entity"
    assert code("a`b<") == "`a'b&lt;`"
    assert truncate("abcdef", 4) == "abc…" and truncate("abc", 4) == "abc"


def test_meeting_card_escapes_titles_and_offers_owner_actions_behind_a_check() -> None:
    card = meeting_card(CardContent(SPACE.name, "abc-mnop-xyz", SPACE.meeting_uri, "<!channel> & co", "U1",
                                    started_at=1_700_000_000.0))
    head, byline, status, note, actions = card["blocks"]
    assert note["type"] == "context"
    # The header is plain_text, which Slack never parses: the title as typed, and no ping. Mrkdwn is escaped.
    assert head == {"type": "header", "text": {"type": "plain_text", "text": "<!channel> & co", "emoji": True}}
    assert "<!channel>" not in card["text"] and "&lt;!channel&gt;" in card["text"]
    assert byline["type"] == "context" and "Started by <@U1>" in json.dumps(byline)
    assert "<!date^1700000000^" in json.dumps(byline) and "`abc-mnop-xyz`" in json.dumps(byline)
    assert "Waiting for people" in json.dumps(status)
    join, menu = actions["elements"]
    assert join["url"] == SPACE.meeting_uri and join["style"] == "primary"
    primaries = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"] if e.get("style")]
    assert primaries == [join], "Join is the one primary button"
    assert menu["type"] == "overflow" and "confirm" not in menu, "no confirm before the private owner check"
    assert [o["value"] for o in menu["options"]] == ["end spaces/AbC123", "settings spaces/AbC123"]  # label on click
    within_limits(card)


def test_ended_card_says_who_when_and_how_long() -> None:
    record = ConferenceRecord("conferenceRecords/r1", T0, T0 + timedelta(minutes=23), None, SPACE.name)
    ended = ended_card(CardContent(SPACE.name, "abc-mnop-xyz", SPACE.meeting_uri, "Sync", "U1"),
                       EndedMeeting(SPACE.name, "abc-mnop-xyz", None, record), "U2")
    line = next(t for t in texts(ended) if t.startswith(":white_circle:"))
    assert "Ended by <@U2> at <!date^" in line and "|14:32 UTC>" in line and "after 23 min" in line
    assert all(e["action_id"] != "meet_end" for b in ended["blocks"] if b["type"] == "actions" for e in b["elements"])


def people(count: int) -> tuple[Participant, ...]:
    kinds = [ParticipantKind.SIGNED_IN, ParticipantKind.ANONYMOUS, ParticipantKind.PHONE]
    return tuple(Participant(f"p{n}", kinds[n % 3], f"Person {n} <x>") for n in range(count))


def test_status_lists_people_with_kinds_and_truncates() -> None:
    status = MeetingStatus(SPACE, "owner", "abc-mnop-xyz", SpaceInfo(SPACE.name, None, None, "U1", "Sync"),
                           T0, people(30))
    message = status_message(status)
    joined = "\n".join(texts(message))
    assert "In the call (30):" in joined and "+10 more" in joined
    assert "Person 1 &lt;x&gt; (guest)" in joined and "Person 2 &lt;x&gt; (phone)" in joined
    assert "that differ from Google's defaults" not in joined, "who can join has no Google default: no difference"
    assert "*Settings*: Who can join without knocking: *Your organisation and invited guests*. The others are " \
           "Google's defaults." in joined
    assert "Who can join without knocking: *Your organisation and invited guests*" in joined
    assert "Host management" not in joined, "off is Google's default: not listed"
    within_limits(message)


def test_status_for_people_google_keeps_in_the_dark() -> None:
    hidden = Space(SPACE.name, SPACE.meeting_uri, SPACE.meeting_code)
    message = status_message(MeetingStatus(hidden, "other", "abc-mnop-xyz",
                                           SpaceInfo(SPACE.name, None, None, "U9")))
    joined = "\n".join(texts(message))
    assert "only to its owner and the people in the call" in joined
    assert "shown only to the meeting's owner (<@U9>)" in joined
    assert [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]] == ["Join"]


def test_history_counts_and_names() -> None:
    records = [
        ConferenceSummary(ConferenceRecord("conferenceRecords/a", T0, T0 + timedelta(minutes=75)), people(1)),
        ConferenceSummary(ConferenceRecord("conferenceRecords/b", T0, None), people(3)),
    ]
    joined = "\n".join(texts(history_message("abc-mnop-xyz", records)))
    assert "1 h 15 min · *1* person" in joined and "live now · *3* people" in joined
    assert "Nobody has met" in texts(history_message("abc-mnop-xyz", []))[0]


def test_settings_change_report_and_modal() -> None:
    report = settings_changed_message("abc-mnop-xyz", [
        SettingChange("moderation", Moderation.OFF, Moderation.ON),
        SettingChange("moderation_restrictions.chat_restriction", None, RestrictionType.HOSTS_ONLY),
    ])
    joined = texts(report)[0]
    assert "Host management: Off → *On*" in joined
    assert "Who can chat: Google's default → *Only hosts and co-hosts*" in joined
    modal = settings_modal(SPACE, "abc-mnop-xyz", "C1")
    assert len(modal["blocks"]) <= 100 and len(modal["private_metadata"]) <= 3000
    access = next(b for b in modal["blocks"] if b.get("block_id") == "access")
    assert access["element"]["initial_option"]["value"] == "trusted"
    assert access["element"]["initial_option"]["text"]["text"] == "Your organisation and invited guests"


def test_settings_validation() -> None:
    def submitted(**values: str) -> SubmittedView:
        return SubmittedView.of(
            {"state": {"values": {k: {"value": {"selected_option": {"value": v}}} for k, v in values.items()}}})

    assert set(settings_errors(submitted(moderation="off", chat="hosts", viewers="on"))) == {"chat", "viewers"}
    assert settings_errors(submitted(moderation="on", chat="hosts")) == {}


def test_assignments_parse_into_config_paths() -> None:
    changes = parse_assignments((("access", "open"), ("chat", "hosts"), ("recording", "on")))
    config = config_with(SpaceConfig(), changes)
    assert read_path(config, "access_type") is AccessType.OPEN
    assert read_path(config, "moderation_restrictions.chat_restriction") is RestrictionType.HOSTS_ONLY
    assert config.artifact_config is not None and config.artifact_config.recording_config is not None
    for bad, message in [((("colour", "red"),), "`colour` is not a setting"),
                         ((("chat", "some"),), "`chat` can be `all` or `hosts`, not `some`"),
                         ((("chat", "all"), ("chat", "hosts")), "given twice")]:
        with pytest.raises(InvalidSettings, match=message):
            parse_assignments(bad)


def test_unknown_input_is_one_line_with_the_closest_command() -> None:
    message = unknown_message("`stauts` isn't a /meet command", "/meet status abc")
    assert texts(message) == [":thinking_face: `stauts` isn't a /meet command. Try `/meet status abc`, or see "
                              "`/meet help`."]
    within_limits(message)
    within_limits(help_message())


def test_a_value_meetbot_has_no_word_for_preselects_nothing_and_slack_accepts_the_modal() -> None:
    """Issue 11, finding 9: an `initial_option` that isn't among the options makes Slack reject the whole view."""
    from emulators.slack import validate_view

    odd = Space(SPACE.name, SPACE.meeting_uri, SPACE.meeting_code,
                SpaceConfig(access_type=AccessType.ACCESS_TYPE_UNSPECIFIED, moderation=Moderation.ON))
    view = settings_modal(odd, "abc-mnop-xyz", "C1")
    assert validate_view(view, ("modal",)) == []
    by_block = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert "initial_option" not in by_block["access"]["element"]
    assert by_block["moderation"]["element"]["initial_option"]["value"] == "on"


def test_cards_whose_recaps_name_people_tell_the_channel_so() -> None:
    """Issue 22 #7: the owner chose to show who came by posting the card; the card says it, so they (and everyone
    who joins from it) know before the call."""
    from bot.domain import Room
    from bot.slack.views.room import room_card

    note = "Recaps in this thread list who came."
    card = meeting_card(CardContent("spaces/s1", "abc-mnop-xyz", "https://meet.google.com/abc-mnop-xyz", "Retro",
                                    "U0ALICE"))
    assert note in block_texts(card)
    own = Room("spaces/s1", "abc-mnop-xyz", None, "U0ALICE", "alice@example.com", "U0ALICE", 0.0)
    assert note in block_texts(room_card(own))
    adopted = Room("spaces/s1", "abc-mnop-xyz", None, "U0ALICE", None, "U0CAROL", 0.0)
    assert note not in block_texts(room_card(adopted)), "a room set to someone else's meeting names nobody"
