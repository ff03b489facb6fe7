"""`/meet presence`: while meetbot sees an opted-in person in a call, their Slack status says so; afterwards it is
what they had, unless they changed it during the call.

Who is in a call comes from the reads meetbot already makes (the participants of a followed meeting, linked
Google accounts mapped to Slack users). Each sighting updates the set of calls the person is in (`seen`); then
`settle` brings their status in line under a short per-person lock: in a call and no hold → read their status,
keep it (the hold, no TTL), set ours; in no call and a hold → restore theirs if the status is still ours. Sightings
are idempotent and order-free (the set is the truth, whichever read came last), a duplicate sets nothing twice,
and a process that finds the lock taken leaves the work to its holder, who checks again after letting go.

Do Not Disturb (`/meet presence dnd on`) follows the same moments under the same lock: on joining, unless they are
snoozed already, a snooze for SAFETY_NET, its end kept beside the hold; on leaving, `dnd.endSnooze` only if
`dnd.info` still shows that very snooze (if they changed or ended it, it is theirs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal, Protocol

from bot.core.slack_sign_in import SlackSignIn, SlackTokenDead, SlackUserApi, SlackUserUnavailable
from bot.domain import LiveState, Phase, SlackStatus, SlackUserGrant, SnoozeHold, StatusHold, Tenant

__all__ = ["IN_A_MEETING", "SAFETY_NET", "DndOutcome", "Presence", "PresenceMemory"]

log = logging.getLogger(__name__)

IN_A_MEETING = SlackStatus("In a meeting", ":calendar:")
SAFETY_NET = 4 * 3600  # the status Slack clears by itself if meetbot never sees the call end
LOCK_TTL_MS = 15_000  # two Slack calls, with the SDK's retries
SETTLE_ROUNDS = 3
# How far Slack's snooze end may be from the one meetbot kept and still be meetbot's: the end is kept from our clock
# first, then from Slack's answer, so a crash in between or clock skew must not make it look like theirs.
SNOOZE_DRIFT = 120

DndOutcome = Literal["on", "off", "not_offered", "sign_in"]

SlackUsersOf = Callable[[Tenant, Sequence[str]], Awaitable[Mapping[str, str]]]


class PresenceMemory(Protocol):
    async def is_on(self, tenant: Tenant, user_id: str) -> bool: ...

    async def turn_on(self, tenant: Tenant, user_id: str) -> None: ...

    async def turn_off(self, tenant: Tenant, user_id: str) -> bool: ...

    async def people(self, tenant: Tenant) -> list[str]: ...

    async def opted_in(self, tenant: Tenant, user_ids: list[str]) -> list[str]: ...

    async def seen(self, tenant: Tenant, user_id: str, conference: str, present: bool) -> None: ...

    async def in_call(self, tenant: Tenant, user_id: str) -> bool: ...

    async def hold(self, tenant: Tenant, user_id: str) -> StatusHold | None: ...

    async def keep_hold(self, tenant: Tenant, user_id: str, hold: StatusHold) -> None: ...

    async def drop_hold(self, tenant: Tenant, user_id: str) -> None: ...

    async def want_dnd(self, tenant: Tenant, user_id: str, on: bool) -> None: ...

    async def dnd(self, tenant: Tenant, user_id: str) -> tuple[bool, SnoozeHold | None]: ...

    async def keep_snooze(self, tenant: Tenant, user_id: str, snooze: SnoozeHold) -> None: ...

    async def drop_snooze(self, tenant: Tenant, user_id: str) -> None: ...

    async def lock(self, tenant: Tenant, user_id: str, ttl_ms: int) -> str | None: ...

    async def unlock(self, tenant: Tenant, user_id: str, owner: str) -> None: ...


class Presence:
    def __init__(self, sign_in: SlackSignIn, api: SlackUserApi, memory: PresenceMemory, slack_users_of: SlackUsersOf,
                 clock: Callable[[], float] = time.time, dnd_scopes: Sequence[str] = ()) -> None:
        self.sign_in = sign_in
        self._dnd_scopes = tuple(dnd_scopes)  # (): the operator's SLACK_USER_SCOPES don't ask for DND
        self._api = api
        self._memory = memory
        self._slack_users_of = slack_users_of  # Google "users/…" → linked Slack user
        self._clock = clock

    async def is_on(self, tenant: Tenant, user_id: str) -> bool:
        return await self._memory.is_on(tenant, user_id)

    async def turn_on(self, tenant: Tenant, user_id: str) -> bool:
        """Records the choice if the person has signed in with Slack; False: they must sign in first."""
        if await self.sign_in.token(tenant, user_id) is None:
            return False
        await self._memory.turn_on(tenant, user_id)
        return True

    @property
    def dnd_offered(self) -> bool:
        return bool(self._dnd_scopes)

    def dnd_granted(self, grant: SlackUserGrant) -> bool:
        return self.dnd_offered and all(scope in grant.scopes for scope in self._dnd_scopes)

    async def dnd_on(self, tenant: Tenant, user_id: str) -> bool:
        return (await self._memory.dnd(tenant, user_id))[0]

    async def set_dnd(self, tenant: Tenant, user_id: str, on: bool) -> DndOutcome:
        """Do Not Disturb during calls. On needs the DND scopes in the operator's sign-in and in the person's own
        grant ("sign_in": the choice is kept, and presence turns on once they sign in again); it turns presence on
        too. Off ends a snooze meetbot set, if it is still meetbot's."""
        if on and not self.dnd_offered:
            return "not_offered"
        await self._memory.want_dnd(tenant, user_id, on)
        if on:
            grant = await self.sign_in.token(tenant, user_id)
            if grant is None or not self.dnd_granted(grant):
                return "sign_in"
            await self._memory.turn_on(tenant, user_id)
        await self.settle(tenant, user_id)  # in a call right now: snoozed (or no longer) at once
        return "on" if on else "off"

    async def turn_off(self, tenant: Tenant, user_id: str) -> bool:
        """Gives back a status (and a snooze) meetbot holds, then revokes and forgets the token and the choices. True
        if anything was there to stop."""
        was_on = await self._memory.is_on(tenant, user_id)
        await self._memory.turn_off(tenant, user_id)
        await self.settle(tenant, user_id)  # no longer wanted: restores what they had, if the status is still ours
        await self._memory.drop_hold(tenant, user_id)  # given back or not, nothing of it is kept
        await self._memory.drop_snooze(tenant, user_id)
        signed_out = await self.sign_in.sign_out(tenant, user_id)
        return was_on or signed_out

    async def forget(self, tenant: Tenant, user_ids: Sequence[str] | None = None) -> None:
        """Slack revoked these people's tokens (None: the app was uninstalled, every token is gone): nothing can be
        restored with them, so everything kept for them is just forgotten."""
        for user_id in user_ids if user_ids is not None else await self._memory.people(tenant):
            await self._memory.turn_off(tenant, user_id)
            await self._memory.drop_hold(tenant, user_id)
            await self._memory.drop_snooze(tenant, user_id)
            await self.sign_in.forget(tenant, user_id)

    async def observe(self, tenant: Tenant, state: LiveState, only: str | None = None) -> None:
        """A fresh read of a meeting: who of the opted-in people is in it now, and who left. With `only`, the read
        was made as that person, for them alone (their own meetings, `/meet mine`): it speaks for nobody else, and
        their absence from it means they are not in the call."""
        if not state.conference:
            return
        present = await self._present(tenant, state)
        if only is not None:
            present = {only: present.get(only, False)}
        for user_id in await self._memory.opted_in(tenant, sorted(present)):
            await self._memory.seen(tenant, user_id, state.conference, present[user_id])
            await self.settle(tenant, user_id)

    async def left(self, tenant: Tenant, user_id: str, conference: str) -> None:
        """The conference is over for the person (it ended, as their own meeting list showed)."""
        await self._memory.seen(tenant, user_id, conference, False)
        await self.settle(tenant, user_id)

    async def _present(self, tenant: Tenant, state: LiveState) -> dict[str, bool]:
        """Linked Slack users among the attendees, and whether each is in the call now."""
        google_users = sorted({a.user for a in state.attendees if a.user})
        if not google_users:
            return {}
        slack_of = await self._slack_users_of(tenant, google_users)
        present: dict[str, bool] = {}
        for attendee in state.attendees:
            user = slack_of.get(attendee.user or "")
            if user is not None:  # one person may have several participant records: present in any counts
                present[user] = present.get(user, False) or (attendee.present and state.phase is Phase.LIVE)
        return present

    async def settle(self, tenant: Tenant, user_id: str) -> None:
        """Bring the person's status in line with whether they are in a call (see the module's docstring)."""
        for _ in range(SETTLE_ROUNDS):
            if await self._settled(tenant, user_id) is None:
                return  # as it should be (most reads of a call): no lock, no Slack call
            owner = await self._memory.lock(tenant, user_id, LOCK_TTL_MS)
            if owner is None:
                return  # its holder checks again after letting go, and will see what we recorded
            try:
                await self._settle(tenant, user_id)
            finally:
                await self._memory.unlock(tenant, user_id, owner)

    async def _wanted(self, tenant: Tenant, user_id: str) -> bool:
        return await self._memory.is_on(tenant, user_id) and await self._memory.in_call(tenant, user_id)

    async def _settled(self, tenant: Tenant, user_id: str
                       ) -> tuple[bool, StatusHold | None, bool, SnoozeHold | None] | None:
        """None if the status and the snooze are as they should be; else what is wanted and what is held."""
        wanted, hold = await self._wanted(tenant, user_id), await self._memory.hold(tenant, user_id)
        dnd, snooze = await self._memory.dnd(tenant, user_id)
        snooze_wanted = wanted and dnd
        if wanted == (hold is not None) and snooze_wanted == (snooze is not None):
            return None
        return wanted, hold, snooze_wanted, snooze

    async def _settle(self, tenant: Tenant, user_id: str) -> None:
        unsettled = await self._settled(tenant, user_id)
        if unsettled is None:
            return
        wanted, hold, snooze_wanted, snooze = unsettled
        grant = await self.sign_in.token(tenant, user_id)
        if grant is None:
            await self._memory.drop_hold(tenant, user_id)
            await self._memory.drop_snooze(tenant, user_id)
            return
        try:
            if wanted and hold is None:
                await self._take(tenant, user_id, grant.token)
            elif not wanted and hold is not None:
                await self._give_back(tenant, user_id, grant.token, hold)
            if snooze_wanted and snooze is None:
                await self._snooze(tenant, user_id, grant)
            elif not snooze_wanted and snooze is not None:
                await self._end_snooze(tenant, user_id, grant, snooze)
        except SlackTokenDead:
            log.info("Slack refused the user token of %s user %s; presence is off for them", tenant.tag, user_id)
            await self.forget(tenant, [user_id])
        except SlackUserUnavailable as error:
            log.warning("presence: Slack didn't answer for %s user %s (%s); tried again at the next read",
                        tenant.tag, user_id, error)

    async def _take(self, tenant: Tenant, user_id: str, token: str) -> None:
        now = self._clock()
        before = await self._api.status(token)
        ours = SlackStatus(IN_A_MEETING.text, IN_A_MEETING.emoji, int(now + SAFETY_NET))
        # Kept before the status changes: whatever happens next, meetbot knows what to give back.
        await self._memory.keep_hold(tenant, user_id, StatusHold(before, ours, now))
        try:
            await self._api.set_status(token, ours)
        except SlackUserUnavailable:
            await self._memory.drop_hold(tenant, user_id)  # nothing was set: the next read tries again
            raise

    async def _give_back(self, tenant: Tenant, user_id: str, token: str, hold: StatusHold) -> None:
        current = await self._api.status(token)
        if current.looks_like(hold.ours):
            before = hold.before
            if before.expiration and before.expiration <= self._clock():
                before = SlackStatus()  # it would have run out during the call: Slack would have cleared it
            await self._api.set_status(token, before)
        # else: they changed it during the call (or it ran out): theirs now, left alone
        await self._memory.drop_hold(tenant, user_id)

    async def _snooze(self, tenant: Tenant, user_id: str, grant: SlackUserGrant) -> None:
        if not self.dnd_granted(grant):
            # Signed in before DND was asked for (`set_dnd` offered the sign-in again): nothing meetbot may do for
            # this call. The choice stays, for the calls after they sign in again.
            await self._memory.keep_snooze(tenant, user_id, SnoozeHold(0, ours=False))
            return
        theirs = await self._api.snoozed_until(grant.token)
        if theirs is not None:  # snoozed already, by them: left alone, now and when they leave
            await self._memory.keep_snooze(tenant, user_id, SnoozeHold(theirs, ours=False))
            return
        # Kept before the snooze starts, like the hold: whatever happens next, meetbot knows it may have set one.
        await self._memory.keep_snooze(tenant, user_id, SnoozeHold(int(self._clock() + SAFETY_NET), ours=True))
        try:
            until = await self._api.snooze(grant.token, SAFETY_NET // 60)
        except SlackUserUnavailable:
            await self._memory.drop_snooze(tenant, user_id)  # nothing was set: the next read tries again
            raise
        if until:
            await self._memory.keep_snooze(tenant, user_id, SnoozeHold(until, ours=True))

    async def _end_snooze(self, tenant: Tenant, user_id: str, grant: SlackUserGrant, snooze: SnoozeHold) -> None:
        if snooze.ours and self.dnd_granted(grant):
            now = await self._api.snoozed_until(grant.token)
            if now is not None and abs(now - snooze.until) <= SNOOZE_DRIFT:
                await self._api.end_snooze(grant.token)
            # else: they ended it or set another one during the call: theirs now, left alone
        await self._memory.drop_snooze(tenant, user_id)
