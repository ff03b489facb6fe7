"""bot.meet.client against the real Meet emulator (emulators/meet.py) over HTTP.

Only the repeated-page-token guard uses httpx.MockTransport: the emulator can't be made to misbehave that way.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.googleapi.errors import (
    ApiProtocolError,
    ApiStatusError,
    ApiTransportError,
    FailedPrecondition,
    GoogleApiError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from bot.meet.client import MeetClient, build_http_client
from bot.meet.errors import InvalidResourceName, InvalidToken, MeetingCodeNotAllowed
from bot.meet.links import parse_reference
from bot.meet.models import (
    AccessType,
    ArtifactConfig,
    AutoGenerationType,
    Moderation,
    ModerationRestrictions,
    ParticipantKind,
    RecordingConfig,
    RestrictionType,
    SpaceConfig,
)
from bot.meet.retry import NO_RETRY, RetryPolicy
from emulators.meet import MeetEmulator

ALICE = "alice@example.com"
BOB = "bob@example.com"
CREATED = ["meetings.space.created"]
FAST_RETRY = RetryPolicy(deadline=2.0, initial_backoff=0.01, max_backoff=0.05, jitter=0.0)


@pytest.fixture(scope="module")
def emulator() -> Iterator[MeetEmulator]:
    with MeetEmulator() as emu:
        yield emu


@pytest.fixture
def emu(emulator: MeetEmulator) -> MeetEmulator:
    emulator.state.reset()
    return emulator


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(timeout_connect=2.0, timeout_read=5.0) as client:
        yield client


@pytest.fixture
def client(emu: MeetEmulator, http: httpx.AsyncClient) -> MeetClient:
    return MeetClient(http, emu.url, retry=FAST_RETRY)


@pytest.fixture
def alice(emu: MeetEmulator) -> str:
    return str(emu.state.mint_token(ALICE, CREATED))


@pytest.fixture
def bob(emu: MeetEmulator) -> str:
    return str(emu.state.mint_token(BOB, CREATED))


# --- spaces ----------------------------------------------------------------------------------------------------


async def test_create_default(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    space = await client.create_space(alice)
    assert space.name.startswith("spaces/")
    assert space.meeting_code and space.meeting_uri == f"https://meet.google.com/{space.meeting_code}"
    assert space.config is not None and space.config.access_type is not None  # owner sees the effective config
    assert not space.is_live
    [call] = emu.state.calls_to("spaces.create")
    assert call["user"] == ALICE
    assert call["body"] == {}


async def test_a_create_google_answers_late_is_used_not_left_behind(emu: MeetEmulator, alice: str) -> None:
    """Issue 22, item 11: with the shared client's 4 s read timeout (app.py's meet_http), a 6 s spaces.create was
    given up: the user heard "no meeting was posted" and Google kept an orphan space. The create waits for it."""
    emu.state.inject_fault(route="spaces.create", status=0, delay=6.0)  # answers normally, 6 s late
    async with build_http_client(timeout_read=4.0) as shared:
        space = await MeetClient(shared, emu.url, retry=FAST_RETRY).create_space(alice)
    assert emu.state.space(space.name)["name"] == space.name
    assert len(emu.state.calls_to("spaces.create")) == 1


async def test_create_with_config_sends_only_set_fields(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    config = SpaceConfig(
        access_type=AccessType.OPEN,
        moderation=Moderation.ON,
        moderation_restrictions=ModerationRestrictions(chat_restriction=RestrictionType.HOSTS_ONLY),
        artifact_config=ArtifactConfig(recording_config=RecordingConfig(AutoGenerationType.ON)),
    )
    space = await client.create_space(alice, config)
    assert space.config is not None
    assert space.config.access_type is AccessType.OPEN
    assert space.config.moderation is Moderation.ON
    assert space.config.moderation_restrictions is not None
    assert space.config.moderation_restrictions.chat_restriction is RestrictionType.HOSTS_ONLY
    assert space.config.artifact_config is not None
    assert space.config.artifact_config.recording_config == RecordingConfig(AutoGenerationType.ON)
    [call] = emu.state.calls_to("spaces.create")
    assert call["body"] == {"config": config.to_json()}


async def test_get_by_id_and_by_any_case_code(client: MeetClient, alice: str) -> None:
    created = await client.create_space(alice)
    assert created.meeting_code is not None
    by_id = await client.get_space(alice, created.name)
    ref = parse_reference(f"<https://meet.google.com/{created.meeting_code.upper()}?authuser=0|standup>")
    by_code = await client.get_space(alice, ref.resource_name)
    assert by_id == by_code == created
    upper = await client.get_space(alice, "spaces/" + created.meeting_code.upper())
    assert upper.name == created.name  # the answer always carries the id, never the code


async def test_get_follows_the_role_table(client: MeetClient, emu: MeetEmulator, alice: str, bob: str) -> None:
    created = await client.create_space(alice)
    stranger = await client.get_space(bob, created.name)
    assert stranger.config is None and stranger.active_conference is None
    assert stranger.meeting_code == created.meeting_code
    emu.state.join(created.name, user=BOB)
    participant = await client.get_space(bob, created.name)
    assert participant.config is None
    assert participant.is_live
    owner = await client.get_space(alice, created.name)
    assert owner.config is not None and owner.active_conference is not None
    assert owner.active_conference.conference_record is not None
    assert owner.active_conference.conference_record.startswith("conferenceRecords/")


async def test_patch_sends_an_explicit_camel_case_mask(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    created = await client.create_space(alice, SpaceConfig(access_type=AccessType.RESTRICTED))
    config = SpaceConfig(
        access_type=AccessType.OPEN,
        moderation=Moderation.ON,
        moderation_restrictions=ModerationRestrictions(chat_restriction=RestrictionType.HOSTS_ONLY),
    )
    fields = ["moderation", "moderation_restrictions.chat_restriction"]
    patched = await client.patch_space(alice, created.name, config, fields)
    [call] = emu.state.calls_to("spaces.patch")
    assert call["method"] == "PATCH"
    assert call["query"] == {"updateMask": "config.moderation,config.moderationRestrictions.chatRestriction"}
    assert "name" not in call["body"]
    assert patched.config is not None
    assert patched.config.access_type is AccessType.RESTRICTED  # outside the mask: untouched
    assert patched.config.moderation_restrictions is not None
    assert patched.config.moderation_restrictions.chat_restriction is RestrictionType.HOSTS_ONLY

    patched = await client.patch_space(alice, created.name, SpaceConfig(access_type=AccessType.TRUSTED))
    assert emu.state.calls_to("spaces.patch")[-1]["query"] == {"updateMask": "config.accessType"}
    assert patched.config is not None and patched.config.access_type is AccessType.TRUSTED


async def test_patch_needs_fields(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    with pytest.raises(ValueError, match="no fields"):
        await client.patch_space(alice, "spaces/abcdEFGH1234", SpaceConfig())
    with pytest.raises(ValueError, match="unknown SpaceConfig field"):
        await client.patch_space(alice, "spaces/abcdEFGH1234", SpaceConfig(), ["meeting_code"])
    assert emu.state.calls == []


@pytest.mark.parametrize("name", ["spaces/abc-mnop-xyz", "spaces/ABC-MNOP-XYZ"])
async def test_code_alias_refused_locally_for_patch_and_end(
    client: MeetClient, emu: MeetEmulator, alice: str, name: str
) -> None:
    with pytest.raises(MeetingCodeNotAllowed, match="get_space"):
        await client.patch_space(alice, name, SpaceConfig(access_type=AccessType.OPEN))
    with pytest.raises(MeetingCodeNotAllowed):
        await client.end_active_conference(alice, name)
    assert emu.state.calls == []  # nothing was sent


@pytest.mark.parametrize(
    "name", ["abc-mnop-xyz", "spaces/", "spaces/a/b", "spaces/..", "spaces/a?b=c", "spaces/a b", "users/x", ""]
)
async def test_malformed_names_refused_locally(client: MeetClient, emu: MeetEmulator, alice: str, name: str) -> None:
    with pytest.raises(InvalidResourceName):
        await client.get_space(alice, name)
    with pytest.raises(InvalidResourceName):
        await client.get_conference_record(alice, name)
    assert emu.state.calls == []


async def test_end_active_conference(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    space = await client.create_space(alice)
    emu.state.join(space.name, user=BOB)
    assert (await client.get_space(alice, space.name)).is_live
    await client.end_active_conference(alice, space.name)
    [call] = emu.state.calls_to("spaces.endActiveConference")
    assert call["path"].endswith(f"{space.name}:endActiveConference")
    assert call["body"] == {}
    assert not (await client.get_space(alice, space.name)).is_live
    [record] = await client.list_conference_records(alice)
    assert record.end_time is not None and record.expire_time is not None
    with pytest.raises(FailedPrecondition):
        await client.end_active_conference(alice, space.name)


# --- conference records and participants ---------------------------------------------------------------------


async def _make_records(emu: MeetEmulator, space: str, n: int) -> None:
    for _ in range(n):
        emu.state.join(space, user=BOB)
        emu.state.end_conference(space)


async def test_list_records_follows_pages(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    space = await client.create_space(alice)
    await _make_records(emu, space.name, 7)
    records = await client.list_conference_records(alice, page_size=3)
    assert len(records) == 7
    assert len({r.name for r in records}) == 7
    starts = [r.start_time for r in records]
    assert all(s is not None for s in starts)
    assert starts == sorted(starts, reverse=True)  # type: ignore[type-var]  # newest first
    calls = emu.state.calls_to("conferenceRecords.list")
    assert len(calls) == 3
    assert "pageToken" not in calls[0]["query"]
    assert all(c["query"]["pageSize"] == "3" and c["query"].get("pageToken") for c in calls[1:])


async def test_list_records_limit_and_filter(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    one = await client.create_space(alice)
    two = await client.create_space(alice)
    await _make_records(emu, one.name, 4)
    await _make_records(emu, two.name, 2)
    limited = await client.list_conference_records(alice, page_size=3, limit=5)
    assert len(limited) == 5
    sizes = [c["query"]["pageSize"] for c in emu.state.calls_to("conferenceRecords.list")]
    assert sizes == ["3", "2"]  # never fetches more than the limit needs
    only_two = await client.list_conference_records(alice, filter=f'space.name = "{two.name}"')
    assert [r.space for r in only_two] == [two.name, two.name]
    assert await client.list_conference_records(alice, limit=0) == []
    with pytest.raises(InvalidArgument):
        await client.list_conference_records(alice, filter="space.name ==== nonsense")


async def test_get_conference_record(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    space = await client.create_space(alice)
    emu.state.join(space.name, user=BOB)
    [live] = await client.list_conference_records(alice)
    assert live.is_live
    got = await client.get_conference_record(alice, live.name)
    assert got == live
    assert got.space == space.name
    with pytest.raises(NotFound):
        await client.get_conference_record(alice, "conferenceRecords/nope")


async def test_list_participants_all_kinds_across_pages(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    space = await client.create_space(alice)
    emu.state.join(space.name, user=BOB)
    emu.state.join(space.name, anonymous="Visitor")
    emu.state.join(space.name, phone="+15551234567")
    emu.state.join(space.name, user="carol@example.com")
    emu.state.leave(space.name, user="carol@example.com")
    [record] = await client.list_conference_records(alice)
    people = await client.list_participants(alice, record.name, page_size=2)
    assert len(emu.state.calls_to("participants.list")) == 2
    kinds = sorted(p.kind.name for p in people)
    assert kinds == ["ANONYMOUS", "PHONE", "SIGNED_IN", "SIGNED_IN"]
    signed_in = [p for p in people if p.kind is ParticipantKind.SIGNED_IN]
    assert all(p.user and p.user.startswith("users/") and p.display_name for p in signed_in)
    assert sum(not p.is_present for p in people) == 1
    present = await client.list_participants(alice, record.name, filter="latest_end_time IS NULL")
    assert len(present) == 3
    assert len(await client.list_participants(alice, record.name, limit=1)) == 1


async def test_list_participant_sessions_one_a_join_across_pages(client: MeetClient, emu: MeetEmulator, alice: str
                                                                 ) -> None:
    space = await client.create_space(alice)
    for _ in range(2):
        emu.state.join(space.name, user=BOB)
        emu.state.advance_time(60)
        emu.state.leave(space.name, user=BOB)
    emu.state.join(space.name, user=BOB)
    [record] = await client.list_conference_records(alice)
    [bob] = await client.list_participants(alice, record.name)
    sessions = await client.list_participant_sessions(alice, bob.name, page_size=2)
    assert len(emu.state.calls_to("participantSessions.list")) == 2
    assert [s.end_time is None for s in sessions] == [True, False, False]  # newest first: still connected
    assert all(s.name.startswith(bob.name + "/participantSessions/") and s.start_time for s in sessions)
    with pytest.raises(ValueError):
        await client.list_participant_sessions(alice, record.name)


# --- every error class ----------------------------------------------------------------------------------------


async def test_unauthenticated(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    with pytest.raises(Unauthenticated) as info:
        await client.create_space("not-a-token")
    assert info.value.status == 401
    emu.state.expire_token(alice)
    with pytest.raises(Unauthenticated) as info:
        await client.get_space(alice, "spaces/abcdEFGH1234")
    assert info.value.is_expired
    assert alice not in str(info.value)
    assert alice not in repr(client)


@pytest.mark.parametrize("token", ["", "ya29.secret\r\nX-Injected: 1", "ya29 secret", "ya29.sécret", "ya29.\x00"])
async def test_malformed_token_refused_locally_without_quoting_it(
    client: MeetClient, emu: MeetEmulator, token: str
) -> None:
    async def provider() -> str:
        return token

    for credential in (token, provider):
        with pytest.raises(InvalidToken) as info:
            await client.get_space(credential, "spaces/abcdEFGH1234")
        assert "secret" not in str(info.value)
    assert emu.state.calls == []


async def test_permission_denied_missing_scope_vs_not_owner(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    readonly = emu.state.mint_token(ALICE, ["meetings.space.readonly"])
    with pytest.raises(PermissionDenied) as info:
        await client.create_space(readonly)
    assert info.value.is_missing_scope
    assert info.value.reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    space = await client.create_space(alice)
    bob = emu.state.mint_token(BOB, CREATED)
    with pytest.raises(PermissionDenied) as info:
        await client.patch_space(bob, space.name, SpaceConfig(access_type=AccessType.OPEN))
    assert info.value.is_caller_refused and not info.value.is_missing_scope
    with pytest.raises(PermissionDenied):
        await client.end_active_conference(bob, space.name)


async def test_space_of_another_app_is_refused(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    foreign = emu.state.create_space(ALICE, client_id="other-app")
    with pytest.raises(PermissionDenied) as info:
        await client.get_space(alice, foreign["name"])
    assert info.value.is_caller_refused


async def test_not_found(client: MeetClient, alice: str) -> None:
    with pytest.raises(NotFound) as info:
        await client.get_space(alice, "spaces/zzz-zzzz-zzz")
    assert info.value.code == "NOT_FOUND"
    assert info.value.operation == "spaces.get"


async def test_rate_limited_create_not_retried(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    emu.state.inject_fault(route="spaces.create", status=429, retry_after=0.01)
    with pytest.raises(RateLimited) as info:
        await client.create_space(alice)
    assert info.value.retry_after == pytest.approx(0.01)
    assert info.value.reason == "RATE_LIMIT_EXCEEDED"
    assert len(emu.state.calls_to("spaces.create")) == 1


# --- retries ----------------------------------------------------------------------------------------------------


async def test_429_with_retry_after_is_waited_out(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    space = await client.create_space(alice)
    emu.state.inject_fault(route="spaces.get", status=429, retry_after=0.3)
    started = time.monotonic()
    got = await client.get_space(alice, space.name)
    elapsed = time.monotonic() - started
    assert got.name == space.name
    calls = emu.state.calls_to("spaces.get")
    assert [c["status"] for c in calls] == [429, 200]
    assert elapsed >= 0.29  # Retry-After honoured, not just the 10 ms backoff


async def test_503_on_reads_is_retried(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    space = await client.create_space(alice)
    await _make_records(emu, space.name, 3)
    emu.state.inject_fault(route="conferenceRecords.list", status=503, count=2)
    records = await client.list_conference_records(alice, page_size=2)
    assert len(records) == 3
    assert [c["status"] for c in emu.state.calls_to("conferenceRecords.list")] == [503, 503, 200, 200]


@pytest.mark.parametrize("status", [503, 429])
async def test_writes_are_never_retried(client: MeetClient, emu: MeetEmulator, alice: str, status: int) -> None:
    space = await client.create_space(alice)
    emu.state.join(space.name, user=BOB)
    emu.state.inject_fault(route="spaces.*", status=status, count=3)
    with pytest.raises((Unavailable, RateLimited)):
        await client.create_space(alice)
    with pytest.raises((Unavailable, RateLimited)):
        await client.patch_space(alice, space.name, SpaceConfig(access_type=AccessType.OPEN))
    with pytest.raises((Unavailable, RateLimited)):
        await client.end_active_conference(alice, space.name)
    assert len(emu.state.calls_to("spaces.create")) == 2  # the fixture's create + one attempt
    assert len(emu.state.calls_to("spaces.patch")) == 1
    assert len(emu.state.calls_to("spaces.endActiveConference")) == 1


async def test_503_on_create_not_repeated(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    emu.state.inject_fault(route="spaces.create", status=503)
    with pytest.raises(Unavailable) as info:
        await client.create_space(alice)
    assert info.value.code == "UNAVAILABLE"
    assert len(emu.state.calls_to("spaces.create")) == 1


async def test_deadline_stops_retries(emu: MeetEmulator, http: httpx.AsyncClient, alice: str) -> None:
    policy = RetryPolicy(deadline=0.3, max_attempts=100, initial_backoff=0.05, max_backoff=0.1, jitter=0.01)
    client = MeetClient(http, emu.url, retry=policy)
    emu.state.inject_fault(route="spaces.get", status=503, count=1000)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await client.get_space(alice, "spaces/abcdEFGH1234")
    elapsed = time.monotonic() - started
    assert elapsed < 0.8  # no wait crosses the 0.3 s deadline (slack for slow machines)
    assert 2 <= len(emu.state.calls_to("spaces.get")) < 100


async def test_retry_after_past_the_deadline_raises_at_once(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    emu.state.inject_fault(route="spaces.get", status=429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(RateLimited) as info:
        await client.get_space(alice, "spaces/abcdEFGH1234")
    assert time.monotonic() - started < 1.0
    assert info.value.retry_after == 30  # for "Google is rate-limiting; try again in 30 s"
    assert len(emu.state.calls_to("spaces.get")) == 1


async def test_no_retry_policy(emu: MeetEmulator, http: httpx.AsyncClient, alice: str) -> None:
    client = MeetClient(http, emu.url, retry=NO_RETRY)
    emu.state.inject_fault(route="spaces.get", status=503)
    with pytest.raises(Unavailable):
        await client.get_space(alice, "spaces/abcdEFGH1234")
    assert len(emu.state.calls_to("spaces.get")) == 1


# --- odd answers and transport failures ------------------------------------------------------------------------


async def test_non_json_error_body(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    emu.state.inject_fault(
        route="spaces.create", status=502, body="<html><body><h1>502 Bad Gateway</h1> nginx</body></html>"
    )
    with pytest.raises(Unavailable) as info:
        await client.create_space(alice)
    assert info.value.status == 502
    assert "502 Bad Gateway" in info.value.message and "<" not in info.value.message
    emu.state.inject_fault(route="spaces.create", status=500, body="upstream connect error")
    with pytest.raises(ApiStatusError) as info2:
        await client.create_space(alice)
    assert (info2.value.status, info2.value.code, info2.value.message) == (500, "INTERNAL", "upstream connect error")


async def test_success_with_a_non_json_body(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    emu.state.inject_fault(route="spaces.create", status=200, body="<html>captive portal</html>")
    with pytest.raises(ApiProtocolError):
        await client.create_space(alice)


async def test_read_timeout_is_retried_for_reads_only(emu: MeetEmulator, alice: str) -> None:
    async with build_http_client(timeout_connect=1.0, timeout_read=0.2) as http:
        client = MeetClient(http, emu.url, retry=FAST_RETRY)
        space = await client.create_space(alice)
        emu.state.inject_fault(route="spaces.get", status=0, delay=0.5)  # slow once, then normal
        assert (await client.get_space(alice, space.name)).name == space.name
        emu.state.inject_fault(route="spaces.create", status=0, delay=0.5)
        await client.create_space(alice)  # a create waits on its own, longer timeout: never a retry
    assert len(emu.state.calls_to("spaces.create")) == 2


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with build_http_client(timeout_connect=0.5) as http:
        client = MeetClient(http, f"http://127.0.0.1:{port}", retry=RetryPolicy(deadline=0.2, initial_backoff=0.01))
        with pytest.raises(ApiTransportError) as info:
            await client.get_space("secret-token", "spaces/abc")
    assert "secret-token" not in str(info.value)
    assert isinstance(info.value, GoogleApiError)


async def test_token_provider_called_once_per_call(client: MeetClient, emu: MeetEmulator, alice: str) -> None:
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return alice

    space = await client.create_space(provider)
    await client.get_space(provider, space.name)
    await _make_records(emu, space.name, 3)
    await client.list_conference_records(provider, page_size=1)
    assert calls == 3  # one per method call, not per page
    assert {c["user"] for c in emu.state.calls} == {ALICE}


async def test_repeated_page_token_does_not_loop() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"conferenceRecords": [{"name": f"conferenceRecords/{len(seen)}"}], "nextPageToken": "same"}
        return httpx.Response(200, content=json.dumps(body).encode())

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        records = await MeetClient(http).list_conference_records("t", filter='space.name = "spaces/x"')
    assert [r.name for r in records] == ["conferenceRecords/1", "conferenceRecords/2"]
    assert seen[0].url.path == "/v2/conferenceRecords"
    assert seen[1].url.params["filter"] == 'space.name = "spaces/x"'  # same query, plus the token
    assert seen[1].url.params["pageToken"] == "same"
    assert seen[0].headers["authorization"] == "Bearer t"
