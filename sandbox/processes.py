"""The sandbox's child processes: its own redis-server and the real bot (`python -m bot`).

Each child is told by the kernel to stop when the sandbox dies (Linux's parent-death signal), so even a `kill -9`
of the sandbox leaves no redis-server or bot behind; a normal stop sends SIGTERM and waits.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

__all__ = ["Child", "free_port", "start_bot", "start_redis"]

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM when the parent exits, however it exits."""
    with contextlib.suppress(OSError):  # not glibc Linux: a normal stop still ends the children
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """One started process: `stop()` ends it (SIGTERM, then SIGKILL after `grace` seconds)."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.name, self.process, self.log = name, process, log

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _spawn(name: str, argv: list[str], log: Path, **options: object) -> Child:
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   # its own session: a terminal's Ctrl-C reaches the sandbox only, which then
                                   # stops the bot before Redis
                                   start_new_session=True, preexec_fn=_die_with_parent,
                                   **options)  # type: ignore[call-overload]
    return Child(name, process, log)


def _wait_until(ready: Callable[[], bool], child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")
        time.sleep(0.03)
    child.stop()
    raise RuntimeError(f"{child.name} did not start within {timeout:.0f} s:\n{child.tail()}")


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(data_dir: Path) -> tuple[Child, str]:
    """A redis-server on a free loopback port with its files under `data_dir`. Returns it and its URL.

    Nothing is persisted: the emulators keep their state in memory, so a Redis that remembered the last run would
    hold links to Google accounts and cards of meetings that no longer exist. Every sandbox starts a fresh world."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server); see README")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    child = _spawn("redis-server", [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
                                    "--save", "", "--appendonly", "no", "--loglevel", "warning"],
                   data_dir / "redis.log")
    _wait_until(lambda: _redis_answers(port), child, 10)
    return child, f"redis://127.0.0.1:{port}/0"


def start_bot(env: dict[str, str], workdir: Path, port: int) -> Child:
    """`python -m bot` with exactly `env` (nothing of the caller's environment but PATH and HOME, and the source
    tree on PYTHONPATH), in `workdir` so that no ./.env is read; waits for /healthz."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = str(Path(__file__).resolve().parent.parent)
    full = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(workdir)),
            "PYTHONPATH": source, **env, "PORT": str(port)}
    child = _spawn("the bot", [sys.executable, "-m", "bot"], workdir / "bot.log", env=full, cwd=workdir)

    # One client for the whole wait: each new one would load the CA bundle (about 50 ms of CPU, taken from the
    # bot that is starting beside it).
    with httpx.Client(timeout=0.5) as http:
        def healthy() -> bool:
            try:
                return http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        _wait_until(healthy, child, 30)
    return child
