"""The plain types every layer shares: who (a workspace, a person in it) and what meetbot keeps (cards, rooms,
what it knows of a space). A leaf module: it imports nothing from bot, so store/ can return these and core can
reason with them without either importing the other's machinery.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field, replace

from bot.json_values import ReadJson, parse_object

__all__ = [
    "Actor", "Attendee", "CachedToken", "CallRecord", "CallUser", "Card", "GoogleLink", "HeldLink", "LiveState",
    "PendingLink", "PendingSignIn", "PersonalMeeting", "Phase", "Produced", "Room", "SlackStatus", "SlackUserGrant",
    "SnoozeHold", "SpaceInfo", "StatusHold", "SubscriptionRecord", "Tenant", "space_id_of",
]


@dataclass(frozen=True, slots=True)
class Tenant:
    """A Slack workspace, inside an Enterprise Grid org when `enterprise_id` is set."""

    team_id: str
    enterprise_id: str | None = None

    @property
    def tag(self) -> str:
        return f"{self.enterprise_id or '-'}:{self.team_id}"


@dataclass(frozen=True, slots=True)
class Actor:
    tenant: Tenant
    user_id: str


@dataclass(frozen=True, slots=True)
class SpaceInfo:
    """Facts meetbot learned when it created or adopted a space; Google doesn't tell them to non-owners."""

    space_name: str
    meeting_code: str | None
    meeting_uri: str | None
    owner_user_id: str | None
    title: str | None = None
    created_at: float | None = None
    cohosts: tuple[str, ...] = ()  # Slack user ids meetbot made co-hosts, for the card's "Co-hosts" line


@dataclass(frozen=True, slots=True)
class Card:
    """A Slack message that shows a meeting, so it can be updated in place when the meeting ends."""

    channel: str
    ts: str
    kind: str = "meeting"  # "meeting": a card for one call; "room": a channel's standing room

    @property
    def field(self) -> str:
        return f"{self.channel}:{self.ts}"

    @property
    def posted_at(self) -> float:
        """When Slack posted it: a message ts is epoch seconds."""
        try:
            return float(self.ts)
        except ValueError:
            return 0.0


@dataclass(frozen=True, slots=True)
class Room:
    space_name: str
    meeting_code: str | None
    meeting_uri: str | None
    owner_user_id: str | None  # the Slack user whose Google account owns the space, when meetbot knows
    owner_google_email: str | None
    creator_user_id: str  # who set the room up: they (or an admin) may replace or clear it
    created_at: float
    bookmark_id: str | None = None
    members_sync: bool = False  # `/meet room members on`: the channel's members are the space's members
    recaps: bool | None = None  # `/meet room recap on|off`; None: the workspace's default
    people: bool | None = None  # `/meet room people on|off`: its Slack call shows who is in it; None: the default

    def with_bookmark(self, bookmark_id: str | None) -> Room:
        return replace(self, bookmark_id=bookmark_id)

    def with_members_sync(self, on: bool) -> Room:
        return replace(self, members_sync=on)

    def with_recaps(self, on: bool) -> Room:
        return replace(self, recaps=on)

    def with_people(self, on: bool) -> Room:
        return replace(self, people=on)


# A meeting as a live thing (built in bot.core.live, kept by bot.store.live).


class Phase(enum.StrEnum):
    WAITING = "waiting"  # no call since the card was posted
    LIVE = "live"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Attendee:
    name: str  # the participant resource: one per person per conference
    display_name: str | None
    kind: str  # "person" (signed in), "guest" or "phone"
    present: bool
    joined_at: float | None
    user: str | None = None  # Google's "users/{id}" of a signed-in person (who they are, when linked to Slack)
    left_at: float | None = None  # when they last left (None while in the call)


@dataclass(frozen=True, slots=True)
class Produced:
    """A file the conference left: a recording (Drive), a transcript or Gemini notes (Docs). Links only."""

    kind: str  # "recording", "transcript" or "notes"
    name: str
    uri: str


@dataclass(frozen=True, slots=True)
class LiveState:
    space_name: str
    phase: Phase
    as_of: float  # epoch seconds when the read that produced this state began
    conference: str | None = None  # "conferenceRecords/…" of the call shown
    started_at: float | None = None
    ended_at: float | None = None
    attendees: tuple[Attendee, ...] = ()  # in order of first join
    artifacts: tuple[Produced, ...] = field(default=())
    unfollowed_at: float | None = None  # meetbot stopped reading the space then: cards say so, not a stale state
    unavailable: str | None = None  # why it can't be read at all ("disconnected": the follower's grant is gone)

    @property
    def present(self) -> tuple[Attendee, ...]:
        return tuple(a for a in self.attendees if a.present)

    @property
    def minutes(self) -> int | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(int((self.ended_at - self.started_at) // 60), 0)

    def count(self, kind: str) -> int:
        """How many of one kind ("person", "guest", "phone") came."""
        return sum(1 for a in self.attendees if a.kind == kind)

    def shown_as(self) -> tuple[object, ...]:
        """What a card or recap shows of this state: two states with the same value need no Slack update."""
        return (self.phase, self.conference, self.started_at, self.ended_at,
                tuple((a.name, a.display_name, a.present) for a in self.attendees), self.artifacts,
                self.unfollowed_at, self.unavailable)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> LiveState | None:
        try:
            data = parse_object(raw)
            return cls(
                space_name=str(data["space_name"]),
                phase=Phase(data["phase"]),
                as_of=float(data["as_of"]),
                conference=data.get("conference"),
                started_at=data.get("started_at"),
                ended_at=data.get("ended_at"),
                attendees=tuple(Attendee(**a) for a in data.get("attendees") or ()),
                artifacts=tuple(Produced(**p) for p in data.get("artifacts") or ()),
                unfollowed_at=data.get("unfollowed_at"),
                unavailable=data.get("unavailable"),
            )
        except (ValueError, TypeError, KeyError):
            return None  # an unreadable record is a missing one: the next read rebuilds it


@dataclass(frozen=True, slots=True)
class PersonalMeeting:
    """A meeting `/meet mine` follows for a person: its newest state, what its recap calls it, its link, and whether
    Google showed them as its owner (only then is it recapped: who came is the owner's to see).
    `state.unfollowed_at` set: its recap is complete, kept a while for their Home tab."""

    state: LiveState
    title: str
    uri: str | None = None
    owned: bool = False


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """A Workspace Events subscription meetbot holds for a followed space."""

    name: str  # "subscriptions/…"
    expires: float  # epoch seconds
    state: str = "active"  # "active", "suspended" (Google stopped it: poll instead), "noticed" (owner told)


def space_id_of(space_name: str) -> str:
    """`spaces/abc` → `abc`: the id meetbot's records are keyed by."""
    return space_name.partition("/")[2]


# Slack's own call object for a conference (built in bot.core.calls, kept by bot.store.calls).


@dataclass(frozen=True, slots=True)
class CallUser:
    """A participant as Slack's Calls API takes it: a Slack user, or someone Slack doesn't know by name."""

    slack_id: str | None = None
    external_id: str | None = None
    display_name: str | None = None

    @property
    def key(self) -> str:
        return f"slack:{self.slack_id}" if self.slack_id else f"ext:{self.external_id}"

    def to_api(self) -> dict[str, str]:
        if self.slack_id:
            return {"slack_id": self.slack_id}
        return {"external_id": self.external_id or "", "display_name": self.display_name or ""}

    @classmethod
    def from_api(cls, data: ReadJson) -> CallUser:
        if data.get("slack_id"):
            return cls(slack_id=str(data["slack_id"]))
        return cls(external_id=str(data.get("external_id") or ""), display_name=data.get("display_name"))


@dataclass(frozen=True, slots=True)
class CallRecord:
    """The Slack call registered for one conference, and who meetbot last told Slack is in it."""

    call_id: str
    people: tuple[CallUser, ...] = ()
    ended: bool = False

    def to_json(self) -> str:
        return json.dumps({"call_id": self.call_id, "ended": self.ended,
                           "people": [p.to_api() for p in self.people]}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> CallRecord | None:
        try:
            data = parse_object(raw)
            return cls(str(data["call_id"]), tuple(CallUser.from_api(p) for p in data.get("people") or ()),
                       bool(data.get("ended")))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


# --- a person's Google account: the link, a sign-in waiting for Google, a delegated token --------------------


@dataclass(frozen=True, slots=True)
class GoogleLink:
    google_sub: str
    google_email: str
    scopes: tuple[str, ...]
    refresh_token: str | None
    access_token: str | None
    access_expires_at: float | None  # epoch seconds
    linked_at: float
    via: str = "oauth"

    def __repr__(self) -> str:  # tokens stay out of logs and tracebacks
        return (
            f"GoogleLink(google_email={self.google_email!r}, scopes={self.scopes!r}, "
            f"linked_at={self.linked_at!r}, via={self.via!r})"
        )

    def access_token_valid(self, now: float, margin: float = 60.0) -> bool:
        return bool(self.access_token) and self.access_expires_at is not None and self.access_expires_at - margin > now


@dataclass(frozen=True, slots=True)
class CachedToken:
    token: str
    expires_at: float
    email: str

    def __repr__(self) -> str:
        return f"CachedToken(email={self.email!r}, expires_at={self.expires_at!r})"


@dataclass(frozen=True, slots=True)
class PendingLink:
    tenant: Tenant
    user_id: str
    code_verifier: str
    response_url: str | None
    created_at: float
    retry_text: str | None = None  # the /meet command that was waiting on the connection, to retry in one click

    def __repr__(self) -> str:  # the verifier and response_url stay out of logs
        return f"PendingLink(tenant={self.tenant!r}, user_id={self.user_id!r}, created_at={self.created_at!r})"


@dataclass(frozen=True, slots=True)
class HeldLink:
    """A Google grant waiting for its consenter to confirm which Slack user it goes to (other-email mode)."""

    pending: PendingLink
    link: GoogleLink

    def __repr__(self) -> str:
        return f"HeldLink(pending={self.pending!r}, link={self.link!r})"


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """A "Sign in with Slack" that a person started with `/meet presence on`: only they may finish it."""

    tenant: Tenant
    user_id: str
    response_url: str | None
    created_at: float

    def __repr__(self) -> str:  # the response_url stays out of logs
        return f"PendingSignIn(tenant={self.tenant!r}, user_id={self.user_id!r})"


@dataclass(frozen=True, slots=True)
class SlackUserGrant:
    """A person's own Slack user token (`xoxp-`), with the scopes they granted."""

    user_id: str
    team_id: str
    token: str
    scopes: tuple[str, ...]
    granted_at: float

    def __repr__(self) -> str:  # the token stays out of logs
        return f"SlackUserGrant(user_id={self.user_id!r}, team_id={self.team_id!r}, scopes={self.scopes!r})"


@dataclass(frozen=True, slots=True)
class SlackStatus:
    """A Slack status: its text, its emoji, and when Slack clears it (a Unix time; 0: never)."""

    text: str = ""
    emoji: str = ""
    expiration: int = 0

    def looks_like(self, other: SlackStatus) -> bool:
        """The same status as a person sees it (Slack may normalise the expiration)."""
        return (self.text, self.emoji) == (other.text, other.emoji)


@dataclass(frozen=True, slots=True)
class StatusHold:
    """meetbot set a person's status for a call: what they had before, and what meetbot put there."""

    before: SlackStatus
    ours: SlackStatus
    since: float


@dataclass(frozen=True, slots=True)
class SnoozeHold:
    """Do Not Disturb during a call: when the snooze ends (Slack's Unix time), and whether meetbot set it (False:
    the person had snoozed already, so meetbot leaves it alone, now and when they leave)."""

    until: int
    ours: bool
