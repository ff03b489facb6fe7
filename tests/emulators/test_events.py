"""The Workspace Events + Pub/Sub emulator, driven over HTTP with httpx (not the bot's code): subscriptions and
their operations, lifecycle, CloudEvents messages, push with OIDC tokens and retries, pull with ack deadlines,
the at-least-once switches and the control API."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from google.oauth2 import id_token

from bot.google.transport import HttpxRequest
from bot.googleapi.tls import shared_tls
from emulators._server import BackgroundServer
from emulators.events import EventsEmulator
from emulators.meet import MeetEmulator
from tests.support.waits import eventually

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
TOPIC = "projects/p/topics/meet"
MEET = "google.workspace.meet."
STARTED, ENDED = MEET + "conference.v2.started", MEET + "conference.v2.ended"
JOINED, LEFT = MEET + "participant.v2.joined", MEET + "participant.v2.left"
RECORDING = MEET + "recording.v2.fileGenerated"
PUBSUB = "https://www.googleapis.com/auth/pubsub"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emus() -> Iterator[tuple[MeetEmulator, EventsEmulator]]:
    with MeetEmulator() as meet, EventsEmulator(meet.state, push_backoff=0.01, pull_wait=0.0) as events:
        yield meet, events


class Api:
    def __init__(
        self, meet: MeetEmulator, events: EventsEmulator, user: str = ALICE, scopes: str = "meetings.space.created"
    ) -> None:
        self.events = events
        self.headers = {"Authorization": "Bearer " + meet.state.mint_token(user, scopes.split())}

    def __call__(self, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
        return httpx.request(method, self.events.url + path, json=body, params=params, headers=self.headers,
                             verify=shared_tls())

    def create(self, space: str, types: tuple[str, ...] = (STARTED, JOINED), **extra: Any) -> httpx.Response:
        body = {
            "targetResource": f"//meet.googleapis.com/{space}",
            "eventTypes": list(types),
            "notificationEndpoint": {"pubsubTopic": TOPIC},
            "payloadOptions": {"includeResource": False},
            **extra,
        }
        return self("POST", "/v1/subscriptions", body)


def control(events: EventsEmulator, route: str, body: Any = None, method: str = "POST") -> httpx.Response:
    return httpx.request(method, f"{events.url}/_emulator/{route}", json=body, verify=shared_tls())


def messages(events: EventsEmulator) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = control(events, "messages", method="GET").json()["messages"]
    for message in found:
        message["json"] = json.loads(base64.b64decode(message["data"]))
    return found


# -- subscriptions ------------------------------------------------------------------------------------------------


def test_create_is_an_operation_and_refuses_bad_input(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    api = Api(meet, events)
    space = meet.state.create_space(ALICE)["name"]
    control(events, "options", {"operation_polls": 1})
    operation = api.create(space, ttl="3600s").json()
    assert "done" not in operation and operation["name"].startswith("operations/")
    assert operation["metadata"]["@type"].endswith("CreateSubscriptionMetadata")
    assert "done" not in api("GET", "/v1/" + operation["name"]).json()
    done = api("GET", "/v1/" + operation["name"]).json()
    sub = done["response"]
    assert done["done"] is True and sub["@type"].endswith(".v1.Subscription") and sub["state"] == "ACTIVE"
    assert sub["authority"] == meet.state.user(ALICE)["id"] and sub["notificationEndpoint"] == {"pubsubTopic": TOPIC}
    assert api("GET", "/v1/" + sub["name"], **{"$alt": "json;enum-encoding=int"}).json()["state"] == 1
    control(events, "options", {"operation_polls": 0})

    conflict = api.create(space)
    assert conflict.status_code == 409 and conflict.json()["error"]["status"] == "ALREADY_EXISTS"
    other = meet.state.create_space(ALICE)["name"]
    bad: list[tuple[dict[str, Any], int]] = [
        ({"eventTypes": ["google.workspace.meet.nope.v2.x"]}, 400),
        ({"eventTypes": []}, 400),
        ({"notificationEndpoint": {"pubsubTopic": "topics/t"}}, 400),
        ({"payloadOptions": {"includeResource": True}}, 400),
        ({"ttl": f"{8 * 86400}s"}, 400),
        ({"ttl": "soon"}, 400),
        ({"targetResource": "//cloudidentity.googleapis.com/users/1"}, 403),  # someone else's meetings
        ({"targetResource": "//cloudidentity.googleapis.com/groups/1"}, 400),
        ({"targetResource": "//meet.googleapis.com/spaces/unknown"}, 404),
    ]
    for extra, status in bad:
        answer = api.create(other, **extra)
        assert answer.status_code == status, (extra, answer.text)
        assert answer.json()["error"]["code"] == status
    assert Api(meet, events, BOB).create(other).status_code == 403
    assert Api(meet, events, ALICE, "meetings.space.settings").create(other).status_code == 403
    assert httpx.post(events.url + "/v1/subscriptions", json={}).status_code == 401

    longest = api.create(other, ttl="0s").json()["response"]
    control(events, "options", {"ttl_over_max": "clamp"})
    assert api("DELETE", "/v1/" + longest["name"]).status_code == 200
    clamped = api.create(other, ttl=f"{30 * 86400}s").json()["response"]
    assert clamped["expireTime"][:13] == longest["expireTime"][:13]  # both 7 days out
    assert api.create(meet.state.create_space(ALICE)["name"], validateOnly="true").status_code == 200


def test_participants_may_subscribe_under_the_switch(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    space = meet.state.create_space(ALICE)["name"]
    meet.state.join(space, user=BOB)
    assert Api(meet, events, BOB).create(space).status_code == 403
    events.state.configure(space_access="participant")
    assert Api(meet, events, BOB).create(space).status_code == 200


def test_list_patch_delete_reactivate(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    api = Api(meet, events)
    spaces = [meet.state.create_space(ALICE)["name"] for _ in range(3)]
    subs = [api.create(s).json()["response"] for s in spaces]
    Api(meet, events, BOB).create(meet.state.create_space(BOB)["name"])
    assert api("GET", "/v1/subscriptions").status_code == 400  # filter required
    assert api("GET", "/v1/subscriptions", filter=f'target_resource="{subs[0]["targetResource"]}"').status_code == 400
    assert api("GET", "/v1/subscriptions", filter="garbage").status_code == 400
    page = api("GET", "/v1/subscriptions", filter=f'event_types:"{STARTED}"', pageSize="2").json()
    assert [s["name"] for s in page["subscriptions"]] == [s["name"] for s in subs[:2]]  # Alice's only
    rest = api("GET", "/v1/subscriptions", filter=f'event_types:"{STARTED}"', pageToken=page["nextPageToken"]).json()
    assert [s["name"] for s in rest["subscriptions"]] == [subs[2]["name"]] and "nextPageToken" not in rest
    either = f'(event_types:"{RECORDING}" OR event_types:"{JOINED}") AND target_resource="{subs[1]["targetResource"]}"'
    assert [s["name"] for s in api("GET", "/v1/subscriptions", filter=either).json()["subscriptions"]] == [
        subs[1]["name"]
    ]
    assert api("GET", "/v1/subscriptions", filter=f'event_types:"{RECORDING}"').json() == {}

    name = subs[0]["name"]
    patched = api("PATCH", "/v1/" + name, {"eventTypes": [STARTED, ENDED]}, updateMask="eventTypes").json()
    assert patched["response"]["eventTypes"] == [STARTED, ENDED] and patched["metadata"]["@type"].endswith(
        "UpdateSubscriptionMetadata"
    )
    renewed = api("PATCH", "/v1/" + name, {"ttl": "60s"}, updateMask="ttl").json()["response"]
    assert renewed["expireTime"] < subs[0]["expireTime"] and renewed["etag"] != subs[0]["etag"]
    assert api("PATCH", "/v1/" + name, {"uid": "x"}, updateMask="uid").status_code == 400
    assert (
        api(
            "PATCH", "/v1/" + name, {"ttl": "1s", "expireTime": "2030-01-01T00:00:00Z"}, updateMask="ttl,expire_time"
        ).status_code
        == 400
    )
    assert Api(meet, events, BOB)("GET", "/v1/" + name).status_code == 403

    assert api("POST", f"/v1/{name}:reactivate", {}).json()["error"]["status"] == "FAILED_PRECONDITION"
    control(events, "suspend", {"subscription": name, "reason": "ENDPOINT_NOT_FOUND"})
    suspended = api("GET", "/v1/" + name).json()
    assert suspended["state"] == "SUSPENDED" and suspended["suspensionReason"] == "ENDPOINT_NOT_FOUND"
    assert api("POST", f"/v1/{name}:reactivate", {}).json()["response"]["state"] == "ACTIVE"

    stale = api("DELETE", "/v1/" + name, etag='"nope"')
    assert stale.status_code == 409
    deleted = api("DELETE", "/v1/" + name).json()
    assert deleted["done"] and deleted["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    assert api("GET", "/v1/" + name).status_code == 404
    assert api("DELETE", "/v1/" + name).status_code == 404
    assert api("DELETE", "/v1/" + name, allowMissing="true").status_code == 200
    assert api("GET", "/v1/operations/none").status_code == 404
    assert api("GET", "/v1/nowhere").json()["error"]["status"] == "NOT_FOUND"


# -- lifecycle and publishing -----------------------------------------------------------------------------------


def test_lifecycle_events(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    user_token = meet.state.mint_token(ALICE, ["meetings.space.created"], expires_in=10 * 86400)
    headers = {"Authorization": f"Bearer {user_token}"}
    spaces = [meet.state.create_space(ALICE)["name"] for _ in range(3)]
    subs = []
    for space in spaces:
        body = {
            "targetResource": f"//meet.googleapis.com/{space}",
            "eventTypes": [STARTED],
            "notificationEndpoint": {"pubsubTopic": TOPIC},
            "ttl": "86400s",
        }
        subs.append(httpx.post(events.url + "/v1/subscriptions", json=body, headers=headers).json()["response"])
    meet.state.advance_time(timedelta(hours=13).total_seconds())  # 11 h left: the 12-hour reminder
    control(events, "sweep")
    reminders = [m for m in messages(events) if m["attributes"]["ce-type"].endswith("expirationReminder")]
    assert len(reminders) == 3
    assert reminders[0]["attributes"]["ce-source"] == "//workspaceevents.googleapis.com/" + subs[0]["name"]
    assert reminders[0]["json"]["subscription"]["name"] == subs[0]["name"]
    control(events, "remind", {"subscription": subs[0]["name"]})
    control(events, "expire", {"subscription": subs[0]["name"]})
    assert httpx.get(events.url + "/v1/" + subs[0]["name"], headers=headers).status_code == 404
    meet.state.revoke(user_token)  # the grant the subscriptions were made with
    listed = control(events, "subscriptions", method="GET").json()["subscriptions"]
    assert {(s["state"], s["suspensionReason"]) for s in listed} == {("SUSPENDED", "USER_SCOPE_REVOKED")}
    types = [m["attributes"]["ce-type"].rpartition(".")[2] for m in messages(events)]
    assert types == ["expirationReminder"] * 4 + ["expired", "suspended", "suspended"]
    meet.state.join(spaces[1], user=ALICE)  # suspended: nothing published
    assert len(messages(events)) == 7
    meet.state.advance_time(timedelta(days=1).total_seconds())
    control(events, "sweep")
    assert control(events, "subscriptions", method="GET").json()["subscriptions"] == []


@pytest.mark.parametrize("setting", ["owned", "organised", "joined"])
def test_a_user_target_gets_the_events_of_the_spaces_the_user_owns_and_under_the_switch_organises_or_joins(
        emus: tuple[MeetEmulator, EventsEmulator], setting: str) -> None:
    meet, events = emus
    events.state.configure(user_target_events=setting)
    meet.state.configure(calendar_owner="creator")  # Carol, her delegate, made one event: Carol owns its space
    alice = Api(meet, events, ALICE, "meetings.space.readonly")
    user = meet.state.user(ALICE)["id"].removeprefix("users/")
    made = alice.create("", (STARTED,),
                        targetResource=f"//cloudidentity.googleapis.com/users/{user}")
    assert made.status_code == 200, made.text
    sub = made.json()["response"]
    assert sub["targetResource"] == f"//cloudidentity.googleapis.com/users/{user}"
    assert alice.create("", (STARTED,), targetResource=f"//cloudidentity.googleapis.com/users/{user}"
                        ).status_code == 409
    owned = meet.state.create_space(ALICE, client_id="calendar")["name"]  # started outside meetbot
    bobs = meet.state.create_space(BOB)["name"]
    strangers = meet.state.create_space(BOB)["name"]
    meet.state.join(owned, user=BOB)
    meet.state.join(bobs, user=ALICE)
    meet.state.join(strangers, user=BOB)
    organised = meet.state.calendar_meeting(ALICE, created_by=CAROL)["name"]
    meet.state.join(organised, user=CAROL)
    subjects = [m["attributes"]["ce-subject"].removeprefix("//meet.googleapis.com/") for m in messages(events)]
    expected = {"owned": [owned], "organised": [owned, organised], "joined": [owned, bobs, organised]}
    assert subjects == expected[setting]
    assert alice("DELETE", "/v1/" + sub["name"]).status_code == 200


def test_meet_activity_becomes_cloudevents(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    space = meet.state.create_space(ALICE)["name"]
    space_id = space.removeprefix("spaces/")
    sub = Api(meet, events).create(space, (STARTED, JOINED, LEFT, ENDED, RECORDING)).json()["response"]
    quiet = meet.state.create_space(ALICE)["name"]
    Api(meet, events).create(quiet, (ENDED,))
    meet.state.join(quiet, user=ALICE)  # not subscribed to started/joined: nothing
    alice = meet.state.join(space, user=ALICE)
    record = alice.split("/participants/")[0]
    meet.state.produce_artifact("recording", space=space)
    meet.state.start_artifact("transcript", space=space)  # not subscribed
    meet.state.end_conference(space)
    found = messages(events)
    assert [m["attributes"]["ce-type"] for m in found] == [STARTED, JOINED, RECORDING, LEFT, ENDED]
    first = found[0]["attributes"]
    assert first["ce-specversion"] == "1.0" and first["ce-datacontenttype"] == "application/json"
    assert first["ce-source"] == first["ce-subject"] == f"//meet.googleapis.com/spaces/{space_id}"
    assert first["ce-time"].endswith("Z") and len({m["attributes"]["ce-id"] for m in found}) == 5
    assert len({m["messageId"] for m in found}) == 5 and all(m["publishTime"] for m in found)
    assert found[0]["json"] == {"conferenceRecord": {"name": record}}
    assert found[1]["json"]["participantSession"]["name"].startswith(alice + "/participantSessions/")
    assert found[2]["json"]["recording"]["name"].startswith(record + "/recordings/")
    events.state.configure(ce_source="subscription")
    meet.state.join(space, user=ALICE)
    latest = messages(events)[-1]["attributes"]
    assert latest["ce-source"] == "//workspaceevents.googleapis.com/" + sub["name"]
    assert latest["ce-subject"] == f"//meet.googleapis.com/spaces/{space_id}"


# -- push ---------------------------------------------------------------------------------------------------------


class Receiver:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[str | None, dict[str, Any]]] = []
        app = web.Application()
        app.router.add_post("/push", self.receive)
        self.server = BackgroundServer(app)

    async def receive(self, request: web.Request) -> web.Response:
        self.requests.append((request.headers.get("Authorization"), await request.json()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 204)


def test_push_signs_retries_and_gives_up(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    receiver = Receiver([500, 503])
    with receiver.server:
        endpoint = receiver.server.url + "/push"
        config = {
            "name": "projects/p/subscriptions/push",
            "topic": TOPIC,
            "push_endpoint": endpoint,
            "service_account": "pusher@p.iam.gserviceaccount.com",
        }
        assert control(events, "pubsub/subscriptions", config).status_code == 200
        space = meet.state.create_space(ALICE)["name"]
        Api(meet, events).create(space, (STARTED,))
        meet.state.join(space, user=ALICE)
        eventually(lambda: len(receiver.requests) == 3, "three pushes: two refused, one taken", 5)
        auth, envelope = receiver.requests[-1]
        assert envelope["subscription"] == "projects/p/subscriptions/push"
        assert envelope["message"]["messageId"] == envelope["message"]["message_id"]
        assert envelope["message"]["attributes"]["ce-type"] == STARTED
        assert auth is not None
        claims = id_token.verify_token(auth[7:], HttpxRequest(), audience=endpoint, certs_url=events.certs_url)
        assert claims["email"] == "pusher@p.iam.gserviceaccount.com" and claims["email_verified"] is True
        assert claims["iss"] == "https://accounts.google.com"
        deliveries = control(events, "deliveries", method="GET").json()["deliveries"]
        assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 500), (2, 503), (3, 204)]

        receiver.statuses.extend([500] * 10)
        meet.state.leave(space, user=ALICE)
        meet.state.end_conference(space)
        meet.state.join(space, user=ALICE)  # a second conference: started again
        eventually(lambda: len(receiver.requests) == 8, "five more pushes, all refused", 5)
        time.sleep(0.2)
        deliveries = control(events, "deliveries", method="GET").json()["deliveries"]
        assert len(receiver.requests) == 8 and deliveries[-1]["dropped"] is True  # 5 attempts, then dropped
    certs = httpx.get(events.certs_url).json()
    assert all(pem.startswith("-----BEGIN CERTIFICATE-----") for pem in certs.values())


def test_forged_push_and_a_custom_audience(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    _, events = emus
    receiver = Receiver([])
    with receiver.server:
        config = {
            "name": "projects/p/subscriptions/push",
            "topic": TOPIC,
            "push_endpoint": receiver.server.url + "/push",
            "audience": "https://meetbot.example.com/google/events",
        }
        control(events, "pubsub/subscriptions", config)
        for kind in ("bad_signature", "wrong_audience", "wrong_email", "no_token"):
            assert (
                control(events, "forged_push", {"subscription": config["name"], "kind": kind}).json()["status"] == 204
            )
        assert control(events, "forged_push", {"subscription": config["name"], "kind": "nope"}).status_code == 400
        auths = [auth for auth, _ in receiver.requests]
        assert auths[-1] is None
        request = HttpxRequest()
        with pytest.raises(ValueError):  # signed by another key
            id_token.verify_token(auths[0][7:], request, audience=config["audience"], certs_url=events.certs_url)
        with pytest.raises(ValueError):
            id_token.verify_token(auths[1][7:], request, audience=config["audience"], certs_url=events.certs_url)
        forged_email = id_token.verify_token(
            auths[2][7:], request, audience=config["audience"], certs_url=events.certs_url
        )
        assert forged_email["email"] != "pubsub-push@meetbot-emulator.iam.gserviceaccount.com"


# -- pull ---------------------------------------------------------------------------------------------------------


def test_pull_acknowledge_and_deadlines(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    control(
        events, "pubsub/subscriptions", {"name": "projects/p/subscriptions/pull", "topic": TOPIC, "ack_deadline": 0.3}
    )
    url = events.url + "/v1/projects/p/subscriptions/pull"
    sa = {"Authorization": "Bearer " + meet.state.mint_token("sa@p.iam.gserviceaccount.com", [PUBSUB])}
    space = meet.state.create_space(ALICE)["name"]
    Api(meet, events).create(space, (STARTED, JOINED))
    assert httpx.post(url + ":pull", json={"maxMessages": 5}, headers=sa).json() == {}
    meet.state.join(space, user=ALICE)
    meet.state.join(space, user=BOB)
    got = httpx.post(url + ":pull", json={"maxMessages": 2}, headers=sa).json()["receivedMessages"]
    assert [m["message"]["attributes"]["ce-type"] for m in got] == [STARTED, JOINED] and got[0]["deliveryAttempt"] == 1
    rest = httpx.post(url + ":pull", json={"maxMessages": 5}, headers=sa).json()["receivedMessages"]
    assert len(rest) == 1
    assert (
        httpx.post(url + ":acknowledge", json={"ackIds": [got[0]["ackId"], rest[0]["ackId"]]}, headers=sa).json() == {}
    )
    httpx.post(url + ":modifyAckDeadline", json={"ackIds": [got[1]["ackId"]], "ackDeadlineSeconds": 0}, headers=sa)
    again = httpx.post(url + ":pull", json={"maxMessages": 5}, headers=sa).json()["receivedMessages"]
    assert [m["message"]["messageId"] for m in again] == [got[1]["message"]["messageId"]]
    assert again[0]["deliveryAttempt"] == 2 and again[0]["ackId"] != got[1]["ackId"]
    time.sleep(0.35)
    late = httpx.post(url + ":pull", json={"maxMessages": 5}, headers=sa).json()["receivedMessages"]
    assert late[0]["deliveryAttempt"] == 3
    httpx.post(url + ":acknowledge", json={"ackIds": [again[0]["ackId"]]}, headers=sa)  # stale: ignored
    assert httpx.post(url + ":acknowledge", json={"ackIds": [late[0]["ackId"]]}, headers=sa).status_code == 200
    time.sleep(0.35)
    assert httpx.post(url + ":pull", json={"maxMessages": 5}, headers=sa).json() == {}

    user = {"Authorization": "Bearer " + meet.state.mint_token(ALICE, ["meetings.space.created"])}
    assert httpx.post(url + ":pull", json={"maxMessages": 1}, headers=user).status_code == 403
    assert httpx.post(url + ":pull", json={"maxMessages": 1}).status_code == 401
    events.state.configure(require_pubsub_scope=False)
    assert httpx.post(url + ":pull", json={"maxMessages": 1}, headers=user).status_code == 200
    assert httpx.post(url + ":pull", json={"maxMessages": 0}, headers=sa).status_code == 400
    assert (
        httpx.post(
            events.url + "/v1/projects/p/subscriptions/none:pull", json={"maxMessages": 1}, headers=sa
        ).status_code
        == 404
    )


def test_duplicates_hold_and_reorder(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    control(events, "pubsub/subscriptions", {"name": "projects/p/subscriptions/pull", "topic": TOPIC})
    url = events.url + "/v1/projects/p/subscriptions/pull:pull"
    sa = {"Authorization": "Bearer " + meet.state.mint_token("sa@p.iam.gserviceaccount.com", ["cloud-platform"])}
    space = meet.state.create_space(ALICE)["name"]
    Api(meet, events).create(space, (STARTED, JOINED, LEFT))
    assert control(events, "delivery", {"duplicate": True}).json()["duplicate"] is True
    meet.state.join(space, user=ALICE)
    got = httpx.post(url, json={"maxMessages": 10}, headers=sa).json()["receivedMessages"]
    ids = [m["message"]["messageId"] for m in got]
    assert len(ids) == 4 and len(set(ids)) == 2 and len({m["ackId"] for m in got}) == 4
    control(events, "delivery", {"duplicate": False, "hold": True, "reorder": "reverse"})
    meet.state.leave(space, user=ALICE)
    meet.state.join(space, user=ALICE)
    assert httpx.post(url, json={"maxMessages": 10}, headers=sa).json() == {}  # held back
    control(events, "delivery", {"hold": False})
    released = httpx.post(url, json={"maxMessages": 10}, headers=sa).json()["receivedMessages"]
    assert [m["message"]["attributes"]["ce-type"] for m in released] == [JOINED, LEFT]  # published LEFT, JOINED
    assert control(events, "delivery", {"reorder": "sideways"}).status_code == 400


# -- controls and standalone ------------------------------------------------------------------------------------


def test_controls_options_calls_reset(emus: tuple[MeetEmulator, EventsEmulator]) -> None:
    meet, events = emus
    assert control(events, "options", {"ce_source": "elsewhere"}).status_code == 400
    assert control(events, "options", {"unknown": 1}).status_code == 400
    assert control(events, "options", method="GET").json()["operation_polls"] == 0
    Api(meet, events).create(meet.state.create_space(ALICE)["name"])
    calls = control(events, "calls", method="GET").json()["calls"]
    assert calls[-1]["route"] == "subscriptions.create" and calls[-1]["user"] == ALICE and calls[-1]["status"] == 200
    assert control(events, "expire", {"subscription": "subscriptions/none"}).status_code == 404
    control(events, "options", {"operation_polls": 3})
    control(events, "reset")
    assert control(events, "subscriptions", method="GET").json() == {"subscriptions": []}
    assert control(events, "options", method="GET").json()["operation_polls"] == 0
    assert control(events, "calls", method="GET").json() == {"calls": []}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_standalone() -> None:
    port, meet_port = _free_port(), _free_port()
    command = [sys.executable, "-m", "emulators.events", "--port", str(port), "--meet-port", str(meet_port)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/oauth2/v1/certs").status_code == 200
            except httpx.TransportError:
                return False

        eventually(up, "the standalone emulator to serve its certs", 15)
        token = httpx.post(
            f"http://127.0.0.1:{meet_port}/_emulator/tokens", json={"user": ALICE, "scopes": ["meetings.space.created"]}
        ).json()
        space = httpx.post(f"http://127.0.0.1:{meet_port}/_emulator/spaces", json={"owner": ALICE}).json()["name"]
        body = {
            "targetResource": f"//meet.googleapis.com/{space}",
            "eventTypes": [STARTED],
            "notificationEndpoint": {"pubsubTopic": TOPIC},
        }
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert httpx.post(f"http://127.0.0.1:{port}/v1/subscriptions", json=body, headers=headers).json()["done"]
    finally:
        process.terminate()
        process.wait(10)
