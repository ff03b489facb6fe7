# Two commands set everything up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,conformance]'
	touch $(STAMP)

# Runs the bot. Reads ./.env if present. Without REDIS_URL it starts a local redis-server that keeps its data
# (AOF) under ./.data/, so links and rooms survive a restart.
run: $(STAMP)
	@bash scripts/run.sh

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bot emulators tests bench

typecheck: $(STAMP)
	$(BIN)/mypy bot

bench: $(STAMP)
	$(BIN)/python -m bench

check: $(STAMP)
	$(BIN)/python -m bot check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
