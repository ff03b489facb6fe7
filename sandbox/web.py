"""The sandbox's own web server: the page (sandbox/static/), its state and live stream, and the routes behind
what a person does on it (type, click, submit, and act as Google Meet)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from sandbox.desk import Desk
from sandbox.feed import Feed

__all__ = ["LOOPBACK_NAMES", "build_app"]

STATIC = Path(__file__).resolve().parent / "static"
DESK: web.AppKey[Desk] = web.AppKey("desk", Desk)
FEED: web.AppKey[Feed] = web.AppKey("feed", Feed)
KEEP_ALIVE_SECONDS = 15.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _guard(names: frozenset[str]) -> Middleware:
    """The page acts as anyone, so only its own page may use it: a request must name this server by one of
    `names` (a rebound DNS name pointing a browser here is refused) and a POST must come from the page's own origin
    (another site's page in the same browser is refused)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            asked = urlsplit(f"//{request.host}")
            name, port = asked.hostname or "", asked.port
        except ValueError:  # a malformed Host header
            name, port = "", None
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        if name not in names or (port is not None and sockname and port != sockname[1]):
            return web.Response(status=403, text="The sandbox only answers to its own address (127.0.0.1 or "
                                                 "localhost). Open the address it printed when it started.")
        if request.method == "POST" and request.headers.get("Origin") != f"http://{request.host}":
            return web.Response(status=403, text="The sandbox only takes actions from its own page. Open the "
                                                 "address it printed when it started.")
        return await handler(request)

    return guard


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def _state(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    await feed.refresh()
    return web.Response(text=feed.text, content_type="application/json")


async def _stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the whole page state each time it changes (it is small), comments to keep alive."""
    feed = request.app[FEED]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    version = -1
    try:
        while not feed.closed:
            if feed.version != version:
                version = feed.version
                await response.write(f"data: {feed.text}\n\n".encode())
            else:
                await response.write(b": keep-alive\n\n")
            await feed.wait_past(version, KEEP_ALIVE_SECONDS)
    except ConnectionResetError:  # the page was closed or reloaded
        return response
    return response  # the sandbox is stopping: the page's EventSource sees the stream end


def _action(do: Callable[[Desk, dict[str, Any]], Awaitable[Any]]) -> Handler:
    """A POST with a JSON object; bad input answers 400 with the reason in plain words."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("send a JSON object")
            result = await do(request.app[DESK], data)
        except (ValueError, KeyError, TypeError) as error:
            return web.json_response({"ok": False, "error": str(error)}, status=400)
        await request.app[FEED].refresh()
        return web.json_response({"ok": True, **(result or {})})

    return handler


def _meet_call(name: str) -> Callable[[Desk, dict[str, Any]], Awaitable[Any]]:
    """The Meet panel: someone joins or leaves, the call ends, Google produces an artifact."""

    async def do(desk: Desk, data: dict[str, Any]) -> Any:
        meet = desk.world.meet.state
        space = str(data["space"])
        if name in ("join", "leave"):
            who = {"anonymous": str(data["guest"])} if data.get("guest") else {"user": str(data["email"])}
        if name == "join":
            return {"participant": meet.join(space, **who)}
        if name == "leave":
            meet.leave(space, **who)
        elif name == "end":
            meet.end_conference(space)
        elif name == "artifact":
            return {"artifact": meet.produce_artifact(str(data["kind"]), space=space)}
        return None

    return do


async def _calendar_meeting(desk: Desk, data: dict[str, Any]) -> Any:
    """The Meet panel's "Start a meeting as if from Calendar": a space Google Calendar made for the chosen
    person's event, owned by them, with no /meet involved (what `/meet mine` is for)."""
    person = desk.world.person(str(data["user"]))
    return {"space": desk.world.meet.state.calendar_meeting(person.email)}


async def _google_fault(desk: Desk, data: dict[str, Any]) -> None:
    desk.set_google_fault(str(data.get("mode") or ""))


def build_app(desk: Desk, feed: Feed, names: frozenset[str] = LOOPBACK_NAMES) -> web.Application:
    """`names`: the host names the page answers to (loopback, and any a flag allowed)."""
    app = web.Application(middlewares=[_guard(frozenset(n.lower() for n in names))])
    app[DESK], app[FEED] = desk, feed
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/api/stream", _stream)
    routes: dict[str, Callable[[Desk, dict[str, Any]], Awaitable[Any]]] = {
        "command": lambda d, x: d.command(str(x["user"]), str(x.get("text", ""))),
        "message": lambda d, x: d.message(str(x["user"]), str(x["text"])),
        "click": lambda d, x: d.click(str(x["user"]), dict(x["where"]), dict(x["action"]), x.get("values")),
        "submit": lambda d, x: d.submit(str(x["user"]), str(x["view_id"]), dict(x.get("values") or {})),
        "close": lambda d, x: d.close_modal(str(x["user"]), str(x["view_id"])),
        "home": lambda d, x: d.home_opened(str(x["user"])),
        "shortcut": lambda d, x: d.shortcut(str(x["user"]), str(x["callback_id"]),
                                            str(x["message_ts"]) if x.get("message_ts") else None),
        "meet/fault": _google_fault,
        "meet/calendar": _calendar_meeting,
        **{f"meet/{name}": _meet_call(name) for name in ("join", "leave", "end", "artifact")},
    }
    for path, do in routes.items():
        app.router.add_post(f"/api/{path}", _action(do))
    return app
