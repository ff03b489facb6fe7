"""A local stand-in for the Google Workspace Events API (subscriptions to Meet spaces) and the Pub/Sub delivery of
its events, linked to a Meet emulator's state so that joins, leaves, ends and artifacts become events.
Reference: /work/shared/reference/meet-api.md §9 (Workspace Events) and §13 (Pub/Sub push and pull).

    with MeetEmulator() as meet, EventsEmulator(meet.state) as events:     # GOOGLE_EVENTS_URL = PUBSUB_API_URL =
        events.broker.configure_subscription("projects/p/subscriptions/s",  # events.url; GOOGLE_CERTS_URL =
                                             "projects/p/topics/t")         # events.certs_url
        ...  # POST events.url + "/v1/subscriptions" with a Meet user's token, then meet.state.join(...)

Workspace Events routes: POST /v1/subscriptions, GET /v1/operations/{id}, GET|PATCH|DELETE /v1/subscriptions/{id},
POST /v1/subscriptions/{id}:reactivate, GET /v1/subscriptions?filter=. Pub/Sub: POST
/v1/projects/P/subscriptions/S:pull|:acknowledge|:modifyAckDeadline; push is configured per Pub/Sub subscription
(`POST /_emulator/pubsub/subscriptions`). Push tokens verify against GET /oauth2/v1/certs. Test controls under
/_emulator/ (module `_controls` below). Standalone: `python -m emulators.events --port N --meet-port M` serves this
and a Meet emulator sharing one state.

Guesses are marked `# unverified:` and are options (`EventsState(...)`, `configure()`, POST /_emulator/options).
Lock order: the Meet state's lock may be held when this state's lock is taken (Meet's listener), never the reverse.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import json
import re
import secrets
import threading
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from emulators._server import BackgroundServer
from emulators.google_api import (
    ApiError,
    CallLog,
    add_controls,
    bearer_of,
    call_entry,
    error_info,
    error_response,
    fmt_time,
    invalid_argument,
    json_response,
    offset_page,
    parse_page_size,
    parse_time,
    query_of,
)
from emulators.meet import MeetState
from emulators.meet import build_app as build_meet_app
from emulators.meet_live import MEET_EVENT_TYPES, MeetEvent
from emulators.meet_oauth import CREATED, READONLY, SCOPE_BASE
from emulators.pubsub import DEFAULT_PUSH_ACCOUNT, PULL_WAIT, Broker, Message

__all__ = ["RUNTIME_OPTIONS", "EventsEmulator", "EventsState", "build_app"]

MEET_TARGET = re.compile(r"^//meet\.googleapis\.com/spaces/([^/]+)$")
USER_TARGET = re.compile(r"^//cloudidentity\.googleapis\.com/users/([^/]+)$")  # reference §14
TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")
LIFECYCLE = "google.workspace.events.subscription.v1."
TYPES_PREFIX = "type.googleapis.com/google.apps.events.subscriptions.v1."
EMPTY_TYPE = "type.googleapis.com/google.protobuf.Empty"
STATES = ("STATE_UNSPECIFIED", "ACTIVE", "SUSPENDED", "DELETED")
REASONS = (  # index = proto enum value
    "ERROR_TYPE_UNSPECIFIED",
    "USER_SCOPE_REVOKED",
    "RESOURCE_DELETED",
    "USER_AUTHORIZATION_FAILURE",
    "ENDPOINT_PERMISSION_DENIED",
    "OTHER",
    "ENDPOINT_NOT_FOUND",
    "ENDPOINT_RESOURCE_EXHAUSTED",
)
PUBSUB_SCOPES = frozenset({SCOPE_BASE + "pubsub", SCOPE_BASE + "cloud-platform"})
EVENTS_SCOPES = frozenset({CREATED, READONLY})  # Meet's own scopes suffice for Meet events (§9)
REMINDERS = (timedelta(hours=12), timedelta(hours=1))  # expirationReminder thresholds (§9)
DATA_KEYS = {
    "conference": "conferenceRecord",
    "participant": "participantSession",
    "recording": "recording",
    "transcript": "transcript",
    "smartNote": "smartNote",
}
RUNTIME_OPTIONS = (
    "operation_polls",
    "ce_source",
    "space_access",
    "ttl_over_max",
    "require_pubsub_scope",
    "max_ttl_seconds",
    "user_target_events",
)
STATE_KEY: web.AppKey[EventsState] = web.AppKey("events_state")


@dataclass
class WorkspaceSubscription:
    id: str
    uid: str
    target: str
    space_id: str  # "" for a user target: its events are those of the spaces the user owns (or joins, an option)
    event_types: list[str]
    topic: str
    user: str  # the authority's email
    user_id: str  # users/{sub}
    token: str  # the access token it was made with: its revocation suspends the subscription
    create: datetime
    update: datetime
    expire: datetime
    state: int = 1
    reason: int = 0
    version: int = 1
    reminded: set[int] = field(default_factory=set)  # indexes into REMINDERS already sent

    @property
    def name(self) -> str:
        return f"subscriptions/{self.id}"


@dataclass
class Operation:
    name: str
    result: dict[str, Any]  # {"response": ...} or {"error": ...}
    metadata_type: str
    polls_left: int


class EventsState(CallLog):
    """Subscriptions, operations and the Pub/Sub broker. Thread-safe."""

    operation_polls: int
    ce_source: str
    space_access: str
    ttl_over_max: str
    require_pubsub_scope: bool
    max_ttl_seconds: float
    user_target_events: str

    def __init__(
        self,
        meet: MeetState,
        *,
        # how many GET /v1/operations/... answer `done: false` before the operation is done (0: done at once)
        operation_polls: int = 0,
        # unverified (§9, §12): ce-source/ce-subject of Meet events: "space" (both //meet.googleapis.com/spaces/ID)
        # or "subscription" (source //workspaceevents.googleapis.com/subscriptions/ID, subject the space)
        ce_source: str = "space",
        # unverified: who may subscribe to a space: its "owner", or also a "participant" of its conferences
        space_access: str = "owner",
        # unverified: a ttl or expireTime beyond the 7-day maximum is refused ("reject", 400) or shortened ("clamp")
        ttl_over_max: str = "reject",
        # pull needs a token with the pubsub or cloud-platform scope (False: any valid token)
        require_pubsub_scope: bool = True,
        max_ttl_seconds: float = 7 * 86400,
        # unverified (§14): a user-target subscription gets the events of the spaces the user "owns" (the older
        # guide); also of the meetings whose Calendar event they "organised"; or of those and of those where they
        # "joined" a conference (the newer guide says both; not seen on a real tenant)
        user_target_events: str = "owned",
        ack_deadline: float = 10.0,
        push_max_attempts: int = 5,
        push_backoff: float = 0.05,
        pull_wait: float = PULL_WAIT,
    ) -> None:
        self.meet = meet
        self._lock = threading.RLock()
        self.broker = Broker(
            ack_deadline=ack_deadline,
            push_max_attempts=push_max_attempts,
            push_backoff=push_backoff,
            pull_wait=pull_wait,
        )
        self._constructed = _checked(
            {
                "operation_polls": operation_polls,
                "ce_source": ce_source,
                "space_access": space_access,
                "ttl_over_max": ttl_over_max,
                "require_pubsub_scope": require_pubsub_scope,
                "max_ttl_seconds": max_ttl_seconds,
                "user_target_events": user_target_events,
            }
        )
        self.reset()
        meet.add_listener(self._on_meet_event)

    def reset(self) -> None:
        with self._lock:
            for name, value in self._constructed.items():
                setattr(self, name, value)
            self._subs: dict[str, WorkspaceSubscription] = {}
            self._operations: dict[str, Operation] = {}
            self._calls: list[dict[str, Any]] = []
        self.broker.reset()

    def options(self) -> dict[str, Any]:
        with self._lock:
            return {name: getattr(self, name) for name in RUNTIME_OPTIONS}

    def configure(self, **options: Any) -> dict[str, Any]:
        checked = _checked(options)
        with self._lock:
            for name, value in checked.items():
                setattr(self, name, value)
            return self.options()

    def close(self) -> None:
        self.meet.remove_listener(self._on_meet_event)

    # -- time, auth ------------------------------------------------------------------------------------------
    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.meet.now(), UTC)

    def _caller(self, token: str | None, allowed: frozenset[str], service: str) -> tuple[str, str]:
        """(email, token) of a valid bearer token with one of `allowed` scopes (empty: any); 401/403 otherwise."""
        found, reason = self.meet.lookup_token(token)
        if found is None or reason:
            raise ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                "other valid authentication credential.",
                details=[error_info(reason, {"service": service})],
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if allowed and not allowed & set(found.scopes):
            raise ApiError(
                403,
                "Request had insufficient authentication scopes.",
                details=[error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", {"service": service})],
            )
        assert token is not None
        return found.user, token

    def events_caller(self, token: str | None) -> tuple[str, str]:
        return self._caller(token, EVENTS_SCOPES, "workspaceevents.googleapis.com")

    def pubsub_caller(self, token: str | None) -> str:
        allowed = PUBSUB_SCOPES if self.require_pubsub_scope else frozenset()
        return self._caller(token, allowed, "pubsub.googleapis.com")[0]

    # -- Workspace Events API ----------------------------------------------------------------------------------
    def api_create(self, email: str, token: str, body: Any, validate_only: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_argument("Invalid JSON payload received.")
        target = str(body.get("targetResource") or body.get("target_resource") or "")
        found = MEET_TARGET.match(target)
        user_target = USER_TARGET.match(target)
        if not found and not user_target:
            raise invalid_argument(
                f"Invalid target resource {target!r}: expected //meet.googleapis.com/spaces/SPACE or "
                "//cloudidentity.googleapis.com/users/USER.", "target_resource"
            )
        event_types = self._event_types(body)
        endpoint = body.get("notificationEndpoint") or body.get("notification_endpoint") or {}
        topic = (
            str(endpoint.get("pubsubTopic") or endpoint.get("pubsub_topic") or "") if isinstance(endpoint, dict) else ""
        )
        if not TOPIC.match(topic):
            raise invalid_argument("notification_endpoint.pubsub_topic must be projects/PROJECT/topics/TOPIC.")
        options = body.get("payloadOptions") or body.get("payload_options") or {}
        if isinstance(options, dict) and (options.get("includeResource") or options.get("include_resource")):
            raise invalid_argument("Resource data in payloads is not supported for Google Meet events.")
        now = self._now()
        expire = self._expiry(body, now)
        user_id = self.meet.user(email)["id"]
        if user_target:
            space_id = ""
            if f"users/{user_target.group(1)}" != user_id:  # only your own meetings: a user subscribes as themselves
                raise ApiError(403, f"The caller does not have permission to subscribe to {target}.")
        else:
            assert found is not None
            space_id = found.group(1)
            # the Meet state is asked before this state's lock is taken (lock order)
            access = self.meet.space_access(email, space_id)
            if access is None:
                raise ApiError(404, f"The target resource {target} was not found.")
            if access == "none" or (access in ("participant", "organiser") and self.space_access == "owner"):
                raise ApiError(403, f"The caller does not have permission to subscribe to {target}.")
        with self._lock:
            self._sweep()
            if any(s.user == email and s.target == target for s in self._subs.values()):
                raise ApiError(
                    409, "A subscription for this target resource already exists.", code_name="ALREADY_EXISTS"
                )
            sub = WorkspaceSubscription(
                secrets.token_urlsafe(24).replace("-", "x").replace("_", "y"),
                secrets.token_hex(16),
                target,
                space_id,
                event_types,
                topic,
                email,
                user_id,
                token,
                now,
                now,
                expire,
            )
            if not validate_only:
                self._subs[sub.id] = sub
            return self._operation("CreateSubscriptionMetadata", {"response": self._typed(sub)})

    def _event_types(self, body: Mapping[str, Any]) -> list[str]:
        types = body.get("eventTypes") or body.get("event_types") or []
        if not isinstance(types, list) or not types:
            raise invalid_argument("event_types must list at least one event type.", "event_types")
        for kind in types:
            if kind not in MEET_EVENT_TYPES:
                raise invalid_argument(
                    f"Invalid event type {kind!r} for target resource type Meet space.", "event_types"
                )
        return list(dict.fromkeys(types))

    def _expiry(self, body: Mapping[str, Any], now: datetime) -> datetime:
        maximum = now + timedelta(seconds=self.max_ttl_seconds)
        if body.get("expireTime") or body.get("expire_time"):
            try:
                wanted = parse_time(str(body.get("expireTime") or body.get("expire_time")))
            except ValueError:
                raise invalid_argument("expire_time is not an RFC 3339 timestamp.", "expire_time") from None
            if wanted <= now:
                raise invalid_argument("expire_time must be in the future.", "expire_time")
        else:
            seconds = _duration(body.get("ttl"))
            wanted = maximum if seconds == 0 else now + timedelta(seconds=seconds)
        if wanted > maximum:
            if self.ttl_over_max == "reject":
                raise invalid_argument(
                    f"The subscription lifetime may be at most {self.max_ttl_seconds:g}s for this target.", "ttl"
                )
            wanted = maximum
        return wanted

    def _operation(self, metadata: str, result: dict[str, Any]) -> dict[str, Any]:
        op = Operation(f"operations/{secrets.token_hex(12)}", result, metadata, self.operation_polls)
        self._operations[op.name] = op
        return self._operation_json(op, first=True)

    def _operation_json(self, op: Operation, first: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"name": op.name, "metadata": {"@type": TYPES_PREFIX + op.metadata_type}}
        if op.polls_left > 0:
            if not first:
                op.polls_left -= 1
            return out
        return out | {"done": True} | op.result

    def api_operation(self, name: str) -> dict[str, Any]:
        with self._lock:
            op = self._operations.get(name)
            if op is None:
                raise ApiError(404, f"Operation {name} not found.")
            return self._operation_json(op)

    def _owned(self, email: str, ident: str) -> WorkspaceSubscription:
        sub = self._subs.get(ident)
        if sub is None:
            raise ApiError(404, f"Subscription subscriptions/{ident} not found.")
        if sub.user != email:
            raise ApiError(403, "The caller does not have permission to access this subscription.")
        return sub

    def api_get(self, email: str, ident: str, enum_ints: bool) -> dict[str, Any]:
        self._check_revocations()
        with self._lock:
            self._sweep()
            return self._json(self._owned(email, ident), enum_ints)

    def api_list(self, email: str, query: Mapping[str, str], enum_ints: bool) -> dict[str, Any]:
        clauses = _parse_list_filter(query.get("filter", ""))
        size = parse_page_size(query.get("pageSize"), 50, 100)
        self._check_revocations()
        with self._lock:
            self._sweep()
            found = [s for s in self._subs.values() if s.user == email and all(c(s) for c in clauses)]
            found.sort(key=lambda s: (s.create, s.id))
            digest = hashlib.sha256(f"{email}\x00{query.get('filter', '')}".encode()).hexdigest()[:12]
            page, token = offset_page(found, size, query.get("pageToken"), digest)
            out: dict[str, Any] = {}
            if page:
                out["subscriptions"] = [self._json(s, enum_ints) for s in page]
            if token:
                out["nextPageToken"] = token
            return out

    def api_patch(self, email: str, ident: str, body: Any, raw_mask: str | None, validate_only: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_argument("Invalid JSON payload received.")
        present = {"ttl", "expire_time", "event_types"} & {_snake(k) for k in body}
        paths = {_snake(p.strip()) for p in raw_mask.split(",") if p.strip()} if raw_mask else present
        unknown = paths - {"ttl", "expire_time", "event_types"}
        if unknown:
            raise invalid_argument(
                f"Invalid update_mask path {sorted(unknown)[0]!r}: only ttl, expire_time and event_types may change.",
                "update_mask",
            )
        if not paths:
            raise invalid_argument("Nothing to update: give ttl, expire_time or event_types.", "update_mask")
        if {"ttl", "expire_time"} <= paths:
            raise invalid_argument("Give either ttl or expire_time, not both.", "update_mask")
        now = self._now()
        expire = None
        if paths & {"ttl", "expire_time"}:
            wanted = (
                {"ttl": body.get("ttl", "0s")}
                if "ttl" in paths
                else {"expireTime": body.get("expireTime") or body.get("expire_time")}
            )
            expire = self._expiry(wanted, now)
        types = self._event_types(body) if "event_types" in paths else None
        with self._lock:
            self._sweep()
            sub = self._owned(email, ident)
            target = copy.copy(sub) if validate_only else sub
            if expire is not None:
                target.expire = expire
                target.reminded = set()
            if types is not None:
                target.event_types = types
            target.update = now
            target.version += 1
            return self._operation("UpdateSubscriptionMetadata", {"response": self._typed(target)})

    def api_delete(self, email: str, ident: str, query: Mapping[str, str]) -> dict[str, Any]:
        allow_missing = query.get("allowMissing", query.get("allow_missing", "")).lower() == "true"
        with self._lock:
            self._sweep()
            if ident not in self._subs and allow_missing:
                return self._operation("DeleteSubscriptionMetadata", {"response": {"@type": EMPTY_TYPE}})
            sub = self._owned(email, ident)
            etag = query.get("etag")
            if etag and etag != _etag(sub):
                raise ApiError(409, "The etag does not match the subscription's.", code_name="ABORTED")
            if query.get("validateOnly", query.get("validate_only", "")).lower() != "true":
                del self._subs[ident]
            return self._operation("DeleteSubscriptionMetadata", {"response": {"@type": EMPTY_TYPE}})

    def api_reactivate(self, email: str, token: str, ident: str) -> dict[str, Any]:
        self._check_revocations()
        with self._lock:
            self._sweep()
            sub = self._owned(email, ident)
            if sub.state != 2:
                raise ApiError(
                    400, "Only a suspended subscription can be reactivated.", code_name="FAILED_PRECONDITION"
                )
            sub.state, sub.reason, sub.token = 1, 0, token
            sub.update = self._now()
            sub.version += 1
            return self._operation("ReactivateSubscriptionMetadata", {"response": self._typed(sub)})

    def _json(self, sub: WorkspaceSubscription, enum_ints: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": sub.name,
            "uid": sub.uid,
            "targetResource": sub.target,
            "eventTypes": list(sub.event_types),
            "notificationEndpoint": {"pubsubTopic": sub.topic},
            "state": sub.state if enum_ints else STATES[sub.state],
            "authority": sub.user_id,
            "createTime": fmt_time(sub.create),
            "updateTime": fmt_time(sub.update),
            "expireTime": fmt_time(sub.expire),
            "etag": _etag(sub),
        }
        if sub.reason:
            out["suspensionReason"] = sub.reason if enum_ints else REASONS[sub.reason]
        return out

    def _typed(self, sub: WorkspaceSubscription) -> dict[str, Any]:
        return {"@type": TYPES_PREFIX + "Subscription", **self._json(sub)}

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def _sweep(self) -> None:
        """Send due expiration reminders and expire what has reached its expireTime (lock held)."""
        now = self._now()
        for sub in list(self._subs.values()):
            if sub.expire <= now:
                del self._subs[sub.id]
                sub.state = 3
                self._lifecycle(sub, "expired")
                continue
            for index, before in enumerate(REMINDERS):
                if index not in sub.reminded and sub.expire - before <= now:
                    sub.reminded.update(range(index + 1))  # one reminder for every threshold already passed
                    self._lifecycle(sub, "expirationReminder")
                    break

    def _check_revocations(self) -> None:
        """Suspend (USER_SCOPE_REVOKED) subscriptions whose user revoked the grant they were made with."""
        with self._lock:
            tokens = [(s.id, s.token) for s in self._subs.values() if s.state == 1]
        revoked = {ident for ident, token in tokens if getattr(self.meet.lookup_token(token)[0], "revoked", False)}
        if revoked:
            with self._lock:
                for ident in revoked:
                    if ident in self._subs and self._subs[ident].state == 1:
                        self._suspend(self._subs[ident], 1)

    def _suspend(self, sub: WorkspaceSubscription, reason: int) -> None:
        sub.state, sub.reason = 2, reason
        sub.update = self._now()
        sub.version += 1
        self._lifecycle(sub, "suspended")

    def _lifecycle(self, sub: WorkspaceSubscription, kind: str) -> None:
        source = f"//workspaceevents.googleapis.com/{sub.name}"
        self._publish(sub, LIFECYCLE + kind, source, source, {"subscription": self._json(sub)}, self._now())

    def _publish(
        self, sub: WorkspaceSubscription, ce_type: str, source: str, subject: str, data: Any, when: datetime
    ) -> None:
        attributes = {
            "ce-id": secrets.token_hex(16),
            "ce-specversion": "1.0",
            "ce-type": ce_type,
            "ce-source": source,
            "ce-subject": subject,
            "ce-time": fmt_time(when),
            "ce-datacontenttype": "application/json",
        }
        self.broker.publish(sub.topic, json.dumps(data).encode(), attributes)

    def _on_meet_event(self, event: MeetEvent) -> None:
        """Meet's listener: runs with the Meet state's lock held (so revocations are looked up directly)."""
        with self._lock:
            self._sweep()
            for sub in list(self._subs.values()):
                if sub.state == 1 and getattr(self.meet.lookup_token(sub.token)[0], "revoked", False):
                    self._suspend(sub, 1)
            for sub in self._subs.values():
                if sub.state != 1 or event.type not in sub.event_types or not self._covers(sub, event.space_id):
                    continue
                space = f"//meet.googleapis.com/spaces/{event.space_id}"
                # unverified (§9, §12): which of the two forms Meet uses
                source = space if self.ce_source == "space" else f"//workspaceevents.googleapis.com/{sub.name}"
                kind = event.type.removeprefix("google.workspace.meet.").split(".")[0]
                self._publish(
                    sub, event.type, source, space, {DATA_KEYS[kind]: {"name": event.resource_name}}, event.time
                )

    def _covers(self, sub: WorkspaceSubscription, space_id: str) -> bool:
        """A space target covers its space; a user target the spaces its user owns, with
        user_target_events="organised" (unverified) also the Calendar meetings they organised, and with "joined"
        those and the spaces whose conferences they joined."""
        if sub.space_id:
            return sub.space_id == space_id
        access = self.meet.space_access(sub.user, space_id)  # Meet's lock is held here and is re-entrant
        covered = {"owned": ("owner",), "organised": ("owner", "organiser"),
                   "joined": ("owner", "organiser", "participant")}[self.user_target_events]
        return access in covered

    # -- test controls -----------------------------------------------------------------------------------------
    def subscriptions(self) -> list[dict[str, Any]]:
        self._check_revocations()
        with self._lock:
            self._sweep()
            return [self._json(s) | {"user": s.user} for s in self._subs.values()]

    def _control_sub(self, name: str) -> WorkspaceSubscription:
        sub = self._subs.get(name.removeprefix("subscriptions/"))
        if sub is None:
            raise KeyError(f"no subscription {name!r}")
        return sub

    def expire(self, name: str) -> None:
        """The subscription reaches its expireTime now: `expired` is published and it is gone."""
        with self._lock:
            self._control_sub(name).expire = self._now()
            self._sweep()

    def suspend(self, name: str, reason: str = "USER_SCOPE_REVOKED") -> dict[str, Any]:
        if reason not in REASONS[1:]:
            raise ValueError(f"reason must be one of {', '.join(REASONS[1:])} (got {reason!r})")
        with self._lock:
            sub = self._control_sub(name)
            self._suspend(sub, REASONS.index(reason))
            return self._json(sub)

    def remind(self, name: str) -> None:
        """Publish an expirationReminder now."""
        with self._lock:
            self._lifecycle(self._control_sub(name), "expirationReminder")

    def sweep(self) -> None:
        """Apply the clock and revocations now (the server also does this on every call and every Meet event)."""
        self._check_revocations()
        with self._lock:
            self._sweep()



# ---------------------------------------------------------------------------------------------------------------
# Small parsers


def _checked(options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(RUNTIME_OPTIONS))
    if unknown:
        raise TypeError(f"unknown option {unknown[0]!r}; options: {', '.join(RUNTIME_OPTIONS)}")
    choices = {
        "ce_source": ("space", "subscription"),
        "space_access": ("owner", "participant"),
        "ttl_over_max": ("reject", "clamp"),
        "user_target_events": ("owned", "organised", "joined"),
    }
    for name, value in options.items():
        if name in choices and value not in choices[name]:
            raise ValueError(f"{name} must be one of {', '.join(choices[name])} (got {value!r})")
        if name == "require_pubsub_scope" and not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false (got {value!r})")
        if name == "operation_polls" and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise ValueError(f"{name} must be a whole number >= 0 (got {value!r})")
        if name == "max_ttl_seconds" and not (isinstance(value, int | float) and value > 0):
            raise ValueError(f"{name} must be a positive number (got {value!r})")
    return dict(options)


def _duration(value: Any) -> float:
    """A proto3 JSON Duration ("86400s", "1.5s"); absent = 0 (the maximum)."""
    if value in (None, ""):
        return 0.0
    match = re.fullmatch(r"(\d+(?:\.\d{1,9})?)s", str(value))
    if not match:
        raise invalid_argument(
            f"Invalid value at 'ttl' (type.googleapis.com/google.protobuf.Duration), {value!r}", "ttl"
        )
    return float(match.group(1))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _etag(sub: WorkspaceSubscription) -> str:
    return '"' + hashlib.sha256(f"{sub.id}:{sub.version}".encode()).hexdigest()[:16] + '"'


_CLAUSE = re.compile(r'^\s*(event_types\s*:|target_resource\s*=)\s*"([^"]*)"\s*$')


def _parse_list_filter(text: str) -> list[Callable[[WorkspaceSubscription], bool]]:
    """`event_types:"A" AND target_resource="B"`, OR-groups of event types in parentheses; at least one event type."""
    if not text.strip():
        raise invalid_argument("A filter is required: give at least one event_types clause.", "filter")
    clauses: list[Callable[[WorkspaceSubscription], bool]] = []
    has_type = False
    for part in re.split(r"\s+AND\s+", text.strip()):
        options = part.strip()
        grouped = options.startswith("(") and options.endswith(")")
        alternatives = re.split(r"\s+OR\s+", options[1:-1]) if grouped else [options]
        tests: list[Callable[[WorkspaceSubscription], bool]] = []
        for alternative in alternatives:
            found = _CLAUSE.match(alternative)
            if not found or (grouped and not found.group(1).startswith("event_types")):
                raise invalid_argument(f"Invalid filter: {text!r}", "filter")
            value = found.group(2)
            if found.group(1).startswith("event_types"):
                has_type = True
                tests.append(lambda s, v=value: v in s.event_types)
            else:
                tests.append(lambda s, v=value: s.target == v)
        clauses.append(lambda s, t=tests: any(test(s) for test in t))
    if not has_type:
        raise invalid_argument('The filter must name at least one event type (event_types:"...").', "filter")
    return clauses








# ---------------------------------------------------------------------------------------------------------------
# HTTP






def _route(method: str, path: str) -> str:
    if path == "/v1/subscriptions":
        return {"POST": "subscriptions.create", "GET": "subscriptions.list"}.get(method, "unknown")
    if path.startswith("/v1/operations/"):
        return "operations.get" if method == "GET" else "unknown"
    if path.startswith("/v1/subscriptions/"):
        if path.endswith(":reactivate"):
            return "subscriptions.reactivate" if method == "POST" else "unknown"
        return {"GET": "subscriptions.get", "PATCH": "subscriptions.patch", "DELETE": "subscriptions.delete"}.get(
            method, "unknown"
        )
    if path.startswith("/v1/projects/") and method == "POST":
        for verb in ("pull", "acknowledge", "modifyAckDeadline"):
            if path.endswith(":" + verb):
                return f"pubsub.{verb}"
    if path == "/oauth2/v1/certs":
        return "certs"
    return "unknown"


def build_app(state: EventsState) -> web.Application:
    @web.middleware
    async def instrument(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/_emulator/"):
            return await handler(request)
        raw = await request.read()
        try:
            response = await handler(request)
        except ApiError as exc:
            response = error_response(exc)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            response = error_response(ApiError(404, f"The requested URL {request.path} was not found."))
        body: Any = raw.decode("utf-8", "replace") if raw else None
        with contextlib.suppress(ValueError, TypeError):
            body = json.loads(body)
        state._record_call(call_entry(request, _route(request.method, request.path), request.query, body,
                                      state.meet.token_user(bearer_of(request)), response.status))
        return response

    async def body_of(request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise invalid_argument("Invalid JSON payload received.") from None

    def flag(query: Mapping[str, str], name: str) -> bool:
        return query.get(name, query.get(_snake(name), "")).lower() == "true"

    def ints(query: Mapping[str, str]) -> bool:
        return "enum-encoding=int" in query.get("alt", "")

    async def subscriptions(request: web.Request) -> web.Response:
        email, token = state.events_caller(bearer_of(request))
        query = query_of(request)
        if request.method == "POST":
            body = await body_of(request)
            return json_response(200, state.api_create(email, token, body, flag(query, "validateOnly")))
        return json_response(200, state.api_list(email, query, ints(query)))

    async def subscription(request: web.Request) -> web.Response:
        email, token = state.events_caller(bearer_of(request))
        ident = urllib.parse.unquote(request.match_info["id"])
        query = query_of(request)
        if ident.endswith(":reactivate"):
            if request.method != "POST":
                raise web.HTTPNotFound()
            return json_response(200, state.api_reactivate(email, token, ident.removesuffix(":reactivate")))
        if request.method == "GET":
            return json_response(200, state.api_get(email, ident, ints(query)))
        if request.method == "PATCH":
            body = await body_of(request)
            mask = query.get("updateMask", query.get("update_mask"))
            return json_response(200, state.api_patch(email, ident, body, mask, flag(query, "validateOnly")))
        if request.method == "DELETE":
            return json_response(200, state.api_delete(email, ident, query))
        raise web.HTTPNotFound()

    async def operation(request: web.Request) -> web.Response:
        state.events_caller(bearer_of(request))
        return json_response(200, state.api_operation("operations/" + request.match_info["id"]))

    async def pubsub(request: web.Request) -> web.Response:
        state.pubsub_caller(bearer_of(request))
        name, _, verb = f"projects/{request.match_info['tail']}".rpartition(":")
        body = await body_of(request)
        if verb == "pull":
            def gone() -> bool:  # the puller hung up: stop holding (what was already handed out stays so)
                return request.transport is None or request.transport.is_closing()

            return json_response(200, await state.broker.pull(name, int(body.get("maxMessages", 0) or 0), gone))
        if verb == "acknowledge":
            state.broker.acknowledge(name, [str(a) for a in body.get("ackIds", [])])
            return json_response(200, {})
        if verb == "modifyAckDeadline":
            seconds = float(body.get("ackDeadlineSeconds", 0))
            state.broker.modify_ack_deadline(name, [str(a) for a in body.get("ackIds", [])], seconds)
            return json_response(200, {})
        raise web.HTTPNotFound()

    async def certs(request: web.Request) -> web.Response:
        return json_response(200, state.broker.signer.certs(), {"Cache-Control": "public, max-age=19800"})

    async def push_pump(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(state.broker.run_push())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app = web.Application(middlewares=[instrument])
    app[STATE_KEY] = state
    app.router.add_route("*", "/v1/subscriptions", subscriptions)
    app.router.add_route("*", "/v1/subscriptions/{id}", subscription)
    app.router.add_get("/v1/operations/{id:.+}", operation)
    app.router.add_post("/v1/projects/{tail:.+}", pubsub)
    app.router.add_get("/oauth2/v1/certs", certs)
    app.cleanup_ctx.append(push_pump)
    _controls(app, state)
    return app


def _controls(app: web.Application, state: EventsState) -> None:
    broker = state.broker

    def forged(d: Mapping[str, Any]) -> Awaitable[dict[str, Any]]:
        attributes = {
            "ce-id": secrets.token_hex(16),
            "ce-specversion": "1.0",
            "ce-type": str(d.get("type", "google.workspace.meet.conference.v2.started")),
            "ce-source": "//meet.googleapis.com/spaces/forged",
            "ce-subject": "//meet.googleapis.com/spaces/forged",
            "ce-time": fmt_time(datetime.now(UTC)),
            "ce-datacontenttype": "application/json",
        }
        data = {"conferenceRecord": {"name": str(d.get("resource", "conferenceRecords/forged"))}}
        message = Message(
            "forged-" + secrets.token_hex(6), "", json.dumps(data).encode(), attributes, datetime.now(UTC)
        )
        return broker.forged_push(str(d["subscription"]), str(d.get("kind", "bad_signature")), message)

    routes: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
        ("GET", "subscriptions", lambda d: {"subscriptions": state.subscriptions()}),
        ("POST", "expire", lambda d: state.expire(d["subscription"])),
        ("POST", "suspend", lambda d: state.suspend(d["subscription"], d.get("reason", "USER_SCOPE_REVOKED"))),
        ("POST", "remind", lambda d: state.remind(d["subscription"])),
        ("POST", "sweep", lambda d: state.sweep()),
        ("GET", "messages", lambda d: {"messages": broker.snapshot()["published"]}),
        ("GET", "deliveries", lambda d: {"deliveries": broker.snapshot()["deliveries"]}),
        ("GET", "pubsub/subscriptions", lambda d: {"subscriptions": broker.subscriptions()}),
        (
            "POST",
            "pubsub/subscriptions",
            lambda d: broker.configure_subscription(
                d["name"],
                d["topic"],
                d.get("push_endpoint"),
                d.get("audience"),
                d.get("service_account") or DEFAULT_PUSH_ACCOUNT,
                d.get("ack_deadline"),
            ),
        ),
        ("POST", "pubsub/delete", lambda d: broker.delete_subscription(d["name"])),
        ("POST", "delivery", lambda d: broker.set_switches(d.get("duplicate"), d.get("hold"), d.get("reorder"))),
        ("POST", "forged_push", forged),
        ("GET", "calls", lambda d: {"calls": state.calls}),
        ("GET", "options", lambda d: state.options()),
        ("POST", "options", lambda d: state.configure(**d)),
        ("POST", "reset", lambda d: state.reset()),
    ]
    add_controls(app, routes)


# ---------------------------------------------------------------------------------------------------------------
# Running it


class EventsEmulator:
    """The emulator on a background thread, linked to `meet` (a MeetState). `.url` serves GOOGLE_EVENTS_URL and
    PUBSUB_API_URL; `.certs_url` is GOOGLE_CERTS_URL. Unknown attributes are looked up on `.state`."""

    def __init__(self, meet: MeetState, **options: Any) -> None:
        self.state = EventsState(meet, **options)
        self.broker = self.state.broker
        self._server = BackgroundServer(build_app(self.state))

    def start(self) -> EventsEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self.broker.closing = True  # held pulls answer now, or the server would wait for them to end
        self._server.stop()
        self.state.close()

    def __enter__(self) -> EventsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("state", "broker"):
            raise AttributeError(name)
        return getattr(self.state, name)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def certs_url(self) -> str:
        return self.url + "/oauth2/v1/certs"


async def _serve(host: str, port: int, meet_port: int) -> None:
    meet = MeetState()
    runners = []
    for app, bound in ((build_meet_app(meet), meet_port), (build_app(EventsState(meet)), port)):
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, bound).start()
        runners.append(runner)
    print(f"Workspace Events + Pub/Sub on http://{host}:{port}, Meet + OAuth on http://{host}:{meet_port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description="Workspace Events + Pub/Sub emulator, with its Meet emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8086)
    parser.add_argument("--meet-port", type=int, default=8085)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.meet_port))


if __name__ == "__main__":
    main()
