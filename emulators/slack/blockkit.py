"""Block Kit validation (reference §8): block and view limits, with Slack's `response_metadata.messages` wording."""

from __future__ import annotations

import copy
import json
import secrets
import string
from typing import Any

from emulators.slack.models import JSON


def _too_long(errs: list[str], value: Any, limit: int, pointer: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        errs.append(f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]")


def _too_many(errs: list[str], value: Any, limit: int, pointer: str) -> None:
    if isinstance(value, list) and len(value) > limit:
        errs.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")


def _text_object(errs: list[str], obj: Any, limit: int, pointer: str, *, required: bool = False,
                 plain: bool = False) -> None:
    """A text object: plain_text or mrkdwn (`plain`: plain_text only, as in headers, buttons, options of menus,
    labels and modal titles), its text 1 to `limit` characters."""
    if obj is None:
        if required:
            errs.append(f"[ERROR] missing required field: text [json-pointer:{pointer}]")
        return
    if not isinstance(obj, dict) or obj.get("type") not in (("plain_text",) if plain else ("plain_text", "mrkdwn")):
        errs.append(f"[ERROR] failed to match all allowed schemas [json-pointer:{pointer}]")
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        # Block Kit reference: a text object's text is at least 1 character.
        errs.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]")
    _too_long(errs, text, limit, f"{pointer}/text")


def _confirm(errs: list[str], obj: Any, pointer: str) -> None:
    """A confirmation dialog object: title ≤ 100, text ≤ 300, confirm and deny ≤ 30 (Block Kit reference)."""
    if obj is None:
        return
    if not isinstance(obj, dict):
        errs.append(f"[ERROR] must be an object [json-pointer:{pointer}]")
        return
    _text_object(errs, obj.get("title"), 100, f"{pointer}/title", required=True, plain=True)
    _text_object(errs, obj.get("text"), 300, f"{pointer}/text", required=True)
    _text_object(errs, obj.get("confirm"), 30, f"{pointer}/confirm", required=True, plain=True)
    _text_object(errs, obj.get("deny"), 30, f"{pointer}/deny", required=True, plain=True)


def _option_count(errs: list[str], el: JSON, pointer: str) -> None:
    """An overflow menu holds 2 to 5 options (Block Kit reference)."""
    options = el.get("options")
    if el["type"] == "overflow" and (not isinstance(options, list) or not 2 <= len(options) <= 5):
        errs.append(f"[ERROR] must provide between 2 and 5 items [json-pointer:{pointer}/options]")  # guess: wording


def _unique_action_ids(errs: list[str], elements: list[Any], pointer: str) -> None:
    """Within one block, each interactive element needs its own action_id (Block Kit reference)."""
    seen: set[str] = set()
    for j, el in enumerate(elements):
        action_id = el.get("action_id") if isinstance(el, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:  # guess: wording
                errs.append(f"[ERROR] duplicate action_id {json.dumps(action_id)} "
                            f"[json-pointer:{pointer}/{j}/action_id]")
            seen.add(action_id)


def block_text_length(blocks: Any) -> int:
    """Every `text` string in the blocks, added up: what a cumulative limit on a message's block text counts."""
    if isinstance(blocks, list):
        return sum(block_text_length(b) for b in blocks)
    if isinstance(blocks, dict):
        return sum(len(v) if k == "text" and isinstance(v, str) else block_text_length(v) for k, v in blocks.items())
    return 0


def _validate_element(errs: list[str], el: Any, pointer: str) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errs.append(f"[ERROR] missing required field: type [json-pointer:{pointer}]")
        return
    _too_long(errs, el.get("action_id"), 255, f"{pointer}/action_id")
    _confirm(errs, el.get("confirm"), f"{pointer}/confirm")
    _option_count(errs, el, pointer)
    if el["type"] == "button":
        _text_object(errs, el.get("text"), 75, f"{pointer}/text", required=True, plain=True)
        _too_long(errs, el.get("value"), 2000, f"{pointer}/value")
        _too_long(errs, el.get("url"), 3000, f"{pointer}/url")
        if el.get("style") not in (None, "primary", "danger"):
            errs.append(f"[ERROR] must be one of the allowed values [json-pointer:{pointer}/style]")
    options = el.get("options")
    _too_many(errs, options, 100, f"{pointer}/options")
    if isinstance(options, list):
        for i, opt in enumerate(options):
            if isinstance(opt, dict):  # radio buttons and checkboxes may use mrkdwn; menus plain_text only
                _text_object(errs, opt.get("text"), 75, f"{pointer}/options/{i}/text",
                             plain=el["type"] not in ("radio_buttons", "checkboxes"))
                _too_long(errs, opt.get("value"), 150, f"{pointer}/options/{i}/value")
    _initial_options(errs, el, pointer)


def _option_key(opt: Any) -> tuple[Any, Any, Any] | None:
    """What makes two option objects "the same option": value and text (type and string)."""
    if not isinstance(opt, dict):
        return None
    text = opt.get("text")
    # guess: Slack's exact comparison is undocumented; `emoji` and `description` are not compared.
    if isinstance(text, dict):
        return (opt.get("value"), text.get("type"), text.get("text"))
    return (opt.get("value"), None, text)


def _all_options(el: JSON) -> list[Any]:
    """The element's `options`, or the options inside its `option_groups`."""
    found: list[Any] = []
    if isinstance(el.get("options"), list):
        found.extend(el["options"])
    groups = el.get("option_groups")
    if isinstance(groups, list):
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("options"), list):
                found.extend(group["options"])
    return found


def _initial_options(errs: list[str], el: JSON, pointer: str) -> None:
    """`initial_option(s)` of static menus, radio buttons and checkboxes must be among the element's options."""
    kind = el["type"]
    # guess: wording; Slack documents only that an initial option must exactly match one of the options.
    message = "[ERROR] must match one of the provided options [json-pointer:{}]"
    if kind in ("static_select", "radio_buttons") and el.get("initial_option") is not None:
        choices = {_option_key(o) for o in _all_options(el)} - {None}
        if _option_key(el["initial_option"]) not in choices:
            errs.append(message.format(f"{pointer}/initial_option"))
    elif kind in ("multi_static_select", "checkboxes") and el.get("initial_options") is not None:
        initial = el["initial_options"]
        if not isinstance(initial, list):
            errs.append(f"[ERROR] must be an array [json-pointer:{pointer}/initial_options]")
            return
        choices = {_option_key(o) for o in _all_options(el)} - {None}
        for i, opt in enumerate(initial):
            if _option_key(opt) not in choices:
                errs.append(message.format(f"{pointer}/initial_options/{i}"))


def validate_blocks(blocks: list[Any], pointer: str, max_blocks: int) -> list[str]:
    """Slack-style error messages for a block list (empty when valid)."""
    errs: list[str] = []
    _too_many(errs, blocks, max_blocks, pointer)
    # Only the block_ids the caller sent: Slack fills in the missing ones after validation (with_block_ids).
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        bp = f"{pointer}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errs.append(f"[ERROR] missing required field: type [json-pointer:{bp}]")
            continue
        block_id = block.get("block_id")
        _too_long(errs, block_id, 255, f"{bp}/block_id")
        if isinstance(block_id, str):
            # guess: wording. An empty block_id counts as an id too (slack-go#823: two empty ones are refused).
            if block_id in seen_ids:
                errs.append(f"[ERROR] duplicate block_id {json.dumps(block_id)} [json-pointer:{bp}/block_id]")
            seen_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            fields = block.get("fields")
            _text_object(errs, block.get("text"), 3000, f"{bp}/text")
            _too_many(errs, fields, 10, f"{bp}/fields")
            if isinstance(fields, list):
                for j, fld in enumerate(fields):
                    _text_object(errs, fld, 2000, f"{bp}/fields/{j}")
            if block.get("text") is None and not fields:
                # guess: wording
                errs.append(f"[ERROR] must provide either text or fields [json-pointer:{bp}]")
            if block.get("accessory") is not None:
                _validate_element(errs, block["accessory"], f"{bp}/accessory")
        elif kind == "header":
            _text_object(errs, block.get("text"), 150, f"{bp}/text", required=True, plain=True)
        elif kind in ("context", "actions"):
            elements = block.get("elements")
            if not isinstance(elements, list):
                errs.append(f"[ERROR] missing required field: elements [json-pointer:{bp}]")
                continue
            _too_many(errs, elements, 10 if kind == "context" else 25, f"{bp}/elements")
            if kind == "actions":
                for j, el in enumerate(elements):
                    _validate_element(errs, el, f"{bp}/elements/{j}")
                _unique_action_ids(errs, elements, f"{bp}/elements")
        elif kind == "input":
            _text_object(errs, block.get("label"), 2000, f"{bp}/label", required=True, plain=True)
            _text_object(errs, block.get("hint"), 2000, f"{bp}/hint", plain=True)
            _validate_element(errs, block.get("element"), f"{bp}/element")
        elif kind == "image":
            _too_long(errs, block.get("image_url"), 3000, f"{bp}/image_url")
            _too_long(errs, block.get("alt_text"), 2000, f"{bp}/alt_text")
        elif kind == "markdown":
            _too_long(errs, block.get("text"), 12000, f"{bp}/text")
    return errs


def validate_view(view: JSON, allowed_types: tuple[str, ...]) -> list[str]:
    errs: list[str] = []
    if view.get("type") not in allowed_types:
        errs.append("[ERROR] must be one of the allowed values [json-pointer:/view/type]")
        return errs
    if view["type"] == "modal":
        _text_object(errs, view.get("title"), 24, "/view/title", required=True, plain=True)
        _text_object(errs, view.get("submit"), 24, "/view/submit", plain=True)
        _text_object(errs, view.get("close"), 24, "/view/close", plain=True)
        _submit_for_inputs(errs, view)
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        errs.append("[ERROR] missing required field: blocks [json-pointer:/view/blocks]")
    else:
        errs.extend(validate_blocks(blocks, "/view/blocks", 100))
    _too_long(errs, view.get("private_metadata"), 3000, "/view/private_metadata")
    _too_long(errs, view.get("callback_id"), 255, "/view/callback_id")
    _too_long(errs, view.get("external_id"), 255, "/view/external_id")
    return errs


def _submit_for_inputs(errs: list[str], view: JSON) -> None:
    """A modal with an input block must have a submit button (Block Kit reference: `submit`)."""
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if has_input and view.get("submit") is None:  # guess: wording
        errs.append("[ERROR] submit is required when an input block is present [json-pointer:/view/submit]")


# ------------------------------------------------------------------------------------------------------------


def with_block_ids(blocks: list[Any]) -> list[Any]:
    """A copy of `blocks` as Slack stores them: each block sent without a block_id gets a random one."""
    out = copy.deepcopy(blocks)
    for block in out:
        if isinstance(block, dict) and "block_id" not in block:
            # Slack assigns a short random block_id to blocks sent without one.
            alphabet = string.ascii_letters + string.digits
            block["block_id"] = "".join(secrets.choice(alphabet) for _ in range(5))
    return out
