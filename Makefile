# One command each; every target sets itself up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS ?= redis://127.0.0.1:6379/0

.PHONY: install run test test-postgres lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: install
	$(PY) manage.py run_local

test: install
	$(PY) -m pytest

# The same suite on PostgreSQL with the Redis broker (the scale-out set-up).
test-postgres: install
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(PY) -m pytest -m "not browser"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Figures go in docs/BENCHMARKS.md.
bench: install
	$(PY) bench/import_bench.py --count 100000
	$(PY) bench/pages.py

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
