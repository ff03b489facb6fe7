"""Account linking as people see it in Slack: the Connect prompt, what a link allows, and link notices."""

from __future__ import annotations

import time

from bot.core.linking import LinkOutcome
from bot.domain import GoogleLink
from bot.slack.mrkdwn import code, escape, plain
from bot.slack.views.blocks import Block, Message, actions, context, notice, plain_text, section

__all__ = ["ACTION_CONNECT", "ACTION_RETRY", "SCOPE_FEATURES", "connect_blocks", "connect_button",
           "connected_message", "link_announcement", "link_refused_message", "me_message"]

ACTION_CONNECT = "meet_connect"
ACTION_RETRY = "meet_retry"
_SCOPE = "https://www.googleapis.com/auth/meetings.space."
# What each Meet scope lets meetbot do, in the words users see in `/meet me`.
SCOPE_FEATURES = {
    _SCOPE + "created": "start meetings, and see, end and configure the ones meetbot started",
    _SCOPE + "readonly": "see the status and history of any meeting you're in, including pasted links",
    _SCOPE + "settings": "change settings of any meeting you own, also ones started outside meetbot",
}


def connect_button(url: str) -> Block:
    return {"type": "button", "action_id": ACTION_CONNECT, "text": plain_text("Connect Google account"), "url": url,
            "style": "primary"}


def connect_blocks(lead: str, url: str) -> list[Block]:
    return [
        section(lead),
        actions("connect", [connect_button(url)]),
        context("The link works once, for you only, for 10 minutes. meetbot acts in Google Meet only as you, "
                "and only when you ask it to."),
    ]


def connected_message(email: str, scopes: tuple[str, ...], retry_text: str | None) -> Message:
    """Told in Slack after the browser comes back from Google."""
    allowed = [SCOPE_FEATURES[s] for s in scopes if s in SCOPE_FEATURES]
    lines = "\n".join(f"• {escape(a)}" for a in allowed) or "• nothing yet"
    blocks: list[Block] = [section(f":white_check_mark: Connected to Google as *{escape(email)}*. "
                                   f"meetbot can now:\n{lines}")]
    if retry_text is not None:
        blocks.append(actions("retry", [{"type": "button", "action_id": ACTION_RETRY,
                                         "text": plain_text(f"Run /meet {retry_text}"), "value": retry_text[:2000]}]))
    return {"response_type": "ephemeral", "replace_original": False, "text": plain(f"Connected to Google as {email}"),
            "blocks": blocks}


def link_denied_message(url: str) -> Message:
    """After "Deny" on Google's page: nothing happened, and the earlier button's one-time link is used up."""
    lead = (":information_source: Nothing was connected: access wasn't allowed on Google's page. The earlier "
            "Connect button no longer works; this one does, if you change your mind.")
    return {"response_type": "ephemeral", "replace_original": False, "text": "Nothing was connected",
            "blocks": connect_blocks(lead, url)}


def link_refused_message(outcome: LinkOutcome) -> Message | None:
    """Told in Slack when a sign-in came back but linked nothing; the Google account is never named here, since
    whoever consented may not be the person reading this."""
    if outcome.reason == "email_mismatch":
        text = (f"Nothing was connected: the Google account that signed in doesn't use your Slack email "
                f"(*{escape(outcome.slack_email or '')}*). Run `/meet connect` again and sign in with that "
                "account. If your Google account has another address, ask your Slack admin.")
    elif outcome.reason == "no_slack_email":
        text = ("Nothing was connected: your Slack profile has no email meetbot can see, so it can't check that "
                "the Google account is yours. Ask your Slack admin to add your email to your profile.")
    elif outcome.reason == "other_member":
        text = ("Nothing was connected: the Google account that signed in is another member's of this workspace "
                "(their Slack profile uses its email), so only they can connect it. Run `/meet connect` again and "
                "sign in with your own Google account.")
    elif outcome.reason == "declined":
        text = "Nothing was connected: the person who signed in to Google cancelled on the confirmation page."
    else:
        return None
    return {**notice(text, emoji=":no_entry:"), "replace_original": False}


def link_announcement(email: str) -> Message:
    """The DM sent on every new link, so a link nobody asked for can't go unnoticed."""
    text = (f":link: Your Slack account is now connected to the Google account *{escape(email)}*. meetbot acts "
            "in Google Meet as that account when you ask it to. If this wasn't you, run `/meet disconnect`.")
    return {"text": plain(f"Connected to Google as {email}"), "blocks": [section(text)]}


def me_message(link: GoogleLink) -> Message:
    """`/meet me`: which Google account meetbot acts as, since when, and what it may do."""
    day = time.strftime("%Y-%m-%d", time.gmtime(link.linked_at))
    since = f"<!date^{int(link.linked_at)}^{{date_short}} {{time}}|{day}>"
    allowed = [f"• :white_check_mark: {escape(SCOPE_FEATURES[s])}" for s in SCOPE_FEATURES if s in link.scopes]
    blocked = [f"• :no_entry: {escape(SCOPE_FEATURES[s])} (not granted)" for s in SCOPE_FEATURES
               if s not in link.scopes]
    scopes = ", ".join(code(s.rsplit("/", 1)[-1]) for s in link.scopes)
    text = (f"Connected as *{escape(link.google_email)}* since {since}.\nGranted: {scopes}\n"
            + "\n".join(allowed + blocked))
    return {"response_type": "ephemeral", "text": plain(f"Connected as {link.google_email}"), "blocks": [section(text)]}
