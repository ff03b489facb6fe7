"""The Meet emulator's spaces.members resource: list, get, create, patch and delete, the owner-only rule and
the unverified limits and refusals (switchable). See /work/shared/reference/meet-api.md §2.3, §13."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from emulators.google_api import (
    ApiError,
    error_info,
    invalid_argument,
    list_body,
    paginate,
    parse_page_size,
    query_digest,
    to_camel,
)
from emulators.meet_models import (
    ACCESS_TYPE,
    MEMBER,
    Caller,
    MeetStateParts,
    Member,
    Space,
    emit_message,
    parse_message,
)

__all__ = ["MEMBER_LIMIT_ERRORS", "REFUSED_EMAIL_ERRORS", "MembersApi"]

# guess (unverified, §13): the shape of two refusals of spaces.members.create. The bot must cope with each.
MEMBER_LIMIT_ERRORS = ("failed_precondition", "resource_exhausted")  # 400 FAILED_PRECONDITION or 429
REFUSED_EMAIL_ERRORS = ("invalid_argument", "permission_denied")  # 400 INVALID_ARGUMENT or 403


class MembersApi(MeetStateParts):
    """Mixed into MeetState (meet.py), whose state and lock it uses."""

    # -- spaces.members (§2.3, §3, §13) ----------------------------------------------------------------------------

    def members(self, space: str) -> list[dict[str, Any]]:
        """A space's members for assertions: {name, email, role (enum name), user}, oldest first."""
        with self._lock:
            found = self._space_or_raise(space)
            return [self._member_json(found, m, enum_ints=False) for m in self._sorted_members(found)]

    def admission(self, participant: str) -> str | None:
        """How a participant's latest join went: "admitted" (no knock) or "knocked" (waited for a host)."""
        with self._lock:
            return self._admissions.get(participant)

    def _admission(self, space: Space, kind: str, key: str) -> str:
        """Members and the owner join without knocking; everyone else as the access type says (§2.2). Knocking
        people are still let in (as a host admitting them would): only the record differs."""
        if kind == "signedin" and (key == space.owner or self._member_by_email(space, key) is not None):
            return "admitted"
        access = ACCESS_TYPE.names[space.config["accessType"]]
        if access == "OPEN":
            return "admitted"
        same_org = kind == "signedin" and key.rpartition("@")[2] == space.owner.rpartition("@")[2]
        if access == "TRUSTED" and (same_org or kind == "phone"):
            return "admitted"
        return "knocked"

    def _member_by_email(self, space: Space, email: str) -> Member | None:
        wanted = email.strip().lower()
        return next((m for m in self._members.get(space.id, {}).values() if m.email.lower() == wanted), None)

    def _sorted_members(self, space: Space) -> list[Member]:
        return sorted(self._members.get(space.id, {}).values(), key=lambda m: m.seq)

    def _member_json(self, space: Space, member: Member, enum_ints: bool) -> dict[str, Any]:
        data = {"name": f"spaces/{space.id}/members/{member.id}", "email": member.email, "role": member.role,
                "user": member.user_id or ""}
        return emit_message(MEMBER, data, enum_ints)

    def api_members(self, caller: Caller, route: str, ident: str, body: Any, query: Mapping[str, str]
                    ) -> dict[str, Any]:
        space_ref, _, member_id = ident.partition("/")
        verb = route.rpartition(".")[2]
        with self._lock:
            if verb in ("create", "patch", "delete"):
                space = self._owned_space(caller, space_ref)  # only the owner changes members (§4.2)
            else:
                space = self._visible_space(caller, space_ref)
                if self.member_reads == "owner" and space.owner != caller.user:
                    # unverified: whether non-owners may read a space's members
                    raise ApiError(self.non_owner_status, "The caller does not have permission")
            if verb == "create":
                return self._create_member(caller, space, body)
            if verb == "list":
                size = parse_page_size(query.get("pageSize"), 250, 500)
                digest = query_digest("members", space.id, caller.user)
                page, token = paginate(self._sorted_members(space), _member_order, size, query.get("pageToken"),
                                       digest)
                return list_body("members", [self._member_json(space, m, caller.enum_ints) for m in page], token)
            member = self._members.get(space.id, {}).get(member_id)
            if member is None:
                raise ApiError(404)
            if verb == "delete":
                del self._members[space.id][member_id]
                return {}
            if verb == "patch":
                self._patch_member(member, body, query.get("updateMask"))
            return self._member_json(space, member, caller.enum_ints)

    def _create_member(self, caller: Caller, space: Space, body: Any) -> dict[str, Any]:
        parsed = parse_message(MEMBER, body, "member")
        email = parsed.get("email", "").strip()
        if parsed.get("user") and email:
            raise invalid_argument("Only one of member.email and member.user may be set.", "member")
        if not email:
            raise invalid_argument("member.email is required.", "member.email")
        if "@" not in email:
            raise invalid_argument(f"Invalid email address: {email}", "member.email")
        if any(fnmatch.fnmatchcase(email.lower(), p.lower()) for p in self.refused_member_emails):
            # unverified (a guess): how Google refuses an email it won't make a member (external, unknown)
            if self.refused_email_error == "permission_denied":
                # guess: the same words as a non-owner's refusal, so only the context tells them apart
                raise ApiError(403, "The caller does not have permission", code_name="PERMISSION_DENIED")
            raise invalid_argument(f"The email {email} can't be added as a member of this meeting space.",
                                   "member.email")
        if self._member_by_email(space, email) is not None:
            raise ApiError(409, "Member already exists in this meeting space.", code_name="ALREADY_EXISTS")
        taken = self._members.setdefault(space.id, {})
        if self.member_limit and len(taken) >= self.member_limit:
            # unverified (a guess): the limit is undocumented; FAILED_PRECONDITION is how Google answers most
            # "this resource is full" cases, with an ErrorInfo reason naming it.
            # guess too: or 429 RESOURCE_EXHAUSTED (a quota-like "no more room"), with the same ErrorInfo.
            status, name = (429, "RESOURCE_EXHAUSTED") if self.member_limit_error == "resource_exhausted" else (
                400, "FAILED_PRECONDITION")
            raise ApiError(
                status,
                "The meeting space has reached its maximum number of members.",
                code_name=name,
                details=[error_info("MEMBER_LIMIT_EXCEEDED", {"limit": str(self.member_limit)}, "meet.googleapis.com")],
            )
        known = self._users.get(email.lower())
        seq = max((m.seq for m in taken.values()), default=0) + 1
        member = Member(self._new_id(taken), email, parsed.get("role", 0), known.id if known else None,
                        seq)
        taken[member.id] = member
        return self._member_json(space, member, caller.enum_ints)

    def _patch_member(self, member: Member, body: Any, raw_mask: str | None) -> None:
        parsed = parse_message(MEMBER, body, "member")
        paths = [to_camel(p.strip()) for p in (raw_mask or "").split(",") if p.strip()] or ["role"]
        for path in paths:
            if path not in ("role", "*"):
                raise invalid_argument(f'Invalid update_mask provided: "{path}" can\'t be updated.', "update_mask")
        member.role = parsed.get("role", 0)


def _member_order(member: Member) -> tuple[str, str]:
    """`paginate` sorts descending: invert the sequence so members come oldest first."""
    return (f"{10**12 - member.seq:013d}", member.id)
