"""`/meet mine` in-process: the real services (Bolt, jobs, core, store) against the emulators and the private Redis,
with each person's scheduled read run by hand (`mine.refresh`) instead of the loop's schedule.

A person who opted in gets one DM recap of each meeting they run that ended, wherever it started, edited as Google's
files arrive; turning it off, disconnecting and Slack revoking them stop the reads and delete what was kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import close_services
from bot.core.mine import LIVE_FILTER
from bot.store.crypto import TokenCipher
from bot.store.google_links import GoogleLinkStore
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.flows import all_text
from tests.support.slack_requests import event
from tests.test_calls_edge import ALICE, ALICE_EMAIL, BOB_EMAIL, TENANT, Edge, open_edge


@pytest.fixture
async def edge(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
               ) -> AsyncIterator[Edge]:
    edge, services = await open_edge(bot_env, slack_emulator, meet_emulator)
    try:
        yield edge
    finally:
        await services.tasks.drain(5)
        await close_services(services)


def dms(edge: Edge, user: str = ALICE) -> list[dict[str, Any]]:
    return [c for c in edge.slack.state.calls_to("chat.postMessage") if c["args"]["channel"] == user and c["ok"]]


def dm_now(edge: Edge, post: dict[str, Any]) -> str:
    return all_text(edge.slack.state.message(post["response"]["channel"], post["response"]["ts"]) or {})


def live_lists(edge: Edge) -> int:
    return len([c for c in edge.meet.state.calls_to("conferenceRecords.list")
                if LIVE_FILTER in str(c.get("query") or c)])


async def poll(edge: Edge, user: str = ALICE) -> None:
    await edge.services.mine.refresh(TENANT, user)


async def kept(edge: Edge, user: str = ALICE) -> bool:
    return bool(await edge.services.redis.exists(edge.services.keys.mine(TENANT, user)))


async def scheduled(edge: Edge, user: str = ALICE) -> bool:
    due = edge.services.keys.schedule("mine")[0]
    return await edge.services.redis.zscore(due, f"-|{TENANT.team_id}|{user}") is not None


def outside_meeting(edge: Edge) -> dict[str, Any]:
    """A meeting Alice runs that was started outside meetbot (as if from Calendar), with Bob in it."""
    space = edge.meet.state.create_space(ALICE_EMAIL, client_id="calendar")
    edge.meet.state.join(space["name"], user=ALICE_EMAIL)
    edge.meet.state.join(space["name"], user=BOB_EMAIL)
    return space


async def test_a_meeting_started_outside_meetbot_gets_one_dm_recap_edited_as_its_files_arrive(edge: Edge) -> None:
    assert "DM recap" in await edge.run("mine on")
    assert await scheduled(edge)
    space = outside_meeting(edge)
    await poll(edge)
    await poll(edge)
    assert dms(edge) == [], "live: nothing to recap yet"

    edge.meet.state.advance_time(23 * 60)
    edge.meet.state.end_conference(space["name"])
    await poll(edge)
    (recap,) = dms(edge)
    text = dm_now(edge, recap)
    assert f"Recap of {space['meetingCode']}" in text and "23 min" in text
    assert "Who came (2)" in text and "appear here when Google has them" in text

    recording = edge.meet.state.produce_artifact("recording", space["name"])
    await poll(edge)
    assert recording["driveDestination"]["exportUri"] in str(edge.slack.state.message(
        recap["response"]["channel"], recap["response"]["ts"]))
    edge.meet.state.produce_artifact("transcript", space["name"])
    edge.meet.state.produce_artifact("smartNote", space["name"])
    await poll(edge)
    final = dm_now(edge, recap)
    assert "Transcript" in final and "Notes by Gemini" in final and "appear here" not in final
    await poll(edge)
    assert len(dms(edge)) == 1, "one DM per conference, edited in place"
    assert await edge.services.mine.mine.followed(TENANT, ALICE) == [], "done: nothing more is kept for it"


async def test_two_processes_reading_the_same_end_at_once_send_one_dm(edge: Edge) -> None:
    await edge.run("mine on")
    space = outside_meeting(edge)
    await poll(edge)
    edge.meet.state.end_conference(space["name"])
    await asyncio.gather(poll(edge), poll(edge), poll(edge))
    assert len(dms(edge)) == 1


async def test_a_meeting_with_a_card_gets_its_recap_in_the_thread_unless_the_person_asked_for_both(
        edge: Edge) -> None:
    await edge.run("mine on")
    space, _ = await edge.new_card()
    edge.meet.state.join(space, user=BOB_EMAIL)
    await poll(edge)
    edge.meet.state.end_conference(space)
    await poll(edge)
    assert dms(edge) == []

    await edge.run("mine both")
    edge.meet.state.join(space, user=BOB_EMAIL)
    await poll(edge)
    edge.meet.state.end_conference(space)
    await poll(edge)
    (recap,) = dms(edge)
    assert "Recap of Planning" in dm_now(edge, recap), "meetbot's own title, to the meeting's owner"


async def test_turning_it_off_stops_the_reads_and_deletes_what_was_kept(edge: Edge) -> None:
    await edge.run("mine on")
    space = outside_meeting(edge)
    await poll(edge)
    assert await kept(edge)
    assert "deleted what it kept" in await edge.run("mine off")
    assert not await kept(edge) and not await scheduled(edge)
    reads = live_lists(edge)
    edge.meet.state.end_conference(space["name"])
    await poll(edge)
    assert live_lists(edge) == reads and dms(edge) == []


async def test_disconnecting_turns_it_off(edge: Edge) -> None:
    await edge.run("mine on")
    outside_meeting(edge)
    await poll(edge)
    await edge.run("disconnect")
    assert not await kept(edge) and not await scheduled(edge)


async def test_a_revoked_grant_turns_it_off_at_the_next_read(edge: Edge) -> None:
    await edge.run("mine on")
    outside_meeting(edge)
    await poll(edge)
    links = GoogleLinkStore(edge.services.redis, edge.services.keys,
                            TokenCipher(edge.services.settings.token_encryption_keys))
    link = await links.get(TENANT, ALICE)
    assert link is not None and link.refresh_token
    edge.meet.state.revoke(link.refresh_token)  # revoked at myaccount.google.com, or the 7-day limit
    if link.access_token:
        edge.meet.state.revoke(link.access_token)
    await poll(edge)
    assert not await kept(edge) and not await scheduled(edge)


@pytest.mark.parametrize("inner", [
    {"type": "tokens_revoked", "tokens": {"oauth": [ALICE], "bot": []}},
    {"type": "app_uninstalled"},
])
async def test_slack_revoking_the_person_or_an_uninstall_turns_it_off(edge: Edge, inner: dict[str, Any]) -> None:
    await edge.run("mine on")
    outside_meeting(edge)
    await poll(edge)
    await edge.send(event(inner))

    async def gone() -> bool:
        return not await kept(edge) and not await scheduled(edge)

    deadline = asyncio.get_running_loop().time() + 15
    while not await gone():  # the event is a durable job: it runs on this loop, a moment later
        assert asyncio.get_running_loop().time() < deadline, "everything kept for /meet mine deleted"
        await asyncio.sleep(0.05)


async def test_opting_in_needs_a_linked_google_account(edge: Edge) -> None:
    edge.slack.state.add_user("U0CAROL", "carol", email="carol@example.com")
    text = await edge.run("mine on", user="U0CAROL")
    assert "Google" in text and "connect" in text.lower()
    assert not await kept(edge, "U0CAROL")
