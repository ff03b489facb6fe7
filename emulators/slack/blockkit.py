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


def _text_object(errs: list[str], obj: Any, limit: int, pointer: str, *, required: bool = False) -> None:
    if obj is None:
        if required:
            errs.append(f"[ERROR] missing required field: text [json-pointer:{pointer}]")
        return
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        errs.append(f"[ERROR] failed to match all allowed schemas [json-pointer:{pointer}]")
        return
    _too_long(errs, obj.get("text"), limit, f"{pointer}/text")


def _validate_element(errs: list[str], el: Any, pointer: str) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errs.append(f"[ERROR] missing required field: type [json-pointer:{pointer}]")
        return
    _too_long(errs, el.get("action_id"), 255, f"{pointer}/action_id")
    if el["type"] == "button":
        _text_object(errs, el.get("text"), 75, f"{pointer}/text", required=True)
        _too_long(errs, el.get("value"), 2000, f"{pointer}/value")
        _too_long(errs, el.get("url"), 3000, f"{pointer}/url")
        if el.get("style") not in (None, "primary", "danger"):
            errs.append(f"[ERROR] must be one of the allowed values [json-pointer:{pointer}/style]")
    options = el.get("options")
    _too_many(errs, options, 100, f"{pointer}/options")
    if isinstance(options, list):
        for i, opt in enumerate(options):
            if isinstance(opt, dict):
                _text_object(errs, opt.get("text"), 75, f"{pointer}/options/{i}/text")
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
            _text_object(errs, block.get("text"), 150, f"{bp}/text", required=True)
        elif kind in ("context", "actions"):
            elements = block.get("elements")
            if not isinstance(elements, list):
                errs.append(f"[ERROR] missing required field: elements [json-pointer:{bp}]")
                continue
            _too_many(errs, elements, 10 if kind == "context" else 25, f"{bp}/elements")
            if kind == "actions":
                for j, el in enumerate(elements):
                    _validate_element(errs, el, f"{bp}/elements/{j}")
        elif kind == "input":
            _text_object(errs, block.get("label"), 2000, f"{bp}/label", required=True)
            _text_object(errs, block.get("hint"), 2000, f"{bp}/hint")
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
        _text_object(errs, view.get("title"), 24, "/view/title", required=True)
        _text_object(errs, view.get("submit"), 24, "/view/submit")
        _text_object(errs, view.get("close"), 24, "/view/close")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        errs.append("[ERROR] missing required field: blocks [json-pointer:/view/blocks]")
    else:
        errs.extend(validate_blocks(blocks, "/view/blocks", 100))
    _too_long(errs, view.get("private_metadata"), 3000, "/view/private_metadata")
    _too_long(errs, view.get("callback_id"), 255, "/view/callback_id")
    _too_long(errs, view.get("external_id"), 255, "/view/external_id")
    return errs


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
