"""Several bot processes on one Redis, requests alternated between them (issue 13): what one process does, no other
repeats. One create per trigger (Slack redelivering to another process), one token refresh per expired token, and
Home-tab opens coalesced into one render across processes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess, BotStarter
from tests.support.flows import all_text, channel_posts, link_google
from tests.support.jobs import jobs_done
from tests.support.slack_requests import slash_command
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e

ALICE = ("U0ALICE", "alice@example.com")


@pytest.mark.parametrize("processes", [2, 3])
async def test_one_create_per_trigger_across_processes(
    start_bot: BotStarter, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
    processes: int, redis_url: str,
) -> None:
    bots = start_bot.many(processes)
    await link_google(bots[0], slack_emulator, meet_emulator, *ALICE)
    triggers = [slack_emulator.state.issue_trigger_id() for _ in range(4)]
    for n, trigger in enumerate(triggers):  # each command delivered to every process, in turn (Slack's retries)
        url = slack_emulator.response_url(f"multi-{n}", channel="C0GENERAL", user=ALICE[0])
        for k in range(processes):
            bot = bots[(n + k) % processes]
            response = await bot.post(slash_command(f"new Multi{n}", response_url=url, trigger_id=trigger))
            assert response.status_code == 200
    eventually(lambda: len([c for c in channel_posts(slack_emulator) if "Multi" in all_text(c["args"])]) >= 4,
               "four cards")
    eventually(lambda: jobs_done(redis_url), "every job done")  # a fifth card, if any, came by now
    cards = [c for c in channel_posts(slack_emulator) if "Multi" in all_text(c["args"])]
    assert len(cards) == 4, "one card per trigger"
    assert len(meet_emulator.state.calls_to("spaces.create")) == 4, "one create per trigger"


async def test_one_refresh_per_token_across_processes(
    start_bot: BotStarter, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    bots = start_bot.many(3)
    await link_google(bots[0], slack_emulator, meet_emulator, *ALICE)
    space = meet_emulator.state.create_space(ALICE[1], client_id="meetbot")
    for token in list(meet_emulator.state._access):  # the access token expired: every process needs a new one
        meet_emulator.state.expire_token(token)
    grants = meet_emulator.state.refresh_grants
    sends = []
    for n in range(6):
        url = slack_emulator.response_url(f"refresh-{n}", channel="C0GENERAL", user=ALICE[0])
        sends.append(bots[n % 3].post(slash_command(f"status {space['meetingCode']}", response_url=url,
                                                    trigger_id=slack_emulator.state.issue_trigger_id())))
    assert all(r.status_code == 200 for r in await asyncio.gather(*sends))
    eventually(lambda: all(slack_emulator.state.response_posts(f"refresh-{n}") for n in range(6)), "six replies")
    for n in range(6):
        assert space["meetingCode"] in all_text(slack_emulator.state.response_posts(f"refresh-{n}")[-1]["body"])
    assert meet_emulator.state.refresh_grants - grants == 1, "one refresh for the one expired token"


async def test_home_opens_coalesce_across_processes(
    start_bot: BotStarter, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_url: str
) -> None:
    """Six opens of Alice's Home tab within a moment, spread over three processes: one render (one Meet read per
    meeting shown) and one publish, not one each."""
    bots = start_bot.many(3)
    await link_google(bots[0], slack_emulator, meet_emulator, *ALICE)
    url = slack_emulator.response_url("home-meeting", channel="C0GENERAL", user=ALICE[0])
    trigger = slack_emulator.state.issue_trigger_id()
    await bots[0].post(slash_command("new Homely", response_url=url, trigger_id=trigger))
    eventually(lambda: any("Homely" in all_text(c["args"]) for c in channel_posts(slack_emulator)), "the card")
    eventually(lambda: jobs_done(redis_url), "the create's job done")
    reads_before = len(meet_emulator.state.calls_to("spaces.get"))

    def publishes() -> list[dict[str, Any]]:
        return [c for c in slack_emulator.state.calls_to("views.publish") if c["args"]["user_id"] == ALICE[0]]

    before = len(publishes())

    async def open_home(bot: BotProcess) -> None:
        envelope = slack_emulator.state.event_envelope({"type": "app_home_opened", "user": ALICE[0],
                                                        "channel": "D0ALICE", "tab": "home", "event_ts": "1.1"})
        assert (await bot.post((json.dumps(envelope), "application/json"))).status_code == 200

    await asyncio.gather(*(open_home(bots[n % 3]) for n in range(6)))
    eventually(lambda: len(publishes()) > before, "a publish")
    eventually(lambda: jobs_done(redis_url), "every open handled")  # a second publish, if any, came by now
    assert len(publishes()) - before == 1, "one publish for the burst"
    assert len(meet_emulator.state.calls_to("spaces.get")) - reads_before <= 1, "one Meet read for the burst"
    assert "Homely" in json.dumps(slack_emulator.state.home_view(ALICE[0]))
