# vendorlink — set-up, demo and tests. Every target creates or updates the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: install demo test lint format bench-extract clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Generate a benchmark, ingest, extract, label and split it, and print a summary.
demo: $(STAMP)
	$(BIN)/vendorlink demo --out $(DEMO_DIR)

## Lint and run the whole test suite (what CI runs).
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 --durations=10

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

## Field-extraction quality and speed on a generated MATCHED-scale set.
bench-extract: $(STAMP)
	$(BIN)/python benchmarks/extraction.py --preset matched

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
