"""/metrics and the action lines, in-process: the real aiohttp app (front door, Bolt, the durable jobs) on a local
port, signed Slack requests in, against the emulators and the private Redis; the counters read back from /metrics
as Prometheus parses them. The registry is the process's own, so every check is a difference: before and after."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Services, build_bolt_app
from bot.domain import LiveState, Phase, Tenant
from bot.store.live import FollowSchedule, LiveStates
from bot.web import build_probe_app, build_web_app
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.edge import services_in_loop
from tests.support.flows import block_action, link_in_process
from tests.support.ports import free_port
from tests.support.slack_requests import sign, slash_command
from tests.support.waits import eventually_async

ALICE, EMAIL = "U0ALICE", "alice@example.com"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Served:
    services: Services
    url: str
    slack: SlackEmulator
    meet: MeetEmulator

    async def post(self, request: tuple[str, str]) -> httpx.Response:
        body, content_type = request
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            return await client.post("/slack/events", content=body.encode(),
                                     headers={"Content-Type": content_type, **sign(body)})

    async def scrape(self, path: str = "/metrics") -> Samples:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            response = await client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        return parse(response.text)

    async def link(self, user: str, email: str) -> None:
        async def connect() -> dict[str, Any]:
            return dict((await self.post(slash_command("connect", user_id=user))).json())

        await link_in_process(self.services, self.slack, self.meet, user, email, connect)


def parse(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def served(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
                 ) -> AsyncIterator[Served]:
    async with services_in_loop(bot_env) as services:
        runner, url = await serve(build_web_app(services, build_bolt_app(services)))
        try:
            yield Served(services, url, slack_emulator, meet_emulator)
        finally:
            await runner.cleanup()


def channel_cards(slack: SlackEmulator) -> list[object]:
    return [c for c in slack.state.calls_to("chat.postMessage") if c["args"]["channel"] == "C0GENERAL"]


async def test_a_real_meet_new_moves_the_counters(served: Served) -> None:
    await served.link(ALICE, EMAIL)
    before = await served.scrape()
    response = await served.post(slash_command("new Planning", trigger_id=served.slack.state.issue_trigger_id()))
    assert response.status_code == 200
    await eventually_async(lambda: channel_cards(served.slack), "the card", 10)

    async def job_finished() -> Samples | None:  # the card is posted from inside the job: let it finish
        samples = await served.scrape()
        return samples if value(samples, "meetbot_jobs_running", job="meeting.start") == 0 else None

    after = await eventually_async(job_finished, "the meeting.start job to finish", 5, every=0.05)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("meetbot_slack_ack_seconds_count", kind="command") == 1
    assert moved("meetbot_google_calls_total", method="spaces.create", status="200") == 1
    assert moved("meetbot_job_start_lag_seconds_count", job="meeting.start") == 1
    assert value(after, "meetbot_jobs_running", job="meeting.start") == 0
    assert moved("meetbot_jobs_failed_total", job="meeting.start") == 0
    assert ("meetbot_jobs_queued", ()) in after
    assert ("meetbot_followed_meetings", (("phase", "live"),)) in after


async def test_followed_meetings_are_counted_by_phase_from_redis(served: Served) -> None:
    """Whichever process follows them, a scrape reports the meetings the shared schedule holds, by phase."""
    tenant = Tenant("T0001", None)
    schedule = FollowSchedule(served.services.redis, served.services.keys)
    states = LiveStates(served.services.redis, served.services.keys)
    for space_id, phase in (("live1", Phase.LIVE), ("live2", Phase.LIVE), ("over", Phase.ENDED), ("new", None)):
        await schedule.at(tenant, space_id, time.time() + 60)
        if phase is not None:
            await states.save(tenant, space_id, LiveState(f"spaces/{space_id}", phase, time.time()))
    samples = await served.scrape()
    assert [value(samples, "meetbot_followed_meetings", phase=p) for p in ("waiting", "live", "ended")] == [1, 2, 1]


async def test_a_google_error_is_counted_by_status_and_logged_as_a_warning(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    await served.link(ALICE, EMAIL)
    served.meet.state.inject_fault("spaces.create", status=500)
    before = await served.scrape()
    caplog.set_level(logging.INFO)
    url = served.slack.response_url("failed-create")
    await served.post(slash_command("new Broken", trigger_id=served.slack.state.issue_trigger_id(),
                                    response_url=url))
    await eventually_async(lambda: served.slack.state.response_posts("failed-create"), "the reply", 10)
    after = await served.scrape()
    assert value(after, "meetbot_google_calls_total", method="spaces.create", status="500") - value(
        before, "meetbot_google_calls_total", method="spaces.create", status="500") == 1
    warnings = [r for r in caplog.records if r.name == "bot.google" and r.levelno == logging.WARNING]
    assert any(getattr(r, "google_method", None) == "spaces.create" and getattr(r, "status", None) == 500
               for r in warnings)


async def test_each_user_action_writes_one_line_with_its_facts(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    await served.link(ALICE, EMAIL)
    caplog.set_level(logging.INFO, logger="bot.actions")
    caplog.clear()
    await served.post(slash_command("new Planning", trigger_id=served.slack.state.issue_trigger_id()))
    await eventually_async(lambda: any(r.name == "bot.actions" for r in caplog.records), "the action line", 10)
    await served.post(slash_command("me"))  # answered in the ack: its line is written there
    lines = [r for r in caplog.records if r.name == "bot.actions"]
    assert [getattr(r, "action", None) for r in lines] == ["start meeting", "/meet me"], "one line per action"
    start = lines[0]
    assert (start.team, start.user, start.outcome) == ("T0001", ALICE, "ok")  # type: ignore[attr-defined]
    assert start.google_calls >= 1 and isinstance(start.ms, int)  # type: ignore[attr-defined]
    assert lines[1].google_calls == 0  # type: ignore[attr-defined]
    assert "action start meeting by T0001/U0ALICE: ok in" in start.getMessage()


async def test_an_action_that_is_refused_says_so_in_its_line(served: Served, caplog: pytest.LogCaptureFixture
                                                             ) -> None:
    caplog.set_level(logging.INFO, logger="bot.actions")
    served.slack.state.add_user("U0BOB", "bob", email="bob@example.com")
    url = served.slack.response_url("unlinked-status")
    await served.post(slash_command("status abc-mnop-xyz", user_id="U0BOB", response_url=url))
    await eventually_async(lambda: any(r.name == "bot.actions" for r in caplog.records), "the action line", 10)
    (line,) = [r for r in caplog.records if r.name == "bot.actions"]
    assert (line.action, line.outcome) == ("/meet status", "not_linked")  # type: ignore[attr-defined]


SLACK_ID = re.compile(r"[UTCWGDEB][A-Z0-9]{5,}")
MEETING = re.compile(r"spaces/|conferenceRecords/|[a-z]{3}-[a-z]{4}-[a-z]{3}|@")


async def test_no_label_carries_a_user_team_channel_or_meeting_id(served: Served) -> None:
    await served.link(ALICE, EMAIL)
    await served.post(slash_command("new Planning", trigger_id=served.slack.state.issue_trigger_id()))
    await eventually_async(lambda: channel_cards(served.slack), "the card", 10)
    (card,) = channel_cards(served.slack)
    code = re.search(r"[a-z]{3}-[a-z]{4}-[a-z]{3}", json.dumps(card["args"]))  # type: ignore[index]
    assert code is not None
    await served.post(slash_command(f"status {code.group(0)}", response_url=served.slack.response_url("s")))
    await served.post(block_action("meet_end", f"spaces/x {code.group(0)}", user_id=ALICE, channel="C0GENERAL",
                                   message_ts="1.2", response_url=served.slack.response_url("e")))
    await eventually_async(lambda: served.slack.state.response_posts("s") and served.slack.state.response_posts("e"),
                           "the replies", 10)
    samples = await served.scrape()
    labels = {v for (_, pairs) in samples for (_, v) in pairs}
    leaks = [v for v in labels if SLACK_ID.fullmatch(v) or MEETING.search(v)]
    assert leaks == []
    assert {"command", "block_actions", "spaces.create"} <= labels, "the traffic is in the metrics"


async def test_the_worker_listener_serves_probes_and_metrics_only(served: Served) -> None:
    runner, url = await serve(build_probe_app(served.services))
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).json()["ready"] is True
            assert "meetbot_jobs_queued" in (await client.get("/metrics")).text
            assert (await client.post("/slack/events", content=b"{}")).status_code in (404, 405)
    finally:
        await runner.cleanup()
