# resim: the two commands of the README's quick start, and the benchmarks.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-torch bench bytecode clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# resim's own bytecode, compiled ahead: pip compiles the packages it installs but not an
# editable project's sources, and where PYTHONDONTWRITEBYTECODE is set (as on our development machines)
# every `resim` process would compile them again (40-60 ms of a small solve's start-up).
# compileall only rewrites what changed.
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q resim

## make demo: install resim and solve a shipped example netlist
demo: bytecode
	$(BIN)/resim solve netlists/diode_clipper.cir
	@echo
	@echo "resim is installed in $(BIN). Put it on PATH in this shell with:"
	@echo "    . $(VENV)/bin/activate"
	@echo "then follow docs/tutorial.md, or the README's Use section."

## make test: install resim with its test extras and run the whole suite (but the torch engine's tests)
test: bytecode
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q -m "not torch"
	@echo "(the torch engine's tests are not in this run: make test-torch installs PyTorch and runs them)"

# PyTorch for the optional torch engine. The default is the CPU build this project's machines
# keep on disk; elsewhere a plain `pip install torch==2.13.0` fetches a CUDA build of several GB:
#   make test-torch TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0
$(VENV)/.torch: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[test,torch]'
	touch $@

## make test-torch: install PyTorch and run the torch engine's tests (CPU; no GPU needed)
test-torch: bytecode $(VENV)/.torch
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q -m torch

## make bench: benchmarks against ngspice (minutes; results go to docs/benchmarks.md by hand).
## DRN-1H against ngspice takes ~5 minutes more: bench/drn_solve.py 1568 1024 10 --gain 480
bench: bytecode
	OPENBLAS_NUM_THREADS=1 $(BIN)/python bench/parse_rate.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python bench/ibmpg1.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python bench/drn_solve.py 1568 100 10 --gain 100
	OPENBLAS_NUM_THREADS=1 $(BIN)/python bench/drn_batch.py 1568 1024 10 --gain 480 --batch 1000
	OPENBLAS_NUM_THREADS=1 $(BIN)/python bench/grid_solve.py --side 100 --ngspice-repeats 1 --max-sweeps 2000
	OPENBLAS_NUM_THREADS=1 $(BIN)/python bench/cd_stall.py --repeats 7

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
