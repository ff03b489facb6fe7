"""What the metrics cost on the ack path: ack p50 of meetbot with its metrics on (`python -m bot`) against the same
bot with every metric recording call a no-op (`python -m bench.nometrics`), measured in the same run, interleaved.

    python -m bench.bench_metrics [--rounds 3] [--duration 4] [--conns 1,16] [--tool auto|wrk|python] [--quick]

Two acks are timed: `/meet help` (answered on the fast path, before Bolt) and `/meet me` (through the front door,
Bolt, a Redis read and the action line). Both bots run side by side against the same emulators and Redis; each
round measures every (command, connections) pair on both, in alternating order, and the table reports the median
of the rounds' p50s. The ack's own metric call is also timed in this process (timeit, no network): what metrics can
add to an ack at most, whatever the noise of a shared machine does to the p50s. Target: metrics on ≤ 1.05x
metrics off. Everything is on 127.0.0.1; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import timeit

from bench.__main__ import Row, _loop_factory, ms, render, times, verdict
from bench.common import CHANNEL, ROOT, Harness, run_load, signed_spec, wrk_available
from bot import metrics
from tests.support.bot_process import BotProcess
from tests.support.slack_requests import slash_command

TARGET = 1.05
COMMANDS = {"help": slash_command("help", channel_id=CHANNEL, trigger_id="1000.bench-help"),
            "me": slash_command("me", channel_id=CHANNEL, trigger_id="1000.bench-me")}
SERVERS = {"on": "bot", "off": "bench.nometrics"}


async def measure(h: Harness, bots: dict[str, BotProcess], args: argparse.Namespace, tool: str) -> list[Row]:
    levels = [int(c) for c in args.conns.split(",")]
    p50s: dict[tuple[str, int, str], list[float]] = {}
    for bot in bots.values():  # warm both the same way before timing either
        for body, content_type in COMMANDS.values():
            await run_load(bot.url + "/slack/events", signed_spec(body, content_type), conns=16, duration=1,
                           tool=tool, workdir=h.workdir)
    for round_ in range(args.rounds):
        for command, (body, content_type) in COMMANDS.items():
            for conns in levels:
                order = list(bots) if round_ % 2 == 0 else list(reversed(bots))
                for name in order:
                    result = await run_load(bots[name].url + "/slack/events", signed_spec(body, content_type),
                                            conns=conns, duration=args.duration, tool=tool, workdir=h.workdir)
                    if result["errors"] or result["non2xx"]:
                        raise RuntimeError(f"metrics {name}: {result['errors']} errors, {result['non2xx']} non-2xx")
                    p50s.setdefault((command, conns, name), []).append(result["p50_ms"])
                    print(f"  round {round_ + 1}  /meet {command:<4} {conns:>3} conns  metrics {name:<3}  "
                          f"p50 {result['p50_ms']:.3f} ms  {result['rps']:.0f} req/s", flush=True)
    rows = []
    per_ack = metric_call_seconds() * 1000
    for command in COMMANDS:
        for conns in levels:
            on, off = (statistics.median(p50s[(command, conns, n)]) for n in ("on", "off"))
            ratio = on / off
            rows.append(Row("metrics overhead", f"/meet {command} ack p50 @{conns} conn", ms(on),
                            f"metrics off {ms(off)}", times(ratio, "off"), f"≤ {TARGET:.2f}x off",
                            verdict(ratio <= TARGET)))
        off_1 = statistics.median(p50s[(command, levels[0], "off")])
        rows.append(Row("metrics overhead", f"/meet {command}: the ack's metric call", ms(per_ack),
                        f"ack p50 off @{levels[0]} conn {ms(off_1)}", times(1 + per_ack / off_1, "off"),
                        f"≤ {TARGET:.2f}x off", verdict(1 + per_ack / off_1 <= TARGET)))
    return rows


def metric_call_seconds(calls: int = 200_000) -> float:
    """Seconds per `metrics.ack(...)` as the web route makes it (the kind's lookup included)."""
    body = {"command": "/meet", "text": "me", "team_id": "T0001"}
    return timeit.timeit(lambda: metrics.ack(metrics.ack_kind(body), 0.001), number=calls) / calls


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_metrics", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per run")
    parser.add_argument("--conns", default="1,16", help="comma-separated connection counts")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--quick", action="store_true", help="one short round: a smoke test, not a measurement")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 1.0
    tool = "wrk" if args.tool == "wrk" or (args.tool == "auto" and wrk_available()) else "python"
    started = time.time()
    with Harness(with_bot=False, baselines_wanted=()) as h:
        env = {**h.bot_env(), "PYTHONPATH": str(ROOT)}  # both alike; bench.nometrics lives in this checkout
        bots: dict[str, BotProcess] = {}
        try:
            for name, module in SERVERS.items():  # kept as they start: one that fails stops the others
                bots[name] = BotProcess(env, h.workdir / f"bot-{name}", module=module)
                bots[name].start()
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                rows = runner.run(measure(h, bots, args, tool))
        finally:
            for bot in bots.values():
                bot.stop()
    print()
    print(render(rows))
    print(f"\n{args.rounds} round(s) of {args.duration:.0f} s per run, load tool {tool}, "
          f"{time.time() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
