# Set-up and entry points. `make demo` and `make test` each do the whole set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DIR ?= nncz_demo

.PHONY: install demo test test-slow test-rail lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned to the CPU build that lies on this machine's disk (any other spec pulls CUDA)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,baselines,mock,qp,catalog,nz]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/nncz demo --output $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# nncz inside LSST DESC RAIL: RAIL (ceci, qp, tables_io, ...) goes into its own venv, then tests/rail.
RAIL_VENV := .venv-rail
RAIL_STAMP := $(RAIL_VENV)/.installed-stamp

$(RAIL_STAMP): pyproject.toml
	$(PYTHON) -m venv $(RAIL_VENV)
	$(RAIL_VENV)/bin/pip install --quiet --upgrade pip
	$(RAIL_VENV)/bin/pip install --quiet torch==2.13.0
	$(RAIL_VENV)/bin/pip install --quiet -e ".[rail,dev]"
	touch $(RAIL_STAMP)

test-rail: $(RAIL_STAMP)
	OMP_NUM_THREADS=1 $(RAIL_VENV)/bin/python -m pytest -q tests/rail

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/inference.py
	$(BIN)/python benchmarks/training.py

clean:
	rm -rf $(VENV) $(RAIL_VENV) $(DEMO_DIR) .pytest_cache
