"""Log lines as the process writes them (bot/logs.py): text or one JSON object a line, redacted either way,
whatever carries the secret (the message, a traceback, an extra field)."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging

TOKEN = "xoxb-1234-secret-token"
HOOK = "https://hooks.slack.com/commands/T0001/123/secret-hook"


class Written:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._text = ""

    def getvalue(self) -> str:
        self._text += self._capsys.readouterr().err
        return self._text


@pytest.fixture
def written(capsys: pytest.CaptureFixture[str]) -> Iterator[Written]:
    """What the process writes to stderr, with the root logger and hooks put back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook
    yield Written(capsys)
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    sys.excepthook = saved[2]
    logging.captureWarnings(False)


def lines(stream: Written) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_message_and_the_extra_fields(written: Written) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("bot.actions").info("action %s", "/meet new", extra={"team": "T0001", "ms": 12})
    (line,) = lines(written)
    assert {"time", "level", "logger", "message"} <= line.keys()
    assert (line["level"], line["logger"], line["message"]) == ("INFO", "bot.actions", "action /meet new")
    assert (line["team"], line["ms"]) == ("T0001", 12)


def test_a_token_in_an_extra_field_is_redacted_in_json_and_in_text(written: Written) -> None:
    for log_format in ("json", "text"):
        configure_logging("INFO", log_format)
        logging.getLogger("bot").warning("refused %s", HOOK, extra={"token": TOKEN, "details": {"url": HOOK}})
    text = written.getvalue()
    assert TOKEN not in text and "secret-hook" not in text
    (line,) = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
    assert line["token"] == "[redacted]" and line["details"] == "[redacted]"
    assert line["message"] == "refused [redacted response_url]"


def test_warnings_and_tracebacks_are_json_objects_too_and_redacted(written: Written) -> None:
    configure_logging("INFO", "json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(f"a library complains about {TOKEN}", UserWarning, stacklevel=1)
    try:
        raise RuntimeError(f"failed with {TOKEN}")
    except RuntimeError:
        logging.getLogger("streaq").exception("task failed")
    sys.excepthook(ValueError, ValueError(TOKEN), None)  # what an uncaught exception goes through
    warned, failed, uncaught = lines(written)
    assert warned["logger"] == "py.warnings" and warned["level"] == "WARNING"
    assert failed["logger"] == "streaq" and "RuntimeError" in str(failed["exc_info"])
    assert uncaught["level"] == "CRITICAL" and "ValueError" in str(uncaught["exc_info"])
    assert TOKEN not in written.getvalue()
