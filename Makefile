# Two commands on a fresh machine: `make demo` and `make check` (what CI runs).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck check bench bench-hostile bench-scale soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Stream a response through the whole stack: live when a provider key is set, else a recording.
demo: $(STAMP)
	$(BIN)/python -m llmring.demo

## The test suite, offline, on asyncio and trio. Bytecode, pytest's rewritten test modules
## included, is cached under .venv even where PYTHONDONTWRITEBYTECODE is set: collecting
## takes ~3 s instead of ~6, and the forty-odd Pythons the tests start reuse it too.
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check llmring tests benchmarks
	$(BIN)/ruff format --check llmring tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

## CPU per chunk against bare httpx + json.loads and the official SDKs. The SDKs go into a
## separate virtualenv, only for comparison: llmring never installs or imports them.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . openai anthropic google-genai ollama
	touch $@

bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python benchmarks/bench_stream.py

## Hostile input at size: 50 MB lines, a gzip bomb, a 5 MB image line, 16k-binding lockfiles.
bench-hostile: $(STAMP)
	$(BIN)/python benchmarks/bench_hostile.py
## Thousands of streams with random failures, breaks, cancels and hedges against a loopback
## server, on asyncio and trio (pool of 5): reports hangs, leaked connections and RSS. Bounded;
## not part of `make test`.
soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py
## Thousands of concurrent streams from one process: llmring against bare httpx, 50-5,000
## streams on a loopback server in its own process (127.0.0.1 only). Takes 15-30 minutes.
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py --kinds llmring,httpx,llmring-httpcore

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
