"""SlackState: the emulated workspaces (teams, users, channels, tokens) and what happened in them."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import string
import threading
import time
import zoneinfo
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from emulators.slack.blockkit import block_text_length, validate_blocks, with_block_ids
from emulators.slack.models import JSON, LinkShare, OAuthCode, ResponseUrl, Team, TokenInfo
from emulators.slack.recording import TrafficLog
from emulators.slack_calls import CallObjects
from emulators.slack_profile import Profiles
from emulators.slack_socket import SocketMode

# The bot scopes of the reference manifest (§7), plus channels:join (conversations.join needs it), im:write and
# bookmarks:read. The default token carries them all; the bot's tests use manifest.yaml's scopes instead.
DEFAULT_BOT_SCOPES: Final[tuple[str, ...]] = (
    "commands",
    "chat:write",
    "chat:write.public",
    "links:read",
    "links:write",
    "users:read",
    "users:read.email",
    "channels:read",
    "channels:join",
    "groups:read",
    "im:read",
    "im:write",
    "mpim:read",
    "calls:read",
    "calls:write",
    "bookmarks:read",
    "bookmarks:write",
    "pins:write",
)

RESPONSE_URL_MAX_USES: Final = 5  # reference §2
RESPONSE_URL_TTL: Final = 30 * 60.0  # reference §2
OAUTH_CODE_TTL: Final = 10 * 60.0  # guess: Slack documents codes as short-lived; ten minutes assumed
_ID_ALPHABET: Final = string.digits + string.ascii_uppercase


def _base36(n: int, width: int) -> str:
    digits = ""
    while n:
        n, rem = divmod(n, 36)
        digits = _ID_ALPHABET[rem] + digits
    return digits.rjust(width, "0")


def _tz_fields(tz: str) -> tuple[str, int]:
    try:
        now = datetime.now(zoneinfo.ZoneInfo(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return ("Coordinated Universal Time", 0)
    offset = now.utcoffset()
    # guess: Slack's tz_label is a long name ("Pacific Daylight Time"); the zone abbreviation stands in.
    return (now.tzname() or tz, int(offset.total_seconds()) if offset else 0)


class SlackState(TrafficLog):
    """Everything the emulator knows and has seen. Thread-safe: the server thread and tests share it."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T0001",
        *,
        team_name: str = "Emulated Workspace",
        team_domain: str = "emulated",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_name: str = "meet",
        app_id: str = "A0MEET",
        client_id: str = "1111.2222",
        client_secret: str = "emulator-client-secret",
        scopes: Iterable[str] = DEFAULT_BOT_SCOPES,
        enterprise_id: str | None = None,
        token_rotation: bool = False,
        unfurl_domains: Iterable[str] = ("meet.google.com",),
        strict_unfurls: bool = False,
        installer_user_id: str = "U0INSTALLER",
        oauth_redirect_uri: str | None = None,
        auth_prompt_dismissed_by: Iterable[str] = (),
        block_text_limit: int | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.socket_mode = SocketMode()
        self.bot_token = bot_token
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = tuple(scopes)
        self.enterprise_id = enterprise_id
        self.token_rotation = token_rotation
        self.unfurl_domains = tuple(unfurl_domains)
        # guess: with strict_unfurls off, chat.unfurl does not insist on a known channel, message or
        # unfurl_id.
        self.strict_unfurls = strict_unfurls
        self.installer_user_id = installer_user_id
        # The app's configured redirect URL: /oauth/v2/authorize falls back to it when the request has none.
        self.oauth_redirect_uri = oauth_redirect_uri
        # Users who answered chat.unfurl's authentication prompt with "never ask again": a later chat.unfurl
        # that asks them to authenticate fails with cannot_prompt.
        self.auth_prompt_dismissed_by = tuple(auth_prompt_dismissed_by)
        # guess (reference §8: bolt-js#2509 reports an undocumented msg_blocks_too_long at about 13k characters in
        # all): with a limit, a message whose blocks' text adds up past it is refused. None: no such limit.
        self.block_text_limit = block_text_limit
        self._clock_offset = 0.0
        self._seq = 0
        self._last_ts_micro = 0
        self._init_runtime()
        self._init_config()

    # -- set-up ----------------------------------------------------------------------------------------------

    def _init_config(self) -> None:
        self._teams: dict[str, Team] = {}
        self._users: dict[str, JSON] = {}
        self._channels: dict[str, JSON] = {}
        self._tokens: dict[str, TokenInfo] = {}
        self._refresh_tokens: dict[str, TokenInfo] = {}
        self._dismissed_auth_prompts: set[str] = set(self.auth_prompt_dismissed_by)
        self.add_team(
            self.team_id,
            self.team_name,
            domain=self.team_domain,
            bot_user_id=self.bot_user_id,
            bot_id=self.bot_id,
            enterprise_id=self.enterprise_id,
        )
        self.add_token(self.bot_token, kind="bot", team_id=self.team_id, scopes=self.scopes)

    def _init_runtime(self) -> None:
        self._init_traffic()
        self._response_urls: dict[str, ResponseUrl] = {}
        self._messages: dict[str, list[JSON]] = {}
        self._ephemeral: dict[str, list[JSON]] = {}
        self._views: dict[str, JSON] = {}
        self._home_views: dict[str, str] = {}
        self._bookmarks: dict[str, JSON] = {}
        self._unfurls: list[JSON] = []
        self._shares: list[LinkShare] = []
        self._triggers: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._oauth_codes: dict[str, OAuthCode] = {}
        self.call_objects = CallObjects()  # the Calls API (emulators/slack_calls.py)
        self.profiles = Profiles()  # statuses and snoozes (emulators/slack_profile.py)

    def reset(self, keep_config: bool = False) -> None:
        """Forget all traffic and runtime data. Unless keep_config, users, channels, teams and tokens too."""
        with self._lock:
            self._init_runtime()
            self._clock_offset = 0.0
            if not keep_config:
                self._init_config()

    def add_team(
        self,
        team_id: str,
        name: str,
        *,
        domain: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
    ) -> None:
        with self._lock:
            team = Team(
                id=team_id,
                name=name,
                domain=domain or re.sub(r"[^a-z0-9-]", "", name.lower().replace(" ", "-")) or team_id.lower(),
                # guess: bot user / bot ids of other workspaces are derived from the team id
                bot_user_id=bot_user_id or f"U{team_id[1:]}BOT",
                bot_id=bot_id or f"B{team_id[1:]}BOT",
                enterprise_id=enterprise_id,
                enterprise_name=enterprise_name or (f"{name} Grid" if enterprise_id else None),
            )
            self._teams[team_id] = team
            self._users[team.bot_user_id] = {
                "id": team.bot_user_id,
                "team_id": team_id,
                "name": self.bot_name,
                "deleted": False,
                "real_name": self.bot_name,
                "tz": "America/Los_Angeles",
                "email": None,
                "is_admin": False,
                "is_owner": False,
                "is_bot": True,
                "bot_id": team.bot_id,
            }

    def add_user(
        self,
        id: str,
        name: str,
        email: str | None = None,
        is_admin: bool = False,
        tz: str = "America/Los_Angeles",
        *,
        real_name: str | None = None,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
        locale: str = "en-US",
        is_stranger: bool = False,
    ) -> JSON:
        """`team_id` other than the workspace's: a Slack Connect user of another organisation; `is_stranger`: one
        this workspace shares no channel with (users.info then says `is_stranger: true`)."""
        with self._lock:
            user: JSON = {
                "is_stranger": is_stranger,
                "id": id,
                "team_id": team_id or self.team_id,
                "name": name,
                "deleted": deleted,
                "real_name": real_name or name,
                "tz": tz,
                "email": email,
                "is_admin": is_admin or is_owner,
                "is_owner": is_owner,
                "is_bot": is_bot,
                "bot_id": None,
                "locale": locale,
            }
            self._users[id] = user
            return self._user_out(user, include_email=True, include_locale=True)

    def add_channel(
        self,
        id: str,
        name: str,
        is_member: bool = True,
        is_private: bool = False,
        is_im: bool = False,
        *,
        is_mpim: bool = False,
        is_archived: bool = False,
        user: str | None = None,
        topic: str = "",
        purpose: str = "",
        members: list[str] | None = None,
    ) -> JSON:
        """A conversation. `user` is the other party of an IM; `members` its human members (the bot's own
        membership is `is_member`)."""
        with self._lock:
            channel: JSON = {
                "members": list(members or ([user] if user else [])),
                "id": id,
                "name": name,
                "is_member": is_member,
                "is_private": is_private or is_mpim,
                "is_im": is_im,
                "is_mpim": is_mpim,
                "is_archived": is_archived,
                "user": user,
                "created": int(self.now()),
                "topic": topic,
                "purpose": purpose,
            }
            self._channels[id] = channel
            return self._channel_out(channel)

    def join_channel(self, channel: str, user_id: str, *, inviter: str | None = None) -> JSON | None:
        """`user_id` joins the conversation. Returns the `member_joined_channel` event Slack sends the app (for the
        test to deliver), or None: Slack sends member events only for conversations the bot is a member of
        (reference §10). The bot's own user joining (`/invite @meetbot`) makes the bot a member."""
        with self._lock:
            ch = self._channels[channel]
            if user_id == self._teams[self.team_id].bot_user_id:
                ch["is_member"] = True
            elif user_id not in ch["members"]:
                ch["members"].append(user_id)
            return self._member_event(ch, "member_joined_channel", user_id, inviter)

    def invite_bot(self, channel: str, inviter: str) -> JSON | None:
        """Someone ran `/invite @<the bot>` in the channel: the bot is a member from now on."""
        return self.join_channel(channel, self._teams[self.team_id].bot_user_id, inviter=inviter)

    def leave_channel(self, channel: str, user_id: str) -> JSON | None:
        """`user_id` leaves; the `member_left_channel` event the app gets, or None (see join_channel)."""
        with self._lock:
            ch = self._channels[channel]
            if user_id in ch["members"]:
                ch["members"].remove(user_id)
            return self._member_event(ch, "member_left_channel", user_id, None)

    def _member_event(self, ch: JSON, kind: str, user_id: str, inviter: str | None) -> JSON | None:
        if not ch["is_member"]:
            return None
        event: JSON = {"type": kind, "user": user_id, "channel": ch["id"],
                       "channel_type": "G" if ch["is_private"] else "C", "team": self.team_id,
                       "event_ts": f"{self.now():.6f}"}
        if inviter is not None:
            event["inviter"] = inviter
        return event

    def members_of(self, channel: str) -> list[str]:
        with self._lock:
            return list(self._channels[channel]["members"])

    def add_token(
        self,
        token: str,
        *,
        kind: str = "bot",
        team_id: str | None = None,
        user_id: str | None = None,
        scopes: Iterable[str] | None = None,
        expires_in: float | None = None,
    ) -> TokenInfo:
        """Make a token valid. Bot tokens act as the team's bot user; user tokens need user_id."""
        with self._lock:
            team = self._teams[team_id or self.team_id]
            if kind not in ("bot", "user"):
                raise ValueError(f"kind must be 'bot' or 'user', not {kind!r}")
            if kind == "user" and not user_id:
                raise ValueError("a user token needs user_id")
            info = TokenInfo(
                token=token,
                kind=kind,
                team_id=team.id,
                user_id=user_id or team.bot_user_id,
                scopes=tuple(scopes) if scopes is not None else (self.scopes if kind == "bot" else ()),
                bot_id=team.bot_id if kind == "bot" else None,
                expires_at=self.now() + expires_in if expires_in is not None else None,
            )
            self._tokens[token] = info
            return info

    def dismiss_auth_prompt(self, user_id: str, dismissed: bool = True) -> None:
        """`user_id` chose "never ask again" on an unfurl's authentication prompt (dismissed=False undoes it).

        From then on chat.unfurl calls that ask for user authentication (user_auth_required, user_auth_message,
        user_auth_url or user_auth_blocks) for links this user shared answer cannot_prompt.
        """
        with self._lock:
            if dismissed:
                self._dismissed_auth_prompts.add(user_id)
            else:
                self._dismissed_auth_prompts.discard(user_id)

    def dismissed_auth_prompts(self) -> set[str]:
        with self._lock:
            return set(self._dismissed_auth_prompts)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            if token in self._tokens:
                self._tokens[token].revoked = True

    def revoke_user_tokens(self, user_id: str) -> bool:
        """The person removed the app from their account: every user token of theirs stops working."""
        with self._lock:
            found = [t for t in self._tokens.values() if t.kind == "user" and t.user_id == user_id and not t.revoked]
            for info in found:
                info.revoked = True
            return bool(found)

    def token_info(self, token: str) -> TokenInfo | None:
        with self._lock:
            info = self._tokens.get(token)
            return copy.copy(info) if info else None

    def add_message(
        self,
        channel: str,
        text: str,
        user: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        blocks: list[JSON] | None = None,
    ) -> str:
        """A message somebody else posted (for chat.unfurl, message shortcuts). Returns its ts."""
        with self._lock:
            msg: JSON = {
                "type": "message",
                "user": user,
                "text": text,
                "ts": ts or self._next_ts(),
                "team": self._users.get(user, {}).get("team_id", self.team_id),
            }
            if blocks is not None:
                msg["blocks"] = copy.deepcopy(blocks)
            if thread_ts:
                msg["thread_ts"] = thread_ts
            self._messages.setdefault(channel, []).append(msg)
            return str(msg["ts"])

    def issue_trigger_id(self) -> str:
        """A trigger_id as Slack puts into interactive payloads; views.open honours its 3-second life."""
        with self._lock:
            self._seq += 1
            trigger = f"{self._seq}{secrets.randbelow(10**6):06d}.{int(self.now())}.{secrets.token_hex(16)}"
            self._triggers[trigger] = self.now()
            return trigger

    def issue_oauth_code(
        self,
        *,
        team_id: str | None = None,
        user_id: str | None = None,
        scopes: Iterable[str] | None = None,
        user_scopes: Iterable[str] = (),
        redirect_uri: str | None = None,
    ) -> str:
        """A one-time code for oauth.v2.access, as if `user_id` had approved the install in `team_id`."""
        with self._lock:
            team = team_id or self.team_id
            if team not in self._teams:
                self.add_team(team, f"Workspace {team}")
            code = f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}.{secrets.token_hex(32)}"
            self._oauth_codes[code] = OAuthCode(
                code=code,
                team_id=team,
                user_id=user_id or self.installer_user_id,
                scopes=tuple(scopes) if scopes is not None else self.scopes,
                user_scopes=tuple(user_scopes),
                redirect_uri=redirect_uri,
                expires_at=self.now() + OAUTH_CODE_TTL,
            )
            return code

    def register_response_url(
        self,
        name: str,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> None:
        """Issue (or re-issue) response_url `name`. `channel` lets in_channel replies land in messages()."""
        with self._lock:
            self._response_urls[name] = ResponseUrl(
                name=name, created=self.now(), channel=channel, user=user, message_ts=message_ts
            )

    def share_links(
        self,
        urls: Iterable[str],
        *,
        channel: str,
        user: str,
        source: str = "conversations_history",
        message_ts: str | None = None,
    ) -> JSON:
        """Somebody shares links: returns the `link_shared` event (reference §3) to send to the bot.

        For source "conversations_history" a message carrying the links is stored in `channel` (unless
        message_ts names an existing one). chat.unfurl then only accepts these URLs for this message or
        unfurl_id.
        """
        with self._lock:
            links = tuple(urls)
            if source == "composer":
                # Composer events carry a placeholder channel/ts that is not a real message (slack-go#999).
                ts = f"{user}.{int(self.now())}.{secrets.token_hex(8)}"
                ev_channel = "COMPOSER"
            else:
                ev_channel = channel
                ts = message_ts or self.add_message(channel, " ".join(f"<{u}>" for u in links), user)
            unfurl_id = f"{user}-{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}"
            self._shares.append(
                LinkShare(
                    urls=links,
                    channel=ev_channel,
                    message_ts=ts,
                    unfurl_id=unfurl_id,
                    source=source,
                    user=user,
                )
            )
            chan = self._channels.get(channel)
            return {
                "type": "link_shared",
                "channel": ev_channel,
                "is_bot_user_member": bool(chan and chan["is_member"]),
                "user": user,
                "message_ts": ts,
                "unfurl_id": unfurl_id,
                "source": source,
                "links": [{"domain": (urlsplit(u).hostname or ""), "url": u} for u in links],
                "event_ts": self._next_ts(),
            }

    def blocks_too_long(self, blocks: list[Any]) -> bool:
        """Past the (guessed, switchable) cumulative limit on a message's block text."""
        return self.block_text_limit is not None and block_text_length(blocks) > self.block_text_limit

    def event_envelope(self, event: JSON, *, team_id: str | None = None) -> JSON:
        """Wrap an event in the Events API envelope (reference §3)."""
        with self._lock:
            team = self._teams[team_id or self.team_id]
            return {
                "token": "verification-token-unused",
                "team_id": team.id,
                "api_app_id": self.app_id,
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{_base36(secrets.randbelow(36**10), 10)}",
                "event_time": int(self.now()),
                "authorizations": [
                    {
                        "enterprise_id": team.enterprise_id,
                        "team_id": team.id,
                        "user_id": team.bot_user_id,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
                "event_context": f"4-{secrets.token_urlsafe(24)}",
            }

    def advance_time(self, seconds: float) -> None:
        """Move the emulator's clock forward (expiry of triggers, response_urls, codes and tokens)."""
        with self._lock:
            self._clock_offset += seconds

    def now(self) -> float:
        return time.time() + self._clock_offset

    # -- reading ---------------------------------------------------------------------------------------------

    def messages(self, channel: str) -> list[JSON]:
        with self._lock:
            return sorted(copy.deepcopy(self._messages.get(channel, [])), key=lambda m: float(m["ts"]))

    def ephemeral_messages(self, channel: str) -> list[JSON]:
        """Ephemeral messages in `channel`; each carries an emulator-only `recipient` field."""
        with self._lock:
            return copy.deepcopy(self._ephemeral.get(channel, []))

    def message(self, channel: str, ts: str) -> JSON | None:
        with self._lock:
            msg = self._find_message(channel, ts)
            return copy.deepcopy(msg) if msg else None

    def view(self, view_id: str) -> JSON | None:
        with self._lock:
            return copy.deepcopy(self._views.get(view_id))

    def home_view(self, user_id: str) -> JSON | None:
        with self._lock:
            vid = self._home_views.get(user_id)
            return copy.deepcopy(self._views[vid]) if vid else None

    def bookmarks(self, channel: str | None = None) -> list[JSON]:
        with self._lock:
            found = [b for b in self._bookmarks.values() if channel is None or b["channel_id"] == channel]
            return copy.deepcopy(found)

    def unfurls(self) -> list[JSON]:
        """Accepted chat.unfurl requests, oldest first. `user` (emulator-only) is who shared the links."""
        with self._lock:
            return copy.deepcopy(self._unfurls)

    def users(self) -> dict[str, JSON]:
        with self._lock:
            return {
                k: self._user_out(u, include_email=True, include_locale=True) for k, u in self._users.items()
            }

    def channels(self) -> dict[str, JSON]:
        with self._lock:
            return {k: self._channel_out(c) for k, c in self._channels.items()}

    def snapshot(self) -> JSON:
        with self._lock:
            return {
                "users": self.users(),
                "channels": self.channels(),
                "messages": copy.deepcopy(self._messages),
                "ephemeral": copy.deepcopy(self._ephemeral),
                "views": copy.deepcopy(self._views),
                "home_views": dict(self._home_views),
                "bookmarks": self.bookmarks(),
                "unfurls": self.unfurls(),
                "now": self.now(),
            }

    # -- response_urls ---------------------------------------------------------------------------------------

    def handle_response_post(self, name: str, raw: bytes, content_type: str) -> tuple[int, str]:
        """A POST to a response_url. Returns (status, text body) as Slack's hooks endpoint would."""
        with self._lock:
            now = self.now()
            record: JSON = {"name": name, "time": now, "body": None, "raw": raw.decode("utf-8", "replace")}

            def answer(status: int, text: str) -> tuple[int, str]:
                record["status"] = status
                record["response"] = text
                self._response_posts.append(record)
                return status, text

            url = self._response_urls.get(name)
            if url is None:
                # guess: a response_url the emulator never issued counts as freshly issued (payloads built by
                # hand in tests); Slack would refuse an unknown one.
                url = ResponseUrl(name=name, created=now)
                self._response_urls[name] = url
            if now - url.created > RESPONSE_URL_TTL:
                return answer(404, "expired_url")  # guess: status and body text
            if url.uses >= RESPONSE_URL_MAX_USES:
                return answer(404, "used_url")
            payload: Any
            try:
                text = raw.decode("utf-8")
                if content_type == "application/x-www-form-urlencoded" or text.startswith("payload="):
                    payload = json.loads(dict(parse_qsl(text)).get("payload", ""))
                else:
                    payload = json.loads(text)
            except ValueError:
                return answer(400, "invalid_payload")
            if not isinstance(payload, dict):
                return answer(400, "invalid_payload")
            record["body"] = payload
            has_content = payload.get("text") or payload.get("blocks") or payload.get("attachments")
            if not has_content and not payload.get("delete_original"):
                return answer(400, "no_text")
            if isinstance(payload.get("blocks"), list):
                errs = validate_blocks(payload["blocks"], "/blocks", 50)
                if errs:
                    return answer(400, "invalid_blocks")
                if self.blocks_too_long(payload["blocks"]):
                    return answer(400, "msg_blocks_too_long")
            url.uses += 1
            self._apply_response_post(url, payload)
            return answer(200, "ok")

    # -- internals -------------------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        micro = int(self.now() * 1_000_000)
        if micro <= self._last_ts_micro:
            micro = self._last_ts_micro + 1
        self._last_ts_micro = micro
        return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"

    def _new_id(self, prefix: str, width: int = 8) -> str:
        self._seq += 1
        return f"{prefix}{_base36(self._seq * 7919 + secrets.randbelow(7919), width)}"

    def _new_hash(self) -> str:
        return f"{int(self.now())}.{secrets.token_hex(4)}"

    def _user_out(self, user: JSON, *, include_email: bool, include_locale: bool = False) -> JSON:
        tz_label, tz_offset = _tz_fields(user["tz"])
        profile: JSON = {
            "real_name": user["real_name"],
            "display_name": user["name"],
            "real_name_normalized": user["real_name"],
            "display_name_normalized": user["name"],
            "avatar_hash": "g" + hashlib.sha1(user["id"].encode()).hexdigest()[:11],
            "image_48": f"https://avatars.example.invalid/{user['id']}_48.png",
            "image_72": f"https://avatars.example.invalid/{user['id']}_72.png",
            "team": user["team_id"],
            **self.profiles.status(user["id"], self.now()).out(),
        }
        if user["is_bot"]:
            profile["bot_id"] = user["bot_id"]
            profile["api_app_id"] = self.app_id
            profile["always_active"] = True
        elif include_email and user["email"]:
            profile["email"] = user["email"]
        out: JSON = {
            "id": user["id"],
            "team_id": user["team_id"],
            "name": user["name"],
            "deleted": user["deleted"],
            "real_name": user["real_name"],
            "tz": user["tz"],
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": user["is_admin"],
            "is_owner": user["is_owner"],
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user["is_bot"],
            "is_app_user": False,
            "updated": 1700000000,
        }
        if user.get("is_stranger"):
            out["is_stranger"] = True
        if include_locale:
            out["locale"] = user.get("locale", "en-US")
        return out

    def _channel_out(self, ch: JSON) -> JSON:
        if ch["is_im"]:
            out: JSON = {
                "id": ch["id"],
                "created": ch["created"],
                "is_im": True,
                "is_org_shared": False,
                "user": ch["user"],
                "is_user_deleted": False,
                "priority": 0,
            }
        else:
            out = {
                "id": ch["id"],
                "name": ch["name"],
                "is_channel": not ch["is_private"],
                "is_group": False,
                "is_im": False,
                "is_mpim": ch["is_mpim"],
                "is_private": ch["is_private"],
                "created": ch["created"],
                "is_archived": ch["is_archived"],
                "is_general": ch["name"] == "general",
                "unlinked": 0,
                "name_normalized": ch["name"],
                "is_shared": False,
                "is_org_shared": False,
                "is_ext_shared": False,
                "is_pending_ext_shared": False,
                "pending_shared": [],
                "context_team_id": self.team_id,
                "creator": "",
                "is_member": ch["is_member"],
                "topic": {"value": ch["topic"], "creator": "", "last_set": 0},
                "purpose": {"value": ch["purpose"], "creator": "", "last_set": 0},
                "previous_names": [],
            }
        return out

    def _find_message(self, channel: str, ts: str) -> JSON | None:
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    def _apply_response_post(self, url: ResponseUrl, payload: JSON) -> None:
        if url.channel is None:
            return
        team = self._teams[self.team_id]
        original = self._find_message(url.channel, url.message_ts) if url.message_ts else None
        if payload.get("delete_original") and original is not None:
            self._messages[url.channel].remove(original)
            return
        msg: JSON = {
            "type": "message",
            "user": team.bot_user_id,
            "bot_id": team.bot_id,
            "app_id": self.app_id,
            "text": payload.get("text") or "",
            "team": team.id,
        }
        if isinstance(payload.get("blocks"), list):
            msg["blocks"] = with_block_ids(payload["blocks"])
        if payload.get("thread_ts"):
            msg["thread_ts"] = payload["thread_ts"]
        if payload.get("replace_original") and original is not None:
            original.update(msg)
            return
        msg["ts"] = self._next_ts()
        if payload.get("response_type") == "in_channel":
            self._messages.setdefault(url.channel, []).append(msg)
        else:
            msg["recipient"] = url.user
            self._ephemeral.setdefault(url.channel, []).append(msg)
