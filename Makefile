# One command each; every target sets itself up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS ?= redis://127.0.0.1:6379/0

# axe-core, the accessibility checker the browser tests load into each page;
# kept under var/ (not committed), pinned so every run checks the same rules.
AXE_VERSION := 4.14.1
AXE_STAMP := var/node/.axe-core-$(AXE_VERSION)
# Compiled catalogues, built from the committed .po files (binaries not committed).
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

.PHONY: install run test test-fast test-postgres lint bench bench-postgres clean prod-local \
	messages makemessages axe

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Fails on a malformed catalogue; prints the translated/fuzzy/untranslated counts.
messages: $(MO_FILES)

locale/%.mo: locale/%.po
	msgfmt --check --statistics -o $@ $<

# After wrapping new strings: adds them to the catalogue, to be translated there.
makemessages: install
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --no-location \
		--ignore=.venv --ignore=var --ignore=test-artifacts --ignore=tests

axe: $(AXE_STAMP)

$(AXE_STAMP):
	npm install --prefix var/node --save-exact --no-audit --no-fund --silent \
		axe-core@$(AXE_VERSION)
	touch $@

run: install messages
	$(PY) manage.py run_local $(if $(SANDBOX),--sandbox="$(SANDBOX)")

# The production layout (gunicorn, WhiteNoise, qclusters) on PostgreSQL and Redis:
# DATABASE_URL=postgres://... REDIS_URL=redis://... make prod-local
prod-local: install messages
	.ci/prod-local

# Everything: unit, sandbox over HTTP, real workers, real browser, outages and kills.
test: install messages axe
	$(PY) -m pytest

# The loop while coding: no browser, no real clusters, no long scenarios.
test-fast: install messages
	$(PY) -m pytest -q -m "not browser and not cluster and not reliability and not slow"

# The same suite on PostgreSQL with the Redis broker (the scale-out set-up).
test-postgres: install messages
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(PY) -m pytest -m "not browser"

# Style, formatting, and the architecture contracts in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# Figures go in docs/BENCHMARKS.md.
bench: install
	$(PY) bench/import_bench.py --stack embedded --accounts 100000 --latency-ms 20
	$(PY) bench/import_bench.py --stack postgres --accounts 100000 --latency-ms 20
	$(PY) bench/pages.py

bench-postgres: install
	$(PY) bench/import_bench.py --stack postgres --accounts 1000000 --latency-ms 20

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache $(MO_FILES)
