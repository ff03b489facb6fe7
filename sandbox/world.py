"""The sandbox's pretend world: one workspace with #general, three people with Google accounts, the emulators that
stand in for Slack and Google, and the bot's configuration against them."""

from __future__ import annotations

import importlib
import importlib.util
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from emulators.bot_env import emulator_env
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator

__all__ = ["CHANNEL", "PEOPLE", "Person", "World", "encryption_key"]

CHANNEL = ("C0GENERAL", "general")


@dataclass(frozen=True, slots=True)
class Person:
    slack_id: str
    name: str
    email: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.slack_id, "name": self.name, "email": self.email}


PEOPLE = (Person("U0ALICE", "Alice", "alice@example.com"), Person("U0BOB", "Bob", "bob@example.com"),
          Person("U0CAROL", "Carol", "carol@example.com"))


def encryption_key(data_dir: Path) -> str:
    """The bot's TOKEN_ENCRYPTION_KEYS, made once and kept (owner-only) under the sandbox's data folder."""
    path = data_dir / "token-encryption-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(Fernet.generate_key().decode())
    return path.read_text().strip()


class World:
    """The emulators, set up with the workspace and the people, on background threads of this process."""

    def __init__(self) -> None:
        self.signing_secret = secrets.token_hex(16)
        self.google_client = ("meetbot-sandbox", secrets.token_urlsafe(18))
        self.slack = SlackEmulator(bot_token="xoxb-sandbox")
        # consent_page: the Connect flow shows Google's consent screen with Allow and Deny instead of auto-consent.
        self.meet = MeetEmulator(consent_page=True)
        self.events: Any = _events_emulator(self.meet)
        channel_id, channel_name = CHANNEL
        # Everyone is in #general, as in a real workspace (`/meet room members on` adds them).
        self.slack.state.add_channel(channel_id, channel_name, is_member=True, members=[p.slack_id for p in PEOPLE])
        for person in PEOPLE:
            self.slack.state.add_user(person.slack_id, person.name.lower(), email=person.email,
                                      real_name=person.name, tz="UTC")
            self.meet.state.user(person.email)  # each has a Google account
        self.meet.state.register_client(*self.google_client)

    def start(self) -> World:
        self.slack.start()
        self.meet.start()
        if self.events is not None:
            self.events.start()
        return self

    def stop(self) -> None:
        for emulator in (self.events, self.meet, self.slack):
            if emulator is not None:
                emulator.stop()

    def person(self, slack_id: str) -> Person:
        found = next((p for p in PEOPLE if p.slack_id == slack_id), None)
        if found is None:
            raise ValueError(f"nobody called {slack_id} in the sandbox")
        return found

    def bot_env(self, *, redis_url: str, key: str, public_url: str) -> dict[str, str]:
        env = emulator_env(slack_api_url=self.slack.api_url, meet_url=self.meet.url, redis_url=redis_url,
                           encryption_key=key, bot_token=self.slack.bot_token, signing_secret=self.signing_secret)
        env.update({"GOOGLE_CLIENT_ID": self.google_client[0], "GOOGLE_CLIENT_SECRET": self.google_client[1],
                    # the Slack app's OAuth client: "Sign in with Slack" for `/meet presence`
                    "SLACK_CLIENT_ID": self.slack.state.client_id,
                    "SLACK_CLIENT_SECRET": self.slack.state.client_secret,
                    "PUBLIC_URL": public_url, "HOST": "127.0.0.1",
                    # live cards follow meetings quickly here (ignored by a bot that does not follow meetings yet)
                    "MEET_POLL_SECONDS": "2"})
        if self.events is not None:
            # Live cards through Workspace Events, pushed (and signed) to the bot as Pub/Sub would; polling stays
            # as the safety net it is in production.
            self.events.broker.configure_subscription(PUSH_SUBSCRIPTION, TOPIC, public_url + "/google/events",
                                                      service_account=PUSH_ACCOUNT)
            env.update({"GOOGLE_PUBSUB_TOPIC": TOPIC, "GOOGLE_EVENTS_URL": self.events.url,
                        "PUBSUB_API_URL": self.events.url, "GOOGLE_CERTS_URL": self.events.certs_url,
                        "GOOGLE_PUBSUB_PUSH_ACCOUNT": PUSH_ACCOUNT})
        return env


TOPIC = "projects/sandbox/topics/meet"
PUSH_SUBSCRIPTION = "projects/sandbox/subscriptions/meetbot-push"
PUSH_ACCOUNT = "pubsub-push@sandbox.iam.gserviceaccount.com"


def _events_emulator(meet: MeetEmulator) -> Any:
    """The Workspace Events emulator, linked to the Meet one, when this checkout has one (emulators/events.py)."""
    if importlib.util.find_spec("emulators.events") is None:
        return None
    module = importlib.import_module("emulators.events")
    emulator = getattr(module, "EventsEmulator", None)
    # ce_source: Meet events name the subscription they came for (one of the two readings of reference §9), so a
    # `/meet mine` person's new meeting reaches them at once; under the other, at their 5-minute safety-net read.
    return emulator(meet.state, ce_source="subscription") if emulator is not None else None
