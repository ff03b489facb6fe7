"""Every Redis key meetbot uses is built here, so the layout can be read (and migrated) in one place.

Layout: `<prefix>:{<enterprise>:<team>[:<user>]}:<kind>[:<id>]`. The braces are a Redis Cluster hash tag: records of
one user (or one team) live in one slot, so a multi-key operation never spans two users or two teams. Keys that
belong to nobody in particular (event dedupe) carry their own tag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.domain import Tenant

__all__ = ["Keys", "Tenant"]  # Tenant re-exported for the store's callers

DEFAULT_PREFIX = "meetbot"


def _clean(part: str) -> str:
    # Slack ids are [A-Z0-9]; anything else must not be able to forge another key or hash tag.
    if not part or any(c in part for c in "{}: \r\n"):
        raise ValueError(f"unsafe key part: {part!r}")
    return part


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = DEFAULT_PREFIX

    def _team(self, tenant: Tenant, kind: str) -> str:
        return f"{self.prefix}:{{{_clean(tenant.enterprise_id or '-')}:{_clean(tenant.team_id)}}}:{kind}"

    def _user(self, tenant: Tenant, user_id: str, kind: str) -> str:
        tag = f"{_clean(tenant.enterprise_id or '-')}:{_clean(tenant.team_id)}:{_clean(user_id)}"
        return f"{self.prefix}:{{{tag}}}:{kind}"

    def create_quota(self) -> str:
        """Google's spaces.create quota is per project: one bucket for every workspace meetbot serves."""
        return f"{self.prefix}:{{quota}}:spaces.create"

    def write_quota(self, tenant: Tenant, user_id: str) -> str:
        """Google's write quota is also per user (100 a minute): one window per Slack user whose token writes."""
        return self._user(tenant, user_id, "meet-writes")

    def health_probe(self) -> str:
        return f"{self.prefix}:{{health}}:probe"

    def layout_version(self) -> str:
        """The version of this whole layout (bot/store/layout.py), one key in its own slot."""
        return f"{self.prefix}:{{layout}}:version"

    def signature_seen(self, signature_hex: str) -> str:
        return f"{self.prefix}:{{sig:{_clean(signature_hex)}}}:seen"

    def job_progress(self, job_id: str) -> str:
        return f"{self.prefix}:{{job:{_clean(job_id)}}}:progress"

    # Account linking.
    def google_link(self, tenant: Tenant, user_id: str) -> str:
        return self._user(tenant, user_id, "google")

    def google_refresh_lock(self, tenant: Tenant, user_id: str) -> str:
        return self._user(tenant, user_id, "google:refresh-lock")

    def oauth_state(self, state: str) -> str:
        return f"{self.prefix}:{{oauth-state:{_clean(state)}}}"

    def link_confirmation(self, confirm_id: str) -> str:
        return f"{self.prefix}:{{link-confirm:{_clean(confirm_id)}}}"

    def slack_email(self, tenant: Tenant, user_id: str) -> str:
        return self._user(tenant, user_id, "slack-email")

    def google_link_pattern(self, tenant: Tenant | None = None) -> str:
        """SCAN pattern for every Google link, or for one workspace's."""
        if tenant is None:
            return f"{self.prefix}:{{*}}:google"
        return f"{self.prefix}:{{{_clean(tenant.enterprise_id or '-')}:{_clean(tenant.team_id)}:*}}:google"

    # Meetings.
    def space_by_code(self, code: str) -> str:
        return f"{self.prefix}:{{code:{_clean(code)}}}"

    def cards(self, tenant: Tenant, space_id: str) -> str:
        return self._team(tenant, f"cards:{_clean(space_id)}")

    def card_lock(self, tenant: Tenant, channel: str, ts: str) -> str:
        """One edit of a card at a time (bot/store/spaces.py). In the team's slot with the card lists, so one
        script checks a card is still listed and takes its lock."""
        return self._team(tenant, f"card-lock:{_clean(channel)}:{_clean(ts)}")

    def space_info(self, tenant: Tenant, space_id: str) -> str:
        """What meetbot knows of a space (its SpaceInfo). The key text stays "owner:" so existing records are read."""
        return self._team(tenant, f"owner:{_clean(space_id)}")

    def recent_meetings(self, tenant: Tenant, user_id: str) -> str:
        return self._user(tenant, user_id, "recent")

    # Following live meetings: one state and one follow record per space; one schedule for every space (one slot).
    def live_state(self, tenant: Tenant, space_id: str) -> str:
        return self._team(tenant, f"live:{_clean(space_id)}")

    def follow(self, tenant: Tenant, space_id: str) -> str:
        return self._team(tenant, f"follow:{_clean(space_id)}")

    def recap(self, tenant: Tenant, channel: str) -> str:
        return self._team(tenant, f"recap:{_clean(channel.replace(':', '-'))}")

    def mine(self, tenant: Tenant, user_id: str) -> str:
        """`/meet mine`: the person's choice and the conferences of theirs meetbot is following (one user's slot)."""
        return self._user(tenant, user_id, "mine")

    def mine_people(self, tenant: Tenant) -> str:
        """Who turned `/meet mine` on in a team, so an uninstall can find them all."""
        return self._team(tenant, "mine-people")

    def schedule(self, name: str) -> tuple[str, str, str, str]:
        """A shared lease schedule ("follow": live meetings; "roomsync": rooms whose members follow their channel):
        when each entry is due, its last run, its lease, its last poke. One hash tag: one slot, one script."""
        base = f"{self.prefix}:{{{_clean(name)}}}"
        return f"{base}:due", f"{base}:last", f"{base}:leases", f"{base}:pokes"

    def workspace_event_seen(self, event_id: str) -> str:
        return f"{self.prefix}:{{wevent:{_clean(event_id)}}}:seen"

    def event_route(self, kind: str, ident: str) -> str:
        """Which followed space an event is about, by its subscription, space or conference record (ids hashed)."""
        return f"{self.prefix}:{{wroute:{_clean(kind)}:{_clean(ident)}}}"

    # Channel rooms. The room and its lock share the team's hash tag, so one script can touch both.
    def room(self, tenant: Tenant, channel_id: str) -> str:
        return self._team(tenant, f"room:{_clean(channel_id)}")

    def recap_default(self, tenant: Tenant) -> str:
        """The workspace's default for posting recaps (an admin's choice); rooms may override it."""
        return self._team(tenant, "recap-default")

    # Slack's call objects (bot/store/calls.py): one per conference, ids hashed (a conference name has slashes).
    def call(self, tenant: Tenant, conference: str) -> str:
        return self._team(tenant, f"call:{hashlib.sha256(conference.encode()).hexdigest()[:32]}")

    def calls_off(self, tenant: Tenant) -> str:
        return self._team(tenant, "calls-off")

    def calls_notice(self, tenant: Tenant, reason: str) -> str:
        return self._team(tenant, f"calls-notice:{hashlib.sha256(reason.encode()).hexdigest()[:16]}")

    def call_people(self, tenant: Tenant, space_id: str) -> str:
        """`/meet set <meeting> people=on|off` for a meeting's cards (no TTL: a choice is kept)."""
        return self._team(tenant, f"call-people:{_clean(space_id)}")

    def call_people_default(self, tenant: Tenant) -> str:
        return self._team(tenant, "call-people-default")

    def google_users(self, tenant: Tenant) -> str:
        """Google user → linked Slack user, a cache rebuilt from the links (call participants shown as themselves)."""
        return self._team(tenant, "google-users")

    def room_lock(self, tenant: Tenant, channel_id: str) -> str:
        return self._team(tenant, f"room-lock:{_clean(channel_id)}")

    def rooms_started(self, tenant: Tenant, user_id: str) -> str:
        return self._user(tenant, user_id, "rooms")

    # App Home: the hash of the last published view, so concurrent publishes can't clobber a newer one.
    def home_hash(self, tenant: Tenant, user_id: str) -> str:
        return self._user(tenant, user_id, "home-hash")

    def home_render(self, tenant: Tenant, user_id: str, part: str) -> str:
        """Home-tab render coalescing: "lease" (a process is rendering), "dirty" (render again), "fresh" (just did)."""
        return self._user(tenant, user_id, f"home-{part}")

    # "Sign in with Slack" and presence (one user's slot, except the single-use tickets and states).
    def slack_user_token(self, tenant: Tenant, user_id: str) -> str:
        """The person's own Slack user token, encrypted (no TTL: it must not be lost while it is valid)."""
        return self._user(tenant, user_id, "slack-user")

    def slack_sign_in(self, kind: str, value: str) -> str:
        """A pending sign-in: "ticket" (the link handed out in Slack) or "state" (the OAuth state), 10 minutes."""
        return f"{self.prefix}:{{slack-sign-in:{_clean(kind)}:{_clean(value)}}}"

    def slack_signed_out(self, tenant: Tenant, user_id: str) -> str:
        """meetbot itself just revoked the person's Slack token: Slack's `tokens_revoked` for it is only an echo."""
        return self._user(tenant, user_id, "slack-signed-out")

    def presence(self, tenant: Tenant, user_id: str) -> str:
        """The person's `/meet presence` choice and, while meetbot holds their status, what they had before."""
        return self._user(tenant, user_id, "presence")

    def presence_calls(self, tenant: Tenant, user_id: str) -> str:
        """The conferences meetbot last saw the person in (a safety TTL: a call nobody reads again ends)."""
        return self._user(tenant, user_id, "presence-calls")

    def presence_lock(self, tenant: Tenant, user_id: str) -> str:
        return self._user(tenant, user_id, "presence-lock")

    def presence_people(self, tenant: Tenant) -> str:
        """Who turned presence on in a team, so an uninstall can find them all."""
        return self._team(tenant, "presence-people")

    def slack_user_pattern(self) -> str:
        """SCAN pattern for every stored Slack user token (key rotation)."""
        return f"{self.prefix}:{{*}}:slack-user"

    # Slack installations (many-workspace mode).
    def installation(self, tenant: Tenant) -> str:
        return self._team(tenant, "installation")

    def install_state(self, state: str) -> str:
        return f"{self.prefix}:{{install-state:{_clean(state)}}}"

    # Domain-wide delegation: the impersonated access token, cached (encrypted, with a TTL) until shortly before
    # it expires. Not matched by google_link_pattern(): it is a cache, not a link.
    def delegated_token(self, tenant: Tenant, user_id: str) -> str:
        return self._user(tenant, user_id, "google-delegated")
