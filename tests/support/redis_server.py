"""A private, throw-away redis-server on a free loopback port (never the machine's shared one)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.ports import free_port


class RedisServer:
    def __init__(self, port: int | None = None) -> None:
        self._own_port_choice = port is None
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="meetbot-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it, on another free port if a neighbour (pytest-xdist runs several workers) took the one chosen.
        A restart (start after stop) keeps its port: the bot under test still points there."""
        may_move = self._own_port_choice and self._process is None
        for _ in range(3):
            if self._launch():
                return self
            if not may_move:
                break
            self.port = free_port()
        raise RuntimeError(f"redis-server could not start on port {self.port}")

    def _launch(self) -> bool:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: see README.md > Prerequisites")
        self._dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self._dir), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._answers():
                return True
            if self._process.poll() is not None:
                return False  # most likely the port was taken
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start within 10 s")

    def _answers(self) -> bool:
        """Our own redis-server answers: the one that answers on the port is the process we started (another
        worker's server on the same port must never be taken for ours, and flushed)."""
        assert self._process is not None
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                conn.sendall(b"INFO server\r\n")
                reply = b""
                while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        return False
                    reply += chunk
        except OSError:
            return False
        return f"process_id:{self._process.pid}\r\n".encode() in reply

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        shutil.rmtree(self._dir, ignore_errors=True)

