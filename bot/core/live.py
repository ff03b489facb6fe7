"""A meeting as a live thing: waiting → live → ended, with who came and what it left behind.

One `LiveState` per space, built from what Google shows when it is read (an event only says *that* something
changed; the REST API says *what*). States are ordered by `as_of`, the moment the read began: a read that began
later saw everything an earlier one saw, so keeping the newest makes duplicate and out-of-order deliveries harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import Attendee, LiveState, Phase, Produced
from bot.meet.models import Artifact, ArtifactKind, ConferenceRecord, Participant, ParticipantKind

__all__ = ["ARTIFACT_WORDS", "Attendee", "LiveState", "Phase", "Produced", "observed", "produced"]


_KINDS = {ParticipantKind.SIGNED_IN: "person", ParticipantKind.ANONYMOUS: "guest", ParticipantKind.PHONE: "phone"}
ARTIFACT_WORDS = {ArtifactKind.RECORDING: "recording", ArtifactKind.TRANSCRIPT: "transcript",
                   ArtifactKind.SMART_NOTES: "notes"}


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def observed(space_name: str, as_of: float, record: ConferenceRecord | None,
             participants: Sequence[Participant] = (), artifacts: Sequence[Artifact] = ()) -> LiveState:
    """The state Google showed: the newest conference (or none), its participants and its finished files."""
    if record is None:
        return LiveState(space_name, Phase.WAITING, as_of)
    people = sorted(participants, key=lambda p: (_epoch(p.earliest_start_time) or 0.0, p.name))
    return LiveState(
        space_name=space_name,
        phase=Phase.LIVE if record.is_live else Phase.ENDED,
        as_of=as_of,
        conference=record.name,
        started_at=_epoch(record.start_time),
        ended_at=_epoch(record.end_time),
        attendees=tuple(Attendee(p.name, p.display_name, _KINDS.get(p.kind, "person"), p.is_present,
                                 _epoch(p.earliest_start_time), p.user, _epoch(p.latest_end_time))
                      for p in people),
        artifacts=produced(artifacts),
    )


def produced(artifacts: Sequence[Artifact]) -> tuple[Produced, ...]:
    """The finished files among `artifacts`: only a file with a link is worth showing."""
    return tuple(Produced(ARTIFACT_WORDS[a.kind], a.name, a.export_uri) for a in artifacts if a.export_uri)
