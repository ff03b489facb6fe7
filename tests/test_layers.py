"""The house rules of DESIGN §2, enforced on the import graph of bot/ (read with ast, nothing imported).

Layers, top to bottom; a module may import its own layer and the ones below it, never one above:
  root   app, web, server, workers, __main__, check, rotate, web_pages   (composition root)
  slack  bot/slack/
  core   bot/core/
  jobs   bot/jobs/
  meet, google
  store  bot/store/        (the only door to Redis)
  base   config, domain, logs, background, metrics, actions, ack_deadline   (leaves)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
RANK = {"root": 6, "slack": 5, "core": 4, "jobs": 3, "meet": 2, "google": 2, "store": 1, "base": 0}
ROOT_MODULES = {"app", "web", "server", "workers", "__main__", "check", "rotate", "web_pages", "follow_runner"}
BASE_MODULES = {"config", "domain", "logs", "background", "metrics", "actions", "ack_deadline"}
CORE_FORBIDDEN = ("slack_bolt", "slack_sdk", "aiohttp", "redis", "httpx")


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


def modules() -> dict[str, set[str]]:
    """module name → every module it imports (absolute names)."""
    found: dict[str, set[str]] = {}
    for path in BOT.rglob("*.py"):
        rel = path.relative_to(BOT.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    kept = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*kept, base]).strip(".")
                imported.add(base)
                imported |= {f"{base}.{a.name}" for a in node.names}
        found[name] = imported
    return found


GRAPH = modules()


def test_every_module_has_a_layer() -> None:
    for module in GRAPH:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_downward(module: str) -> None:
    mine = RANK[layer_of(module)]
    for target in GRAPH[module]:
        if not target.startswith("bot.") or target not in GRAPH:
            continue
        theirs = layer_of(target)
        assert RANK[theirs] <= mine, f"{module} ({layer_of(module)}) imports {target} ({theirs}), a higher layer"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_only_store_talks_to_redis(module: str) -> None:
    uses_redis = any(t == "redis" or t.startswith("redis.") for t in GRAPH[module])
    assert not uses_redis or layer_of(module) in ("store", "jobs"), f"{module} imports redis"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if layer_of(m) == "core"))
def test_core_speaks_in_domain_terms(module: str) -> None:
    for target in GRAPH[module]:
        assert not target.startswith(CORE_FORBIDDEN), f"{module} imports {target}"
        assert not target.startswith("bot.slack"), f"{module} imports {target}: Block Kit belongs to slack/"


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


def test_the_rules_would_catch_a_breach() -> None:
    """The checks above are only as good as the graph: make sure it sees real imports."""
    assert "bot.store.errors" in GRAPH["bot.store.connection"]
    assert "bot.domain.Tenant" in GRAPH["bot.store.keys"]
    assert any(t.startswith("redis") for t in GRAPH["bot.store.spaces"])
