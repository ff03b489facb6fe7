"""The help, the one-line answer to input meetbot didn't understand, the owner's status and the settings modal:
their structure and wording (docs/style.md), validated as Slack would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.meetings import ConferenceSummary, MeetingStatus
from bot.core.settings_catalog import GROUPS, SETTINGS
from bot.domain import SpaceInfo
from bot.meet.models import (
    AccessType,
    ActiveConference,
    ConferenceRecord,
    Moderation,
    ModerationRestrictions,
    Participant,
    ParticipantKind,
    RestrictionType,
    Space,
    SpaceConfig,
)
from bot.slack import commands, grammar
from bot.slack.interaction import SubmittedView
from bot.slack.meeting_handlers import selected_settings, settings_errors
from bot.slack.views.help import help_message, unknown_message
from bot.slack.views.meeting import history_message, status_message
from bot.slack.views.settings import settings_modal
from emulators.slack import validate_view
from tests.support.flows import block_texts

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
SPACE = Space("spaces/AbC123", "https://meet.google.com/abc-mnop-xyz", "abc-mnop-xyz",
              SpaceConfig(access_type=AccessType.TRUSTED, moderation=Moderation.OFF),
              ActiveConference("conferenceRecords/r1"))


def joined(message: dict[str, Any]) -> str:
    return "\n".join(block_texts(message))


# --- help --------------------------------------------------------------------------------------------------


def test_help_is_grouped_with_one_example_each_and_mentions_shortcuts_unfurls_and_home() -> None:
    message = help_message()
    assert message["blocks"][0]["type"] == "header"
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert [s.split("\n")[0] for s in sections] == [
        "*Start*", "*Check*", "*Manage (the meeting's owner)*", "*Rooms: a channel's standing meeting*", "*Account*"]
    assert all(s.count("_Example:_") == 1 for s in sections)
    text = joined(message)
    for needed in ("*Start a Meet* shortcut", "*Meeting status* shortcut", "Paste a Meet link", "*Home* tab",
                   "`/meet status &lt;meeting&gt;`", "`/meet help &lt;topic&gt;`"):
        assert needed in text
    assert "spaces/" not in text
    assert "<meeting>" not in json.dumps(message), "Slack reads <meeting> as a link and shows nothing"
    assert len(message["blocks"]) <= 50 and all(len(s) <= 3000 for s in sections)


@pytest.mark.parametrize(("topic", "expected"), [
    ("room", "`set &lt;meeting&gt;` makes an existing meeting the room"),
    ("rooms", "*Rooms: a channel's standing meeting*"),
    ("set", "`chat=all|hosts`: Who can chat"),
    ("status", "_Example:_ `/meet status abc-mnop-xyz`"),
    ("Manage", "`/meet end &lt;meeting&gt;`"),
    ("room new", "`/meet room` posts its card"),
])
def test_help_answers_a_topic(topic: str, expected: str) -> None:
    parsed = commands.parse(f"help {topic}")
    assert isinstance(parsed, grammar.Help)
    message = help_message(parsed.topic)
    assert expected in joined(message)
    assert "*Start*" not in joined(message) or topic == "start", "one topic, not the whole help"


def test_help_on_an_unknown_topic_is_one_line() -> None:
    (block,) = help_message("stauts")["blocks"]
    assert block["text"]["text"] == (":thinking_face: There's no help on `stauts`. Try `/meet help status`, "
                                     "or see `/meet help`.")
    (block,) = help_message("weather")["blocks"]
    assert block["text"]["text"] == ":thinking_face: There's no help on `weather`. See `/meet help`."


# --- input meetbot didn't understand -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "line"), [
    ("stauts abc-mnop-xyz", ":thinking_face: `stauts` isn't a /meet command. Try `/meet status abc-mnop-xyz`, "
                            "or see `/meet help`."),
    ("hello world", ":thinking_face: `hello` isn't a /meet command. See `/meet help`."),
    ("???", ":thinking_face: `???` isn't a /meet command. See `/meet help`."),
    ("status", ":thinking_face: `/meet status` needs a meeting link or code. Try `/meet status &lt;meeting&gt;`, "
               "or see `/meet help status`."),
    ("&lt;b&gt; x", ":thinking_face: `&lt;b&gt;` isn't a /meet command. See `/meet help`."),  # as Slack sends <b>
])
def test_unknown_input_gets_one_line(text: str, line: str) -> None:
    parsed = commands.parse(text)
    assert isinstance(parsed, grammar.Unknown)
    message = unknown_message(parsed.problem, parsed.suggestion, parsed.topic)
    assert [b["text"]["text"] for b in message["blocks"]] == [line]
    assert message["response_type"] == "ephemeral" and "<" not in message["text"].replace("&lt;", "")


@pytest.mark.parametrize(("word", "close"), [
    ("stauts", "status"), ("statsu", "status"), ("hlep", "help"), ("conect", "connect"), ("histroy", "history"),
    ("setings", "settings"), ("uncohsot", "uncohost"), ("hello", None), ("world", None), ("???", None),
    ("xy", None), ("news", "new"), ("endd", "end"), ("weekly", None), ("meeting", None),
])
def test_suggestions_only_when_the_command_word_is_close(word: str, close: str | None) -> None:
    assert grammar.closest(word, commands.SUBCOMMANDS) == close


def test_arguments_are_never_matched_against_commands() -> None:
    hello = commands.parse("hello world")
    assert isinstance(hello, grammar.Unknown) and hello.suggestion is None
    title = commands.parse("Weekly planning")
    assert isinstance(title, grammar.Unknown) and title.suggestion is None


# --- the owner's status -------------------------------------------------------------------------------------


def _person(n: int, minutes_in: int) -> Participant:
    return Participant(f"p{n}", ParticipantKind.SIGNED_IN, f"Person {n}",
                       earliest_start_time=NOW - timedelta(minutes=minutes_in))


def test_status_shows_only_settings_that_differ_from_googles_defaults() -> None:
    config = SpaceConfig(access_type=AccessType.TRUSTED, moderation=Moderation.ON,
                         moderation_restrictions=ModerationRestrictions(
                             chat_restriction=RestrictionType.HOSTS_ONLY,
                             reaction_restriction=RestrictionType.NO_RESTRICTION))
    space = Space(SPACE.name, SPACE.meeting_uri, SPACE.meeting_code, config, SPACE.active_conference)
    status = MeetingStatus(space, "owner", "abc-mnop-xyz", SpaceInfo(space.name, None, None, "U1", "Sync"),
                           NOW - timedelta(minutes=5), (), manageable=True)
    text = joined(status_message(status, NOW))
    assert "*Settings*: Who can join without knocking: *Your organisation and invited guests*\nThese differ from " \
           "Google's defaults:\n• Host management: *On*" in text, "who can join has no Google default: no difference"
    assert "• Host management: *On*" in text and "• Who can chat: *Only hosts and co-hosts*" in text
    assert "Who can react" not in text and "Record automatically" not in text
    assert "The *Settings* button shows them all." in text
    buttons = [e["text"]["text"] for b in status_message(status, NOW)["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert "Settings" in buttons


def test_status_lists_people_in_join_order_and_dates_an_old_start() -> None:
    late, first = _person(1, 1), _person(2, 90)
    crowd = tuple(_person(n, 2) for n in range(3, 30))
    status = MeetingStatus(SPACE, "owner", "abc-mnop-xyz", None, NOW - timedelta(days=1, hours=2),
                           (late, *crowd, first))
    text = joined(status_message(status, NOW))
    assert "*In the call (29):* Person 2, " in text, "the first to join comes first, not in +N more"
    assert "{date_short_pretty} {time}" in text and "2026-11-23 13:00 UTC" in text
    fresh = joined(status_message(MeetingStatus(SPACE, "owner", "abc-mnop-xyz", None, NOW - timedelta(minutes=3)),
                                  NOW))
    assert "^{time}|14:57 UTC>" in fresh


def test_history_dates_each_call_and_uses_no_stray_emoji() -> None:
    record = ConferenceRecord("conferenceRecords/a", NOW - timedelta(days=2), NOW - timedelta(days=2) +
                              timedelta(minutes=23))
    message = history_message("abc-mnop-xyz", [ConferenceSummary(record, (_person(1, 0),))], NOW)
    text = joined(message)
    assert text.startswith("*Recent calls in* `abc-mnop-xyz`")
    assert "{date_short_pretty} {time}|2026-11-22 15:00 UTC> · 23 min · *1* person: Person 1" in text
    assert ":calendar:" not in json.dumps(history_message("abc-mnop-xyz", [], NOW))


# --- the settings modal -------------------------------------------------------------------------------------


def test_settings_modal_is_grouped_labelled_in_plain_words_and_preselected() -> None:
    view = settings_modal(SPACE, "abc-mnop-xyz", "C1", ["U2"])
    assert validate_view(view, ("modal",)) == []
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == list(GROUPS)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == [*(s.key for s in SETTINGS if s.group == GROUPS[0]),
                            *(s.key for s in SETTINGS if s.group == GROUPS[1]), "cohosts",
                            *(s.key for s in SETTINGS if s.group == GROUPS[2])]
    access = inputs["access"]
    assert access["element"]["initial_option"] == {
        "text": {"type": "plain_text", "text": "Your organisation and invited guests", "emoji": True},
        "value": "trusted"}
    assert [o["value"] for o in access["element"]["options"]] == ["open", "trusted", "restricted"], "values stable"
    assert "optional" in access and access["optional"] is False, "preselected: a value is always sent"
    words = {o["text"]["text"] for b in inputs.values() for o in b["element"].get("options", [])}
    assert not words & {"on", "off", "all", "hosts", "trusted", "open", "restricted"}, "no command words"
    assert all("hint" in b for b in inputs.values())
    assert "Host management on" in inputs["chat"]["hint"]["text"]
    assert inputs["cohosts"]["element"]["initial_users"] == ["U2"] and inputs["cohosts"]["optional"] is True


def test_settings_modal_says_once_that_an_empty_field_stays_and_marks_only_those_optional() -> None:
    view = settings_modal(SPACE, "abc-mnop-xyz", "C1")
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert not inputs["access"]["optional"] and not inputs["moderation"]["optional"]
    assert inputs["recording"]["optional"] and "initial_option" not in inputs["recording"]["element"]
    assert sum("left empty stays as it is" in t for t in block_texts(view)) == 1


def test_settings_modal_shown_again_keeps_what_was_chosen_and_says_what_went_wrong() -> None:
    view = settings_modal(Space(SPACE.name), "abc-mnop-xyz", "C1", ["U3"],
                          chosen={"access": "open", "recording": "on"}, problem=":no_entry: Google said no.")
    assert validate_view(view, ("modal",)) == []
    assert block_texts(view)[0] == ":no_entry: Google said no."
    state = {"values": {b["block_id"]: {"value": {"selected_option": b["element"]["initial_option"]}}
                        for b in view["blocks"] if b["type"] == "input" and "initial_option" in b["element"]}}
    assert selected_settings(SubmittedView.of({"state": state})) == (("access", "open"), ("recording", "on"))
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs["cohosts"]["element"]["initial_users"] == ["U3"]
    assert json.loads(view["private_metadata"])["cohosts"] is True, "saved as the difference from Google's co-hosts"


def test_settings_errors_are_on_the_field_and_say_the_way_out() -> None:
    def submitted(**values: str) -> SubmittedView:
        return SubmittedView.of(
            {"state": {"values": {k: {"value": {"selected_option": {"value": v}}} for k, v in values.items()}}})

    errors = settings_errors(submitted(moderation="off", chat="hosts", viewers="on"))
    assert errors == {
        "chat": "This works only with Host management on. Turn it on, or choose \u201cEveryone\u201d.",
        "viewers": "This works only with Host management on. Turn it on, or choose \u201cAs participants\u201d."}
    assert settings_errors(submitted(moderation="on", chat="hosts")) == {}
