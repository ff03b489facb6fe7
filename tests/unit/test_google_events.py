"""bot/google's Workspace Events client, push verification, event decoding and Pub/Sub puller, against the Meet and
Workspace Events emulators over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.google.pubsub import (
    Puller,
    PushCerts,
    PushTokens,
    ServiceAccountToken,
    WorkspaceEvent,
    parse_push,
    verify_push,
)
from bot.google.push_errors import MalformedEvent, PushRejected
from bot.google.workspace_events import (
    CONFERENCE_ENDED,
    CONFERENCE_STARTED,
    LIVE_EVENT_TYPES,
    PARTICIPANT_JOINED,
    RECORDING_READY,
    WorkspaceEvents,
)
from bot.googleapi.errors import (
    FailedPrecondition,
    InvalidArgument,
    OperationPending,
    PermissionDenied,
    Unauthenticated,
)
from emulators._server import BackgroundServer
from emulators.events import EventsEmulator
from emulators.meet import MeetEmulator
from tests.support.waits import eventually_async

ALICE, BOB = "alice@example.com", "bob@example.com"
TOPIC = "projects/meetbot-test/topics/meet"
PUSH_SUB, PULL_SUB = "projects/meetbot-test/subscriptions/push", "projects/meetbot-test/subscriptions/pull"
PUSHER = "pubsub-push@meetbot-test.iam.gserviceaccount.com"
PULLER = "puller@meetbot-test.iam.gserviceaccount.com"


@pytest.fixture
def emus() -> Iterator[tuple[MeetEmulator, EventsEmulator]]:
    with MeetEmulator() as meet, EventsEmulator(meet.state, pull_wait=0.0) as events:  # idle pulls answer at once
        yield meet, events


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def alice_token(meet: MeetEmulator, user: str = ALICE) -> str:
    return meet.state.mint_token(user, ["meetings.space.created", "meetings.space.readonly"])


async def until(check: Any, seconds: float = 5.0) -> Any:
    return await eventually_async(check, "the check to hold", seconds)


# -- Workspace Events ----------------------------------------------------------------------------------------------


async def test_subscribe_get_renew_delete(emus: tuple[MeetEmulator, EventsEmulator], http: httpx.AsyncClient) -> None:
    meet, events = emus
    events.state.configure(operation_polls=2)
    client = WorkspaceEvents(http, events.url, poll_interval=0.01)
    space = meet.state.create_space(ALICE)["name"]
    token = alice_token(meet)
    sub = await client.subscribe(token, space, LIVE_EVENT_TYPES, TOPIC, ttl=timedelta(hours=1))
    assert sub.active and sub.space_id == space.removeprefix("spaces/") and sub.event_types == LIVE_EVENT_TYPES
    assert sub.expire_time is not None and sub.suspension_reason is None
    assert [c["route"] for c in events.state.calls].count("operations.get") == 3  # 2 not done, then done
    again = await client.subscribe(token, space.removeprefix("spaces/"), [CONFERENCE_STARTED], TOPIC)
    assert again.name == sub.name  # ALREADY_EXISTS → the existing one, found by the list filter
    assert (await client.get(token, sub.name)).name == sub.name
    renewed = await client.renew(token, sub.name)
    assert renewed.expire_time is not None and renewed.expire_time - sub.expire_time > timedelta(days=6)
    await client.delete(token, sub.name)
    await client.delete(token, sub.name)  # already gone: fine
    assert events.state.subscriptions() == []


async def test_suspended_subscription_reactivates(
    emus: tuple[MeetEmulator, EventsEmulator], http: httpx.AsyncClient
) -> None:
    meet, events = emus
    client = WorkspaceEvents(http, events.url)
    space = meet.state.create_space(ALICE)["name"]
    token = alice_token(meet)
    sub = await client.subscribe(token, space, [CONFERENCE_STARTED], TOPIC)
    with pytest.raises(FailedPrecondition):
        await client.reactivate(token, sub.name)
    events.state.suspend(sub.name, "USER_AUTHORIZATION_FAILURE")
    suspended = await client.get(token, sub.name)
    assert suspended.state == "SUSPENDED" and suspended.suspension_reason == "USER_AUTHORIZATION_FAILURE"
    assert (await client.reactivate(token, sub.name)).active


async def test_refusals_are_typed(emus: tuple[MeetEmulator, EventsEmulator], http: httpx.AsyncClient) -> None:
    meet, events = emus
    client = WorkspaceEvents(http, events.url, poll_interval=0.01, poll_attempts=1)
    space = meet.state.create_space(ALICE)["name"]
    with pytest.raises(InvalidArgument):
        await client.subscribe(alice_token(meet), space, ["google.workspace.meet.nothing.v2.x"], TOPIC)
    with pytest.raises(PermissionDenied):
        await client.subscribe(alice_token(meet, BOB), space, [CONFERENCE_STARTED], TOPIC)
    expired = alice_token(meet)
    meet.state.expire_token(expired)
    with pytest.raises(Unauthenticated):
        await client.subscribe(expired, space, [CONFERENCE_STARTED], TOPIC)
    events.state.configure(operation_polls=5)
    with pytest.raises(OperationPending):
        await client.subscribe(alice_token(meet), space, [CONFERENCE_STARTED], TOPIC)
    with pytest.raises(ValueError, match="space id"):
        await client.subscribe(alice_token(meet), "spaces/a b", [CONFERENCE_STARTED], TOPIC)


# -- push ---------------------------------------------------------------------------------------------------------


class Sink:
    """A push endpoint that verifies with bot.google.pubsub and answers 401 / 204 like the bot's route will."""

    def __init__(self, certs_url: str, push_account: str | None) -> None:
        self.certs = PushCerts(certs_url)
        self.push_account = push_account
        self.events: list[WorkspaceEvent] = []
        self.rejected: list[str] = []
        app = web.Application()
        app.router.add_post("/google/events", self.receive)
        self.server = BackgroundServer(app)

    @property
    def endpoint(self) -> str:
        return self.server.url + "/google/events"

    async def receive(self, request: web.Request) -> web.Response:
        try:
            verify_push(request.headers.get("Authorization"), self.endpoint, self.push_account, self.certs)
        except PushRejected as exc:
            self.rejected.append(exc.reason)
            return web.Response(status=401)
        self.events.append(parse_push(await request.read()))
        return web.Response(status=204)


@pytest.fixture
def sink(emus: tuple[MeetEmulator, EventsEmulator]) -> Iterator[Sink]:
    _, events = emus
    receiver = Sink(events.certs_url, PUSHER)
    with receiver.server:
        events.broker.configure_subscription(PUSH_SUB, TOPIC, receiver.endpoint, service_account=PUSHER)
        yield receiver
    receiver.certs.close()


async def test_pushed_events_verify_and_decode(
    emus: tuple[MeetEmulator, EventsEmulator], http: httpx.AsyncClient, sink: Sink
) -> None:
    meet, events = emus
    space = meet.state.create_space(ALICE)["name"]
    sub = await WorkspaceEvents(http, events.url).subscribe(alice_token(meet), space, LIVE_EVENT_TYPES, TOPIC)
    participant = meet.state.join(space, user=ALICE)
    record = participant.split("/participants/")[0]
    meet.state.produce_artifact("recording", space=space)
    meet.state.end_conference(space)
    got = await until(lambda: sink.events if len(sink.events) >= 5 else None)
    assert {e.type for e in got} == {CONFERENCE_STARTED, PARTICIPANT_JOINED, RECORDING_READY, CONFERENCE_ENDED} | {
        "google.workspace.meet.participant.v2.left"
    }
    joined = next(e for e in got if e.type == PARTICIPANT_JOINED)
    assert joined.resource_name.startswith(participant + "/participantSessions/")
    assert joined.conference_record == record and not joined.is_lifecycle
    assert joined.subscription_name is None  # the space form of ce-source names no subscription
    assert len({e.id for e in got}) == len(got)
    assert sink.certs.fetches == 1 and sink.rejected == []

    events.state.configure(ce_source="subscription")
    meet.state.join(space, user=ALICE)
    started = await until(lambda: [e for e in sink.events[5:] if e.type == CONFERENCE_STARTED])
    assert started[0].subscription_name == sub.name

    events.state.suspend(sub.name, "USER_SCOPE_REVOKED")
    lifecycle = await until(lambda: [e for e in sink.events if e.is_lifecycle])
    assert lifecycle[0].type == "google.workspace.events.subscription.v1.suspended"
    assert lifecycle[0].subscription_name == sub.name and lifecycle[0].space_id == space.removeprefix("spaces/")


FORGERIES = ["bad_signature", "wrong_audience", "wrong_email", "wrong_issuer", "expired", "no_token"]


@pytest.mark.parametrize("kind", FORGERIES)
async def test_forged_pushes_are_rejected(emus: tuple[MeetEmulator, EventsEmulator], sink: Sink, kind: str) -> None:
    _, events = emus
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{events.url}/_emulator/forged_push", json={"subscription": PUSH_SUB, "kind": kind}
        )
    assert answer.json()["status"] == 401
    assert sink.events == [] and len(sink.rejected) == 1


def test_verification_fetches_the_certs_once(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    """Speed is bench_live's to measure (verified pushes per second); here: a thousand pushes, one certs fetch."""
    _, events = emus
    certs = PushCerts(events.certs_url)
    audience = "https://meetbot.example.com/google/events"
    tokens = [events.broker.signer.token(audience, PUSHER) for _ in range(20)]
    certs.prefetch()
    for i in range(1000):
        assert verify_push(f"Bearer {tokens[i % 20]}", audience, PUSHER, certs)["email"] == PUSHER
    assert certs.fetches == 1
    assert [c["route"] for c in events.state.calls].count("certs") == 1
    with pytest.raises(PushRejected):
        verify_push(f"Bearer {tokens[0]}", audience, "someone@else.iam.gserviceaccount.com", certs)
    with pytest.raises(PushRejected):
        verify_push("Basic abc", audience, None, certs)
    certs.close()


class CountedVerify:
    """The real `verify_push`, counting the verifications that ran (a spy, not a stand-in)."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, header: str | None, audience: str, account: str | None, certs: PushCerts) -> Any:
        self.runs += 1
        return verify_push(header, audience, account, certs)


async def test_a_verified_push_token_is_remembered_until_it_expires(
    emus: tuple[MeetEmulator, EventsEmulator],
) -> None:
    """Pub/Sub sends one token with many pushes: it is verified once, and kept no longer than its `exp`."""
    _, events = emus
    audience = "https://meetbot.example.com/google/events"
    now = [time.time()]
    verify, certs = CountedVerify(), PushCerts(events.certs_url)
    tokens = PushTokens(audience, PUSHER, certs, clock=lambda: now[0], verify=verify)
    token = events.broker.signer.token(audience, PUSHER, lifetime=600)
    for _ in range(100):
        assert (await tokens.check(f"Bearer {token}"))["email"] == PUSHER
    assert verify.runs == 1
    now[0] += 601  # past its exp: verified in full again (google-auth's clock says it is still valid)
    assert tokens.known(f"Bearer {token}") is None
    await tokens.check(f"Bearer {token}")
    assert verify.runs == 2
    certs.close()


async def test_a_remembered_push_token_vouches_for_no_other(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    """Forgeries after a genuine token was remembered: each is verified in full and refused."""
    _, events = emus
    audience = "https://meetbot.example.com/google/events"
    verify, certs = CountedVerify(), PushCerts(events.certs_url)
    tokens = PushTokens(audience, PUSHER, certs, verify=verify)
    genuine = events.broker.signer.token(audience, PUSHER)
    await tokens.check(f"Bearer {genuine}")
    head, claims, signature = genuine.split(".")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forgeries = [
        f"{head}.{claims}.{signature[:-4]}AAAA",  # the genuine claims, a signature that is not theirs
        events.broker.signer.token(audience, PUSHER, key=other_key),
        events.broker.signer.token(audience + "/elsewhere", PUSHER),
        events.broker.signer.token(audience, "intruder@evil.example.com"),
        events.broker.signer.token(audience, PUSHER, lifetime=-3600),
    ]
    for forged in forgeries:
        for _ in range(2):  # a refused token is not remembered either
            with pytest.raises(PushRejected):
                await tokens.check(f"Bearer {forged}")
    assert verify.runs == 1 + 2 * len(forgeries)
    for header in (None, "", f"Basic {genuine}", genuine):
        with pytest.raises(PushRejected):
            await tokens.check(header)
    assert (await tokens.check(f"Bearer {genuine}"))["email"] == PUSHER
    certs.close()


async def test_push_tokens_kept_are_bounded(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    _, events = emus
    audience = "https://meetbot.example.com/google/events"
    verify, certs = CountedVerify(), PushCerts(events.certs_url)
    tokens = PushTokens(audience, PUSHER, certs, size=2, verify=verify)
    first, second, third = (events.broker.signer.token(audience, PUSHER) for _ in range(3))
    for token in (first, second, third, third, second):
        await tokens.check(f"Bearer {token}")
    assert verify.runs == 3
    await tokens.check(f"Bearer {first}")  # the oldest made room for the third
    assert verify.runs == 4
    certs.close()


def test_parse_push_refuses_what_is_not_an_event() -> None:
    for body in (b"not json", b"{}", json.dumps({"message": {"attributes": {}, "data": ""}}).encode()):
        with pytest.raises(MalformedEvent):
            parse_push(body)
    attributes = {"ce-id": "1", "ce-type": CONFERENCE_STARTED, "ce-time": "2026-01-01T00:00:00.123456789Z"}
    with pytest.raises(MalformedEvent):
        parse_push({"message": {"attributes": attributes, "data": "e30="}})  # {}: names nothing
    data = base64.b64encode(b'{"conferenceRecord": {"name": "conferenceRecords/a"}}').decode()
    event = parse_push({"message": {"attributes": attributes, "data": data}})
    assert event.resource_name == "conferenceRecords/a" and event.time.microsecond == 123456


def test_deeply_nested_json_in_a_push_is_malformed_not_a_crash() -> None:
    """A verified push whose body (or whose message data) nests 100,000 deep made json raise RecursionError: a 500
    with a traceback, and Pub/Sub redelivering it. Malformed: the route acknowledges it and logs one line."""
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(MalformedEvent):
        parse_push(b'{"message": ' + deep + b"}")
    attributes = {"ce-id": "1", "ce-type": CONFERENCE_STARTED, "ce-time": "2026-01-01T00:00:00Z"}
    with pytest.raises(MalformedEvent):
        parse_push({"message": {"attributes": attributes, "data": base64.b64encode(deep).decode()}})


# -- pull ---------------------------------------------------------------------------------------------------------


def key_file(tmp_path: Path, meet: MeetEmulator) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    meet.state.register_service_account(PULLER, public.decode(), domain="meetbot-test.iam.gserviceaccount.com")
    path = tmp_path / "pubsub-key.json"
    info = {
        "type": "service_account",
        "project_id": "meetbot-test",
        "private_key_id": "k1",
        "private_key": pem.decode(),
        "client_email": PULLER,
        "client_id": "42",
        "token_uri": meet.token_url,
    }
    path.write_text(json.dumps(info))
    return path


async def test_pull_ack_and_redelivery(
    emus: tuple[MeetEmulator, EventsEmulator], http: httpx.AsyncClient, tmp_path: Path
) -> None:
    meet, events = emus
    events.broker.configure_subscription(PULL_SUB, TOPIC, ack_deadline=0.3)
    space = meet.state.create_space(ALICE)["name"]
    await WorkspaceEvents(http, events.url).subscribe(alice_token(meet), space, LIVE_EVENT_TYPES, TOPIC)
    credentials = ServiceAccountToken(key_file(tmp_path, meet))
    puller = Puller(http, events.url, PULL_SUB, credentials)
    assert await puller.pull() == []
    meet.state.join(space, user=ALICE)
    events.broker.publish(TOPIC, b"junk", {"not": "an event"})
    first = await puller.pull(10)
    assert [e.type for _, e in first] == [CONFERENCE_STARTED, PARTICIPANT_JOINED]
    await puller.ack([first[0][0]])
    await asyncio.sleep(0.4)
    again = await puller.pull(10)  # the unacknowledged one came back; the junk was acknowledged at once
    assert [e.id for _, e in again] == [first[1][1].id]
    await puller.extend([again[0][0]], 30)
    await asyncio.sleep(0.4)
    assert await puller.pull(10) == []
    await puller.ack([again[0][0]])
    assert len(meet.state.calls_to("oauth.token")) == 1  # one service-account token for every call
    pulls = [c for c in events.state.calls if c["route"] == "pubsub.pull"]
    assert {c["user"] for c in pulls} == {PULLER}
    credentials.close()


async def test_an_idle_pull_held_open_past_5_s_is_no_error_and_still_delivers(tmp_path: Path) -> None:
    """Pub/Sub holds an idle pull open (the emulator: 15 s here). The puller used the shared client's 5 s read
    timeout: it gave up, and an event published during the hold went to the abandoned pull and came back only after
    its ack deadline. Built as app.py builds it (the shared client, 5 s read), the pull must wait and deliver."""
    with MeetEmulator() as meet, EventsEmulator(meet.state, pull_wait=15.0) as events:
        events.broker.configure_subscription(PULL_SUB, TOPIC, ack_deadline=600)
        space = meet.state.create_space(ALICE)["name"]
        async with httpx.AsyncClient(timeout=httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=2.0)) as shared:
            await WorkspaceEvents(shared, events.url).subscribe(alice_token(meet), space, LIVE_EVENT_TYPES, TOPIC)
            credentials = ServiceAccountToken(key_file(tmp_path, meet))
            puller = Puller(shared, events.url, PULL_SUB, credentials)
            await credentials()  # the token first: the pull below is the one held
            pulling = asyncio.create_task(puller.pull(10))
            await asyncio.sleep(5.5)  # past the shared client's read timeout, within the emulator's hold
            meet.state.join(space, user=ALICE)
            received = await pulling
            if len(received) < 2:  # the held pull answers with what has arrived: the join may come a moment later
                received += await puller.pull(10)
            credentials.close()
    assert [e.type for _, e in received] == [CONFERENCE_STARTED, PARTICIPANT_JOINED]


async def test_a_pull_that_outlasts_its_own_hold_is_no_messages_and_no_error(
    emus: tuple[MeetEmulator, EventsEmulator], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    meet, events = emus
    events.broker.pull_wait = 2.0
    events.broker.configure_subscription(PULL_SUB, TOPIC)
    async with httpx.AsyncClient() as shared:
        credentials = ServiceAccountToken(key_file(tmp_path, meet))
        puller = Puller(shared, events.url, PULL_SUB, credentials, hold=0.3)
        assert await puller.pull(10) == [], "held past our own bound: nothing to deliver"
        credentials.close()
    assert "failed" not in caplog.text
