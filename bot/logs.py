"""Logging set-up. A redacting filter is the last line of defence: no token reaches a log line, whatever the code."""

from __future__ import annotations

import logging
import re
import sys

__all__ = ["TokenRedactor", "configure_logging", "redact"]

# Google access/refresh tokens, Slack tokens and Fernet ciphertexts, wherever they appear...
_SECRET = re.compile(r"ya29\.[\w\-.]+|1//[\w\-]+|xox[abpers]-[\w\-]+|xapp-[\w\-]+|gAAAAA[\w\-=]+")
# ...Slack's response_url and webhook URLs, each a capability to post into a channel (hooks.slack.com/commands/…,
# /actions/…, /services/…, on any host so a proxy or emulator in front of Slack is covered too)...
_HOOK = re.compile(r"https?://[^\s\"'<>]*?/(?:commands|actions|services|workflows|triggers)/[^\s\"'<>,]+"
                   r"|https?://hooks\.slack\.com/[^\s\"'<>,]+")
# ...and whatever follows a bearer header or a secret-bearing query parameter.
_AFTER = re.compile(r"(Bearer\s+|[?&](?:code|access_token|refresh_token|state|assertion|token)=)[^&\s\"']+")


def redact(text: str) -> str:
    return _AFTER.sub(r"\1[redacted]", _SECRET.sub("[redacted]", _HOOK.sub("[redacted response_url]", text)))


class TokenRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(TokenRedactor())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request-level chatter from the HTTP libraries can carry URLs with codes; keep it at WARNING.
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
