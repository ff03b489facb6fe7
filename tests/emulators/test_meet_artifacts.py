"""The Meet emulator's participant sessions, artifacts and event hook (emulators/meet_live.py), over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.googleapi.tls import shared_tls
from emulators.meet import MeetEmulator
from emulators.meet_live import MeetEvent

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
PREFIX = "google.workspace.meet."


@pytest.fixture
def emu() -> Iterator[MeetEmulator]:
    with MeetEmulator() as emulator:
        yield emulator


def get(emu: MeetEmulator, path: str, user: str = ALICE, **params: str) -> httpx.Response:
    token = emu.state.mint_token(user, ["meetings.space.readonly"])
    return httpx.get(f"{emu.url}/v2/{path}", params=params, headers={"Authorization": f"Bearer {token}"},
                     verify=shared_tls())


def test_every_join_is_a_new_session_and_active_ones_filter(emu: MeetEmulator) -> None:
    space = emu.state.create_space(ALICE)["name"]
    emu.state.join(space, user=ALICE)
    bob = emu.state.join(space, user=BOB)
    emu.state.leave(space, user=BOB)
    assert emu.state.join(space, user=BOB) == bob  # same participant, second session
    sessions = get(emu, f"{bob}/participantSessions").json()["participantSessions"]
    assert len(sessions) == 2
    assert "endTime" not in sessions[0] and "endTime" in sessions[1]  # newest first
    assert sessions[0]["startTime"] > sessions[1]["startTime"]
    active = get(emu, f"{bob}/participantSessions", filter="end_time IS NULL").json()["participantSessions"]
    assert [s["name"] for s in active] == [sessions[0]["name"]]
    assert get(emu, sessions[1]["name"]).json() == sessions[1]
    assert get(emu, bob).json()["signedinUser"]["displayName"] == "Bob"
    assert get(emu, f"{bob}/participantSessions", filter="end_time IS").status_code == 400
    assert get(emu, f"{bob}/participantSessions/nope").status_code == 404
    assert get(emu, f"{bob.rpartition('/')[0]}/nope").status_code == 404
    page = get(emu, f"{bob}/participantSessions", pageSize="1").json()
    assert len(page["participantSessions"]) == 1 and page["nextPageToken"]
    rest = get(emu, f"{bob}/participantSessions", pageSize="1", pageToken=page["nextPageToken"]).json()
    assert rest["participantSessions"] == [sessions[1]] and "nextPageToken" not in rest


def test_sessions_and_artifacts_are_visible_like_the_record(emu: MeetEmulator) -> None:
    space = emu.state.create_space(ALICE)["name"]
    bob = emu.state.join(space, user=BOB)
    record = bob.split("/participants/")[0]
    emu.state.produce_artifact("recording", space=space)
    assert get(emu, f"{bob}/participantSessions", user=BOB).status_code == 200
    assert get(emu, f"{record}/recordings", user=BOB).status_code == 200
    assert get(emu, f"{bob}/participantSessions", user=CAROL).status_code == 403
    assert get(emu, f"{record}/recordings", user=CAROL).status_code == 403
    token = emu.state.mint_token(ALICE, ["meetings.space.settings"])
    denied = httpx.get(f"{emu.url}/v2/{record}/recordings", headers={"Authorization": f"Bearer {token}"})
    assert (
        denied.status_code == 403
        and denied.json()["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    )


@pytest.mark.parametrize(
    ("kind", "plural", "destination", "uri"),
    [
        ("recording", "recordings", "driveDestination", "https://drive.google.com/file/d/{}/view"),
        ("transcript", "transcripts", "docsDestination", "https://docs.google.com/document/d/{}/view"),
        ("smartNote", "smartNotes", "docsDestination", "https://docs.google.com/document/d/{}/view"),
    ],
)
def test_artifacts_get_list_and_their_links(
    emu: MeetEmulator, kind: str, plural: str, destination: str, uri: str
) -> None:
    space = emu.state.create_space(ALICE)["name"]
    record = emu.state.join(space, user=ALICE).split("/participants/")[0]
    first = emu.state.produce_artifact(kind, space=space)
    started = httpx.post(f"{emu.url}/_emulator/artifact", json={"record": record, "kind": kind, "state": "STARTED"})
    second = started.json()
    assert second["state"] == "STARTED" and destination not in second and "endTime" not in second
    assert first["state"] == "FILE_GENERATED"
    file_id = first[destination]["file" if kind == "recording" else "document"]
    assert first[destination]["exportUri"] == uri.format(file_id)
    listed = get(emu, f"{record}/{plural}").json()[plural]
    assert [a["name"] for a in listed] == [first["name"], second["name"]]  # by start time, ascending
    assert get(emu, first["name"]).json() == first
    assert get(emu, first["name"], **{"$alt": "json;enum-encoding=int"}).json()["state"] == 3
    page = get(emu, f"{record}/{plural}", pageSize="1").json()
    assert [a["name"] for a in page[plural]] == [first["name"]]
    after = get(emu, f"{record}/{plural}", pageSize="1", pageToken=page["nextPageToken"]).json()
    assert [a["name"] for a in after[plural]] == [second["name"]]
    finished = httpx.post(f"{emu.url}/_emulator/artifact/finish", json={"name": second["name"]}).json()
    assert finished["state"] == "FILE_GENERATED" and finished[destination]["exportUri"]
    assert (
        httpx.post(f"{emu.url}/_emulator/artifact/finish", json={"name": second["name"], "state": "ENDED"}).status_code
        == 400
    )
    assert get(emu, f"{record}/{plural}/missing").status_code == 404


def test_artifact_controls_refuse_bad_input(emu: MeetEmulator) -> None:
    space = emu.state.create_space(ALICE)["name"]
    assert httpx.post(f"{emu.url}/_emulator/artifact", json={"space": space, "kind": "recording"}).status_code == 400
    emu.state.join(space, user=ALICE)
    assert httpx.post(f"{emu.url}/_emulator/artifact", json={"space": space, "kind": "video"}).status_code == 400
    assert (
        httpx.post(
            f"{emu.url}/_emulator/artifact", json={"record": "conferenceRecords/x", "kind": "recording"}
        ).status_code
        == 404
    )


def test_listeners_hear_what_meet_would_publish(emu: MeetEmulator) -> None:
    events: list[MeetEvent] = []
    emu.state.add_listener(events.append)
    space = emu.state.create_space(ALICE)["name"]
    space_id = space.removeprefix("spaces/")
    alice = emu.state.join(space, user=ALICE)
    record = alice.split("/participants/")[0]
    emu.state.join(space, anonymous="Guest")
    emu.state.leave(space, anonymous="Guest")
    emu.state.produce_artifact("transcript", space=space)
    emu.state.end_conference(space)
    types = [e.type.removeprefix(PREFIX) for e in events]
    assert types == [
        "conference.v2.started",
        "participant.v2.joined",
        "participant.v2.joined",
        "participant.v2.left",
        "transcript.v2.started",
        "transcript.v2.ended",
        "transcript.v2.fileGenerated",
        "participant.v2.left",
        "conference.v2.ended",
    ]
    assert {e.space_id for e in events} == {space_id}
    assert events[0].resource_name == record and events[-1].resource_name == record
    assert events[1].resource_name.startswith(alice + "/participantSessions/")
    assert events[1].resource_name == events[-2].resource_name  # Alice's session closed by the end
    assert [e.time for e in events] == sorted(e.time for e in events)
    again: list[MeetEvent] = []
    emu.state.add_listener(again.append)
    emu.state.join(space, user=BOB)  # a new conference
    assert [e.type.removeprefix(PREFIX) for e in again] == ["conference.v2.started", "participant.v2.joined"]
    assert again[0].resource_name != record


def test_a_failing_listener_changes_nothing(emu: MeetEmulator) -> None:
    def broken(event: Any) -> None:
        raise RuntimeError("observer bug")

    emu.state.add_listener(broken)
    space = emu.state.create_space(ALICE)["name"]
    assert emu.state.join(space, user=ALICE)
    emu.state.remove_listener(broken)
