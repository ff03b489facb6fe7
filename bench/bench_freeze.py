"""Acks while Redis is frozen (issue 22, item 9): how long Slack waits when Redis accepts connections and answers
nothing (SIGSTOP) for 10 s.

    python -m bench.bench_freeze [--freeze 10] [--burst 80] [--rate 8]

The bot runs as `python -m bot` against the emulators and a private redis-server. Each phase sends a burst of
signed requests at once, then a steady stream for the rest of the phase: `/meet me`, `/meet new`, `/meet status`,
`/meet connect` and a "Status for me" click, in turn. Baseline, same run: the same traffic with Redis answering.
Slack gives up on an ack after 3 s; the target during a freeze is a p99 under 2 s. Bounded: every request has a
10 s client timeout, every phase its duration, and Redis is resumed (SIGCONT) whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import time

import httpx

from bench.common import CHANNEL, EVENTS_PATH, Harness
from tests.support.flows import block_action
from tests.support.slack_requests import sign, slash_command

SLACK_LIMIT = 3.0


def _requests(n: int, response_url: str) -> list[tuple[str, str]]:
    kinds = ["me", "new Freeze", "status abc-mnop-xyz", "connect"]
    out: list[tuple[str, str]] = []
    for i in range(n):
        if i % 5 == 4:
            out.append(block_action("meet_status_me", "abc-mnop-xyz", user_id=f"U{i:05d}", channel=CHANNEL,
                                    message_ts=None, response_url=response_url))
        else:
            out.append(slash_command(kinds[i % 5], user_id=f"U{i:05d}", trigger_id=f"t{time.time_ns()}.{i}"))
    return out


async def _phase(url: str, burst: int, rate: float, duration: float, response_url: str) -> list[float]:
    latencies: list[float] = []
    slowest: dict[str, float] = {}

    async def one(client: httpx.AsyncClient, request: tuple[str, str]) -> None:
        body, content_type = request
        kind = "status-me click" if "block_actions" in body else body.split("text=")[1].split("&")[0].split("+")[0]
        started = time.perf_counter()
        try:
            answer = await client.post(url, content=body, headers={"Content-Type": content_type, **sign(body)})
            took = time.perf_counter() - started
            latencies.append(took if answer.status_code == 200 else float("inf"))
            slowest[kind] = max(slowest.get(kind, 0.0), latencies[-1])
        except httpx.HTTPError:
            latencies.append(float("inf"))

    limits = httpx.Limits(max_connections=burst + 16)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        tasks = [asyncio.create_task(one(client, r)) for r in _requests(burst, response_url)]
        steady = _requests(int(rate * duration), response_url)
        started = time.monotonic()
        for n, request in enumerate(steady):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(client, request)))
        await asyncio.gather(*tasks)
    print("slowest ack by kind (ms):", {k: round(v * 1000) for k, v in sorted(slowest.items())})
    return latencies


def _row(name: str, latencies: list[float]) -> str:
    done = sorted(latencies)
    p50 = statistics.median(done)
    p99 = done[min(len(done) - 1, int(len(done) * 0.99))]
    late = sum(1 for x in done if x > SLACK_LIMIT)
    cells = f"{len(done):>5} | {p50 * 1000:>8.0f} | {p99 * 1000:>8.0f} | {done[-1] * 1000:>8.0f} | {late:>9}"
    return f"| {name:<24} | {cells} |"


async def main(freeze: float, burst: int, rate: float) -> None:
    with Harness(baselines_wanted=()) as harness:
        assert harness.bot is not None and harness.redis_server is not None and harness.slack is not None
        url = harness.bot.url + EVENTS_PATH
        response_url = harness.slack.response_url("freeze")
        await _phase(url, 10, 1, 1, response_url)  # warm: connections open, as in production
        healthy = await _phase(url, burst, rate, freeze, response_url)
        await harness.quiesce(limit=30)
        process = harness.redis_server._process
        assert process is not None
        os.kill(process.pid, signal.SIGSTOP)
        try:
            frozen = await _phase(url, burst, rate, freeze, response_url)
        finally:
            os.kill(process.pid, signal.SIGCONT)
        print(f"\nAck latency, burst of {burst} then {rate:g}/s for {freeze:g} s (ms; Slack's limit 3,000)\n")
        print("| phase                    |  acks |      p50 |      p99 |      max | over 3 s  |")
        print("|--------------------------|-------|----------|----------|----------|-----------|")
        print(_row("Redis answering", healthy))
        print(_row(f"Redis frozen {freeze:g} s", frozen))
        ratio = sorted(frozen)[int(len(frozen) * 0.99)] / max(sorted(healthy)[int(len(healthy) * 0.99)], 1e-6)
        print(f"\np99 frozen / p99 answering: {ratio:.1f}x; target: p99 frozen < 2,000 ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--freeze", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=80)
    parser.add_argument("--rate", type=float, default=8.0)
    args = parser.parse_args()
    asyncio.run(main(args.freeze, args.burst, args.rate))
