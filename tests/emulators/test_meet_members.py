"""The Meet emulator's spaces.members, over HTTP with httpx: create/get/list/patch/delete, the role table, scopes,
the member limit and refused-email switches, and the join logic that lets members in without knocking."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.googleapi.tls import shared_tls
from emulators.meet import MeetEmulator

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
INT_ENUMS = {"$alt": "json;enum-encoding=int"}


@pytest.fixture
def emu() -> Iterator[MeetEmulator]:
    with MeetEmulator() as emulator:
        yield emulator


def client(emu: MeetEmulator, user: str = ALICE, scopes: tuple[str, ...] = ("meetings.space.created",),
           client_id: str = "meetbot") -> httpx.Client:
    token = emu.state.mint_token(user, list(scopes), client_id=client_id)
    return httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {token}"}, timeout=10,
                        verify=shared_tls())


def new_space(emu: MeetEmulator, access: str = "TRUSTED") -> str:
    with client(emu) as alice:
        return str(alice.post("/v2/spaces", json={"config": {"accessType": access}}).json()["name"])


def test_create_get_list_delete(emu: MeetEmulator) -> None:
    space = new_space(emu)
    with client(emu) as alice:
        made = alice.post(f"/v2/{space}/members", json={"email": BOB, "role": "COHOST"})
        assert made.status_code == 200
        member = made.json()
        assert member["name"].startswith(f"{space}/members/") and member["email"] == BOB
        assert member["role"] == "COHOST"
        plain = alice.post(f"/v2/{space}/members", json={"email": CAROL}, params=INT_ENUMS).json()
        assert "role" not in plain  # ROLE_UNSPECIFIED is omitted (proto3 JSON)
        assert alice.get(f"/v2/{member['name']}", params=INT_ENUMS).json()["role"] == 1
        listed = alice.get(f"/v2/{space}/members").json()
        assert [m["email"] for m in listed["members"]] == [BOB, CAROL] and "nextPageToken" not in listed
        assert alice.delete(f"/v2/{member['name']}").json() == {}
        assert alice.get(f"/v2/{member['name']}").status_code == 404
        assert alice.delete(f"/v2/{member['name']}").status_code == 404
        assert [m["email"] for m in alice.get(f"/v2/{space}/members").json()["members"]] == [CAROL]


def test_known_google_accounts_carry_their_user(emu: MeetEmulator) -> None:
    space = new_space(emu)
    bob_id = emu.state.user(BOB)["id"]
    with client(emu) as alice:
        assert alice.post(f"/v2/{space}/members", json={"email": BOB}).json()["user"] == bob_id
        assert "user" not in alice.post(f"/v2/{space}/members", json={"email": "nobody@example.org"}).json()


def test_paging_default_max_and_tokens(emu: MeetEmulator) -> None:
    space = new_space(emu)
    with client(emu) as alice:
        for i in range(7):
            assert alice.post(f"/v2/{space}/members", json={"email": f"p{i}@example.com"}).status_code == 200
        first = alice.get(f"/v2/{space}/members", params={"pageSize": 3}).json()
        assert len(first["members"]) == 3 and first["nextPageToken"]
        seen = [m["email"] for m in first["members"]]
        token = first["nextPageToken"]
        while token:
            page = alice.get(f"/v2/{space}/members", params={"pageSize": 3, "pageToken": token}).json()
            seen += [m["email"] for m in page["members"]]
            token = page.get("nextPageToken")
        assert seen == [f"p{i}@example.com" for i in range(7)]
        assert len(alice.get(f"/v2/{space}/members", params={"pageSize": 9999}).json()["members"]) == 7
        assert alice.get(f"/v2/{space}/members", params={"pageToken": "bogus"}).status_code == 400


def test_bad_bodies(emu: MeetEmulator) -> None:
    space = new_space(emu)
    with client(emu) as alice:
        missing = alice.post(f"/v2/{space}/members", json={"role": "COHOST"})
        assert missing.status_code == 400 and missing.json()["error"]["status"] == "INVALID_ARGUMENT"
        both = alice.post(f"/v2/{space}/members", json={"email": BOB, "user": "users/1"})
        assert both.status_code == 400
        assert alice.post(f"/v2/{space}/members", json={"email": BOB, "role": "BOSS"}).status_code == 400
        assert alice.post(f"/v2/{space}/members", json={"email": BOB}).status_code == 200
        again = alice.post(f"/v2/{space}/members", json={"email": BOB.upper(), "role": "COHOST"})
        assert again.status_code == 409 and again.json()["error"]["status"] == "ALREADY_EXISTS"


def test_patch_changes_the_role(emu: MeetEmulator) -> None:
    space = new_space(emu)
    with client(emu) as alice:
        member = alice.post(f"/v2/{space}/members", json={"email": BOB}).json()
        patched = alice.patch(f"/v2/{member['name']}", params={"updateMask": "role"}, json={"role": "COHOST"})
        assert patched.status_code == 200 and patched.json()["role"] == "COHOST"
        assert alice.patch(f"/v2/{member['name']}", params={"updateMask": "email"},
                           json={"email": CAROL}).status_code == 400


def test_role_table_and_scopes(emu: MeetEmulator) -> None:
    space = new_space(emu)
    with client(emu) as alice:
        member = alice.post(f"/v2/{space}/members", json={"email": CAROL}).json()
    with client(emu, BOB) as bob:
        assert bob.post(f"/v2/{space}/members", json={"email": BOB}).status_code == 403
        assert bob.delete(f"/v2/{member['name']}").status_code == 403
        assert bob.get(f"/v2/{space}/members").status_code == 403  # member_reads="owner" (unverified)
        emu.state.configure(member_reads="anyone")
        assert bob.get(f"/v2/{space}/members").status_code == 200
    with client(emu, scopes=("meetings.space.readonly",)) as reader:
        assert reader.get(f"/v2/{space}/members").status_code == 200
        refused = reader.post(f"/v2/{space}/members", json={"email": BOB})
        assert refused.status_code == 403
        assert refused.json()["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    foreign = emu.state.create_space(ALICE, client_id="calendar")["name"]
    with client(emu) as alice:  # meetings.space.created reaches only spaces meetbot created
        assert alice.post(f"/v2/{foreign}/members", json={"email": BOB}).status_code == 403


def test_member_limit_and_refused_emails(emu: MeetEmulator) -> None:
    space = new_space(emu)
    emu.state.configure(member_limit=2, refused_member_emails=["*@outside.example"])
    with client(emu) as alice:
        refused = alice.post(f"/v2/{space}/members", json={"email": "eve@outside.example"})
        assert refused.status_code == 400 and refused.json()["error"]["status"] == "INVALID_ARGUMENT"
        for email in (BOB, CAROL):
            assert alice.post(f"/v2/{space}/members", json={"email": email}).status_code == 200
        full = alice.post(f"/v2/{space}/members", json={"email": "dan@example.com"})
        assert full.status_code == 400 and full.json()["error"]["status"] == "FAILED_PRECONDITION"
        assert full.json()["error"]["details"][0]["reason"] == "MEMBER_LIMIT_EXCEEDED"
    emu.state.reset()
    assert emu.state.options()["member_limit"] == 0
    with pytest.raises(ValueError):
        emu.state.configure(member_limit=-1)


def test_the_other_error_shapes_of_a_full_space_and_a_refused_email(emu: MeetEmulator) -> None:
    """Guesses, switchable: a full space may answer 429 RESOURCE_EXHAUSTED, a refused email 403 PERMISSION_DENIED."""
    space = new_space(emu)
    emu.state.configure(member_limit=1, refused_member_emails=["*@outside.example"],
                        member_limit_error="resource_exhausted", refused_email_error="permission_denied")
    with client(emu) as alice:
        refused = alice.post(f"/v2/{space}/members", json={"email": "eve@outside.example"})
        assert refused.status_code == 403 and refused.json()["error"]["status"] == "PERMISSION_DENIED"
        assert alice.post(f"/v2/{space}/members", json={"email": BOB}).status_code == 200
        full = alice.post(f"/v2/{space}/members", json={"email": CAROL})
        assert full.status_code == 429 and full.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert full.json()["error"]["details"][0]["reason"] == "MEMBER_LIMIT_EXCEEDED"
    emu.state.reset()
    assert (emu.state.options()["member_limit_error"], emu.state.options()["refused_email_error"]) == (
        "failed_precondition", "invalid_argument")
    with pytest.raises(ValueError):
        emu.state.configure(member_limit_error="409")


@pytest.mark.parametrize(("access", "stranger"), [("OPEN", "admitted"), ("TRUSTED", "knocked"),
                                                   ("RESTRICTED", "knocked")])
def test_members_join_without_knocking(emu: MeetEmulator, access: str, stranger: str) -> None:
    space = new_space(emu, access)
    with client(emu) as alice:
        alice.post(f"/v2/{space}/members", json={"email": "guest@partner.example"})
    assert emu.state.admission(emu.state.join(space, user="guest@partner.example")) == "admitted"
    assert emu.state.admission(emu.state.join(space, user="mallory@other.example")) == stranger
    colleague = emu.state.admission(emu.state.join(space, user=BOB))  # same organisation as the owner
    assert colleague == ("knocked" if access == "RESTRICTED" else "admitted")
    answer = httpx.post(emu.url + "/_emulator/join", json={"space": space, "user": ALICE}).json()
    assert answer["admission"] == "admitted" and answer["participant"].startswith("conferenceRecords/")
