# Wangge — two commands: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
WEBAPP_SOURCES := $(shell find webapp -path webapp/node_modules -prune -o -path webapp/dist -prune -o -type f -print 2>/dev/null)

.PHONY: run test lint format webapp venv lock clean bench

# Every Python package, direct or not, at the version and hashes of the lock (`make lock`).
$(BIN)/.installed: requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

venv: $(BIN)/.installed

# After editing requirements.txt or requirements-dev.txt (direct dependencies): resolve them into
# the locks, keeping every other pin where it is. requirements.lock is what production installs.
UV_COMPILE := $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command "make lock"
lock: venv
	$(UV_COMPILE) -o requirements.lock requirements.txt
	$(UV_COMPILE) -c requirements.lock -o requirements-dev.lock requirements-dev.txt
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock

# The web app is built only once it exists (webapp/package.json).
webapp/node_modules/.installed: $(wildcard webapp/package.json webapp/package-lock.json)
	@# `npm ci`: exactly the committed lock, which it never rewrites (the lock lists every
	@# platform's optional packages, e.g. rollup's; `npm ci` refuses a lock that does not).
	@if [ -f webapp/package.json ]; then cd webapp && npm ci --no-audit --no-fund; fi
	@mkdir -p webapp/node_modules && touch $@

webapp/dist/.built: webapp/node_modules/.installed $(WEBAPP_SOURCES)
	@if [ -f webapp/package.json ]; then cd webapp && npm run build; fi
	@mkdir -p webapp/dist && touch $@

webapp: webapp/dist/.built

run: venv webapp
	$(FLASK) db upgrade
	$(FLASK) demo seed --if-empty
	$(FLASK) run --host $(HOST) --port $(PORT)

# pytest-xdist: one worker a core (PYTEST_WORKERS=0 runs in this process), a test file's tests
# on one worker (its module fixtures made once); each worker has its own databases and browser.
PYTEST_WORKERS ?= auto

test: venv webapp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@if [ -f webapp/package.json ]; then cd webapp && npm run --silent lint && npm run --silent typecheck && npm run --silent test; fi
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: venv webapp/node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@if [ -f webapp/package.json ]; then cd webapp && npm run --silent lint; fi
	@# the generated TypeScript (api-schema.ts from the OpenAPI document, the vocabulary):
	@# a docstring edit changes it, and CI fails on a stale copy (`npm run gen:api` in webapp/)
	$(BIN)/pytest -q -p no:cacheprovider tests/vocabulary/test_generated_typescript.py

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) webapp/node_modules webapp/dist .pytest_cache
