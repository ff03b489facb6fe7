"""One escaping path (issue 10, finding 4; issue 11, finding 2): Slack text is made plain once when parsed, and
plain text is escaped once when rendered, for blocks and the top-level `text` alike. Property-based."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import InvalidSettings, NotOwner
from bot.core.settings_catalog import parse_assignments
from bot.slack import commands, grammar
from bot.slack.mrkdwn import escape, from_slack, plain, unescape
from bot.slack.replies import reply_for
from bot.slack.views.card import CardContent, ended_card, meeting_card
from bot.slack.views.help import unknown_message
from tests.support.flows import block_texts

# What a person can type into Slack, as Slack sends it with should_escape: special mentions, user and channel
# mentions, links, entities, and any text at all around them.
SLACK_PIECES = st.sampled_from([
    "<!channel>", "<!here>", "<!everyone>", "<!subteam^S0TEAM|@devs>", "<@U0BOB>", "<@U0BOB|bob>",
    "<#C0GEN|general>", "<https://example.com|site>", "<https://example.com>", "&amp;", "&lt;", "&gt;",
    "&lt;!channel&gt;", "`", "*", "Q&amp;A", "R&amp;D", "&lt;2025&gt;", "@channel", "<", ">", "&",
])
SLACK_TEXT = st.lists(st.one_of(SLACK_PIECES, st.text(max_size=12)), max_size=12).map(" ".join)
CONTROL = re.compile(r"<[!@#]")
STARTER = "U0ALICE"


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    return [str(message.get("text", "")), *block_texts(message, ("mrkdwn",))]


def no_control_but(texts: list[str], allowed: set[str]) -> None:
    for text in texts:
        for match in re.finditer(r"<[!@#][^>]*>", text):
            assert match.group(0) in allowed, (match.group(0), text)


@settings(max_examples=300, deadline=None)
@given(SLACK_TEXT)
def test_a_title_can_never_ping_and_never_breaks_a_limit(typed: str) -> None:
    parsed = commands.parse(f"new {typed}")
    title = parsed.title if isinstance(parsed, grammar.New) else None
    for message in (meeting_card(CardContent("spaces/s1", "abc-mnop-xyz", "https://meet.google.com/abc-mnop-xyz",
                                             title, STARTER)),
                    ended_card(CardContent("spaces/s1", "abc-mnop-xyz", None, title, STARTER), None, STARTER)):
        texts = mrkdwn_texts(message)
        no_control_but(texts, {f"<@{STARTER}>"})
        assert len(message["text"]) <= 4000
        for block in message["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_plain_text_round_trips_through_escaping(text: str) -> None:
    assert unescape(escape(text)) == text
    assert from_slack(escape(text)) == text, "what Slack escaped comes back exactly as typed"
    assert not CONTROL.search(escape(text))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=20_000))
def test_plain_cuts_after_escaping_and_never_inside_an_entity(text: str) -> None:
    out = plain(text, 300)
    assert len(out) <= 300
    assert not re.search(r"&(?:a|am|amp|l|lt|g|gt)?…$", out)


def test_slack_syntax_is_made_plain_once() -> None:
    assert commands.parse("new Q&amp;A with R&amp;D &lt;2025&gt;") == grammar.New("Q&A with R&D <2025>")
    assert commands.parse("new <!channel> sync <@U0BOB|bob> in <#C0GEN|general>") == grammar.New(
        "@channel sync in #general", people=("U0BOB",)), "a mention is a co-host, not part of the title"
    assert commands.parse("<https://meet.google.com/abc-mnop-xyz?authuser=0|meet.google.com/abc-mnop-xyz>") == \
        grammar.Status("https://meet.google.com/abc-mnop-xyz?authuser=0")
    card = meeting_card(CardContent("spaces/s1", "abc-mnop-xyz", None, "Q&A with R&D <2025>", STARTER))
    assert card["blocks"][0]["text"]["text"] == "Q&A with R&D <2025>", "plain_text is shown as typed"
    assert "&amp;amp;" not in json.dumps(card), "escaped exactly once"
    assert card["text"].startswith("Q&amp;A with R&amp;D &lt;2025&gt;:")


@settings(max_examples=200, deadline=None)
@given(SLACK_TEXT, SLACK_TEXT)
def test_typed_settings_and_googles_words_never_ping(key: str, word: str) -> None:
    parsed = commands.parse(f"set abc-mnop-xyz {key.replace(' ', '')}={word.replace(' ', '')}x")
    messages = [unknown_message(parsed.problem, parsed.suggestion, parsed.topic)] \
        if isinstance(parsed, grammar.Unknown) else []
    if isinstance(parsed, grammar.Set):
        try:
            parse_assignments(parsed.assignments)
        except InvalidSettings as invalid:
            messages.append(reply_for(invalid))
    messages.append(reply_for(InvalidSettings(f"Google refused those settings: {from_slack(word)} <!here>")))
    for message in messages:
        no_control_but(mrkdwn_texts(message), set())
        assert all(len(t) <= 3000 for t in mrkdwn_texts(message))


def test_a_refusal_names_its_person_by_data_not_by_text() -> None:
    reply = reply_for(NotOwner("Only the meeting's owner can end <!channel>.", "U0ALICE"))
    text = reply["blocks"][0]["text"]["text"]
    assert text.endswith("<@U0ALICE> owns it.") and "&lt;!channel&gt;" in text
    forged = reply_for(NotOwner("x", "U1> <!channel"))
    assert "<!channel" not in json.dumps(forged)
