# Two entry points for a fresh machine with only Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup system-deps services lint typecheck unit integration bench clean

run: setup ## set up and run the demo on the embedded default (SQLite + in-process jobs)
	$(BIN)/hotline demo

test: setup system-deps services lint typecheck ## set up everything and run the whole suite
	bash scripts/pytest.sh

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

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
