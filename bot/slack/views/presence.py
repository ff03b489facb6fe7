"""`/meet presence` as people see it: the "Sign in with Slack" prompt, what presence does, and sign-in notices."""

from __future__ import annotations

from bot.core.slack_sign_in import SignInReason
from bot.slack.views.blocks import Message, actions, context, notice, plain_text, section

__all__ = ["ACTION_SLACK_SIGN_IN", "DND_NOT_OFFERED", "dnd_message", "presence_on_message", "sign_in_message",
           "sign_in_result"]

ACTION_SLACK_SIGN_IN = "meet_slack_sign_in"
WHAT_IT_DOES = ("While meetbot sees you in a Google Meet call ({which}), your Slack status says *In a meeting* "
                ":calendar:. When you leave, meetbot puts back the status you had, unless you changed it during the "
                "call. `/meet presence off` stops it and signs meetbot out of your Slack account.")
WHICH_WITH_MINE = "your own meetings, wherever they started, and meetings with a card in Slack"
# Presence sees only what meetbot reads anyway: without /meet mine, that is the meetings with a card.
WHICH_WITHOUT_MINE = ("meetings with a card in Slack; to include your own meetings started elsewhere, such as from "
                      "Calendar, also turn on `/meet mine`")


DND_NOT_OFFERED = ("This meetbot can't turn on Do Not Disturb: its operator hasn't asked for it in \"Sign in with "
                   "Slack\" (add `dnd:read` and `dnd:write` to SLACK_USER_SCOPES). `/meet presence on` still sets "
                   "your status.")
DND_SIGN_IN = (":bust_in_silhouette: To pause your notifications during calls, meetbot needs your permission to "
               "read and set Do Not Disturb, which your earlier sign-in didn't give. Sign in with Slack again to give "
               "it; Do Not Disturb during calls turns on when you're back.")


def dnd_message(on: bool) -> Message:
    if on:
        text = ("Do Not Disturb during calls is on, with presence: while meetbot sees you in a call your "
                "notifications are paused (for up to 4 hours), and they resume when you leave, unless you changed "
                "the pause yourself. `/meet presence dnd off` stops it.")
    else:
        text = ("Do Not Disturb during calls is off: meetbot ended a pause it had set, if it was still its own. "
                "Your status still follows your calls while presence is on.")
    return notice(text, emoji=":white_check_mark:")


def sign_in_message(url: str, *, for_dnd: bool = False) -> Message:
    """`/meet presence on` before the person signed in: meetbot needs their own permission to change their status.
    `for_dnd`: they signed in before, without the DND scopes."""
    lead = DND_SIGN_IN if for_dnd else (
        ":bust_in_silhouette: To set your Slack status, meetbot needs your permission to read and change your "
        "profile's status. Sign in with Slack to give it; presence turns on when you're back.")
    return {"response_type": "ephemeral", "text": "Sign in with Slack to turn presence on", "blocks": [
        section(lead),
        actions("slack-sign-in", [{"type": "button", "action_id": ACTION_SLACK_SIGN_IN,
                                   "text": plain_text("Sign in with Slack"), "url": url, "style": "primary"}]),
        context("The link works once, for you only, for 10 minutes. meetbot only ever changes your status text "
                "and emoji" + (" and Do Not Disturb" if for_dnd else "") + ", and only while you are in a call."),
    ]}


def presence_on_message(follows_own: bool) -> Message:
    """`follows_own`: the person has `/meet mine` on, so meetbot sees their own meetings too."""
    which = WHICH_WITH_MINE if follows_own else WHICH_WITHOUT_MINE
    return notice("Presence is on. " + WHAT_IT_DOES.format(which=which), emoji=":white_check_mark:")


_REFUSED: dict[str, str] = {
    "denied": "Nothing changed: access wasn't allowed on Slack's page. Run `/meet presence on` if you change your "
              "mind.",
    "bad_state": "That sign-in link has expired or was already used. Run `/meet presence on` for a fresh one.",
    "missing_code": "Slack didn't send a sign-in code. Run `/meet presence on` to try again.",
    "exchange_failed": "Slack didn't accept the sign-in. Run `/meet presence on` to try again.",
    "other_user": "Someone else finished your sign-in link in their browser, so meetbot refused it and kept "
                  "nothing. Run `/meet presence on` and sign in yourself.",
    "missing_scope": "meetbot needs permission to read and change your status. Run `/meet presence on` and allow "
                     "it on Slack's page.",
    "unavailable": "meetbot couldn't finish the sign-in just now. Please run `/meet presence on` again in a minute.",
}


def sign_in_result(reason: SignInReason, follows_own: bool) -> Message:
    """Told where `/meet presence on` was typed, after the browser came back."""
    if reason == "signed_in":
        message = presence_on_message(follows_own)
    else:
        message = notice(_REFUSED.get(reason, _REFUSED["exchange_failed"]), emoji=":warning:")
    return {**message, "replace_original": False}
