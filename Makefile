# Two entry points for a fresh machine with only Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
# `make run PORT=8001` (or HOTLINE_PORT=8001 in the environment, which `hotline demo` reads itself).
PORT ?=
export PYTHON

.PHONY: run test setup setup-run system-deps services lint typecheck unit integration bench clean

run: setup-run ## set up (runtime packages only) and run the demo on the embedded default (SQLite + in-process jobs)
	$(BIN)/hotline demo $(if $(PORT),--port $(PORT))

test: setup system-deps services lint typecheck ## set up everything and run the whole suite
	bash scripts/pytest.sh

setup: $(STAMP)

setup-run: $(RUN_STAMP)

# scripts/setup.sh: uv from PyPI, wheels only, progress as it goes (docs/benchmarks.md, "First hour").
$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh dev
	touch $(STAMP) $(RUN_STAMP)

# What the demo needs and no more: the test tools (playwright, schemathesis, mypy …) wait for `make test`.
$(RUN_STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh run
	touch $(RUN_STAMP)

system-deps: ## Debian packages the tests use (Chromium for browser tests, the services if absent)
	bash scripts/system-deps.sh

services: ## start PostgreSQL and Redis if they are stopped
	bash scripts/services.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -m "not integration and not browser"

integration: setup services
	$(BIN)/pytest -m integration

bench: setup services
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
