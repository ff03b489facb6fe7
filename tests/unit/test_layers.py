"""The house rules of DESIGN §2, enforced on the import graph of bot/ (read with ast, nothing imported).

Layers, top to bottom; a module may import its own layer and the ones below it, never one above:
  root       app, web, server, workers, __main__, check, rotate, web_pages, follow_runner   (composition root)
  slack      bot/slack/
  core       bot/core/          states what it needs as ports: never store/, Bolt, aiohttp, Redis or httpx
  jobs       bot/jobs/
  meet, google                  side by side: neither imports the other, and meet/ never imports store/
  store      bot/store/         (the only door to Redis)
  googleapi  bot/googleapi/     what meet/ and google/ share: the one error tree, the call reporting
  base       config, domain, errors, logs, background, metrics, actions, ack_deadline, json_values   (leaves)

An import counts however it is written: `import`, `from … import` (relative ones resolved), and a literal name
given to `importlib.import_module` or `__import__`. `test_the_rules_catch_each_breach` feeds the checker one
snippet per kind of breach, so a rule that stops seeing its breach fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
RANK = {"root": 7, "slack": 6, "core": 5, "jobs": 4, "meet": 3, "google": 3, "store": 2, "googleapi": 1, "base": 0}
ROOT_MODULES = {"app", "web", "server", "workers", "__main__", "check", "rotate", "web_pages", "follow_runner"}
BASE_MODULES = {"config", "domain", "errors", "logs", "background", "metrics", "actions", "ack_deadline",
                "json_values"}
CORE_FORBIDDEN = ("slack_bolt", "slack_sdk", "aiohttp", "redis", "httpx")
# Packages that must not see each other although no rank forbids it (or that sit below but stay out of reach).
FORBIDDEN = {
    "core": ("bot.store", "bot.slack"),  # core states its storage as ports (core/ports.py); app.py wires store in
    "meet": ("bot.google", "bot.store"),  # what meet and google share lives in bot/googleapi
    "google": ("bot.meet",),
}
DYNAMIC = {"import_module", "__import__"}  # importlib.import_module(name) / import_module(name) / __import__(name)


def layer_of(module: str) -> str:
    if module == "bot":
        return "base"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in RANK and parts[1] not in ("root", "base"):
        return parts[1]
    name = parts[1] if len(parts) > 1 else ""
    if name in ROOT_MODULES:
        return "root"
    if name in BASE_MODULES:
        return "base"
    raise AssertionError(f"{module} belongs to no layer: add it to DESIGN §2 and to this test")


def imports_in(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every name `module` imports (absolute), however the import is written."""
    package = module if is_package else module.rsplit(".", 1)[0]
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*kept, base]).strip(".")
            imported.add(base)
            imported |= {f"{base}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Call) and _called_name(node.func) in DYNAMIC and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                imported.add(first.value)
    return imported


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def modules() -> dict[str, set[str]]:
    """module name → every module it imports (absolute names)."""
    found: dict[str, set[str]] = {}
    for path in BOT.rglob("*.py"):
        rel = path.relative_to(BOT.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        found[name] = imports_in(path.read_text(), name, is_package=path.name == "__init__.py")
    return found


GRAPH = modules()


def _known(target: str, graph: dict[str, set[str]]) -> str | None:
    """The module of bot/ that `target` names (`bot.domain.Tenant` → `bot.domain`), or None outside bot/."""
    while target.startswith("bot.") and target not in graph:
        target = target.rsplit(".", 1)[0]
    return target if target.startswith("bot.") else None


def _within(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


def breaches(module: str, targets: set[str], graph: dict[str, set[str]] = GRAPH) -> list[str]:
    """Every rule of the house `module` breaks by importing `targets`, in words."""
    layer, found = layer_of(module), []
    for target in sorted(targets):
        known = _known(target, graph)
        if known is not None and RANK[layer_of(known)] > RANK[layer]:
            found.append(f"{module} ({layer}) imports {target} ({layer_of(known)}), a higher layer")
        for package in FORBIDDEN.get(layer, ()):
            if _within(target, package):
                found.append(f"{module} ({layer}) imports {target}: {layer}/ must not import {package}")
        if layer == "core" and target.startswith(CORE_FORBIDDEN):
            found.append(f"{module} imports {target}: core speaks in domain terms")
        if (target == "redis" or target.startswith("redis.")) and layer not in ("store", "jobs"):
            found.append(f"{module} imports {target}: only store/ (and jobs/) talk to Redis")
    return found


def test_every_module_has_a_layer() -> None:
    for module in GRAPH:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_follow_the_house_rules(module: str) -> None:
    assert breaches(module, GRAPH[module]) == []


# The one exception: `python -m bot sandbox` imports the sandbox lazily, inside its own subcommand, so that running
# the bot never loads it (test_the_sandbox_is_imported_only_inside_its_subcommand checks where).
SANDBOX_ENTRY = ("bot.__main__", "sandbox.run")


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_production_code_never_imports_tests_emulators_or_the_sandbox(module: str) -> None:
    outside = ("tests", "emulators", "sandbox")
    allowed = {SANDBOX_ENTRY[1], f"{SANDBOX_ENTRY[1]}.main"} if module == SANDBOX_ENTRY[0] else set()
    assert not any(t.split(".")[0] in outside for t in GRAPH[module] - allowed), module


def test_the_sandbox_is_imported_only_inside_its_subcommand() -> None:
    """bot/__main__.py's `_cmd_sandbox` is the only place: never at module level, never elsewhere."""
    tree = ast.parse((BOT / "__main__.py").read_text())
    top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert not any((getattr(n, "module", None) or "").startswith("sandbox") for n in top_level)
    users = [f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
             for n in ast.walk(f) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("sandbox")]
    assert users == ["_cmd_sandbox"]


def test_the_graph_sees_real_imports() -> None:
    """The checks above are only as good as the graph: make sure it sees real imports."""
    assert "bot.store.errors" in GRAPH["bot.store.connection"]
    assert "bot.domain.Tenant" in GRAPH["bot.store.keys"]
    assert any(t.startswith("redis") for t in GRAPH["bot.store.spaces"])


def test_each_error_below_core_is_defined_once() -> None:
    """No twins: Meet, Workspace Events, Pub/Sub and Redis failures come out of one class each, so one `except`
    catches a 404 (or a 429, or Redis being down) whichever client raised it. Core's refusals are the words for
    these (core/explain.py), not twins of them."""
    defined: dict[str, list[str]] = {}
    for path in BOT.rglob("*.py"):
        module = ".".join(path.relative_to(BOT.parent).with_suffix("").parts)
        if RANK[layer_of(module.removesuffix(".__init__"))] > RANK["meet"]:
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(_called_name(b).endswith(("Error", "Exception")) or
                                                      _called_name(b) in defined for b in node.bases):
                defined.setdefault(node.name, []).append(module)
    assert {name: where for name, where in defined.items() if len(where) > 1} == {}


# One snippet per kind of breach, as it could be written in that module; each must be reported.
BREACHES = [
    ("bot.core.credentials", "from bot.store.google_links import GoogleLinkStore"),  # a concrete store class
    ("bot.core.linking", "from bot.store.errors import is_unavailable"),
    ("bot.core.rooms", "from bot import store"),
    ("bot.core.rooms", "import bot.store.rooms as rooms"),
    ("bot.core.meetings", "from ..store.spaces import SpaceRecords"),  # relative
    ("bot.core.meetings", "from bot.slack.views.blocks import notice"),
    ("bot.core.meetings", "import httpx"),
    ("bot.meet.client", "from bot.google.oauth import GoogleOAuth"),
    ("bot.meet.client", "from bot.google import calls"),
    ("bot.google.pubsub", "from bot.meet.client import MeetClient"),
    ("bot.google.oauth", "from ..meet.errors import InvalidToken"),
    ("bot.meet.models", "import bot.store.keys"),
    ("bot.meet.client", "from bot.store.errors import translated"),
    ("bot.store.spaces", "from bot.core.ports import SpaceMemory"),  # upward
    ("bot.googleapi.errors", "from bot.meet.errors import InvalidToken"),  # upward from the shared base
    ("bot.slack.home", "import redis.asyncio"),
    ("bot.core.linking", "import importlib\nimportlib.import_module('bot.store.google_links')"),
    ("bot.core.credentials", "from importlib import import_module\ndef later():\n    return import_module('redis')"),
    ("bot.meet.client", "oauth = __import__('bot.google.oauth')"),
    ("bot.google.workspace_events", "import importlib\nmeet = importlib.import_module('bot.meet.client')"),
]


@pytest.mark.parametrize(("module", "snippet"), BREACHES)
def test_the_rules_catch_each_breach(module: str, snippet: str) -> None:
    found = breaches(module, imports_in(snippet, module))
    assert found, f"{module} importing through {snippet!r} went unnoticed"


@pytest.mark.parametrize(("module", "snippet"), [
    ("bot.core.credentials", "from bot.core.ports import LinkMemory\nfrom bot.errors import StorageUnavailable"),
    ("bot.core.linking", "from bot.domain import GoogleLink\nfrom bot.google.oauth import GoogleOAuth"),
    ("bot.meet.client", "from bot.googleapi.errors import NotFound\nfrom bot.googleapi import calls"),
    ("bot.google.rest", "from bot.googleapi.errors import error_from_response"),
    ("bot.app", "from bot.store.google_links import GoogleLinkStore\nfrom bot.core.linking import Linking"),
    ("bot.core.linking", "import importlib\nimportlib.import_module(name)"),  # not a literal: nothing to judge
])
def test_the_rules_let_the_house_as_designed_be(module: str, snippet: str) -> None:
    assert breaches(module, imports_in(snippet, module)) == []
