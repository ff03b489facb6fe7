"""Find and normalise Google Meet references in text.

Accepted (scheme http/https/none, any case, any query string or fragment, Slack's `<url>` / `<url|label>` wrapping,
`&amp;`-style entities):

    https://meet.google.com/abc-mnop-xyz      → code "abc-mnop-xyz"
    g.co/meet/abc-mnop-xyz                    → code "abc-mnop-xyz"
    ABC-MNOP-XYZ                              → code "abc-mnop-xyz"   (codes are case-insensitive)
    spaces/jQCFfuBOdN5z                       → space "jQCFfuBOdN5z"  (ids are case-sensitive: kept as is)
    spaces/abc-mnop-xyz                       → code "abc-mnop-xyz"   (a code alias written as a name)

Refused with a reason: meet.google.com/new, /landing, the bare home page, /lookup/<nickname> and g.co/meet/<nickname>
(nicknames aren't meeting codes and the API can't resolve them), any other host (meet.google.com.evil.com,
evilmeet.google.com, user@ tricks, ports), codes over 128 characters, and anything non-ASCII (look-alike letters are
refused, never folded to ASCII).

Decisions:
- A code is `[a-z]+-[a-z]+-[a-z]+` (the API's documented shape), matched case-insensitively. The dashless 10-letter
  form ("abcmnopxyz") is NOT accepted: the API documents no such alias, and as a bare word it is indistinguishable
  from ordinary words ("disconnect").
- `parse_reference` takes one reference and accepts every code of that shape. `find_references` scans free text, so
  there a *bare* code must have Google's issued 3-4-3 shape ("abc-mnop-xyz"); otherwise "state-of-the-art" would be
  a meeting. Codes inside links and `spaces/` names don't need the 3-4-3 shape.
- `InvalidMeetingReference` (a GoogleApiError and a ValueError) is the only exception this module raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from bot.meet.errors import InvalidMeetingReference

__all__ = ["MAX_CODE_LENGTH", "InvalidMeetingReference", "MeetingRef", "find_references", "parse_reference"]

MAX_CODE_LENGTH = 128
MEET_HOST = "meet.google.com"

_CODE = re.compile(r"[a-z]+-[a-z]+-[a-z]+", re.ASCII | re.IGNORECASE)
_ISSUED_CODE = re.compile(r"[a-z]{3}-[a-z]{4}-[a-z]{3}", re.ASCII | re.IGNORECASE)
_SPACE_ID = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
_URL = re.compile(
    r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?(?P<host>[^/?#]*)(?P<path>/[^?#]*)?(?:[?#].*)?", re.DOTALL
)
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# Slack's <url> / <url|label>, else a run of non-space characters.
_TOKEN = re.compile(r"<([^<>|\s]*)(?:\|[^<>]*)?>|[^\s<>]+")
_LEAD = "([{\"'"
_TRAIL = ")]}\"'.,;:!?"

# User-facing reasons.
_EMPTY = "There's no meeting link or code there."
_NOT_ONE = "Give one meeting link or code."
_NON_ASCII = "That has characters that aren't plain letters (look-alikes?). Meet links and codes are plain ASCII."
_NOT_MEET = "That isn't a Google Meet link."
_HOME = "That's the Google Meet home page, not a meeting."
_NEW = "meet.google.com/new starts a new meeting each time it's opened; it doesn't point at one meeting."
_NICKNAME = "Nickname links can't be looked up through the Meet API. Use the meeting's own link or code."
_BAD_CODE = "That isn't a meeting code. Codes look like abc-mnop-xyz."
_TOO_LONG = f"That's too long to be a meeting code (at most {MAX_CODE_LENGTH} characters)."
_BAD_NAME = "That isn't a valid space name. Names look like spaces/jQCFfuBOdN5z."


@dataclass(frozen=True, slots=True)
class MeetingRef:
    """A normalised meeting reference. Equality ignores `original`."""

    kind: Literal["code", "space"]
    value: str  # lowercase code, or the space id exactly as given
    original: str = field(default="", compare=False)  # the text it came from (e.g. Slack's chat.unfurl key)

    @property
    def resource_name(self) -> str:
        """`spaces/{id}` or the code alias `spaces/{code}` (the alias is good for spaces.get only)."""
        return "spaces/" + self.value

    @property
    def url(self) -> str | None:
        return f"https://{MEET_HOST}/{self.value}" if self.kind == "code" else None


def parse_reference(text: str) -> MeetingRef:
    """Exactly one reference (surrounding spaces and trailing punctuation allowed) or InvalidMeetingReference."""
    stripped = text.strip()
    if stripped.startswith("<") and stripped.endswith(">") and len(stripped) > 1:
        candidate = stripped[1:-1].partition("|")[0]  # the label is the user's text, never the reference
    else:
        candidate = stripped
    candidate = _trim(_unescape(candidate).strip())
    if not candidate:
        raise InvalidMeetingReference(_EMPTY, text)
    if any(ch.isspace() for ch in candidate):
        raise InvalidMeetingReference(_NOT_ONE, text)
    return _parse_token(candidate, text, bare_codes=_CODE)


def find_references(text: str) -> list[MeetingRef]:
    """Every distinct valid reference in free text, in order of first appearance; anything else is skipped."""
    found: dict[MeetingRef, None] = {}
    for match in _TOKEN.finditer(text):
        slack_url = match.group(1)
        raw = slack_url if slack_url is not None else _trim(match.group(0))
        if not raw:
            continue
        try:
            ref = _parse_token(_unescape(raw), raw, bare_codes=_ISSUED_CODE)
        except InvalidMeetingReference:
            continue
        found.setdefault(ref, None)
    return list(found)


def _parse_token(token: str, original: str, *, bare_codes: re.Pattern[str]) -> MeetingRef:
    if not token.isascii():
        raise InvalidMeetingReference(_NON_ASCII, original)
    if token[:7].lower() == "spaces/":
        return _space_name(token[7:], original)
    if "/" not in token and "." not in token and ":" not in token:
        if len(token) > MAX_CODE_LENGTH and _CODE.fullmatch(token):
            raise InvalidMeetingReference(_TOO_LONG, original)
        if bare_codes.fullmatch(token):
            return MeetingRef("code", token.lower(), original)
        raise InvalidMeetingReference(_BAD_CODE, original)
    return _url(token, original)


def _space_name(rest: str, original: str) -> MeetingRef:
    if len(rest) > MAX_CODE_LENGTH:
        raise InvalidMeetingReference(_TOO_LONG, original)
    if _CODE.fullmatch(rest):
        return MeetingRef("code", rest.lower(), original)
    if _SPACE_ID.fullmatch(rest):
        return MeetingRef("space", rest, original)
    raise InvalidMeetingReference(_BAD_NAME, original)


def _url(token: str, original: str) -> MeetingRef:
    match = _URL.fullmatch(token)
    if match is None:  # pragma: no cover - the pattern matches every string
        raise InvalidMeetingReference(_NOT_MEET, original)
    scheme, host = match.group("scheme"), match.group("host").lower()
    if scheme is not None and scheme.lower() not in ("http", "https"):
        raise InvalidMeetingReference(_NOT_MEET, original)
    # Exact host comparison: no suffix/prefix matching, so meet.google.com.evil.com, evilmeet.google.com,
    # user@meet.google.com tricks ("meet.google.com@evil.com" has host evil.com) and ports all fail here.
    segments = [s for s in (match.group("path") or "").split("/") if s]
    if host == MEET_HOST:
        return _meet_path(segments, original)
    if host == "g.co" and len(segments) == 2 and segments[0].lower() == "meet":
        return _code(segments[1], original, nickname_reason=True)
    raise InvalidMeetingReference(_NOT_MEET, original)


def _meet_path(segments: list[str], original: str) -> MeetingRef:
    if not segments or (len(segments) == 1 and segments[0].lower() == "landing"):
        raise InvalidMeetingReference(_HOME, original)
    first = segments[0].lower()
    if first == "new" and len(segments) == 1:
        raise InvalidMeetingReference(_NEW, original)
    if first == "lookup":
        raise InvalidMeetingReference(_NICKNAME, original)
    if len(segments) != 1:
        raise InvalidMeetingReference(_BAD_CODE, original)
    return _code(segments[0], original, nickname_reason=False)


def _code(segment: str, original: str, *, nickname_reason: bool) -> MeetingRef:
    if len(segment) > MAX_CODE_LENGTH:
        raise InvalidMeetingReference(_TOO_LONG, original)
    if _CODE.fullmatch(segment):
        return MeetingRef("code", segment.lower(), original)
    raise InvalidMeetingReference(_NICKNAME if nickname_reason else _BAD_CODE, original)


def _unescape(text: str) -> str:
    # One pass, so "&amp;lt;" becomes "&lt;" and not "<" (Slack escapes exactly these three).
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text) if "&" in text else text


def _trim(token: str) -> str:
    return token.lstrip(_LEAD).rstrip(_TRAIL)
