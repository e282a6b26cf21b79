# The two commands of the README:
#   make run    set up .venv, migrate, create a demo admin, serve on http://127.0.0.1:8000
#   make test   set up .venv with test tools, lint and type-check, run the whole suite
# Both work on a fresh machine with python3 >= 3.11 and no services (SQLite, in-memory layer).
#   make serve  the production server (uvicorn, DEBUG off): HOST, PORT, WORKERS (> 1 needs REDIS_URL)
#   make bench  delivery and connect benchmarks against the FastAPI guide's design (bench/RESULTS.md)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

.PHONY: run serve bench bench-storm test test-quick test-database fuzz screenshots lint types typecheck-js format venv venv-dev migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

venv: $(VENV)/.runtime-installed
venv-dev: $(VENV)/.dev-installed

run: venv
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	case "$${DJANGO_DEBUG:-1}" in 0|false|False|no|off) ;; *) \
	  DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py ensure_demo_admin --admin-url http://$(HOST):$(PORT)/admin/ ;; esac
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Production mode: DEBUG off, static files from whitenoise, WORKERS processes on one port.
serve: venv
	$(BIN)/python -m realtime_site.serve --migrate --collectstatic --host $(HOST) --port $(PORT) --workers $(WORKERS)

$(VENV)/.bench-installed: bench/requirements.txt requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r bench/requirements.txt
	touch $@ $(VENV)/.dev-installed $(VENV)/.runtime-installed

# Deliveries (back to back, then paced at an equal load), then what a connect and a close
# cost the server, split by phase; bench-storm: a deploy's reconnect storm, with REST
# served by the same workers and then by a process of its own (the split deployment).
bench: $(VENV)/.bench-installed
	$(BIN)/python bench/delivery.py $(BENCH_ARGS)
	$(BIN)/python bench/delivery.py --sockets 1000 --writes 50 --writes-per-sec 10 --targets reference serve-memory serve-redis
	$(BIN)/python bench/connect.py --profile $$(mktemp -d)

bench-storm: $(VENV)/.bench-installed
	$(BIN)/python bench/storm.py --sockets 5000
	$(BIN)/python bench/storm.py --sockets 5000 --rest-apart

lint: venv-dev typecheck-js
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache --no-logo

# The TypeScript side (npm packages pinned in typescript/package-lock.json): the AsyncAPI
# document validated by AsyncAPI's own parser, the channels' types generated from it, and
# tsc checking code that uses them and realtime.js's declarations as a bundler would.
typescript/node_modules/.installed: typescript/package.json typescript/package-lock.json
	cd typescript && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# make types: typescript/generated/realtime-site.d.ts (TYPES_OUT= to write it elsewhere).
TYPES_OUT ?= typescript/generated/realtime-site.d.ts
types: venv-dev typescript/node_modules/.installed
	DJANGO_SETTINGS_MODULE=realtime_site.test_settings $(BIN)/python manage.py asyncapi --output typescript/generated/asyncapi.json
	node typescript/validate_asyncapi.mjs typescript/generated/asyncapi.json
	node typescript/generate_types.mjs typescript/generated/asyncapi.json $(TYPES_OUT)

typecheck-js: types
	cd typescript && npx --no-install tsc -p .

format: venv-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Tests run in TEST_WORKERS processes (pytest-xdist): most of their time is spent waiting
# on servers and sockets, not on the 2 cores. Browser tests drive Debian's chromium through
# Playwright's sync API, whose event loop would clash with the async tests, so they run in
# a second pytest invocation.
TEST_WORKERS ?= 4
BROWSER_TEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)
	$(BIN)/python -m pytest -n $(BROWSER_TEST_WORKERS) browser_tests $(PYTEST_ARGS)

# A quick check while working: lint, then the tests that start no server process (no
# live_server marker) and no browser.
test-quick: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not live_server" $(PYTEST_ARGS)

# The fuzz of realtime_site/tests/test_fuzz.py at length: thousands of REST cases from the
# OpenAPI document (schemathesis) and client frames from the AsyncAPI document (hypothesis).
fuzz: venv-dev
	FUZZ_REST_EXAMPLES=100 FUZZ_FRAME_EXAMPLES=1500 $(BIN)/python -m pytest -s realtime_site/tests/test_fuzz.py $(PYTEST_ARGS)

# The tests whose outcome depends on the database engine (marker `database`), for a
# second pass on another DATABASE_URL: CI runs them on PostgreSQL after `make test`.
test-database: venv-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m database $(PYTEST_ARGS)

# Refresh docs/screenshot*.png from a live server in Debian's chromium.
screenshots: venv-dev
	$(BIN)/python -m browser_tests.screenshots

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles typescript/node_modules
