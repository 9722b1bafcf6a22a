# Two commands do all set-up on a fresh machine:
#   make run    run the bot (with no credentials: the built-in demo against the bundled Seam fake)
#   make test   install everything, lint, type-check and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run demo serve test lint pytest clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(BIN)/.installed node_modules/.installed

run: setup
	$(BIN)/python -m devtools.run

demo: setup
	$(BIN)/python -m devtools.run --demo

serve: setup
	$(BIN)/python -m bot serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The whole suite (store tests on SQLite and PostgreSQL), then the scenario tests again with
# every bot and store on PostgreSQL. Both use a throwaway PostgreSQL cluster the tests start
# (or the one named by TEST_POSTGRES_URL, as .ci/run does).
pytest: setup
	$(BIN)/pytest -q
	TEST_DATABASE=postgres $(BIN)/pytest -q tests/scenario

test: lint pytest

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
