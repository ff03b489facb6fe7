"""`/meet mine`, issue 26: Google reads a minute for people who opted in, by polling and by events, against the
project's 6,000-a-minute read quota; and what one person costs on an idle day.

    python -m bench.bench_mine [--people 40] [--hours 2] [--poll 30]

Measured, not assumed: the real `Mine` use case (bot/core/mine.py), `MeetClient`, the shared lease schedule and the
`/meet mine` records in a private Redis, against the Meet emulator, with `--people` opted-in people over `--hours`
of simulated time (a clock moved by hand, the emulator's with it, so hours take seconds). Every Google call the
emulator answered is counted by route. Half the people hold one 30-minute meeting that leaves a recording,
transcript and notes; the other half stay idle. The figures are then scaled linearly to 1,000 people (every read is
per person: nothing is shared between people, so the scaling is exact up to the schedule's claim batches).

Events (a user-target Workspace Events subscription per person) are not measured here: meetbot doesn't make them yet.
Their column is arithmetic from the same measured per-meeting reads: no idle reads, the end-of-meeting reads only,
and one subscription renewal a week per person (a Workspace Events write, not a Meet read).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.common import CountingMeetState
from bot.core.following import COALESCE
from bot.core.mine import Mine
from bot.domain import Tenant
from bot.meet.client import MeetClient, build_http_client
from bot.store.keys import Keys
from bot.store.live import FollowSchedule
from bot.store.mine import MineChoices
from bot.store.spaces import SpaceRecords
from emulators.meet import MeetEmulator
from tests.support.redis_server import RedisServer

RESULTS = Path(__file__).resolve().parent / "results" / "mine.json"
TENANT = Tenant("T0BENCH")
QUOTA = 6_000  # Meet API reads a minute per project
SCALE_TO = 1_000
SCOPES = ["https://www.googleapis.com/auth/meetings.space.readonly"]


class Clock:
    def __init__(self, meet: CountingMeetState) -> None:
        self.now, self._meet = meet.now(), meet  # the same clock as Google's records

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self._meet.advance_time(seconds)


class EmulatorTokens:
    """Each person's own token, minted by the emulator (long-lived: the simulated hours must not expire them)."""

    def __init__(self, meet: CountingMeetState) -> None:
        self._meet, self._tokens = meet, {}  # type: ignore[var-annotated]

    async def get_access_token(self, tenant: Tenant, user_id: str) -> str:
        if user_id not in self._tokens:
            self._tokens[user_id] = self._meet.mint_token(email(user_id), SCOPES, expires_in=30 * 86_400)
        return str(self._tokens[user_id])

    async def reject_access_token(self, tenant: Tenant, user_id: str, token: str) -> None:
        self._tokens.pop(user_id, None)


def email(user_id: str) -> str:
    return f"{user_id.lower()}@example.com"


async def run(people: int, hours: float, poll: float) -> dict[str, Any]:
    server = RedisServer().start()
    state = CountingMeetState()
    meet_emulator = MeetEmulator(state=state).start()
    http = build_http_client(timeout_read=10.0, max_connections=50, max_keepalive_connections=50)
    redis = Redis.from_url(server.url)
    try:
        clock = Clock(state)
        keys = Keys()
        mine = Mine(MeetClient(http, meet_emulator.url), EmulatorTokens(state), SpaceRecords(redis, keys),
                    MineChoices(redis, keys), FollowSchedule(redis, keys, COALESCE, name="mine"), poll, clock=clock)
        users = [f"U{n:05d}" for n in range(people)]
        for user in users:
            await mine.turn_on(TENANT, user)
        busy = users[: people // 2]
        spaces = {u: state.create_space(email(u), client_id="calendar")["name"] for u in busy}
        recaps = 0
        state.counts.clear()
        ticks = int(hours * 3600 / poll)
        for tick in range(ticks):
            minute = tick * poll / 60
            if minute == 10:  # the busy half start their meeting ten minutes in ...
                for user, space in spaces.items():
                    state.join(space, user=email(user))
            if minute == 40:  # ... and end it after half an hour; Google makes its files a little later
                for space in spaces.values():
                    state.end_conference(space)
            if minute == 45:
                for space in spaces.values():
                    for kind in ("recording", "transcript", "smartNote"):
                        state.produce_artifact(kind, space)
            while due := await mine.due(256):
                updates = await asyncio.gather(*(mine.read(t, u) for t, u in due))
                recaps += sum(1 for batch in updates for update in batch if update.meeting.state.ended_at)
            clock.advance(poll)
        reads = Counter({route: n for route, n in state.counts.items()})
        return {"people": people, "hours": hours, "poll_seconds": poll, "reads": dict(reads),
                "recap_updates": recaps, "busy": len(busy)}
    finally:
        await redis.aclose()
        await http.aclose()
        meet_emulator.stop()
        server.stop()


def table(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    people, hours, busy, poll = result["people"], result["hours"], result["busy"], result["poll_seconds"]
    reads = result["reads"]
    listing = reads.get("conferenceRecords.list", 0)
    meeting_reads = sum(n for route, n in reads.items() if route != "conferenceRecords.list")
    minutes = hours * 60
    per_person_minute = listing / people / minutes
    per_meeting = meeting_reads / max(busy, 1)
    polling_per_minute = SCALE_TO * per_person_minute
    idle_day_polling = per_person_minute * 24 * 60
    # events: no idle reads; the end-of-meeting reads only (measured per meeting); say one meeting a person a day
    events_per_minute = SCALE_TO * per_meeting / (24 * 60)
    rows = [
        ("measured", f"{people} people, {hours:g} h simulated, poll {poll:g} s",
         f"{listing} running-meeting lists, {meeting_reads} other reads", f"{per_meeting:.1f} reads per ended meeting"),
        ("polling, 1,000 people", f"{polling_per_minute:,.0f} reads/min", f"{polling_per_minute / QUOTA:.0%} of 6,000",
         f"idle day: {idle_day_polling:,.0f} reads/person"),
        ("events, 1,000 people", f"{events_per_minute:,.1f} reads/min (1 meeting/person/day)",
         f"{events_per_minute / QUOTA:.2%} of 6,000", "idle day: 0 Meet reads/person (1 renewal a week)"),
        ("polling breaks the quota at", f"{QUOTA / (60 / poll):,.0f} people (poll {poll:g} s)",
         f"{QUOTA / 2 / (60 / poll):,.0f} leaves half for cards", ""),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--poll", type=float, default=30.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.people, args.hours, args.poll))
    rows = table(result)
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({**result, "table": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
