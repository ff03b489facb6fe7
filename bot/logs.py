"""Logging set-up: today's text lines, or `LOG_FORMAT=json` (one JSON object a line: time, level, logger, message
and the record's own fields). In JSON mode everything the process writes goes through here: Python warnings,
libraries' loggers and uncaught exceptions too.

A redacting filter is the last line of defence: no token reaches a log line, whatever the code, in the message,
a traceback or an extra field.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from types import TracebackType

from pythonjsonlogger.json import JsonFormatter

__all__ = ["TokenRedactor", "configure_logging", "redact"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The attributes every LogRecord has; anything else on a record is an extra field, redacted like the message.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

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
        for name, value in list(vars(record).items()):
            if name not in _STANDARD:
                setattr(record, name, _redacted_value(value))
        return True


def _redacted_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = repr(value)
    return "[redacted]" if redact(text) != text else value


# Request-level chatter from the HTTP libraries can carry URLs with codes; kept at WARNING.
NOISY_LOGGERS = ("httpx", "httpcore", "aiohttp.access")


def formatted(handler: logging.Handler, log_format: str) -> logging.Handler:
    """`handler` writing meetbot's lines: text or JSON, with tokens redacted."""
    if log_format == "json":
        handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s", timestamp="time",
                                           rename_fields={"levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(TokenRedactor())
    return handler


def configure_logging(level: str, log_format: str = "text") -> None:
    root = logging.getLogger()
    root.handlers[:] = [formatted(logging.StreamHandler(sys.stderr), log_format)]
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become log lines (py.warnings), formatted and redacted like the rest
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger("bot").critical("meetbot stopped on an unexpected error", exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        logging.getLogger("bot").error("a thread stopped on an unexpected error",
                                       exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
