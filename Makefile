# The two commands of the README, and what they need. Every target sets itself up and is
# idempotent: a stamp file per install step, redone only when its inputs change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: demo test bench lint setup postgres contracts clean

demo: setup
	$(BIN)/carbon-ledger-demo

test: setup postgres
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python bench/run_all.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

postgres:
	scripts/ensure-postgres.sh

contracts: setup
	$(BIN)/carbon-ledger contracts build

clean:
	-$(BIN)/carbon-ledger chain down
	rm -rf var
