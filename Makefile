# Two commands set everything up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv installs exactly what uv.lock says (hashes checked); it lives in its own small venv, bootstrapped by pip from a
# hash-pinned requirement, so the project's venv holds the lock and nothing else.
TOOLS := .tools
UV := $(TOOLS)/bin/uv
STAMP := $(VENV)/.installed
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)

.PHONY: run test lint typecheck bench check clean lock image-check

$(UV): scripts/uv-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes --no-deps -r scripts/uv-requirements.txt
	touch $(UV)

# --locked: refuses (instead of re-resolving) when pyproject.toml and uv.lock disagree; only `make lock` moves versions.
$(STAMP): uv.lock pyproject.toml $(UV)
	$(UV) sync --locked --quiet --extra test --extra conformance
	touch $(STAMP)

# The only way versions move: re-resolve to the newest that pyproject.toml allows, install that, run the suite.
lock: $(UV)
	$(UV) lock --upgrade
	$(UV) sync --locked --quiet --extra test --extra conformance
	touch $(STAMP)
	$(MAKE) test

# Runs the bot. Reads ./.env if present. Without REDIS_URL it starts a local redis-server that keeps its data
# (AOF) under ./.data/, so links and rooms survive a restart.
run: $(STAMP)
	@bash scripts/run.sh

# Four workers on two cores: most of the suite's time is waiting (emulators, Redis, child processes), not CPU.
# Measured on a 2-core machine: one worker 615 s, two 310 s, four 245 s, six 268 s (contention). TEST_WORKERS=0
# runs in one process (pytest's own output, breakpoints).
TEST_WORKERS ?= 4

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check bot emulators tests bench

typecheck: $(STAMP)
	$(BIN)/mypy bot

bench: $(STAMP)
	$(BIN)/python -m bench

check: $(STAMP)
	$(BIN)/python -m bot check

# Builds the Containerfile on a debootstrap base with buildah and checks the web process's probes (needs root).
image-check:
	bash scripts/image-check

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
