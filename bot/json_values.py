"""JSON at meetbot's edges (Google's answers, Slack's, records in Redis, job payloads): the type of a value
meetbot writes, and of an object it reads back, checked to be an object when parsed.

Written JSON is typed all the way down (`JsonObject`). Read JSON is a read-only `ReadJson` whose values each
reader checks where it reads them (isinstance, or a model's `from_json`): what Google or a stored record holds is
never trusted to have the shape meetbot once wrote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["Json", "JsonObject", "ReadJson", "parse_object"]

Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]
JsonObject = dict[str, Json]
ReadJson = Mapping[str, Any]


def parse_object(raw: str | bytes, what: str = "the JSON") -> ReadJson:
    """A JSON object; ValueError for malformed JSON or any other JSON value."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError(f"{what} is not a JSON object")
    return data
