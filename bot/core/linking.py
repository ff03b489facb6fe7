"""Account linking: who a Slack user is at Google, from the consent round trip to disconnect.

Its own module because linking is a conversation with the person (a consent page, an email check, a confirmation,
a disconnect), while handing out their access token on every Meet call is core/credentials.py's job. Linking makes
and removes the link; credentials keeps its access token fresh. Under domain-wide delegation there is nothing to
link: meetbot acts as the user's Slack email.

Per-user OAuth: `start_link` → Google's consent page → `complete_link` stores an encrypted link (or, where other
emails are allowed, holds it for `confirm_link`). `disconnect` and `forget` revoke the grant at Google and delete it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.config import MEET_SCOPE_PREFIX
from bot.core.credentials import MISCONFIGURED
from bot.core.errors import DelegationInUse, ServiceUnavailable, StorageUnavailable
from bot.core.ports import EmailLookup, HeldLinks, LinkMemory, SignInStates
from bot.domain import GoogleLink, HeldLink, PendingLink, Tenant
from bot.google import errors as google
from bot.google.oauth import GoogleOAuth, TokenGrant
from bot.google.pkce import make_verifier, s256_challenge

__all__ = ["DisconnectOutcome", "LinkOutcome", "LinkReason", "Linking"]

log = logging.getLogger(__name__)

LinkReason = Literal[
    "linked", "denied", "bad_state", "missing_code", "exchange_failed", "no_refresh_token", "missing_scope",
    "unavailable",
    "email_mismatch",  # the Google account's verified email isn't the Slack user's: nothing linked
    "no_slack_email",  # the Slack profile has no email to compare with: nothing linked
    "confirm",  # other emails are allowed: the consenter must confirm who gets the account (`confirm_id`)
    "declined",  # the consenter cancelled on the confirmation page
    "other_member",  # other emails are allowed, but this one is another workspace member's Slack email
]

MEET_SCOPES_PREFIX = MEET_SCOPE_PREFIX + "meetings."


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    ok: bool
    reason: LinkReason
    pending: PendingLink | None = None  # who asked and where to answer; None when the state was bad
    email: str | None = None  # the Google account, once known
    scopes: tuple[str, ...] = ()  # what the user granted, once known
    confirm_id: str | None = None  # with reason "confirm": the single-use id the confirmation page posts back
    slack_email: str | None = None  # with "email_mismatch": the address the Google account had to have


@dataclass(frozen=True, slots=True)
class DisconnectOutcome:
    was_linked: bool
    revoked: bool  # Google confirmed the token no longer works


def _callback_error(error: str) -> LinkReason:
    """Google's `error` on the redirect: the user said no, Google is down, or (anything else) the request was bad."""
    if error == "access_denied":
        return "denied"
    if error in ("server_error", "temporarily_unavailable"):
        return "unavailable"
    return "exchange_failed"


class Linking:
    def __init__(
        self,
        links: LinkMemory,
        states: SignInStates,
        oauth: GoogleOAuth | None,
        delegated_scopes: Sequence[str] | None,
        email_lookup: EmailLookup | None,
        required_scopes: Sequence[str],
        *,
        drop_cached: Callable[[Tenant, str], Awaitable[object]],
        confirmations: HeldLinks | None = None,
        allow_other_emails: bool = False,
        email_owner: EmailLookup | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`delegated_scopes`: None for per-user OAuth, the delegated scopes under domain-wide delegation.
        `drop_cached`: run once a link is deleted, to drop what credentials cached for the person
        (Credentials.drop_cached)."""
        self._links = links
        self._states = states
        self._oauth = oauth
        self._delegated_scopes = tuple(delegated_scopes) if delegated_scopes is not None else None
        self._email_lookup = email_lookup
        self._drop_cached = drop_cached
        self._required = tuple(required_scopes)
        self._confirmations = confirmations
        self._allow_other_emails = allow_other_emails and confirmations is not None and email_owner is not None
        self._email_owner = email_owner
        self._clock = clock
        self._on_unlinked: list[Callable[[Tenant, str], Awaitable[object]]] = []

    def when_unlinked(self, hook: Callable[[Tenant, str], Awaitable[object]]) -> None:
        """Run `hook` when a person's Google link goes (disconnect, or Slack revoking them), just before their grant
        is revoked: what was kept for them because of the link (their `/meet mine` following) goes with it."""
        self._on_unlinked.append(hook)

    @property
    def uses_delegation(self) -> bool:
        """Domain-wide delegation: nobody links, meetbot acts as each user's Slack email."""
        return self._delegated_scopes is not None

    async def start_link(
        self,
        tenant: Tenant,
        user_id: str,
        response_url: str | None,
        login_hint: str | None,
        retry_text: str | None = None,
    ) -> str:
        """The Google authorization URL for this user; its state is single-use and lives 10 minutes."""
        if self._delegated_scopes is not None:
            raise DelegationInUse()
        if self._oauth is None:
            raise ServiceUnavailable(MISCONFIGURED)
        verifier = make_verifier()
        pending = PendingLink(tenant, user_id, verifier, response_url, self._clock(), retry_text)
        state = await self._states.issue(pending)
        return self._oauth.authorization_url(state, s256_challenge(verifier), login_hint)

    async def complete_link(self, state: str | None, code: str | None, error: str | None) -> LinkOutcome:
        """The OAuth callback. Stores the link only when everything checked out; on any failure nothing is stored.

        The Slack user comes from the state alone, never from the request, so a state links only its own user.
        """
        if not state or self._oauth is None:
            return LinkOutcome(False, "bad_state")
        try:
            pending = await self._states.consume(state)  # consumed first, whatever follows: single-use
        except StorageUnavailable:
            return LinkOutcome(False, "unavailable")
        if pending is None:
            return LinkOutcome(False, "bad_state")
        if error:
            return LinkOutcome(False, _callback_error(error), pending)
        if not code:
            return LinkOutcome(False, "missing_code", pending)
        try:
            grant = await self._oauth.exchange_code(code, pending.code_verifier)
        except google.GoogleAuthUnavailable:
            return LinkOutcome(False, "unavailable", pending)
        except google.GoogleAuthError as failure:
            log.info("Google refused a sign-in code for %s user %s: %s", pending.tenant.tag, pending.user_id,
                     failure.error or type(failure).__name__)
            return LinkOutcome(False, "exchange_failed", pending)
        if grant.refresh_token is None:
            return LinkOutcome(False, "no_refresh_token", pending, scopes=grant.scopes)
        if not self._meet_scopes(grant.scopes):
            return LinkOutcome(False, "missing_scope", pending, scopes=grant.scopes)
        return await self._store_link(pending, grant)

    def _meet_scopes(self, scopes: Sequence[str]) -> list[str]:
        return [s for s in scopes if s in self._required or s.startswith(MEET_SCOPES_PREFIX)]

    async def _store_link(self, pending: PendingLink, grant: TokenGrant) -> LinkOutcome:
        """Bind the grant to the Slack user only if the Google account is provably theirs (DESIGN §1).

        The Slack user comes from the state, whoever's browser brings it back: a forwarded Connect link must not
        give the sender the consenter's account. So the Google account's verified email has to be the Slack
        profile's; where an admin allows other emails, the consenter confirms on a page that names the receiver.
        """
        assert self._oauth is not None and grant.refresh_token is not None
        try:
            identity = await self._oauth.userinfo(grant.access_token)
        except google.GoogleAuthUnavailable:
            return LinkOutcome(False, "unavailable", pending, scopes=grant.scopes)
        except google.GoogleAuthError:
            return LinkOutcome(False, "exchange_failed", pending, scopes=grant.scopes)
        link = GoogleLink(
            google_sub=identity.sub,
            google_email=identity.email,
            scopes=grant.scopes,
            refresh_token=grant.refresh_token,
            access_token=grant.access_token,
            access_expires_at=grant.expires_at,
            linked_at=self._clock(),
        )
        slack_email = await self._slack_email(pending)
        if identity.email_verified and slack_email and identity.email.casefold() == slack_email.casefold():
            return await self._save(pending, link)
        if self._allow_other_emails and self._confirmations is not None and self._email_owner is not None:
            try:
                owner = await self._email_owner(pending.tenant, identity.email)
            except ServiceUnavailable:
                await self._give_back(link)
                return LinkOutcome(False, "unavailable", pending, identity.email, grant.scopes)
            if owner is not None and owner != pending.user_id:
                # Another member's own account: whatever name the asker shows, it isn't theirs to be given.
                await self._give_back(link)
                log.info("Google sign-in for %s user %s refused: the Google email is another member's",
                         pending.tenant.tag, pending.user_id)
                return LinkOutcome(False, "other_member", pending, identity.email, grant.scopes)
            try:
                confirm_id = await self._confirmations.hold(HeldLink(pending, link))
            except StorageUnavailable:
                await self._give_back(link)
                return LinkOutcome(False, "unavailable", pending, identity.email, grant.scopes)
            return LinkOutcome(False, "confirm", pending, identity.email, grant.scopes, confirm_id=confirm_id)
        await self._give_back(link)  # nothing will use this grant: don't leave it alive at Google
        log.info("Google sign-in for %s user %s refused: the Google email isn't the Slack one",
                 pending.tenant.tag, pending.user_id)
        reason: LinkReason = "email_mismatch" if slack_email else "no_slack_email"
        return LinkOutcome(False, reason, pending, identity.email, grant.scopes, slack_email=slack_email)

    async def _slack_email(self, pending: PendingLink) -> str | None:
        if self._email_lookup is None:
            return None
        try:
            return await self._email_lookup(pending.tenant, pending.user_id)
        except StorageUnavailable:
            return None  # unknown counts as "no match": never link on a guess

    async def confirm_link(self, confirm_id: str | None, accept: bool) -> LinkOutcome:
        """The consenter's answer on the confirmation page; the held grant is taken out once, whatever the answer."""
        if not confirm_id or self._confirmations is None:
            return LinkOutcome(False, "bad_state")
        try:
            held = await self._confirmations.take(confirm_id)
        except StorageUnavailable:
            return LinkOutcome(False, "unavailable")
        if held is None:
            return LinkOutcome(False, "bad_state")
        if not accept:
            await self._give_back(held.link)
            return LinkOutcome(False, "declined", held.pending, held.link.google_email, held.link.scopes)
        return await self._save(held.pending, held.link)

    async def _save(self, pending: PendingLink, link: GoogleLink) -> LinkOutcome:
        """Store the link; a grant it replaces is revoked at Google, so a re-link leaves no second live grant."""
        try:
            replaced = await self._links.get(pending.tenant, pending.user_id)
            await self._links.save(pending.tenant, pending.user_id, link)
        except StorageUnavailable:
            return LinkOutcome(False, "unavailable", pending, link.google_email, link.scopes)
        if replaced is not None and replaced.refresh_token and replaced.refresh_token != link.refresh_token:
            await self._give_back(replaced)
        log.info("Google account linked for %s user %s", pending.tenant.tag, pending.user_id)
        return LinkOutcome(True, "linked", pending, link.google_email, link.scopes)

    async def _give_back(self, link: GoogleLink) -> bool:
        """Revoke a grant meetbot won't use (best effort: False when Google didn't confirm)."""
        token = link.refresh_token or link.access_token
        if not token or self._oauth is None:
            return False
        try:
            return await self._oauth.revoke(token)  # a refresh token takes its access tokens with it
        except google.GoogleAuthError:
            return False

    async def disconnect(self, tenant: Tenant, user_id: str) -> DisconnectOutcome:
        """Revoke at Google, then delete the link, even when revocation fails."""
        link = await self._links.get(tenant, user_id)
        for hook in self._on_unlinked:  # first, while their token still works (a subscription is deleted with it)
            await hook(tenant, user_id)
        revoked = await self._give_back(link) if link is not None else False
        deleted = await self._links.delete(tenant, user_id)  # also clears a record we couldn't read
        await self._drop_cached(tenant, user_id)
        return DisconnectOutcome(was_linked=deleted or link is not None, revoked=revoked)

    async def forget(self, tenant: Tenant, user_ids: Sequence[str] | None = None) -> int:
        """The workspace uninstalled meetbot (None: every user) or revoked these users: revoke their Google grants
        and delete the links. Returns how many links were removed."""
        users = list(user_ids) if user_ids is not None else await self._links.linked_users(tenant)
        slots = asyncio.Semaphore(8)  # Google's revoke endpoint is not ours to flood

        async def one(user_id: str) -> bool:
            async with slots:
                outcome = await self.disconnect(tenant, user_id)
                return outcome.was_linked

        removed = sum(await asyncio.gather(*(one(u) for u in users)))
        log.info("forgot %d Google links of %s after Slack revoked meetbot", removed, tenant.tag)
        return removed

    async def describe(self, tenant: Tenant, user_id: str) -> GoogleLink | None:
        """The user's link. Under delegation: who meetbot acts as (`via="delegation"`, no tokens, linked_at 0.0),
        or None when the user's Slack email is unknown."""
        if self._delegated_scopes is not None:
            email = await self._email_lookup(tenant, user_id) if self._email_lookup is not None else None
            if not email:
                return None
            return GoogleLink("", email, self._delegated_scopes, None, None, None, 0.0, via="delegation")
        return await self._links.get(tenant, user_id)
