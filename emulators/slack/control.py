"""The emulator's own routes: `/commands/<name>` (response_urls), `/oauth/v2/authorize`, and `/_emulator/` controls.

The control routes mirror the `SlackState` API for processes that cannot reach the object.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web

from emulators.slack.api import STATE_KEY, fault_response, json_response
from emulators.slack.models import JSON


async def _response_url_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    name = request.match_info["name"]
    raw = await request.read()
    fault = state.take_fault("response_url")
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if not (fault.status == 200 and fault.body is None):
            response, sent = fault_response(fault)
            state.record_response_post(name, raw, fault.status, sent)
            return response
    status, text = state.handle_response_post(name, raw, request.content_type)
    # guess: Slack's hooks endpoint answers text/html
    return web.Response(text=text, status=status, content_type="text/html")


async def _authorize_handler(request: web.Request) -> web.StreamResponse:
    """Auto-consent OAuth authorize page (guess: stands in for slack.com/oauth/v2/authorize)."""
    state = request.app[STATE_KEY]
    q = request.query
    if q.get("client_id") != state.client_id:
        return web.Response(text="invalid_client_id", status=400)
    redirect_uri = q.get("redirect_uri") or state.oauth_redirect_uri
    if not redirect_uri:
        return web.Response(text="bad_redirect_uri", status=400)
    bot_scopes = [s for s in q.get("scope", "").split(",") if s]
    user_scopes = [s for s in q.get("user_scope", "").split(",") if s]
    code = state.issue_oauth_code(
        team_id=q.get("team") or None,
        user_id=q.get("user_id") or None,  # emulator-only: pick the approving user
        # "Sign in with Slack" asks for user scopes only, and then no bot token is issued (reference §10);
        # guess: an authorize request with neither asks for the app's configured bot scopes
        scopes=bot_scopes if bot_scopes or user_scopes else None,
        user_scopes=user_scopes,
        # oauth.v2.access must repeat redirect_uri only if the authorize request carried one
        redirect_uri=q.get("redirect_uri") or None,
    )
    query = {"code": code}
    if "state" in q:
        query["state"] = q["state"]
    sep = "&" if "?" in redirect_uri else "?"
    raise web.HTTPFound(f"{redirect_uri}{sep}{urlencode(query)}")


# -- control routes ------------------------------------------------------------------------------------------


async def _control_body(request: web.Request) -> JSON:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "invalid_json"}', content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "json_not_object"}', content_type="application/json")
    return body


def _need(body: JSON, key: str) -> Any:
    if key not in body:
        text = json.dumps({"error": f"missing {key}"})
        raise web.HTTPBadRequest(text=text, content_type="application/json")
    return body[key]


_USER_OPTIONS: Final = (
    "email", "is_admin", "tz", "real_name", "is_owner", "is_bot", "deleted", "team_id", "locale", "is_stranger"
)
_CHANNEL_OPTIONS: Final = ("is_member", "is_private", "is_im", "is_mpim", "is_archived", "user", "topic", "purpose",
                           "members")


def _pick(body: JSON, keys: Iterable[str]) -> JSON:
    return {k: body[k] for k in keys if k in body}


async def _ctl_users(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    if request.method == "GET":
        return json_response({"users": state.users()})
    body = await _control_body(request)
    user = state.add_user(
        str(_need(body, "id")),
        str(_need(body, "name")),
        **_pick(body, _USER_OPTIONS),
    )
    return json_response({"ok": True, "user": user})


async def _ctl_channels(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    if request.method == "GET":
        return json_response({"channels": state.channels()})
    body = await _control_body(request)
    channel = state.add_channel(
        str(_need(body, "id")),
        str(_need(body, "name")),
        **_pick(body, _CHANNEL_OPTIONS),
    )
    return json_response({"ok": True, "channel": channel})


async def _ctl_tokens(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    info = request.app[STATE_KEY].add_token(
        str(_need(body, "token")), **_pick(body, ("kind", "team_id", "user_id", "scopes", "expires_in"))
    )
    return json_response({"ok": True, "token": info.token, "user_id": info.user_id, "team_id": info.team_id})


async def _ctl_teams(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    request.app[STATE_KEY].add_team(
        str(_need(body, "id")),
        str(_need(body, "name")),
        **_pick(body, ("domain", "bot_user_id", "bot_id", "enterprise_id", "enterprise_name")),
    )
    return json_response({"ok": True})


async def _ctl_calls(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    method = request.query.get("method")
    return json_response({"calls": state.calls_to(method) if method else state.calls})


async def _ctl_response_posts(request: web.Request) -> web.StreamResponse:
    return json_response({"posts": request.app[STATE_KEY].response_posts(request.query.get("name"))})


async def _ctl_response_urls(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    name = str(body.get("name") or f"r{secrets.token_hex(6)}")
    request.app[STATE_KEY].register_response_url(name, **_pick(body, ("channel", "user", "message_ts")))
    url = f"{request.scheme}://{request.host}/commands/{name}"
    return json_response({"ok": True, "name": name, "url": url})


async def _ctl_faults(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    request.app[STATE_KEY].inject_fault(
        str(_need(body, "method")), **_pick(body, ("status", "retry_after", "count", "body", "delay"))
    )
    return json_response({"ok": True})


async def _ctl_reset(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    request.app[STATE_KEY].reset(keep_config=bool(body.get("keep_config", False)))
    return json_response({"ok": True})


async def _ctl_messages(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    if request.method == "GET":
        channel = request.query.get("channel", "")
        return json_response(
            {"messages": state.messages(channel), "ephemeral": state.ephemeral_messages(channel)}
        )
    body = await _control_body(request)
    ts = state.add_message(
        str(_need(body, "channel")),
        str(_need(body, "text")),
        str(_need(body, "user")),
        **_pick(body, ("ts", "thread_ts", "blocks")),
    )
    return json_response({"ok": True, "ts": ts})


async def _ctl_links(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    state = request.app[STATE_KEY]
    event = state.share_links(
        [str(u) for u in _need(body, "urls")],
        channel=str(_need(body, "channel")),
        user=str(_need(body, "user")),
        **_pick(body, ("source", "message_ts")),
    )
    return json_response({"ok": True, "event": event, "envelope": state.event_envelope(event)})


async def _ctl_auth_prompts(request: web.Request) -> web.StreamResponse:
    """GET: who dismissed the unfurl authentication prompt. POST {"user", "dismissed"?}: dismiss (or undo)."""
    state = request.app[STATE_KEY]
    if request.method == "POST":
        body = await _control_body(request)
        state.dismiss_auth_prompt(str(_need(body, "user")), bool(body.get("dismissed", True)))
    return json_response({"ok": True, "dismissed": sorted(state.dismissed_auth_prompts())})


async def _ctl_triggers(request: web.Request) -> web.StreamResponse:
    return json_response({"ok": True, "trigger_id": request.app[STATE_KEY].issue_trigger_id()})


async def _ctl_oauth_codes(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    code = request.app[STATE_KEY].issue_oauth_code(
        **_pick(body, ("team_id", "user_id", "scopes", "user_scopes", "redirect_uri"))
    )
    return json_response({"ok": True, "code": code})


async def _ctl_clock(request: web.Request) -> web.StreamResponse:
    body = await _control_body(request)
    state = request.app[STATE_KEY]
    state.advance_time(float(body.get("advance", 0)))
    return json_response({"ok": True, "now": state.now()})


async def _ctl_state(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[STATE_KEY].snapshot())


def add_routes(app: web.Application) -> None:
    """Register the response_url, authorize and control routes."""
    app.router.add_post("/commands/{name}", _response_url_handler)
    app.router.add_get("/oauth/v2/authorize", _authorize_handler)
    app.router.add_route("*", "/_emulator/users", _ctl_users)
    app.router.add_route("*", "/_emulator/channels", _ctl_channels)
    app.router.add_post("/_emulator/tokens", _ctl_tokens)
    app.router.add_post("/_emulator/teams", _ctl_teams)
    app.router.add_get("/_emulator/calls", _ctl_calls)
    app.router.add_get("/_emulator/response_posts", _ctl_response_posts)
    app.router.add_post("/_emulator/response_urls", _ctl_response_urls)
    app.router.add_post("/_emulator/faults", _ctl_faults)
    app.router.add_post("/_emulator/reset", _ctl_reset)
    app.router.add_route("*", "/_emulator/messages", _ctl_messages)
    app.router.add_post("/_emulator/links", _ctl_links)
    app.router.add_post("/_emulator/triggers", _ctl_triggers)
    app.router.add_route("*", "/_emulator/auth_prompts", _ctl_auth_prompts)
    app.router.add_post("/_emulator/oauth_codes", _ctl_oauth_codes)
    app.router.add_post("/_emulator/clock", _ctl_clock)
    app.router.add_get("/_emulator/state", _ctl_state)
