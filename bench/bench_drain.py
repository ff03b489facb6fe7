"""How fast one process drains a backlog of jobs when Google is slow (issue 22, item 11): sizes JOB_CONCURRENCY.

    python -m bench.bench_drain [--commands 3000] [--latency 1.0] [--concurrency 32,128,256,512] [--users 30]

For each JOB_CONCURRENCY value: a fresh `python -m bot` (one process, HTTP) against the emulators and a private
redis-server, `--users` people linked through the real OAuth round trip, and a Meet emulator answering every call
after `--latency` seconds. `--commands` signed `/meet status <code>` commands are sent as fast as the bot acks them
(each is a durable job); the drain time runs from the first send to the last private reply. Baseline, same run: the
ideal drain at that concurrency, commands * Meet calls per status * latency / concurrency. Bounded: each run stops
after `--limit` seconds and reports how many replies came.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

import aiohttp

from bench.common import CHANNEL, EVENTS_PATH, Harness
from bench.scenarios import link_users, post_signed
from tests.support.bot_process import BotProcess
from tests.support.slack_requests import slash_command


@dataclass
class Run:
    concurrency: int
    sent: int
    replies: int
    drain: float
    meet_calls: int


async def _one_run(h: Harness, concurrency: int, commands: int, latency: float, users: int, limit: float) -> Run:
    assert h.slack is not None and h.meet is not None
    h.slack_state.counts.clear()
    h.bot = BotProcess({**h.bot_env(), "JOB_CONCURRENCY": str(concurrency), "MEET_POLL_SECONDS": "0"},
                       h.workdir / f"bot-{concurrency}").start()
    try:
        linked = await link_users(h, users)
        codes = [h.meet.state.create_space(email)["meetingCode"] for _, email in linked]
        h.meet.state.set_latency(latency)
        meet_before = sum(h.meet_state.counts.values())
        replies_before = h.slack_state.counts["response_url"]
        url = h.bot.url + EVENTS_PATH
        sends = asyncio.Semaphore(64)
        connector = aiohttp.TCPConnector(limit=72)
        started = time.monotonic()
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

            async def send(n: int) -> None:
                user, _ = linked[n % len(linked)]
                body, content_type = slash_command(
                    f"status {codes[n % len(codes)]}", user_id=user, channel_id=CHANNEL,
                    trigger_id=f"{time.time_ns()}.drain{n}", response_url=h.slack.response_url(f"drain-{n}"))
                async with sends:
                    await post_signed(session, url, body, content_type)

            await asyncio.gather(*(send(n) for n in range(commands)))
        sent_in = time.monotonic() - started
        while h.slack_state.counts["response_url"] - replies_before < commands:
            if time.monotonic() - started > limit:
                break
            await asyncio.sleep(0.2)
        drain = time.monotonic() - started
        replies = h.slack_state.counts["response_url"] - replies_before
        print(f"  JOB_CONCURRENCY={concurrency}: {commands} sent in {sent_in:.1f} s, "
              f"{replies} replies in {drain:.1f} s")
        return Run(concurrency, commands, replies, drain, sum(h.meet_state.counts.values()) - meet_before)
    finally:
        h.meet.state.set_latency(0.0)
        h.bot.stop()
        h.bot = None


async def main(commands: int, latency: float, concurrencies: list[int], users: int, limit: float) -> None:
    runs = []
    for concurrency in concurrencies:
        harness = Harness(baselines_wanted=(), with_bot=False)
        with harness as h:
            runs.append(await _one_run(h, concurrency, commands, latency, users, limit))
    print(f"\nDrain of {commands:,} queued `/meet status` commands, one process, Meet answering in {latency:g} s\n")
    print("| JOB_CONCURRENCY | replies | drain (s) | commands/s | Meet calls/status | ideal (s) | drain / ideal |")
    print("|-----------------|---------|-----------|------------|-------------------|-----------|---------------|")
    for run in runs:
        per = run.meet_calls / max(run.replies, 1)
        ideal = run.sent * per * latency / run.concurrency
        print(f"| {run.concurrency:>15} | {run.replies:>7} | {run.drain:>9.1f} | {run.replies / run.drain:>10.1f} "
              f"| {per:>17.2f} | {ideal:>9.1f} | {run.drain / max(ideal, 1e-6):>13.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", default="32,128,256,512")
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--limit", type=float, default=400.0)
    args = parser.parse_args()
    asyncio.run(main(args.commands, args.latency, [int(c) for c in args.concurrency.split(",")], args.users,
                     args.limit))
