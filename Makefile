# The two commands of the README's Quick start: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: serve test topology setup system-deps services lint typecheck bench clean

serve: setup
	$(BIN)/mlchallenge serve

test: setup services
	$(BIN)/pytest

# The production topology under faults (tests/topology): PostgreSQL, Redis with AOF, moto as S3,
# an MLflow server, the api with 2 processes and two workers, each a process of its own.
topology: setup
	$(BIN)/pytest -m topology tests/topology

setup: $(STAMP) system-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[torch,dev]'
	@touch $(STAMP)

system-deps:
	@bash scripts/system-deps

services:
	@bash scripts/services

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

bench: setup services
	$(BIN)/python bench/sandbox_overhead.py
	$(BIN)/python bench/seccomp_start.py
	$(BIN)/python bench/output_bounds.py
	$(BIN)/python bench/turnaround.py
	$(BIN)/python bench/evaluation_cost.py
	$(BIN)/python bench/generation.py
	$(BIN)/python bench/leaderboard_load.py
	$(BIN)/python bench/problem_audit.py
	$(BIN)/python bench/capacity.py

clean:
	rm -rf $(VENV) .mlchallenge .pytest_cache .mypy_cache .ruff_cache
