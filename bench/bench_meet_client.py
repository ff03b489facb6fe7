"""MeetClient.get_space overhead vs a raw httpx GET of the same URL with the same header.

    python -m bench.bench_meet_client [--calls 3000] [--rounds 10] [--warmup 300]

Starts the Meet emulator in-process (answers instantly), then runs interleaved rounds of sequential calls: each round
times a batch through MeetClient (URL building, credential header, retry wrapper, JSON parse, Space model) and a
batch of bare `httpx.AsyncClient.get` calls, alternating which goes first. Both share one httpx.AsyncClient, so the
same connection pool and keep-alive connection serve both. Prints p50/mean µs per call, calls/s, and the ratio
client/raw; writes bench/results/meet_client.json. Target: ratio ≤ 1.3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import perf_counter_ns

from bot.meet.client import MeetClient, build_http_client
from emulators.meet import MeetEmulator

RESULTS = Path(__file__).resolve().parent / "results" / "meet_client.json"
TARGET = 1.3


async def _batch(call: Callable[[], Awaitable[object]], n: int, into: list[int]) -> None:
    for _ in range(n):
        start = perf_counter_ns()
        await call()
        into.append(perf_counter_ns() - start)


async def run(calls: int, rounds: int, warmup: int, emu: MeetEmulator) -> dict[str, object]:
    token = emu.state.mint_token("bench@example.com", ["meetings.space.created"])
    space = emu.state.create_space("bench@example.com", client_id="meetbot")["name"]
    url = f"{emu.url}/v2/{space}"
    headers = {"Authorization": f"Bearer {token}"}

    async with build_http_client() as http:
        client = MeetClient(http, emu.url)

        async def via_client() -> object:
            return await client.get_space(token, space)

        async def raw() -> object:
            response = await http.get(url, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"raw GET answered {response.status_code}")
            return response

        assert (await client.get_space(token, space)).name == space
        sink: list[int] = []
        await _batch(via_client, warmup, sink)
        await _batch(raw, warmup, sink)

        timings: dict[str, list[int]] = {"client": [], "raw": []}
        per_round = max(1, calls // rounds)
        for i in range(rounds):
            order = [("client", via_client), ("raw", raw)]
            if i % 2:
                order.reverse()
            for name, fn in order:
                await _batch(fn, per_round, timings[name])

    rows = {}
    for name, samples in timings.items():
        mean = statistics.fmean(samples) / 1000
        rows[name] = {
            "calls": len(samples),
            "p50_us": round(statistics.median(samples) / 1000, 1),
            "p90_us": round(statistics.quantiles(samples, n=10)[-1] / 1000, 1),
            "mean_us": round(mean, 1),
            "calls_per_s": round(1e6 / mean, 1),
        }
    ratio_mean = rows["client"]["mean_us"] / rows["raw"]["mean_us"]
    ratio_p50 = rows["client"]["p50_us"] / rows["raw"]["p50_us"]
    return {
        "benchmark": "meet_client.get_space vs raw httpx GET",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "rounds": rounds,
        "warmup": warmup,
        "results": rows,
        "ratio_mean": round(ratio_mean, 3),
        "ratio_p50": round(ratio_p50, 3),
        "target": TARGET,
        "ok": ratio_mean <= TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=3000, help="measured calls per variant")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=300)
    args = parser.parse_args()

    with MeetEmulator() as emu:
        report = asyncio.run(run(args.calls, args.rounds, args.warmup, emu))

    rows = report["results"]
    assert isinstance(rows, dict)
    print(f"{'variant':<8} {'calls':>6} {'p50 µs':>9} {'p90 µs':>9} {'mean µs':>9} {'calls/s':>9}")
    for name, row in rows.items():
        print(
            f"{name:<8} {row['calls']:>6} {row['p50_us']:>9.1f} {row['p90_us']:>9.1f} "
            f"{row['mean_us']:>9.1f} {row['calls_per_s']:>9.1f}"
        )
    verdict = "ok" if report["ok"] else "OVER TARGET"
    ratios = f"mean {report['ratio_mean']:.3f}, p50 {report['ratio_p50']:.3f}"
    print(f"ratio client/raw: {ratios} (target ≤ {TARGET}: {verdict})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


if __name__ == "__main__":
    main()
