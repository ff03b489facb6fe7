"""SlackEmulator: the emulator's aiohttp app on a background thread, and the standalone entry point."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulators._server import BackgroundServer, run_standalone
from emulators.slack.api import STATE_KEY, api_handler
from emulators.slack.control import add_routes
from emulators.slack.state import SlackState
from emulators.slack_calls import add_call_routes
from emulators.slack_profile import add_profile_routes


def build_app(state: SlackState | None = None) -> web.Application:
    app = web.Application()
    app[STATE_KEY] = state if state is not None else SlackState()
    app[STATE_KEY].socket_mode.install(app)  # before /api/{method}: it serves apps.connections.open
    app.router.add_route("*", "/api/{method}", api_handler)
    add_routes(app)  # /commands, /oauth/v2/authorize, /_emulator
    add_call_routes(app)  # /_emulator/call_objects
    add_profile_routes(app)  # /_emulator/status, /_emulator/sign_out
    return app


class SlackEmulator:
    """The Slack emulator on a background thread: `with SlackEmulator() as emu: ... emu.api_url ...`."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T0001",
        *,
        state: SlackState | None = None,
        **options: Any,
    ) -> None:
        """`options` go to SlackState (team_name, bot_user_id, scopes, client_id, token_rotation, ...)."""
        if state is None:
            state = SlackState(bot_token=bot_token, team_id=team_id, **options)
        self.state = state
        self.app = build_app(self.state)
        self._server: BackgroundServer | None = None

    @property
    def bot_token(self) -> str:
        return self.state.bot_token

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackEmulator is not started")
        return self._server.url

    @property
    def api_url(self) -> str:
        """The value for SLACK_API_URL / AsyncWebClient(base_url=...)."""
        return self.url + "/api/"

    @property
    def authorize_url(self) -> str:
        """For AsyncOAuthSettings(authorization_url=...)."""
        return self.url + "/oauth/v2/authorize"

    def response_url(
        self,
        name: str = "r1",
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """Issue a response_url; POSTs to it are recorded under `name` (see state.response_posts)."""
        self.state.register_response_url(name, channel=channel, user=user, message_ts=message_ts)
        return f"{self.url}/commands/{name}"

    def start(self) -> SlackEmulator:
        self._server = BackgroundServer(self.app).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """`python -m emulators.slack --port N` (bot token `xoxb-test`, team `T0001`)."""
    run_standalone(build_app, "Slack Web API emulator")
