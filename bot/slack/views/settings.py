"""The settings modal of a meeting: Google's settings grouped, each preselected, the co-hosts and what the Slack
call shows; and the modal that only says something (loading, a refusal, the result of a save). Pure functions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from bot.core.settings_catalog import GROUPS, SETTINGS, Setting, read_path
from bot.meet.models import Space, SpaceConfig
from bot.slack.interaction import SubmittedView
from bot.slack.mrkdwn import code
from bot.slack.views.blocks import Block, View, header, plain_text, section

__all__ = [
    "COHOSTS_BLOCK",
    "PEOPLE_BLOCK",
    "SETTINGS_CALLBACK",
    "chosen_people",
    "settings_modal",
    "settings_notice_modal",
]

SETTINGS_CALLBACK = "meet_settings_submit"
COHOSTS_BLOCK = "cohosts"


def _option(setting: Setting, word: str) -> Block:
    return {"text": plain_text(setting.choices[word]), "value": word}


def _setting_input(setting: Setting, word: str | None) -> Block:
    """A select for one setting, preselected with `word`; without one it must be optional, and choosing nothing
    leaves the setting as it is."""
    element: Block = {"type": "static_select", "action_id": "value",
                      "options": [_option(setting, w) for w in setting.values]}
    if word is not None:
        element["initial_option"] = _option(setting, word)
    return {"type": "input", "block_id": setting.key, "optional": word is None,
            "label": plain_text(setting.label, 2000), "hint": plain_text(setting.hint, 2000), "element": element}


def _cohosts_input(cohosts: Sequence[str]) -> Block:
    picker: Block = {"type": "multi_users_select", "action_id": "value",
                     "placeholder": plain_text("Choose people")}
    if cohosts:
        picker["initial_users"] = list(cohosts)
    return {"type": "input", "block_id": COHOSTS_BLOCK, "optional": True, "label": plain_text("Co-hosts"),
            "hint": plain_text("They manage the call with you. Leave it empty for none.", 2000), "element": picker}


PEOPLE_BLOCK = "people"
_PEOPLE_WORDS = {"on": "Show who is in the call", "off": "Show nobody (the card still counts them)"}


def _people_input(on: bool) -> Block:
    """Whether the card's Slack call shows the channel who is in the call (meetbot's own switch, not Google's)."""
    def option(word: str) -> Block:
        return {"text": plain_text(_PEOPLE_WORDS[word], 75), "value": word}

    return {"type": "input", "block_id": PEOPLE_BLOCK, "label": plain_text("People in the Slack call"),
            "hint": plain_text("What the call on this meeting's cards shows the channel.", 2000),
            "element": {"type": "static_select", "action_id": "value", "options": [option("on"), option("off")],
                        "initial_option": option("on" if on else "off")}}


def chosen_people(view: SubmittedView) -> bool | None:
    """The settings modal's people choice (None when the form had no such field)."""
    option = view.input(PEOPLE_BLOCK).option
    return None if option is None else option == "on"


def settings_modal(space: Space, label: str, channel_id: str | None, cohosts: Sequence[str] | None = None, *,
                   chosen: Mapping[str, str] | None = None, problem: str | None = None,
                   people: bool | None = None) -> View:
    """The settings form, grouped, each select preselected with the current value. `cohosts` (Slack user ids;
    None: not offered) fills the co-hosts field; saving sends the difference from the co-hosts Google has then.
    The metadata stays small whatever the co-hosts (Slack keeps 3,000 characters): the space, not the people.
    `chosen` (key → word) and `problem` (mrkdwn, its emoji included) show the form again after Google refused it:
    as the person left it, with what went wrong on top."""
    config = space.config or SpaceConfig()
    words = {s.key: w for s in SETTINGS
             if (w := (chosen or {}).get(s.key) or s.word_for(read_path(config, s.path))) in s.values}
    blocks: list[Block] = []
    if problem:
        blocks.append(section(problem))
    intro = f"Settings of {code(label)}. Only what you change is sent to Google."
    if len(words) < len(SETTINGS):  # a value Google didn't report (or meetbot has no word for) preselects nothing
        intro += " A setting left empty stays as it is."
    blocks.append(section(intro))
    for group in GROUPS:
        blocks.append(header(group))
        blocks += [_setting_input(s, words.get(s.key)) for s in SETTINGS if s.group == group]
        if group == "Moderation" and cohosts is not None:
            blocks.append(_cohosts_input(cohosts))
    if people is not None:
        blocks += [header("In Slack"), _people_input(people)]
    meta: dict[str, str | bool | None] = {"space": space.name, "label": label, "channel": channel_id}
    if cohosts is not None:
        meta["cohosts"] = True  # the field is offered
    return {
        "type": "modal",
        "callback_id": SETTINGS_CALLBACK,
        "private_metadata": json.dumps(meta),
        "title": plain_text("Meeting settings", 24),
        "submit": plain_text("Save", 24),
        "close": plain_text("Cancel", 24),
        "blocks": blocks,
    }


def settings_notice_modal(text: str, title: str = "Meeting settings") -> View:
    """A modal that only says something: loading, a refusal, or the result of a save."""
    return {"type": "modal", "title": plain_text(title, 24), "close": plain_text("Close", 24),
            "blocks": [section(text)]}
