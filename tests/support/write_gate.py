"""A TCP proxy in front of a test's Redis that holds back the first SET of one key: the bot's write of it never
reaches Redis, and the test knows the moment it was sent. So a test can `kill -9` the bot exactly between two of
its steps (say, after Google answered and before the result is stored), however fast the machine.

It runs on its own thread and loop: BotProcess.start() blocks the test's loop while the bot starts through it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from urllib.parse import urlsplit

from tests.support.ports import free_port

CHUNK = 65536


class WriteGate:
    def __init__(self, redis_url: str, key: str) -> None:
        target = urlsplit(redis_url)
        self._target = (target.hostname or "127.0.0.1", target.port or 6379)
        self._pattern = f"$3\r\nSET\r\n${len(key.encode())}\r\n{key}\r\n".encode()
        self.port = free_port()
        self.held = threading.Event()  # set once the write was sent and held back
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="write-gate", daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> WriteGate:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", self.port), self._loop).result(5)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(*self._target)
        pumps = [asyncio.ensure_future(self._pump(client_in, server_out, gated=True)),
                 asyncio.ensure_future(self._pump(server_in, client_out))]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)  # either side closed: close both
        finally:
            for pump in pumps:
                pump.cancel()
            for writer in (client_out, server_out):
                writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gated: bool = False) -> None:
        holding = False
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(CHUNK):
                if gated and not self.held.is_set() and self._pattern in data:
                    self.held.set()
                    holding = True  # this connection's writes from here on never reach Redis
                if not holding:
                    writer.write(data)
                    await writer.drain()
