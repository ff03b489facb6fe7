"""The official `google-apps-meet` client (REST transport) reads participant sessions and artifacts from the Meet
emulator unchanged: participants.get, participantSessions list/get, recordings, transcripts and smart notes."""

# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

meet_v2 = pytest.importorskip("google.apps.meet_v2")
pytest.importorskip("requests")

from google.api_core import exceptions  # noqa: E402
from google.oauth2.credentials import Credentials  # noqa: E402

from emulators.meet import MeetEmulator  # noqa: E402

pytestmark = pytest.mark.conformance

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


@pytest.fixture
def emu() -> Iterator[MeetEmulator]:
    with MeetEmulator() as emulator:
        yield emulator


def records_client(emu: MeetEmulator, user: str = ALICE) -> Any:
    token = emu.state.mint_token(user, ["meetings.space.readonly"])
    return meet_v2.ConferenceRecordsServiceClient(
        credentials=Credentials(token=token), transport="rest", client_options={"api_endpoint": emu.url}
    )


def test_participant_and_sessions(emu: MeetEmulator) -> None:
    space = emu.state.create_space(ALICE)["name"]
    bob = emu.state.join(space, user=BOB)
    emu.state.leave(space, user=BOB)
    emu.state.join(space, user=BOB)
    client = records_client(emu)
    participant = client.get_participant(name=bob)
    assert participant.signedin_user.display_name == "Bob" and participant.earliest_start_time
    # page_size 1: the pager follows the page tokens
    sessions = list(client.list_participant_sessions(request={"parent": bob, "page_size": 1}))
    assert len(sessions) == 2 and sessions[0].start_time > sessions[1].start_time
    active = list(client.list_participant_sessions(request={"parent": bob, "filter": "end_time IS NULL"}))
    assert [s.name for s in active] == [sessions[0].name]
    assert client.get_participant_session(name=sessions[1].name).end_time == sessions[1].end_time
    with pytest.raises(exceptions.NotFound):
        client.get_participant_session(name=f"{bob}/participantSessions/missing")
    with pytest.raises(exceptions.Forbidden):
        records_client(emu, CAROL).get_participant(name=bob)


def test_artifacts(emu: MeetEmulator) -> None:
    space = emu.state.create_space(ALICE)["name"]
    record = emu.state.join(space, user=ALICE).split("/participants/")[0]
    recording = emu.state.produce_artifact("recording", space=space)
    transcript = emu.state.produce_artifact("transcript", space=space)
    note = emu.state.start_artifact("smartNote", space=space)
    client = records_client(emu)
    got = client.get_recording(name=recording["name"])
    assert got.state == meet_v2.Recording.State.FILE_GENERATED
    assert got.drive_destination.export_uri == recording["driveDestination"]["exportUri"]
    assert [r.name for r in client.list_recordings(parent=record)] == [recording["name"]]
    listed = list(client.list_transcripts(parent=record))
    assert listed[0].docs_destination.export_uri == transcript["docsDestination"]["exportUri"]
    assert client.get_transcript(name=transcript["name"]).state == meet_v2.Transcript.State.FILE_GENERATED
    notes = list(client.list_smart_notes(parent=record))
    assert notes[0].state == meet_v2.SmartNote.State.STARTED and not notes[0].docs_destination.export_uri
    emu.state.finish_artifact(note["name"])
    done = client.get_smart_note(name=note["name"])
    assert done.docs_destination.export_uri.startswith("https://docs.google.com/document/d/")
