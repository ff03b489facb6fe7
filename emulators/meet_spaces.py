"""The Meet emulator's spaces resource: spaces.create, get, patch and endActiveConference with the role table,
the create quotas, and the test controls that make and show spaces. See /work/shared/reference/meet-api.md §2-§4."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from emulators.google_api import (
    ApiError,
    error_info,
    invalid_argument,
    retry_info,
)
from emulators.meet_models import (
    SPACE,
    SPACE_CONFIG,
    Caller,
    MeetStateParts,
    Record,
    Space,
    apply_update,
    config_from_input,
    emit_message,
    parse_message,
    parse_update_mask,
)

__all__ = ["MEET_URI", "NON_OWNER_PARTIAL_FIELDS", "SpacesApi"]

MEET_URI = "https://meet.google.com/"
# "partial": the SpaceConfig fields a joiner could infer from the join experience; the rest is omitted.
NON_OWNER_PARTIAL_FIELDS = ("accessType", "entryPointAccess")


class SpacesApi(MeetStateParts):
    """Mixed into MeetState (meet.py), whose state and lock it uses."""

    # -- test controls: spaces ----------------------------------------------------------------------------------

    def create_space(
        self, owner: str, client_id: str = "meetbot", config: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A space owned by `owner` as if `client_id` created it (another app, or meet.google.com)."""
        try:
            body_config = parse_message(SPACE_CONFIG, dict(config or {}), "config")
            with self._lock:
                space = self._create(self._user(owner).email, client_id, body_config)
                return self._raw(space)
        except ApiError as exc:
            raise ValueError(exc.message) from None

    def calendar_meeting(
        self, organiser: str, created_by: str | None = None, config: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A meeting as Google Calendar makes one for an event: a space Calendar creates (client "calendar") on the
        organiser's behalf, its meetingUri like any other; nobody has joined yet. `created_by`: a delegate who made
        the event on the organiser's calendar (whose space it then is: the `calendar_owner` option)."""
        try:
            body_config = parse_message(SPACE_CONFIG, dict(config or {}), "config")
            with self._lock:
                organiser_email = self._user(organiser).email
                maker = self._user(created_by).email if created_by else organiser_email
                owner = organiser_email if self.calendar_owner == "organiser" else maker
                space = self._create(owner, "calendar", body_config)
                space.organiser = organiser_email
                return self._raw(space)
        except ApiError as exc:
            raise ValueError(exc.message) from None

    def _create(self, owner: str, client_id: str, body_config: Mapping[str, Any]) -> Space:
        space = Space(
            id=self._new_id(self._spaces),
            code=self._new_code(),
            owner=owner,
            client_id=client_id,
            config=config_from_input(self.defaults, body_config),
        )
        self._spaces[space.id] = space
        assert space.code is not None
        self._code_index[space.code] = space.id
        return space

    def space(self, name_or_code: str) -> dict[str, Any]:
        """Raw state of a space for assertions (config with enum names, owner, client, records)."""
        with self._lock:
            return self._raw(self._space_or_raise(name_or_code))

    def spaces(self) -> list[dict[str, Any]]:
        """Every space, oldest first, as `space` shows it (for the sandbox's Meet panel)."""
        with self._lock:
            return [self._raw(space) for space in self._spaces.values()]

    def _raw(self, space: Space) -> dict[str, Any]:
        return {
            "name": f"spaces/{space.id}",
            "meetingCode": space.code,
            "meetingUri": MEET_URI + space.code if space.code else None,
            "owner": space.owner,
            "organiser": space.organiser,
            "clientId": space.client_id,
            "config": emit_message(SPACE_CONFIG, space.config, enum_ints=False),
            "activeConference": f"conferenceRecords/{space.active}" if space.active else None,
            "conferenceRecords": [self._raw_record(self._records[r]) for r in space.records],
        }

    def _raw_record(self, record: Record) -> dict[str, Any]:
        return {
            **self._record_json(record),
            "participants": [self._participant_json(record, p) for p in record.participants.values()],
        }

    def expire_code(self, space: str) -> str | None:
        """The space's meeting code stops resolving (code expiry). Returns the space's new code, if any."""
        with self._lock:
            found = self._space_or_raise(space)
            if found.code:
                del self._code_index[found.code]
            found.code = self._new_code() if self.reassign_code_on_expiry else None
            if found.code:
                self._code_index[found.code] = found.id
            return found.code

    def _visible_space(self, caller: Caller, ref: str, *, write: bool = False) -> Space:
        space = self._spaces.get(ref)
        if space is None:
            aliased = self._resolve(ref)
            if aliased is not None and write:
                # unverified: patch/end accept only spaces/{id}; the status for a code alias is undocumented.
                raise ApiError(
                    self.alias_write_status,
                    "Meeting code aliases are not supported by this method; use spaces/{space}.",
                    details=[
                        {
                            "@type": "type.googleapis.com/google.rpc.BadRequest",
                            "fieldViolations": [
                                {"field": "name", "description": "Expected spaces/{space}, got a meeting code."}
                            ],
                        }
                    ]
                    if self.alias_write_status == 400
                    else [],
                )
            space = aliased
        if space is None and caller.created_only and self.unknown_created_only_status != 404:
            raise ApiError(
                self.unknown_created_only_status, "Permission denied on resource MeetingSpace (or it might not exist)"
            )
        if space is None:
            raise ApiError(404)
        if caller.created_only and space.client_id != caller.client_id:
            # unverified: reported by third parties for spaces made at meet.google.com or by another project.
            raise ApiError(
                self.foreign_app_status, "Permission denied on resource MeetingSpace (or it might not exist)"
            )
        return space

    def _role(self, caller: Caller, space: Space) -> str:
        if space.owner == caller.user:
            return "owner"
        if space.active and ("signedin", caller.user) in self._records[space.active].participants:
            return "participant"
        return "other"

    def _space_json(self, space: Space, role: str, enum_ints: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"name": f"spaces/{space.id}"}
        if space.code:
            out.update(meetingUri=MEET_URI + space.code, meetingCode=space.code)
        if role == "owner" or self.non_owner_config == "full":
            out["config"] = emit_message(SPACE_CONFIG, space.config, enum_ints)
        elif self.non_owner_config == "empty":
            # unverified (§12): the config message present but with nothing in it.
            out["config"] = {}
        elif self.non_owner_config == "partial":
            # unverified (§12): only what a joiner could infer; enums follow the caller's encoding like the rest.
            shown = {k: v for k, v in space.config.items() if k in NON_OWNER_PARTIAL_FIELDS}
            out["config"] = emit_message(SPACE_CONFIG, shown, enum_ints)
        # "absent" (unverified, §12): no `config` key at all
        if role in ("owner", "participant") and space.active:
            out["activeConference"] = {"conferenceRecord": f"conferenceRecords/{space.active}"}
        return out

    def api_create(self, caller: Caller, body: Any) -> dict[str, Any]:
        parsed = parse_message(SPACE, body, "space")
        with self._lock:
            self._admit_create(caller.user)
            space = self._create(caller.user, caller.client_id, parsed.get("config", {}))
            return self._space_json(space, "owner", caller.enum_ints)

    def _admit_create(self, user: str) -> None:
        """The per-minute spaces.create quotas: 429 RESOURCE_EXHAUSTED with RetryInfo past either limit."""
        now = self.now()
        self._creates = [(t, u) for t, u in self._creates if t > now - 60]
        mine = [t for t, u in self._creates if u == user]
        for limit, taken, metric in ((self.create_quota_per_project, [t for t, _ in self._creates], "per project"),
                                     (self.create_quota_per_user, mine, "per user")):
            if limit and len(taken) >= limit:
                wait = max(taken[-limit] + 60 - now, 0.001)
                raise ApiError(
                    429,
                    f"Quota exceeded for quota metric 'Reduced write requests' and limit 'Reduced write requests "
                    f"per minute {metric}' of service 'meet.googleapis.com'.",
                    details=[error_info("RATE_LIMIT_EXCEEDED", {"service": "meet.googleapis.com"}),
                             retry_info(round(wait, 3))],
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
        self._creates.append((now, user))

    def api_get(self, caller: Caller, ref: str) -> dict[str, Any]:
        with self._lock:
            space = self._visible_space(caller, ref)
            return self._space_json(space, self._role(caller, space), caller.enum_ints)

    def _owned_space(self, caller: Caller, ref: str) -> Space:
        space = self._visible_space(caller, ref, write=True)
        if space.owner != caller.user:
            # unverified: non-owner status is undocumented (403 expected, some report 404).
            raise ApiError(self.non_owner_status, "The caller does not have permission")
        return space

    def api_patch(self, caller: Caller, ref: str, body: Any, raw_mask: str | None) -> dict[str, Any]:
        parsed = parse_message(SPACE, body, "space")
        mask = parse_update_mask(raw_mask)
        if mask is not None and mask != [("*",)]:
            output_only = [p for p in mask if p[0] in SPACE.output_only]
            if output_only and self.output_only_mask_paths == "reject":
                # unverified: how Meet treats output-only paths in the mask (§12).
                path = ".".join(output_only[0])
                raise invalid_argument(f'Invalid update_mask: "{path}" is output only.', "update_mask")
        with self._lock:
            space = self._owned_space(caller, ref)
            space.config = apply_update(space.config, parsed, mask, self.defaults)
            return self._space_json(space, "owner", caller.enum_ints)

    def api_end(self, caller: Caller, ref: str, body: Any) -> dict[str, Any]:
        unknown = sorted(set(body) - {"name"}) if isinstance(body, dict) else [json.dumps(body)]
        if unknown:  # EndActiveConferenceRequest has no body fields; `name` is bound to the path
            message = f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.'
            raise invalid_argument(message, "")
        with self._lock:
            space = self._owned_space(caller, ref)
            if space.active is None:
                if self.end_without_conference_status in (0, 200):
                    return {}
                # unverified: one third-party report of 400 FAILED_PRECONDITION; the message is unknown.
                status = self.end_without_conference_status
                raise ApiError(
                    status,
                    "There is no active conference in this meeting space.",
                    code_name="FAILED_PRECONDITION" if status == 400 else None,
                )
            self._end(space)
            return {}
