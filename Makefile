# Two entry points on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint audit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/drillbot run

lint: $(STAMP)
	$(BIN)/ruff check bot testing tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# The issue-12 audit alone: the bad-input suite (matrix §5.3) and every finding's regression
# test; `make test` runs them too. Set DRILLBOT_TEST_POSTGRES_URL to include PostgreSQL.
audit: $(STAMP)
	$(BIN)/python -m pytest -m audit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data
