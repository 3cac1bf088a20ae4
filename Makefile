# One command each; every target sets itself up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS ?= redis://127.0.0.1:6379/0

.PHONY: install run test test-fast test-postgres lint bench bench-postgres clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: install
	$(PY) manage.py run_local

# Everything: unit, sandbox over HTTP, real workers, real browser, outages and kills.
test: install
	$(PY) -m pytest

# The loop while coding: no browser, no real clusters, no long scenarios.
test-fast: install
	$(PY) -m pytest -q -m "not browser and not cluster and not reliability and not slow"

# The same suite on PostgreSQL with the Redis broker (the scale-out set-up).
test-postgres: install
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
	rm -rf $(VENV) var test-artifacts .pytest_cache
