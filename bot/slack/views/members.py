"""Block Kit for members: what a co-host or room-members change did, and a space's member list. Pure functions.

Why one person wasn't added is worded in bot/slack/replies.py (`skipped_text`); people are mentioned by id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from bot.core.members import MemberList, MembersChange, Skip
from bot.meet.models import Member
from bot.slack.mrkdwn import code, escape, plain
from bot.slack.replies import skipped_text
from bot.slack.views.blocks import SECTION_LIMIT, Block, Message, context, listed, section

__all__ = ["MAX_LISTED", "change_message", "members_message", "mentions"]

MAX_LISTED = 40
_TEXT_BUDGET = SECTION_LIMIT - 100  # what a reply's section holds, with room to spare for the settings modal's
Change = Literal["cohost", "uncohost", "new", "room_on", "room_off"]


# Slack tells an app who joins and leaves only in channels its bot is in; the hourly check catches up elsewhere.
_NOT_IN_CHANNEL = (":warning: meetbot isn't in this channel, so Slack doesn't tell it when people join or leave: "
                   "they are added or removed at the next hourly check. To keep up as it happens, type "
                   "`/invite @meetbot` here.")
_MAYBE_NOT_IN_CHANNEL = (":warning: Slack didn't say whether meetbot is in this channel. If it isn't, people who "
                         "join or leave are added or removed at the next hourly check; type `/invite @meetbot` here "
                         "to keep up as it happens.")


def mentions(user_ids: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in user_ids)


def _skipped_lines(change: MembersChange, limit: int) -> str:
    shown = [f"• {skipped_text(s)}" for s in change.skipped[:MAX_LISTED]]
    return listed(shown, max(len(change.skipped) - MAX_LISTED, 0), limit)


def change_message(change: MembersChange, what: Change, *, hears_channel: bool | None = True) -> Message:
    """The reply to a members change: who changed, who already was, who wasn't and why. `hears_channel` (room_on):
    whether meetbot is in the channel, so Slack tells it who joins and leaves (None: Slack didn't say)."""
    label = code(change.label)
    lines: list[str] = []
    if what in ("cohost", "new"):
        if change.added:
            lines.append(f":white_check_mark: {mentions(change.added)} can now co-host {label}.")
        if change.already:
            lines.append(f"Already co-hosts: {mentions(change.already)}.")
    elif what == "uncohost":
        if change.removed:
            are = "is no longer a co-host" if len(change.removed) == 1 else "are no longer co-hosts"
            lines.append(f":white_check_mark: {mentions(change.removed)} {are} of {label}.")
        if change.already:
            lines.append(f"Not co-hosts of {label}: {mentions(change.already)}.")
    elif what == "room_on":
        counts = (f"{len(change.added)} added, {len(change.already)} already members, "
                  f"{len(change.removed) + len(change.removed_emails)} removed")
        if hears_channel:
            lines.append(f":white_check_mark: This channel's people now join {label} without knocking, and it "
                         f"follows who joins and leaves the channel: {counts}.")
        else:
            lines.append(f":white_check_mark: This channel's people now join {label} without knocking: {counts}.")
            lines.append(_NOT_IN_CHANNEL if hears_channel is False else _MAYBE_NOT_IN_CHANNEL)
    else:  # room_off
        removed = len(change.removed) + len(change.removed_emails)
        lines.append(f":white_check_mark: {label} no longer follows this channel: {removed} "
                     f"{'membership' if removed == 1 else 'memberships'} taken back (co-hosts stay).")
    warning = ""
    if change.limit_reached and what == "room_on":
        left_out = sum(1 for s in change.skipped if s.why is Skip.LIMIT)
        warning = (f":warning: Google's limit on members of {label} is reached: {left_out} "
                   f"{'person' if left_out == 1 else 'people'} of this channel will knock as before.")
    if change.skipped:  # the list gets the room the rest leaves, cut at whole lines, saying how many it left out
        heading = "*Not added:*" if what != "uncohost" else "*Not changed:*"
        room = _TEXT_BUDGET - len("\n".join([*lines, heading, warning])) - 2
        lines.append(f"{heading}\n" + _skipped_lines(change, room))
    if warning:
        lines.append(warning)
    if not lines:
        lines.append(f":white_check_mark: Nothing to change in {label}.")
    blocks: list[Block] = [section("\n".join(lines))]
    return {"response_type": "ephemeral", "text": plain(f"Members of {change.label} updated", 300), "blocks": blocks}


def _member_line(member: Member, people: Mapping[str, str]) -> str:
    email = member.email or member.name
    who = people.get(email.lower())
    name = f"<@{who}> ({escape(email)})" if who else escape(email)
    return f"• {name}" + (" · *co-host*" if member.is_cohost else "")


def members_message(listing: MemberList, people: Mapping[str, str]) -> Message:
    """`people` maps a member's email (lowercase) to the Slack user with that email, where there is one."""
    label = code(listing.label)
    if not listing.members:
        return {"response_type": "ephemeral", "text": plain(f"{listing.label} has no members", 300),
                "blocks": [section(f"{label} has no members: people join as its access "
                                   "setting allows.")]}
    ordered = sorted(listing.members, key=lambda m: (not m.is_cohost, (m.email or "").lower()))
    lines = [_member_line(m, people) for m in ordered[:MAX_LISTED]]
    extra = max(len(ordered) - MAX_LISTED, 0)
    head = (f"*Members of* {label}: {len(listing.members)} "
            f"({len(listing.cohosts)} co-{'host' if len(listing.cohosts) == 1 else 'hosts'})")
    return {
        "response_type": "ephemeral",
        "text": plain(f"Members of {listing.label}", 300),
        "blocks": [section(head), section(listed(lines, extra)),
                   context("Members join without knocking; co-hosts also co-manage the call.")],
    }
