"""The "Start a Meet" modal (the global shortcut and the Home tab's button), and reading what was chosen in it."""

from __future__ import annotations

from bot.core.settings_catalog import SETTINGS
from bot.slack.interaction import SubmittedView
from bot.slack.views.blocks import View, plain_text

__all__ = [
    "START_CALLBACK",
    "start_choices",
    "start_modal",
]

START_CALLBACK = "meet_start_submit"
_ACCESS = next(s for s in SETTINGS if s.key == "access")  # the Start modal words access as the settings do
_ACCESS_ORDER = ("trusted", "open", "restricted")


def start_modal() -> View:
    """The "Start a Meet" global shortcut: a title, who may join without knocking, and where to post."""
    return {
        "type": "modal",
        "callback_id": START_CALLBACK,
        "title": plain_text("Start a Meet", 24),
        "submit": plain_text("Start", 24),
        "close": plain_text("Cancel", 24),
        "blocks": [
            {"type": "input", "block_id": "title", "optional": True, "label": plain_text("Title"),
             "element": {"type": "plain_text_input", "action_id": "value", "max_length": 150,
                         "placeholder": plain_text("Weekly sync")}},
            {"type": "input", "block_id": "access", "optional": True,
             "label": plain_text("Who can join without knocking"),
             "element": {"type": "static_select", "action_id": "value",
                         "options": [{"text": plain_text(_ACCESS.choices[word]), "value": word}
                                     for word in _ACCESS_ORDER]}},
            {"type": "input", "block_id": "channel", "label": plain_text("Post the meeting card in"),
             "element": {"type": "conversations_select", "action_id": "value",
                         "filter": {"include": ["public", "private", "im", "mpim"],
                                    "exclude_bot_users": True}}},
        ],
    }


def start_choices(view: SubmittedView) -> tuple[str | None, str | None, str | None]:
    """(title, access word, channel id) from a submitted start modal."""
    title = view.input("title").value
    return (title.strip() or None) if title else None, view.input("access").option, view.input("channel").conversation
