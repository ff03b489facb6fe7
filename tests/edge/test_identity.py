"""A Connect link links only its owner (issue 10, finding 1; finding 6 for re-links), through the real routes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import pytest
import redis.asyncio as aioredis

from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.flows import all_text, button_urls, link_google
from tests.support.slack_requests import slash_command

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]

MALLORY, MALLORY_EMAIL = "U0MALLORY", "mallory@example.com"
ALICE, ALICE_EMAIL = "U0ALICE", "alice@example.com"
PERSONAL_EMAIL = "alice.liddell@gmail.example"  # Alice's own Google account that no Slack profile uses


def live_refresh_tokens(meet: MeetEmulator, email: str) -> list[str]:
    """Refresh tokens the emulated Google still honours for `email` (test introspection of its bookkeeping)."""
    return [r.value for r in meet.state._refresh.values() if r.user == email and not r.revoked]


async def link_keys(redis_client: aioredis.Redis) -> list[bytes]:
    return [k async for k in redis_client.scan_iter("meetbot:*:google")]


async def forwarded_consent(bot: BotProcess, slack: SlackEmulator, meet: MeetEmulator, google_email: str = ALICE_EMAIL,
                            real_name: str = "Mallory Moe") -> tuple[httpx.Response, str]:
    """Mallory asks for a Connect link and forwards it; Alice opens it and consents as herself (with her work
    account, the one her Slack profile uses, or `google_email`)."""
    slack.state.add_user(MALLORY, "mallory", email=MALLORY_EMAIL, real_name=real_name)
    slack.state.add_user(ALICE, "alice", email=ALICE_EMAIL)
    response_url = slack.response_url(f"connect-{time.monotonic_ns()}")
    reply = (await bot.post(slash_command("connect", user_id=MALLORY, response_url=response_url))).json()
    (consent_url,) = button_urls(reply)
    meet.state.set_consent(google_email)
    async with httpx.AsyncClient(timeout=5) as client:
        redirect = await client.get(consent_url, follow_redirects=False)
        callback = await client.get(redirect.headers["location"], follow_redirects=False)
    return callback, response_url.rsplit("/", 1)[1]


async def test_a_forwarded_connect_link_links_nothing(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_client: aioredis.Redis
) -> None:
    callback, reply_name = await forwarded_consent(bot, slack_emulator, meet_emulator)
    assert callback.status_code == 403
    assert "isn&#x27;t the one for that Slack user" in callback.text and f"@mallory ({MALLORY})" in callback.text
    assert await link_keys(redis_client) == [], "nothing may be stored under Mallory"
    assert live_refresh_tokens(meet_emulator, ALICE_EMAIL) == [], "the unused grant is given back to Google"

    told = all_text(slack_emulator.state.wait_for_response_posts_blocking(reply_name, 1, timeout=10)[0]["body"])
    assert "Nothing was connected" in told and MALLORY_EMAIL in told
    assert ALICE_EMAIL not in told, "the consenter's address is never shown to the asker"
    me = (await bot.post(slash_command("me", user_id=MALLORY))).json()
    assert "isn't connected" in all_text(me)


async def test_an_unverified_google_email_is_not_proof(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_client: aioredis.Redis
) -> None:
    slack_emulator.state.add_user(ALICE, "alice", email=ALICE_EMAIL)
    meet_emulator.state.set_email_verified(ALICE_EMAIL, False)
    callback = await link_google(bot, slack_emulator, meet_emulator, ALICE, ALICE_EMAIL)
    assert callback.status_code == 403
    assert await link_keys(redis_client) == []


async def test_a_matching_email_links_and_is_announced_by_dm(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_client: aioredis.Redis
) -> None:
    slack_emulator.state.add_user(ALICE, "alice", email="Alice@Example.com")  # case differs: still hers
    callback = await link_google(bot, slack_emulator, meet_emulator, ALICE, ALICE_EMAIL)
    assert callback.status_code == 200
    assert len(await link_keys(redis_client)) == 1
    (dm,) = slack_emulator.state.wait_for_calls_blocking("chat.postMessage", 1, timeout=10)
    assert dm["args"]["channel"] == ALICE and ALICE_EMAIL in all_text(dm["args"])
    assert "/meet disconnect" in all_text(dm["args"])


async def test_relinking_revokes_the_replaced_grant(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    assert (await link_google(bot, slack_emulator, meet_emulator, ALICE, ALICE_EMAIL)).status_code == 200
    (first,) = live_refresh_tokens(meet_emulator, ALICE_EMAIL)
    assert (await link_google(bot, slack_emulator, meet_emulator, ALICE, ALICE_EMAIL)).status_code == 200
    live = live_refresh_tokens(meet_emulator, ALICE_EMAIL)
    assert first not in live and len(live) == 1, "exactly one live grant: the new one"


def form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(confirm|csrf)" value="([^"]+)"', page))


async def test_other_emails_need_a_confirming_post_that_names_the_receiver(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
    redis_client: aioredis.Redis,
) -> None:
    bot = start_bot(GOOGLE_ALLOW_OTHER_EMAILS="true")
    callback, _ = await forwarded_consent(bot, slack_emulator, meet_emulator, PERSONAL_EMAIL)
    assert callback.status_code == 200
    # named by what its owner can't choose freely: the @handle, the user id and the workspace (name and address)
    assert "@mallory" in callback.text and MALLORY in callback.text and "Mallory Moe" not in callback.text
    assert "Emulated Workspace" in callback.text and ".slack.com" in callback.text and PERSONAL_EMAIL in callback.text
    assert await link_keys(redis_client) == [], "nothing is stored before the consenter confirms"
    fields = form_fields(callback.text)
    cookie = callback.cookies.get("meetbot_confirm")
    assert cookie and fields["csrf"] == cookie
    assert "samesite=strict" in callback.headers["set-cookie"].lower()

    async with httpx.AsyncClient(base_url=bot.url, timeout=5) as client:
        # A cross-site form can't carry the cookie: refused, and the held grant is untouched.
        forged = await client.post("/google/oauth/confirm", data={**fields, "answer": "confirm"})
        assert forged.status_code == 400 and await link_keys(redis_client) == []
    async with httpx.AsyncClient(base_url=bot.url, timeout=5, cookies={"meetbot_confirm": cookie}) as client:
        confirmed = await client.post("/google/oauth/confirm", data={**fields, "answer": "confirm"})
        assert confirmed.status_code == 200 and f"Connected as {PERSONAL_EMAIL}" in confirmed.text
        again = await client.post("/google/oauth/confirm", data={**fields, "answer": "confirm"})
        assert again.status_code == 400, "the confirmation works once"
    assert len(await link_keys(redis_client)) == 1
    dm = [c for c in slack_emulator.state.wait_for_calls_blocking("chat.postMessage", 1, timeout=10)]
    assert dm[0]["args"]["channel"] == MALLORY and PERSONAL_EMAIL in all_text(dm[0]["args"])


async def test_a_look_alike_name_cannot_take_a_workspace_members_google_account(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
    redis_client: aioredis.Redis,
) -> None:
    """Mallory renames herself "Alice Liddell" and forwards her Connect link; Alice consents with the Google account
    her own Slack profile uses. That account is another member's: refused, with nothing to confirm."""
    bot = start_bot(GOOGLE_ALLOW_OTHER_EMAILS="true")
    callback, reply_name = await forwarded_consent(bot, slack_emulator, meet_emulator, ALICE_EMAIL, "Alice Liddell")
    assert callback.status_code == 403 and 'name="confirm"' not in callback.text
    assert "another member" in callback.text and "Alice Liddell" not in callback.text
    assert await link_keys(redis_client) == []
    assert live_refresh_tokens(meet_emulator, ALICE_EMAIL) == [], "the unused grant is given back to Google"
    told = all_text(slack_emulator.state.wait_for_response_posts_blocking(reply_name, 1, timeout=10)[0]["body"])
    assert "Nothing was connected" in told and ALICE_EMAIL not in told


async def test_cancelling_the_confirmation_stores_nothing_and_gives_the_grant_back(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator,
    redis_client: aioredis.Redis,
) -> None:
    bot = start_bot(GOOGLE_ALLOW_OTHER_EMAILS="true")
    callback, reply_name = await forwarded_consent(bot, slack_emulator, meet_emulator, PERSONAL_EMAIL)
    fields = form_fields(callback.text)
    async with httpx.AsyncClient(base_url=bot.url, timeout=5, cookies={"meetbot_confirm": fields["csrf"]}) as client:
        cancelled = await client.post("/google/oauth/confirm", data={**fields, "answer": "cancel"})
    assert cancelled.status_code == 400 and "Nothing was connected" in cancelled.text
    assert await link_keys(redis_client) == []
    assert live_refresh_tokens(meet_emulator, PERSONAL_EMAIL) == []
    told = all_text(slack_emulator.state.wait_for_response_posts_blocking(reply_name, 1, timeout=10)[0]["body"])
    assert "cancelled" in told
