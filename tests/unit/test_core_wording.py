"""Core speaks in domain results and plain reasons; how to fix something in Slack (`/meet connect`, `/meet room`) is
the Slack edge's wording (issue 24: "wording, including every `/meet …` hint, lives in the Slack layer's replies").
Docstrings and comments may name commands; strings a person could be shown may not."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.core import errors as core
from bot.core.rooms import RoomBusy
from bot.slack.replies import reply_for

CORE = Path(__file__).resolve().parents[2] / "bot" / "core"


SLACK_COMMAND = re.compile(r"/meet(\s|`|$)")


def _not_shown(tree: ast.Module) -> set[int]:
    """Docstrings, and what goes to the operator's log."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "log"):
            found |= {id(arg) for arg in ast.walk(node) if isinstance(arg, ast.Constant)}
    return found


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_strings_name_no_slack_command(path: Path) -> None:
    tree = ast.parse(path.read_text())
    docs = _not_shown(tree)
    worded = [node.lineno for node in ast.walk(tree)
              if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
              and SLACK_COMMAND.search(node.value)]
    assert worded == [], f"{path.name}: lines {worded} word a /meet command; give the refusal a Remedy instead"


def test_a_remedy_is_worded_by_the_slack_edge() -> None:
    missing = core.MissingScope("It needs more access.", remedy=core.Remedy.RECONNECT)
    text = reply_for(missing)["blocks"][0]["text"]["text"]
    assert "It needs more access. Run `/meet connect` again" in text
    busy = reply_for(RoomBusy())["blocks"][0]["text"]["text"]
    assert "Nothing was changed" in busy and "`/meet room`" in busy
