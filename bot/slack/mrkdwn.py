"""mrkdwn escaping. Slack needs exactly three characters escaped; escaping more shows up as literal entities."""

from __future__ import annotations

__all__ = ["code", "escape", "link", "truncate"]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    # `|` and `>` would end the link early; percent-encode them in the URL, escape the label.
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{escape(label)}>"


def code(text: str) -> str:
    return "`" + escape(text.replace("`", "'")) + "`"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
