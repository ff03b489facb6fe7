"""Command line: `python -m bot` runs the bot; `check` checks the set-up; `rotate-keys` re-encrypts tokens;
`sandbox` runs meetbot against the emulators, in a browser page."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from bot import VERSION
from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging

__all__ = ["main"]


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional (Windows, PyPy)
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _run(coroutine: Coroutine[Any, Any, int | None]) -> int | None:
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(coroutine)


def _settings_or_exit() -> Settings:
    # Until the settings are read, log as LOG_FORMAT asks if it can be read at all: with json, even the lines
    # about a bad configuration are JSON objects.
    early_format = "json" if os.environ.get("LOG_FORMAT", "").strip().lower() == "json" else "text"
    configure_logging("INFO", early_format)
    try:
        settings = load_settings()
    except ConfigError as error:
        if early_format == "json":
            log = logging.getLogger("bot.config")
            for problem in error.problems:
                log.error("configuration problem: %s", problem, extra={"problem": problem})
            log.error("meetbot cannot start: see README.md > Configuration; `python -m bot check` re-runs these "
                      "checks")
            raise SystemExit(2) from None
        print(f"meetbot cannot start: {len(error.problems)} configuration problem(s)", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        print("See README.md > Configuration. `python -m bot check` re-runs these checks.", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _layout_or_exit(settings: Settings) -> None:
    """A start against data from a newer layout stops here, before anything is written (exit code 3)."""
    from bot.store.layout import UnknownLayout, check_layout  # not bot.server: nothing else is set up yet

    try:
        _run(check_layout(settings))
    except UnknownLayout as refused:
        if settings.log_format == "json":  # every line a JSON object
            logging.getLogger("bot.store").error(refused.line())
        else:
            print(refused.line(), file=sys.stderr)
        raise SystemExit(3) from None


def _cmd_run() -> int:
    settings = _settings_or_exit()
    if settings.web_concurrency > 1:
        from bot.workers import metrics_directory, run_workers

        with metrics_directory():  # before anything makes the instruments (bot.store, bot.server import them)
            _layout_or_exit(settings)
            from bot.server import serve

            def serve_one() -> None:
                _run(serve(settings))

            return run_workers(settings.web_concurrency, serve_one)
    _layout_or_exit(settings)
    from bot.server import serve

    _run(serve(settings))
    return 0


def _cmd_worker() -> int:
    settings = _settings_or_exit()
    _layout_or_exit(settings)
    from bot.server import serve_jobs

    _run(serve_jobs(settings))
    return 0


def _cmd_check() -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        for problem in error.problems:
            print(f"FAIL  config   {problem}")
        return 1
    from bot.check import run_checks

    async def checks() -> int:
        results = await run_checks(settings)
        for result in results:
            print(result.line())
        return 0 if all(r.ok for r in results) else 1

    return _run(checks()) or 0


def _cmd_rotate() -> int:
    from bot.rotate import cmd_rotate_keys

    return cmd_rotate_keys()


def _cmd_sandbox(argv: list[str]) -> int:
    # The one import of the sandbox from bot/ (tests/unit/test_layers.py): lazy, so production never loads it.
    from sandbox.run import main as run_sandbox

    return int(run_sandbox(argv))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="meetbot: Google Meet from Slack")
    parser.add_argument("--version", action="version", version=f"meetbot {VERSION}")
    commands: dict[str, Callable[[], int]] = {"run": _cmd_run, "worker": _cmd_worker, "check": _cmd_check,
                                              "rotate-keys": _cmd_rotate}
    parser.add_argument("command", nargs="?", default="run", choices=[*commands, "sandbox"])
    args, rest = parser.parse_known_args(argv)
    if args.command == "sandbox":  # its own options (--host, --allow-host): `python -m bot sandbox --help`
        return _cmd_sandbox(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return commands[args.command]()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
