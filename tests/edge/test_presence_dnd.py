"""`/meet presence dnd on|off` in-process: Do Not Disturb for the call's length, through the real services against the
Slack and Meet emulators and the private Redis.

A person who turned DND on is snoozed when meetbot sees them join and un-snoozed when they leave, but only if the
snooze is still the one meetbot set; without the DND scopes (the operator's or the person's grant) nothing is
snoozed and the reply says why or offers the sign-in again; turning presence off ends meetbot's snooze and forgets
it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest

from bot.core.presence import SAFETY_NET
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.edge.test_calls_edge import BOB, BOB_EMAIL, TENANT
from tests.edge.test_presence import LINK, Presence, ack_of, open_presence
from tests.support.flows import all_text
from tests.support.slack_requests import event
from tests.support.waits import eventually_async

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")  # slack_sdk's own

WITH_DND = "users.profile:read users.profile:write dnd:read dnd:write"


@pytest.fixture
async def p(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
            monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Presence]:
    env = {**bot_env, "SLACK_USER_SCOPES": WITH_DND}
    async with open_presence(env, slack_emulator, meet_emulator, monkeypatch) as presence:
        yield presence


@pytest.fixture
async def no_dnd(bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Presence]:
    async with open_presence(bot_env, slack_emulator, meet_emulator, monkeypatch) as presence:
        yield presence


def snoozed_until(p: Presence, user: str) -> int | None:
    return p.edge.slack.state.profiles.snoozed_until(user, p.edge.slack.state.now())


def calls(p: Presence, method: str) -> int:
    return len([c for c in p.edge.slack.state.calls_to(method) if c["ok"]])


async def snooze_record(p: Presence, user: str) -> bool:
    return bool(await p.edge.services.redis.hexists(p.edge.services.keys.presence(TENANT, user), "snooze"))


async def dnd_on(p: Presence, user: str = BOB) -> None:
    await p.sign_in(user)
    assert "Do Not Disturb during calls is on" in await p.edge.run("presence dnd on", user)


async def in_call(p: Presence, user_email: str = BOB_EMAIL) -> str:
    space, _ = await p.edge.new_card()
    p.edge.meet.state.join(space, user=user_email)
    await p.edge.read(space)
    return space


async def test_snoozed_on_join_once_and_resumed_on_leave(p: Presence) -> None:
    await dnd_on(p)
    assert snoozed_until(p, BOB) is None, "not in a call: nothing paused yet"
    space = await in_call(p)
    until = snoozed_until(p, BOB)
    assert until is not None and until <= p.edge.slack.state.now() + SAFETY_NET, "for the call, up to the cap"
    assert p.status(BOB) == ("In a meeting", ":calendar:"), "the status and the snooze at the same moment"
    raw = await p.edge.services.redis.hget(p.edge.services.keys.presence(TENANT, BOB), "snooze")
    assert raw is not None and str(until).encode() in raw, "Slack's own end is kept beside the hold"
    assert await p.edge.services.redis.ttl(p.edge.services.keys.presence(TENANT, BOB)) == -1, "no TTL"
    await p.edge.read(space)
    assert calls(p, "dnd.setSnooze") == 1, "one snooze per join, however often the call is read"
    p.edge.meet.state.leave(space, user=BOB_EMAIL)
    await p.edge.read(space)
    await p.edge.read(space)
    assert snoozed_until(p, BOB) is None and calls(p, "dnd.endSnooze") == 1
    assert not await snooze_record(p, BOB)


async def test_a_snooze_changed_during_the_call_is_left_alone(p: Presence) -> None:
    await dnd_on(p)
    space = await in_call(p)
    theirs = int(p.edge.slack.state.now()) + 30 * 60
    p.edge.slack.state.profiles.snooze(BOB, theirs)  # they picked "30 minutes" in Slack during the call
    p.edge.meet.state.end_conference(space)
    await p.edge.read(space)
    assert snoozed_until(p, BOB) == theirs and calls(p, "dnd.endSnooze") == 0
    assert not await snooze_record(p, BOB)


async def test_a_snooze_they_had_before_the_call_is_neither_replaced_nor_ended(p: Presence) -> None:
    await dnd_on(p)
    theirs = int(p.edge.slack.state.now()) + 2 * 3600
    p.edge.slack.state.profiles.snooze(BOB, theirs)
    space = await in_call(p)
    assert calls(p, "dnd.setSnooze") == 0 and snoozed_until(p, BOB) == theirs
    p.edge.meet.state.leave(space, user=BOB_EMAIL)
    await p.edge.read(space)
    assert snoozed_until(p, BOB) == theirs and calls(p, "dnd.endSnooze") == 0


async def test_without_the_operators_dnd_scopes_it_says_so_and_snoozes_nothing(no_dnd: Presence) -> None:
    await no_dnd.sign_in(BOB)
    reply = all_text(await ack_of(no_dnd.edge, "presence dnd on", BOB))
    assert "SLACK_USER_SCOPES" in reply and "dnd:write" in reply and "operator" in reply
    await in_call(no_dnd)
    assert no_dnd.status(BOB) == ("In a meeting", ":calendar:"), "the status still follows the call"
    assert calls(no_dnd, "dnd.setSnooze") == 0 and calls(no_dnd, "dnd.info") == 0


async def test_a_grant_from_before_dnd_gets_the_sign_in_again_then_snoozes(p: Presence) -> None:
    # Signed in when the operator didn't yet ask for DND: Slack's consent gave only the profile scopes.
    browser = await p.browser(BOB)
    to_slack = await browser.get(await p.link(BOB), allow_redirects=False)
    url = urlsplit(to_slack.headers["Location"])
    query = dict(parse_qsl(url.query)) | {"user_scope": "users.profile:read,users.profile:write", "user_id": BOB}
    async with aiohttp.ClientSession() as http, http.get(url._replace(query=urlencode(query)).geturl(),
                                                         allow_redirects=False) as consent:
        back = urlsplit(consent.headers["Location"])
    assert (await browser.get(f"{back.path}?{back.query}")).status == 200

    reply = await p.edge.run("presence dnd on", BOB)
    assert "Sign in with Slack again" in reply, reply
    space = await in_call(p)
    assert calls(p, "dnd.setSnooze") == 0 and calls(p, "dnd.info") == 0, "no call that the grant can't make"
    assert p.status(BOB) == ("In a meeting", ":calendar:"), "and presence itself was not thrown away"

    p.edge.meet.state.leave(space, user=BOB_EMAIL)
    await p.edge.read(space)
    found = LINK.search(reply)
    assert found, reply
    page = await p.open_link(found.group(1), BOB, BOB)
    assert page.status == 200 and p.revokes() == 1, "the older token is given back"
    # Slack reports that revocation too: it is meetbot's own, and must not forget the new sign-in.
    assert await p.edge.services.redis.exists(p.edge.services.keys.slack_signed_out(TENANT, BOB))
    await p.edge.send(event({"type": "tokens_revoked", "tokens": {"oauth": [BOB], "bot": []}}))

    async def echo_handled() -> bool:
        return not await p.edge.services.redis.exists(p.edge.services.keys.slack_signed_out(TENANT, BOB))

    await eventually_async(echo_handled, "the tokens_revoked job")  # a durable job, on this loop
    assert await p.token_kept(BOB), "the new token is kept"
    p.edge.meet.state.join(space, user=BOB_EMAIL)
    await p.edge.read(space)
    assert snoozed_until(p, BOB) is not None, "the choice was kept through the sign-in"


async def test_presence_off_ends_meetbots_snooze_and_forgets_it(p: Presence) -> None:
    await dnd_on(p)
    await in_call(p)
    assert snoozed_until(p, BOB) is not None
    await p.edge.run("presence off", BOB)
    assert snoozed_until(p, BOB) is None and calls(p, "dnd.endSnooze") == 1
    fields = await p.edge.services.redis.hkeys(p.edge.services.keys.presence(TENANT, BOB))
    assert not fields, f"nothing kept: {fields}"


async def test_dnd_off_mid_call_resumes_notifications_but_keeps_the_status(p: Presence) -> None:
    await dnd_on(p)
    await in_call(p)
    assert "Do Not Disturb during calls is off" in await p.edge.run("presence dnd off", BOB)
    assert snoozed_until(p, BOB) is None and not await snooze_record(p, BOB)
    assert p.status(BOB) == ("In a meeting", ":calendar:")
