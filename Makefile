# Keja: the README's two commands are `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DATABASE_URL_TEST ?= postgres://postgres@127.0.0.1:5432/keja
export REDIS_URL_TEST ?= redis://127.0.0.1:6379/0

.PHONY: venv demo test serve lint format types architecture unit check-services perf perf-compare clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Keja needs Python 3.11 ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

# Demo on the embedded defaults unless DATABASE_URL / REDIS_URL are set in the environment.
demo: venv
	$(BIN)/keja demo

# The whole suite against the real PostgreSQL and Redis.
test: venv check-services lint types architecture
	DATABASE_URL=$(DATABASE_URL_TEST) REDIS_URL=$(REDIS_URL_TEST) $(BIN)/pytest

check-services: venv
	@DATABASE_URL=$(DATABASE_URL_TEST) REDIS_URL=$(REDIS_URL_TEST) $(BIN)/python tests/check_services.py

lint: venv
	$(BIN)/ruff check src tests perf_suite noxfile.py
	$(BIN)/ruff format --check src tests perf_suite noxfile.py

format: venv
	$(BIN)/ruff format src tests perf_suite noxfile.py
	$(BIN)/ruff check --fix src tests perf_suite noxfile.py

types: venv
	$(BIN)/mypy src perf_suite

architecture: venv
	$(BIN)/lint-imports --no-cache

unit: venv
	$(BIN)/pytest tests/unit

# Production-like: gunicorn serving the WSGI app on 127.0.0.1:8000.
serve: venv
	$(BIN)/gunicorn keja.config.wsgi:application -c python:keja.config.gunicorn --no-control-socket

# Performance suite (P8): `make perf SCALE=small|medium|large SCENARIOS=admin,api` runs it
# (python -m perf_suite --list names the scenarios; PERF_ARGS passes any other option), and
# `make perf-compare` checks the latest results against perf_suite/baselines/$(SCALE).json.
SCALE     ?= medium
SCENARIOS ?=
PERF_ARGS ?=
TOLERANCE ?= 15
perf: venv check-services
	$(BIN)/python -m perf_suite --scale $(SCALE) $(if $(SCENARIOS),--scenarios $(SCENARIOS)) $(PERF_ARGS)

perf-compare: venv
	$(BIN)/python -m perf_suite.compare --scale $(SCALE) --tolerance $(TOLERANCE)

clean:
	rm -rf $(VENV) var/*.sqlite3* .mypy_cache .ruff_cache
