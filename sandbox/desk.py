"""What Slack's servers do for a person at their desk: turn what they type and click into the signed requests Slack
sends the app (slash commands, `link_shared` and `app_home_opened` events, block_actions, view_submission and
view_closed payloads), and show what Slack shows of the app's answers that never reach the Web API (an ack's body,
a modal's `response_action`).

Everything the bot sends through the Web API or a response_url lands in the Slack emulator's state; the page
reads it from there (sandbox/feed.py). What only Slack's client would know is kept here: which person each
trigger_id was given to (so a `views.open` lands on the right screen), the modals each person has open, and the
messages and errors that came back in an HTTP answer.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from emulators.slack import validate_blocks, validate_view
from emulators.slack.inbound import interactive, sign, slash_command
from sandbox.world import CHANNEL, PEOPLE, World

USER_INSTALL_PATH = "/slack/user-install"  # the bot's "Sign in with Slack" link (README)

__all__ = ["Desk", "Modal", "as_slack_sends"]

JSON = dict[str, Any]
MEET_LINK = re.compile(r"https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}\S*")
MENTION = re.compile(r"(?<![\w@<])@([A-Za-z][\w.-]*)")
GOOGLE_FAULTS = {"503": (503, None), "429": (429, 30.0)}  # the Meet panel's "Google is down / rate limiting"
ACK_SECONDS = 3.0  # Slack gives up on an app that has not answered by then


def as_slack_sends(text: str) -> str:
    """What Slack sends for typed text with `should_escape`: `&<>` escaped, `@name` as `<@U…|name>`."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    people = {p.name.lower(): p for p in PEOPLE}

    def mention(found: re.Match[str]) -> str:
        person = people.get(found.group(1).lower())
        return f"<@{person.slack_id}|{person.name.lower()}>" if person else found.group(0)

    return MENTION.sub(mention, escaped)


@dataclass
class Modal:
    """One modal on a person's screen: the emulator's view, or one the bot answered with `response_action`."""

    view_id: str
    local: JSON | None = None  # a view from response_action update/push (Slack holds it; no API call made it)
    local_hash: str | None = None  # the emulator's hash when `local` was set: a later views.update wins
    errors: dict[str, str] = field(default_factory=dict)


class Desk:
    """The Slack side of the sandbox for every person. Thread-safe: the page's requests and the feed share it."""

    def __init__(self, world: World, bot_url: str) -> None:
        self.world = world
        self.bot_url = bot_url
        self._lock = threading.RLock()
        self._http = httpx.AsyncClient(base_url=bot_url, timeout=10)
        self._triggers: dict[str, str] = {}  # trigger_id → Slack user it was issued to
        self._seen_calls = 0
        self._local: list[JSON] = []  # ack bodies shown as messages, and errors Slack would report
        self._modals: dict[str, list[Modal]] = {}
        self._seq = 0
        self.google_fault = ""  # "", "503" or "429": what every Meet call answers now

    def set_google_fault(self, mode: str) -> None:
        """The Meet panel's switch: Google up, down (503) or rate limiting (429, Retry-After 30 s)."""
        if mode and mode not in GOOGLE_FAULTS:
            raise ValueError(f"Google can be up, 503 or 429, not {mode!r}")
        meet = self.world.meet.state
        meet.clear_faults()
        if mode:
            status, retry_after = GOOGLE_FAULTS[mode]
            meet.inject_fault("*", status, retry_after=retry_after, count=10**9)
        self.google_fault = mode


    async def close(self) -> None:
        await self._http.aclose()

    # -- what the page shows besides the emulator's state -----------------------------------------------------

    def local_items(self) -> list[JSON]:
        with self._lock:
            return [dict(item) for item in self._local]

    def modals(self, user: str) -> list[Modal]:
        self.absorb_calls()
        with self._lock:
            return list(self._modals.get(user, []))

    def absorb_calls(self) -> None:
        """Modals the bot opened (views.open with a trigger_id given to someone) go onto that person's screen."""
        with self._lock:
            calls = self.world.slack.state.calls_from(self._seen_calls)
            for call in calls:
                if call["method"] != "views.open":
                    continue
                user = self._triggers.get(str(call["args"].get("trigger_id")))
                if user is None:
                    continue
                if call["ok"]:
                    self._modals.setdefault(user, []).append(Modal(call["response"]["view"]["id"]))
            self._seen_calls += len(calls)

    def _note(self, item: JSON) -> None:
        with self._lock:
            self._seq += 1
            self._local.append({"id": f"local-{self._seq}", "ts": self._now_ts(), **item})

    def _now_ts(self) -> str:
        return f"{self.world.slack.state.now():.6f}"

    def _error(self, user: str | None, title: str, detail: Any = None) -> None:
        self._note({"kind": "error", "recipient": user, "text": title, "detail": detail})

    # -- requests to the bot ----------------------------------------------------------------------------------

    def _trigger(self, user: str) -> str:
        trigger = self.world.slack.state.issue_trigger_id()
        with self._lock:
            self._triggers[trigger] = user
        return trigger

    def _response_url(self, user: str, message_ts: str | None = None) -> str:
        with self._lock:
            self._seq += 1
            name = f"sandbox-{self._seq}"
        return self.world.slack.response_url(name, channel=CHANNEL[0], user=user, message_ts=message_ts)

    async def _send(self, user: str, request: tuple[str, str], what: str) -> httpx.Response | None:
        # Whoever acted last is the person at the browser: Google's consent page offers their account.
        self.world.meet.state.set_consent(self.world.person(user).email)
        body, content_type = request
        headers = {"Content-Type": content_type, **sign(body, secret=self.world.signing_secret)}
        started = time.monotonic()
        try:
            response = await self._http.post("/slack/events", content=body.encode(), headers=headers)
        except httpx.HTTPError as error:
            self._error(user, f"The bot did not answer {what}: {type(error).__name__}")
            return None
        took = time.monotonic() - started
        if response.status_code != 200:
            self._error(user, f"The bot answered {what} with HTTP {response.status_code}", response.text[:500])
        elif took > ACK_SECONDS:
            self._error(user, f"The bot took {took:.1f} s to answer {what}: Slack shows an error after 3 s")
        return response

    def _show_ack(self, user: str, response: httpx.Response | None) -> None:
        """A non-empty ack to a command or click is a message, as Slack shows it (ephemeral unless in_channel)."""
        if response is None or response.status_code != 200 or not response.content:
            return
        try:
            body = response.json()
        except ValueError:
            self._note({"kind": "ephemeral", "recipient": user, "text": response.text, "via": "ack"})
            return
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return
        blocks = body.get("blocks")
        if isinstance(blocks, list) and (errors := validate_blocks(blocks, "/blocks", 50)):
            self._error(user, "Slack refused the bot's answer: invalid_blocks", errors)
            return
        public = body.get("response_type") == "in_channel"
        self._note({"kind": "message" if public else "ephemeral", "recipient": None if public else user,
                    "text": body.get("text", ""), "blocks": blocks or [], "via": "ack",
                    "user": self.world.slack.state.bot_user_id})

    async def command(self, user: str, text: str) -> None:
        """`/meet text` typed by `user` in #general."""
        request = slash_command(as_slack_sends(text), user_id=user, team_id=self.world.slack.state.team_id,
                                channel_id=CHANNEL[0], response_url=self._response_url(user),
                                trigger_id=self._trigger(user))
        self._show_ack(user, await self._send(user, request, "/meet " + text))

    async def message(self, user: str, text: str) -> None:
        """A message in #general; meet.google.com links in it are shared with the bot (`link_shared`)."""
        state = self.world.slack.state
        ts = state.add_message(CHANNEL[0], as_slack_sends(text), user)
        links = MEET_LINK.findall(text)
        if links:
            event = state.share_links(links, channel=CHANNEL[0], user=user, message_ts=ts)
            await self._send(user, (json.dumps(state.event_envelope(event)), "application/json"), "link_shared")

    async def home_opened(self, user: str) -> None:
        state = self.world.slack.state
        event: JSON = {"type": "app_home_opened", "user": user, "channel": f"D{user[1:]}", "tab": "home",
                       "event_ts": self._now_ts()}
        home = state.home_view(user)
        if home is not None:
            event["view"] = home
        await self._send(user, (json.dumps(state.event_envelope(event)), "application/json"), "app_home_opened")

    async def shortcut(self, user: str, callback_id: str, message_ts: str | None = None) -> None:
        """A shortcut from Slack's menus: global ("Start a Meet") or on a message ("Meeting status")."""
        state = self.world.slack.state
        if message_ts is None:
            payload = self._base("shortcut", user)
            payload.update({"callback_id": callback_id, "action_ts": self._now_ts()})
        else:
            message = state.message(CHANNEL[0], message_ts)
            if message is None:
                raise ValueError("that message is gone")
            payload = self._base("message_action", user)
            payload.update({"callback_id": callback_id, "action_ts": self._now_ts(), "message_ts": message_ts,
                            "message": message, "channel": {"id": CHANNEL[0], "name": CHANNEL[1]},
                            "response_url": self._response_url(user, message_ts)})
        self._show_ack(user, await self._send(user, interactive(payload), f"the {callback_id} shortcut"))

    def _who(self, user: str) -> JSON:
        person = self.world.person(user)
        team = self.world.slack.state.team_id
        return {"id": user, "username": person.name.lower(), "name": person.name.lower(), "team_id": team}

    def _base(self, kind: str, user: str) -> JSON:
        state = self.world.slack.state
        return {"type": kind, "user": self._who(user), "api_app_id": state.app_id, "token": "verification-token",
                "team": {"id": state.team_id, "domain": state.team_domain}, "enterprise": None,
                "is_enterprise_install": False, "trigger_id": self._trigger(user)}

    async def click(self, user: str, where: JSON, action: JSON, values: JSON | None = None) -> None:
        """A button, overflow or select on a message (where.type "message") or in a view ("view")."""
        state = self.world.slack.state
        payload = self._base("block_actions", user)
        payload["actions"] = [{**action, "action_ts": self._now_ts()}]
        payload["state"] = {"values": values or {}}
        if where.get("type") == "view":
            view = self._view(user, str(where.get("view_id")))
            if view is None:
                return
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = {**view, "state": {"values": values or {}}}
        else:
            ts, ephemeral = str(where.get("ts")), bool(where.get("ephemeral"))
            payload["container"] = {"type": "message", "message_ts": ts, "channel_id": CHANNEL[0],
                                    "is_ephemeral": ephemeral}
            payload["channel"] = {"id": CHANNEL[0], "name": CHANNEL[1]}
            payload["response_url"] = self._response_url(user, ts)
            if not ephemeral:
                payload["message"] = state.message(CHANNEL[0], ts)
        self._show_ack(user, await self._send(user, interactive(payload), f"a click on {action.get('action_id')}"))
        self._join_from_link(user, action)
        await self._sign_in_from_link(user, action)

    async def _sign_in_from_link(self, user: str, action: JSON) -> None:
        """A "Sign in with Slack" button opens the bot's link in the person's browser, where Slack knows them: the
        trip through Slack's (auto-consenting) page is made here, as them, with a cookie jar of its own."""
        url = str(action.get("url") or "")
        if not url.startswith(self.bot_url + USER_INSTALL_PATH):
            return
        async with httpx.AsyncClient(timeout=10) as browser:
            to_slack = await browser.get(url)
            if to_slack.status_code != 302:
                self._error(user, "The bot refused the Slack sign-in link", to_slack.text[:500])
                return
            # emulator-only: user_id picks who consents (the person signed in to Slack in this browser)
            consent = await browser.get(to_slack.headers["location"] + "&" + urlencode({"user_id": user}))
            back = await browser.get(consent.headers.get("location", ""))
            if back.status_code != 200:
                self._error(user, f"Signing in with Slack ended with HTTP {back.status_code}", back.text[:500])

    def _join_from_link(self, user: str, action: JSON) -> None:
        """Join buttons open the meeting: here that means joining it in the Meet emulator."""
        url = str(action.get("url") or "")
        if not MEET_LINK.match(url):
            return
        code = url.removeprefix("https://meet.google.com/").split("?")[0]
        with contextlib.suppress(KeyError, ValueError):  # already in the call, or an unknown code
            self.world.meet.state.join(code, user=self.world.person(user).email)

    def _view(self, user: str, view_id: str) -> JSON | None:
        state = self.world.slack.state
        home = state.home_view(user)
        if home is not None and home["id"] == view_id:
            return home
        modal = next((m for m in self.modals(user) if m.view_id == view_id), None)
        return None if modal is None else self.shown_view(modal)

    def shown_view(self, modal: Modal) -> JSON | None:
        """The view a modal shows now: a response_action view until the bot updates the view through the API."""
        stored = self.world.slack.state.view(modal.view_id)
        if modal.local is not None and (stored is None or stored["hash"] == modal.local_hash):
            return {**modal.local, "id": modal.view_id, "hash": modal.local_hash}
        return stored

    async def submit(self, user: str, view_id: str, values: JSON) -> None:
        view = self._view(user, view_id)
        if view is None:
            return
        payload = self._base("view_submission", user)
        payload["view"] = {**view, "state": {"values": values}}
        payload["response_urls"] = []
        response = await self._send(user, interactive(payload), "the modal's submission")
        if response is None or response.status_code != 200:
            return
        self._respond_to_submission(user, view_id, response)

    def _respond_to_submission(self, user: str, view_id: str, response: httpx.Response) -> None:
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        action = answer.get("response_action") if isinstance(answer, dict) else None
        with self._lock:
            stack = self._modals.get(user, [])
            modal = next((m for m in stack if m.view_id == view_id), None)
            if modal is None:
                return
            if action == "errors":
                modal.errors = {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
            elif action in ("update", "push"):
                view = answer.get("view")
                problems = validate_view(view, ("modal",)) if isinstance(view, dict) else ["no view"]
                if problems:
                    self._error(user, f"Slack refused response_action {action}: invalid_arguments", problems)
                    return
                stored = self.world.slack.state.view(view_id)
                if action == "update":
                    modal.local, modal.local_hash, modal.errors = view, stored["hash"] if stored else None, {}
                else:
                    self._seq += 1
                    stack.append(Modal(f"VLOCAL{self._seq}", view, None))
            elif action == "clear":
                stack.clear()
            else:  # an empty ack closes the modal
                stack.remove(modal)

    async def close_modal(self, user: str, view_id: str) -> None:
        view = self._view(user, view_id)
        with self._lock:
            stack = self._modals.get(user, [])
            self._modals[user] = [m for m in stack if m.view_id != view_id]
        if view is not None and view.get("notify_on_close"):
            payload = self._base("view_closed", user)
            payload.update({"view": view, "is_cleared": False})
            await self._send(user, interactive(payload), "view_closed")
