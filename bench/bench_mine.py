"""`/meet mine`, issue 26: Google reads a minute for people who opted in, by polling and by events, against the
project's 6,000-a-minute read quota; and what one person costs on an idle day.

    python -m bench.bench_mine [--people 40] [--hours 2] [--poll 30]

Measured, not assumed: the real `Mine` use case (bot/core/mine.py), `MeetClient`, the shared lease schedule and the
`/meet mine` records in a private Redis, against the Meet emulator, with `--people` opted-in people over `--hours`
of simulated time (a clock moved by hand, the emulator's with it, so hours take seconds). Every Google call the
emulator answered is counted by route. Half the people hold one 30-minute meeting that leaves a recording,
transcript and notes; the other half stay idle. The figures are then scaled linearly to 1,000 people (every read is
per person: nothing is shared between people, so the scaling is exact up to the schedule's claim batches).

The same run is made twice: polling (no event feed), and with Workspace Events (the Workspace Events emulator, one
user-target subscription per person, every published event handed to meetbot's intake at each tick, polling then a
5-minute safety net). Subscription calls go to the Workspace Events API, not Meet, and are counted apart.
"1,000 people: reads/min" adds to the measured list rate one meeting per person per day at the measured reads per
ended meeting; "idle day" is the measured reads of the idle half, per person, scaled to 24 h.
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
from bot.core.event_feed import EventFeed, EventIntake, PersonalFeed
from bot.core.following import COALESCE
from bot.core.mine import Mine
from bot.domain import Tenant
from bot.google.pubsub import parse_message
from bot.google.workspace_events import WorkspaceEvents
from bot.meet.client import MeetClient, build_http_client
from bot.store.keys import Keys
from bot.store.live import EventRoutes, FollowSchedule, LiveStates, WorkspaceEventsSeen
from bot.store.mine import MineChoices
from bot.store.spaces import SpaceRecords
from emulators.events import EventsEmulator
from emulators.meet import MeetEmulator
from tests.support.redis_server import RedisServer

RESULTS = Path(__file__).resolve().parent / "results" / "mine.json"
TENANT = Tenant("T0BENCH")
TOPIC = "projects/bench/topics/meet"
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


async def run(people: int, hours: float, poll: float, *, events: bool) -> dict[str, Any]:
    server = RedisServer().start()
    state = CountingMeetState()
    meet_emulator = MeetEmulator(state=state).start()
    events_emulator = EventsEmulator(state, pull_wait=0.0).start() if events else None
    http = build_http_client(timeout_read=10.0, max_connections=50, max_keepalive_connections=50)
    redis = Redis.from_url(server.url)
    try:
        clock = Clock(state)
        keys = Keys()
        feed = intake = None
        if events_emulator is not None:
            client = WorkspaceEvents(http, events_emulator.url)
            routes = EventRoutes(redis, keys)
            feed = PersonalFeed(client, TOPIC, MineChoices(redis, keys), routes, clock=clock)

        async def google_user(tenant: Tenant, user_id: str) -> str:
            return state.user(email(user_id))["id"]

        mine = Mine(MeetClient(http, meet_emulator.url), EmulatorTokens(state), SpaceRecords(redis, keys),
                    MineChoices(redis, keys), FollowSchedule(redis, keys, COALESCE, name="mine"), poll,
                    feed=feed, google_user=google_user, clock=clock)
        if events_emulator is not None and feed is not None:
            async def no_card(tenant: Tenant, space_name: str, event_id: str) -> bool:
                return False

            intake = EventIntake(WorkspaceEventsSeen(redis, keys), no_card,
                                 EventFeed(client, TOPIC, LiveStates(redis, keys), routes), personal=feed,
                                 poke_person=mine.poke)
        users = [f"U{n:05d}" for n in range(people)]
        for user in users:
            await mine.turn_on(TENANT, user)
        busy = users[: people // 2]
        spaces = {u: state.create_space(email(u), client_id="calendar")["name"] for u in busy}
        recaps, delivered, seen = 0, 0, 0
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
            if intake is not None and events_emulator is not None:
                published = events_emulator.state.broker.snapshot()["published"]
                for message in published[seen:]:
                    await intake.accept(parse_message(message))
                    delivered += 1
                seen = len(published)
            while due := await mine.due(256):
                updates = await asyncio.gather(*(mine.read(t, u) for t, u in due))
                recaps += sum(1 for batch in updates for update in batch if update.meeting.state.ended_at)
            clock.advance(poll)
        reads = Counter({route: n for route, n in state.counts.items()})
        idle = {email(u) for u in users[people // 2:]}
        idle_reads = sum(1 for call in state.calls if call.get("user") in idle)
        return {"idle_people": len(idle), "idle_reads": idle_reads,
                "feed": "events" if events else "polling", "people": people, "hours": hours, "poll_seconds": poll,
                "reads": dict(reads), "recap_updates": recaps, "busy": len(busy), "events_delivered": delivered,
                "subscription_calls": len(events_emulator.state.calls) if events_emulator is not None else 0}
    finally:
        await redis.aclose()
        await http.aclose()
        if events_emulator is not None:
            events_emulator.stop()
        meet_emulator.stop()
        server.stop()


def table(results: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("feed", "measured (Meet reads)", "reads/person/min", "reads/ended meeting",
                                    "1,000 people: reads/min", "of 6,000", "idle day/person")]
    for result in results:
        people, hours, busy = result["people"], result["hours"], result["busy"]
        reads = result["reads"]
        listing = reads.get("conferenceRecords.list", 0)
        meeting_reads = sum(n for route, n in reads.items() if route != "conferenceRecords.list")
        per_person_minute = listing / people / (hours * 60)
        per_meeting = meeting_reads / max(busy, 1)
        # 1,000 people, each with one meeting a day: the lists, plus each meeting's own reads spread over the day
        per_minute = SCALE_TO * (per_person_minute + per_meeting / (24 * 60))
        rows.append((result["feed"], f"{listing} lists + {meeting_reads} others, {people} people, {hours:g} h",
                     f"{per_person_minute:.2f}", f"{per_meeting:.1f}", f"{per_minute:,.0f}",
                     f"{per_minute / QUOTA:.1%}",
                     f"{result['idle_reads'] / result['idle_people'] / hours * 24:,.0f} reads"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--poll", type=float, default=30.0)
    args = parser.parse_args()
    results = [asyncio.run(run(args.people, args.hours, args.poll, events=events)) for events in (False, True)]
    rows = table(results)
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)))
    poll = args.poll
    print(f"polling reaches the quota at {QUOTA / (60 / poll):,.0f} opted-in people (poll {poll:g} s), half of it at "
          f"{QUOTA / 2 / (60 / poll):,.0f}; events delivered: {results[1]['events_delivered']}, Workspace Events "
          f"calls: {results[1]['subscription_calls']} (subscriptions, not Meet reads)")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": results, "table": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
