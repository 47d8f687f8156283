# resim: the two commands of the README's quick start, and the benchmarks.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## make demo: install resim and solve a shipped example netlist
demo: $(VENV)/.installed
	$(BIN)/resim solve netlists/diode_clipper.cir

## make test: install resim with its test extras and run the whole suite
test: $(VENV)/.installed
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q

## make bench: parse/solve benchmarks against ngspice (minutes; results go to docs/benchmarks.md by hand)
bench: $(VENV)/.installed
	OPENBLAS_NUM_THREADS=1 $(BIN)/python bench/parse_rate.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python bench/ibmpg1.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
