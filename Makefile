# Wangge — two commands: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
WEBAPP_SOURCES := $(shell find webapp -path webapp/node_modules -prune -o -path webapp/dist -prune -o -type f -print 2>/dev/null)

.PHONY: run test lint format webapp venv clean bench

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# The web app is built only once it exists (webapp/package.json).
webapp/node_modules/.installed: $(wildcard webapp/package.json webapp/package-lock.json)
	@# `npm install` with the committed lock, not `npm ci`: this npm writes locks without the
	@# other platforms' optional packages (rollup's), and then `npm ci` refuses its own lock.
	@if [ -f webapp/package.json ]; then cd webapp && npm install --no-audit --no-fund; fi
	@mkdir -p webapp/node_modules && touch $@

webapp/dist/.built: webapp/node_modules/.installed $(WEBAPP_SOURCES)
	@if [ -f webapp/package.json ]; then cd webapp && npm run build; fi
	@mkdir -p webapp/dist && touch $@

webapp: webapp/dist/.built

run: venv webapp
	$(FLASK) db upgrade
	$(FLASK) demo seed --if-empty
	$(FLASK) run --host $(HOST) --port $(PORT)

test: venv webapp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@if [ -f webapp/package.json ]; then cd webapp && npm run --silent typecheck && npm run --silent test; fi
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) webapp/node_modules webapp/dist .pytest_cache
