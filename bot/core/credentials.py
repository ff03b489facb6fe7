"""Credentials: a valid Google access token to act as a person, for every use case that calls Google as them.

Its own module because handing out tokens is a different job from linking (core/linking.py): it runs on every Meet
call, holds the in-process single-flight map and the cross-process refresh lock, and never talks to the person.

Two modes. Per-user OAuth: the link that linking stored is refreshed when its access token is stale. Domain-wide
delegation (a service account file is configured): tokens are minted for the user's Slack email and cached until
expiry.

Refreshes are single-flight: within a process callers share one task, across processes a Redis lock (SET NX PX,
owner token, compare-and-delete) lets one process refresh while the others wait for its result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

from bot.core.errors import (
    DelegationRefused,
    NotLinked,
    ReauthRequired,
    ServiceUnavailable,
    StorageUnavailable,
)
from bot.core.leases import renewed
from bot.core.ports import DelegatedTokens, EmailLookup, LinkMemory, RefreshLocks
from bot.domain import CachedToken, GoogleLink, Tenant
from bot.google import errors as google
from bot.google.delegation import DelegatedCredentials
from bot.google.oauth import GoogleOAuth

__all__ = ["MISCONFIGURED", "Credentials"]

log = logging.getLogger(__name__)

REFRESH_MARGIN = 60.0  # seconds before expiry at which a cached access token counts as stale
# The lock lives briefly and its holder renews it while it works (google-auth may retry for ~20 s), so a process
# that died holding it stalls the others for at most LOCK_TTL_MS, after which a waiter takes over.
LOCK_TTL_MS = 3_000
LOCK_RENEW_SECONDS = 1.0
WAIT_SECONDS = 25.0  # how long a caller waits for a live holder's refresh before giving up
POLL_SECONDS = 0.05

_GOOGLE_DOWN = "Google sign-in isn't answering right now. Try again in a minute."
MISCONFIGURED = "meetbot's Google sign-in is misconfigured, so it can't act for you. Please tell your Slack admin."
_NO_EMAIL = (
    "Your Slack profile has no email address meetbot can see, so it can't tell which Google Workspace account "
    "to act as. Ask a Slack admin to add it (meetbot needs the users:read.email permission)."
)


class Credentials:
    def __init__(
        self,
        links: LinkMemory,
        oauth: GoogleOAuth | None,
        delegation: DelegatedCredentials | None,
        email_lookup: EmailLookup | None,
        lock: RefreshLocks,
        token_cache: DelegatedTokens,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._links = links
        self._oauth = oauth
        self._delegation = delegation
        self._email_lookup = email_lookup
        self._lock = lock
        self._token_cache = token_cache
        self._clock = clock
        self._inflight: dict[tuple[Tenant, str], asyncio.Task[str]] = {}

    async def granted_scopes(self, tenant: Tenant, user_id: str) -> tuple[str, ...]:
        """The Google scopes meetbot may use for the user (none when not linked). Under delegation: the delegated
        scopes, once the user's Slack email is known (what linking.describe reports as the user's link)."""
        if self._delegation is not None:
            email = await self._email_lookup(tenant, user_id) if self._email_lookup is not None else None
            return self._delegation.scopes if email else ()
        link = await self._links.get(tenant, user_id)
        return link.scopes if link is not None else ()

    async def drop_cached(self, tenant: Tenant, user_id: str) -> None:
        """The person's link went (linking.disconnect): drop the delegated token cached for them."""
        await self._token_cache.delete(tenant, user_id)

    async def get_access_token(self, tenant: Tenant, user_id: str) -> str:
        """A valid access token. Raises NotLinked, ReauthRequired, DelegationRefused or ServiceUnavailable."""
        key = (tenant, user_id)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._token(tenant, user_id))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        # shield: one caller giving up (cancelled) must not cancel the refresh the others wait on.
        return await asyncio.shield(task)

    def _forget(self, key: tuple[Tenant, str], task: asyncio.Task[str]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: every waiter may have been cancelled

    async def reject_access_token(self, tenant: Tenant, user_id: str, token: str) -> None:
        """Google refused `token` before its expiry (revoked, or the clocks disagree): stop reusing it, so the
        next get_access_token refreshes, which either works or finds the grant dead and asks to reconnect."""
        if self._delegation is not None:
            await self._token_cache.delete(tenant, user_id)
            return
        await self._links.expire_access_token(tenant, user_id, token)

    async def _token(self, tenant: Tenant, user_id: str) -> str:
        if self._delegation is not None:
            return await self._delegated_token(self._delegation, tenant, user_id)
        oauth = self._oauth
        if oauth is None:
            raise ServiceUnavailable(MISCONFIGURED)
        link = await self._links.get(tenant, user_id)
        if link is None:
            raise NotLinked()
        if link.access_token and link.access_token_valid(self._clock(), REFRESH_MARGIN):
            return link.access_token

        async def current() -> GoogleLink:
            now = await self._links.get(tenant, user_id)
            if now is None:  # removed meanwhile: most likely the refresher met invalid_grant
                raise ReauthRequired()
            return now

        async def peek() -> str | None:
            now = await current()
            return now.access_token if now.access_token_valid(self._clock(), REFRESH_MARGIN) else None

        async def refresh() -> str:
            now = await current()
            if now.access_token and now.access_token_valid(self._clock(), REFRESH_MARGIN):
                return now.access_token  # another process refreshed between our read and our lock
            return await self._refresh(oauth, tenant, user_id, now)

        return await self._single_flight(tenant, user_id, peek, refresh)

    async def _refresh(self, oauth: GoogleOAuth, tenant: Tenant, user_id: str, link: GoogleLink) -> str:
        if not link.refresh_token:
            await self._links.delete(tenant, user_id, linked_at=link.linked_at)
            raise ReauthRequired()
        try:
            grant = await oauth.refresh(link.refresh_token)
        except google.InvalidGrant:
            # Revoked, expired, or a Testing-mode app's 7-day limit: the link is dead. Remove exactly this link
            # (not one the user re-made meanwhile) so the next command offers Connect.
            await self._links.delete(tenant, user_id, linked_at=link.linked_at)
            log.warning("Google refused the refresh token of %s user %s (the grant was revoked or expired); link "
                        "removed", tenant.tag, user_id)
            raise ReauthRequired() from None
        except google.GoogleAuthUnavailable:
            raise ServiceUnavailable(_GOOGLE_DOWN) from None
        except google.GoogleAuthError as failure:
            log.error("Google token refresh failed for %s user %s: %s", tenant.tag, user_id, failure)
            raise ServiceUnavailable(MISCONFIGURED) from None
        await self._links.save_access_token(
            tenant, user_id, grant.access_token, grant.expires_at,
            refresh_token=grant.refresh_token, linked_at=link.linked_at,
        )
        return grant.access_token

    async def _delegated_token(self, delegation: DelegatedCredentials, tenant: Tenant, user_id: str) -> str:
        email = await self._email_lookup(tenant, user_id) if self._email_lookup is not None else None
        if not email:
            raise DelegationRefused(_NO_EMAIL)

        async def peek() -> str | None:
            cached = await self._token_cache.get(tenant, user_id)
            fresh = cached is not None and cached.email == email and cached.expires_at - REFRESH_MARGIN > self._clock()
            return cached.token if fresh and cached is not None else None

        async def mint() -> str:
            token = await peek()
            if token:
                return token
            try:
                grant = await delegation.token_for(email)
            except google.DelegationRefused as refused:
                raise DelegationRefused(refused.reason) from None
            except google.GoogleAuthUnavailable:
                raise ServiceUnavailable(_GOOGLE_DOWN) from None
            except google.GoogleAuthError as failure:
                log.error("domain-wide delegation failed for %s user %s: %s", tenant.tag, user_id, failure)
                raise ServiceUnavailable(MISCONFIGURED) from None
            await self._token_cache.put(tenant, user_id, CachedToken(grant.access_token, grant.expires_at, email))
            return grant.access_token

        token = await peek()
        return token or await self._single_flight(tenant, user_id, peek, mint)

    async def _single_flight(
        self,
        tenant: Tenant,
        user_id: str,
        peek: Callable[[], Awaitable[str | None]],
        mint: Callable[[], Awaitable[str]],
    ) -> str:
        """`mint` under the user's Redis lock; without the lock, poll `peek` for the holder's result instead."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            owner = await self._lock.acquire(tenant, user_id, LOCK_TTL_MS)
            if owner is not None:
                keeper = asyncio.ensure_future(
                    renewed(partial(self._lock.renew, tenant, user_id, owner, LOCK_TTL_MS), LOCK_RENEW_SECONDS))
                try:
                    return await mint()
                finally:
                    keeper.cancel()
                    await self._release(tenant, user_id, owner)
            while True:
                if time.monotonic() >= deadline:
                    raise ServiceUnavailable(_GOOGLE_DOWN)
                await asyncio.sleep(POLL_SECONDS)
                token = await peek()
                if token:
                    return token
                if not await self._lock.held(tenant, user_id):
                    break  # the holder gave up without a token (Google down?): try ourselves

    async def _release(self, tenant: Tenant, user_id: str, owner: str) -> None:
        try:
            await self._lock.release(tenant, user_id, owner)
        except StorageUnavailable:
            log.warning("could not release the refresh lock of %s user %s; it expires on its own", tenant.tag, user_id)
