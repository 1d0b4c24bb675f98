# Atrium: `make run` serves the portal with demo data; `make test` runs every check.
# Every target installs what it needs itself: a fresh clone needs only Python 3.11+, Node and npm.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed
VENDOR_STAMP := static/vendor/.installed

.PHONY: setup run test lint typecheck pytest bench services chromium messages clean

setup: $(VENV_STAMP) $(VENDOR_STAMP)

$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Atrium needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENDOR_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	touch $@

run: setup
	$(BIN)/atrium migrate
	$(BIN)/atrium demo
	$(BIN)/atrium serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

services:
	scripts/ensure-services.sh

chromium:
	scripts/ensure-chromium.sh

pytest: setup services chromium
	$(BIN)/pytest

test: lint typecheck pytest

bench: setup
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Re-extract translatable strings and merge them into the Dutch catalogue.
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o portal/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations -l nl --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .mypy_cache .ruff_cache
