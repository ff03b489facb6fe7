"""The meeting settings a user can change, by the words they type (`/meet set … chat=hosts`) and see.

One table serves `/meet set`, the settings modal and the "old → new" reply, so they can't drift apart.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.errors import InvalidSettings
from bot.core.typos import closest
from bot.meet.masks import CONFIG_FIELD_PATHS
from bot.meet.models import (
    AccessType,
    ArtifactConfig,
    AttendanceReportGenerationType,
    AutoGenerationType,
    DefaultJoinAsViewerType,
    Moderation,
    ModerationRestrictions,
    RecordingConfig,
    RestrictionType,
    SmartNotesConfig,
    SpaceConfig,
    TranscriptionConfig,
)

__all__ = ["GROUPS", "SETTINGS", "Setting", "check_dependencies", "config_with", "dependency_errors",
           "parse_assignments", "read_path"]

# The settings modal's sections, in order; each Setting names one.
GROUPS = ("Who can join", "Moderation", "Recording and notes")


@dataclass(frozen=True, slots=True)
class Setting:
    key: str  # what users type
    label: str  # what users read
    path: str  # dotted SpaceConfig field path
    values: Mapping[str, enum.Enum]  # word → enum value, in display order
    choices: Mapping[str, str]  # word → what the modal and replies show for it, in plain words
    group: str  # one of GROUPS
    hint: str  # one sentence under the field: what it does
    default: str | None  # the word Google uses when nobody changed it; None: it depends on the organisation
    needs_moderation: bool = False

    def word_for(self, value: enum.Enum | None) -> str:
        for word, candidate in self.values.items():
            if candidate is value:
                return word
        return "default"

    def text_for(self, value: enum.Enum | None, *, short: bool = False) -> str:
        """The plain words for a value ("Google's default" for one meetbot has no word for); `short`: only what
        comes before the explanation ("As viewers" of "As viewers: they can't talk or present")."""
        text = self.choices.get(self.word_for(value), "Google's default")
        return text.split(":", 1)[0] if short else text

    def is_default(self, value: enum.Enum | None) -> bool:
        return value is None or (self.default is not None and self.word_for(value) == self.default)


def _on_off(on: enum.Enum, off: enum.Enum) -> dict[str, enum.Enum]:
    return {"on": on, "off": off}


_HOSTS_ALL = {"all": RestrictionType.NO_RESTRICTION, "hosts": RestrictionType.HOSTS_ONLY}
_EVERYONE_OR_HOSTS = {"all": "Everyone", "hosts": "Only hosts and co-hosts"}
_AUTO = _on_off(AutoGenerationType.ON, AutoGenerationType.OFF)
_FROM_THE_START = {"on": "Yes, from the start of each call", "off": "No"}
_NEEDS_HOSTS = " Works only with Host management on."

SETTINGS: tuple[Setting, ...] = (
    Setting("access", "Who can join without knocking", "access_type",
            {"open": AccessType.OPEN, "trusted": AccessType.TRUSTED, "restricted": AccessType.RESTRICTED},
            {"open": "Anyone with the link", "trusted": "Your organisation and invited guests",
             "restricted": "Only invited people"},
            "Who can join", "Everyone else asks to join and waits for a host to let them in.", None),
    Setting("moderation", "Host management", "moderation", _on_off(Moderation.ON, Moderation.OFF),
            {"on": "On: hosts decide who can chat, react and present", "off": "Off: everyone can do everything"},
            "Moderation", "Turning it off puts the four settings below back to Google's defaults.", "off"),
    Setting("chat", "Who can chat", "moderation_restrictions.chat_restriction", _HOSTS_ALL, _EVERYONE_OR_HOSTS,
            "Moderation", "Send messages in the call's chat." + _NEEDS_HOSTS, "all", True),
    Setting("reactions", "Who can react", "moderation_restrictions.reaction_restriction", _HOSTS_ALL,
            _EVERYONE_OR_HOSTS, "Moderation", "Send emoji reactions." + _NEEDS_HOSTS, "all", True),
    Setting("present", "Who can present", "moderation_restrictions.present_restriction", _HOSTS_ALL,
            _EVERYONE_OR_HOSTS, "Moderation", "Share their screen." + _NEEDS_HOSTS, "all", True),
    Setting("viewers", "How new people join", "moderation_restrictions.default_join_as_viewer_type",
            _on_off(DefaultJoinAsViewerType.ON, DefaultJoinAsViewerType.OFF),
            {"on": "As viewers: they can't talk or present", "off": "As participants"},
            "Moderation", "Viewers suit a talk or a town hall." + _NEEDS_HOSTS, "off", True),
    Setting("recording", "Record automatically", "artifact_config.recording_config.auto_recording_generation", _AUTO,
            _FROM_THE_START, "Recording and notes", "The recording is saved to the owner's Google Drive.", "off"),
    Setting("transcript", "Transcribe automatically",
            "artifact_config.transcription_config.auto_transcription_generation", _AUTO, _FROM_THE_START,
            "Recording and notes", "The transcript is saved to the owner's Google Drive.", "off"),
    Setting("notes", "Take notes with Gemini",
            "artifact_config.smart_notes_config.auto_smart_notes_generation", _AUTO, _FROM_THE_START,
            "Recording and notes", "Gemini writes a summary and shares it with the owner.", "off"),
    Setting("attendance", "Attendance report", "attendance_report_generation_type",
            _on_off(AttendanceReportGenerationType.GENERATE_REPORT, AttendanceReportGenerationType.DO_NOT_GENERATE),
            {"on": "Yes, after each call", "off": "No"},
            "Recording and notes", "A list of who came and for how long, sent to the owner.", "off"),
)
_BY_KEY = {s.key: s for s in SETTINGS}
assert all(s.path in CONFIG_FIELD_PATHS and s.group in GROUPS and s.choices.keys() == s.values.keys()
           for s in SETTINGS)


def usage() -> str:
    return "; ".join(f"{s.key}={'|'.join(s.values)}" for s in SETTINGS)


def _quoted(typed: str, limit: int = 40) -> str:
    """What the user typed, quoted in a reply: no backtick can end the quote early, and a long value is cut."""
    text = typed.replace("`", "'")
    return "`" + (text if len(text) <= limit else text[: limit - 1] + "…") + "`"


def parse_assignments(assignments: tuple[tuple[str, str], ...]) -> dict[str, enum.Enum]:
    """`(("chat", "hosts"),)` → `{"moderation_restrictions.chat_restriction": RestrictionType.HOSTS_ONLY}`."""
    changes: dict[str, enum.Enum] = {}
    for key, word in assignments:
        setting = _BY_KEY.get(key)
        if setting is None:
            near = closest(key, _BY_KEY)
            hint = f" Did you mean `{near}`?" if near else ""
            raise InvalidSettings(f"{_quoted(key)} is not a setting.{hint} Valid settings: {usage()}.")
        value = setting.values.get(word)
        if value is None:
            choices = " or ".join(f"`{w}`" for w in setting.values)
            raise InvalidSettings(f"`{key}` can be {choices}, not {_quoted(word)}.")
        if setting.path in changes and changes[setting.path] is not value:
            raise InvalidSettings(f"`{key}` is given twice with different values.")
        changes[setting.path] = value
    return changes


_RESTRICTING = ("hosts", "on")


def dependency_errors(chosen: Mapping[str, str], moderation_now: str | None = None) -> dict[str, str]:
    """Settings that only work with Host management on, chosen while it is (or will be) off: key → why.
    One rule for the settings modal and `/meet set`."""
    moderation = chosen.get("moderation", moderation_now)
    if moderation != "off":
        return {}
    return {s.key: f"{s.label} needs Host management on." for s in SETTINGS
            if s.needs_moderation and chosen.get(s.key) in _RESTRICTING}


def check_dependencies(current: SpaceConfig, changes: Mapping[str, enum.Enum]) -> None:
    """Refuse a change that asks for host-only restrictions while Host management ends up off."""
    chosen = {s.key: s.word_for(changes[s.path]) for s in SETTINGS if s.path in changes}
    moderation = _BY_KEY["moderation"]
    errors = dependency_errors(chosen, moderation.word_for(read_path(current, moderation.path)))
    if errors:
        raise InvalidSettings(" ".join(errors.values()) + " Add moderation=on, or leave those settings out.")


def read_path(config: SpaceConfig | None, path: str) -> enum.Enum | None:
    value: Any = config
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value if isinstance(value, enum.Enum) else None


_EMPTY_PARENTS: dict[str, Any] = {
    "moderation_restrictions": ModerationRestrictions(),
    "artifact_config": ArtifactConfig(),
    "recording_config": RecordingConfig(),
    "transcription_config": TranscriptionConfig(),
    "smart_notes_config": SmartNotesConfig(),
}


def config_with(config: SpaceConfig, changes: Mapping[str, enum.Enum]) -> SpaceConfig:
    """A copy of `config` with each dotted path set, building empty parent messages on the way."""

    def put(node: Any, parts: list[str], value: enum.Enum) -> Any:
        head, rest = parts[0], parts[1:]
        if not rest:
            return dataclasses.replace(node, **{head: value})
        child = getattr(node, head) or _EMPTY_PARENTS[head]
        return dataclasses.replace(node, **{head: put(child, rest, value)})

    for path, value in changes.items():
        config = put(config, path.split("."), value)
    return config
