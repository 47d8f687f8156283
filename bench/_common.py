"""Helpers shared by the benchmark scripts: timing medians, machine facts, the paper's
DRN training configurations, and the square resistor mesh of the grid benchmarks
(:func:`grid_lines`; tests/test_cd.py builds its grids with it too).

The scripts import this module by its plain name (``sys.path`` holds ``bench/``); shared
helpers live here rather than in one script that another imports, so the scripts' imports
form no cycle (tests/test_structure.py).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from typing import Callable


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` runs (and all the samples)."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), samples


def run_command(cmd: list[str], **kw) -> float:
    """Wall time of one subprocess run; raises if it fails."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0


def grid_lines(side: int, ohms: Callable[[str], float], node: str = "n{i}_{j}",
               extra: Callable[[int, int, str], list[str]] | None = None) -> list[str]:
    """The element lines of a ``side`` x ``side`` resistor mesh, node by node in row-major
    order. Node (i, j) is called ``node.format(i=i, j=j)``; it has a resistor ``rh<i>_<j>``
    to its right neighbour of ``ohms("h")`` ohms, then one ``rv<i>_<j>`` to the node below
    of ``ohms("v")`` ohms (written ``%.6e``), then the lines ``extra(i, j, name)`` gives (a
    load, a diode, a short). The callables are called in that order, so a seeded generator
    draws the same numbers in the same order whoever builds the mesh."""
    out = []
    for i in range(side):
        for j in range(side):
            name = node.format(i=i, j=j)
            if j + 1 < side:
                out.append(f"rh{i}_{j} {name} {node.format(i=i, j=j + 1)} {ohms('h'):.6e}")
            if i + 1 < side:
                out.append(f"rv{i}_{j} {name} {node.format(i=i + 1, j=j)} {ohms('v'):.6e}")
            if extra is not None:
                out.extend(extra(i, j, name))
    return out


def drn_ngspice_parser(description: str):
    """The command line of the DRN-against-ngspice benchmarks (``bench/drn_solve.py``,
    ``bench/drn_process.py``): the layer sizes, ``--gain``, ``--repeats`` and
    ``--ngspice-repeats`` (``ngspice_repeats(args)`` resolves its default)."""
    import argparse

    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("layers", type=int, nargs="+")
    ap.add_argument("--gain", type=float, default=100.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ngspice-repeats", type=int, default=None, help="default: --repeats; 0 skips ngspice")
    return ap


def ngspice_repeats(args) -> int:
    return args.repeats if args.ngspice_repeats is None else args.ngspice_repeats


MODELS = ("xs", "1h", "2h", "3h", "xl")  # the paper's DRNs, each with examples/drn_<name>_fashion.toml


def paper_config(name: str, **training):
    """``examples/drn_<name>_fashion.toml`` (the ICML 2024 paper's setting, docs/theory.md §6, checked by
    tests/test_drn.py) with the given ``[training]`` keys replaced."""
    import tomllib

    from resim.drn.config import check

    path = os.path.join(os.path.dirname(__file__), os.pardir, "examples", f"drn_{name}_fashion.toml")
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    doc["training"].update(training)
    return check(doc, "", path)


def machine() -> str:
    threads = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"load average {load:.2f}, BLAS threads {threads}")


ENGINES = {"numpy": ("numpy", ""), "torch-f32": ("torch", ""), "torch-bf16": ("torch", "bfloat16")}
EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")


def engine_config(model: str, setting: str, algorithm: str, engine: str, device: str):
    """The run's configuration: the shipped example of the model and setting, float32, one
    epoch, on ``engine`` (a key of :data:`ENGINES`)."""
    import tomllib

    from resim.drn.config import check

    followup = os.path.join(EXAMPLES, f"fashion_drn_{model}_{algorithm}.toml")
    path = followup if setting == "follow-up" and os.path.exists(followup) else \
        os.path.join(EXAMPLES, f"drn_{model}_fashion.toml")
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    backend, precision = ENGINES[engine]
    t = doc["training"]
    t.update(epochs=1, dtype="float32", backend=backend, precision=precision,
             device=device if backend == "torch" else "cpu")
    if setting == "follow-up":
        t["batch_size"] = 32
    if algorithm == "tbp":
        t["algorithm"] = "truncated-bp"
    return check(doc, "", path)
