"""The `/api/<method>` endpoint: query, form or JSON parameters, bearer, basic, form or query tokens, and faults."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web

from emulators.slack.methods import METHODS, call_method
from emulators.slack.models import JSON, ApiError, Fault, Params
from emulators.slack.state import SlackState

STATE_KEY: Final = web.AppKey("slack_state", SlackState)  # the SlackState behind an app


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=dict(headers or {}),
    )


def _auth_header(request: web.Request) -> tuple[str | None, tuple[str, str] | None]:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return None, (user, password)
    return None, None


async def _read_params(request: web.Request) -> tuple[dict[str, Any], str, str | None]:
    """(params, body format, token parameter). Query args fill in what the body lacks."""
    query: dict[str, Any] = {k: request.query.getone(k) for k in request.query}
    body: dict[str, Any] = {}
    body_format = "query" if query else "none"
    token: str | None = None
    if request.method == "POST" and request.body_exists:
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            try:
                decoded = json.loads(raw or b"{}")
            except ValueError:
                raise ApiError("invalid_json") from None
            if not isinstance(decoded, dict):
                raise ApiError("json_not_object")
            body = decoded
            body_format = "json"
            # Slack ignores a token inside a JSON body: JSON callers must send the Authorization header.
            body.pop("token", None)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            body = {k: v for k, v in form.items() if isinstance(v, str)}
            body_format = "form"
            token = body.pop("token", None)
        else:
            raw = await request.read()
            if raw.strip():
                # guess: other content types are read as a form, like Slack's lenient parser
                try:
                    body = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                except UnicodeDecodeError:
                    raise ApiError("invalid_form_data") from None
                body_format = "form"
                token = body.pop("token", None)
    # guess: a token in the query string is accepted (Slack refuses it for apps created after 2021-02-24)
    query_token = query.pop("token", None)
    token = token or (str(query_token) if query_token else None)
    return {**query, **body}, body_format, token


def fault_response(fault: Fault) -> tuple[web.Response, JSON | str]:
    headers: dict[str, str] = {}
    if fault.status == 429 or fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
    body = fault.body
    if body is None:
        if fault.status == 429:
            body = {"ok": False, "error": "ratelimited"}
        elif fault.status == 503:
            body = {"ok": False, "error": "service_unavailable"}  # guess: Slack may also send an HTML page
        else:
            body = {"ok": False, "error": "fatal_error"}  # guess
    if isinstance(body, dict):
        return json_response(body, fault.status, headers), body
    return web.Response(text=body, status=fault.status, content_type="text/html", headers=headers), body


async def api_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    method = request.match_info["method"]
    if method not in METHODS:
        body: JSON = {"ok": False, "error": "unknown_method"}
        state.record_call(method, {}, None, 404, body, http_method=request.method)
        return json_response(body, 404)
    bearer, basic = _auth_header(request)
    try:
        raw, body_format, token_param = await _read_params(request)
    except ApiError as exc:
        state.record_call(method, {}, bearer, exc.status, exc.body(), http_method=request.method)
        return json_response(exc.body(), exc.status)
    token = bearer or token_param
    params = Params(raw, body_format)
    fault = state.take_fault(method)
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if not (fault.status == 200 and fault.body is None):
            response, sent = fault_response(fault)
            state.record_call(
                method,
                params.recorded(),
                token,
                fault.status,
                sent,
                http_method=request.method,
                body_format=body_format,
            )
            return response
    result = call_method(state, method, params, token=token, basic=basic, http_method=request.method)
    return json_response(result.body, result.status, result.headers)
