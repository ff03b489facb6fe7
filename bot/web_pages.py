"""The small HTML pages the browser sees after Google's consent screen. Nothing secret is ever rendered."""

from __future__ import annotations

from html import escape

__all__ = ["FAILURES", "SLACK_SIGN_IN_FAILURES", "callback_page", "confirm_page", "mismatch_page",
           "slack_sign_in_page"]

# Outcome reason → (title, advice). Reasons come from bot.core.linking.
FAILURES: dict[str, tuple[str, str]] = {
    "denied": ("You didn't allow access", "Nothing was connected. Run /meet connect in Slack whenever you're ready."),
    "bad_state": ("This link has expired or was already used",
                  "Connect links work once, for 10 minutes. Run /meet connect in Slack for a fresh one."),
    "missing_code": ("Google didn't send an authorization code", "Run /meet connect in Slack and try again."),
    "exchange_failed": ("Google didn't accept the sign-in",
                        "Nothing was connected. Run /meet connect in Slack and try again."),
    "no_refresh_token": ("Google didn't grant lasting access",
                         "Remove meetbot at myaccount.google.com/permissions, then run /meet connect again."),
    "missing_scope": ("meetbot needs access to Google Meet",
                      "Run /meet connect again and tick the Google Meet permissions on the consent screen."),
    "unavailable": ("meetbot is temporarily unavailable", "Nothing was connected. Please try again in a minute."),
    "no_slack_email": ("meetbot can't check whose account this is",
                       "The Slack profile that asked has no email meetbot can see, so nothing was connected and "
                       "meetbot gave up the access Google granted. Ask your Slack admin to add the email."),
    "other_member": ("This Google account belongs to another member of the workspace",
                     "Its email is another Slack member's own, so only that person can connect it. Nothing was "
                     "connected, and meetbot gave up the access Google granted. If someone sent you this link, "
                     "you can close this tab."),
    "declined": ("Nothing was connected", "You cancelled, and meetbot gave up the access Google granted. "
                                          "You can close this tab."),
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · meetbot</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#202124}}
h1{{font-size:1.4rem}} .ok{{color:#188038}} .fail{{color:#c5221f}}</style></head>
<body><h1 class="{kind}">{title}</h1><p>{advice}</p>{extra}</body></html>
"""

_CONFIRM_FORM = """<form method="post" action="/google/oauth/confirm">
<input type="hidden" name="confirm" value="{confirm}"><input type="hidden" name="csrf" value="{csrf}">
<p><button type="submit" name="answer" value="confirm">Yes, give {receiver} my Google account</button>
<button type="submit" name="answer" value="cancel">No, cancel</button></p></form>"""


def confirm_page(confirm_id: str, csrf: str, email: str, who: str, workspace: str) -> str:
    """Other emails are allowed: before anything is stored, the consenter sees exactly who gets the account."""
    advice = (f"The Slack user <b>{escape(who)}</b> in the workspace <b>{escape(workspace)}</b> asked to use the "
              f"Google account <b>{escape(email)}</b>. meetbot will then start, change and end meetings as "
              f"{escape(email)} whenever {escape(who)} asks. Only confirm if you are {escape(who)}, or you "
              "want them to act as you.")
    form = _CONFIRM_FORM.format(confirm=escape(confirm_id), csrf=escape(csrf), receiver=escape(who))
    return _PAGE.format(kind="", title="Give this Google account to a Slack user?", advice=advice, extra=form)


def mismatch_page(email: str, who: str, workspace: str) -> tuple[int, str]:
    advice = (f"This Connect link belongs to the Slack user {who} in {workspace}, whose Slack email is not "
              f"{email}. Nothing was connected, and meetbot gave up the access Google granted. If the link was "
              "yours, run /meet connect in Slack and sign in with the Google account that uses your Slack email.")
    return 403, _PAGE.format(kind="fail", title=escape("This Google account isn't the one for that Slack user"),
                             advice=escape(advice), extra="")


def callback_page(reason: str, email: str | None = None) -> tuple[int, str]:
    """(HTTP status, HTML) for an outcome reason; "linked" is the one success."""
    if reason == "linked":
        who = f" as {escape(email)}" if email else ""
        return 200, _PAGE.format(kind="ok", title=f"Connected{who}",
                                 advice="You can close this tab and go back to Slack.", extra="")
    title, advice = FAILURES.get(reason, FAILURES["exchange_failed"])
    status = 503 if reason == "unavailable" else 403 if reason == "other_member" else 400
    return status, _PAGE.format(kind="fail", title=escape(title), advice=escape(advice), extra="")


# "Sign in with Slack" (presence) outcome reason → (title, advice). Reasons come from bot.core.slack_sign_in.
SLACK_SIGN_IN_FAILURES: dict[str, tuple[str, str]] = {
    "denied": ("You didn't allow access", "Nothing changed. Run /meet presence on in Slack whenever you're ready."),
    "bad_state": ("This link has expired or was already used",
                  "Sign-in links work once, for 10 minutes, in the browser that opened them. Run /meet presence on "
                  "in Slack for a fresh one."),
    "missing_code": ("Slack didn't send a sign-in code", "Run /meet presence on in Slack and try again."),
    "exchange_failed": ("Slack didn't accept the sign-in", "Nothing changed. Run /meet presence on in Slack and "
                                                           "try again."),
    "other_user": ("This sign-in link was someone else's",
                   "It belongs to another Slack user, so meetbot kept nothing and gave up the access Slack granted. "
                   "To set your own status, run /meet presence on in Slack yourself."),
    "missing_scope": ("meetbot needs permission to change your status",
                      "Run /meet presence on in Slack again and allow it on Slack's page."),
    "unavailable": ("meetbot is temporarily unavailable", "Nothing changed. Please try again in a minute."),
    "not_configured": ("Sign in with Slack isn't set up", "This meetbot's operator hasn't configured it."),
}


def slack_sign_in_page(reason: str) -> tuple[int, str]:
    """(HTTP status, HTML) for a "Sign in with Slack" outcome; "signed_in" is the one success."""
    if reason == "signed_in":
        return 200, _PAGE.format(kind="ok", title="Signed in with Slack",
                                 advice="Presence is on: while meetbot sees you in a Google Meet call, your Slack "
                                        "status says so. You can close this tab and go back to Slack.", extra="")
    title, advice = SLACK_SIGN_IN_FAILURES.get(reason, SLACK_SIGN_IN_FAILURES["exchange_failed"])
    status = 503 if reason == "unavailable" else 404 if reason == "not_configured" else \
        403 if reason == "other_user" else 400
    return status, _PAGE.format(kind="fail", title=escape(title), advice=escape(advice), extra="")
