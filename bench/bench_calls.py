"""Slack's call object under a burst (issue 25): `--joins` people join one meeting within `--over` s, then half of
them leave, with the Slack emulator's Tier 3 limit on (50 requests a minute per Calls method per workspace).

    python -m bench.bench_calls [--joins 200] [--over 2] [--leaves 100]

meetbot as production runs it (`python -m bot`, Workspace Events pushed through the Pub/Sub emulator, reads of a
space coalesced to one per 2 s window). Measured: Calls requests per method and per window, 429s, the time until
Slack's call shows everyone, and whether it ends up holding exactly Google's present list (linked people as their
Slack user, the others by their opaque external id).

Baseline, in the same run: the naive design, one `calls.participants.add` per join as each event arrives, fired at
the same emulator and limit over the same time against a call of its own (no retries): how many Slack refuses.

Everything listens on 127.0.0.1; every wait has a deadline. Writes bench/results/calls.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bench.__main__ import Row, _loop_factory, render, verdict
from bench.bench_live import COALESCE, PUSH_SUB, PUSHER, TOPIC, deadline_wait, post_cards, push_env, subscribed
from bench.common import BOT_TOKEN, CHANNEL, JSON, Harness
from bench.scenarios import link_users
from bot.core.calls import external_id
from emulators.events import EventsEmulator

RESULTS = Path(__file__).resolve().parent / "results" / "calls.json"
TIER3 = 50


@dataclass
class Config:
    joins: int = 200
    over: float = 2.0
    leaves: int = 100
    linked: int = 2  # of the joiners, how many are linked Slack users (the rest: signed-in, guests, phone callers)


def call_on_card(h: Harness, ts: str) -> str | None:
    message = h.slack_state.message(CHANNEL, ts) or {}
    return next((b["call_id"] for b in message.get("blocks") or [] if b.get("type") == "call"), None)


def users_of(h: Harness, call_id: str) -> list[JSON]:
    return list((h.slack_state.call_objects.get(call_id) or {}).get("users") or [])


def expected(h: Harness, space: str, linked: dict[str, str]) -> set[str]:
    """What Slack's call should hold: Google's present participants, as meetbot names them to Slack."""
    keys = set()
    found = h.meet_state.space(space)
    record = next(r for r in found["conferenceRecords"] if r["name"] == found["activeConference"])
    for p in record.get("participants", []):
        if p.get("latestEndTime"):
            continue
        who = p.get("signedinUser") or {}
        user = who.get("user")
        keys.add(f"slack:{linked[user]}" if user in linked else f"ext:{external_id(p['name'])}")
    return keys


def keys_of(users: list[JSON]) -> set[str]:
    return {f"slack:{u['slack_id']}" if "slack_id" in u else f"ext:{u['external_id']}" for u in users}


def calls_requests(h: Harness, since: float) -> list[JSON]:
    return [c for c in h.slack_state.calls if c["method"].startswith("calls.") and c["time"] >= since]


def per_window(requests: list[JSON], method: str) -> int:
    moments = sorted(c["time"] for c in requests if c["method"] == method)
    return max((sum(1 for m in moments if t <= m < t + COALESCE) for t in moments), default=0)


async def wave(h: Harness, call_id: str, space: str, linked: dict[str, str], moves: list[Any], over: float,
               within: float = 60.0) -> JSON:
    started, since = time.time(), h.slack_state.now()  # the emulator's clock runs ahead (its Tier 3 window moved)
    for i, move in enumerate(moves):
        await asyncio.sleep(max(0.0, started + i * over / len(moves) - time.time()))
        move()
    sent = time.time() - started
    want = expected(h, space, linked)
    try:
        await asyncio.to_thread(deadline_wait, lambda: keys_of(users_of(h, call_id)) == want, "the call", within)
        settled: float | None = time.time() - started
    except TimeoutError:
        settled = None
    await asyncio.sleep(COALESCE + 1.0)  # a request still coming would land in here
    requests = calls_requests(h, since)
    return {"moves": len(moves), "sent_over_s": round(sent, 3), "right_after_s": round(settled, 3) if settled else None,
            "requests": dict(Counter(c["method"] for c in requests)),
            "ratelimited": sum(1 for c in requests if c["status"] == 429),
            "refused": sum(1 for c in requests if not c["ok"]),
            "max_adds_per_window": per_window(requests, "calls.participants.add"),
            "max_removes_per_window": per_window(requests, "calls.participants.remove"),
            "shown": len(users_of(h, call_id)), "google_present": len(want),
            "timeline": [(round(c["time"] - since, 3), c["method"], len(c["args"].get("users") or []),
                          c["status"]) for c in requests],
            "exact": keys_of(users_of(h, call_id)) == want}


async def naive(h: Harness, cfg: Config) -> JSON:
    """One participants.add per join, as events arrive, on a call of its own (a fresh workspace window)."""
    assert h.slack is not None
    h.slack_state.advance_time(61)  # the Tier 3 window starts afresh, as for meetbot's burst
    client = AsyncWebClient(token=BOT_TOKEN, base_url=h.slack.api_url, retry_handlers=[])
    h.slack_state.add_user("U0NAIVE", "naive")
    call = await client.calls_add(external_unique_id=f"naive-{time.time()}", join_url="https://meet.google.com/x",
                                  created_by="U0NAIVE")
    outcomes: Counter[str] = Counter()
    started = time.time()
    for i in range(cfg.joins):
        await asyncio.sleep(max(0.0, started + i * cfg.over / cfg.joins - time.time()))
        try:
            await client.calls_participants_add(id=call["call"]["id"],
                                                users=[{"external_id": f"n{i}", "display_name": f"N{i}"}])
            outcomes["ok"] += 1
        except SlackApiError as error:
            outcomes[str(error.response.get("error"))] += 1
    return {"requests": cfg.joins, "ok": outcomes["ok"], "ratelimited": outcomes["ratelimited"],
            "shown": len(users_of(h, call["call"]["id"]))}


async def run(h: Harness, events: EventsEmulator, cfg: Config) -> tuple[list[Row], JSON]:
    from tests.support.bot_process import BotProcess

    h.bot = BotProcess(push_env(h, events), h.workdir / "bot-calls").start()
    events.broker.configure_subscription(PUSH_SUB, TOPIC, h.bot.url + "/google/events", service_account=PUSHER)
    users = await link_users(h, 1 + cfg.linked)
    (card,) = await post_cards(h, users[:1], ["calls-burst"])
    await asyncio.to_thread(deadline_wait, lambda: subscribed(events, [card]), "the space's subscription", 30)
    meet = h.meet_state
    linked = {meet.user(email)["id"]: slack_id for slack_id, email in users}
    meet.join(card.space, user=users[0][1])
    call_id = await asyncio.to_thread(deadline_wait, lambda: call_on_card(h, card.ts), "the card's call", 30)
    h.slack_state.advance_time(61)  # the burst starts with a fresh Tier 3 window, as a quiet workspace would

    joiners: list[Any] = []
    for i in range(cfg.joins):
        if i < cfg.linked:
            email = users[1 + i][1]
            joiners.append(lambda e=email: meet.join(card.space, user=e))
        elif i % 10 == 8:
            joiners.append(lambda n=i: meet.join(card.space, anonymous=f"Visitor {n}"))
        elif i % 10 == 9:
            joiners.append(lambda n=i: meet.join(card.space, phone=f"+1 555 {n:04d}"))
        else:
            joiners.append(lambda n=i: meet.join(card.space, user=f"burst{n:03d}@elsewhere.example"))
    burst = await wave(h, call_id, card.space, linked, joiners, cfg.over)
    leavers = [lambda n=i: meet.leave(card.space, user=f"burst{n:03d}@elsewhere.example")
               for i in range(cfg.linked, cfg.joins) if i % 10 < 8][: cfg.leaves]
    leave = await wave(h, call_id, card.space, linked, leavers, cfg.over / 2)
    events.broker.delete_subscription(PUSH_SUB)
    h.bot.stop()
    base = await naive(h, cfg)

    def row(name: str, r: JSON, naive_n: int) -> list[Row]:
        total = sum(r["requests"].values())
        return [
            Row(name, "Calls requests (all methods)", f"{total}", f"naive: {naive_n}",
                f"{total / naive_n:.3f}x naive", "≤ 1 add + 1 remove per 2 s window",
                verdict(r["max_adds_per_window"] <= 1 and r["max_removes_per_window"] <= 1)),
            Row(name, "by method", ", ".join(f"{k.removeprefix('calls.')} x{v}" for k, v in r["requests"].items())),
            Row(name, "most adds / removes in one 2 s window",
                f"{r['max_adds_per_window']} / {r['max_removes_per_window']}"),
            Row(name, "ratelimited (429)", f"{r['ratelimited']}",
                f"naive: {base['ratelimited']} of {base['requests']} joins", "", "0", verdict(r["ratelimited"] == 0)),
            Row(name, "call right after (from the first move)",
                f"{r['right_after_s']} s" if r["right_after_s"] is not None else "never (60 s)"),
            Row(name, "final: shown / Google present, exact", f"{r['shown']} / {r['google_present']}, {r['exact']}",
                f"naive shows {base['shown']} of {cfg.joins} joins", "", "exact", verdict(r["exact"])),
        ]

    rows = row(f"{cfg.joins} joins in {cfg.over:g} s", burst, base["requests"]) + \
        row(f"{len(leavers)} leave in {cfg.over / 2:g} s", leave, len(leavers))
    return rows, {"burst": burst, "leave": leave, "naive": base, "call_id": call_id}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_calls", description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=Config.joins)
    parser.add_argument("--over", type=float, default=Config.over)
    parser.add_argument("--leaves", type=int, default=Config.leaves)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (the bot's log)")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    cfg = Config(joins=args.joins, over=args.over, leaves=args.leaves)
    started = time.time()
    print(f"meetbot calls bench: {os.cpu_count()} CPUs, Tier 3 = {TIER3}/min per Calls method", flush=True)
    with Harness(baselines_wanted=(), with_bot=False, keep_workdir=args.keep) as h, \
            EventsEmulator(h.meet_state) as events:
        assert h.slack_state.call_objects.per_minute == TIER3
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            rows, results = runner.run(run(h, events, cfg))
    elapsed = time.time() - started
    print()
    print(render(rows))
    print(f"\nmeasured in this run ({elapsed:.0f} s, {os.cpu_count()} CPUs); the naive baseline in the same run.")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": {"seconds": round(elapsed, 1), "config": vars(cfg)},
                                     "results": results}, indent=2, default=str) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
