"""Durable work (issue 13): a `/meet` acknowledged to Slack is done even if the bot is killed (kill -9) right
after the ack, at each step of the create; a restarted bot (or another process) resumes it, and the channel
gets exactly one card (or the user an honest reply), never two."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import all_text, block_action, channel_posts, link_google
from tests.support.jobs import settled
from tests.support.ports import free_port
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e

ALICE = ("U0ALICE", "alice@example.com")
TAKE_OVER = 1  # JOB_IDLE_TIMEOUT here: seconds before a killed bot's job is taken over (the default is 5)
RECOVERY = 20.0  # the job is taken over after TAKE_OVER; generous for a loaded CI box


@pytest.fixture
def bot_env(bot_env: dict[str, str]) -> dict[str, str]:
    """A killed bot's job is taken over after TAKE_OVER instead of the default 5 s: the wait every test here has."""
    return {**bot_env, "JOB_IDLE_TIMEOUT": str(TAKE_OVER)}


def start_worker(env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    with (workdir / "worker.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=workdir, stdout=log,
                                stderr=subprocess.STDOUT, env=env)


async def start_meeting(bot: BotProcess, slack: SlackEmulator, title: str) -> str:
    name = f"durable-{time.monotonic_ns()}"
    url = slack.response_url(name, channel="C0GENERAL", user=ALICE[0])
    response = await bot.post(slash_command(f"new {title}", response_url=url,
                                            trigger_id=slack.state.issue_trigger_id()))
    assert response.status_code == 200 and not response.content, "acked at once, the work is queued"
    return name


def in_flight(emulator: MeetEmulator | SlackEmulator) -> None:
    """Wait until the call the test slowed down has reached the emulator: the bot is inside that step now."""
    eventually(lambda: emulator.state.faults_left() == 0, "the slowed call on its way")


def killed_mid_call(bot: BotProcess, start_bot: Callable[..., BotProcess],
                    emulator: MeetEmulator | SlackEmulator) -> BotProcess:
    """kill -9 while the call the test slowed down is under way, then a bot started again (it takes the job over)."""
    in_flight(emulator)
    bot.kill()
    return start_bot()


def told(slack: SlackEmulator, name: str) -> str:
    """The last reply to a response_url, once the restarted bot sent one."""
    eventually(lambda: slack.state.response_posts(name), "the reply", RECOVERY)
    return all_text(slack.state.response_posts(name)[-1]["body"])


def cards(slack: SlackEmulator, title: str) -> list[dict[str, object]]:
    return [c for c in channel_posts(slack) if title in all_text(c["args"])]  # type: ignore[arg-type]


async def test_killed_before_google_answered_the_meeting_still_comes(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
) -> None:
    bot = start_bot()
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    meet_emulator.state.inject_fault("spaces.create", status=0, delay=1.5)  # Google is slow...
    await start_meeting(bot, slack_emulator, "Survives")
    bot = killed_mid_call(bot, start_bot, meet_emulator)  # ...and the bot dies before it answers
    eventually(lambda: len(cards(slack_emulator, "Survives")) >= 1, "the card", RECOVERY)
    settled(bot, RECOVERY)  # a second card, if one were coming, would have come by now
    assert len(cards(slack_emulator, "Survives")) == 1, "exactly one card"


async def test_killed_while_posting_the_card_never_posts_two(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
) -> None:
    bot = start_bot()
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    slack_emulator.state.inject_fault("chat.postMessage", status=200, delay=1.5)  # Slack takes its time...
    name = await start_meeting(bot, slack_emulator, "Once")
    eventually(lambda: len(meet_emulator.state.calls_to("spaces.create")) == 1, "the create", 10)
    bot = killed_mid_call(bot, start_bot, slack_emulator)  # ...and the bot dies while the card is on its way
    told(slack_emulator, name)
    settled(bot, RECOVERY)
    reply = all_text(slack_emulator.state.response_posts(name)[-1]["body"])
    assert "Your meeting was created" in reply and "meet.google.com/" in reply, "an honest reply with the link"
    assert len(cards(slack_emulator, "Once")) <= 1, "never a second card"
    assert len(meet_emulator.state.calls_to("spaces.create")) == 1, "the re-run reused the space it made"


async def test_killed_right_after_the_card_changes_nothing(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
) -> None:
    bot = start_bot()
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    await start_meeting(bot, slack_emulator, "Done")
    eventually(lambda: len(cards(slack_emulator, "Done")) == 1, "the card", 10)
    bot.kill()
    bot = start_bot()
    settled(bot, RECOVERY)  # past the take-over: a re-run, if any, must find the card already posted
    assert len(cards(slack_emulator, "Done")) == 1
    assert len(meet_emulator.state.calls_to("spaces.create")) == 1


async def test_a_separate_worker_process_runs_the_jobs(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
    bot_env: dict[str, str], tmp_path: Path,
) -> None:
    """`python -m bot worker` (the Procfile's worker): with the web process gone, it still does the work."""
    bot = start_bot()
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    meet_emulator.state.inject_fault("spaces.create", status=0, delay=1.0)
    await start_meeting(bot, slack_emulator, "Worker")
    bot.kill()
    port = free_port()  # the worker's own listener: probes and metrics only
    worker = start_worker({**bot.env, "PORT": str(port)}, tmp_path)
    try:
        eventually(lambda: len(cards(slack_emulator, "Worker")) == 1, "the card", RECOVERY)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
            metrics = (await client.get("/metrics")).text
            assert (await client.post("/slack/events", content=b"x")).status_code == 404, "no Slack route"
        assert 'meetbot_google_calls_total{method="spaces.create",status="200"} 1.0' in metrics
    finally:
        worker.terminate()
        assert worker.wait(timeout=20) == 0, "the worker stops cleanly on SIGTERM"


async def test_every_slash_command_is_durable_too(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
) -> None:
    """`/meet end` acknowledged, then the bot killed before Google answered: the restarted bot ends the call and
    tells the user."""
    bot = start_bot()
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    space = meet_emulator.state.create_space(ALICE[1], client_id="meetbot")
    meet_emulator.state.join(space["name"], user="bob@example.com")
    meet_emulator.state.inject_fault("spaces.endActiveConference", status=0, delay=1.5)
    name = "end-durable"
    url = slack_emulator.response_url(name, channel="C0GENERAL", user=ALICE[0])
    response = await bot.post(slash_command(f"end {space['meetingCode']}", response_url=url,
                                            trigger_id=slack_emulator.state.issue_trigger_id()))
    assert response.status_code == 200 and not response.content
    killed_mid_call(bot, start_bot, meet_emulator)
    reply = told(slack_emulator, name)
    assert "Ended the call" in reply and "no live call" not in reply, reply  # the first try may have ended it already
    assert not meet_emulator.state.space(space["name"]).get("activeConference")


async def test_an_end_click_is_durable(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
) -> None:
    """The End button: acknowledged, the bot killed before Google answered, the call still ends, and the re-run
    that finds the end already done says it ended (issue 22, item 10: it said "There's no live call")."""
    bot = start_bot()
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    space = meet_emulator.state.create_space(ALICE[1], client_id="meetbot")
    meet_emulator.state.join(space["name"], user="bob@example.com")
    meet_emulator.state.inject_fault("spaces.endActiveConference", status=0, delay=1.5)
    name = "click-durable"
    url = slack_emulator.response_url(name, channel="C0GENERAL", user=ALICE[0])
    response = await bot.post(block_action("meet_end", f"{space['name']} {space['meetingCode']}", user_id=ALICE[0],
                                           channel="C0GENERAL", message_ts="1.2", response_url=url))
    assert response.status_code == 200
    killed_mid_call(bot, start_bot, meet_emulator)
    reply = told(slack_emulator, name)
    assert "Ended the call" in reply and "no live call" not in reply, reply
    assert not meet_emulator.state.space(space["name"]).get("activeConference")


async def test_a_status_for_me_click_is_durable(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
) -> None:
    """Any click other than End goes through the same durable payload job: acknowledged, the bot killed before
    Google answered, the restarted bot still answers the clicker."""
    bot = start_bot()
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    space = meet_emulator.state.create_space(ALICE[1], client_id="meetbot")
    meet_emulator.state.inject_fault("spaces.get", status=0, delay=1.5)
    name = "status-click-durable"
    url = slack_emulator.response_url(name, channel="C0GENERAL", user=ALICE[0])
    response = await bot.post(block_action("meet_status_me", space["meetingCode"], user_id=ALICE[0],
                                           channel="C0GENERAL", message_ts="1.3", response_url=url))
    assert response.status_code == 200
    bot = killed_mid_call(bot, start_bot, meet_emulator)
    told(slack_emulator, name)
    settled(bot, RECOVERY)
    posts = slack_emulator.state.response_posts(name)
    assert len(posts) == 1, "answered once"
    assert space["meetingCode"] in all_text(posts[0]["body"])


async def test_an_event_is_durable_and_its_retries_run_once(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
) -> None:
    """link_shared, acknowledged, the bot killed before Google answered: the restarted bot unfurls it; Slack's
    retry of the same event_id, delivered to the new process too, adds nothing."""
    bot = start_bot()
    await link_google(bot, slack_emulator, meet_emulator, *ALICE)
    space = meet_emulator.state.create_space(ALICE[1], client_id="meetbot")
    meet_emulator.state.inject_fault("spaces.get", status=0, delay=1.5)
    event = slack_emulator.state.share_links([space["meetingUri"]], channel="C0GENERAL", user=ALICE[0])
    envelope = json.dumps(slack_emulator.state.event_envelope(event))
    assert (await bot.post((envelope, "application/json"))).status_code == 200
    bot = killed_mid_call(bot, start_bot, meet_emulator)
    assert (await bot.post((envelope, "application/json"))).status_code == 200  # Slack retries: same event_id
    eventually(lambda: slack_emulator.state.calls_to("chat.unfurl"), "the unfurl", RECOVERY)
    settled(bot, RECOVERY)
    (unfurl,) = slack_emulator.state.calls_to("chat.unfurl")
    assert space["meetingCode"] in json.dumps(unfurl["args"])
