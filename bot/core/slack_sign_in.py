""""Sign in with Slack" (OAuth v2, user scopes only): a person's own Slack user token, for presence.

`start` hands out a single-use ticket bound to the Slack user who asked (the link in their private reply). Opening
it (`open`) spends the ticket and starts one OAuth trip with a fresh single-use state, which the browser also keeps
in a cookie, so only that browser can finish it. `complete` spends the state, exchanges Slack's code, and keeps the
token only if Slack says it belongs to the very person (and workspace) who asked: a forwarded link signs in nobody
else. A token meetbot won't keep is revoked at once.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.core.errors import StorageUnavailable
from bot.domain import PendingSignIn, SlackStatus, SlackUserGrant, Tenant

__all__ = ["SignInOutcome", "SignInReason", "SlackSignIn", "SlackTokenDead", "SlackUserApi", "SlackUserUnavailable"]

log = logging.getLogger(__name__)

TICKET, STATE = "ticket", "state"
SignInReason = Literal[
    "signed_in", "bad_state", "denied", "missing_code", "exchange_failed", "other_user", "missing_scope",
    "unavailable",
]


class SlackTokenDead(Exception):
    """Slack refused a user token: revoked, signed out, or the account was deactivated."""


class SlackUserUnavailable(Exception):
    """Slack didn't answer (or answered with an error that says nothing about the token)."""


class SlackUserApi(Protocol):
    """Slack's OAuth and user-token methods, as core needs them (bot/slack/user_api.py implements it)."""

    def authorize_url(self, state: str) -> str: ...

    async def exchange(self, code: str) -> SlackUserGrant: ...

    async def revoke(self, token: str) -> bool: ...

    async def status(self, token: str) -> SlackStatus: ...

    async def set_status(self, token: str, status: SlackStatus) -> None: ...

    async def snoozed_until(self, token: str) -> int | None:
        """When the person's DND snooze ends (`dnd.info`), or None if they aren't snoozed."""
        ...

    async def snooze(self, token: str, minutes: int) -> int:
        """Snooze their notifications (`dnd.setSnooze`); when Slack says the snooze ends."""
        ...

    async def end_snooze(self, token: str) -> None: ...


class SignIns(Protocol):
    async def issue(self, kind: str, pending: PendingSignIn) -> str: ...

    async def take(self, kind: str, value: str) -> PendingSignIn | None: ...


class UserTokens(Protocol):
    async def save(self, tenant: Tenant, grant: SlackUserGrant) -> None: ...

    async def get(self, tenant: Tenant, user_id: str) -> SlackUserGrant | None: ...

    async def delete(self, tenant: Tenant, user_id: str) -> bool: ...

    async def revoking(self, tenant: Tenant, user_id: str) -> None: ...

    async def revoked_by_us(self, tenant: Tenant, user_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class SignInOutcome:
    reason: SignInReason
    pending: PendingSignIn | None = None  # who asked (None when the state was bad)

    @property
    def ok(self) -> bool:
        return self.reason == "signed_in"


class SlackSignIn:
    def __init__(self, api: SlackUserApi, sign_ins: SignIns, tokens: UserTokens, required_scopes: Sequence[str],
                 clock: Callable[[], float] = time.time) -> None:
        self._api = api
        self._sign_ins = sign_ins
        self._tokens = tokens
        self._required = tuple(required_scopes)
        self._clock = clock

    async def start(self, tenant: Tenant, user_id: str, response_url: str | None) -> str:
        """A single-use ticket for this person's sign-in link (10 minutes)."""
        return await self._sign_ins.issue(TICKET, PendingSignIn(tenant, user_id, response_url, self._clock()))

    async def open(self, ticket: str) -> tuple[str, str] | None:
        """The link was opened: (state for the browser's cookie, Slack's consent URL), or None if spent/expired."""
        pending = await self._sign_ins.take(TICKET, ticket)
        if pending is None:
            return None
        state = await self._sign_ins.issue(STATE, pending)
        return state, self._api.authorize_url(state)

    async def complete(self, state: str | None, browser_state: str | None, code: str | None, error: str | None
                       ) -> SignInOutcome:
        """Slack's redirect. The person comes from the state alone; the token is kept only if it is theirs."""
        if not state or not browser_state or not hmac.compare_digest(state.encode(), browser_state.encode()):
            return SignInOutcome("bad_state")  # not the browser that opened the link
        try:
            pending = await self._sign_ins.take(STATE, state)
        except StorageUnavailable:
            return SignInOutcome("unavailable")
        if pending is None:
            return SignInOutcome("bad_state")
        if error:
            return SignInOutcome("denied" if error == "access_denied" else "exchange_failed", pending)
        if not code:
            return SignInOutcome("missing_code", pending)
        try:
            grant = await self._api.exchange(code)
        except SlackUserUnavailable:
            return SignInOutcome("unavailable", pending)
        except SlackTokenDead:
            return SignInOutcome("exchange_failed", pending)
        if grant.user_id != pending.user_id or grant.team_id != pending.tenant.team_id:
            await self._give_back(grant.token)
            log.info("a Slack sign-in for %s user %s was finished by someone else; refused", pending.tenant.tag,
                     pending.user_id)
            return SignInOutcome("other_user", pending)
        if any(scope not in grant.scopes for scope in self._required):
            await self._give_back(grant.token)
            return SignInOutcome("missing_scope", pending)
        replaced = await self._tokens.get(pending.tenant, pending.user_id)
        try:
            await self._tokens.save(pending.tenant, grant)
        except StorageUnavailable:
            await self._give_back(grant.token)
            return SignInOutcome("unavailable", pending)
        if replaced is not None and replaced.token != grant.token:
            # A second sign-in leaves one live token, not two. Slack reports that revocation as the person's
            # `tokens_revoked`: marked as meetbot's own, so the echo doesn't forget the new token.
            await self._tokens.revoking(pending.tenant, pending.user_id)
            await self._give_back(replaced.token)
        log.info("Slack sign-in kept for %s user %s", pending.tenant.tag, pending.user_id)
        return SignInOutcome("signed_in", pending)

    async def token(self, tenant: Tenant, user_id: str) -> SlackUserGrant | None:
        return await self._tokens.get(tenant, user_id)

    async def sign_out(self, tenant: Tenant, user_id: str) -> bool:
        """Revoke the person's token at Slack (where it still works) and forget it. True if there was one."""
        grant = await self._tokens.get(tenant, user_id)
        if grant is not None:
            await self._tokens.revoking(tenant, user_id)  # Slack tells the app of every revocation, ours too
            await self._give_back(grant.token)
        return await self._tokens.delete(tenant, user_id) or grant is not None

    async def revoked_by_us(self, tenant: Tenant, user_id: str) -> bool:
        """A `tokens_revoked` for this person is the echo of meetbot's own sign-out (not them leaving)."""
        return await self._tokens.revoked_by_us(tenant, user_id)

    async def forget(self, tenant: Tenant, user_id: str) -> bool:
        """Slack revoked the token already: forget it without calling Slack."""
        return await self._tokens.delete(tenant, user_id)

    async def _give_back(self, token: str) -> bool:
        try:
            return await self._api.revoke(token)
        except (SlackTokenDead, SlackUserUnavailable):
            return False
