"""The six scenarios of issue 7, each returning plain JSON-able results; `bench.__main__` builds the table.

Scenario 1 and 5 drive the servers with an outside load tool (wrk, or `bench.load`); scenarios 2, 3, 4 and 6 need to
see what reaches the Slack emulator, so their closed-loop driver runs in this process on asyncio, next to the
emulators (which serve from their own threads), and learns of each card, reply or unfurl through the emulator's tap.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.common import (
    CHANNEL,
    EVENTS_PATH,
    JSON,
    CpuMeter,
    Harness,
    RedisCounters,
    counts_delta,
    rss_bytes,
    run_load,
    signed_spec,
)
from bench.load import summarize
from tests.support.flows import link_google
from tests.support.slack_requests import sign, slash_command

CREATE_LATENCY = 0.15  # seconds the Meet emulator takes per API call in scenarios 2 and 3
UNFURL_LATENCY = 0.10  # ... and in scenario 6
OP_TIMEOUT = 10.0  # a create, status or unfurl not seen at the Slack emulator by then counts as failed
SCOPE = "meetings.space.created"


@dataclass
class Config:
    tool: str
    duration: float = 5.0  # scenario 1: seconds per (server, connections) run
    levels: tuple[int, ...] = (1, 16, 64, 256)
    create_conns: int = 64
    create_duration: float = 8.0
    create_warmup: float = 2.0
    capacity_duration: float = 4.0
    probe_rate: float = 100.0
    rss_warmup: int = 2_000
    rss_commands: int = 20_000
    rss_conns: int = 16
    redis_ops: int = 20
    unfurl_conns: int = 32
    unfurl_duration: float = 5.0
    users: int = 8


# --- what reaches the Slack emulator ----------------------------------------------------------------------------


@dataclass
class Arrival:
    at: float  # time.perf_counter() at the emulator
    kind: str  # "card" (chat.postMessage), "reply" (a response_url post) or "unfurl"
    body: Any = None


class Watch:
    """Futures keyed by request, resolved from the Slack emulator's thread when the matching call arrives.

    Cards are matched by title (each create is `/meet new <key>`, and the card's text starts with `<key>:`), replies
    by response_url name (`r-<key>`), unfurls by the message's channel+ts (or unfurl_id) until every link is in."""

    def __init__(self, h: Harness) -> None:
        self._loop = asyncio.get_running_loop()
        self._pending: dict[str, asyncio.Future[Arrival]] = {}
        self._unfurls: dict[str, _Unfurl] = {}
        self._h = h
        state = h.slack_state
        state.taps["chat.postMessage"] = self._on_card
        state.taps["chat.unfurl"] = self._on_unfurl
        state.taps["views.publish"] = self._on_publish
        state.response_tap = self._on_reply
        self.unfurl_calls = 0
        self.unfurled_links = 0
        self.degraded_links = 0  # unfurls that carry a :warning: (no status: Google too slow, lookup failed...)

    def close(self) -> None:
        state = self._h.slack_state
        state.taps.clear()
        state.response_tap = None

    def expect(self, key: str) -> asyncio.Future[Arrival]:
        future = self._loop.create_future()
        self._pending[key] = future
        return future

    def expect_unfurl(self, channel: str, ts: str, unfurl_id: str, urls: list[str]) -> asyncio.Future[Arrival]:
        future = self._loop.create_future()
        keys = (f"ts:{channel}:{ts}", f"id:{unfurl_id}")
        entry = _Unfurl(set(urls), future, keys)
        for key in keys:
            self._unfurls[key] = entry
        return future

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)

    def response_url(self, key: str) -> str:
        assert self._h.slack is not None
        return self._h.slack.response_url(f"r-{key}", channel=CHANNEL)

    # emulator thread → event loop
    def _on_card(self, args: JSON, at: float) -> None:
        key = str(args.get("text", "")).split(":", 1)[0]
        self._loop.call_soon_threadsafe(self._resolve, key, Arrival(at, "card", args.get("text")))

    def _on_publish(self, args: JSON, at: float) -> None:
        self._loop.call_soon_threadsafe(self._resolve, f"home:{args.get('user_id')}", Arrival(at, "home"))

    def _on_reply(self, name: str, raw: bytes, at: float) -> None:
        self._loop.call_soon_threadsafe(self._resolve, name.removeprefix("r-"), Arrival(at, "reply", raw))

    def _on_unfurl(self, args: JSON, at: float) -> None:
        self._loop.call_soon_threadsafe(self._unfurled, args, at)

    def _resolve(self, key: str, arrival: Arrival) -> None:
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(arrival)

    def _unfurled(self, args: JSON, at: float) -> None:
        self.unfurl_calls += 1
        unfurls = args.get("unfurls")
        if isinstance(unfurls, str):
            try:
                unfurls = json.loads(unfurls)
            except ValueError:
                unfurls = {}
        if isinstance(unfurls, dict):
            self.unfurled_links += len(unfurls)
            self.degraded_links += sum(":warning:" in json.dumps(card) for card in unfurls.values())
        for key in (f"ts:{args.get('channel')}:{args.get('ts')}", f"id:{args.get('unfurl_id')}"):
            entry = self._unfurls.get(key)
            if entry is None:
                continue
            entry.remaining -= set(unfurls) if isinstance(unfurls, dict) else set()
            if not entry.remaining:
                self.forget_unfurl(entry.future)
                if not entry.future.done():
                    entry.future.set_result(Arrival(at, "unfurl"))
            return

    def forget_unfurl(self, future: asyncio.Future[Arrival]) -> None:
        for key in [k for k, e in self._unfurls.items() if e.future is future]:
            del self._unfurls[key]


@dataclass
class _Unfurl:
    remaining: set[str]
    future: asyncio.Future[Arrival]
    keys: tuple[str, str]


# --- a closed-loop driver ---------------------------------------------------------------------------------------


@dataclass
class Sample:
    start: float
    ack: float | None = None
    done: float | None = None
    error: str | None = None


Op = Callable[[int, int], Awaitable[Sample]]


async def closed_loop(workers: int, warmup: float, duration: float, op: Op) -> JSON:
    """`workers` loops each running `op` back to back for warmup + duration seconds. Results count what started in
    the measured window (latencies) and what completed in it (throughput)."""
    samples: list[Sample] = []
    began = time.perf_counter()
    measure_from, stop = began + warmup, began + warmup + duration
    sequence = iter(range(10**9))

    async def worker(index: int) -> None:
        while time.perf_counter() < stop:
            samples.append(await op(index, next(sequence)))

    await asyncio.gather(*(worker(i) for i in range(workers)))
    window = [s for s in samples if measure_from <= s.start < stop]
    ok = [s for s in window if s.error is None and s.done is not None]
    completed_in_window = sum(1 for s in samples if s.error is None and s.done is not None
                              and measure_from <= s.done <= stop)
    failures: dict[str, int] = {}
    for s in window:
        if s.error is not None:
            failures[s.error[:120]] = failures.get(s.error[:120], 0) + 1
    done = summarize([int((s.done - s.start) * 1e9) for s in ok if s.done], duration, len(ok), 0, 0)
    acks = summarize([int((s.ack - s.start) * 1e9) for s in window if s.ack], duration, len(window), 0, 0)
    return {
        "workers": workers,
        "duration_s": duration,
        "total_ops": len(samples),
        "started": len(window),
        "completed": len(ok),
        "failed": len(window) - len(ok),
        "failures": failures,
        "per_s": round(completed_in_window / duration, 1),
        "completion": {k: v for k, v in done.items() if k.endswith("_ms")},
        "ack": {k: v for k, v in acks.items() if k.endswith("_ms")},
    }


async def post_signed(session: aiohttp.ClientSession, url: str, body: str, content_type: str) -> int:
    headers = {"Content-Type": content_type, **sign(body)}
    async with session.post(url, data=body.encode(), headers=headers) as response:
        await response.read()
        return response.status


def _session(limit: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit + 8, force_close=False),
                                 timeout=aiohttp.ClientTimeout(total=OP_TIMEOUT))


# --- set-up -----------------------------------------------------------------------------------------------------


async def link_users(h: Harness, count: int) -> list[tuple[str, str]]:
    """Link `count` Slack users to Google accounts through the bot's real OAuth round trip."""
    assert h.bot and h.slack and h.meet
    users = []
    for i in range(count):
        user_id, email = f"U0BENCH{i:02d}", f"bench{i:02d}@example.com"
        callback = await link_google(h.bot, h.slack, h.meet, user_id, email)
        if callback.status_code != 200:
            raise RuntimeError(f"linking {user_id} failed: {callback.status_code} {callback.text[:300]}")
        users.append((user_id, email))
    return users


# --- scenario 1 -------------------------------------------------------------------------------------------------


HELP = slash_command("help", channel_id=CHANNEL, trigger_id="1000.bench-help")


async def check_help(h: Harness) -> None:
    """Every server must answer the signed `/meet help` with 200 before it is timed (and the bot with its help)."""
    body, content_type = HELP
    async with aiohttp.ClientSession() as session:
        for name, base in h.targets().items():
            headers = {"Content-Type": content_type, **sign(body)}
            async with session.post(base + EVENTS_PATH, data=body.encode(), headers=headers) as response:
                text = await response.text()
                if response.status != 200:
                    raise RuntimeError(f"{name} answered /meet help with {response.status}: {text[:300]}")
                if name == "meetbot" and "/meet" not in text:
                    raise RuntimeError(f"meetbot's /meet help reply has no help in it: {text[:300]}")


async def help_ack(h: Harness, cfg: Config) -> JSON:
    await check_help(h)
    body, content_type = HELP
    targets = h.targets()
    for base in targets.values():  # warm every server (and its connection handling) before timing any
        await run_load(base + EVENTS_PATH, signed_spec(body, content_type), conns=64, duration=1, tool=cfg.tool,
                       workdir=h.workdir)
    levels: dict[str, JSON] = {}
    for conns in cfg.levels:
        row = {}
        for name, base in targets.items():  # baselines first, meetbot last, at each level
            process = h.baselines[name].process if name in h.baselines else None
            pid = process.pid if process is not None else h.bot.pid if h.bot else 0
            with CpuMeter(pid) as cpu:
                row[name] = await run_load(base + EVENTS_PATH, signed_spec(body, content_type), conns=conns,
                                           duration=cfg.duration, tool=cfg.tool, workdir=h.workdir)
            row[name]["server_cpu_pct"] = cpu.percent
            print(f"  help ack  {conns:>3} conns  {name:<9} p50 {row[name]['p50_ms']:>8.3f} ms  "
                  f"p99 {row[name]['p99_ms']:>8.3f} ms  {row[name]['rps']:>9.1f} req/s  "
                  f"server CPU {row[name]['server_cpu_pct']:>5.1f}%"
                  + (f"  errors {row[name]['errors']} non2xx {row[name]['non2xx']}"
                     if row[name]["errors"] or row[name]["non2xx"] else ""), flush=True)
        levels[str(conns)] = row
    return {"levels": levels}


# --- scenario 5 -------------------------------------------------------------------------------------------------


async def rss_growth(h: Harness, cfg: Config) -> JSON:
    assert h.bot is not None
    body, content_type = HELP
    url = h.bot.url + EVENTS_PATH
    warm = await run_load(url, signed_spec(body, content_type), conns=cfg.rss_conns, duration=0, count=cfg.rss_warmup,
                          tool="python", workdir=h.workdir)
    before = rss_bytes(h.bot.pid)
    run = await run_load(url, signed_spec(body, content_type), conns=cfg.rss_conns, duration=0,
                         count=cfg.rss_commands, tool="python", workdir=h.workdir)
    after = rss_bytes(h.bot.pid)
    return {
        "warmup_commands": warm["requests"],
        "commands": run["requests"],
        "errors": run["errors"] + run["non2xx"],
        "rss_after_warmup_mb": round(before / 2**20, 2),
        "rss_after_commands_mb": round(after / 2**20, 2),
        "growth_pct": round((after - before) / before * 100, 2),
    }


# --- scenario 2: creates ----------------------------------------------------------------------------------------


@dataclass
class Creates:
    h: Harness
    watch: Watch
    session: aiohttp.ClientSession
    users: list[tuple[str, str]]
    prefix: str
    url: str = field(init=False)

    def __post_init__(self) -> None:
        assert self.h.bot is not None
        self.url = self.h.bot.url + EVENTS_PATH

    async def op(self, worker: int, n: int) -> Sample:
        key = f"{self.prefix}{n}"
        user_id, _ = self.users[n % len(self.users)]
        arrival = self.watch.expect(key)
        body, content_type = slash_command(f"new {key}", user_id=user_id, channel_id=CHANNEL,
                                           response_url=self.watch.response_url(key),
                                           trigger_id=f"{int(time.time())}.{key}")
        sample = Sample(time.perf_counter())
        try:
            status = await post_signed(self.session, self.url, body, content_type)
            sample.ack = time.perf_counter()
            if status != 200:
                sample.error = f"ack {status}"
                return sample
            got = await asyncio.wait_for(arrival, OP_TIMEOUT)
        except (TimeoutError, aiohttp.ClientError) as error:
            sample.error = f"{type(error).__name__}: no card within {OP_TIMEOUT:.0f} s"
            return sample
        finally:
            self.watch.forget(key)
        if got.kind != "card":
            sample.error = f"reply instead of card: {got.body!r}"[:200]
        sample.done = got.at
        return sample


async def meet_capacity(h: Harness, cfg: Config) -> JSON:
    """What the harness can do without the bot: (a) the Meet emulator's spaces.create rate, (b) the same work the
    bot's create makes the emulators do (Meet create, then chat.postMessage of a card, seen by the tap), driven
    from this process. If meetbot's figure is near (b), the harness, not meetbot, is the limit."""
    assert h.meet and h.slack
    from bot.slack.views.card import CardContent, meeting_card

    h.meet.state.set_latency(CREATE_LATENCY)
    token = h.meet.state.mint_token("capacity@example.com", [SCOPE])
    meet_url = h.meet.url + "/v2/spaces"
    slack_url = h.slack.api_url + "chat.postMessage"
    watch = Watch(h)
    try:
        async with _session(cfg.create_conns) as session:

            async def create() -> JSON:
                headers = {"Authorization": f"Bearer {token}"}
                async with session.post(meet_url, json={}, headers=headers) as response:
                    space = await response.json()
                    if response.status != 200:
                        raise RuntimeError(f"Meet emulator create: {response.status} {space}")
                    return dict(space)

            async def meet_only(worker: int, n: int) -> Sample:
                sample = Sample(time.perf_counter())
                await create()
                sample.done = time.perf_counter()
                return sample

            async def full(worker: int, n: int) -> Sample:
                key = f"hc{n}"
                sample = Sample(time.perf_counter())
                arrival = watch.expect(key)
                space = await create()
                card = meeting_card(CardContent(space["name"], space.get("meetingCode"), space.get("meetingUri"),
                                                key, "U0CAPACITY"))
                headers = {"Authorization": f"Bearer {h.slack_state.bot_token}"}
                async with session.post(slack_url, json={"channel": CHANNEL, **card}, headers=headers) as response:
                    await response.read()
                try:
                    sample.done = (await asyncio.wait_for(arrival, OP_TIMEOUT)).at
                except TimeoutError:
                    sample.error = "card not seen"
                finally:
                    watch.forget(key)
                return sample

            meet = await closed_loop(cfg.create_conns, 1.0, cfg.capacity_duration, meet_only)
            ceiling = await closed_loop(cfg.create_conns, 1.0, cfg.capacity_duration, full)
    finally:
        watch.close()
    return {"meet_create_per_s": meet["per_s"], "meet_create": meet, "ceiling_per_s": ceiling["per_s"],
            "ceiling": ceiling, "ideal_per_s": round(cfg.create_conns / CREATE_LATENCY, 1)}


async def creates(h: Harness, cfg: Config, users: list[tuple[str, str]], *, probe: bool = False) -> JSON:
    """Scenario 2 (and, with `probe`, scenario 3: a paced `/meet help` probe runs during the measured window)."""
    assert h.meet and h.bot
    h.meet.state.set_latency(CREATE_LATENCY)
    watch = Watch(h)
    try:
        async with _session(cfg.create_conns) as session:
            driver = Creates(h, watch, session, users, prefix="p" if probe else "c")
            meet_before, slack_before = h.meet_state.counts.copy(), h.slack_state.counts.copy()

            async def load_run() -> JSON:
                with CpuMeter(h.bot.pid if h.bot else 0) as cpu:
                    result = await closed_loop(cfg.create_conns, cfg.create_warmup, cfg.create_duration, driver.op)
                result["bot_cpu_pct"] = cpu.percent
                ops = max(1, result["total_ops"])
                result["meet_calls_per_create"] = counts_delta(h.meet_state.counts, meet_before, ops)
                result["slack_calls_per_create"] = counts_delta(h.slack_state.counts, slack_before, ops)
                return result

            load = load_run()
            if not probe:
                return await load
            body, content_type = HELP

            async def probe_run() -> JSON:
                await asyncio.sleep(cfg.create_warmup)
                return await run_load(h.bot.url + EVENTS_PATH if h.bot else "", signed_spec(body, content_type),
                                      conns=2, duration=max(1.0, cfg.create_duration - 1.5), rate=cfg.probe_rate,
                                      tool="python", workdir=h.workdir)

            loaded, probed = await asyncio.gather(load, probe_run())
            return {"creates": loaded, "probe": probed}
    finally:
        watch.close()


async def ack_idle_probe(h: Harness, cfg: Config) -> JSON:
    assert h.bot is not None
    body, content_type = HELP
    return await run_load(h.bot.url + EVENTS_PATH, signed_spec(body, content_type), conns=2,
                          duration=3.0, rate=cfg.probe_rate, tool="python", workdir=h.workdir)


# --- scenario 4: Redis round trips ------------------------------------------------------------------------------


def redis_calibration(h: Harness) -> JSON:
    """Proves the counting on this server: 5 single commands and 5 four-command pipelines must read as 10 round
    trips and 25 commands."""
    client = h.redis_client()
    try:
        before = RedisCounters.take(client)
        for i in range(5):
            client.get(f"bench:calibration:{i}")
        for i in range(5):
            pipe = client.pipeline(transaction=False)
            for j in range(4):
                pipe.get(f"bench:calibration:{i}:{j}")
            pipe.execute()
        delta = RedisCounters.take(client).since(before)
    finally:
        client.close()
    return {**delta, "ok": delta["round_trips"] == 10 and delta["commands"] == 25}


async def redis_per_op(h: Harness, cfg: Config, users: list[tuple[str, str]]) -> JSON:
    assert h.meet and h.bot
    h.meet.state.set_latency(0.0)
    calibration = redis_calibration(h)
    client = h.redis_client()
    watch = Watch(h)
    user_id, email = users[0]
    try:
        async with _session(4) as session:
            driver = Creates(h, watch, session, [(user_id, email)], prefix="r")

            async def sequential(op: Callable[[int], Awaitable[Sample]], n: int) -> tuple[JSON, int]:
                await op(10**6)  # warm: pool connection, token, code cache
                await h.quiesce(quiet=0.5)
                meet_before, slack_before = h.meet_state.counts.copy(), h.slack_state.counts.copy()
                before = RedisCounters.take(client)
                failures = 0
                for i in range(n):
                    sample = await op(i)
                    failures += sample.error is not None
                # work after the card or reply (remembering it, the Home tab...) counts too
                await h.quiesce(quiet=0.5, watch_jobs=False)
                delta = RedisCounters.take(client).since(before)
                per_op = {
                    "commands": round(delta["commands"] / n, 2),
                    "round_trips": round(delta["round_trips"] / n, 2),
                    "by_command": {k: round(v / n, 2) for k, v in delta["by_command"].items()},
                    "meet_calls": counts_delta(h.meet_state.counts, meet_before, n),
                    "slack_calls": counts_delta(h.slack_state.counts, slack_before, n),
                    "ops": n,
                    "failed": failures,
                }
                return per_op, failures

            async def create(i: int) -> Sample:
                return await driver.op(0, i)

            create_per_op, _ = await sequential(create, cfg.redis_ops)

            async def home(i: int) -> Sample:
                """What a create triggers after its card: the Home tab republished (app_home_opened does only that)."""
                arrival = watch.expect(f"home:{user_id}")
                event = {"type": "app_home_opened", "user": user_id, "channel": "D0BENCH", "tab": "home",
                         "event_ts": f"{time.time():.6f}"}
                body = json.dumps(h.slack_state.event_envelope(event))
                sample = Sample(time.perf_counter())
                try:
                    await post_signed(session, h.bot.url + EVENTS_PATH if h.bot else "", body, "application/json")
                    sample.done = (await asyncio.wait_for(arrival, OP_TIMEOUT)).at
                except TimeoutError:
                    sample.error = "no views.publish"
                finally:
                    watch.forget(f"home:{user_id}")
                return sample

            home_per_op, _ = await sequential(home, cfg.redis_ops)

            # a meeting to ask about: created through the bot (so its code and owner are known), made live
            for attempt in range(3):
                made = await driver.op(0, 10**7 + attempt)
                if made.error is None:
                    break
                await h.quiesce()
            else:
                raise RuntimeError(f"could not create the meeting for status checks: {made.error}")
            card = next(c for c in reversed(h.slack_state.calls_to("chat.postMessage")) if
                        str(c["args"].get("text", "")).startswith(f"r{10**7 + attempt}:"))
            code = str(card["args"]["text"]).rsplit("/", 1)[-1]
            h.meet.state.join(code, user="guest@example.com")

            async def status(i: int) -> Sample:
                key = f"s{i}"
                arrival = watch.expect(key)
                body, content_type = slash_command(code, user_id=user_id, channel_id=CHANNEL,
                                                   response_url=watch.response_url(key),
                                                   trigger_id=f"{int(time.time())}.{key}")
                sample = Sample(time.perf_counter())
                try:
                    await post_signed(session, h.bot.url + EVENTS_PATH if h.bot else "", body, content_type)
                    got = await asyncio.wait_for(arrival, OP_TIMEOUT)
                    sample.done = got.at
                except TimeoutError:
                    sample.error = "no status reply"
                finally:
                    watch.forget(key)
                return sample

            status_per_op, _ = await sequential(status, cfg.redis_ops)
    finally:
        watch.close()
        client.close()
    return {
        "calibration": calibration,
        "create": create_per_op,
        "home_refresh": home_per_op,
        "status": {**status_per_op, "meeting": code, "live": True},
    }


# --- scenario 6: unfurls ----------------------------------------------------------------------------------------


async def unfurls(h: Harness, cfg: Config, users: list[tuple[str, str]]) -> JSON:
    assert h.meet and h.bot
    h.meet.state.set_latency(UNFURL_LATENCY)
    sharer, email = users[0]
    links = [f"https://meet.google.com/{h.meet.state.create_space(email)['meetingCode']}" for _ in range(10)]
    watch = Watch(h)
    url = h.bot.url + EVENTS_PATH
    try:
        async with _session(cfg.unfurl_conns) as session:

            def op_for(per_message: int, timeout: float = OP_TIMEOUT) -> Op:
                async def op(worker: int, n: int) -> Sample:
                    urls = [links[(n + i) % len(links)] for i in range(per_message)]
                    event = h.slack_state.share_links(urls, channel=CHANNEL, user=sharer)
                    arrival = watch.expect_unfurl(CHANNEL, event["message_ts"], event["unfurl_id"], urls)
                    body = json.dumps(h.slack_state.event_envelope(event))
                    sample = Sample(time.perf_counter())
                    try:
                        await post_signed(session, url, body, "application/json")
                        sample.ack = time.perf_counter()
                        sample.done = (await asyncio.wait_for(arrival, timeout)).at
                    except TimeoutError:
                        sample.error = "no chat.unfurl for every link"
                        watch.forget_unfurl(arrival)
                    return sample

                return op

            # Is unfurling implemented? One event, a few seconds to answer.
            first = await op_for(1, timeout=3.0)(0, 0)
            if first.error and watch.unfurl_calls == 0:
                return {"implemented": False, "note": "n/a (unfurls not implemented): no chat.unfurl within 3 s"}
            results = {}
            for per_message in (1, 10):
                await h.quiesce()
                meet_before = h.meet_state.counts.copy()
                watch.unfurled_links = watch.degraded_links = 0
                with CpuMeter(h.bot.pid) as cpu:
                    result = await closed_loop(cfg.unfurl_conns, 1.0, cfg.unfurl_duration, op_for(per_message))
                result["bot_cpu_pct"] = cpu.percent
                result["degraded_pct"] = round(100 * watch.degraded_links / max(1, watch.unfurled_links), 1)
                result["meet_calls_per_link"] = counts_delta(h.meet_state.counts, meet_before,
                                                             max(1, result["total_ops"] * per_message))
                results[str(per_message)] = result
            return {"implemented": True, "conns": cfg.unfurl_conns, "latency_s": UNFURL_LATENCY,
                    "per_message": results}
    finally:
        watch.close()
