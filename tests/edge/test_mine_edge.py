"""`/meet mine` in-process: the real services (Bolt, jobs, core, store) against the emulators and the private Redis,
with each person's scheduled read run by hand (`mine.refresh`) instead of the loop's schedule.

A person who opted in gets one DM recap of each meeting they run that ended, wherever it started, edited as Google's
files arrive; turning it off, disconnecting and Slack revoking them stop the reads and delete what was kept."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core.mine import LIVE_FILTER
from bot.domain import Actor
from bot.slack.views.home import ACTION_MINE, MINE_SWITCH
from bot.store.crypto import TokenCipher
from bot.store.google_links import GoogleLinkStore
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.edge.test_calls_edge import ALICE, ALICE_EMAIL, BOB, BOB_EMAIL, TENANT, Edge, open_edge
from tests.support.flows import all_text, block_texts
from tests.support.slack_requests import event, interactive
from tests.support.waits import eventually_async


class Clock:
    """The reads' clock, moved by each `poll` as the schedule would."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def edge(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Edge]:
    async with open_edge(bot_env, slack_emulator, meet_emulator) as edge:
        monkeypatch.setattr(edge.services.mine.mine, "_clock", CLOCK)
        yield edge


def dms(edge: Edge, user: str = ALICE) -> list[dict[str, Any]]:
    return [c for c in edge.slack.state.calls_to("chat.postMessage") if c["args"]["channel"] == user and c["ok"]]


def dm_now(edge: Edge, post: dict[str, Any]) -> str:
    return all_text(edge.slack.state.message(post["response"]["channel"], post["response"]["ts"]) or {})


def live_lists(edge: Edge) -> int:
    return len([c for c in edge.meet.state.calls_to("conferenceRecords.list")
                if LIVE_FILTER in str(c.get("query") or c)])


CLOCK = Clock()


async def poll(edge: Edge, user: str = ALICE) -> None:
    """One scheduled read, two poll periods after the last (MEET_POLL_SECONDS is 30 here): after a call, Google's
    files are looked for every other read."""
    CLOCK.now = max(CLOCK.now, time.time()) + 60
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
    reads = live_lists(edge), len(edge.meet.state.calls)
    await poll(edge)
    assert len(edge.meet.state.calls) == reads[1] + 1, "done: only the list of running meetings is read"
    (kept_one,) = await edge.services.mine.mine.meetings(TENANT, ALICE)
    assert kept_one.state.unfollowed_at is not None and len(kept_one.state.artifacts) == 3, "kept for Home"


def joined_meeting(edge: Edge) -> dict[str, Any]:
    """Bob's meeting, started outside meetbot, that Alice only joins: Google lists it to her as running too."""
    space = edge.meet.state.create_space(BOB_EMAIL, client_id="calendar")
    edge.meet.state.join(space["name"], user=BOB_EMAIL)
    edge.meet.state.join(space["name"], user=ALICE_EMAIL)
    return space


def reads_of(edge: Edge, route: str, path_part: str, email: str = ALICE_EMAIL) -> int:
    return len([c for c in edge.meet.state.calls_to(route) if path_part in c["path"] and c["user"] == email])


@pytest.mark.parametrize("non_owner_config", ["absent", "empty", "partial", "full"])
async def test_a_meeting_she_only_joined_gets_no_dm_and_who_came_is_never_read(edge: Edge,
                                                                              non_owner_config: str) -> None:
    """Google names who came only to the owner: a meeting she joined shows on her Home while live, nothing more.
    Under each reading of what Google shows a non-owner of the settings (reference §12)."""
    edge.meet.state.configure(non_owner_config=non_owner_config)
    await edge.run("mine on")
    space = joined_meeting(edge)
    await poll(edge)
    await poll(edge)
    space_id = space["name"].removeprefix("spaces/")
    assert reads_of(edge, "spaces.get", space_id) == 1, "her role is read once per conference"
    home = "\n".join(block_texts(await published(edge, Actor(TENANT, ALICE))))
    assert f"`{space['meetingCode']}`\n:large_green_circle: Live since" in home, "live, with Join, on her Home"

    edge.meet.state.end_conference(space["name"])
    await poll(edge)
    await poll(edge)
    assert dms(edge) == [], "no recap of a meeting she doesn't own"
    (conference,) = space_records(edge, space)
    assert reads_of(edge, "participants.list", conference) == 0
    assert reads_of(edge, "conferenceRecords.get", conference) == 0
    assert await edge.services.mine.mine.meetings(TENANT, ALICE) == [], "gone from her Home once it ended"


async def test_her_both_choice_never_recaps_a_meetbot_meeting_someone_else_owns(edge: Edge) -> None:
    """Bob started it with meetbot; she chose DMs for carded meetings too, but it isn't hers (meetbot's record)."""
    await edge.link(BOB, BOB_EMAIL)
    await edge.run("mine both")
    space, _ = await edge.new_card(user=BOB)
    edge.meet.state.join(space, user=BOB_EMAIL)
    edge.meet.state.join(space, user=ALICE_EMAIL)
    await poll(edge)
    edge.meet.state.end_conference(space)
    await poll(edge)
    assert dms(edge) == []
    assert reads_of(edge, "spaces.get", space.removeprefix("spaces/")) == 0, "meetbot's own record decided it"


def space_records(edge: Edge, space: dict[str, Any]) -> list[str]:
    records = edge.meet.state.space(space["name"])["conferenceRecords"]
    return [r["name"].removeprefix("conferenceRecords/") for r in records]


@pytest.mark.parametrize("calendar_owner", ["organiser", "creator"])
async def test_a_meeting_from_her_calendar_event_gets_her_dm_recap_though_she_never_joined(
        edge: Edge, calendar_owner: str) -> None:
    """Google Calendar made the space for her event; nobody used meetbot. Google lists it to her as its owner."""
    edge.meet.state.configure(calendar_owner=calendar_owner)
    await edge.run("mine on")
    space = edge.meet.state.calendar_meeting(ALICE_EMAIL)
    edge.meet.state.join(space["name"], user=BOB_EMAIL)
    await poll(edge)
    edge.meet.state.advance_time(10 * 60)
    edge.meet.state.end_conference(space["name"])
    await poll(edge)
    (recap,) = dms(edge)
    text = dm_now(edge, recap)
    assert f"Recap of {space['meetingCode']}" in text and "10 min" in text and "Who came (1)" in text


@pytest.mark.parametrize("calendar_owner", ["organiser", "creator"])
async def test_an_event_her_delegate_made_is_recapped_to_her_only_when_google_makes_her_its_owner(
        edge: Edge, calendar_owner: str) -> None:
    """Whose a delegate-made Calendar meeting is, is unverified (the switch). meetbot can't see Calendar: it goes by
    what Google shows her, and sends no recap of who came unless Google shows her as the owner."""
    edge.meet.state.configure(calendar_owner=calendar_owner)
    await edge.run("mine on")
    space = edge.meet.state.calendar_meeting(ALICE_EMAIL, created_by="carol@example.com")
    edge.meet.state.join(space["name"], user=BOB_EMAIL)
    edge.meet.state.join(space["name"], user=ALICE_EMAIL)
    await poll(edge)
    edge.meet.state.end_conference(space["name"])
    await poll(edge)
    assert len(dms(edge)) == (1 if calendar_owner == "organiser" else 0)


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

    # the event is a durable job: it runs on this loop, a moment later
    await eventually_async(gone, "everything kept for /meet mine deleted", 15)


async def test_opting_in_needs_a_linked_google_account(edge: Edge) -> None:
    edge.slack.state.add_user("U0CAROL", "carol", email="carol@example.com")
    text = await edge.run("mine on", user="U0CAROL")
    assert "Google" in text and "connect" in text.lower()
    assert not await kept(edge, "U0CAROL")


async def published(edge: Edge, actor: Actor) -> dict[str, Any]:
    """The Home tab as Slack took it (the emulator checks its Block Kit)."""
    await edge.services.home.publish(actor, await edge.services.clients.for_tenant(TENANT))
    call = edge.slack.state.calls_to("views.publish")[-1]
    assert call["ok"], call
    view: dict[str, Any] = call["args"]["view"]
    return view if isinstance(view, dict) else json.loads(view)


def home_click(user: str, *, ticked: bool, action_id: str = ACTION_MINE, label: str = MINE_SWITCH
               ) -> tuple[str, str]:
    """A Home tab box ("Follow my Google Meet meetings" unless told), ticked or unticked, as Slack sends it."""
    option = {"text": {"type": "plain_text", "text": label}, "value": "on"}
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TENANT.team_id},
        "team": {"id": TENANT.team_id, "domain": "acme"},
        "api_app_id": "A0MEETBOT",
        "trigger_id": "0.0.x",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home"},
        "actions": [{"action_id": action_id, "block_id": "mine", "type": "checkboxes",
                     "selected_options": [option] if ticked else [], "action_ts": f"{time.time():.6f}"}],
    }
    return interactive(payload)


async def test_the_home_tab_switches_it_and_shows_live_and_recent_meetings_with_their_links(edge: Edge) -> None:
    actor = Actor(TENANT, ALICE)
    assert "initial_options" not in str(await edge.services.home.render(actor))
    await edge.send(home_click(ALICE, ticked=True))

    async def on() -> bool:  # a durable job, on this loop, a moment later
        return await edge.services.mine.mine.mode(TENANT, ALICE) == "on"

    await eventually_async(on, "the Home switch to turn /meet mine on", 15)

    space = outside_meeting(edge)
    await poll(edge)
    home = await published(edge, actor)
    text = "\n".join(block_texts(home))
    assert MINE_SWITCH in str(home) and "initial_options" in str(home)
    assert f"`{space['meetingCode']}`\n:large_green_circle: Live since" in text
    assert space["meetingUri"] in str(home), "a Join button"

    edge.meet.state.end_conference(space["name"])
    recording = edge.meet.state.produce_artifact("recording", space["name"])
    await poll(edge)
    home = await published(edge, actor)
    assert "Ended" in all_text(home) and recording["driveDestination"]["exportUri"] in str(home)

    await edge.send(home_click(ALICE, ticked=False))

    async def off() -> bool:
        return not await kept(edge)

    await eventually_async(off, "the Home switch to turn /meet mine off", 15)
    assert "initial_options" not in str(await edge.services.home.render(actor))
