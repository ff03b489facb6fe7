"""A faithful stand-in for the Slack Web API, served over real HTTP on 127.0.0.1.

It follows /work/shared/reference/slack-platform.md (payload shapes, methods, error names, Block Kit limits)
and the method specs mirrored in slack-ruby/slack-api-ref. Behaviour the reference does not pin down is marked
`# guess:`.

What it serves:
- `/api/<method>`: the Web API methods the bot and Bolt call (`methods.METHODS`), plus `apps.connections.open`
  for Socket Mode. Form, JSON and query-string parameters; bearer, form or query tokens; `ok`/`error` bodies
  with Slack's error names; `missing_scope` with `needed`/`provided`; `X-OAuth-Scopes`.
- `/commands/<name>`: `response_url` targets (5 uses within 30 minutes), recorded.
- `/oauth/v2/authorize`: auto-consenting OAuth authorize page that redirects with a code (for install tests).
- `/_emulator/...`: control routes mirroring the `SlackState` API for processes that cannot reach the object.

In-process use::

    with SlackEmulator() as emu:
        emu.state.add_channel("C1", "general")
        client = AsyncWebClient(token="xoxb-test", base_url=emu.api_url)

Standalone: `python -m emulators.slack --port 8001` (bot token `xoxb-test`, team `T0001`).

Modules: `blockkit` (Block Kit validation), `models` (errors, parameters, records), `state` (SlackState) with
`recording` (its calls record and faults), `methods` (the method handlers), `api` (the `/api/` endpoint),
`control` (the other routes), `server` (SlackEmulator, `build_app`, `main`).
"""

from emulators.slack.api import STATE_KEY
from emulators.slack.blockkit import validate_blocks, validate_view
from emulators.slack.methods import METHOD_SCOPES, METHODS
from emulators.slack.models import JSON, ApiError
from emulators.slack.server import SlackEmulator, build_app, main
from emulators.slack.state import DEFAULT_BOT_SCOPES, SlackState

__all__ = [
    "DEFAULT_BOT_SCOPES",
    "JSON",
    "METHODS",
    "METHOD_SCOPES",
    "STATE_KEY",
    "ApiError",
    "SlackEmulator",
    "SlackState",
    "build_app",
    "main",
    "validate_blocks",
    "validate_view",
]
