"""Account linking through the real routes: signed /meet connect → Google consent → the bot's callback → Redis."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.domain import Tenant
from bot.store.keys import Keys
from emulators.meet import MeetEmulator
from emulators.slack import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.edge import services_in_loop
from tests.support.flows import all_text, block_action, button_urls, channel_posts, link_google
from tests.support.redis_server import RedisServer
from tests.support.slack_requests import slash_command

pytestmark = [pytest.mark.e2e, pytest.mark.in_process]

ALICE, EMAIL = "U0ALICE", "alice@example.com"


def issued_tokens(meet: MeetEmulator) -> set[str]:
    """Every access and refresh token the emulated Google handed out (read from its bookkeeping)."""
    return set(meet.state._access) | set(meet.state._refresh)  # test introspection of the emulated Google


async def command(bot: BotProcess, slack: SlackEmulator, text: str, user: str = ALICE) -> dict[str, object]:
    url = slack.response_url(f"{user}-{text}-{len(slack.state.response_posts())}")
    response = await bot.post(slash_command(text, user_id=user, response_url=url))
    assert response.status_code == 200
    if response.content:
        return dict(response.json())
    return dict(slack.state.wait_for_response_posts_blocking(url.rsplit("/", 1)[1], 1, timeout=10)[0]["body"])


async def test_connect_round_trip_stores_an_encrypted_link(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_client: aioredis.Redis
) -> None:
    callback = await link_google(bot, slack_emulator, meet_emulator, ALICE, EMAIL)
    assert callback.status_code == 200 and "Connected as alice@example.com" in callback.text
    assert callback.headers["Cache-Control"] == "no-store"
    told = slack_emulator.state.response_posts()[-1]["body"]
    assert "Connected to Google as *alice@example.com*" in all_text(told)

    keys = [k async for k in redis_client.scan_iter("meetbot:*")]
    assert any(k.endswith(b":google") and ALICE.encode() in k for k in keys)
    tokens = issued_tokens(meet_emulator)
    assert tokens, "the emulator issued tokens"
    for key in keys:
        kind = await redis_client.type(key)
        values: list[bytes] = []
        if kind == b"string":
            values = [await redis_client.get(key)]
        elif kind == b"hash":
            values = list((await redis_client.hgetall(key)).values())
        for value in values:
            assert not any(token.encode() in value for token in tokens), f"plain token in {key!r}"
    assert not any(token in bot.log_text() for token in tokens), "a token reached the log"

    me = all_text(await command(bot, slack_emulator, "me"))
    assert "Connected as *alice@example.com*" in me and "`meetings.space.created`" in me


async def test_state_is_single_use_and_refusals_store_nothing(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_client: aioredis.Redis
) -> None:
    slack_emulator.state.add_user(ALICE, "alice", email=EMAIL)
    reply = await command(bot, slack_emulator, "connect")
    (consent,) = button_urls(reply)
    async with httpx.AsyncClient() as client:
        meet_emulator.state.set_consent(EMAIL, deny=True)
        denied = await client.get((await client.get(consent)).headers["location"])
        assert denied.status_code == 400 and "You didn&#x27;t allow access" in denied.text
        replay = await client.get(bot.url + "/google/oauth/callback", params={"state": "forged", "code": "x"})
        assert replay.status_code == 400 and "expired or was already used" in replay.text
        no_state = await client.get(bot.url + "/google/oauth/callback")
        assert no_state.status_code == 400
    assert [k async for k in redis_client.scan_iter("meetbot:*:google")] == []


async def test_disconnect_revokes_then_forgets(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_client: aioredis.Redis
) -> None:
    await link_google(bot, slack_emulator, meet_emulator, ALICE, EMAIL)
    reply = all_text(await command(bot, slack_emulator, "disconnect"))
    assert "revoked at Google" in reply
    assert meet_emulator.state.revoked, "the token was revoked at Google"
    assert [k async for k in redis_client.scan_iter("meetbot:*:google")] == []
    assert "isn't connected" in all_text(await command(bot, slack_emulator, "me"))


async def test_revoked_grant_turns_into_a_reconnect_prompt(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, redis_client: aioredis.Redis
) -> None:
    await link_google(bot, slack_emulator, meet_emulator, ALICE, EMAIL)
    for token in list(meet_emulator.state._refresh):  # the user revokes access at Google
        meet_emulator.state.revoke(token)
    meet_emulator.state.advance_time(4000)  # the cached access token has expired too
    prompt = all_text(await command(bot, slack_emulator, "new"))
    assert "no longer accepts" in prompt and "Connect Google account" in prompt
    # Google refused the stale token (401); meetbot refreshed, met invalid_grant, and forgot the dead link.
    assert [c["status"] for c in meet_emulator.state.calls_to("spaces.create")] == [401]
    assert meet_emulator.state.refresh_grants == 0
    assert [k async for k in redis_client.scan_iter("meetbot:*:google")] == []


async def test_redis_down_gets_a_clear_reply_and_the_bot_recovers(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    own = RedisServer().start()
    try:
        bot = start_bot(REDIS_URL=own.url)
        own.stop()
        reply = all_text(await command(bot, slack_emulator, "me"))
        started = all_text(await command(bot, slack_emulator, "new"))
        # One outage, one wording, wherever it is noticed (issue 11).
        for text in (reply, started):
            assert "storage isn't answering right now, so it couldn't finish that" in text, text
        assert "Traceback" not in bot.log_text()
        own.start()
        assert "isn't connected" in all_text(await command(bot, slack_emulator, "me"))
        # The durable jobs come back too, with no restart: a meeting started now is created and posted.
        await link_google(bot, slack_emulator, meet_emulator, ALICE, EMAIL)
        url = slack_emulator.response_url("after-outage")
        await bot.post(slash_command("new Back", user_id=ALICE, response_url=url,
                                     trigger_id=slack_emulator.state.issue_trigger_id()))
        (card,) = channel_posts(slack_emulator, 1, timeout=30)
        assert "Back" in all_text(card["args"])
    finally:
        own.stop()


def delegation_env(meet: MeetEmulator, tmp_path: Path) -> dict[str, str]:
    """Domain-wide delegation: a service account the emulated Google knows, and no OAuth client."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    sa_email = "meetbot@project.iam.gserviceaccount.com"
    meet.state.register_service_account(
        sa_email, key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps({"type": "service_account", "client_email": sa_email, "private_key": pem,
                                    "private_key_id": "k1", "token_uri": "https://oauth2.googleapis.com/token"}))
    return {"GOOGLE_SERVICE_ACCOUNT_FILE": str(key_file), "GOOGLE_CLIENT_ID": "", "GOOGLE_CLIENT_SECRET": ""}


async def test_domain_wide_delegation(
    start_bot: Callable[..., BotProcess], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, tmp_path: Path
) -> None:
    bot = start_bot(**delegation_env(meet_emulator, tmp_path))
    slack_emulator.state.add_user(ALICE, "alice", email=EMAIL)
    slack_emulator.state.add_user("U0OUT", "outsider", email="out@elsewhere.org")

    assert "domain-wide delegation" in all_text(await command(bot, slack_emulator, "connect"))
    url = slack_emulator.response_url("dwd-new")
    await bot.post(slash_command("new", user_id=ALICE, response_url=url))
    channel_posts(slack_emulator, 1)
    (created,) = meet_emulator.state.calls_to("spaces.create")
    assert created["user"] == EMAIL

    refused = all_text(await command(bot, slack_emulator, "new", "U0OUT"))
    assert "out@elsewhere.org" in refused
    assert len(meet_emulator.state.calls_to("spaces.create")) == 1


async def test_slack_revoking_a_user_drops_their_delegated_token(
    bot_env: dict[str, str], slack_emulator: SlackEmulator, meet_emulator: MeetEmulator, tmp_path: Path
) -> None:
    """The composition root hands linking the credentials' `drop_cached`: a user Slack revoked (linking.forget, what
    `tokens_revoked` runs) leaves no delegated token cached for them."""
    slack_emulator.state.add_user(ALICE, "alice", email=EMAIL)
    async with services_in_loop({**bot_env, **delegation_env(meet_emulator, tmp_path)}) as services:
        tenant = Tenant("T0001")
        token = await services.credentials.get_access_token(tenant, ALICE)
        assert await services.redis.exists(Keys().delegated_token(tenant, ALICE))
        assert await services.credentials.get_access_token(tenant, ALICE) == token  # cached
        await services.linking.forget(tenant, [ALICE])
        assert not await services.redis.exists(Keys().delegated_token(tenant, ALICE))


async def test_a_token_google_refuses_early_is_refreshed_once_and_retried(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    await link_google(bot, slack_emulator, meet_emulator, ALICE, EMAIL)
    for token in list(meet_emulator.state._access):  # Google drops the access token before its expiry
        meet_emulator.state.expire_token(token)
    url = slack_emulator.response_url("early-401")
    await bot.post(slash_command("new", user_id=ALICE, response_url=url))
    channel_posts(slack_emulator, 1)
    assert [c["status"] for c in meet_emulator.state.calls_to("spaces.create")] == [401, 200]
    assert meet_emulator.state.refresh_grants == 1


async def test_connect_prompt_offers_the_waiting_command_again(
    bot: BotProcess, slack_emulator: SlackEmulator, meet_emulator: MeetEmulator
) -> None:
    slack_emulator.state.add_user(ALICE, "alice", email=EMAIL)
    prompt_url = slack_emulator.response_url("waiting", channel="C0GENERAL", user=ALICE)
    await bot.post(slash_command("new Planning", user_id=ALICE, response_url=prompt_url))
    prompt = slack_emulator.state.wait_for_response_posts_blocking("waiting", 1, timeout=10)[0]["body"]
    (consent,) = button_urls(prompt)
    async with httpx.AsyncClient() as client:
        redirect = await client.get(consent, follow_redirects=False)
        assert (await client.get(redirect.headers["location"])).status_code == 200
    connected = slack_emulator.state.wait_for_response_posts_blocking("waiting", 2, timeout=10)[1]["body"]
    retry = next(el for b in connected["blocks"] if b["type"] == "actions" for el in b["elements"])
    assert retry["action_id"] == "meet_retry" and retry["value"] == "new Planning"

    click = block_action("meet_retry", retry["value"], user_id=ALICE, channel="C0GENERAL", message_ts=None,
                         response_url=slack_emulator.response_url("retry", channel="C0GENERAL", user=ALICE))
    assert (await bot.post(click)).status_code == 200
    (card,) = channel_posts(slack_emulator, 1)
    assert "Planning" in all_text(card["args"])
    assert [c["user"] for c in meet_emulator.state.calls_to("spaces.create")] == [EMAIL]
