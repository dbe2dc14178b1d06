# The two commands of the README:  make run  /  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 3
THREADS ?= 8

.PHONY: run test lint format install install-dev lock bench-seed clean

# Environment: a virtualenv with the project at the exact versions of requirements.lock (what
# .ci/audit checks), rebuilt when pyproject or the lock changes. `make run` installs only what
# the product needs (half the download of a first run); tests and lint add the dev tools.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint requirements.lock -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet --constraint requirements.lock -e '.[dev]'
	touch $@

# Re-pin after changing pyproject's dependencies (keeps other pins); commit requirements.lock.
# `make lock LOCK_ARGS=--upgrade` moves every pin to the newest allowed version. Needs only
# pip-tools, so it works even when the old lock no longer installs with the new pyproject.
lock:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url \
		--no-emit-find-links $(LOCK_ARGS) --output-file requirements.lock pyproject.toml
	$(BIN)/pip install --quiet --constraint requirements.lock -e '.[dev]'
	touch $(VENV)/.installed $(VENV)/.installed-dev

# plotly.js is served by the app itself (no CDN): copied from the installed plotly package, so
# the browser library always matches the Python one that builds the figures.
PLOTLY_JS := static/vendor/plotly.min.js
$(PLOTLY_JS): $(VENV)/.installed
	mkdir -p static/vendor
	$(BIN)/python -c "import pathlib, plotly; print(pathlib.Path(plotly.__file__).parent / 'package_data' / 'plotly.min.js')" | xargs -I{} cp {} $@

install: $(VENV)/.installed $(PLOTLY_JS)

install-dev: install $(VENV)/.installed-dev

# A generated secret key, written once; instance/ is never committed.
instance/config.py:
	mkdir -p instance
	$(PYTHON) -c "import secrets; print(f'SECRET_KEY = {secrets.token_hex(32)!r}')" > $@
	chmod 600 $@

# Schema, demo data and a first admin on first run, then a production WSGI server.
run: install instance/config.py
	$(BIN)/flask --app dashboard setup --url http://$(HOST):$(PORT)
	@echo "Dashboard: http://$(HOST):$(PORT)/   Demo website: http://$(HOST):$(PORT)/demo/"
	$(BIN)/gunicorn --workers $(WORKERS) --worker-class gthread --threads $(THREADS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

# axe-core for the accessibility tests, pinned by tests/browser/package-lock.json and installed
# from the npm registry (never committed). Without npm the accessibility tests skip locally and
# fail in CI, which installs npm.
AXE_JS := tests/browser/node_modules/axe-core/axe.min.js
$(AXE_JS): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the axe-core accessibility tests will skip"; fi

# The whole test suite (SQLite by default; set DASHBOARD_TEST_DATABASE_URL for PostgreSQL).
test: install-dev $(AXE_JS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench-seed: install-dev
	$(BIN)/python bench/seed.py --contacts 1000000 --days 90

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
