"""Google Workspace Events API client: subscriptions of Meet spaces (reference meet-api.md §9), over httpx.

Every mutation is a long-running Operation; `subscribe`, `renew` and `reactivate` poll it briefly and return the
finished Subscription. Each call acts with the token it is given: the user's own Google token (Meet scopes suffice).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.google.rest import call_json
from bot.googleapi.errors import AlreadyExists, ApiProtocolError, NotFound, OperationPending, error_from_status
from bot.json_values import ReadJson

__all__ = [
    "CONFERENCE_ENDED",
    "CONFERENCE_STARTED",
    "DEFAULT_BASE_URL",
    "LIVE_EVENT_TYPES",
    "PARTICIPANT_JOINED",
    "PARTICIPANT_LEFT",
    "RECORDING_READY",
    "TRANSCRIPT_READY",
    "Subscription",
    "WorkspaceEvents",
    "space_target",
    "user_target",
]

DEFAULT_BASE_URL = "https://workspaceevents.googleapis.com"
_MEET = "google.workspace.meet."
CONFERENCE_STARTED = _MEET + "conference.v2.started"
CONFERENCE_ENDED = _MEET + "conference.v2.ended"
PARTICIPANT_JOINED = _MEET + "participant.v2.joined"
PARTICIPANT_LEFT = _MEET + "participant.v2.left"
RECORDING_READY = _MEET + "recording.v2.fileGenerated"
TRANSCRIPT_READY = _MEET + "transcript.v2.fileGenerated"
# what following a live meeting needs (issue 14); smart notes (a Developer Preview, §9) are not asked for
LIVE_EVENT_TYPES = (
    CONFERENCE_STARTED,
    CONFERENCE_ENDED,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    RECORDING_READY,
    TRANSCRIPT_READY,
)
_SPACE_TARGET = re.compile(r"^//meet\.googleapis\.com/spaces/([^/]+)$")
_SPACE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_SUBSCRIPTION = re.compile(r"^subscriptions/[^/]+$")


def user_target(google_user: str) -> str:
    """`//cloudidentity.googleapis.com/users/{id}` for a signed-in Google user's id (with or without `users/`): the
    Meet events of every space they own (reference §14)."""
    ident = google_user.removeprefix("users/")
    if not _SPACE_ID.match(ident):
        raise ValueError("a Google user id has only letters, digits, '-' and '_'")
    return f"//cloudidentity.googleapis.com/users/{ident}"


def space_target(space_id: str) -> str:
    """`//meet.googleapis.com/spaces/{id}` for a space id (with or without `spaces/`)."""
    ident = space_id.removeprefix("spaces/")
    if not _SPACE_ID.match(ident):
        raise ValueError("a Meet space id has only letters, digits, '-' and '_'")
    return f"//meet.googleapis.com/spaces/{ident}"


@dataclass(frozen=True)
class Subscription:
    name: str  # subscriptions/{id}
    target: str  # //meet.googleapis.com/spaces/{id}
    event_types: tuple[str, ...]
    state: str  # ACTIVE | SUSPENDED | DELETED
    expire_time: datetime | None
    suspension_reason: str | None  # USER_SCOPE_REVOKED, USER_AUTHORIZATION_FAILURE, ... when suspended

    @property
    def space_id(self) -> str | None:
        found = _SPACE_TARGET.match(self.target)
        return found.group(1) if found else None

    @property
    def active(self) -> bool:
        return self.state == "ACTIVE"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        name = data.get("name")
        if not isinstance(name, str) or not _SUBSCRIPTION.match(name):
            raise ApiProtocolError("a subscription without a valid name")
        types = data.get("eventTypes")
        expire = data.get("expireTime")
        reason = data.get("suspensionReason")
        return cls(
            name=name,
            target=str(data.get("targetResource", "")),
            event_types=tuple(str(t) for t in types) if isinstance(types, list) else (),
            state=str(data.get("state", "STATE_UNSPECIFIED")),
            expire_time=_parse_time(expire) if isinstance(expire, str) else None,
            suspension_reason=reason if isinstance(reason, str) and reason else None,
        )


class WorkspaceEvents:
    """`WorkspaceEvents(http, base_url)`: one shared httpx.AsyncClient; `base_url` is GOOGLE_EVENTS_URL."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str = DEFAULT_BASE_URL,
        *,
        poll_interval: float = 0.25,
        poll_attempts: int = 8,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._poll_interval = poll_interval
        self._poll_attempts = poll_attempts

    def __repr__(self) -> str:
        return f"WorkspaceEvents({self._base!r})"

    async def subscribe(
        self,
        token: str,
        space_id: str,
        event_types: Iterable[str],
        topic: str,
        ttl: timedelta = timedelta(0),
    ) -> Subscription:
        """Subscribe `topic` (projects/P/topics/T) to a space's events, names only; `ttl` 0 = the maximum (7 days).
        When this user already has a subscription of the space, that one is returned as it is."""
        return await self.subscribe_target(token, space_target(space_id), event_types, topic, ttl)

    async def subscribe_target(
        self, token: str, target: str, event_types: Iterable[str], topic: str, ttl: timedelta = timedelta(0)
    ) -> Subscription:
        """`subscribe` for any target: a space's (`space_target`) or a user's (`user_target`)."""
        types = list(dict.fromkeys(event_types))
        if not types:
            raise ValueError("give at least one event type")
        body = {
            "targetResource": target,
            "eventTypes": types,
            "notificationEndpoint": {"pubsubTopic": topic},
            "payloadOptions": {"includeResource": False},
            "ttl": _duration(ttl),
        }
        try:
            operation = await self._call("POST", "/v1/subscriptions", token, "subscriptions.create", body=body)
            return await self._finish(token, operation, "subscriptions.create")
        except AlreadyExists:
            existing = await self.find_target(token, target, types[0])
            if existing is None:
                raise
            return existing

    async def find(self, token: str, space_id: str, event_type: str) -> Subscription | None:
        """This user's subscription of the space that includes `event_type`, if any."""
        return await self.find_target(token, space_target(space_id), event_type)

    async def find_target(self, token: str, target: str, event_type: str) -> Subscription | None:
        query = f'event_types:"{event_type}" AND target_resource="{target}"'
        data = await self._call("GET", "/v1/subscriptions", token, "subscriptions.list", params={"filter": query})
        found = data.get("subscriptions")
        return Subscription.from_json(found[0]) if isinstance(found, list) and found else None

    async def get(self, token: str, name: str) -> Subscription:
        return Subscription.from_json(await self._call("GET", f"/v1/{_checked(name)}", token, "subscriptions.get"))

    async def renew(self, token: str, name: str, ttl: timedelta = timedelta(0)) -> Subscription:
        """A new expiry `ttl` from now (0 = the maximum)."""
        operation = await self._call(
            "PATCH",
            f"/v1/{_checked(name)}",
            token,
            "subscriptions.patch",
            body={"ttl": _duration(ttl)},
            params={"updateMask": "ttl"},
        )
        return await self._finish(token, operation, "subscriptions.patch")

    async def delete(self, token: str, name: str) -> None:
        """Delete; one already gone is fine."""
        try:
            operation = await self._call(
                "DELETE", f"/v1/{_checked(name)}", token, "subscriptions.delete", params={"allowMissing": "true"}
            )
            await self._wait(token, operation, "subscriptions.delete")
        except NotFound:
            return

    async def reactivate(self, token: str, name: str) -> Subscription:
        """A suspended subscription, active again (FailedPrecondition when it wasn't suspended)."""
        operation = await self._call(
            "POST", f"/v1/{_checked(name)}:reactivate", token, "subscriptions.reactivate", body={}
        )
        return await self._finish(token, operation, "subscriptions.reactivate")

    # -- plumbing ----------------------------------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        token: str,
        operation: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> ReadJson:
        return await call_json(
            self._http, method, self._base + path, token, operation=operation, body=body, params=params
        )

    async def _wait(self, token: str, operation: ReadJson, what: str) -> ReadJson:
        """Poll the Operation until done; its `response`, or its `error` raised."""
        for attempt in range(self._poll_attempts + 1):
            if operation.get("done"):
                error = operation.get("error")
                if isinstance(error, dict):
                    raise error_from_status(400, error, operation=what)
                response = operation.get("response")
                return response if isinstance(response, dict) else {}
            name = operation.get("name")
            if not isinstance(name, str) or not name.startswith("operations/"):
                raise ApiProtocolError(f"{what}: an unfinished operation without a name")
            if attempt == self._poll_attempts:
                raise OperationPending(name)
            await asyncio.sleep(self._poll_interval)
            operation = await self._call("GET", f"/v1/{name}", token, "operations.get")
        raise AssertionError("unreachable")

    async def _finish(self, token: str, operation: ReadJson, what: str) -> Subscription:
        return Subscription.from_json(await self._wait(token, operation, what))


def _checked(name: str) -> str:
    if not _SUBSCRIPTION.match(name):
        raise ValueError("a subscription name looks like subscriptions/ID")
    return name


def _duration(ttl: timedelta) -> str:
    seconds = max(0, int(ttl.total_seconds()))
    return f"{seconds}s"


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00"))
    except ValueError:
        return None
