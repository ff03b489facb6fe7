"""The Meet + Google OAuth emulator, driven over HTTP with httpx (not the bot's code).

Checks the behaviour /work/shared/reference/meet-api.md describes: the role table, scopes, meeting-code aliases,
updateMask, enum encodings, pagination, filters, faults, and the OAuth code/PKCE, refresh, revoke and jwt-bearer flows.
"""

# google-auth's jwt/crypt/service_account helpers are untyped
# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt
from google.auth import jwt as google_jwt
from google.oauth2 import service_account

from bot.googleapi.tls import shared_tls
from emulators.meet import NON_OWNER_CONFIG_MODES, RUNTIME_OPTIONS, MeetEmulator, MeetState
from tests.support.waits import eventually

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
CREATED = "https://www.googleapis.com/auth/meetings.space.created"
READONLY = "https://www.googleapis.com/auth/meetings.space.readonly"
SETTINGS = "https://www.googleapis.com/auth/meetings.space.settings"
INT_ENUMS = {"$alt": "json;enum-encoding=int"}
REDIRECT = "http://127.0.0.1:3000/google/oauth/callback"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emu() -> Iterator[MeetEmulator]:
    with MeetEmulator() as emulator:
        yield emulator


def client(
    emu: MeetEmulator,
    user: str = ALICE,
    scopes: tuple[str, ...] = ("meetings.space.created",),
    client_id: str = "meetbot",
) -> httpx.Client:
    token = emu.state.mint_token(user, list(scopes), client_id=client_id)
    return httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {token}"}, timeout=10,
                        verify=shared_tls())


def error(resp: httpx.Response) -> dict[str, Any]:
    assert resp.headers["content-type"] == "application/json; charset=UTF-8"
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == resp.status_code
    return body


def detail(err: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(d for d in err.get("details", []) if d["@type"] == f"type.googleapis.com/google.rpc.{kind}")


def new_space(api: httpx.Client, config: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = api.post("/v2/spaces", json={"config": config} if config else {})
    assert resp.status_code == 200, resp.text
    space: dict[str, Any] = resp.json()
    return space


def walk_values(data: Any) -> Iterator[Any]:
    if isinstance(data, dict):
        for value in data.values():
            yield from walk_values(value)
    else:
        yield data


# ------------------------------------------------------------------------------------------------ spaces


def test_create_returns_google_shaped_space(emu: MeetEmulator) -> None:
    resp = client(emu).post("/v2/spaces", json={})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json; charset=UTF-8"
    space = resp.json()
    assert re.fullmatch(r"spaces/[A-Za-z0-9]{12}", space["name"])
    assert re.fullmatch(r"[a-z]{3}-[a-z]{4}-[a-z]{3}", space["meetingCode"])
    assert space["meetingUri"] == "https://meet.google.com/" + space["meetingCode"]
    assert "activeConference" not in space
    assert space["config"]["accessType"] == "TRUSTED"
    assert space["config"]["entryPointAccess"] == "ALL"
    assert space["config"]["moderation"] == "OFF"
    assert not any("UNSPECIFIED" in str(v) for v in walk_values(space["config"]))
    assert emu.state.space(space["name"])["owner"] == ALICE


def test_create_honours_config_and_default_access_option() -> None:
    with MeetEmulator(default_access_type="RESTRICTED", default_config={"moderation": "ON"}) as emu:
        api = client(emu)
        assert new_space(api)["config"]["accessType"] == "RESTRICTED"
        assert new_space(api)["config"]["moderation"] == "ON"
        space = new_space(
            api, {"accessType": 1, "artifact_config": {"recording_config": {"auto_recording_generation": "ON"}}}
        )
        assert space["config"]["accessType"] == "OPEN"
        assert space["config"]["artifactConfig"]["recordingConfig"]["autoRecordingGeneration"] == "ON"


def test_get_by_id_and_case_insensitive_code(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    assert api.get("/v2/" + space["name"]).json()["name"] == space["name"]
    by_code = api.get("/v2/spaces/" + space["meetingCode"].upper())
    assert by_code.status_code == 200 and by_code.json()["name"] == space["name"]
    swapped = space["name"].swapcase()
    if swapped.removeprefix("SPACES/") != space["name"].removeprefix("spaces/"):
        assert api.get("/v2/spaces/" + space["name"].removeprefix("spaces/").swapcase()).status_code == 404
    err = error(api.get("/v2/spaces/zzz-zzzz-zzz"))
    assert err["status"] == "NOT_FOUND"


def test_percent_encoded_path_segments(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    ident = space["name"].removeprefix("spaces/")
    emu.state.join(space["name"], user=BOB)
    assert api.get("/v2/spaces/" + urllib.parse.quote(space["meetingCode"].upper(), safe="")).status_code == 200
    resp = api.post(f"/v2/spaces/{ident}%3AendActiveConference", json={})
    assert resp.status_code == 200 and resp.json() == {}


def test_unmatched_routes_answer_404_envelope(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    for method, path in [
        ("GET", "/v2/meetings"),
        ("DELETE", "/v2/" + space["name"]),
        ("GET", "/v2/spaces/a/b"),
        ("POST", "/v2/" + space["name"] + ":start"),
        ("GET", "/nothing"),
        ("GET", "/v2/"),
    ]:
        resp = api.request(method, path)
        assert resp.status_code == 404, (method, path)
        assert error(resp)["status"] == "NOT_FOUND"


def test_role_table(emu: MeetEmulator) -> None:
    owner = client(emu, ALICE)
    participant = client(emu, BOB, ("meetings.space.readonly",))
    other = client(emu, CAROL, ("meetings.space.readonly",))
    space = new_space(owner)
    emu.state.join(space["name"], user=BOB)

    as_owner = owner.get("/v2/" + space["name"]).json()
    assert "config" in as_owner and "activeConference" in as_owner
    as_participant = participant.get("/v2/spaces/" + space["meetingCode"]).json()
    assert "config" not in as_participant
    assert as_participant["activeConference"] == as_owner["activeConference"]
    as_other = other.get("/v2/" + space["name"]).json()
    assert set(as_other) == {"name", "meetingUri", "meetingCode"}

    emu.state.leave(space["name"], user=BOB)  # was in the live conference: still a participant
    assert "activeConference" in participant.get("/v2/" + space["name"]).json()
    emu.state.end_conference(space["name"])
    assert "activeConference" not in participant.get("/v2/" + space["name"]).json()

    for api in (participant, other):
        assert error(api.patch("/v2/" + space["name"], json={}))["status"] == "PERMISSION_DENIED"


def test_non_owner_writes_and_option() -> None:
    with MeetEmulator(non_owner_status=404, non_owner_config="full") as emu:
        space = new_space(client(emu, ALICE))
        bob = client(emu, BOB, ("meetings.space.created", "meetings.space.settings", "meetings.space.readonly"))
        assert bob.patch("/v2/" + space["name"], json={}).status_code == 404
        emu.state.join(space["name"], user=CAROL)
        assert bob.post(f"/v2/{space['name']}:endActiveConference", json={}).status_code == 404
        assert "config" in bob.get("/v2/" + space["name"]).json()


# What non-owners see of `config` (reference §12 could not establish it): the `non_owner_config` option.
PICKED = {"accessType": "OPEN", "entryPointAccess": "CREATOR_APP_ONLY", "moderation": "ON"}
PARTIAL = {"accessType": "OPEN", "entryPointAccess": "CREATOR_APP_ONLY"}
PARTIAL_INTS = {"accessType": 1, "entryPointAccess": 2}


def set_non_owner_config(emu: MeetEmulator, mode: str, how: str) -> None:
    if how == "configure":
        assert emu.state.configure(non_owner_config=mode)["non_owner_config"] == mode
    elif how == "route":
        resp = httpx.post(emu.url + "/_emulator/options", json={"non_owner_config": mode}, timeout=10)
        assert resp.status_code == 200, resp.text
        assert resp.json()["non_owner_config"] == mode
    assert emu.state.non_owner_config == mode


@pytest.mark.parametrize("how", ["constructor", "configure", "route"])
@pytest.mark.parametrize("mode", NON_OWNER_CONFIG_MODES)
def test_non_owner_config_option(mode: str, how: str) -> None:
    options: dict[str, Any] = {"non_owner_config": mode} if how == "constructor" else {}
    with MeetEmulator(**options) as emu:
        set_non_owner_config(emu, mode, how)
        owner = client(emu, ALICE)
        participant = client(emu, BOB, ("meetings.space.readonly",))
        other = client(emu, CAROL, ("meetings.space.readonly",))
        space = new_space(owner, PICKED)
        emu.state.join(space["name"], user=BOB)
        ref = "/v2/" + space["name"]

        # the owner always gets the whole config, in the encoding asked for
        as_owner = owner.get(ref).json()
        assert as_owner["config"] == space["config"]
        assert as_owner["config"]["moderation"] == "ON" and "moderationRestrictions" in as_owner["config"]
        owner_ints = owner.get(ref, params=INT_ENUMS).json()["config"]
        assert owner_ints["accessType"] == 1 and owner_ints["moderation"] == 2

        expected = {  # mode → (names, ints); None: no `config` key at all
            "absent": (None, None),
            "empty": ({}, {}),
            "partial": (PARTIAL, PARTIAL_INTS),
            "full": (as_owner["config"], owner_ints),
        }[mode]
        for api, role in ((participant, "participant"), (other, "other")):
            for path, params, want in (
                (ref, {}, expected[0]),
                (ref, INT_ENUMS, expected[1]),
                ("/v2/spaces/" + space["meetingCode"], {}, expected[0]),  # the meeting-code alias
            ):
                resp = api.get(path, params=params)
                assert resp.status_code == 200, resp.text
                got = resp.json()
                assert got["name"] == space["name"] and got["meetingCode"] == space["meetingCode"]
                assert ("activeConference" in got) == (role == "participant")
                if want is None:
                    assert "config" not in got
                else:
                    assert got["config"] == want


@pytest.mark.parametrize(("hide", "mode"), [(True, "absent"), (False, "full")])
def test_hide_config_from_non_owners_is_still_accepted(hide: bool, mode: str) -> None:
    with MeetEmulator(hide_config_from_non_owners=hide) as emu:
        assert emu.state.non_owner_config == mode
        space = new_space(client(emu, ALICE))
        got = client(emu, BOB, ("meetings.space.readonly",)).get("/v2/" + space["name"]).json()
        assert ("config" in got) == (mode == "full")
    assert MeetState(non_owner_config=mode, hide_config_from_non_owners=hide).non_owner_config == mode
    with pytest.raises(ValueError, match="contradicts"):
        MeetState(non_owner_config="partial", hide_config_from_non_owners=hide)
    state = MeetState(non_owner_config="empty")
    assert state.configure(hide_config_from_non_owners=hide)["non_owner_config"] == mode
    assert "hide_config_from_non_owners" not in state.options()


def test_configure_validates_and_reset_restores() -> None:
    state = MeetState(non_owner_config="partial", non_owner_status=404)
    with pytest.raises(TypeError, match="unknown option 'non_owner_configs'"):
        state.configure(non_owner_configs="full")
    with pytest.raises(ValueError, match="non_owner_config must be one of 'absent', 'empty', 'partial', 'full'"):
        state.configure(non_owner_config="hidden")
    with pytest.raises(ValueError, match="non_owner_config must be one of"):
        MeetState(non_owner_config="hidden")
    with pytest.raises(ValueError, match="'ignore' or 'reject'"):
        MeetState(output_only_mask_paths="drop")
    with pytest.raises(ValueError, match="non_owner_status must be an HTTP error status"):
        state.configure(non_owner_config="full", non_owner_status=200)
    assert state.non_owner_config == "partial"  # all or nothing
    state.configure(non_owner_config="full", non_owner_status=403, end_when_empty=True)
    assert (state.non_owner_config, state.non_owner_status, state.end_when_empty) == ("full", 403, True)
    state.reset()
    assert (state.non_owner_config, state.non_owner_status, state.end_when_empty) == ("partial", 404, False)


def test_options_control_route() -> None:
    with MeetEmulator(default_config={"moderation": "ON"}) as emu:
        ctl = httpx.Client(base_url=emu.url + "/_emulator/", timeout=10)
        constructed = ctl.get("options").json()
        assert set(constructed) == set(RUNTIME_OPTIONS)
        assert constructed["non_owner_config"] == "absent" and constructed["non_owner_status"] == 403

        changed = {"non_owner_config": "partial", "non_owner_status": 404, "default_access_type": "RESTRICTED"}
        resp = ctl.post("options", json=changed)
        assert resp.status_code == 200 and resp.json() == {**constructed, **changed}
        assert ctl.get("options").json() == resp.json()
        # the new values take effect at once
        space = new_space(client(emu, ALICE))
        assert space["config"]["accessType"] == "RESTRICTED" and space["config"]["moderation"] == "ON"
        bob = client(emu, BOB, ("meetings.space.created", "meetings.space.readonly"))
        assert bob.get("/v2/" + space["name"]).json()["config"] == {
            "accessType": "RESTRICTED",
            "entryPointAccess": "ALL",
        }
        assert bob.patch("/v2/" + space["name"], json={}).status_code == 404

        bad = [
            ({"non_owner_configs": "full"}, "unknown option 'non_owner_configs'; options settable at run time: "),
            ({"non_owner_config": "hidden"}, "non_owner_config must be one of 'absent', 'empty', 'partial', 'full'"),
            ({"non_owner_config": None}, "non_owner_config must be one of"),
            ({"non_owner_status": "404"}, "non_owner_status must be an HTTP error status"),
            ({"end_without_conference_status": 201}, "end_without_conference_status must be 0 or 200"),
            ({"end_when_empty": 1}, "end_when_empty must be true or false (got 1)"),
            ({"default_access_type": "ACCESS_TYPE_UNSPECIFIED"}, "default_access_type must be one of 'OPEN'"),
            ({"extra_redirect_params": {"authuser": 0}}, "extra_redirect_params must be an object of string values"),
            ({"hide_config_from_non_owners": "yes"}, "hide_config_from_non_owners must be true or false"),
            ({"hide_config_from_non_owners": False, "non_owner_config": "empty"}, "contradicts"),
            ({"non_owner_config": "full", "non_owner_status": 200}, "non_owner_status must be"),  # nothing applied
        ]
        for body, message in bad:
            resp = ctl.post("options", json=body)
            assert resp.status_code == 400, body
            assert message in resp.json()["error"], (body, resp.json())
        not_object = ctl.post("options", json=["non_owner_config"])
        assert not_object.status_code == 400 and not_object.json() == {"error": "expected a JSON object"}
        assert ctl.get("options").json() == {**constructed, **changed}  # the refused posts changed nothing

        # the old name maps; an empty body changes nothing and reads the options back
        assert ctl.post("options", json={"hide_config_from_non_owners": False}).json()["non_owner_config"] == "full"
        assert ctl.post("options", json={}).json()["non_owner_config"] == "full"
        # reset returns to the constructed options
        assert ctl.post("reset").status_code == 200
        assert ctl.get("options").json() == constructed
        assert new_space(client(emu, ALICE))["config"]["accessType"] == "TRUSTED"


def test_scope_enforcement(emu: MeetEmulator) -> None:
    readonly = client(emu, scopes=("meetings.space.readonly",))
    settings = client(emu, scopes=("meetings.space.settings",))
    resp = readonly.post("/v2/spaces", json={})
    err = error(resp)
    assert resp.status_code == 403 and err["status"] == "PERMISSION_DENIED"
    info = detail(err, "ErrorInfo")
    assert info["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT" and info["domain"] == "googleapis.com"
    assert info["metadata"]["method"] == "google.apps.meet.v2.SpacesService.CreateSpace"
    assert 'error="insufficient_scope"' in resp.headers["www-authenticate"]

    space = new_space(client(emu))
    emu.state.join(space["name"], user=BOB)
    assert settings.get("/v2/" + space["name"]).status_code == 200
    patched = settings.patch(
        "/v2/" + space["name"], params={"updateMask": "config.accessType"}, json={"config": {"accessType": "OPEN"}}
    )
    assert patched.status_code == 200 and patched.json()["config"]["accessType"] == "OPEN"
    assert readonly.patch("/v2/" + space["name"], json={}).status_code == 403
    assert settings.post(f"/v2/{space['name']}:endActiveConference", json={}).status_code == 403
    assert settings.get("/v2/conferenceRecords").status_code == 403
    assert readonly.get("/v2/conferenceRecords").status_code == 200


def test_unauthenticated(emu: MeetEmulator) -> None:
    missing = httpx.get(emu.url + "/v2/conferenceRecords")
    err = error(missing)
    assert missing.status_code == 401 and err["status"] == "UNAUTHENTICATED"
    assert detail(err, "ErrorInfo")["reason"] == "CREDENTIALS_MISSING"
    assert missing.headers["www-authenticate"].startswith("Bearer")

    token = emu.state.mint_token(ALICE, ["meetings.space.created"])
    emu.state.expire_token(token)
    for bad in (token, "ya29.garbage"):
        resp = httpx.get(emu.url + "/v2/conferenceRecords", headers={"Authorization": f"Bearer {bad}"})
        assert resp.status_code == 401
        assert detail(error(resp), "ErrorInfo")["reason"] == "ACCESS_TOKEN_EXPIRED"
        assert 'error="invalid_token"' in resp.headers["www-authenticate"]

    short = emu.state.mint_token(ALICE, ["meetings.space.created"], expires_in=60)
    ok = httpx.get(emu.url + "/v2/conferenceRecords", params={"access_token": short})
    assert ok.status_code == 200
    emu.state.advance_time(61)
    assert httpx.get(emu.url + "/v2/conferenceRecords", params={"access_token": short}).status_code == 401


def test_anonymous_user_option() -> None:
    with MeetEmulator(anonymous_user=BOB) as emu:
        resp = httpx.post(emu.url + "/v2/spaces", json={})
        assert resp.status_code == 200
        assert emu.state.space(resp.json()["name"])["owner"] == BOB


def test_created_scope_sees_only_own_apps_spaces(emu: MeetEmulator) -> None:
    foreign = emu.state.create_space(ALICE, client_id="meet.google.com")
    own = new_space(client(emu))
    created = client(emu)
    for ref in (foreign["name"], "spaces/" + foreign["meetingCode"]):
        err = error(created.get("/v2/" + ref))
        assert err["code"] == 403
        assert err["message"] == "Permission denied on resource MeetingSpace (or it might not exist)"
    assert created.get("/v2/" + own["name"]).status_code == 200
    both = client(emu, scopes=("meetings.space.created", "meetings.space.readonly"))
    assert both.get("/v2/" + foreign["name"]).status_code == 200
    other_app = client(emu, client_id="other-app")
    assert other_app.get("/v2/" + own["name"]).status_code == 403
    # patch of a foreign space: created-only is refused, the settings scope lets the owner through
    assert created.patch("/v2/" + foreign["name"], json={}).status_code == 403
    assert client(emu, scopes=("meetings.space.settings",)).patch("/v2/" + foreign["name"], json={}).status_code == 200
    # conference records of foreign spaces are invisible to created-only tokens
    emu.state.join(foreign["name"], user=ALICE)
    assert created.get("/v2/conferenceRecords").json() == {}
    assert len(both.get("/v2/conferenceRecords").json()["conferenceRecords"]) == 1


def test_alias_rejected_on_writes(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    emu.state.join(space["name"], user=ALICE)
    code_ref = "/v2/spaces/" + space["meetingCode"]
    err = error(api.patch(code_ref, json={"config": {"accessType": "OPEN"}}))
    assert err["status"] == "INVALID_ARGUMENT"
    assert error(api.post(code_ref + ":endActiveConference", json={}))["code"] == 400
    assert emu.state.space(space["name"])["activeConference"]
    with MeetEmulator(alias_write_status=404) as other:
        api2 = client(other)
        space2 = new_space(api2)
        assert api2.patch("/v2/spaces/" + space2["meetingCode"], json={}).status_code == 404


def test_end_active_conference(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    err = error(api.post(f"/v2/{space['name']}:endActiveConference", json={}))
    assert err["code"] == 400 and err["status"] == "FAILED_PRECONDITION"
    participant = emu.state.join(space["name"], user=BOB)
    record = participant.split("/participants/")[0]
    assert api.post(f"/v2/{space['name']}:endActiveConference").json() == {}  # no body at all is fine too
    got = api.get("/v2/" + record).json()
    assert "endTime" in got and "expireTime" in got
    end = got["endTime"]
    assert got["expireTime"][:10] > end[:10]
    assert "activeConference" not in api.get("/v2/" + space["name"]).json()
    assert api.post(f"/v2/{space['name']}:endActiveConference", json={"bogus": 1}).status_code == 400
    with MeetEmulator(end_without_conference_status=200) as lenient:
        api2 = client(lenient)
        space2 = new_space(api2)
        resp = api2.post(f"/v2/{space2['name']}:endActiveConference", json={})
        assert resp.status_code == 200 and resp.json() == {}


# ------------------------------------------------------------------------------------------------ patch


def patch(
    api: httpx.Client, space: dict[str, Any], body: dict[str, Any], mask: str | None = None, **params: str
) -> httpx.Response:
    query = dict(params)
    if mask is not None:
        query["updateMask"] = mask
    return api.patch("/v2/" + space["name"], params=query, json=body)


def test_patch_without_mask_merges(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api, {"accessType": "OPEN", "moderation": "ON"})
    resp = patch(api, space, {"config": {"moderationRestrictions": {"chatRestriction": "HOSTS_ONLY"}}})
    config = resp.json()["config"]
    assert config["accessType"] == "OPEN" and config["moderation"] == "ON"
    assert config["moderationRestrictions"]["chatRestriction"] == "HOSTS_ONLY"
    assert config["moderationRestrictions"]["presentRestriction"] == "NO_RESTRICTION"
    # an empty mask is the same as no mask; `name` and output-only fields in the body are ignored
    resp = patch(api, space, {"name": "spaces/other", "meetingCode": "x", "config": {"entryPointAccess": 2}}, "")
    assert resp.json()["name"] == space["name"] and resp.json()["config"]["entryPointAccess"] == "CREATOR_APP_ONLY"
    assert resp.json()["config"]["moderation"] == "ON"


def test_patch_star_replaces(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api, {"accessType": "OPEN", "moderation": "ON", "entryPointAccess": "CREATOR_APP_ONLY"})
    config = patch(api, space, {"config": {"moderation": "ON"}}, "*").json()["config"]
    assert config["accessType"] == "TRUSTED"  # reset to the effective default
    assert config["entryPointAccess"] == "ALL"
    assert config["moderation"] == "ON"


def test_patch_explicit_paths(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    body = {"config": {"accessType": "RESTRICTED", "entryPointAccess": "CREATOR_APP_ONLY", "moderation": "ON"}}
    config = patch(api, space, body, "config.accessType").json()["config"]
    assert config["accessType"] == "RESTRICTED"
    assert config["entryPointAccess"] == "ALL" and config["moderation"] == "OFF"  # outside the mask: ignored
    config = patch(api, space, body, "config.entry_point_access,config.moderation").json()["config"]
    assert config["entryPointAccess"] == "CREATOR_APP_ONLY" and config["moderation"] == "ON"
    nested = {"config": {"artifactConfig": {"transcriptionConfig": {"autoTranscriptionGeneration": "ON"}}}}
    mask = "config.artifact_config.transcription_config.auto_transcription_generation"
    config = patch(api, space, nested, mask).json()["config"]
    assert config["artifactConfig"]["transcriptionConfig"]["autoTranscriptionGeneration"] == "ON"
    # a path in the mask without a value in the body goes back to its default
    config = patch(api, space, {}, "config.accessType").json()["config"]
    assert config["accessType"] == "TRUSTED"
    # a message path replaces the whole sub-message
    config = patch(api, space, {"config": {"accessType": "OPEN"}}, "config").json()["config"]
    assert config["accessType"] == "OPEN" and config["moderation"] == "OFF"


def test_patch_mask_errors(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    for mask in ("config.nope", "nope", "config.accessType.deeper", "*,config"):
        err = error(patch(api, space, {"config": {}}, mask))
        assert err["status"] == "INVALID_ARGUMENT", mask
    assert patch(api, space, {}, "meetingUri").status_code == 200  # output-only path: ignored
    with MeetEmulator(output_only_mask_paths="reject") as strict:
        api2 = client(strict)
        assert patch(api2, new_space(api2), {}, "meetingUri").status_code == 400


def test_moderation_rules(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    cases: list[tuple[dict[str, Any], str | None]] = [
        ({"config": {"moderation": "MODERATION_UNSPECIFIED"}}, None),
        ({"config": {"moderation": 0}}, "config.moderation"),
        ({}, "config.moderation"),
    ]
    for body, mask in cases:
        err = error(patch(api, space, body, mask))
        assert err["status"] == "INVALID_ARGUMENT"
        assert detail(err, "BadRequest")["fieldViolations"][0]["field"] == "space.config.moderation"
    assert error(api.post("/v2/spaces", json={"config": {"moderation": "MODERATION_UNSPECIFIED"}}))["code"] == 400
    on = {
        "moderation": "ON",
        "moderationRestrictions": {"chatRestriction": "HOSTS_ONLY", "defaultJoinAsViewerType": "ON"},
    }
    config = patch(api, space, {"config": on}).json()["config"]
    assert config["moderationRestrictions"]["chatRestriction"] == "HOSTS_ONLY"
    config = patch(api, space, {"config": {"moderation": "OFF"}}, "config.moderation").json()["config"]
    assert config["moderation"] == "OFF"
    assert config["moderationRestrictions"] == {
        "chatRestriction": "NO_RESTRICTION",
        "reactionRestriction": "NO_RESTRICTION",
        "presentRestriction": "NO_RESTRICTION",
        "defaultJoinAsViewerType": "OFF",
    }


def test_enum_encodings_and_payload_validation(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    resp = patch(
        api,
        space,
        {"config": {"accessType": 3, "attendanceReportGenerationType": "GENERATE_REPORT"}},
        "config.accessType,config.attendanceReportGenerationType",
        **INT_ENUMS,
    )
    config = resp.json()["config"]
    assert config["accessType"] == 3 and config["attendanceReportGenerationType"] == 1
    assert all(isinstance(v, int) and v != 0 for v in walk_values(config))
    assert api.get("/v2/" + space["name"]).json()["config"]["accessType"] == "RESTRICTED"

    err = error(patch(api, space, {"config": {"accessType": "WIDE_OPEN"}}))
    assert err["status"] == "INVALID_ARGUMENT"
    assert detail(err, "BadRequest")["fieldViolations"][0]["field"] == "space.config.access_type"
    assert error(patch(api, space, {"config": {"accessType": 9}}))["code"] == 400
    err = error(patch(api, space, {"config": {"colour": "blue"}}))
    assert 'Unknown name "colour"' in err["message"]
    assert detail(err, "BadRequest")["fieldViolations"][0]["field"] == "space.config"
    assert error(api.post("/v2/spaces", json={"title": "x"}))["code"] == 400
    assert error(patch(api, space, {"config": "OPEN"}))["code"] == 400
    bad_json = api.patch("/v2/" + space["name"], content=b"{not json", headers={"content-type": "application/json"})
    assert error(bad_json)["code"] == 400


def test_query_parameters(emu: MeetEmulator) -> None:
    api = client(emu)
    assert (
        api.get(
            "/v2/conferenceRecords", params={"page_size": "5", "prettyPrint": "false", "$.xgafv": "2", "fields": "*"}
        ).status_code
        == 200
    )
    err = error(api.get("/v2/conferenceRecords", params={"colour": "blue"}))
    assert "Cannot bind query parameter" in err["message"]
    assert api.get("/v2/spaces/x", params={"updateMask": "config"}).status_code == 400


# ------------------------------------------------------------------------------------------------ conferences


def run_conferences(emu: MeetEmulator, space: dict[str, Any], count: int, who: str = ALICE) -> list[str]:
    names = []
    for _ in range(count):
        emu.state.join(space["name"], user=who)
        ended = emu.state.end_conference(space["name"])
        assert ended is not None
        names.append(ended)
    return names


def test_conference_lifecycle(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    first = emu.state.join(space["name"], user=BOB)
    second = emu.state.join(space["meetingCode"].upper(), anonymous="Guest")
    assert first.split("/participants/")[0] == second.split("/participants/")[0]
    with pytest.raises(ValueError):
        emu.state.join(space["name"], user=BOB)  # already in
    raw = emu.state.space(space["name"])
    assert raw["activeConference"] == first.split("/participants/")[0]
    emu.state.leave(space["name"], user=BOB)
    emu.state.leave(space["name"], anonymous="Guest")
    assert emu.state.space(space["name"])["activeConference"]  # stays live until ended
    ended = emu.state.end_conference(space["name"])
    assert emu.state.end_conference(space["name"]) is None
    emu.state.join(space["name"], user=BOB)
    assert emu.state.space(space["name"])["activeConference"] != ended
    with pytest.raises(KeyError):
        emu.state.join("spaces/doesnotexist", user=BOB)
    with MeetEmulator(end_when_empty=True) as other:
        space2 = other.state.create_space(ALICE)
        other.state.join(space2["name"], user=BOB)
        other.state.leave(space2["name"], user=BOB)
        assert other.state.space(space2["name"])["activeConference"] is None


def test_records_order_and_pagination(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    names = run_conferences(emu, space, 5)
    emu.state.join(space["name"], user=ALICE)  # a sixth, live
    got = api.get("/v2/conferenceRecords").json()["conferenceRecords"]
    assert [r["name"] for r in got][1:] == names[::-1]
    assert "endTime" not in got[0] and "expireTime" not in got[0] and got[0]["space"] == space["name"]
    starts = [r["startTime"] for r in got]
    assert starts == sorted(starts, reverse=True)

    pages, token = [], None
    while True:
        params = {"pageSize": "4"} if token is None else {"pageSize": "4", "pageToken": token}
        page = api.get("/v2/conferenceRecords", params=params).json()
        pages.append([r["name"] for r in page["conferenceRecords"]])
        token = page.get("nextPageToken")
        if token is None:
            break
    assert [len(p) for p in pages] == [4, 2]
    assert [name for page in pages for name in page] == [r["name"] for r in got]
    assert len(api.get("/v2/conferenceRecords", params={"pageSize": "1000"}).json()["conferenceRecords"]) == 6

    first = api.get("/v2/conferenceRecords", params={"pageSize": "2"}).json()
    assert error(api.get("/v2/conferenceRecords", params={"pageToken": "garbage"}))["status"] == "INVALID_ARGUMENT"
    other_query = {"pageToken": first["nextPageToken"], "filter": "end_time IS NULL"}
    assert api.get("/v2/conferenceRecords", params=other_query).status_code == 400
    assert api.get("/v2/conferenceRecords", params={"pageSize": "-1"}).status_code == 400
    assert api.get("/v2/conferenceRecords", params={"pageSize": "ten"}).status_code == 400


def test_records_default_page_size_is_25(emu: MeetEmulator) -> None:
    api = client(emu)
    run_conferences(emu, new_space(api), 27)
    page = api.get("/v2/conferenceRecords").json()
    assert len(page["conferenceRecords"]) == 25 and "nextPageToken" in page


def test_record_filters(emu: MeetEmulator) -> None:
    api = client(emu)
    one, two = new_space(api), new_space(api)
    run_conferences(emu, one, 2)
    emu.state.join(two["name"], user=ALICE)

    def names(filter_text: str) -> list[str]:
        resp = api.get("/v2/conferenceRecords", params={"filter": filter_text})
        assert resp.status_code == 200, resp.text
        return [r["space"] for r in resp.json().get("conferenceRecords", [])]

    assert names(f'space.name = "{one["name"]}"') == [one["name"]] * 2
    assert names(f'space.meeting_code = "{two["meetingCode"].upper()}"') == [two["name"]]
    assert names("end_time IS NULL") == [two["name"]]
    records = api.get("/v2/conferenceRecords").json()["conferenceRecords"]
    second_start = records[1]["startTime"]
    assert len(names(f'start_time >= "{second_start}"')) == 2
    assert names(f'start_time>="{second_start}" AND space.name="{one["name"]}"') == [one["name"]]
    assert names(f'start_time < "{second_start}" AND end_time IS NOT NULL') == [one["name"]]
    for bad in (
        "space.name = spaces/x",
        'colour = "x"',
        'space.name = "x" OR end_time IS NULL',
        'start_time >= "yesterday"',
        'space.name > "x"',
        "end_time IS",
        "AND",
    ):
        assert error(api.get("/v2/conferenceRecords", params={"filter": bad}))["status"] == "INVALID_ARGUMENT", bad


def test_running_records_as_one_person_sees_them_whoever_started_the_meeting(emu: MeetEmulator) -> None:
    """`/meet mine`'s read: `end_time IS NULL` lists the running conferences the caller may see (reference §14):
    of spaces they own, wherever they were started, and those they are in; never a stranger's."""
    alice = client(emu, ALICE, ("meetings.space.readonly",))
    from_calendar = emu.state.create_space(ALICE, client_id="calendar")
    bobs, strangers, ended = (emu.state.create_space(o, client_id="calendar") for o in (BOB, CAROL, ALICE))
    emu.state.join(from_calendar["name"], user=BOB)  # Alice owns it and isn't in it
    emu.state.join(bobs["name"], user=ALICE)  # Alice is only in it
    emu.state.join(strangers["name"], user=CAROL)
    emu.state.join(ended["name"], user=ALICE)
    emu.state.end_conference(ended["name"])

    def running() -> set[str]:
        resp = alice.get("/v2/conferenceRecords", params={"filter": "end_time IS NULL"})
        assert resp.status_code == 200, resp.text
        return {r["space"] for r in resp.json().get("conferenceRecords", [])}

    assert running() == {from_calendar["name"], bobs["name"]}
    emu.state.end_conference(from_calendar["name"])
    assert running() == {bobs["name"]}


@pytest.mark.parametrize("sees_all", [False, True])
def test_running_records_never_show_a_stranger_or_a_past_participant_who_is_not_in_it(emu: MeetEmulator,
                                                                                       sees_all: bool) -> None:
    """Under either reading of what a past participant sees (reference §3: "owner or participant"), a running
    conference of a space someone once joined is theirs to see only under the wider reading; a stranger never."""
    emu.state.configure(participant_sees_all_space_records=sees_all)
    alice, bob, carol = (client(emu, who, ("meetings.space.readonly",)) for who in (ALICE, BOB, CAROL))
    space = emu.state.create_space(ALICE)["name"]
    emu.state.join(space, user=BOB)
    emu.state.end_conference(space)
    emu.state.join(space, user=ALICE)

    def running(api: httpx.Client) -> list[str]:
        resp = api.get("/v2/conferenceRecords", params={"filter": "end_time IS NULL"})
        assert resp.status_code == 200, resp.text
        return [r["space"] for r in resp.json().get("conferenceRecords", [])]

    assert running(alice) == [space]
    assert running(bob) == ([space] if sees_all else [])
    assert running(carol) == []


@pytest.mark.parametrize("calendar_owner", ["organiser", "creator"])
def test_a_meeting_made_by_google_calendar_belongs_to_its_organiser_or_under_the_switch_its_maker(
        emu: MeetEmulator, calendar_owner: str) -> None:
    """`POST /_emulator/calendar`: the space Calendar makes for an event, as the organiser's (reference §4.2
    infers owner ≈ organiser). Made by a delegate, whose it is in the Meet API is unverified: the switch."""
    emu.state.configure(calendar_owner=calendar_owner)
    alice, carol = client(emu, ALICE, ("meetings.space.readonly",)), client(emu, CAROL, ("meetings.space.readonly",))
    own = httpx.post(emu.url + "/_emulator/calendar", json={"organiser": ALICE}, timeout=10).json()
    assert (own["owner"], own["organiser"], own["clientId"]) == (ALICE, ALICE, "calendar")
    assert own["meetingUri"] == "https://meet.google.com/" + own["meetingCode"]
    assert "config" in alice.get("/v2/" + own["name"]).json(), "the organiser owns it"
    assert emu.state.space_access(ALICE, own["name"].removeprefix("spaces/")) == "owner"

    delegated = httpx.post(emu.url + "/_emulator/calendar", json={"organiser": ALICE, "created_by": CAROL},
                           timeout=10).json()
    owner = ALICE if calendar_owner == "organiser" else CAROL
    assert (delegated["owner"], delegated["organiser"]) == (owner, ALICE)
    assert ("config" in alice.get("/v2/" + delegated["name"]).json()) == (owner == ALICE)
    assert ("config" in carol.get("/v2/" + delegated["name"]).json()) == (owner == CAROL)
    assert emu.state.space_access(ALICE, delegated["name"].removeprefix("spaces/")) == (
        "owner" if owner == ALICE else "organiser")
    assert httpx.post(emu.url + "/_emulator/calendar", json={}, timeout=10).status_code == 404


def test_record_visibility(emu: MeetEmulator) -> None:
    alice = client(emu, ALICE)
    bob = client(emu, BOB, ("meetings.space.readonly",))
    carol = client(emu, CAROL, ("meetings.space.readonly",))
    space = new_space(alice)
    emu.state.join(space["name"], user=ALICE)
    emu.state.end_conference(space["name"])
    emu.state.join(space["name"], user=BOB)
    records = alice.get("/v2/conferenceRecords").json()["conferenceRecords"]
    assert len(records) == 2
    assert [r["name"] for r in bob.get("/v2/conferenceRecords").json()["conferenceRecords"]] == [records[0]["name"]]
    assert carol.get("/v2/conferenceRecords").json() == {}
    err = error(carol.get("/v2/" + records[0]["name"]))
    assert err["code"] == 403
    assert bob.get("/v2/" + records[1]["name"]).status_code == 403
    assert bob.get("/v2/" + records[0]["name"]).status_code == 200
    assert error(alice.get("/v2/conferenceRecords/nope"))["status"] == "NOT_FOUND"
    with MeetEmulator(participant_sees_all_space_records=True, hidden_record_status=404) as other:
        a, b = client(other, ALICE), client(other, BOB, ("meetings.space.readonly",))
        space2 = new_space(a)
        run_conferences(other, space2, 1)
        other.state.join(space2["name"], user=BOB)
        assert len(b.get("/v2/conferenceRecords").json()["conferenceRecords"]) == 2
        lone = new_space(a)
        other.state.join(lone["name"], user=ALICE)
        hidden = a.get("/v2/conferenceRecords", params={"filter": f'space.name = "{lone["name"]}"'}).json()
        assert b.get("/v2/" + hidden["conferenceRecords"][0]["name"]).status_code == 404


def test_record_expiry() -> None:
    with MeetEmulator(record_ttl_seconds=60) as emu:
        api = client(emu)
        space = new_space(api)
        (name,) = run_conferences(emu, space, 1)
        assert api.get("/v2/" + name).status_code == 200
        emu.state.advance_time(61)
        api = client(emu)  # a fresh token, so only the record has aged out
        assert api.get("/v2/" + name).status_code == 404
        assert api.get("/v2/conferenceRecords").json() == {}


def test_participants(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    emu.state.join(space["name"], user=BOB)
    emu.state.join(space["name"], anonymous="Visitor")
    emu.state.join(space["name"], phone="+15551234567")
    emu.state.leave(space["name"], user=BOB)
    emu.state.join(space["name"], user=BOB)  # rejoin: same participant, present again
    emu.state.leave(space["name"], anonymous="Visitor")
    record = emu.state.space(space["name"])["activeConference"]
    people = api.get(f"/v2/{record}/participants").json()["participants"]
    assert [next(k for k in p if k.endswith("User")) for p in people] == ["phoneUser", "anonymousUser", "signedinUser"]
    phone, anon, bob = people
    assert phone["phoneUser"]["displayName"] != "+15551234567" and "*" in phone["phoneUser"]["displayName"]
    assert anon["anonymousUser"] == {"displayName": "Visitor"} and "latestEndTime" in anon
    assert bob["signedinUser"] == {"user": emu.state.user(BOB)["id"], "displayName": "Bob"}
    assert re.fullmatch(r"users/\d+", bob["signedinUser"]["user"])
    assert "latestEndTime" not in bob and "latestEndTime" not in phone
    assert bob["name"].startswith(record + "/participants/")

    present = api.get(f"/v2/{record}/participants", params={"filter": "latest_end_time IS NULL"}).json()
    assert len(present["participants"]) == 2
    page = api.get(f"/v2/{record}/participants", params={"pageSize": "2"}).json()
    assert len(page["participants"]) == 2 and "totalSize" not in page
    rest = api.get(f"/v2/{record}/participants", params={"pageSize": "2", "pageToken": page["nextPageToken"]})
    assert [p["name"] for p in rest.json()["participants"]] == [bob["name"]]
    assert "nextPageToken" not in rest.json()
    total = api.get(f"/v2/{record}/participants", params={"fields": "participants,nextPageToken,totalSize"})
    assert total.json()["totalSize"] == 3
    assert api.get(f"/v2/{record}/participants", params={"pageSize": "999"}).status_code == 200
    assert client(emu, CAROL, ("meetings.space.readonly",)).get(f"/v2/{record}/participants").status_code == 403


def test_participant_sessions(emu: MeetEmulator) -> None:
    """One session a join (reference: endTime unset while connected), newest join first, paged, filtered, closed
    when the conference ends; an unknown participant is not found, a caller who can't see the record refused."""
    api = client(emu)
    space = new_space(api)
    emu.state.join(space["name"], user=BOB)
    emu.state.advance_time(60)
    emu.state.leave(space["name"], user=BOB)
    emu.state.advance_time(30)
    emu.state.join(space["name"], user=BOB)
    emu.state.join(space["name"], phone="+15551234567")
    record = emu.state.space(space["name"])["activeConference"]
    people = api.get(f"/v2/{record}/participants").json()["participants"]
    phone, bob = people
    sessions = api.get(f"/v2/{bob['name']}/participantSessions").json()["participantSessions"]
    assert len(sessions) == 2 and all(s["name"].startswith(bob["name"] + "/participantSessions/") for s in sessions)
    second, first = sessions
    assert "endTime" in first and "endTime" not in second and first["startTime"] < second["startTime"]
    active = api.get(f"/v2/{bob['name']}/participantSessions", params={"filter": "end_time IS NULL"}).json()
    assert [s["name"] for s in active["participantSessions"]] == [second["name"]]
    page = api.get(f"/v2/{bob['name']}/participantSessions", params={"pageSize": "1"}).json()
    rest = api.get(f"/v2/{bob['name']}/participantSessions",
                   params={"pageSize": "1", "pageToken": page["nextPageToken"]}).json()
    assert [s["name"] for s in page["participantSessions"] + rest["participantSessions"]] == [second["name"],
                                                                                           first["name"]]
    emu.state.end_conference(space["name"])
    ended = api.get(f"/v2/{phone['name']}/participantSessions").json()["participantSessions"]
    assert len(ended) == 1 and "endTime" in ended[0]
    assert api.get(f"/v2/{record}/participants/nobody/participantSessions").status_code == 404
    assert client(emu, CAROL, ("meetings.space.readonly",)).get(
        f"/v2/{bob['name']}/participantSessions").status_code == 403


def test_expire_code(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    new_code = emu.state.expire_code(space["name"])
    assert new_code and new_code != space["meetingCode"]
    assert api.get("/v2/spaces/" + space["meetingCode"]).status_code == 404
    assert api.get("/v2/spaces/" + new_code).json()["name"] == space["name"]


# ------------------------------------------------------------------------------------------------ faults and controls


def test_faults_count_and_retry_after(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    emu.state.inject_fault("spaces.get", 503, count=2)
    assert [api.get("/v2/" + space["name"]).status_code for _ in range(3)] == [503, 503, 200]

    emu.state.inject_fault("spaces.create", 429, retry_after=2.5)
    resp = api.post("/v2/spaces", json={})
    err = error(resp)
    assert resp.status_code == 429 and err["status"] == "RESOURCE_EXHAUSTED"
    assert resp.headers["retry-after"] == "2.5"
    assert detail(err, "RetryInfo")["retryDelay"] == "2.5s"
    assert detail(err, "ErrorInfo")["reason"] == "RATE_LIMIT_EXCEEDED"
    assert api.post("/v2/spaces", json={}).status_code == 200

    emu.state.inject_fault("*", 500)
    assert api.get("/v2/conferenceRecords").status_code == 500
    emu.state.inject_fault("spaces.get", 502, body="<html>bad gateway</html>")
    resp = api.get("/v2/" + space["name"])
    assert resp.status_code == 502 and resp.text == "<html>bad gateway</html>"
    assert resp.headers["content-type"].startswith("text/html")


def test_delay_and_latency(emu: MeetEmulator) -> None:
    api = client(emu)
    emu.state.inject_fault("conferenceRecords.list", 0, delay=0.3)
    started = time.monotonic()
    assert api.get("/v2/conferenceRecords").status_code == 200
    assert time.monotonic() - started >= 0.3
    emu.state.inject_fault("conferenceRecords.list", 504, delay=0.1)
    assert api.get("/v2/conferenceRecords").status_code == 504
    emu.state.set_latency(0.15)
    started = time.monotonic()
    api.get("/v2/conferenceRecords")
    assert time.monotonic() - started >= 0.15
    with pytest.raises(httpx.ReadTimeout):
        emu.state.inject_fault("conferenceRecords.list", 0, delay=1.0)
        api.get("/v2/conferenceRecords", timeout=0.2)


async def test_slow_call_does_not_block_others(emu: MeetEmulator) -> None:
    token = emu.state.mint_token(ALICE, ["meetings.space.created"])
    emu.state.inject_fault("spaces.create", 0, delay=0.5)
    async with httpx.AsyncClient(base_url=emu.url, headers={"Authorization": f"Bearer {token}"}) as api:
        started = time.monotonic()
        slow = asyncio.create_task(api.post("/v2/spaces", json={}))
        await asyncio.sleep(0.05)
        fast = await api.get("/v2/conferenceRecords")
        assert fast.status_code == 200 and time.monotonic() - started < 0.4
        assert (await slow).status_code == 200


def test_calls_log(emu: MeetEmulator) -> None:
    api = client(emu)
    space = new_space(api)
    patch(api, space, {"config": {"accessType": 1}}, "config.accessType", **INT_ENUMS)
    httpx.get(emu.url + "/v2/" + space["name"])
    calls = emu.state.calls
    assert [c["route"] for c in calls] == ["spaces.create", "spaces.patch", "spaces.get"]
    create, patched, anonymous = calls
    assert create["method"] == "POST" and create["path"] == "/v2/spaces" and create["user"] == ALICE
    assert create["status"] == 200 and create["body"] == {}
    assert patched["query"] == {"updateMask": "config.accessType", "$alt": "json;enum-encoding=int"}
    assert patched["body"] == {"config": {"accessType": 1}}
    assert anonymous["user"] is None and anonymous["status"] == 401
    assert emu.state.calls_to("spaces.patch") == [patched]
    assert emu.calls_to("spaces.get") == [anonymous]  # attribute access falls through to the state


def test_http_control_routes(emu: MeetEmulator) -> None:
    ctl = httpx.Client(base_url=emu.url + "/_emulator/", timeout=10)
    token = ctl.post("tokens", json={"user": ALICE, "scopes": ["meetings.space.created"]}).json()["access_token"]
    api = httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {token}"})
    space = ctl.post("spaces", json={"owner": ALICE, "config": {"accessType": "OPEN"}}).json()
    assert space["config"]["accessType"] == "OPEN" and space["clientId"] == "meetbot"
    participant = ctl.post("join", json={"space": space["meetingCode"], "user": BOB}).json()["participant"]
    assert participant.startswith("conferenceRecords/")
    assert ctl.post("leave", json={"space": space["name"], "user": BOB}).status_code == 200
    assert ctl.post("leave", json={"space": space["name"], "user": BOB}).status_code == 400
    assert ctl.get("space", params={"space": space["name"]}).json()["activeConference"]
    ended = ctl.post("end", json={"space": space["name"]}).json()["conferenceRecord"]
    assert ended == participant.split("/participants/")[0]
    assert ctl.post("join", json={"space": "spaces/none", "user": BOB}).status_code == 404
    ctl.post("faults", json={"route": "spaces.get", "status": 429, "retry_after": 1})
    resp = api.get("/v2/" + space["name"])
    assert resp.status_code == 429 and resp.headers["retry-after"] == "1"
    ctl.post("latency", json={"seconds": 0})
    calls = ctl.get("calls").json()["calls"]
    assert [c["route"] for c in calls] == ["spaces.get"]
    assert ctl.get("calls", params={"route": "spaces.create"}).json() == {"calls": []}
    assert ctl.post("expire", json={"token": token}).status_code == 200
    assert api.get("/v2/" + space["name"]).status_code == 401
    assert ctl.post("expire_code", json={"space": space["name"]}).json()["meetingCode"]
    assert ctl.get("user", params={"email": BOB}).json()["id"].startswith("users/")
    assert ctl.post("reset").status_code == 200
    assert ctl.get("calls").json() == {"calls": []}
    assert ctl.get("space", params={"space": space["name"]}).status_code == 404
    assert ctl.get("oauth").json() == {"refresh_grants": 0, "revoked": []}


def test_state_is_thread_safe(emu: MeetEmulator) -> None:
    space = emu.state.create_space(ALICE)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                emu.state.mint_token(f"user{n}@example.com", ["meetings.space.readonly"])
                emu.state.join(space["name"], anonymous=f"guest-{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    raw = emu.state.space(space["name"])
    assert len(raw["conferenceRecords"]) == 1 and len(raw["conferenceRecords"][0]["participants"]) == 80


def test_standalone_startup() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.meet", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def minted() -> dict[str, Any] | None:
            try:
                return dict(httpx.post(
                    f"http://127.0.0.1:{port}/_emulator/tokens",
                    json={"user": ALICE, "scopes": ["meetings.space.created"]},
                ).json())
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                return None

        token = eventually(minted, "the standalone emulator to start", 15, every=0.1)
        resp = httpx.post(
            f"http://127.0.0.1:{port}/v2/spaces", json={}, headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert resp.status_code == 200 and resp.json()["name"].startswith("spaces/")
        options = httpx.post(f"http://127.0.0.1:{port}/_emulator/options", json={"non_owner_config": "partial"})
        assert options.status_code == 200 and options.json()["non_owner_config"] == "partial"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# ------------------------------------------------------------------------------------------------ OAuth


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(emu: MeetEmulator, challenge: str | None, **extra: str) -> httpx.Response:
    params = {
        "client_id": "meetbot",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "st8",
        "scope": f"{CREATED} {READONLY} openid email",
        "access_type": "offline",
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    params |= extra
    return httpx.get(emu.auth_url, params=params, follow_redirects=False)


def redirect_query(resp: httpx.Response) -> dict[str, str]:
    assert resp.status_code == 302, resp.text
    location = resp.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def exchange(emu: MeetEmulator, code: str, verifier: str | None, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "meetbot",
        "client_secret": "meetbot-secret",
        **extra,
    }
    if verifier is not None:
        form["code_verifier"] = verifier
    return httpx.post(emu.token_url, data=form)


def refresh(emu: MeetEmulator, refresh_token: str) -> httpx.Response:
    return httpx.post(
        emu.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "meetbot",
            "client_secret": "meetbot-secret",
        },
    )


def test_oauth_urls(emu: MeetEmulator) -> None:
    assert emu.auth_url == emu.url + "/o/oauth2/v2/auth"
    assert emu.token_url == emu.url + "/token"
    assert emu.revoke_url == emu.url + "/revoke"
    assert emu.userinfo_url == emu.url + "/v1/userinfo"


def test_authorization_code_with_pkce(emu: MeetEmulator) -> None:
    verifier, challenge = pkce()
    query = redirect_query(authorize(emu, challenge))
    assert query["state"] == "st8"
    assert query["scope"].split() == [CREATED, READONLY, "openid", "https://www.googleapis.com/auth/userinfo.email"]
    resp = exchange(emu, query["code"], verifier)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["access_token"].startswith("ya29.") and body["refresh_token"]
    assert set(body["scope"].split()) == set(query["scope"].split())
    claims = google_jwt.decode(body["id_token"], verify=False)
    assert claims["email"] == ALICE and claims["aud"] == "meetbot"
    certs = httpx.get(emu.url + "/oauth2/v3/certs").json()
    assert certs["keys"][0]["kid"] == "emulator"

    api = httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert emu.state.space(new_space(api)["name"])["owner"] == ALICE
    info = httpx.get(emu.userinfo_url, headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert info == {"sub": emu.state.user(ALICE)["sub"], "email": ALICE, "email_verified": True}

    reused = exchange(emu, query["code"], verifier)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_authorization_code_failures(emu: MeetEmulator) -> None:
    verifier, challenge = pkce()
    code = redirect_query(authorize(emu, challenge))["code"]
    assert exchange(emu, code, None).json()["error"] == "invalid_grant"
    assert exchange(emu, code, "wrong-verifier").json()["error"] == "invalid_grant"
    assert exchange(emu, code, verifier, redirect_uri="http://127.0.0.1:9/elsewhere").json()["error"] == (
        "redirect_uri_mismatch"
    )
    bad_secret = exchange(emu, code, verifier, client_secret="nope")
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    assert exchange(emu, code, verifier).status_code == 200  # failed attempts did not burn the code
    assert exchange(emu, "4/0unknown", verifier).json()["error"] == "invalid_grant"

    online = redirect_query(authorize(emu, challenge, access_type="online"))
    assert "refresh_token" not in exchange(emu, online["code"], verifier).json()
    assert httpx.post(emu.token_url, data={"grant_type": "password"}).json()["error"] == "unsupported_grant_type"

    assert authorize(emu, None).status_code == 400  # PKCE required by default
    assert authorize(emu, challenge, code_challenge_method="plain").status_code == 400
    assert authorize(emu, challenge, client_id="stranger").status_code == 401
    assert authorize(emu, challenge, redirect_uri="not a uri").status_code == 400
    assert authorize(emu, challenge, scope="https://www.googleapis.com/auth/gmail.everything").status_code == 400
    assert redirect_query(authorize(emu, challenge, response_type="token"))["error"] == "unsupported_response_type"


def test_basic_client_auth_and_registered_redirects(emu: MeetEmulator) -> None:
    emu.state.register_client("strict", "s3cret", redirect_uris=[REDIRECT])
    verifier, challenge = pkce()
    assert authorize(emu, challenge, client_id="strict", redirect_uri=REDIRECT + "x").status_code == 400
    code = redirect_query(authorize(emu, challenge, client_id="strict"))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    resp = httpx.post(emu.token_url, data=form, auth=("strict", "s3cret"))
    assert resp.status_code == 200, resp.text


def test_consent_controls(emu: MeetEmulator) -> None:
    verifier, challenge = pkce()
    query = redirect_query(authorize(emu, challenge, login_hint=BOB))
    assert exchange(emu, query["code"], verifier).json()["access_token"]
    assert emu.state.calls_to("oauth.token")[-1]["user"] == BOB

    emu.state.set_consent(CAROL, granted_scopes=["meetings.space.created", "openid"])
    query = redirect_query(authorize(emu, challenge, login_hint=BOB))
    assert query["scope"].split() == [CREATED, "openid"]
    token = exchange(emu, query["code"], verifier).json()
    assert token["scope"].split() == [CREATED, "openid"]
    info = httpx.get(emu.userinfo_url, headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert info == {"sub": emu.state.user(CAROL)["sub"]}  # no email scope, no email

    emu.state.set_consent(CAROL, deny=True)
    denied = redirect_query(authorize(emu, challenge))
    assert denied == {"error": "access_denied", "state": "st8"}


def test_incremental_consent(emu: MeetEmulator) -> None:
    _, challenge = pkce()
    redirect_query(authorize(emu, challenge, scope=CREATED))
    query = redirect_query(authorize(emu, challenge, scope="openid", include_granted_scopes="true"))
    assert set(query["scope"].split()) == {CREATED, "openid"}


def test_refresh_and_revoke(emu: MeetEmulator) -> None:
    verifier, challenge = pkce()
    first = exchange(emu, redirect_query(authorize(emu, challenge))["code"], verifier).json()
    renewed = refresh(emu, first["refresh_token"])
    assert renewed.status_code == 200
    body = renewed.json()
    assert "refresh_token" not in body and body["access_token"] != first["access_token"]
    assert body["scope"] == first["scope"] and body["expires_in"] == 3599
    assert emu.state.refresh_grants == 1
    wrong_client = httpx.post(
        emu.token_url,
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": "meetbot", "client_secret": "bad"},
    )
    assert wrong_client.status_code == 401

    assert httpx.post(emu.revoke_url, data={"token": first["refresh_token"]}).status_code == 200
    assert emu.state.revoked[0] == first["refresh_token"]
    assert set(emu.state.revoked) >= {first["access_token"], body["access_token"]}
    dead = refresh(emu, first["refresh_token"])
    assert dead.status_code == 400
    assert dead.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    resp = httpx.get(emu.url + "/v2/conferenceRecords", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert resp.status_code == 401
    assert emu.state.refresh_grants == 1

    again = httpx.post(emu.revoke_url, params={"token": first["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"
    assert httpx.post(emu.revoke_url, params={"token": "nope"}).json()["error"] == "invalid_token"
    assert refresh(emu, "1//unknown").json()["error"] == "invalid_grant"


def test_revoking_an_access_token_kills_its_refresh_token(emu: MeetEmulator) -> None:
    verifier, challenge = pkce()
    grant = exchange(emu, redirect_query(authorize(emu, challenge))["code"], verifier).json()
    assert httpx.post(emu.revoke_url, params={"token": grant["access_token"]}).status_code == 200
    assert refresh(emu, grant["refresh_token"]).status_code == 400
    minted = emu.state.mint_token(ALICE, ["meetings.space.created"])
    assert httpx.post(emu.revoke_url, data={"token": minted}).status_code == 200
    assert httpx.get(emu.url + "/v2/conferenceRecords", params={"access_token": minted}).status_code == 401


async def test_concurrent_refreshes_are_counted(emu: MeetEmulator) -> None:
    verifier, challenge = pkce()
    grant = exchange(emu, redirect_query(authorize(emu, challenge))["code"], verifier).json()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": grant["refresh_token"],
        "client_id": "meetbot",
        "client_secret": "meetbot-secret",
    }
    async with httpx.AsyncClient() as http:
        results = await asyncio.gather(*(http.post(emu.token_url, data=form) for _ in range(10)))
    assert {r.status_code for r in results} == {200}
    assert len({r.json()["access_token"] for r in results}) == 10
    assert emu.state.refresh_grants == 10
    assert len(emu.state.calls_to("oauth.token")) == 11


def test_userinfo_errors(emu: MeetEmulator) -> None:
    assert httpx.get(emu.userinfo_url).status_code == 401
    meet_only = emu.state.mint_token(ALICE, ["meetings.space.created"])
    resp = httpx.get(emu.userinfo_url, headers={"Authorization": f"Bearer {meet_only}"})
    assert resp.status_code == 403 and resp.json()["error"] == "insufficient_scope"
    email = emu.state.mint_token(BOB, ["email"])
    assert httpx.get(emu.userinfo_url, headers={"Authorization": f"Bearer {email}"}).json()["email"] == BOB


def test_oauth_faults(emu: MeetEmulator) -> None:
    emu.state.inject_fault("oauth.token", 503, retry_after=1)
    resp = httpx.post(emu.token_url, data={"grant_type": "refresh_token"})
    assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
    assert resp.json()["error"] == "temporarily_unavailable"
    emu.state.inject_fault("oauth.*", 500)
    assert httpx.get(emu.userinfo_url).status_code == 500
    emu.state.inject_fault("*", 500)  # "*" means every Meet route, not OAuth
    assert httpx.get(emu.userinfo_url).status_code == 401


# ------------------------------------------------------------------------------------------------ jwt-bearer


@pytest.fixture(scope="module")
def rsa_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


SA = "meetbot@meetbot-project.iam.gserviceaccount.com"


def sa_assertion(emu: MeetEmulator, private_pem: str, subject: str, **overrides: Any) -> str:
    signer = crypt.RSASigner.from_string(private_pem, key_id="k1")
    creds = service_account.Credentials(signer, SA, token_uri=emu.token_url, scopes=[CREATED, READONLY])
    creds = creds.with_subject(subject)
    assertion = creds._make_authorization_grant_assertion()
    if not overrides:
        return assertion.decode() if isinstance(assertion, bytes) else assertion
    claims = google_jwt.decode(assertion, verify=False)
    claims.update(overrides)
    encoded: bytes = google_jwt.encode(signer, claims)
    return encoded.decode()


def jwt_grant(emu: MeetEmulator, assertion: str) -> httpx.Response:
    return httpx.post(
        emu.token_url, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    )


def test_jwt_bearer_grant(emu: MeetEmulator, rsa_key: tuple[str, str]) -> None:
    private, public = rsa_key
    emu.state.register_service_account(SA, public, domain="example.com")
    resp = jwt_grant(emu, sa_assertion(emu, private, BOB))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and "refresh_token" not in body
    assert body["scope"].split() == [CREATED, READONLY]
    api = httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {body['access_token']}"})
    space = new_space(api)
    assert emu.state.space(space["name"])["owner"] == BOB
    assert emu.state.space(space["name"])["clientId"] == SA

    outsider = jwt_grant(emu, sa_assertion(emu, private, "eve@elsewhere.org"))
    assert outsider.status_code == 401 and outsider.json()["error"] == "unauthorized_client"
    now = int(time.time())
    expired = jwt_grant(emu, sa_assertion(emu, private, BOB, iat=now - 7200, exp=now - 3600))
    assert expired.json()["error"] == "invalid_grant"
    wrong_aud = jwt_grant(emu, sa_assertion(emu, private, BOB, aud="https://example.com/token"))
    assert wrong_aud.json()["error"] == "invalid_grant"
    google_aud = jwt_grant(emu, sa_assertion(emu, private, BOB, aud="https://oauth2.googleapis.com/token"))
    assert google_aud.status_code == 200
    other_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    forged = jwt_grant(emu, sa_assertion(emu, other_key, BOB))
    assert forged.json() == {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    assert jwt_grant(emu, "not.a.jwt").json()["error"] == "invalid_grant"


def test_jwt_bearer_through_google_auth_transport(emu: MeetEmulator, rsa_key: tuple[str, str]) -> None:
    requests_transport = pytest.importorskip("google.auth.transport.requests")
    private, public = rsa_key
    emu.state.register_service_account(SA, public)
    creds = service_account.Credentials.from_service_account_info(
        {
            "type": "service_account",
            "client_email": SA,
            "private_key": private,
            "private_key_id": "k1",
            "token_uri": emu.token_url,
            "project_id": "meetbot-project",
        },
        scopes=[CREATED],
    ).with_subject(ALICE)
    creds.refresh(requests_transport.Request())
    assert creds.token and creds.valid
    resp = httpx.get(emu.url + "/v2/conferenceRecords", headers={"Authorization": f"Bearer {creds.token}"})
    assert resp.status_code == 200
    assert json.loads(json.dumps(emu.state.calls_to("oauth.token")[-1]["body"]))["grant_type"].endswith("jwt-bearer")
