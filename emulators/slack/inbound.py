"""Inbound Slack requests, built and signed exactly as Slack does (v0 HMAC-SHA256 over the raw body).

What Slack sends the app: tests and the sandbox build their requests to the bot here."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "test-signing-secret"


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_command(
    text: str = "",
    *,
    user_id: str = "U0ALICE",
    team_id: str = "T0001",
    channel_id: str = "C0GENERAL",
    response_url: str = "http://127.0.0.1:9/commands/none",
    trigger_id: str | None = None,
    enterprise_id: str | None = None,
) -> tuple[str, str]:
    """(body, content type) of a `/meet` slash command."""
    fields = {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "acme",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/meet",
        "text": text,
        "api_app_id": "A0MEETBOT",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
    }
    if enterprise_id:
        fields["enterprise_id"] = enterprise_id
    return urlencode(fields), "application/x-www-form-urlencoded"


def interactive(payload: dict[str, Any]) -> tuple[str, str]:
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


def event(inner: dict[str, Any], *, team_id: str = "T0001", event_id: str | None = None) -> tuple[str, str]:
    envelope = {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "api_app_id": "A0MEETBOT",
        "event": inner,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {"enterprise_id": None, "team_id": team_id, "user_id": "U0BOT", "is_bot": True,
             "is_enterprise_install": False}
        ],
    }
    return json.dumps(envelope), "application/json"
