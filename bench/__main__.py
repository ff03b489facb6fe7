"""`python -m bench` (= `make bench`): meetbot against its baselines, all measured in this run. See bench/README.md.

    python -m bench                 # everything, about 3 minutes
    python -m bench --quick         # short runs, a smoke test of the suite (figures are noisier)
    python -m bench --only 1,4      # some scenarios
    python -m bench --tool python   # the asyncio load client even when wrk is installed

Prints a table (scenario, metric, meetbot, baselines, ratio, target, holds?) and writes bench/results/bench.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.common import JSON, Harness, wrk_available

RESULTS = Path(__file__).resolve().parent / "results" / "bench.json"


# --- table ------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    metric: str
    meetbot: str
    baselines: str = ""
    ratio: str = ""
    target: str = ""
    holds: str = ""


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f} ms" if value < 1 else f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"


def rate(value: float) -> str:
    return f"{value:,.0f}/s"


def times(value: float, ref: str) -> str:
    return f"{value:.2f}x {ref}" if value < 10 else f"{value:.1f}x {ref}"


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def ratio_of(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def help_rows(result: JSON) -> list[Row]:
    rows = []
    for level, servers in result["levels"].items():
        bot, raw, bolt, pbr = (servers.get(k) for k in ("meetbot", "raw", "bolt", "bolt_pbr"))
        assert bot is not None
        for key, label, fmt in (("p50_ms", "p50", ms), ("p99_ms", "p99", ms), ("rps", "req/s", rate)):
            base = " · ".join(f"{name} {fmt(s[key])}" for name, s in (("raw", raw), ("bolt", bolt), ("bolt-pbr", pbr))
                              if s)
            row = Row("1 help ack", f"{label} @{level} conn", fmt(bot[key]), base)
            if key == "p50_ms" and level == "1" and raw:
                r = ratio_of(bot[key], raw[key])
                row.ratio, row.target = times(r, "raw") if r else "—", "≤ 2x raw"
                row.holds = verdict(r is not None and r <= 2.0)
            elif key == "rps" and level == "64" and bolt:
                r = ratio_of(bot[key], bolt[key])
                row.ratio, row.target = times(r, "bolt") if r else "—", "≥ 1.0x bolt"
                row.holds = verdict(r is not None and r >= 1.0)
            elif bolt:
                r = ratio_of(bot[key], bolt[key])
                row.ratio = times(r, "bolt") if r else "—"
            if bot["errors"] or bot["non2xx"]:
                row.holds = (row.holds + " ").lstrip() + f"({bot['errors']} errors, {bot['non2xx']} non-2xx)"
            rows.append(row)
    return rows


def create_rows(result: JSON, capacity: JSON | None) -> list[Row]:
    done = result["completion"]
    base = ""
    ratio = ""
    if capacity:
        base = (f"harness ceiling {rate(capacity['ceiling_per_s'])} · Meet emu {rate(capacity['meet_create_per_s'])}"
                f" · ideal {rate(capacity['ideal_per_s'])}")
        ratio = times(result["per_s"] / capacity["ceiling_per_s"], "ceiling") if capacity["ceiling_per_s"] else ""
    failed = f" ({result['failed']} failed)" if result["failed"] else ""
    ceiling = capacity["ceiling"]["completion"] if capacity else {}
    return [
        Row("2 create", f"completions/s @{result['workers']}", rate(result["per_s"]) + failed, base, ratio,
            "≥ 300/s", verdict(result["per_s"] >= 300)),
        Row("2 create", "p50 request→card", ms(done["p50_ms"]),
            f"ceiling {ms(ceiling.get('p50_ms'))}" if capacity else "", "", "", ""),
        Row("2 create", "p99 request→card", ms(done["p99_ms"]),
            f"ceiling {ms(ceiling.get('p99_ms'))}" if capacity else "", "", "< 1000 ms",
            verdict(done["p99_ms"] is not None and done["p99_ms"] < 1000 and not result["failed"])),
        Row("2 create", "ack p99 (the /meet itself)", ms(result["ack"]["p99_ms"])),
    ]


def probe_rows(result: JSON, idle: JSON) -> list[Row]:
    probe = result["probe"]
    creates = result["creates"]
    lost = probe["errors"] + probe["non2xx"]
    note = f" ({lost} lost)" if lost else ""
    r50 = ratio_of(probe["p50_ms"], idle["p50_ms"])
    r99 = ratio_of(probe["p99_ms"], idle["p99_ms"])
    return [
        Row("3 ack under load", f"help p50 ({rate(creates['per_s'])} creates)", ms(probe["p50_ms"]),
            f"idle {ms(idle['p50_ms'])}", times(r50, "idle") if r50 else ""),
        Row("3 ack under load", "help p99", ms(probe["p99_ms"]) + note, f"idle {ms(idle['p99_ms'])}",
            times(r99, "idle") if r99 else "", "< 100 ms",
            verdict(probe["p99_ms"] is not None and probe["p99_ms"] < 100 and not lost)),
    ]


def redis_rows(result: JSON) -> list[Row]:
    rows = []
    home = result.get("home_refresh")
    for op, limit, label in (("create", 3, "per /meet create"), ("status", 2, "per status (warm token)")):
        r = result[op]
        base = f"{r['commands']:g} commands"
        if op == "create" and home:
            base += f"; Home refresh alone {home['round_trips']:g} RT"
        rows.append(Row("4 redis", f"round trips {label}", f"{r['round_trips']:g}", base, "", f"≤ {limit}",
                        verdict(r["round_trips"] <= limit and not r["failed"])))
    if not result["calibration"]["ok"]:
        rows.append(Row("4 redis", "calibration", "FAILED: round trips are estimates", str(result["calibration"])))
    return rows


def redis_notes(result: JSON) -> list[str]:
    notes = []
    for op in ("create", "home_refresh", "status"):
        r = result.get(op)
        if not r:
            continue
        cmds = ", ".join(f"{k}x{v:g}" for k, v in r["by_command"].items())
        meet = ", ".join(f"{k}x{v:g}" for k, v in r["meet_calls"].items()) or "none"
        slack = ", ".join(f"{k}x{v:g}" for k, v in r["slack_calls"].items()) or "none"
        notes.append(f"  {op:<12} per op: Redis {cmds} | Meet {meet} | Slack {slack}")
    return notes


def rss_rows(result: JSON) -> list[Row]:
    return [Row("5 memory", f"RSS growth after {result['commands']:,} help",
                f"{result['growth_pct']:+.1f}%",
                f"{result['rss_after_warmup_mb']:.1f} → {result['rss_after_commands_mb']:.1f} MB", "", "< 10%",
                verdict(result["growth_pct"] < 10))]


def unfurl_rows(result: JSON) -> list[Row]:
    if not result.get("implemented"):
        return [Row("6 unfurls", f"events/s, {n} link/msg", "n/a (unfurls not implemented)") for n in (1, 10)]
    rows = []
    for n, r in result["per_message"].items():
        failed = f", {r['failed']} failed" if r["failed"] else ""
        failed += f", {r['degraded_pct']:g}% of links without status" if r.get("degraded_pct") else ""
        rows.append(Row("6 unfurls", f"events/s, {n} link/msg @{r['workers']}",
                        f"{rate(r['per_s'])} (p50 {ms(r['completion']['p50_ms'])}, p99 "
                        f"{ms(r['completion']['p99_ms'])}{failed})", f"{rate(r['per_s'] * int(n))} links"))
    return rows


def render(rows: list[Row]) -> str:
    header = Row("scenario", "metric", "meetbot", "baseline(s)", "ratio", "target", "holds?")
    table = [header, *rows]
    fields = ("scenario", "metric", "meetbot", "baselines", "ratio", "target", "holds")
    widths = [max(len(getattr(r, f)) for r in table) for f in fields]
    lines = []
    for i, row in enumerate(table):
        lines.append("  ".join(getattr(row, f).ljust(w) for f, w in zip(fields, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- run --------------------------------------------------------------------------------------------------------


def config(args: argparse.Namespace, tool: str) -> scenarios.Config:
    cfg = scenarios.Config(tool=tool)
    if args.quick:
        cfg.duration, cfg.create_duration, cfg.create_warmup, cfg.capacity_duration = 1.0, 3.0, 1.0, 2.0
        cfg.rss_warmup, cfg.rss_commands, cfg.redis_ops, cfg.unfurl_duration = 500, 3000, 5, 2.0
    if args.duration:
        cfg.duration = args.duration
    if args.create_conns:
        cfg.create_conns = args.create_conns
    return cfg


async def run(args: argparse.Namespace, h: Harness, cfg: scenarios.Config, only: set[int]
              ) -> tuple[JSON, list[Row], list[str]]:
    results: JSON = {}
    rows: list[Row] = []
    notes: list[str] = []
    users: list[tuple[str, str]] = []

    async def step(number: int, name: str, work: Callable[[], Any]) -> Any:
        """Run one scenario; a scenario that breaks is reported (table and JSON) and the others still run."""
        waited = await h.quiesce()
        print(f"[{time.strftime('%H:%M:%S')}] scenario {number}: {name}"
              + (f" (waited {waited:.0f} s for the bot to go idle)" if waited > 2 else ""), flush=True)
        try:
            return await work()
        except Exception as error:
            print(f"  scenario {number} failed: {type(error).__name__}: {error}", flush=True)
            rows.append(Row(f"{number} FAILED", name, f"{type(error).__name__}: {str(error)[:80]}"))
            results.setdefault("errors", {})[f"{number} {name}"] = f"{type(error).__name__}: {error}"
            return None

    async def drop_backlog(number: int) -> None:
        """Scenario 2's creates outrun Google's create quota (100 a minute): what is still queued would run for
        minutes under the next scenarios. Start those on an empty bot instead."""
        nonlocal users
        queued = await h.jobs_queued()
        if queued:
            print(f"  scenario {number} left {queued:,} creates queued behind Google's create quota: restarting the "
                  "bot on an empty Redis", flush=True)
            h.restart_bot_empty()
            users = await scenarios.link_users(h, cfg.users)

    if only & {2, 3, 4, 6}:
        users = await scenarios.link_users(h, cfg.users)
    if 1 in only and (r := await step(1, "/meet help acknowledgement", lambda: scenarios.help_ack(h, cfg))):
        results["1_help_ack"] = r
        rows += help_rows(r)
    if 5 in only and (r := await step(5, "RSS over 20,000 commands", lambda: scenarios.rss_growth(h, cfg))):
        results["5_rss"] = r
    if 2 in only:
        capacity = await step(2, "harness capacity (no bot)", lambda: scenarios.meet_capacity(h, cfg))
        results["2_harness_capacity"] = capacity
        r = await step(2, "/meet create, Meet answering in 150 ms", lambda: scenarios.creates(h, cfg, users))
        if r is not None:
            results["2_create"] = r
            rows += create_rows(r, capacity)
            notes.append(f"  create under load: bot CPU {r['bot_cpu_pct']:g}% of one core; per create: Meet "
                         + (", ".join(f"{k}x{v:g}" for k, v in r["meet_calls_per_create"].items()) or "none")
                         + " | Slack " + (", ".join(f"{k}x{v:g}" for k, v in r["slack_calls_per_create"].items())
                                          or "none"))
            if r["failures"]:
                notes.append(f"  create failures: {r['failures']}")
        await drop_backlog(2)
    if 3 in only:
        idle = await step(3, "help ack probe, idle", lambda: scenarios.ack_idle_probe(h, cfg))
        loaded = await step(3, "help ack probe during scenario 2's load",
                            lambda: scenarios.creates(h, cfg, users, probe=True))
        await drop_backlog(3)
        if idle is not None and loaded is not None:
            results["3_ack_under_load"] = {"idle": idle, **loaded}
            rows += probe_rows(loaded, idle)
    if 4 in only and (r := await step(4, "Redis commands per operation",
                                      lambda: scenarios.redis_per_op(h, cfg, users))):
        results["4_redis"] = r
        rows += redis_rows(r)
        notes += redis_notes(r)
    if "5_rss" in results:
        rows += rss_rows(results["5_rss"])
    if 6 in only:
        if (u := await step(6, "link_shared unfurls", lambda: scenarios.unfurls(h, cfg, users))) is not None:
            results["6_unfurls"] = u
            rows += unfurl_rows(u)
        for n, r in (results.get("6_unfurls", {}).get("per_message") or {}).items():
            notes.append(f"  unfurl {n} link/msg: bot CPU {r.get('bot_cpu_pct', 0):g}%; per link: Meet "
                         + (", ".join(f"{k}x{v:g}" for k, v in r["meet_calls_per_link"].items()) or "none")
                         + (f" | failures {r['failures']}" if r["failures"] else ""))
    return results, rows, notes


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", default="1,2,3,4,5,6", help="comma-separated scenario numbers")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto",
                        help="load tool for scenario 1 (auto: wrk when installed)")
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test, not a measurement")
    parser.add_argument("--duration", type=float, default=None, help="seconds per scenario-1 run (default 5)")
    parser.add_argument("--create-conns", type=int, default=None,
                        help="concurrent creates in scenario 2 (default 64; throughput at 64 is latency-bound)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (bot and baseline logs)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write results (default {RESULTS})")
    args = parser.parse_args()
    only = {int(x) for x in args.only.split(",") if x.strip()}
    tool = "wrk" if args.tool == "wrk" or (args.tool == "auto" and wrk_available()) else "python"
    if tool == "wrk" and not wrk_available():
        parser.error("--tool wrk: wrk is not installed")
    cfg = config(args, tool)
    started = time.time()
    print(f"meetbot bench: load tool {tool}, {os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)
    with Harness(baselines_wanted=("raw", "bolt", "bolt_pbr") if 1 in only else (), keep_workdir=args.keep) as h:
        print(f"  work directory {h.workdir} (bot log: bot/bot.log)", flush=True)
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            results, rows, notes = runner.run(run(args, h, cfg, only))
    elapsed = time.time() - started
    print()
    print(render(rows))
    if notes:
        print("\nwhere the work goes (calls per operation, this run):")
        print("\n".join(notes))
    print()
    print(f"load tool: {tool}; every figure above was measured in this run ({elapsed:.0f} s) on this machine "
          f"({os.cpu_count()} CPUs). Ratios: meetbot ÷ baseline.")
    report = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "seconds": round(elapsed, 1),
            "tool": tool,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "quick": args.quick,
            "config": {k: v for k, v in vars(cfg).items()},
        },
        "results": results,
        "table": [vars(r) for r in rows],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
