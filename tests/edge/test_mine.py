"""`/meet mine` end to end: `python -m bot` polling each opted-in person's running meetings, a meeting started
outside meetbot (the Meet emulator's `POST /_emulator/calendar`: the space Google Calendar makes for an event), and
the owner's DM recap with the files' links edited in; turning it off stops the reads."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.googleapi.tls import shared_tls
from tests.support.flows import all_text
from tests.support.waits import eventually
from tests.support.world import ALICE, BOB, World

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]


def control(world: World, name: str, **body: Any) -> Any:
    response = httpx.post(f"{world.meet.url}/_emulator/{name}", json=body, timeout=5, verify=shared_tls())
    assert response.status_code == 200, response.text
    return response.json()


def dms(world: World, user: str = ALICE[0]) -> list[dict[str, Any]]:
    """The recaps DMed to `user` (the DM that announced their Google link is not one)."""
    return [c for c in world.slack.state.calls_to("chat.postMessage")
            if c["args"]["channel"] == user and c["ok"] and "Recap of" in str(c["args"].get("text"))]


def dm_text(world: World, post: dict[str, Any]) -> str:
    return all_text(world.slack.state.message(post["response"]["channel"], post["response"]["ts"]) or {})


def running_reads(world: World, email: str = ALICE[1]) -> int:
    return len([c for c in world.meet.state.calls_to("conferenceRecords.list")
                if "end_time IS NULL" in str(c.get("query")) and c.get("user") == email])


def seen_running(world: World, email: str) -> None:
    """Wait until the bot has read the person's running meetings since this moment: two reads, as one already under
    way may have asked Google before the call began. A call that ends unseen between two polls has no recap."""
    since = running_reads(world, email)
    eventually(lambda: running_reads(world, email) >= since + 2, f"the bot reading {email}'s running meetings")


async def test_opted_in_owner_gets_a_dm_recap_of_a_meeting_started_outside_meetbot_until_they_opt_out(
        live: World) -> None:
    reply = await live.command("mine on")
    assert "DM recap" in all_text(reply)
    space = control(live, "calendar", organiser=ALICE[1])
    control(live, "join", space=space["name"], user=BOB[1])
    seen_running(live, ALICE[1])
    control(live, "time", advance=30 * 60)
    control(live, "end", space=space["name"])
    (recap,) = eventually(lambda: dms(live), "Alice's DM recap")
    text = dm_text(live, recap)
    assert f"Recap of {space['meetingCode']}" in text and "30 min" in text and "Bob" in text

    recording = control(live, "artifact", space=space["name"], kind="recording")
    eventually(lambda: recording["driveDestination"]["exportUri"] in str(
        live.slack.state.message(recap["response"]["channel"], recap["response"]["ts"])), "the recording's link")
    assert len(dms(live)) == 1, "edited in place, never a second DM"

    assert "deleted what it kept" in all_text(await live.command("mine off"))
    stopped_at = running_reads(live)
    again = control(live, "calendar", organiser=ALICE[1])
    control(live, "join", space=again["name"], user=BOB[1])
    control(live, "end", space=again["name"])
    # Bob opts in and gets his own recap: the loop has run several times since, and never read for Alice.
    await live.command("mine on", user=BOB)
    bobs = control(live, "calendar", organiser=BOB[1])
    control(live, "join", space=bobs["name"], user=BOB[1])
    seen_running(live, BOB[1])
    control(live, "end", space=bobs["name"])
    eventually(lambda: dms(live, BOB[0]), "Bob's DM recap")
    assert running_reads(live) <= stopped_at + 1, "a read already under way may finish; none after"
    assert len(dms(live)) == 1
