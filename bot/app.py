"""Composition root: builds the long-lived clients once and wires them into the Bolt app. No logic lives here."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aiohttp
import httpx
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import ack_deadline, metrics
from bot.background import BackgroundTasks
from bot.config import Settings
from bot.core.call_people import PeopleSwitch
from bot.core.calls import Calls
from bot.core.card_edits import CardEdits
from bot.core.credentials import Credentials
from bot.core.event_feed import DUPLICATE, EventFeed, EventIntake, PersonalFeed
from bot.core.following import Following
from bot.core.linking import Linking
from bot.core.meetings import Meetings
from bot.core.members import Members
from bot.core.mine import Mine
from bot.core.own_calls import OwnCalls
from bot.core.pacing import SharedWritePacer
from bot.core.presence import Presence
from bot.core.room_members import RoomMembers
from bot.core.rooms import Rooms
from bot.core.slack_sign_in import SlackSignIn
from bot.domain import Tenant, space_id_of
from bot.follow_runner import EventToCard, FollowRunner, PullLoop
from bot.google.delegation import DelegatedCredentials
from bot.google.oauth import GoogleOAuth
from bot.google.pubsub import Puller, PushCerts, ServiceAccountToken, WorkspaceEvent
from bot.google.workspace_events import WorkspaceEvents
from bot.googleapi import calls as google_calls
from bot.googleapi.tls import shared_tls
from bot.jobs.queue import JobQueue
from bot.meet.client import MeetClient, build_http_client
from bot.slack.account_handlers import AccountHandlers
from bot.slack.calls import SlackCallsApi
from bot.slack.clients import SlackClients
from bot.slack.directory import SlackDirectory
from bot.slack.home import HomeHandlers
from bot.slack.listeners import SlackDeps, register
from bot.slack.live_cards import LiveCards
from bot.slack.meeting_handlers import MeetingHandlers
from bot.slack.members_handlers import MembersHandlers
from bot.slack.mine_handlers import MineHandlers
from bot.slack.pacing import CreateTurns
from bot.slack.presence_handlers import PresenceHandlers
from bot.slack.previews import PreviewHandlers
from bot.slack.room_handlers import RoomHandlers
from bot.slack.start_job import StartJob
from bot.slack.unopened import unopened_teller
from bot.slack.user_api import SlackUserCalls
from bot.store.calls import CallPeoplePrefs, CallRecords, LinkedGoogleUsers
from bot.store.connection import RedisClient, connect_to
from bot.store.crypto import TokenCipher
from bot.store.google_links import DelegatedTokenCache, GoogleLinkStore, RefreshLock
from bot.store.installations import RedisInstallationStore, RedisInstallStateStore
from bot.store.keys import Keys
from bot.store.live import EventRoutes, FollowSchedule, LiveStates, Recaps, WorkspaceEventsSeen
from bot.store.mine import MineChoices
from bot.store.oauth_state import LinkConfirmations, OAuthStateStore
from bot.store.presence import PresenceRecords
from bot.store.progress import JobProgress
from bot.store.quota import CreateQuota, WriteQuota
from bot.store.replication import Replicas
from bot.store.rooms import RoomStore
from bot.store.slack_cache import EmailCache, HomeHashes, HomeRenders
from bot.store.slack_users import SlackSignIns, SlackUserTokens
from bot.store.spaces import CardEditLocks, SpaceRecords

__all__ = ["Services", "build_bolt_app", "close_services", "open_services", "start_background", "stop_background",
           "with_ack_deadline"]


@dataclass(slots=True)
class Services:
    settings: Settings
    redis: RedisClient
    keys: Keys
    http: httpx.AsyncClient
    slack_session: aiohttp.ClientSession
    slack: AsyncWebClient
    tasks: BackgroundTasks
    meet_http: httpx.AsyncClient
    linking: Linking  # a Slack user's Google link: connect, confirm, disconnect
    credentials: Credentials  # their access token, for every use case that calls Google as them
    meetings: Meetings
    directory: SlackDirectory
    rooms: Rooms
    account_handlers: AccountHandlers
    clients: SlackClients
    installations: RedisInstallationStore | None
    home: HomeHandlers
    jobs: JobQueue
    meeting_handlers: MeetingHandlers
    members_handlers: MembersHandlers
    start_job: StartJob
    following: Following
    live_cards: LiveCards
    card_edits: CardEdits  # edits of the cards that show a space, never of a retired one
    people: PeopleSwitch
    follow_runner: FollowRunner
    mine: MineHandlers  # `/meet mine`: each opted-in person's meetings, polled as them
    mine_runner: FollowRunner
    presence: PresenceHandlers | None  # `/meet presence`: None without the app's OAuth client ("Sign in with Slack")
    reconcile_runner: FollowRunner  # rooms whose members follow their channel, checked hourly
    event_intake: EventIntake | None  # Workspace Events configured
    push_certs: PushCerts | None  # push delivery: the keys that sign Pub/Sub's tokens
    pull_loop: PullLoop | None  # pull delivery
    closers: list[object]


def slack_retry_handlers() -> list[AsyncRetryHandler]:
    # The SDK retries only connection errors by default; a 429 or a 5xx from Slack deserves a second try too.
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


async def open_services(settings: Settings) -> Services:
    """Create the pools. Must run inside the event loop that will use them."""
    slack_session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    slack = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        session=slack_session,
        timeout=10,
        retry_handlers=slack_retry_handlers(),
    )
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=2.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        verify=shared_tls(),
    )
    redis = connect_to(settings)
    keys = Keys()
    cipher = TokenCipher(settings.token_encryption_keys)
    installations = RedisInstallationStore(redis, keys, cipher) if settings.multi_workspace else None
    clients = SlackClients(slack, installations)
    directory = SlackDirectory(clients, EmailCache(redis, keys))
    oauth = delegation = None
    if settings.google_service_account_file is not None:
        delegation = DelegatedCredentials(settings.google_service_account_file, settings.google_scopes,
                                          settings.google_token_url)
    else:
        oauth = GoogleOAuth(
            http,
            client_id=settings.google_client_id or "",
            client_secret=settings.google_client_secret or "",
            auth_url=settings.google_auth_url,
            token_url=settings.google_token_url,
            revoke_url=settings.google_revoke_url,
            userinfo_url=settings.google_userinfo_url,
            redirect_uri=settings.google_redirect_uri,
            scopes=settings.google_scopes,
        )
    links = GoogleLinkStore(redis, keys, cipher)
    credentials = Credentials(
        links=links,
        oauth=oauth,
        delegation=delegation,
        email_lookup=directory.email,
        lock=RefreshLock(redis, keys),
        token_cache=DelegatedTokenCache(redis, keys, cipher),
    )
    linking = Linking(
        links=links,
        states=OAuthStateStore(redis, keys, cipher),
        oauth=oauth,
        delegated_scopes=delegation.scopes if delegation is not None else None,
        email_lookup=directory.email,
        required_scopes=settings.google_scopes,
        drop_cached=credentials.drop_cached,  # a disconnect drops the delegated token cached for the person
        confirmations=LinkConfirmations(redis, keys, cipher),
        allow_other_emails=settings.google_allow_other_emails,
        email_owner=directory.email_owner,
    )
    meet_http = build_http_client(timeout_read=4.0, max_connections=200, max_keepalive_connections=100)
    meet = MeetClient(meet_http, settings.meet_api_url)
    space_records = SpaceRecords(redis, keys)
    live_states, routes = LiveStates(redis, keys), EventRoutes(redis, keys)
    feed = None
    if settings.google_pubsub_topic is not None:
        feed = EventFeed(WorkspaceEvents(http, settings.google_events_url), settings.google_pubsub_topic,
                         live_states, routes)
    coalesce = settings.meet_coalesce_ms / 1000
    following = Following(meet, credentials, space_records, live_states, FollowSchedule(redis, keys, coalesce),
                          settings.meet_poll_seconds, feed=feed, coalesce=coalesce)
    meetings = Meetings(meet, credentials, space_records, following)
    card_edits = CardEdits(space_records, CardEditLocks(redis, keys))

    async def google_email(tenant: Tenant, user_id: str) -> str | None:
        link = await linking.describe(tenant, user_id)
        return link.google_email if link and link.google_email else await directory.email(tenant, user_id)

    rooms = Rooms(meetings, RoomStore(redis, keys), google_email, directory.is_admin)
    account_handlers = AccountHandlers(linking, directory, settings.uses_delegation, clients, slack_session)
    personal_feed = None
    if settings.google_pubsub_topic is not None:
        personal_feed = PersonalFeed(WorkspaceEvents(http, settings.google_events_url), settings.google_pubsub_topic,
                                     MineChoices(redis, keys), routes)

    async def google_user(tenant: Tenant, user_id: str) -> str | None:
        link = await linking.describe(tenant, user_id)
        return link.google_sub if link is not None and link.google_sub else None  # none under delegation: polled

    linked_google_users = LinkedGoogleUsers(redis, keys)
    presence_core = None
    if settings.slack_sign_in:
        user_api = SlackUserCalls(slack, client_id=settings.slack_client_id or "",
                                  client_secret=settings.slack_client_secret or "",
                                  authorize_url=slack_authorize_url(settings.slack_api_url),
                                  redirect_uri=settings.slack_user_redirect_uri,
                                  user_scopes=settings.slack_user_scopes)
        sign_in = SlackSignIn(user_api, SlackSignIns(redis, keys, cipher), SlackUserTokens(redis, keys, cipher),
                              ("users.profile:read", "users.profile:write"))
        presence_core = Presence(sign_in, user_api, PresenceRecords(redis, keys), linked_google_users.slack_users,
                                 dnd_scopes=settings.dnd_scopes)
        linking.when_unlinked(presence_core.turn_off)
    mine_core = Mine(meet, credentials, space_records, MineChoices(redis, keys),
                     FollowSchedule(redis, keys, coalesce, name="mine"), settings.meet_poll_seconds,
                     feed=personal_feed, google_user=google_user, coalesce=coalesce,
                     watch=OwnCalls(meet, presence_core, space_records) if presence_core is not None else None)

    async def follows_own(tenant: Tenant, user_id: str) -> bool:
        return await mine_core.mode(tenant, user_id) is not None

    presence = PresenceHandlers(presence_core, settings.public_url, slack_session, follows_own
                                ) if presence_core is not None else None
    home = HomeHandlers(meetings, rooms, linking, account_handlers, HomeHashes(redis, keys), HomeRenders(redis, keys),
                        following, mine_core, presence)
    write_quota = WriteQuota(redis, keys)

    async def write_slot(tenant: Tenant, user_id: str) -> float:
        wait = await write_quota.reserve(tenant, user_id)
        if wait > 0:
            google_calls.quota_wait("write", wait)
        return wait

    members = Members(meetings, meet, credentials, directory, space_records, pacer=SharedWritePacer(write_slot))
    jobs = JobQueue(settings.redis_url, mode=settings.redis_mode, sentinels=settings.redis_sentinels,
                    sentinel_master=settings.redis_sentinel_master, cipher=cipher,
                    concurrency=settings.job_concurrency, idle_timeout=settings.job_idle_timeout,
                    replicas=Replicas(redis))
    room_members = RoomMembers(members, RoomStore(redis, keys), directory,
                               reconciles=FollowSchedule(redis, keys, coalesce, name="roomsync"))
    calls = Calls(SlackCallsApi(clients), CallRecords(redis, keys), linked_google_users)
    people = PeopleSwitch(CallPeoplePrefs(redis, keys), directory.is_admin)
    live_cards = LiveCards(following, meetings, rooms, Recaps(redis, keys), clients, card_edits, calls, people,
                           seen=presence.presence.observe if presence is not None else None)
    mine = MineHandlers(mine_core, Recaps(redis, keys), clients)
    linking.when_unlinked(mine.mine.turn_off)
    mine_runner = FollowRunner(mine.mine.due, mine.refresh, tick=1.0, batch=32, concurrency=8)
    members_handlers = MembersHandlers(members, room_members, directory, jobs, slack_session, live_cards.redraw)
    reconcile_runner = FollowRunner(room_members.due_reconciles, members_handlers.reconcile, tick=10.0, batch=8,
                                    concurrency=4)
    members_handlers.register()
    meeting_handlers = MeetingHandlers(meetings, members_handlers, people)
    start_job = StartJob(jobs, meeting_handlers, account_handlers, home, clients, slack_session,
                         JobProgress(redis, keys), CreateTurns(CreateQuota(redis, keys)))
    start_job.register()
    jobs.on_unopened(unopened_teller(clients, slack_session))
    jobs.open()
    lag = EventToCard()
    follow_runner = FollowRunner(following.due, lag.wrap(live_cards.refresh))

    async def poke_and_wake(tenant: Tenant, space_name: str, event_id: str) -> bool:
        lag.arrived(tenant, space_id_of(space_name))
        poked = await following.poke(tenant, space_name, taken=event_id)
        follow_runner.wake()  # an event that arrived here is read here, without waiting for the next tick
        return poked

    async def poke_person(tenant: Tenant, user_id: str) -> bool:
        poked = await mine.mine.poke(tenant, user_id)
        mine_runner.wake()
        return poked

    intake = EventIntake(WorkspaceEventsSeen(redis, keys), poke_and_wake, feed, personal=personal_feed,
                         poke_person=poke_person) if feed else None
    pull_loop = push_certs = None
    if intake is not None and settings.google_pubsub_subscription is not None:
        account = ServiceAccountToken(settings.google_application_credentials or "")
        puller = Puller(http, settings.pubsub_api_url, settings.google_pubsub_subscription, account)
        pull_loop = PullLoop(puller.pull, puller.ack, counted(intake))
    elif intake is not None:
        push_certs = PushCerts(settings.google_certs_url)
    return Services(
        settings=settings,
        redis=redis,
        keys=keys,
        http=http,
        slack_session=slack_session,
        slack=slack,
        tasks=BackgroundTasks(limit=256),
        meet_http=meet_http,
        linking=linking,
        credentials=credentials,
        meetings=meetings,
        directory=directory,
        rooms=rooms,
        account_handlers=account_handlers,
        clients=clients,
        installations=installations,
        home=home,
        jobs=jobs,
        meeting_handlers=meeting_handlers,
        members_handlers=members_handlers,
        start_job=start_job,
        following=following,
        live_cards=live_cards,
        card_edits=card_edits,
        people=people,
        follow_runner=follow_runner,
        mine=mine,
        mine_runner=mine_runner,
        presence=presence,
        reconcile_runner=reconcile_runner,
        event_intake=intake,
        push_certs=push_certs,
        pull_loop=pull_loop,
        closers=[c for c in (oauth, delegation, push_certs) if c is not None],
    )


def counted(intake: EventIntake) -> Callable[[WorkspaceEvent], Awaitable[str]]:
    """The intake, counting what became of each delivered (and so verified) event."""

    async def accept(event: WorkspaceEvent) -> str:
        outcome = await intake.accept(event)
        metrics.event_intake("duplicate" if outcome == DUPLICATE else "verified")
        return outcome

    return accept


def start_background(services: Services) -> None:
    """Durable jobs and meeting following: run in the web process and in `python -m bot worker`."""
    services.jobs.start()
    services.reconcile_runner.start()
    if services.following.enabled:
        services.follow_runner.start()
    if services.mine.mine.enabled:
        services.mine_runner.start()
    if services.pull_loop is not None:
        services.pull_loop.start()
    if services.push_certs is not None:  # so that no push waits for Google's keys
        services.tasks.spawn(asyncio.to_thread(services.push_certs.prefetch), name="push-certs")


async def stop_background(services: Services, within: float) -> None:
    if services.pull_loop is not None:
        await services.pull_loop.stop()
    await services.follow_runner.stop(within)
    await services.mine_runner.stop(within)
    await services.reconcile_runner.stop(within)
    await services.jobs.stop(within)


async def close_services(services: Services) -> None:
    if services.pull_loop is not None:
        await services.pull_loop.stop()
    await services.follow_runner.stop(0)
    await services.mine_runner.stop(0)
    await services.reconcile_runner.stop(0)
    await services.jobs.stop(0)
    await services.http.aclose()
    await services.meet_http.aclose()
    await services.slack_session.close()
    await services.redis.aclose()
    for closer in services.closers:
        closer.close()  # type: ignore[attr-defined]


# The bot scopes asked for at install; manifest.yaml lists the same (a test keeps them in step).
BOT_SCOPES = (
    "commands", "chat:write", "chat:write.public", "links:read", "links:write", "users:read", "users:read.email",
    "bookmarks:write", "channels:read", "groups:read", "im:read", "mpim:read", "calls:read", "calls:write",
)
SLACK_INSTALL_PATH = "/slack/install"
SLACK_REDIRECT_PATH = "/slack/oauth_redirect"


def slack_authorize_url(api_url: str) -> str:
    """Slack's consent page lives beside its Web API: https://slack.com/api/ → https://slack.com/oauth/v2/authorize."""
    return api_url.rstrip("/").removesuffix("/api") + "/oauth/v2/authorize"


def build_bolt_app(services: Services) -> AsyncApp:
    settings = services.settings

    async def is_linked(tenant: Tenant, user_id: str) -> bool:
        return settings.uses_delegation or await services.linking.describe(tenant, user_id) is not None

    oauth: dict[str, object] = {}
    if services.installations is not None:
        oauth = {
            "installation_store": services.installations,
            "oauth_settings": AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=services.installations,
                state_store=RedisInstallStateStore(services.redis, services.keys),
                redirect_uri=settings.public_url.rstrip("/") + SLACK_REDIRECT_PATH,
                install_path=SLACK_INSTALL_PATH,
                redirect_uri_path=SLACK_REDIRECT_PATH,
                authorization_url=slack_authorize_url(settings.slack_api_url),
                install_page_rendering_enabled=False,
                user_scopes=[],  # the install is the bot's; people sign in for presence on their own
            ),
        }
    with _bolt_sees_no_client(hidden=services.installations is None):
        app = _bolt_app(settings.slack_signing_secret or "", services.slack, oauth)

    register(
        app,
        SlackDeps(
            tasks=services.tasks,
            meeting_handlers=services.meeting_handlers,
            accounts=services.account_handlers,
            rooms=RoomHandlers(services.rooms, services.meetings, is_linked, services.start_job.turns,
                               services.card_edits, services.people),
            previews=PreviewHandlers(services.meetings, services.account_handlers),
            home=services.home,
            start=services.start_job,
            jobs=services.jobs,
            progress=services.start_job.progress,
            clients=services.clients,
            session=services.slack_session,
            members=services.members_handlers,
            installations=services.installations,
            mine=services.mine,
            presence=services.presence,
        ),
    )
    return app


def _bolt_app(signing_secret: str, client: AsyncWebClient, oauth: dict[str, object]) -> AsyncApp:
    return AsyncApp(
        signing_secret=signing_secret,
        client=client,
        process_before_response=True,
        # HTTP requests are verified by the front door (bot/slack/front_door.py) before Bolt sees them, and
        # Socket Mode needs no signature.
        request_verification_enabled=False,
        **oauth,  # type: ignore[arg-type]
    )


_BOLT_OAUTH_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


@contextmanager
def _bolt_sees_no_client(*, hidden: bool) -> Iterator[None]:
    """One workspace (SLACK_BOT_TOKEN) with the OAuth client set for "Sign in with Slack": AsyncApp reads
    SLACK_CLIENT_ID/SECRET from the environment by itself and would switch to its install mode (file stores under
    $HOME, the bot token dropped). Hidden while it is built, synchronously (no other code runs meanwhile)."""
    saved = {name: os.environ.pop(name) for name in _BOLT_OAUTH_ENV if hidden and name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def with_ack_deadline(app: AsyncApp) -> AsyncApp:
    """Socket Mode hands payloads straight to `app.async_dispatch` (HTTP goes through web.py, which sets the
    deadline itself): wrap it so its acks get the same one deadline over every Redis call. Bolt's middleware can't
    carry it: the listener runs after the middleware chain has returned."""
    dispatch = app.async_dispatch

    async def bounded(req: AsyncBoltRequest) -> BoltResponse:
        with ack_deadline.starting():
            return await dispatch(req)

    app.async_dispatch = bounded  # type: ignore[method-assign]
    return app
