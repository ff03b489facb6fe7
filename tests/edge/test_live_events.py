"""Live meetings through Google's Workspace Events, in-process: the bot subscribes each space it posts (as the
person who posted it), the events emulator publishes what Meet does, Pub/Sub pushes (signed) or is pulled, and
the cards follow. Polling is on at 1 s but is only a safety net while events flow (every 300 s), so a card that
changes within seconds changed because of an event. A crash between receipt and update: the end-to-end tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulators.events import EventsEmulator
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.events_world import (
    PULL_SUB,
    PULLER,
    PUSH_SUB,
    TOPIC,
    events_env,
    post_card,
    subscriptions,
)
from tests.support.flows import all_text
from tests.support.waits import eventually
from tests.support.world import ALICE, BOB, CAROL, CHANNEL, World, card_text

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]


async def test_pushed_events_move_the_card_and_bring_the_recap(pushed: World, events_emulator: EventsEmulator
                                                               ) -> None:
    meet = pushed.meet
    space, ts = await post_card(pushed)
    (sub,) = eventually(lambda: subscriptions(events_emulator), "the space's subscription")
    assert sub["targetResource"] == f"//meet.googleapis.com/{space}"
    # the emulator logs a call once it has answered it: the subscription can be seen a moment before its call
    creates = eventually(lambda: [c for c in events_emulator.state.calls if c["route"] == "subscriptions.create"],
                         "the subscriptions.create call in the emulator's log")
    assert [c["user"] for c in creates] == [ALICE[1]], "subscribed with the token of the person who posted it"

    meet.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(pushed, ts), "the card live after the join event")
    meet.state.join(space, user=CAROL[1])
    eventually(lambda: "Live* · 2 in the call" in card_text(pushed, ts), "2 in the call")
    meet.state.end_conference(space)
    eventually(lambda: "Ended" in card_text(pushed, ts), "ended")
    recap = eventually(lambda: [c for c in pushed.slack.state.calls_to("chat.postMessage")
                                if c["args"].get("thread_ts") == ts], "the recap")
    meet.state.produce_artifact("recording", space)
    recap_ts = recap[0]["response"]["ts"]
    eventually(lambda: "Recording" in all_text(pushed.slack.state.message(CHANNEL, recap_ts) or {}),
               "the recording link, on its fileGenerated event")
    deliveries = events_emulator.broker.snapshot()["deliveries"]
    assert deliveries and all(d["status"] == 204 for d in deliveries if d["mode"] == "push")


async def test_duplicates_and_reordering_change_nothing(pushed: World, events_emulator: EventsEmulator) -> None:
    meet = pushed.meet
    space, ts = await post_card(pushed)
    eventually(lambda: subscriptions(events_emulator), "subscribed")
    events_emulator.broker.set_switches(duplicate=True, hold=True, reorder="reverse")
    meet.state.join(space, user=BOB[1])
    meet.state.join(space, user=CAROL[1])
    meet.state.leave(space, user=CAROL[1])
    events_emulator.broker.set_switches(hold=False)  # delivered twice each, newest first
    eventually(lambda: "Live* · 1 in the call" in card_text(pushed, ts), "the true count despite the order")
    await asyncio.sleep(2.5)
    assert "Live* · 1 in the call" in card_text(pushed, ts)
    reads = pushed.meet.state.calls_to("participants.list")
    assert len(reads) <= 3, f"{len(reads)} participant reads for 3 events delivered twice: coalesced"
    # Slack's call converged on Google's list too: Bob only, whatever order the events came in.
    message = pushed.slack.state.message(CHANNEL, ts) or {}
    (call_id,) = [b["call_id"] for b in message.get("blocks") or [] if b.get("type") == "call"]
    assert (pushed.slack.state.call_objects.get(call_id) or {}).get("users") == [{"slack_id": BOB[0]}]
    requests = [c for c in pushed.slack.state.calls if c["method"].startswith("calls.")]
    assert all(c["ok"] for c in requests) and len(requests) <= 1 + 2 * len(reads), "one add, one remove a read"


async def test_a_forged_push_is_refused_and_changes_nothing(pushed: World, events_emulator: EventsEmulator) -> None:
    _, ts = await post_card(pushed)
    eventually(lambda: subscriptions(events_emulator), "subscribed")
    eventually(lambda: pushed.meet.state.calls_to("conferenceRecords.list"), "the first read, after subscribing")
    await asyncio.sleep(0.5)
    before = len(pushed.meet.state.calls)
    async with httpx.AsyncClient() as client:
        for kind in ("bad_signature", "wrong_audience", "wrong_email", "wrong_issuer", "expired", "no_token"):
            response = await client.post(events_emulator.url + "/_emulator/forged_push",
                                         json={"subscription": PUSH_SUB, "kind": kind})
            assert response.status_code == 200, response.text
            assert response.json().get("status") == 401, (kind, response.json())
        unsigned = await client.post(pushed.bot.url + "/google/events", json={"message": {}})
        assert unsigned.status_code == 401
    await asyncio.sleep(1.0)
    assert len(pushed.meet.state.calls) == before, "nothing was read because of a forged push"
    assert "Waiting for people" in card_text(pushed, ts)


async def test_a_subscription_is_renewed_on_its_reminder(pushed: World, events_emulator: EventsEmulator) -> None:
    await post_card(pushed)
    (sub,) = eventually(lambda: subscriptions(events_emulator), "subscribed")
    events_emulator.state.remind(sub["name"])
    patched = eventually(lambda: [c for c in events_emulator.state.calls if c["route"] == "subscriptions.patch"],
                         "the renewal")
    assert patched[0]["user"] == ALICE[1]


async def test_a_suspended_subscription_falls_back_to_polling_and_the_owner_is_told(
        pushed: World, events_emulator: EventsEmulator) -> None:
    space, ts = await post_card(pushed)
    (sub,) = eventually(lambda: subscriptions(events_emulator), "subscribed")
    events_emulator.state.suspend(sub["name"], "USER_SCOPE_REVOKED")
    told = eventually(lambda: [c for c in pushed.slack.state.calls_to("chat.postMessage")
                               if c["args"].get("channel") == ALICE[0] and "live updates" in all_text(c["args"])],
                      "Alice told in a DM")
    assert "/meet connect" in all_text(told[0]["args"])
    pushed.meet.state.join(space, user=BOB[1])  # no event comes now: polling must see it
    eventually(lambda: "Live* · 1 in the call" in card_text(pushed, ts), "the card live by polling")


def key_file(tmp_path: Path, meet: MeetEmulator) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    meet.state.register_service_account(PULLER, public.decode(), domain="meetbot-test.iam.gserviceaccount.com")
    path = tmp_path / "pubsub-key.json"
    path.write_text(json.dumps({"type": "service_account", "project_id": "meetbot-test", "private_key_id": "k1",
                                "private_key": pem.decode(), "client_email": PULLER, "client_id": "42",
                                "token_uri": meet.token_url}))
    return path


async def test_pulled_events_move_the_card(start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator,
                                           meet_emulator: MeetEmulator, events_emulator: EventsEmulator,
                                           tmp_path: Path) -> None:
    events_emulator.broker.configure_subscription(PULL_SUB, TOPIC)
    bot = start_bot(**events_env(events_emulator), GOOGLE_PUBSUB_SUBSCRIPTION=PULL_SUB,
                    GOOGLE_APPLICATION_CREDENTIALS=str(key_file(tmp_path, meet_emulator)))
    world = World(bot, slack_emulator, meet_emulator)
    await world.link_everyone()
    space, ts = await post_card(world)
    eventually(lambda: subscriptions(events_emulator), "subscribed")
    meet_emulator.state.join(space, user=BOB[1])
    eventually(lambda: "Live* · 1 in the call" in card_text(world, ts), "the card live from a pulled event")
    meet_emulator.state.end_conference(space)
    eventually(lambda: "Ended" in card_text(world, ts), "ended from a pulled event")
    async with httpx.AsyncClient() as client:
        routes = await client.post(bot.url + "/google/events", json={})
    assert routes.status_code == 404, "pull delivery serves no push route"
