# Two entry points: `make demo` runs the default scenario, `make test` runs the suite.
# Both create a virtual environment in .venv on first use and install into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/notifsim demo

test: $(VENV)/.dev
	$(BIN)/ruff check notifsim tests bench scripts
	$(BIN)/ruff format --check notifsim tests bench scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(VENV)/.runtime
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data/*.duckdb
