"""The official `google-apps-events-subscriptions` client (REST transport) works unchanged against the Workspace
Events emulator for every call meetbot makes: create (a long-running operation), get, list, patch ttl, delete,
and reactivate."""

# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

events_v1 = pytest.importorskip("google.apps.events_subscriptions_v1")
pytest.importorskip("requests")

from google.api_core import exceptions  # noqa: E402
from google.oauth2.credentials import Credentials  # noqa: E402
from google.protobuf import duration_pb2, field_mask_pb2  # noqa: E402

from emulators.events import EventsEmulator  # noqa: E402
from emulators.meet import MeetEmulator  # noqa: E402

pytestmark = pytest.mark.conformance

ALICE, BOB = "alice@example.com", "bob@example.com"
TOPIC = "projects/meetbot-test/topics/meet-events"
STARTED = "google.workspace.meet.conference.v2.started"
JOINED = "google.workspace.meet.participant.v2.joined"
State = events_v1.Subscription.State


@pytest.fixture
def emus() -> Iterator[tuple[MeetEmulator, EventsEmulator]]:
    with MeetEmulator() as meet, EventsEmulator(meet.state, operation_polls=1) as events:
        yield meet, events


def client(meet: MeetEmulator, events: EventsEmulator, user: str = ALICE) -> Any:
    token = meet.state.mint_token(user, ["meetings.space.created"])
    return events_v1.SubscriptionsServiceClient(
        credentials=Credentials(token=token), transport="rest", client_options={"api_endpoint": events.url}
    )


def new_subscription(space: str, types: tuple[str, ...] = (STARTED, JOINED)) -> Any:
    return events_v1.Subscription(
        target_resource=f"//meet.googleapis.com/{space}",
        event_types=list(types),
        notification_endpoint=events_v1.NotificationEndpoint(pubsub_topic=TOPIC),
        payload_options=events_v1.PayloadOptions(include_resource=False),
        ttl=duration_pb2.Duration(seconds=86400),
    )


def test_create_get_list_patch_delete(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    space = meet.state.create_space(ALICE)["name"]
    subs = client(meet, events)
    operation = subs.create_subscription(subscription=new_subscription(space))
    created = operation.result(timeout=10)  # polls GET /v1/operations/... until done
    assert created.name.startswith("subscriptions/") and created.state == State.ACTIVE
    assert list(created.event_types) == [STARTED, JOINED]
    assert created.authority == meet.state.user(ALICE)["id"]
    assert events.state.calls[1]["route"] == "operations.get"

    assert subs.get_subscription(name=created.name).target_resource == f"//meet.googleapis.com/{space}"
    query = f'event_types:"{STARTED}" AND target_resource="//meet.googleapis.com/{space}"'
    assert [s.name for s in subs.list_subscriptions(filter=query)] == [created.name]
    assert list(subs.list_subscriptions(filter=f'event_types:"{JOINED}" AND target_resource="//x"')) == []

    renewed = subs.update_subscription(
        subscription=events_v1.Subscription(name=created.name, ttl=duration_pb2.Duration(seconds=0)),
        update_mask=field_mask_pb2.FieldMask(paths=["ttl"]),
    ).result(timeout=10)
    assert renewed.expire_time > created.expire_time  # 0s = the 7-day maximum
    patch = next(c for c in events.state.calls if c["route"] == "subscriptions.patch")
    assert patch["query"]["updateMask"] == "ttl" and patch["body"]["ttl"] == "0s"

    with pytest.raises(exceptions.Conflict):
        subs.create_subscription(subscription=new_subscription(space))
    with pytest.raises(exceptions.BadRequest):
        subs.create_subscription(subscription=new_subscription(space, ("google.workspace.meet.nope.v2.x",)))

    subs.delete_subscription(name=created.name).result(timeout=10)
    with pytest.raises(exceptions.NotFound):
        subs.get_subscription(name=created.name)
    subs.delete_subscription(request={"name": created.name, "allow_missing": True}).result(timeout=10)


def test_reactivate_and_refusals(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    space = meet.state.create_space(ALICE)["name"]
    subs = client(meet, events)
    created = subs.create_subscription(subscription=new_subscription(space)).result(timeout=10)
    events.state.suspend(created.name, "USER_AUTHORIZATION_FAILURE")
    suspended = subs.get_subscription(name=created.name)
    assert suspended.state == State.SUSPENDED
    assert suspended.suspension_reason == events_v1.Subscription.ErrorType.USER_AUTHORIZATION_FAILURE
    assert subs.reactivate_subscription(name=created.name).result(timeout=10).state == State.ACTIVE
    with pytest.raises(exceptions.BadRequest):  # FAILED_PRECONDITION: it is active
        subs.reactivate_subscription(name=created.name)
    with pytest.raises(exceptions.Forbidden):  # Bob may not subscribe to Alice's space
        client(meet, events, BOB).create_subscription(subscription=new_subscription(space))
    with pytest.raises(exceptions.Forbidden):
        client(meet, events, BOB).get_subscription(name=created.name)
