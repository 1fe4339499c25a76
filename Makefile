# One command to run the demo, one to run the tests; both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wsgi:app

.PHONY: install system-deps run demo-password demo-mail test test-postgres translations catalogues lint bench wheel clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile -d translations; fi

# After changing user-facing strings: refresh every catalogue (sorted, no source locations, so
# branches that add strings merge cleanly), then translate the new empty entries.
catalogues: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	rm -f translations/messages.pot

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Development server with the demo data: http://127.0.0.1:5000 (make run PORT=8080 for another port).
PORT ?= 5000
DEMO_ENV := PORTAL_DEVELOPMENT=true PORTAL_PUBLIC_URL=$${PORTAL_PUBLIC_URL:-http://127.0.0.1:$(PORT)}
run: system-deps install
	$(DEMO_ENV) $(BIN)/flask db upgrade
	$(DEMO_ENV) $(BIN)/flask portal demo --reset-hint "make demo-password"
	$(DEMO_ENV) $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# A new password for the demo's admin login (the first make run printed the original).
demo-password: install
	@$(DEMO_ENV) $(BIN)/flask portal demo --reset-password

# Print the mail the demo queued (without PORTAL_SMTP_URL nothing is sent).
demo-mail: install
	@$(DEMO_ENV) $(BIN)/flask portal worker --once

# Debian packages the suite needs: Chromium for the browser tests, Pango and fonts for WeasyPrint,
# zbar to scan the EPC QR codes as a banking app would, nginx for the tests that run the portal
# behind a real TLS-terminating proxy.
SYSTEM_PACKAGES := chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 zbar-tools nginx
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else echo "Please install: $$missing (Debian packages)"; fi; fi

# The whole suite on SQLite; set PORTAL_TEST_DATABASE_URL to run it on PostgreSQL.
# One pytest-xdist worker per core (TEST_WORKERS=0 runs in one process); a test module stays on one
# worker, and on PostgreSQL each worker gets a database of its own (tests/conftest.py).
TEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

test: system-deps install
	$(PYTEST) $(PYTEST_ARGS)

test-postgres: install
	PORTAL_TEST_DATABASE_URL=$${PORTAL_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(PYTEST) $(PYTEST_ARGS)

# The wheel an operator installs (dist/invoice_portal-*.whl), with templates, themes, catalogues, migrations.
wheel: install
	$(BIN)/python -m pip wheel --no-deps --wheel-dir dist .

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache
