"""bot.meet.client's member calls against the real Meet emulator over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.googleapi.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied
from bot.meet.client import MeetClient, build_http_client
from bot.meet.errors import InvalidResourceName
from bot.meet.models import Member, MemberRole
from emulators.meet import MeetEmulator

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
CREATED = ["meetings.space.created"]


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
    async with build_http_client() as client:
        yield client


async def test_add_get_list_role_remove(emu: MeetEmulator, http: httpx.AsyncClient) -> None:
    meet = MeetClient(http, emu.url)
    token = emu.state.mint_token(ALICE, CREATED)
    space = await meet.create_space(token)
    cohost = await meet.add_member(token, space.name, BOB, MemberRole.COHOST)
    assert cohost.is_cohost and cohost.email == BOB and cohost.name.startswith(space.name + "/members/")
    plain = await meet.add_member(token, space.name, CAROL)
    assert plain.role is MemberRole.ROLE_UNSPECIFIED
    assert emu.state.calls_to("spaces.members.create")[1]["body"] == {"email": CAROL}
    assert await meet.get_member(token, cohost.name) == cohost
    assert (await meet.set_member_role(token, plain.name, MemberRole.COHOST)).is_cohost
    await meet.remove_member(token, cohost.name)
    assert [m.email for m in await meet.list_members(token, space.name)] == [CAROL]
    with pytest.raises(NotFound):
        await meet.remove_member(token, cohost.name)
    with pytest.raises(AlreadyExists):
        await meet.add_member(token, space.name, CAROL)
    with pytest.raises(InvalidResourceName):
        await meet.get_member(token, "spaces/x/members/../y")


async def test_list_follows_every_page(emu: MeetEmulator, http: httpx.AsyncClient) -> None:
    meet = MeetClient(http, emu.url)
    token = emu.state.mint_token(ALICE, CREATED)
    space = await meet.create_space(token)
    for i in range(5):
        await meet.add_member(token, space.name, f"p{i}@example.com")
    found = await meet.list_members(token, space.name, page_size=2)
    assert [m.email for m in found] == [f"p{i}@example.com" for i in range(5)]
    assert all(isinstance(m, Member) for m in found)
    assert len(emu.state.calls_to("spaces.members.list")) == 3


async def test_refusals_are_typed(emu: MeetEmulator, http: httpx.AsyncClient) -> None:
    meet = MeetClient(http, emu.url)
    alice = emu.state.mint_token(ALICE, CREATED)
    space = await meet.create_space(alice)
    with pytest.raises(PermissionDenied) as refused:
        await meet.add_member(emu.state.mint_token(BOB, CREATED), space.name, BOB)
    assert refused.value.is_caller_refused
    emu.state.configure(member_limit=1)
    await meet.add_member(alice, space.name, BOB)
    with pytest.raises(FailedPrecondition) as full:
        await meet.add_member(alice, space.name, CAROL)
    assert full.value.reason == "MEMBER_LIMIT_EXCEEDED"
