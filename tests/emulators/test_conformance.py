"""The official `google-apps-meet` client (REST transport) works unchanged against the Meet emulator.

The client sends `$alt=json;enum-encoding=int`, integer enums in bodies and camelCase update masks, and maps HTTP
statuses to google.api_core exceptions; these tests prove the emulator speaks that dialect.
"""

# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

meet_v2 = pytest.importorskip("google.apps.meet_v2")
pytest.importorskip("requests")  # the REST transport rides on google.auth.transport.requests

from google.api_core import exceptions  # noqa: E402
from google.oauth2.credentials import Credentials  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402

from emulators.meet import MeetEmulator  # noqa: E402

pytestmark = pytest.mark.conformance

ALICE, BOB = "alice@example.com", "bob@example.com"
AccessType = meet_v2.SpaceConfig.AccessType
Moderation = meet_v2.SpaceConfig.Moderation
Restriction = meet_v2.SpaceConfig.ModerationRestrictions.RestrictionType


@pytest.fixture
def emu() -> Iterator[MeetEmulator]:
    with MeetEmulator() as emulator:
        yield emulator


def spaces_client(
    emu: MeetEmulator,
    user: str = ALICE,
    scopes: tuple[str, ...] = ("meetings.space.created",),
    client_id: str = "meetbot",
) -> Any:
    token = emu.state.mint_token(user, list(scopes), client_id=client_id)
    return meet_v2.SpacesServiceClient(
        credentials=Credentials(token=token), transport="rest", client_options={"api_endpoint": emu.url}
    )


def records_client(emu: MeetEmulator, user: str = ALICE, scopes: tuple[str, ...] = ("meetings.space.created",)) -> Any:
    token = emu.state.mint_token(user, list(scopes))
    return meet_v2.ConferenceRecordsServiceClient(
        credentials=Credentials(token=token), transport="rest", client_options={"api_endpoint": emu.url}
    )


def test_create_get_patch_end(emu: MeetEmulator) -> None:
    client = spaces_client(emu)
    space = client.create_space(
        request=meet_v2.CreateSpaceRequest(space=meet_v2.Space(config=meet_v2.SpaceConfig(access_type=AccessType.OPEN)))
    )
    assert space.name.startswith("spaces/") and space.meeting_code
    assert space.meeting_uri == "https://meet.google.com/" + space.meeting_code
    assert space.config.access_type == AccessType.OPEN
    assert space.config.entry_point_access == meet_v2.SpaceConfig.EntryPointAccess.ALL
    create_call = emu.state.calls_to("spaces.create")[0]
    assert create_call["query"]["$alt"] == "json;enum-encoding=int"
    assert create_call["body"] == {"config": {"accessType": 1}}

    assert client.get_space(name=space.name).name == space.name
    by_code = client.get_space(name="spaces/" + space.meeting_code.upper())
    assert by_code.name == space.name and by_code.config.access_type == AccessType.OPEN

    update = meet_v2.Space(
        name=space.name,
        config=meet_v2.SpaceConfig(
            access_type=AccessType.RESTRICTED,
            moderation=Moderation.ON,
            moderation_restrictions=meet_v2.SpaceConfig.ModerationRestrictions(chat_restriction=Restriction.HOSTS_ONLY),
        ),
    )
    mask = field_mask_pb2.FieldMask(
        paths=["config.access_type", "config.moderation", "config.moderation_restrictions.chat_restriction"]
    )
    patched = client.update_space(space=update, update_mask=mask)
    assert patched.config.access_type == AccessType.RESTRICTED
    assert patched.config.moderation == Moderation.ON
    assert patched.config.moderation_restrictions.chat_restriction == Restriction.HOSTS_ONLY
    patch_call = emu.state.calls_to("spaces.patch")[0]
    assert patch_call["query"]["updateMask"] == (
        "config.accessType,config.moderation,config.moderationRestrictions.chatRestriction"
    )
    assert patch_call["body"]["config"]["accessType"] == 3  # integer enums on the wire
    assert emu.state.space(space.name)["config"]["accessType"] == "RESTRICTED"

    emu.state.join(space.name, user=BOB)
    live = client.get_space(name=space.name)
    assert live.active_conference.conference_record.startswith("conferenceRecords/")
    client.end_active_conference(name=space.name)
    assert emu.state.space(space.name)["activeConference"] is None
    assert not client.get_space(name=space.name).active_conference.conference_record
    with pytest.raises(exceptions.BadRequest) as failed:
        client.end_active_conference(name=space.name)
    assert failed.value.code == 400


def test_errors_map_to_api_core_exceptions(emu: MeetEmulator) -> None:
    client = spaces_client(emu)
    with pytest.raises(exceptions.NotFound):
        client.get_space(name="spaces/doesNotExist")
    foreign = emu.state.create_space(ALICE, client_id="meet.google.com")
    with pytest.raises(exceptions.Forbidden) as denied:
        client.get_space(name=foreign["name"])
    assert "Permission denied on resource MeetingSpace" in denied.value.message
    own = client.create_space(request={})
    with pytest.raises(exceptions.Forbidden) as not_owner:
        spaces_client(emu, BOB, ("meetings.space.settings",)).update_space(
            space=meet_v2.Space(name=own.name, config=meet_v2.SpaceConfig(access_type=AccessType.OPEN)),
            update_mask=field_mask_pb2.FieldMask(paths=["config.access_type"]),
        )
    assert not_owner.value.code == 403
    readonly = spaces_client(emu, scopes=("meetings.space.readonly",))
    with pytest.raises(exceptions.Forbidden) as scope:
        readonly.create_space(request={})
    assert scope.value.reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    with pytest.raises(exceptions.BadRequest):
        client.update_space(
            space=meet_v2.Space(name="spaces/" + own.meeting_code, config=meet_v2.SpaceConfig(access_type=1)),
        )
    emu.state.inject_fault("spaces.create", 429, retry_after=1)
    with pytest.raises(exceptions.TooManyRequests):
        client.create_space(request={})


def test_get_retries_unavailable(emu: MeetEmulator) -> None:
    client = spaces_client(emu)
    space = client.create_space(request={})
    emu.state.inject_fault("spaces.get", 503, count=1)
    assert client.get_space(name=space.name).name == space.name  # the client's default retry covers 503 on get
    assert [c["status"] for c in emu.state.calls_to("spaces.get")] == [503, 200]


def test_conference_records_and_participants(emu: MeetEmulator) -> None:
    spaces = spaces_client(emu)
    space = spaces.create_space(request={})
    for _ in range(3):
        emu.state.join(space.name, user=ALICE)
        emu.state.join(space.name, anonymous="Guest")
        emu.state.end_conference(space.name)
    emu.state.join(space.name, user=BOB)
    emu.state.join(space.name, phone="+15551234567")

    records = records_client(emu)
    listed = list(records.list_conference_records(request={"page_size": 2}))
    assert len(listed) == 4
    assert [r.start_time for r in listed] == sorted((r.start_time for r in listed), reverse=True)
    assert all(r.space == space.name for r in listed)
    assert len(emu.state.calls_to("conferenceRecords.list")) == 2  # the pager followed nextPageToken

    live = list(records.list_conference_records(request={"filter": "end_time IS NULL"}))
    assert len(live) == 1 and not live[0].end_time
    filtered = list(records.list_conference_records(request={"filter": f'space.name = "{space.name}"'}))
    assert len(filtered) == 4
    ended = records.get_conference_record(name=listed[1].name)
    assert ended.end_time and ended.expire_time

    people = list(records.list_participants(parent=live[0].name))
    assert [p.phone_user.display_name != "" for p in people] == [True, False]
    assert people[1].signedin_user.display_name == "Bob"
    assert people[1].signedin_user.user == emu.state.user(BOB)["id"]
    with pytest.raises(exceptions.NotFound):
        records.get_conference_record(name="conferenceRecords/nope")
    with pytest.raises(exceptions.Forbidden):
        records_client(emu, "carol@example.com", ("meetings.space.readonly",)).get_conference_record(name=live[0].name)


def test_member_calls(emu: MeetEmulator) -> None:
    """create/get/list (paged)/update/delete members, as google-apps-meet 0.5.2 sends them."""
    client = spaces_client(emu)
    space = client.create_space(request={})
    cohost = client.create_member(parent=space.name, member=meet_v2.Member(email=BOB, role=meet_v2.Member.Role.COHOST))
    assert cohost.name.startswith(f"{space.name}/members/") and cohost.role == meet_v2.Member.Role.COHOST
    for i in range(4):
        client.create_member(parent=space.name, member=meet_v2.Member(email=f"p{i}@example.com"))
    listed = list(client.list_members(request={"parent": space.name, "page_size": 2}))
    assert [m.email for m in listed] == [BOB] + [f"p{i}@example.com" for i in range(4)]
    assert len(emu.state.calls_to("spaces.members.list")) == 3  # the pager followed nextPageToken
    assert client.get_member(name=cohost.name).email == BOB
    plain = client.update_member(member=meet_v2.Member(name=listed[1].name, role=meet_v2.Member.Role.COHOST),
                                 update_mask=field_mask_pb2.FieldMask(paths=["role"]))
    assert plain.role == meet_v2.Member.Role.COHOST
    client.delete_member(name=cohost.name)
    with pytest.raises(exceptions.NotFound):
        client.get_member(name=cohost.name)
    with pytest.raises(exceptions.Conflict):
        client.create_member(parent=space.name, member=meet_v2.Member(email="p0@example.com"))
    with pytest.raises(exceptions.BadRequest):
        client.create_member(parent=space.name, member=meet_v2.Member(role=meet_v2.Member.Role.COHOST))
    with pytest.raises(exceptions.Forbidden):
        spaces_client(emu, BOB).create_member(parent=space.name, member=meet_v2.Member(email=BOB))
