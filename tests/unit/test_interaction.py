"""The typed views of Slack payloads (bot/slack/interaction.py): what a job reads of a click, a submitted modal and
an event, and that a payload of an odd shape reads as "nothing there", never as an exception."""

from __future__ import annotations

import json

from bot.domain import Card, Tenant
from bot.slack.interaction import Delivery, Input, SlackEvent, SubmittedView


def test_a_click_reads_the_clicker_the_card_and_the_value() -> None:
    clicked = Delivery.of({
        "type": "block_actions", "user": {"id": "U1", "team_id": "T1"}, "team": {"id": "T1"},
        "channel": {"id": "C1"}, "container": {"type": "message", "channel_id": "C1", "message_ts": "1.2"},
        "response_url": "https://hooks.slack.test/x", "trigger_id": "tr",
        "actions": [{"action_id": "meet_manage", "selected_option": {"value": "end|spaces/abc|abc"}}],
    })

    assert (clicked.where.actor.tenant, clicked.where.actor.user_id) == (Tenant("T1"), "U1")
    assert clicked.where.card == Card("C1", "1.2") and clicked.action_value == "end|spaces/abc|abc"
    assert clicked.view is None and clicked.event is None and not clicked.ticked


def test_a_ticked_checkbox_is_ticked_and_an_empty_one_is_not() -> None:
    def box(ticked: list[dict[str, str]]) -> Delivery:
        return Delivery.of({"user": {"id": "U1"}, "actions": [{"type": "checkboxes", "selected_options": ticked}]})

    assert box([{"value": "on"}]).ticked and not box([]).ticked


def test_a_submitted_modal_reads_each_kind_of_input_and_its_metadata() -> None:
    view = SubmittedView.of({
        "id": "V1", "private_metadata": json.dumps({"space": "spaces/abc", "card": ["C1", "1.2"]}),
        "state": {"values": {
            "title": {"value": {"type": "plain_text_input", "value": " Sync "}},
            "access": {"value": {"type": "static_select", "selected_option": {"value": "open"}}},
            "cohosts": {"value": {"type": "multi_users_select", "selected_users": ["U2", "U3"]}},
            "channel": {"value": {"type": "conversations_select", "selected_conversation": "C9"}},
        }},
    })

    assert view.id == "V1" and view.note("space") == "spaces/abc" and view.metadata["card"] == ["C1", "1.2"]
    assert view.input("title").value == " Sync " and view.input("access").option == "open"
    assert view.input("cohosts").users == ("U2", "U3") and view.input("channel").conversation == "C9"
    assert view.input("not-in-the-form") == Input()


def test_a_modal_of_an_odd_shape_reads_as_empty() -> None:
    view = SubmittedView.of({"private_metadata": "not json", "state": {"values": {"title": "text?"}}})

    assert view.metadata == {} and view.note("space") is None and view.input("title") == Input()


def test_an_event_reads_its_fields_by_kind() -> None:
    shared = SlackEvent.of({"type": "link_shared", "channel": "C1", "message_ts": "1.2",
                            "source": "conversations_history",
                            "links": [{"url": "https://meet.google.com/abc-mnop-xyz", "domain": "meet.google.com"}]})
    revoked = SlackEvent.of({"type": "tokens_revoked", "tokens": {"oauth": ["U1", 7], "bot": ["B1"]}})
    changed = SlackEvent.of({"type": "user_change", "user": {"id": "U5", "deleted": True}})

    assert shared.links == ("https://meet.google.com/abc-mnop-xyz",) and shared.channel == "C1"
    assert revoked.revoked_users == ("U1",) and revoked.revoked_bot
    assert changed.changed_user == "U5"
    delivered = Delivery.of({"team_id": "T1", "event": {"type": "user_change", "user": {"id": "U5"}}})
    assert delivered.where.actor.tenant == Tenant("T1") and delivered.where.actor.user_id == ""


def test_a_message_shortcut_reads_the_text_and_the_attachments_links() -> None:
    delivered = Delivery.of({"type": "message_action", "user": {"id": "U1"}, "message": {
        "text": "see", "attachments": [{"from_url": "https://meet.google.com/abc-mnop-xyz"}, "odd"]}})

    assert delivered.message_text == "see https://meet.google.com/abc-mnop-xyz"
