"""What the page shows, read from the emulators' own state (the payloads they validated and kept) and the desk, as
one JSON document; `Feed` recomputes it a few times a second and wakes the page's server-sent-event streams when
it changed."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from sandbox.desk import Desk
from sandbox.world import CHANNEL, PEOPLE

__all__ = ["Feed", "page_state"]

JSON = dict[str, Any]
TICK_SECONDS = 0.15


def _rejections(desk: Desk) -> list[JSON]:
    """Every Web API call and response_url post Slack refused: shown where the message would have been."""
    state = desk.world.slack.state
    found: list[JSON] = []
    for call in state.refused_calls():
        if call["method"] == "auth.test":
            continue
        response = call["response"] if isinstance(call["response"], dict) else {}
        found.append({"ts": f"{call['time']:.6f}", "text": f"Slack refused the bot's {call['method']}: "
                      f"{call['error'] or call['status']}",
                      "detail": (response.get("response_metadata") or {}).get("messages"),
                      "payload": call["args"], "recipient": None})
    for post in state.response_posts():
        if post.get("status") != 200:
            found.append({"ts": f"{post['time']:.6f}", "text": f"Slack refused the bot's post to a response_url: "
                          f"{post.get('response')}", "payload": post.get("body"), "recipient": None})
    return found


def _meet(desk: Desk) -> JSON:
    meet = desk.world.meet.state
    spaces = []
    for space in meet.spaces():
        live = next((r for r in space["conferenceRecords"] if r["name"] == space["activeConference"]), None)
        present = [p for p in (live or {}).get("participants", []) if not p.get("latestEndTime")]
        spaces.append({"name": space["name"], "code": space["meetingCode"], "owner": space["owner"],
                       "organiser": space.get("organiser"),
                       "live": live is not None, "participants": present,
                       "conferences": len(space["conferenceRecords"])})
    return {"spaces": spaces, "artifacts": hasattr(meet, "produce_artifact"), "fault": desk.google_fault}


def _statuses(desk: Desk) -> JSON:
    """Each person's Slack status as Slack has it now (what `/meet presence` sets and gives back)."""
    state = desk.world.slack.state
    return {p.slack_id: {"text": s.text, "emoji": s.emoji}
            for p in PEOPLE for s in [state.profiles.status(p.slack_id, state.now())]}


def page_state(desk: Desk) -> JSON:
    state = desk.world.slack.state
    channel = CHANNEL[0]
    users = {uid: u.get("real_name") or u["name"] for uid, u in state.users().items()}
    users[state.bot_user_id] = state.bot_name
    modals: JSON = {}
    for person in PEOPLE:
        shown = []
        for modal in desk.modals(person.slack_id):
            view = desk.shown_view(modal)
            if view is not None:
                shown.append({"view": view, "errors": modal.errors})
        modals[person.slack_id] = shown
    return {
        "channel": {"id": channel, "name": CHANNEL[1]},
        "people": [p.as_json() for p in PEOPLE],
        "users": users,
        "bot": {"id": state.bot_user_id, "name": state.bot_name},
        "messages": state.messages(channel),
        "ephemeral": state.ephemeral_messages(channel),
        "local": desk.local_items(),
        "rejections": _rejections(desk),
        "dms": {p.slack_id: state.messages(f"D{p.slack_id[1:]}") for p in PEOPLE},
        "home": {p.slack_id: state.home_view(p.slack_id) for p in PEOPLE},
        "modals": modals,
        "meet": _meet(desk),
        "calls": {call["id"]: call for call in state.call_objects.all()},  # what a `call` block shows
        "statuses": _statuses(desk),
    }


class Feed:
    """The page state as text, with a version that changes when the text does."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.text = json.dumps(page_state(desk))
        self.version = 0
        self.closed = False  # the sandbox is stopping: open event streams end, so Ctrl-C isn't held up by a page
        self._changed = asyncio.Condition()

    async def close(self) -> None:
        async with self._changed:
            self.closed = True
            self._changed.notify_all()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            await self.refresh()

    async def refresh(self) -> None:
        text = json.dumps(page_state(self.desk))
        if text != self.text:
            async with self._changed:
                self.text, self.version = text, self.version + 1
                self._changed.notify_all()

    async def wait_past(self, version: int, timeout: float) -> None:  # noqa: ASYNC109 - a keep-alive period
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.version > version or self.closed),
                                       timeout)
