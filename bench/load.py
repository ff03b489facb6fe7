"""A small HTTP/1.1 keep-alive load client on asyncio (uvloop when installed): the fallback when wrk is missing,
and the paced probe of scenario 3 (wrk can't pace).

    python -m bench.load --url http://127.0.0.1:PORT/slack/events --spec spec.json --conns 16 --duration 5
    python -m bench.load ... --rate 100          # paced: about 100 requests/s spread over the connections
    python -m bench.load ... --count 20000       # stop after this many responses

`spec.json` is {"headers": {...}, "bodies": ["...", ...]} and optionally "method" (POST unless given): the requests
are pre-built (already signed) and cycled through, so the client does no per-request work beyond writing bytes and
parsing a status line and a length.
Prints one JSON line: requests, errors, non-2xx answers, duration, req/s and latency percentiles in ms. Every loop
is bounded by --duration (and --count), plus a hard --deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["summarize"]


def summarize(latencies_ns: list[int], duration: float, requests: int, errors: int, non2xx: int) -> dict[str, Any]:
    ordered = sorted(latencies_ns)

    def pct(p: float) -> float | None:
        if not ordered:
            return None
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return round(ordered[index] / 1e6, 3)

    return {
        "requests": requests,
        "errors": errors,
        "non2xx": non2xx,
        "duration_s": round(duration, 3),
        "rps": round(requests / duration, 1) if duration > 0 else 0.0,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "p999_ms": pct(99.9),
        "max_ms": round(ordered[-1] / 1e6, 3) if ordered else None,
        "mean_ms": round(sum(ordered) / len(ordered) / 1e6, 3) if ordered else None,
    }


class _Conn(asyncio.Protocol):
    """One keep-alive connection: write a request, wait for one complete response (Content-Length or chunked)."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        status = int(head[9:12])
        marker = head.find(b"\r\ncontent-length:")
        if marker >= 0:
            stop = head.find(b"\r\n", marker + 2)
            length = int(head[marker + 17 : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(self.buf) < total:
                return
        elif b"transfer-encoding: chunked" in head:
            tail = self.buf.find(b"0\r\n\r\n", end + 4)
            if tail < 0:
                return
            total = tail + 5
        else:
            total = end + 4
        del self.buf[:total]
        self.waiter.set_result(status)

    async def roundtrip(self, request: bytes) -> int:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def build_requests(url: str, spec: dict[str, Any]) -> list[bytes]:
    parts = urlsplit(url)
    path = parts.path or "/"
    host = parts.netloc
    method = spec.get("method", "POST")
    out = []
    for body in spec["bodies"]:
        raw = body.encode()
        headers = {"Host": host, "Content-Length": str(len(raw)), "Connection": "keep-alive", **spec["headers"]}
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        out.append(head.encode() + raw)
    return out


async def run(url: str, requests: list[bytes], *, conns: int, duration: float, count: int | None, rate: float | None,
              warmup: float, deadline: float) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    latencies: list[int] = []
    counters = {"requests": 0, "errors": 0, "non2xx": 0, "sent": 0}
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration
    hard_stop = start + deadline
    interval = conns / rate if rate else 0.0
    perf_ns: Callable[[], int] = time.perf_counter_ns

    async def connect() -> _Conn:
        _, proto = await loop.create_connection(_Conn, host, port)
        return proto

    async def worker(index: int) -> None:
        conn = await connect()
        i = index
        next_send = time.perf_counter() + (interval * index / conns if interval else 0.0)
        while True:
            now = time.perf_counter()
            if now >= stop_at or now >= hard_stop or (count is not None and counters["sent"] >= count):
                break
            if interval:
                if next_send > now:
                    await asyncio.sleep(next_send - now)
                next_send += interval
            counters["sent"] += 1
            request = requests[i % len(requests)]
            i += conns
            t0 = perf_ns()
            try:
                status = await asyncio.wait_for(conn.roundtrip(request), timeout=max(0.1, hard_stop - now))
            except (TimeoutError, ConnectionError, OSError):
                counters["errors"] += 1
                if conn.transport is not None:
                    conn.transport.close()
                try:
                    conn = await connect()
                except OSError:
                    await asyncio.sleep(0.05)
                continue
            elapsed = perf_ns() - t0
            if conn.closed:
                conn = await connect()
            if t0 / 1e9 >= measure_from or count is not None:
                counters["requests"] += 1
                latencies.append(elapsed)
                if not 200 <= status < 300:
                    counters["non2xx"] += 1
        if conn.transport is not None:
            conn.transport.close()

    await asyncio.gather(*(worker(i) for i in range(conns)))
    ended = time.perf_counter()
    measured = ended - (start if count is not None else measure_from)
    return summarize(latencies, measured, counters["requests"], counters["errors"], counters["non2xx"])


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True)
    parser.add_argument("--spec", required=True, help="JSON file: {headers, bodies}")
    parser.add_argument("--conns", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds (after --warmup)")
    parser.add_argument("--warmup", type=float, default=0.0, help="seconds of load before measuring")
    parser.add_argument("--count", type=int, default=None, help="stop after this many requests")
    parser.add_argument("--rate", type=float, default=None, help="paced total requests per second")
    parser.add_argument("--deadline", type=float, default=120.0, help="hard stop, seconds")
    args = parser.parse_args()
    with open(args.spec) as handle:
        spec = json.load(handle)
    requests = build_requests(args.url, spec)
    duration = args.duration if args.count is None else args.deadline
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        result = runner.run(run(args.url, requests, conns=args.conns, duration=duration, count=args.count,
                                rate=args.rate, warmup=args.warmup, deadline=args.deadline))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
