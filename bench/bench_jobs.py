"""Durable jobs: what the queue adds to the ack path, how fast a queued job starts, and how long a job held by a
killed worker takes to finish elsewhere.

    python -m bench.bench_jobs [--jobs 2000] [--crash-jobs 20]

Runs against a private redis-server on a free port. Baseline, measured in the same run on the same Redis: one
`SET NX EX` round trip through redis-py, which is what the in-process runner's dedupe marker cost on the ack path
before jobs were durable. Prints a table and writes bench/results/jobs.json.

1. enqueue: `JobQueue.enqueue` latency (the only thing on the ack path), p50/p99, against the baseline.
2. enqueue → start: from enqueue to the job's first line running, with the worker in the same process.
3. crash recovery: a worker process takes `--crash-jobs` half-second jobs and is killed (SIGKILL) while they run;
   a fresh worker process starts at once; the time from the kill until every job has finished, and how many ran
   more than once or never.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import textwrap
import time
from pathlib import Path

import redis.asyncio as aioredis

from bot.jobs.queue import IDLE_TIMEOUT, JobQueue
from tests.support.redis_server import RedisServer

RESULTS = Path(__file__).resolve().parent / "results" / "jobs.json"
PROJECT = str(Path(__file__).resolve().parent.parent)

WORKER = textwrap.dedent("""
    import asyncio, sys, time
    import redis.asyncio as aioredis
    from bot.jobs.queue import JobQueue
    url = sys.argv[1]
    async def main() -> None:
        queue = JobQueue(url)
        marks = aioredis.Redis.from_url(url)
        @queue.job("bench.slow")
        async def slow(payload: dict) -> None:
            await marks.rpush("bench:started", payload["n"])
            await asyncio.sleep(0.5)
            await marks.rpush("bench:finished", payload["n"])
        queue.start()
        await asyncio.Event().wait()
    asyncio.run(main())
""")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def ack_path(url: str, n: int) -> dict[str, float]:
    queue = JobQueue(url)

    @queue.job("bench.noop")
    async def noop(payload: dict[str, object]) -> None:
        return None

    redis = aioredis.Redis.from_url(url)
    enqueue, baseline = [], []
    for i in range(n):  # interleaved, so both see the same machine
        t0 = time.perf_counter()
        await queue.enqueue("bench.noop", {"n": i}, f"ack-{i}")
        enqueue.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await redis.set(f"bench:seen:{i}", b"1", nx=True, ex=60)
        baseline.append((time.perf_counter() - t0) * 1000)
    await queue.stop(0)
    await redis.aclose()
    return {"enqueue_p50": statistics.median(enqueue), "enqueue_p99": pct(enqueue, 0.99),
            "baseline_p50": statistics.median(baseline), "baseline_p99": pct(baseline, 0.99)}


async def start_latency(url: str, n: int) -> dict[str, float]:
    queue = JobQueue(url)
    started: dict[int, float] = {}
    done = asyncio.Event()

    @queue.job("bench.mark")
    async def mark(payload: dict[str, object]) -> None:
        started[int(str(payload["n"]))] = time.perf_counter()
        if len(started) == n:
            done.set()

    queue.start()
    await asyncio.sleep(0.5)
    sent: dict[int, float] = {}
    for i in range(n):
        sent[i] = time.perf_counter()
        await queue.enqueue("bench.mark", {"n": i}, f"start-{i}")
        await asyncio.sleep(0.002)  # an open loop, like requests arriving
    await asyncio.wait_for(done.wait(), 60)
    await queue.stop(1)
    waits = [(started[i] - sent[i]) * 1000 for i in range(n)]
    return {"start_p50": statistics.median(waits), "start_p99": pct(waits, 0.99)}


async def crash_recovery(url: str, jobs: int, script: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": PROJECT}
    first = await asyncio.create_subprocess_exec(sys.executable, script, url, env=env)
    redis = aioredis.Redis.from_url(url)
    queue = JobQueue(url)

    @queue.job("bench.slow")
    async def slow(payload: dict[str, object]) -> None:  # registered so this process can enqueue it
        return None

    await asyncio.sleep(1.5)  # the worker is up
    for i in range(jobs):
        await queue.enqueue("bench.slow", {"n": i}, f"crash-{i}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if await redis.llen("bench:started") >= 1:
            break
        await asyncio.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    await first.wait()
    second = await asyncio.create_subprocess_exec(sys.executable, script, url, env=env)
    try:
        deadline = killed + 60
        while time.monotonic() < deadline:
            finished = {int(x) for x in await redis.lrange("bench:finished", 0, -1)}
            if len(finished) == jobs:
                break
            await asyncio.sleep(0.05)
        recovered = time.monotonic() - killed
        runs = [int(x) for x in await redis.lrange("bench:finished", 0, -1)]
    finally:
        second.send_signal(signal.SIGKILL)
        await second.wait()
        await queue.stop(0)
        await redis.aclose()
    return {"recovery_s": recovered, "lost": jobs - len(set(runs)), "ran_twice": len(runs) - len(set(runs))}


async def flush(url: str) -> None:
    redis = aioredis.Redis.from_url(url)
    await redis.flushall()
    await redis.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--crash-jobs", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"meetbot-bench-jobs-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / "bench_worker.py"
    script.write_text(WORKER)
    server = RedisServer().start()
    try:
        ack = await ack_path(server.url, args.jobs)
        await flush(server.url)  # each phase starts on an empty queue (this run's private Redis only)
        start = await start_latency(server.url, min(args.jobs, 500))
        await flush(server.url)
        crash = await crash_recovery(server.url, args.crash_jobs, str(script))
    finally:
        server.stop()
    rows = [
        ("enqueue (ack path) p50 / p99 ms", f"{ack['enqueue_p50']:.3f} / {ack['enqueue_p99']:.3f}"),
        ("baseline SET NX EX p50 / p99 ms", f"{ack['baseline_p50']:.3f} / {ack['baseline_p99']:.3f}"),
        ("enqueue p50 added over baseline ms", f"{ack['enqueue_p50'] - ack['baseline_p50']:.3f}"),
        ("ratio enqueue / baseline (p50)", f"{ack['enqueue_p50'] / ack['baseline_p50']:.2f}x"),
        ("enqueue -> start p50 / p99 ms", f"{start['start_p50']:.2f} / {start['start_p99']:.2f}"),
        (f"crash recovery, {args.crash_jobs} jobs (s)", f"{crash['recovery_s']:.1f} (take-over {IDLE_TIMEOUT:.0f} s)"),
        ("lost / ran twice after kill -9", f"{crash['lost']} / {crash['ran_twice']}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"ack": ack, "start": start, "crash": crash}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
