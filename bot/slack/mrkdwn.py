"""Slack text, both ways, in one place: what Slack sends is turned into plain text once (`from_slack`), and plain
text is escaped once on its way out (`escape`, `plain`), for blocks and the top-level `text` alike.

Slack needs exactly three characters escaped; escaping more shows up as literal entities. Escaping `<` is what
keeps user or Google text from becoming a `<!channel>` ping or a `<@U…>` mention.
"""

from __future__ import annotations

import re

__all__ = ["code", "escape", "from_slack", "plain", "truncate", "unescape"]

# Slack's control sequences: <!here>, <!subteam^S1|@team>, <@U1|name>, <#C1|general>, <https://x|label>, <url>.
_CONTROL = re.compile(r"<([!@#]?)([^<>|]*)(?:\|([^<>]*))?>")
_SPECIAL = {"here", "channel", "everyone"}


def _plain_control(match: re.Match[str]) -> str:
    sigil, target, label = match.group(1), match.group(2), match.group(3)
    if sigil == "!":
        word = target.split("^", 1)[0]
        if word in _SPECIAL:
            return f"@{word}"
        return label or ("@group" if word == "subteam" else "")
    if sigil == "@":
        return f"@{label}" if label else f"@{target}"
    if sigil == "#":
        return f"#{label}" if label else f"#{target}"
    return target  # a link: keep the URL itself, which meeting-link parsing reads


def from_slack(text: str) -> str:
    """Slack's formatted text (`should_escape: true`) as the plain text the person typed: entities decoded,
    mentions and links turned into words. The result holds no control sequence, so rendering it can't ping."""
    return unescape(_CONTROL.sub(_plain_control, text))


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_ENTITY_TAIL = re.compile(r"&(?:a|am|amp|l|lt|g|gt)?$")


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis; never cuts an entity in half."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    return _ENTITY_TAIL.sub("", cut) + "…"


def plain(text: str, limit: int = 3000) -> str:
    """Plain text (a title, an email, Google's words) ready for mrkdwn: escaped, then cut to the limit."""
    return truncate(escape(text), limit)


def code(text: str) -> str:
    return "`" + escape(text.replace("`", "'")) + "`"
