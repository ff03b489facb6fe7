"""The Slack edge in-process: real signed requests through the front door and `app.async_dispatch`, as
bolt-python tests itself, against the emulators and the private Redis. Faster than the subprocess tests, and
they see the listeners' answers directly; the subprocess tests then only need to prove the wiring."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.slack.listeners import COMMAND_JOB
from bot.slack.unopened import UNOPENED_TEXT, job_notice
from tests.support.edge import ALICE, EMAIL, Edge
from tests.support.flows import all_text, block_action
from tests.support.slack_requests import event, interactive, slash_command
from tests.support.waits import eventually_async


async def test_help_through_bolt_is_answered_in_the_ack(edge: Edge) -> None:
    response = await edge.send(slash_command("help"))
    assert response.status == 200 and "How to use /meet" in response.body


async def test_connect_answers_in_the_ack_and_asks_slack_nothing(edge: Edge) -> None:
    response = await edge.send(slash_command("connect"))
    reply = json.loads(response.body)
    assert response.status == 200 and "Connect Google account" in all_text(reply)
    assert edge.slack.state.calls_to("users.info") == [], "the ack path calls no Slack Web API"


async def test_new_acks_empty_then_posts_the_card(edge: Edge) -> None:
    await edge.link(ALICE, EMAIL)
    response = await edge.send(slash_command("new Planning", trigger_id=edge.slack.state.issue_trigger_id()))
    assert response.status == 200 and response.body == ""
    posts = await eventually_async(  # the durable job runs on the queue, on this loop
        lambda: [c for c in edge.slack.state.calls_to("chat.postMessage") if c["args"]["channel"] == "C0GENERAL"],
        "the card", 5)
    assert len(posts) == 1 and "Planning" in all_text(posts[0]["args"])
    assert [c["user"] for c in edge.meet.state.calls_to("spaces.create")] == [EMAIL]


async def test_a_join_click_is_acked_and_does_nothing_else(edge: Edge) -> None:
    response = await edge.send(block_action("meet_join", "", user_id=ALICE, channel="C0GENERAL", message_ts="1.2",
                                            response_url="http://127.0.0.1:9/none"))
    assert response.status == 200
    await edge.settle()
    assert edge.meet.state.calls == [] and edge.slack.state.calls_to("chat.postMessage") == []


async def test_an_unlinked_click_on_end_gets_a_connect_prompt(edge: Edge) -> None:
    url = edge.slack.response_url("end-unlinked")
    edge.slack.state.add_user("U0BOB", "bob", email="bob@example.com")
    response = await edge.send(block_action("meet_end", "spaces/abc abc-mnop-xyz", user_id="U0BOB",
                                            channel="C0GENERAL", message_ts="1.2", response_url=url))
    assert response.status == 200
    # the click is a durable job on the queue, on this loop
    await eventually_async(lambda: edge.slack.state.response_posts("end-unlinked"), "the reply to the click", 5)
    (reply,) = edge.slack.state.response_posts("end-unlinked")
    assert "Connect Google account" in all_text(reply["body"]) and reply["body"]["response_type"] == "ephemeral"
    assert edge.meet.state.calls_to("spaces.endActiveConference") == []


async def test_an_unknown_action_is_not_found(edge: Edge) -> None:
    response = await edge.send(block_action("nobody_handles_this", "", user_id=ALICE, channel="C0GENERAL",
                                            message_ts=None, response_url="http://127.0.0.1:9/none"))
    assert response.status == 404


async def test_a_link_shared_event_is_unfurled_for_the_channel(edge: Edge) -> None:
    await edge.link(ALICE, EMAIL)
    space = edge.meet.state.create_space(EMAIL, client_id="meetbot")
    link = f"https://meet.google.com/{space['meetingCode']}"
    shared = edge.slack.state.share_links([link], channel="C0GENERAL", user=ALICE)
    body, content_type = event(shared)
    response = await edge.send((body, content_type))
    assert response.status == 200
    (call,) = await edge.slack.state.wait_for_calls("chat.unfurl", 1)  # the unfurl is a job, like every event
    unfurls: dict[str, Any] = call["args"]["unfurls"]
    unfurls = json.loads(unfurls) if isinstance(unfurls, str) else unfurls
    assert space["meetingCode"] in json.dumps(unfurls[link]) and "Status for me" in json.dumps(unfurls[link])


@pytest.mark.parametrize("state", [None, {"values": None}, {"values": []}, {"values": {"channel": None}},
                                   {"values": {"channel": {"value": []}}}])
@pytest.mark.parametrize("callback", ["meet_settings_submit", "meet_start_submit"])
async def test_a_signed_submission_of_an_odd_shape_is_answered_not_a_500(
    edge: Edge, callback: str, state: object
) -> None:
    """Found by fuzzing signed view_submissions (issue 22, item 11): a `state` or `values` that isn't an object
    answered 500 with a traceback. A modal's odd submission gets a modal answer: the start form asks for a channel,
    the settings form (no choice read) is saved as it stands."""
    view = {"id": "V1", "type": "modal", "callback_id": callback, "private_metadata": "", "state": state}
    payload = {"type": "view_submission", "team": {"id": "T0001"}, "user": {"id": ALICE, "team_id": "T0001"},
               "api_app_id": "A0MEETBOT", "view": view}
    response = await edge.send(interactive(payload))
    assert response.status == 200, response.body
    if callback == "meet_start_submit":
        assert json.loads(response.body) == {"response_action": "errors",
                                             "errors": {"channel": "Choose where to post the meeting."}}
    await edge.settle()


async def test_a_command_job_runs_the_command_parsed_on_the_ack_path_not_its_text(edge: Edge) -> None:
    """Parse once: the job carries the parsed command and runs it; the text is kept only for "Try again"."""
    await edge.link(ALICE, EMAIL)
    typed = edge.meet.state.create_space(EMAIL, client_id="meetbot")
    parsed = edge.meet.state.create_space(EMAIL, client_id="meetbot")
    url = edge.slack.response_url("parsed-once")
    body, _ = slash_command(f"status {typed['meetingCode']}", response_url=url, trigger_id="42.parsed")
    command = {key: values[0] for key, values in parse_qs(body).items()}
    await edge.services.jobs.enqueue(COMMAND_JOB, {"command": command,
                                                   "parsed": {"type": "Status", "reference": parsed["meetingCode"]}},
                                     "cmd-T0001-42.parsed")
    (reply,) = await eventually_async(lambda: edge.slack.state.response_posts("parsed-once"), "the status reply")
    assert parsed["meetingCode"] in all_text(reply["body"]) and typed["meetingCode"] not in all_text(reply["body"])


async def test_a_command_job_queued_by_the_previous_version_is_refused_and_its_person_told(edge: Edge) -> None:
    """An older version queued `/meet` jobs as the text only: such a job is not run, and the person is told."""
    await edge.link(ALICE, EMAIL)
    space = edge.meet.state.create_space(EMAIL, client_id="meetbot")
    url = edge.slack.response_url("old-shape")
    body, _ = slash_command(f"end {space['meetingCode']}", response_url=url, trigger_id="42.old")
    command = {key: values[0] for key, values in parse_qs(body).items()}
    await edge.services.jobs.enqueue(COMMAND_JOB, {"command": command}, "cmd-T0001-42.old",
                                     notice=job_notice("T0001", None, ALICE, url))
    (reply,) = await eventually_async(lambda: edge.slack.state.response_posts("old-shape"), "the refusal")
    assert UNOPENED_TEXT in all_text(reply["body"])
    assert edge.meet.state.calls_to("spaces.endActiveConference") == []
