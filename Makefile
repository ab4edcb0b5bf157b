# The two commands of the README, and what they need. Every target sets itself up and is
# idempotent: a stamp file per install step, redone only when its inputs change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
# Swagger UI, Redoc and ECharts, copied out of node_modules so the pages load nothing from a CDN.
VENDOR_STAMP := ledger_api/web/static/vendor/.built
# The browser verifier, bundled from web-verifier/ (built, not committed: esbuild takes a second).
VERIFIER_JS := ledger_api/web/static/verifier/verifier.js

.PHONY: demo test test-postgres bench lint setup postgres chromium mosquitto contracts clean

demo: setup mosquitto
	$(BIN)/carbon-ledger-demo

test: setup postgres chromium mosquitto
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n auto --dist loadfile

# The same suite with every test ledger on PostgreSQL instead of SQLite (not part of `make test`,
# which runs the PostgreSQL-specific tests and the demo on it).
test-postgres: setup postgres chromium mosquitto
	CARBON_TEST_DATABASE=postgres $(BIN)/pytest -q -n auto --dist loadfile

bench: setup
	$(BIN)/python bench/run_all.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

setup: $(PY_STAMP) $(NPM_STAMP) $(VENDOR_STAMP) $(VERIFIER_JS)

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

# The browser tests drive the system Chromium.
chromium:
	scripts/ensure-chromium.sh

# The gateway's tests (tests/terminal/) and demo start their own MQTT broker.
mosquitto:
	scripts/ensure-mosquitto.sh

$(VENDOR_STAMP): $(NPM_STAMP) scripts/vendor-web-assets.sh
	scripts/vendor-web-assets.sh
	touch $@

$(VERIFIER_JS): $(NPM_STAMP) $(shell find web-verifier/src -type f) verifier/trusted_contracts.json verifier/trusted_reference.json
	node_modules/.bin/esbuild web-verifier/src/index.mjs --bundle --format=esm --minify \
		--log-level=warning --outfile=$@

contracts: setup
	$(BIN)/carbon-ledger contracts build

clean:
	-$(BIN)/carbon-ledger chain down
	rm -rf var
