"""The Web API methods the bot and Bolt call: a handler each, the method and scope tables, and dispatch."""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from emulators.slack.blockkit import validate_blocks, validate_view, with_block_ids
from emulators.slack.models import JSON, ApiError, ApiResult, MethodCall, OAuthCode, Params, Team, TokenInfo
from emulators.slack.state import SlackState
from emulators.slack_calls import CALL_METHODS, CALL_SCOPES, call_block_errors
from emulators.slack_profile import PROFILE_METHODS, PROFILE_SCOPES

# Any one of these scopes admits the method (reference §6). Methods absent here need no scope.
METHOD_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.unfurl": ("links:write",),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "conversations.join": ("channels:join",),
    "conversations.members": ("channels:read", "groups:read", "im:read", "mpim:read"),  # by type, checked below
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),  # by type, checked below
    "bookmarks.add": ("bookmarks:write",),
    "bookmarks.edit": ("bookmarks:write",),
    "bookmarks.remove": ("bookmarks:write",),
    **CALL_SCOPES,
    **PROFILE_SCOPES,
}

TRIGGER_TTL: Final = 3.0  # reference §2
TOKEN_LIFETIME: Final = 43200  # reference §5: rotated tokens expire after 12 h

_TRIGGER_RE: Final = re.compile(r"^\d+\.\d+\.[0-9A-Za-z]+$")  # guess: Slack documents "132456.7890123.abcdef"
_EMOJI_RE: Final = re.compile(r"^:[a-z0-9_+'\-]+:$")


def call_method(
    state: SlackState,
    method: str,
    params: Params,
    *,
    token: str | None,
    basic: tuple[str, str] | None = None,
    http_method: str = "POST",
) -> ApiResult:
    """Authenticate, check the scope, run the method's handler and record the call (`method` is in METHODS)."""
    with state._lock:
        started = state.now()
        headers: dict[str, str] = {}
        needed = METHOD_SCOPES.get(method, ())
        if needed:
            headers["X-Accepted-OAuth-Scopes"] = ",".join(needed)
        status = 200
        try:
            handler = METHODS[method]
            info: TokenInfo | None = None
            if method not in NO_AUTH:
                info = _authenticate(state, token)
                headers["X-OAuth-Scopes"] = ",".join(info.scopes)
                if needed:
                    _require(info, *needed)
            body: JSON = {"ok": True, **handler(state, MethodCall(method, params, info, basic))}
        except ApiError as exc:
            status = exc.status
            body = exc.body()
            headers.update(exc.headers)
        state.record_call(
            method,
            params.recorded(),
            token,
            status,
            body,
            http_method=http_method,
            body_format=params.body_format,
            started=started,
        )
        return ApiResult(status, copy.deepcopy(body), headers)


def _authenticate(s: SlackState, token: str | None) -> TokenInfo:
    if not token:
        raise ApiError("not_authed")
    info = s._tokens.get(token)
    if info is None:
        raise ApiError("invalid_auth")
    if info.revoked:
        raise ApiError("token_revoked")
    if info.expires_at is not None and s.now() >= info.expires_at:
        raise ApiError("token_expired")
    return info


def _require(tok: TokenInfo, *scopes: str) -> None:
    if not any(s in tok.scopes for s in scopes):
        raise ApiError("missing_scope", extra={"needed": ",".join(scopes), "provided": ",".join(tok.scopes)})


# -- auth and users ------------------------------------------------------------------------------------------


def _auth_test(s: SlackState, c: MethodCall) -> JSON:
    tok = c.tok
    team = s._teams[tok.team_id]
    out: JSON = {
        "url": f"https://{team.domain}.slack.com/",
        "team": team.name,
        "user": s._users.get(tok.user_id, {}).get("name", tok.user_id),
        "team_id": team.id,
        "user_id": tok.user_id,
    }
    if tok.kind == "bot":
        out["bot_id"] = tok.bot_id
    if team.enterprise_id:
        out["enterprise_id"] = team.enterprise_id
    out["is_enterprise_install"] = False
    return out


def _users_info(s: SlackState, c: MethodCall) -> JSON:
    user = s._users.get(c.params.get("user") or "")
    if user is None:
        raise ApiError("user_not_found")
    return {
        "user": s._user_out(
            user,
            include_email="users:read.email" in c.tok.scopes,
            include_locale=c.params.flag("include_locale"),
        )
    }


def _users_lookup_by_email(s: SlackState, c: MethodCall) -> JSON:
    wanted = (c.params.get("email") or "").strip().lower()
    if not wanted:
        raise ApiError("invalid_arguments")
    user = next((u for u in s._users.values() if (u.get("email") or "").lower() == wanted and not u["deleted"]), None)
    if user is None:
        raise ApiError("users_not_found")
    return {"user": s._user_out(user, include_email=True)}


# -- messages and unfurls ------------------------------------------------------------------------------------


def _channel_by_ref(s: SlackState, ref: str) -> JSON | None:
    ch = s._channels.get(ref)
    if ch is None:
        name = ref.removeprefix("#")
        ch = next((c for c in s._channels.values() if c["name"] == name and not c["is_im"]), None)
    return ch


def _visible_channel(s: SlackState, ref: str | None) -> JSON:
    """A conversation the bot can see: unknown ones and private ones it is not in do not exist for it."""
    ch = s._channels.get(ref) if ref else None
    if ch is None or (not ch["is_member"] and (ch["is_private"] or ch["is_im"])):
        raise ApiError("channel_not_found")
    return ch


def _open_im(s: SlackState, user_id: str) -> tuple[JSON, bool]:
    existing = next((c for c in s._channels.values() if c["is_im"] and c["user"] == user_id), None)
    if existing is not None:
        return existing, True
    # guess: IM ids are derived from the user id
    s.add_channel(f"D{user_id[1:]}", user_id, is_member=True, is_im=True, user=user_id)
    return s._channels[f"D{user_id[1:]}"], False


def _postable_channel(s: SlackState, tok: TokenInfo, ref: str | None) -> JSON:
    if not ref:
        raise ApiError("channel_not_found")
    ch = _channel_by_ref(s, ref)
    if ch is None and ref[:1] in ("U", "W") and ref in s._users:
        # chat.postMessage to a user id posts in the app's DM with that user.
        ch, _ = _open_im(s, ref)
    if ch is None:
        raise ApiError("channel_not_found")
    if ch["is_archived"]:
        raise ApiError("is_archived")
    if not ch["is_member"]:
        if ch["is_private"] or ch["is_im"]:
            raise ApiError("channel_not_found")
        if "chat:write.public" not in tok.scopes:
            raise ApiError("not_in_channel")
    return ch


def _content(s: SlackState, p: Params, *, require: bool) -> tuple[str | None, list[Any] | None, list[Any] | None]:
    text = p.get("text")
    markdown_text = p.get("markdown_text")
    blocks = p.obj("blocks", "invalid_blocks_format")
    attachments = p.obj("attachments", "invalid_attachments")
    if markdown_text is not None:
        if text is not None or blocks is not None:
            raise ApiError("markdown_text_conflict")
        text = markdown_text
    if blocks is not None:
        if not isinstance(blocks, list):
            raise ApiError("invalid_blocks_format")
        errs = validate_blocks(blocks, "/blocks", 50)
        if errs:
            raise ApiError("invalid_blocks", messages=errs)
        if s.blocks_too_long(blocks):
            raise ApiError("msg_blocks_too_long")
    if attachments is not None:
        if not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        if len(attachments) > 100:
            raise ApiError("too_many_attachments")
    if require and not text and not blocks and not attachments:
        raise ApiError("no_text")
    if text is not None and len(text) > 40000:
        raise ApiError("msg_too_long")
    return text, blocks, attachments


def _check_call_blocks(s: SlackState, tok: TokenInfo, blocks: list[Any] | None) -> None:
    errs = call_block_errors(s, tok.team_id, blocks)
    if errs:
        raise ApiError("invalid_blocks", messages=errs)


def _bot_profile(s: SlackState, tok: TokenInfo) -> JSON:
    return {
        "id": tok.bot_id,
        "app_id": s.app_id,
        "name": s.bot_name,
        "icons": {"image_48": "https://avatars.example.invalid/bot_48.png"},
        "deleted": False,
        "updated": 1700000000,
        "team_id": tok.team_id,
    }


def _chat_post_message(s: SlackState, c: MethodCall) -> JSON:
    tok, p = c.tok, c.params
    ch = _postable_channel(s, tok, p.get("channel"))
    text, blocks, attachments = _content(s, p, require=True)
    _check_call_blocks(s, tok, blocks)
    metadata = p.obj("metadata", "invalid_metadata_format")
    msg: JSON = {
        "user": tok.user_id,
        "type": "message",
        "ts": s._next_ts(),
        "text": text or "",
        "team": tok.team_id,
    }
    if tok.kind == "bot":
        msg.update({"bot_id": tok.bot_id, "app_id": s.app_id, "bot_profile": _bot_profile(s, tok)})
    if blocks is not None:
        msg["blocks"] = with_block_ids(blocks)
    if attachments is not None:
        msg["attachments"] = [{"id": i + 1, **a} for i, a in enumerate(attachments) if isinstance(a, dict)]
    if p.get("thread_ts"):
        msg["thread_ts"] = p.get("thread_ts")
        if p.flag("reply_broadcast"):
            msg["subtype"] = "thread_broadcast"
    if isinstance(metadata, dict):
        msg["metadata"] = metadata
    s._messages.setdefault(ch["id"], []).append(msg)
    return {"channel": ch["id"], "ts": msg["ts"], "message": copy.deepcopy(msg)}


def _chat_post_ephemeral(s: SlackState, c: MethodCall) -> JSON:
    """Only `user` sees it, in `channel`; Slack keeps no copy (it can't be updated) and answers `message_ts`."""
    tok, p = c.tok, c.params
    ch = _postable_channel(s, tok, p.get("channel"))
    user = p.get("user")
    if not user or user not in s._users:
        raise ApiError("user_not_found")
    if not ch["is_im"] and ch["members"] and user not in ch["members"]:  # an empty list: membership not modelled
        raise ApiError("user_not_in_channel")
    text, blocks, _ = _content(s, p, require=True)
    msg: JSON = {"type": "message", "ts": s._next_ts(), "text": text or "", "recipient": user}
    if blocks is not None:
        msg["blocks"] = with_block_ids(blocks)
    if p.get("thread_ts"):
        msg["thread_ts"] = p.get("thread_ts")
    s._ephemeral.setdefault(ch["id"], []).append(msg)
    return {"message_ts": msg["ts"]}


def _own_message(s: SlackState, c: MethodCall) -> tuple[JSON, JSON]:
    """The message `channel` and `ts` name, which only its author may change."""
    ch = _visible_channel(s, c.params.get("channel"))
    ts = c.params.get("ts")
    msg = s._find_message(ch["id"], ts) if ts else None
    if msg is None:
        raise ApiError("message_not_found")
    if msg.get("user") != c.tok.user_id:
        raise ApiError("cant_update_message")
    return ch, msg


def _chat_update(s: SlackState, c: MethodCall) -> JSON:
    ch, msg = _own_message(s, c)
    text, blocks, attachments = _content(s, c.params, require=False)
    _check_call_blocks(s, c.tok, blocks)
    if text is None and blocks is None and attachments is None:
        raise ApiError("no_text")
    if text is not None:
        msg["text"] = text
    # Blocks and attachments left out keep their previous value; an empty list removes them.
    if blocks is not None:
        if blocks:
            msg["blocks"] = with_block_ids(blocks)
        else:
            msg.pop("blocks", None)
    if attachments is not None:
        msg["attachments"] = attachments
    msg["edited"] = {"user": c.tok.user_id, "ts": s._next_ts()}
    return {"channel": ch["id"], "ts": msg["ts"], "text": msg["text"], "message": copy.deepcopy(msg)}


def _chat_unfurl(s: SlackState, c: MethodCall) -> JSON:
    p = c.params
    channel, ts = p.get("channel"), p.get("ts")
    unfurl_id, source = p.get("unfurl_id"), p.get("source")
    if unfurl_id or source:
        if not unfurl_id:
            raise ApiError("missing_unfurl_id")
        if not source:
            raise ApiError("missing_source")
        if source not in ("composer", "conversations_history"):
            raise ApiError("invalid_source")
    elif channel or ts:
        if not channel:
            raise ApiError("missing_channel")
        if not ts:
            raise ApiError("missing_ts")
    else:
        # guess: neither pair given
        hint = "[ERROR] either channel and ts or unfurl_id and source are required"
        raise ApiError("invalid_arguments", messages=[hint])
    unfurls = p.obj("unfurls", "invalid_unfurls_format")
    metadata = p.obj("metadata", "invalid_metadata_format")
    if unfurls is None and metadata is None:
        raise ApiError("missing_unfurls")
    if unfurls is not None and not isinstance(unfurls, dict):
        raise ApiError("invalid_unfurls_format")
    unfurls = unfurls or {}
    for url, value in unfurls.items():
        if not isinstance(value, dict):
            raise ApiError("cannot_parse_attachment")
        if isinstance(value.get("blocks"), list):
            errs = validate_blocks(value["blocks"], f"/unfurls/{url}/blocks", 50)
            if errs:
                raise ApiError("invalid_blocks", messages=errs)
        host = (urlsplit(url).hostname or "").lower()
        if not any(host == d or host.endswith("." + d) for d in s.unfurl_domains):
            raise ApiError("cannot_unfurl_url")
    if unfurl_id:
        share = next((sh for sh in s._shares if sh.unfurl_id == unfurl_id), None)
        if share is None and s.strict_unfurls:
            raise ApiError("invalid_unfurl_id")
    else:
        share = next((sh for sh in s._shares if sh.channel == channel and sh.message_ts == ts), None)
    message = s._find_message(share.channel, share.message_ts) if share else None
    if share is None and channel and ts:
        if channel not in s._channels:
            if s.strict_unfurls:
                raise ApiError("cannot_find_channel")
        else:
            message = s._find_message(channel, ts)
            if message is None and s.strict_unfurls:
                raise ApiError("cannot_find_message")
    for url in unfurls:
        if share is not None and url not in share.urls:
            raise ApiError("cannot_unfurl_url")
        if share is None and message is not None and url not in str(message.get("text", "")):
            raise ApiError("cannot_unfurl_message")
    user_auth_blocks = p.obj("user_auth_blocks", "invalid_blocks_format")
    asks_for_auth = (
        p.flag("user_auth_required")
        or p.get("user_auth_message") is not None
        or p.get("user_auth_url") is not None
        or user_auth_blocks is not None
    )
    # guess: the prompted user is the one who shared the links (or, with no recorded share, the author of the
    # message); Slack does not say how it decides, nor whether anything is shown when it refuses: nothing is.
    sharer = share.user if share else (message.get("user") if message else None)
    if asks_for_auth and sharer in s._dismissed_auth_prompts:
        raise ApiError("cannot_prompt")
    record: JSON = {
        "channel": share.channel if share else channel,
        "ts": share.message_ts if share else ts,
        "unfurl_id": unfurl_id or (share.unfurl_id if share else None),
        "source": source or (share.source if share else None),
        "unfurls": copy.deepcopy(unfurls),
        "user_auth_required": p.flag("user_auth_required"),
        "user_auth_message": p.get("user_auth_message"),
        "user_auth_url": p.get("user_auth_url"),
        "user_auth_blocks": user_auth_blocks,
        "user": sharer,
        "metadata": metadata,
        "time": s.now(),
    }
    s._unfurls.append(record)
    if message is not None and not record["user_auth_required"]:
        # Each URL gets one attachment; calling again for the same message replaces it (reference §3).
        attachments = [a for a in message.get("attachments", []) if a.get("app_unfurl_url") not in unfurls]
        for url, value in unfurls.items():
            attachment: JSON = {"id": len(attachments) + 1, "app_unfurl_url": url, "is_app_unfurl": True}
            attachment.update({"app_id": s.app_id, **copy.deepcopy(value)})
            attachments.append(attachment)
        message["attachments"] = attachments
    return {}


# -- views --------------------------------------------------------------------------------------------------


def _use_trigger(s: SlackState, p: Params) -> None:
    trigger = p.get("trigger_id") or p.get("interactivity_pointer")
    if not trigger:
        # guess: error name for a missing trigger_id
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: trigger_id"])
    if not _TRIGGER_RE.match(trigger):
        raise ApiError("invalid_trigger_id")
    if trigger in s._used_triggers:
        raise ApiError("exchanged_trigger_id")
    issued = s._triggers.get(trigger)
    if issued is not None and s.now() - issued > TRIGGER_TTL:
        raise ApiError("expired_trigger_id")
    s._used_triggers.add(trigger)


def _view_param(p: Params, allowed: tuple[str, ...]) -> JSON:
    view = p.obj("view", "invalid_arguments")
    if view is None:
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: view"])
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", messages=["[ERROR] must be an object [json-pointer:/view]"])
    errs = validate_view(view, allowed)
    if errs:
        raise ApiError("invalid_arguments", messages=errs)
    return view


def _build_view(s: SlackState, tok: TokenInfo, view: JSON, *, existing: JSON | None) -> JSON:
    external_id = view.get("external_id") or ""
    if external_id:
        for other in s._views.values():
            same = existing is not None and other["id"] == existing["id"]
            if other["external_id"] == external_id and not same:
                raise ApiError("duplicate_external_id")
    view_id = existing["id"] if existing else s._new_id("V")
    out: JSON = {
        "id": view_id,
        "team_id": tok.team_id,
        "type": view["type"],
        "blocks": with_block_ids(view.get("blocks", [])),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": s._new_hash(),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": existing["previous_view_id"] if existing else None,
        "root_view_id": existing["root_view_id"] if existing else view_id,
        "app_id": s.app_id,
        "external_id": external_id,
        "app_installed_team_id": tok.team_id,
        "bot_id": tok.bot_id,
    }
    if view["type"] == "modal":
        out["title"] = view.get("title")
    s._views[view_id] = out
    return copy.deepcopy(out)


def _views_open(s: SlackState, c: MethodCall) -> JSON:
    view = _view_param(c.params, ("modal",))
    _use_trigger(s, c.params)
    return {"view": _build_view(s, c.tok, view, existing=None)}


def _views_update(s: SlackState, c: MethodCall) -> JSON:
    p = c.params
    view_id, external_id = p.get("view_id"), p.get("external_id")
    if not view_id and not external_id:
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: view_id"])  # guess
    existing = (
        s._views.get(view_id)
        if view_id
        else next((v for v in s._views.values() if v["external_id"] == external_id), None)
    )
    if existing is None:
        raise ApiError("not_found")
    view = _view_param(p, (existing["type"],))
    given = p.get("hash")
    if given and given != existing["hash"]:
        raise ApiError("hash_conflict")
    return {"view": _build_view(s, c.tok, view, existing=existing)}


def _views_publish(s: SlackState, c: MethodCall) -> JSON:
    p = c.params
    user_id = p.get("user_id")
    if not user_id:
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: user_id"])
    if user_id not in s._users:
        raise ApiError("invalid_arguments", messages=["invalid `user_id`"])
    view = _view_param(p, ("home",))
    existing_id = s._home_views.get(user_id)
    existing = s._views.get(existing_id) if existing_id else None
    given = p.get("hash")
    # guess: a hash sent before any Home view exists is ignored rather than a conflict
    if given and existing is not None and given != existing["hash"]:
        raise ApiError("hash_conflict")
    out = _build_view(s, c.tok, view, existing=existing)
    s._home_views[user_id] = out["id"]
    return {"view": out}


# -- conversations and bookmarks -----------------------------------------------------------------------------


def _conversations_join(s: SlackState, c: MethodCall) -> JSON:
    ref = c.params.get("channel")
    ch = s._channels.get(ref) if ref else None
    if ch is None or (ch["is_private"] and not ch["is_member"]):
        raise ApiError("channel_not_found")
    if ch["is_im"] or ch["is_mpim"] or ch["is_private"]:
        raise ApiError("method_not_supported_for_channel_type")
    if ch["is_archived"]:
        raise ApiError("is_archived")
    out: JSON = {}
    if ch["is_member"]:
        out = {"warning": "already_in_channel", "response_metadata": {"warnings": ["already_in_channel"]}}
    else:
        ch["is_member"] = True
    return {"channel": s._channel_out(ch), **out}


_MEMBERS_SCOPE: Final = {"im": "im:read", "mpim": "mpim:read", "private": "groups:read", "public": "channels:read"}


def _conversations_members(s: SlackState, c: MethodCall) -> JSON:
    """Human members, paged by an opaque cursor (limit default 100, at most 1000)."""
    ch = _visible_channel(s, c.params.get("channel"))
    kind = "im" if ch["is_im"] else "mpim" if ch["is_mpim"] else "private" if ch["is_private"] else "public"
    _require(c.tok, _MEMBERS_SCOPE[kind])
    try:
        limit = int(c.params.get("limit") or 100)
    except ValueError:
        raise ApiError("invalid_limit") from None
    if not 1 <= limit <= 1000:  # guess: past the documented maximum of 1000, invalid_limit (a documented error)
        raise ApiError("invalid_limit")
    try:
        start = int(c.params.get("cursor") or "0", 36) if c.params.get("cursor") else 0
    except ValueError:
        raise ApiError("invalid_cursor") from None
    members = ch["members"]
    page = members[start:start + limit]
    more = start + limit < len(members)
    return {"members": list(page), "response_metadata": {"next_cursor": _base36_cursor(start + limit) if more else ""}}


def _conversations_info(s: SlackState, c: MethodCall) -> JSON:
    """The conversation as the bot sees it; `is_member` says whether the bot is in it (reference §10)."""
    ch = _visible_channel(s, c.params.get("channel"))
    kind = "im" if ch["is_im"] else "mpim" if ch["is_mpim"] else "private" if ch["is_private"] else "public"
    _require(c.tok, _MEMBERS_SCOPE[kind])
    return {"channel": s._channel_out(ch)}


def _base36_cursor(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def _bookmark_channel(s: SlackState, p: Params) -> JSON:
    # guess: bookmarks follow the visibility rule (unknown or private-and-not-member: channel_not_found)
    return _visible_channel(s, p.get("channel_id"))


def _bookmark_out(b: JSON) -> JSON:
    return copy.deepcopy(b)


def _bookmarks_add(s: SlackState, c: MethodCall) -> JSON:
    p = c.params
    ch = _bookmark_channel(s, p)
    title, kind, link, emoji = p.get("title"), p.get("type"), p.get("link"), p.get("emoji")
    if not title:
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: title"])  # guess
    if kind != "link":
        raise ApiError("invalid_bookmark_type")
    if not link or not re.match(r"^https?://", link) or len(link) > 2048:
        raise ApiError("invalid_link")
    if len(title) > 256:
        raise ApiError("invalid_arguments", messages=["[ERROR] must be less than 257 characters"])  # guess
    if emoji and not _EMOJI_RE.match(emoji):
        raise ApiError("invalid_emoji")
    bookmark: JSON = {
        "id": s._new_id("Bk", 10),
        "channel_id": ch["id"],
        "title": title,
        "link": link,
        "emoji": emoji,
        "icon_url": None,  # guess: Slack fills a favicon here
        "type": "link",
        "entity_id": None,
        "date_created": int(s.now()),
        "date_updated": 0,
        "rank": "g",
        "last_updated_by_user_id": c.tok.user_id,
        "last_updated_by_team_id": c.tok.team_id,
        "shortcut_id": None,
        "app_id": s.app_id if c.tok.kind == "bot" else None,
    }
    s._bookmarks[bookmark["id"]] = bookmark
    return {"bookmark": _bookmark_out(bookmark)}


def _find_bookmark(s: SlackState, c: MethodCall) -> JSON:
    ch = _bookmark_channel(s, c.params)
    bookmark = s._bookmarks.get(c.params.get("bookmark_id") or "")
    if bookmark is None or bookmark["channel_id"] != ch["id"]:
        raise ApiError("not_found")
    return bookmark


def _bookmarks_edit(s: SlackState, c: MethodCall) -> JSON:
    bookmark = _find_bookmark(s, c)
    p = c.params
    link, emoji, title = p.get("link"), p.get("emoji"), p.get("title")
    if link is not None and (not re.match(r"^https?://", link) or len(link) > 2048):
        raise ApiError("invalid_link")
    if emoji and not _EMOJI_RE.match(emoji):
        raise ApiError("invalid_emoji")
    for key, value in (("title", title), ("link", link), ("emoji", emoji)):
        if value is not None:
            bookmark[key] = value
    bookmark["date_updated"] = int(s.now())
    bookmark["last_updated_by_user_id"] = c.tok.user_id
    return {"bookmark": _bookmark_out(bookmark)}


def _bookmarks_remove(s: SlackState, c: MethodCall) -> JSON:
    bookmark = _find_bookmark(s, c)
    del s._bookmarks[bookmark["id"]]
    return {}


# -- OAuth --------------------------------------------------------------------------------------------------


def _enterprise(team: Team) -> JSON | None:
    return {"id": team.enterprise_id, "name": team.enterprise_name} if team.enterprise_id else None


def _issue_token(s: SlackState, kind: str, team_id: str, user_id: str, scopes: tuple[str, ...]) -> JSON:
    prefix = "xoxb" if kind == "bot" else "xoxp"
    rand = f"{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"
    if s.token_rotation:
        token = f"xoxe.{prefix}-1-{rand}"
        info = s.add_token(
            token, kind=kind, team_id=team_id, user_id=user_id, scopes=scopes, expires_in=TOKEN_LIFETIME
        )
        refresh = f"xoxe-1-{secrets.token_hex(24)}"
        s._refresh_tokens[refresh] = info
        return {"access_token": token, "refresh_token": refresh, "expires_in": TOKEN_LIFETIME}
    token = f"{prefix}-{team_id[1:]}-{rand}"
    s.add_token(token, kind=kind, team_id=team_id, user_id=user_id, scopes=scopes)
    return {"access_token": token}


def _install_response(s: SlackState, code: OAuthCode) -> JSON:
    team = s._teams[code.team_id]
    out: JSON = {
        "app_id": s.app_id,
        "authed_user": {"id": code.user_id},
        "team": {"id": team.id, "name": team.name},
        "enterprise": _enterprise(team),
        "is_enterprise_install": False,
    }
    if code.scopes:  # only user scopes ("Sign in with Slack"): no bot token at all (reference §10)
        bot = _issue_token(s, "bot", team.id, team.bot_user_id, code.scopes)
        out.update({"scope": ",".join(code.scopes), "token_type": "bot", "access_token": bot["access_token"],
                    "bot_user_id": team.bot_user_id})
        for key in ("refresh_token", "expires_in"):
            if key in bot:
                out[key] = bot[key]
    if code.user_scopes:
        user = _issue_token(s, "user", team.id, code.user_id, code.user_scopes)
        out["authed_user"] = {
            "id": code.user_id,
            "scope": ",".join(code.user_scopes),
            "token_type": "user",
            **user,
        }
    return out


def _oauth_v2_access(s: SlackState, c: MethodCall) -> JSON:
    p = c.params
    client_id, client_secret = c.basic if c.basic else (p.get("client_id"), p.get("client_secret"))
    if not client_id or client_id != s.client_id:
        raise ApiError("invalid_client_id")
    if client_secret != s.client_secret:
        raise ApiError("bad_client_secret")
    grant_type = p.get("grant_type")
    if grant_type == "refresh_token":
        info = s._refresh_tokens.pop(p.get("refresh_token") or "", None)
        if info is None:
            raise ApiError("invalid_refresh_token")
        team = s._teams[info.team_id]
        issued = _issue_token(s, info.kind, info.team_id, info.user_id, info.scopes)
        out: JSON = {
            "app_id": s.app_id,
            "scope": ",".join(info.scopes),
            "token_type": info.kind,
            **issued,
            "team": {"id": team.id, "name": team.name},
            "enterprise": _enterprise(team),
            "is_enterprise_install": False,
        }
        if info.kind == "bot":
            out["bot_user_id"] = team.bot_user_id
        else:
            out["user_id"] = info.user_id  # guess
        # guess: the access token that was refreshed stays valid until it expires
        return out
    if grant_type not in (None, "", "authorization_code"):
        raise ApiError("invalid_grant_type")
    code = s._oauth_codes.pop(p.get("code") or "", None)
    if code is None or s.now() > code.expires_at:
        raise ApiError("invalid_code")
    if code.redirect_uri and p.get("redirect_uri") != code.redirect_uri:
        raise ApiError("bad_redirect_uri")
    return _install_response(s, code)


METHODS: Final[dict[str, Callable[[SlackState, MethodCall], JSON]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _chat_post_message,
    "chat.update": _chat_update,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.unfurl": _chat_unfurl,
    "views.open": _views_open,
    "views.update": _views_update,
    "views.publish": _views_publish,
    "users.info": _users_info,
    "users.lookupByEmail": _users_lookup_by_email,
    "conversations.join": _conversations_join,
    "conversations.members": _conversations_members,
    "conversations.info": _conversations_info,
    "bookmarks.add": _bookmarks_add,
    "bookmarks.edit": _bookmarks_edit,
    "bookmarks.remove": _bookmarks_remove,
    "oauth.v2.access": _oauth_v2_access,
    **CALL_METHODS,
    **PROFILE_METHODS,
}
NO_AUTH: Final = frozenset({"oauth.v2.access"})  # the methods that take no token
