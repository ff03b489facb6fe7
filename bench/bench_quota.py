"""A quota storm: `--creates` `/meet new` spread over one minute against the Meet emulator's per-project
spaces.create quota (`--quota` a minute, Google's 100 by default), through meetbot as production runs it.

    python -m bench.bench_quota [--creates 300] [--quota 100] [--over 60]

Reports, per request: whether it ended in a card or an honest reply (a request with neither is a silent failure),
what the user was told while waiting ("queued: about N seconds") and how long the last one waited. meetbot paces
creates with its shared reservation of the quota (bot/store/quota.py), so Google should answer few or no 429s.

Baseline, measured in the same run against a second emulator with the same quota: a bare client that sends the same
creates at the same moments straight to Meet and, on each 429, sleeps the Retry-After Google gave and tries again
(what a careful client without a shared bucket does). The ratio compares when the last meeting existed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import CHANNEL, Harness
from emulators.meet import MeetEmulator, MeetState
from tests.support.flows import all_text, link_google
from tests.support.slack_requests import slash_command

RESULTS = Path(__file__).resolve().parent / "results" / "quota.json"
USER, EMAIL = "U0STORM", "storm@example.com"
QUEUED = re.compile(r"in about (\d+) second")


async def baseline(creates: int, quota: int, over: float) -> dict[str, Any]:
    meet = MeetEmulator(state=MeetState()).start()
    try:
        meet.state.configure(create_quota_per_project=quota)
        token = meet.state.mint_token(EMAIL, ["meetings.space.created"])
        done: list[float] = []
        rejected = 0
        start = time.monotonic()
        async with httpx.AsyncClient(base_url=meet.url, timeout=10) as client:
            async def one(n: int) -> None:
                nonlocal rejected
                await asyncio.sleep(n * over / creates)
                while True:
                    answer = await client.post("/v2/spaces", json={},
                                               headers={"Authorization": f"Bearer {token}"})
                    if answer.status_code != 429:
                        done.append(time.monotonic() - start)
                        return
                    rejected += 1
                    await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))

            await asyncio.gather(*(one(n) for n in range(creates)))
        return {"last_s": max(done), "google_429s": rejected}
    finally:
        meet.stop()


async def storm(h: Harness, creates: int, quota: int, over: float, deadline: float) -> dict[str, Any]:
    assert h.bot is not None and h.slack is not None and h.meet is not None
    h.meet.state.configure(create_quota_per_project=quota)
    await link_google(h.bot, h.slack, h.meet, USER, EMAIL)
    sent: dict[int, float] = {}
    start = time.monotonic()

    async def send(n: int) -> None:
        await asyncio.sleep(n * over / creates)
        url = h.slack.response_url(f"storm-{n}", channel=CHANNEL, user=USER)
        sent[n] = time.monotonic() - start
        answer = await h.bot.post(slash_command(f"new storm-{n}", user_id=USER, channel_id=CHANNEL,
                                                response_url=url, trigger_id=h.slack.state.issue_trigger_id()),
                                  wait=10)
        assert answer.status_code == 200, answer.text

    await asyncio.gather(*(send(n) for n in range(creates)))
    carded: dict[int, float] = {}
    while len(carded) < creates and time.monotonic() - start < deadline:
        for call in h.slack.state.calls_to("chat.postMessage"):
            found = re.search(r"storm-(\d+)", all_text(call["args"]))
            if found and int(found.group(1)) not in carded:
                carded[int(found.group(1))] = time.monotonic() - start
        await asyncio.sleep(0.5)
    told: dict[int, int] = {}
    replied: set[int] = set()
    for n in range(creates):
        for post in h.slack.state.response_posts(f"storm-{n}"):
            text = all_text(post["body"])
            found = QUEUED.search(text)
            if found:
                told[n] = int(found.group(1))
            else:
                replied.add(n)  # an answer other than "queued": a card's fallback or an error, never silence
    waits = [carded[n] - sent[n] for n in carded]
    errors = [n for n in replied if n not in carded]
    silent = [n for n in range(creates) if n not in carded and n not in replied]
    promised = [(carded[n] - sent[n]) - told[n] for n in told if n in carded]
    google_429s = sum(1 for c in h.meet_state.calls_to("spaces.create") if c["status"] == 429)
    return {
        "cards": len(carded), "error_replies": len(errors), "silent_failures": len(silent),
        "told_queued": len(told), "told_seconds_max": max(told.values(), default=0),
        "promise_error_s_median": statistics.median(promised) if promised else 0.0,
        "wait_s_median": statistics.median(waits) if waits else 0.0, "wait_s_max": max(waits, default=0.0),
        "last_s": max(carded.values(), default=0.0), "google_429s": google_429s,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--quota", type=int, default=100)
    parser.add_argument("--over", type=float, default=60.0, help="seconds the requests are spread over")
    args = parser.parse_args()
    ideal = max(args.over, (args.creates / args.quota - 1) * 60)
    with Harness(baselines_wanted=()) as h:
        bot = await storm(h, args.creates, args.quota, args.over, deadline=ideal * 3 + 120)
    base = await baseline(args.creates, args.quota, args.over)
    rows = [
        ("creates sent / over (s) / project quota per min", f"{args.creates} / {args.over:.0f} / {args.quota}"),
        ("cards posted / error replies / silent failures",
         f"{bot['cards']} / {bot['error_replies']} / {bot['silent_failures']}"),
        ("users told 'queued' (longest promise, s)", f"{bot['told_queued']} ({bot['told_seconds_max']})"),
        ("actual minus promised wait, median (s)", f"{bot['promise_error_s_median']:.1f}"),
        ("wait per request median / max (s)", f"{bot['wait_s_median']:.1f} / {bot['wait_s_max']:.1f}"),
        ("429s from Google: meetbot / baseline", f"{bot['google_429s']} / {base['google_429s']}"),
        ("last meeting exists at (s): meetbot / baseline", f"{bot['last_s']:.1f} / {base['last_s']:.1f}"),
        ("ratio last meeting meetbot / baseline", f"{bot['last_s'] / base['last_s']:.2f}x"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"args": vars(args), "meetbot": bot, "baseline": base}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
