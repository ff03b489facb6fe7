"""SpaceConfig field paths: dotted Python paths ↔ camelCase `updateMask` paths.

    "moderation_restrictions.chat_restriction"  ↔  "config.moderationRestrictions.chatRestriction"

The table below is the single list of SpaceConfig paths; a test checks it against the dataclasses.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from bot.meet.models import SpaceConfig

__all__ = ["CONFIG_FIELD_PATHS", "field_path", "iter_set_paths", "mask_path", "update_mask"]

# Leaf fields of SpaceConfig, in declaration order.
CONFIG_FIELD_PATHS: tuple[str, ...] = (
    "access_type",
    "entry_point_access",
    "moderation",
    "moderation_restrictions.chat_restriction",
    "moderation_restrictions.reaction_restriction",
    "moderation_restrictions.present_restriction",
    "moderation_restrictions.default_join_as_viewer_type",
    "attendance_report_generation_type",
    "artifact_config.recording_config.auto_recording_generation",
    "artifact_config.transcription_config.auto_transcription_generation",
    "artifact_config.smart_notes_config.auto_smart_notes_generation",
)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _all_paths() -> tuple[str, ...]:
    # Leaves plus their parents ("moderation_restrictions" replaces the whole sub-message).
    seen: dict[str, None] = {}
    for leaf in CONFIG_FIELD_PATHS:
        parts = leaf.split(".")
        for end in range(1, len(parts) + 1):
            seen[".".join(parts[:end])] = None
    return tuple(seen)


_TO_MASK = {path: "config." + ".".join(_camel(p) for p in path.split(".")) for path in _all_paths()}
_FROM_MASK = {mask: path for path, mask in _TO_MASK.items()}


def mask_path(field: str) -> str:
    """ "moderation_restrictions.chat_restriction" (or with a "config." prefix) → camelCase mask path."""
    key = field.removeprefix("config.")
    try:
        return _TO_MASK[key]
    except KeyError:
        raise ValueError(f"unknown SpaceConfig field {field!r}; known: {', '.join(_TO_MASK)}") from None


def field_path(mask: str) -> str:
    """A mask path, camelCase or snake_case, with or without "config." → the dotted Python field path."""
    full = mask if mask.startswith("config.") else "config." + mask
    if full in _FROM_MASK:
        return _FROM_MASK[full]
    key = mask.removeprefix("config.")
    if key in _TO_MASK:
        return key
    raise ValueError(f"unknown SpaceConfig mask path {mask!r}")


def update_mask(fields: Collection[str]) -> str:
    """The comma-separated `updateMask` for these dotted fields, deduplicated, in the given order."""
    if isinstance(fields, str):
        fields = (fields,)  # a lone "access_type" is one field, not 11 letters
    return ",".join(dict.fromkeys(mask_path(f) for f in fields))


def iter_set_paths(config: SpaceConfig) -> Iterator[str]:
    """Dotted paths of the leaf fields set (not None) in `config`, in declaration order."""
    for path in CONFIG_FIELD_PATHS:
        value: object = config
        for part in path.split("."):
            value = getattr(value, part)
            if value is None:
                break
        else:
            yield path
