# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Stream a response through the whole stack: live when a provider key is set, else a recording.
demo: $(STAMP)
	$(BIN)/python -m llmring.demo

## The test suite, offline, on asyncio and trio.
test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check llmring tests benchmarks
	$(BIN)/ruff format --check llmring tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

## CPU per chunk of the hot path against bare httpx + json.loads.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_stream.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
