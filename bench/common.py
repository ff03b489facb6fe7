"""The bench harness: private Redis, the emulators, the bot and the baseline servers; signed request specs; the load
tools (wrk when installed, else `bench.load`); RSS and Redis counters.

Everything listens on 127.0.0.1 only. Every load run is bounded in time (and count); every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from cryptography.fernet import Fernet

from emulators.meet import MeetEmulator, MeetState
from emulators.slack import SlackEmulator, SlackState
from tests.support.bot_process import BotProcess, emulator_env
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer
from tests.support.slack_requests import SIGNING_SECRET, sign

BOT_TOKEN = "xoxb-test-bot-token"
TEAM_ID = "T0001"
CHANNEL = "C0GENERAL"
EVENTS_PATH = "/slack/events"
ROOT = Path(__file__).resolve().parent.parent
BASELINES = {"raw": "bench.baselines.raw", "bolt": "bench.baselines.bolt", "bolt_pbr": "bench.baselines.bolt_pbr"}
LOAD_DEADLINE_SLACK = 30.0  # seconds a load subprocess may run past its nominal duration before it is killed

JSON = dict[str, Any]
Tap = Callable[[JSON, float], None]


# --- the Slack emulator, with taps ----------------------------------------------------------------------------


class TappedSlackState(SlackState):
    """The Slack emulator's state, calling back when a watched Web API method or a response_url is hit.

    Callbacks run on the emulator's thread with `time.perf_counter()` of the moment the call was recorded (after the
    emulator handled it, before it answered); they must only hand the event over (`call_soon_threadsafe`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.taps: dict[str, Tap] = {}
        self.response_tap: Callable[[str, bytes, float], None] | None = None
        self.counts: Counter[str] = Counter()  # Web API method (or "response_url") → calls so far

    def record_call(self, method: str, args: JSON, token: str | None, status: int, response: JSON | str,
                    **kwargs: Any) -> None:
        super().record_call(method, args, token, status, response, **kwargs)
        self.counts[method] += 1
        if not (isinstance(response, dict) and response.get("ok") is True):
            error = response.get("error") if isinstance(response, dict) else status
            self.counts[f"{method}!{error}"] += 1
        tap = self.taps.get(method)
        if tap is not None:
            tap(args, time.perf_counter())

    def handle_response_post(self, name: str, raw: bytes, content_type: str) -> tuple[int, str]:
        answer = super().handle_response_post(name, raw, content_type)
        self.counts["response_url"] += 1
        if self.response_tap is not None:
            self.response_tap(name, raw, time.perf_counter())
        return answer


class CountingMeetState(MeetState):
    """The Meet emulator's state, also counting calls per route (cheap, unlike `calls`, which deep-copies), and
    apart the calls that are no GET: work, not the follow loop reading the meetings it follows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counts: Counter[str] = Counter()
        self.writes = 0

    def _record_call(self, call: dict[str, Any]) -> None:
        super()._record_call(call)
        self.counts[str(call.get("route"))] += 1
        self.writes += call.get("method") != "GET"


def counts_delta(after: Counter[str], before: Counter[str], per: int = 1) -> dict[str, float]:
    deltas = {k: round((after[k] - before[k]) / per, 2) for k in sorted(after) if after[k] != before[k]}
    return {k: v for k, v in deltas.items() if v}


# --- servers ----------------------------------------------------------------------------------------------------


@dataclass
class Baseline:
    name: str
    module: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, slack_api_url: str) -> Baseline:
        log = (self.workdir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, "--port", str(self.port), "--slack-api-url", slack_api_url,
             "--token", BOT_TOKEN, "--secret", SIGNING_SECRET],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        wait_healthy(self.url + "/healthz", self.process, self.name)
        return self

    def stop(self) -> None:
        stop_process(self.process)


def wait_healthy(url: str, process: subprocess.Popen[bytes], name: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    stop_process(process)
    raise RuntimeError(f"{name} did not answer {url} within {timeout} s")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass
class Harness:
    """Private Redis, Slack and Meet emulators (in this process, on their own threads), the bot and the baselines
    (subprocesses). `with Harness() as h:` starts everything and stops it all, whatever happens."""

    baselines_wanted: tuple[str, ...] = tuple(BASELINES)
    keep_workdir: bool = False
    with_bot: bool = True  # False: the caller starts (and assigns to `bot`) a bot configured its own way
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="meetbot-bench-")))
    redis_server: RedisServer | None = None
    slack: SlackEmulator | None = None
    meet: MeetEmulator | None = None
    bot: BotProcess | None = None
    baselines: dict[str, Baseline] = field(default_factory=dict)
    encryption_key: str = field(default_factory=lambda: Fernet.generate_key().decode())

    @property
    def slack_state(self) -> TappedSlackState:
        assert self.slack is not None
        state = self.slack.state
        assert isinstance(state, TappedSlackState)
        return state

    def bot_env(self, redis_url: str | None = None) -> dict[str, str]:
        """The configuration of tests/conftest.py's `bot_env`: every outside service is an emulator."""
        assert self.redis_server and self.slack and self.meet
        return emulator_env(slack_api_url=self.slack.api_url, meet_url=self.meet.url,
                            redis_url=redis_url or self.redis_server.url, encryption_key=self.encryption_key,
                            bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET)

    def __enter__(self) -> Harness:
        try:
            self.redis_server = RedisServer().start()
            state = TappedSlackState(bot_token=BOT_TOKEN, team_id=TEAM_ID)
            self.slack = SlackEmulator(state=state).start()
            self.slack.state.add_channel(CHANNEL, "general")
            self.meet = MeetEmulator(state=CountingMeetState()).start()
            if self.with_bot:
                self.bot = BotProcess(self.bot_env(), self.workdir / "bot").start()
            for name in self.baselines_wanted:
                self.baselines[name] = Baseline(name, BASELINES[name], free_port(), self.workdir).start(
                    self.slack.api_url)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for baseline in self.baselines.values():
            baseline.stop()
        if self.bot is not None:
            self.bot.stop()
        if self.meet is not None:
            self.meet.stop()
        if self.slack is not None:
            self.slack.stop()
        if self.redis_server is not None:
            self.redis_server.stop()
        if not self.keep_workdir and not any(exc):
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def meet_state(self) -> CountingMeetState:
        assert self.meet is not None
        state = self.meet.state
        assert isinstance(state, CountingMeetState)
        return state

    async def quiesce(self, quiet: float = 1.0, limit: float = 90.0, *, watch_jobs: bool = True) -> float:
        """Wait (bounded) until the work of the previous scenario has stopped: no Slack call and no Meet call other
        than a read for `quiet` seconds, and no job queued or running, so that background work of one scenario
        (e.g. Home tab refreshes) does not leak into the next one's figures. Background polling is not watched: an
        idle bot never stops using Redis (its follow schedules are claimed twice a second; README, "What an idle
        process costs Redis") and reads the meetings its cards follow every MEET_POLL_SECONDS. `watch_jobs=False`
        leaves the queue alone while Redis's counters are being read (its size is read from Redis). Returns the
        seconds waited."""
        started = last_change = time.monotonic()
        async with httpx.AsyncClient(timeout=2.0) as http:
            previous = await self._activity(http, watch_jobs)
            while time.monotonic() - started < limit:
                await asyncio.sleep(0.25)
                now = await self._activity(http, watch_jobs)
                if now != previous or now[2] > 0:
                    last_change = time.monotonic()
                elif time.monotonic() - last_change >= quiet:
                    break
                previous = now
        return round(time.monotonic() - started, 1)

    async def jobs_queued(self) -> int:
        """The bot's job queue (its /metrics): jobs waiting, including ones paced for later by the create quota."""
        assert self.bot is not None
        async with httpx.AsyncClient(timeout=5.0) as http:
            page = (await http.get(self.bot.url + "/metrics")).text
        return sum(int(float(line.rpartition(" ")[2])) for line in page.splitlines()
                   if line.startswith("meetbot_jobs_queued"))

    def restart_bot_empty(self) -> None:
        """Stop the bot, empty this harness's own Redis and start the bot again, so that work a scenario left
        queued (creates paced by Google's 100-a-minute quota: minutes of them) does not run under the next ones.
        Links and cards go with it: link users again."""
        assert self.bot is not None
        self.bot.stop()
        client = self.redis_client()
        try:
            client.flushall()  # the Redis this harness started, no other
        finally:
            client.close()
        self.bot = BotProcess(self.bot_env(), self.workdir / "bot").start()

    async def _activity(self, http: httpx.AsyncClient, watch_jobs: bool) -> tuple[int, int, float]:
        """(Meet calls other than reads so far, Slack calls so far, the bot's jobs queued + running, from its
        /metrics)."""
        jobs = 0.0
        if self.bot is not None and watch_jobs:
            try:
                page = (await http.get(self.bot.url + "/metrics")).text
            except httpx.HTTPError:
                page = ""  # busy or restarting: the calls still say whether it works
            jobs = sum(float(line.rpartition(" ")[2]) for line in page.splitlines()
                       if line.startswith(("meetbot_jobs_queued", "meetbot_jobs_running")))
        return self.meet_state.writes, sum(self.slack_state.counts.values()), jobs

    def redis_client(self) -> redis.Redis:
        assert self.redis_server is not None
        return redis.Redis.from_url(self.redis_server.url)

    def targets(self) -> dict[str, str]:
        """Name → base URL of every server driven in scenario 1: the baselines, then meetbot."""
        assert self.bot is not None
        return {**{name: b.url for name, b in self.baselines.items()}, "meetbot": self.bot.url}


# --- requests ---------------------------------------------------------------------------------------------------


def signed_spec(body: str, content_type: str) -> JSON:
    """Headers + body for a load tool, signed now. wrk can't compute HMAC-SHA256 in Lua, so the request is pre-signed
    with the current timestamp; every load run re-signs, and a run is far shorter than Slack's 5-minute window."""
    return {"headers": {"Content-Type": content_type, **sign(body)}, "bodies": [body]}


# --- load tools -------------------------------------------------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def wrk_script(spec: JSON) -> str:
    """wrk Lua: a fixed, pre-signed POST; `done` prints one JSON line of counts and latency percentiles (µs)."""
    (body,) = spec["bodies"]
    headers = "\n".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in spec["headers"].items())
    return f"""
wrk.method = "POST"
{headers}
wrk.body = {_lua(body)}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""


async def _run_subprocess(argv: list[str], limit: float) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"{argv[0]} ran past {limit} s and was killed") from None
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed ({process.returncode}): {err.decode()[-2000:]}")
    return out.decode()


async def run_load(url: str, spec: JSON, *, conns: int, duration: float, tool: str, workdir: Path,
                   warmup: float = 0.0, count: int | None = None, rate: float | None = None) -> JSON:
    """One bounded load run. Returns requests, rps, errors, non2xx and p50/p90/p99/p999/max/mean in ms, and `tool`.

    wrk (closed loop, `-t1`) serves fixed-duration runs of one body; `bench.load` serves the rest (paced or
    count-limited runs, several bodies) and stands in for wrk when it is not installed."""
    use_wrk = tool == "wrk" and count is None and rate is None and len(spec["bodies"]) == 1
    if use_wrk:
        script = workdir / f"wrk-{os.getpid()}-{time.monotonic_ns()}.lua"
        script.write_text(wrk_script(spec))
        try:
            if warmup > 0:
                await _run_subprocess(["wrk", "-t1", f"-c{conns}", f"-d{warmup:.0f}s", "--timeout", "5s",
                                       "-s", str(script), url], warmup + LOAD_DEADLINE_SLACK)
            out = await _run_subprocess(["wrk", "-t1", f"-c{conns}", f"-d{duration:.0f}s", "--timeout", "5s",
                                         "-s", str(script), url], duration + LOAD_DEADLINE_SLACK)
        finally:
            script.unlink(missing_ok=True)
        line = next((ln for ln in out.splitlines() if ln.startswith("BENCHJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no result:\n{out[-2000:]}")
        raw = json.loads(line.removeprefix("BENCHJSON "))
        seconds = raw["duration_us"] / 1e6
        return {
            "tool": "wrk",
            "requests": raw["requests"],
            "errors": raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
            "non2xx": raw["status"],
            "duration_s": round(seconds, 3),
            "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
            **{f"{k}_ms": round(raw[f"{k}_us"] / 1000, 3) for k in ("p50", "p90", "p99", "p999", "max")},
            "mean_ms": round(raw["mean_us"] / 1000, 3),
        }
    spec_file = workdir / f"spec-{os.getpid()}-{time.monotonic_ns()}.json"
    spec_file.write_text(json.dumps(spec))
    argv = [sys.executable, "-m", "bench.load", "--url", url, "--spec", str(spec_file), "--conns", str(conns),
            "--duration", str(duration), "--warmup", str(warmup)]
    deadline = warmup + duration + LOAD_DEADLINE_SLACK
    if count is not None:
        argv += ["--count", str(count)]
        deadline = max(deadline, 120.0)
    if rate is not None:
        argv += ["--rate", str(rate)]
    argv += ["--deadline", str(deadline)]
    try:
        out = await _run_subprocess(argv, deadline + 10)
    finally:
        spec_file.unlink(missing_ok=True)
    return {"tool": "bench.load", **json.loads(out.strip().splitlines()[-1])}


# --- measurements -----------------------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """`with CpuMeter(pid) as m: ...` then `m.percent`: the process's CPU use over the block (100 = one core)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.percent = 0.0

    def __enter__(self) -> CpuMeter:
        self._cpu, self._wall = cpu_seconds(self.pid), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        self.percent = round(100 * (cpu_seconds(self.pid) - self._cpu) / wall, 1) if wall > 0 else 0.0


@dataclass(frozen=True)
class RedisCounters:
    """`INFO stats commandstats` at one moment: per-command call counts, commands processed, read events.

    `total_reads_processed` counts the read events the server handled: one per request burst a client sends and
    then waits on, so one per round trip (a pipeline is written in one burst and read in one event)."""

    commands: dict[str, int]
    total_commands: int
    reads: int

    @staticmethod
    def take(client: redis.Redis) -> RedisCounters:
        info = client.execute_command("INFO", "stats", "commandstats")  # type: ignore[no-untyped-call]
        commands = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items() if k.startswith("cmdstat_")}
        return RedisCounters(commands, int(info["total_commands_processed"]), int(info["total_reads_processed"]))

    def since(self, before: RedisCounters) -> JSON:
        """The delta, minus the one INFO command (and its read) that took this snapshot."""
        names = set(self.commands) | set(before.commands)
        delta = {n: self.commands.get(n, 0) - before.commands.get(n, 0) for n in names}
        delta["info"] = delta.get("info", 0) - 1
        return {
            "by_command": {k: v for k, v in sorted(delta.items()) if v},
            "commands": sum(v for v in delta.values()),
            "round_trips": self.reads - before.reads - 1,
        }
