"""Socket Mode for the Slack emulator: `apps.connections.open` and a WebSocket that delivers envelopes.

Slack's protocol: the app calls apps.connections.open with its xapp- token and gets a wss URL; on connecting it
receives `{"type": "hello"}`; each request arrives as `{"envelope_id", "type", "payload",
"accepts_response_payload"}` and the app acks with `{"envelope_id", "payload"?}`. Tests deliver envelopes with
`SocketMode.deliver(...)` from any thread and get the ack back.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["SocketMode"]

JSON = dict[str, Any]


class SocketMode:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: web.WebSocketResponse | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acks: dict[str, JSON] = {}
        self._acked = threading.Condition(self._lock)
        self.connections = 0

    def install(self, app: web.Application) -> None:
        # Registered before the generic /api/{method} route, so it wins for this one method.
        app.router.add_post("/api/apps.connections.open", self._open)
        app.router.add_get("/socket-mode", self._serve)

    async def _open(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        form = await request.post()
        token = auth.removeprefix("Bearer ") if auth else str(form.get("token", ""))
        if not token.startswith("xapp-"):
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        return web.json_response({"ok": True, "url": f"ws://{request.host}/socket-mode?ticket={secrets.token_hex(8)}"})

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with self._lock:
            self._socket, self._loop = ws, asyncio.get_running_loop()
            self.connections += 1
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0MEETBOT"}})
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            ack = message.json()
            with self._acked:
                self._acks[str(ack.get("envelope_id"))] = ack
                self._acked.notify_all()
        with self._lock:
            if self._socket is ws:
                self._socket = None
        return ws

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._socket is not None and not self._socket.closed

    def deliver(self, kind: str, payload: JSON, timeout: float = 5.0) -> JSON:
        """Send one envelope ("slash_commands", "interactive" or "events_api"); block until the app acks it."""
        envelope_id = secrets.token_hex(8)
        with self._lock:
            ws, loop = self._socket, self._loop
        if ws is None or loop is None:
            raise RuntimeError("no Socket Mode connection")
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""}
        asyncio.run_coroutine_threadsafe(ws.send_json(envelope), loop).result(timeout)
        with self._acked:
            if not self._acked.wait_for(lambda: envelope_id in self._acks, timeout):
                raise TimeoutError(f"no ack for {kind} within {timeout}s")
            return self._acks.pop(envelope_id)
