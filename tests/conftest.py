"""Shared fixtures: the ngspice reference, the shared benchmark files, and an independent
dense modified-nodal-analysis solver written from scratch (no resim code).

Nothing here ever skips: a missing reference (ngspice, a benchmark file) fails the test
with a message that says how to get it. A test skips only for what this machine or user
cannot do at all, after checking what it can, and says so: tests/test_output_safety.py
without root (a device node of its own, a file given to another user: it checks a FIFO
and the file's group instead), tests/test_decimals.py where numpy's longdouble is not x87.
pyproject's ``addopts = "-ra"`` lists every skip with its reason at the end of every run,
CI's ``make test`` included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
NETLISTS = REPO / "netlists"
def _shared_bench() -> Path:
    """``$RESIM_SHARED_BENCH``, else ``../shared/bench`` beside the repository, else /work/shared/bench."""
    if "RESIM_SHARED_BENCH" in os.environ:
        return Path(os.environ["RESIM_SHARED_BENCH"])
    beside = REPO.parent / "shared" / "bench"
    return beside if beside.is_dir() else Path("/work/shared/bench")


SHARED_BENCH = _shared_bench()


# ---- ngspice ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ngspice() -> str:
    """Path of the ngspice executable; fails (never skips) with an install hint when absent."""
    from resim.ngspice import INSTALL_HINT, NgspiceNotFound, find_ngspice

    try:
        return find_ngspice()
    except NgspiceNotFound as exc:
        pytest.fail(f"ngspice is required for this test and was not found ({exc}); {INSTALL_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def torch():
    """The torch module, for the tests of the torch engine (marked ``torch``: ``make
    test-torch`` installs it and runs them); fails (never skips) when it is not installed."""
    try:
        import torch
    except ImportError:
        from resim.drn.engine import TORCH_INSTALL

        pytest.fail(f"PyTorch is required for this test (the torch engine) and is not installed: {TORCH_INSTALL}, "
                    "or `make test-torch`", pytrace=False)
    return torch


@pytest.fixture(scope="session")
def resim_exe() -> str:
    """The installed ``resim`` console script (next to this Python first, then on $PATH);
    fails (never skips) when it is not installed."""
    import shutil
    import sys

    here = Path(sys.executable).with_name("resim")
    found = str(here) if here.exists() else shutil.which("resim")
    if found is None:
        pytest.fail("the `resim` console script is not installed: run `pip install -e '.[test]'`", pytrace=False)
    return found


@pytest.fixture(scope="session")
def netlists_dir() -> Path:
    return NETLISTS


@pytest.fixture(scope="session")
def shared_bench() -> Path:
    """The shared benchmark folder (see ``_shared_bench``)."""
    if not SHARED_BENCH.is_dir():
        pytest.fail(
            f"shared benchmark folder {SHARED_BENCH} is missing: it must hold ibmpg1.spice "
            "(the IBM power-grid benchmark); set $RESIM_SHARED_BENCH to its location",
            pytrace=False,
        )
    return SHARED_BENCH


# ---- netlists the benchmarks build --------------------------------------------------------


@pytest.fixture(scope="session")
def grid_lines():
    """``bench/_common.py``'s :func:`grid_lines`: the element lines of a square resistor
    mesh, as the grid benchmarks build it (loaded from its file: bench/ is no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_common", REPO / "bench" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.grid_lines


# ---- an independent reference solver ----------------------------------------------------


@dataclass
class Net:
    """A linear network as plain lists; node 0 is ground, nodes are ``0..n_nodes-1``.

    Conventions (SPICE's, written out here independently of resim):

    * ``resistors``: ``(a, b, R)``; current ``(v_a - v_b) / R`` from a to b.
    * ``vsources``: ``(p, n, E)``: ``v_p - v_n = E``; branch current flows into ``p``,
      through the source, out of ``n``.
    * ``isources``: ``(a, b, I)``: ``I`` flows from ``a`` through the source to ``b``.
    * ``vcvs``: ``(p, n, cp, cn, A)``: ``v_p - v_n = A (v_cp - v_cn)``; current as a V source.
    * ``vccs``: ``(p, n, cp, cn, gm)``: current ``gm (v_cp - v_cn)`` from ``p`` through the
      source to ``n``.
    """

    n_nodes: int
    resistors: list = field(default_factory=list)
    vsources: list = field(default_factory=list)
    isources: list = field(default_factory=list)
    vcvs: list = field(default_factory=list)
    vccs: list = field(default_factory=list)


@dataclass
class Solution:
    v: np.ndarray  # [n_nodes], v[0] = 0
    i_r: np.ndarray  # resistor currents a -> b
    i_v: np.ndarray  # V-source branch currents
    i_e: np.ndarray  # VCVS branch currents
    i_g: np.ndarray  # VCCS currents
    cond: float  # 2-norm condition number of the system matrix


def dense_mna(net: Net) -> Solution:
    """Solve ``net`` by dense MNA: unknowns ``v_1..v_{n-1}`` then one current per V and E.

    Row ``k-1`` is KCL at node ``k`` (sum of currents *leaving* node k = 0), then one
    branch equation per V and E source. Built entry by entry with plain loops so that it
    shares nothing with resim's vectorised sparse stamping.
    """
    n = net.n_nodes - 1
    nv, ne = len(net.vsources), len(net.vcvs)
    size = n + nv + ne
    A = np.zeros((size, size))
    rhs = np.zeros(size)

    def add(row_node: int, col_node: int, value: float) -> None:
        if row_node > 0 and col_node > 0:
            A[row_node - 1, col_node - 1] += value

    def add_rhs_node(node: int, value: float) -> None:
        if node > 0:
            rhs[node - 1] += value

    for a, b, r in net.resistors:
        g = 1.0 / r
        add(a, a, g)
        add(b, b, g)
        add(a, b, -g)
        add(b, a, -g)
    for a, b, i in net.isources:
        add_rhs_node(a, -i)  # i leaves a through the source
        add_rhs_node(b, +i)
    for p, q, cp, cn, gm in net.vccs:
        add(p, cp, gm)
        add(p, cn, -gm)
        add(q, cp, -gm)
        add(q, cn, gm)
    for k, (p, q, e) in enumerate(net.vsources):
        col = n + k
        if p > 0:
            A[p - 1, col] += 1.0
            A[col, p - 1] += 1.0
        if q > 0:
            A[q - 1, col] -= 1.0
            A[col, q - 1] -= 1.0
        rhs[col] = e
    for k, (p, q, cp, cn, gain) in enumerate(net.vcvs):
        col = n + nv + k
        for node, sign in ((p, 1.0), (q, -1.0)):
            if node > 0:
                A[node - 1, col] += sign
                A[col, node - 1] += sign
        for node, sign in ((cp, -gain), (cn, gain)):
            if node > 0:
                A[col, node - 1] += sign
    cond = float(np.linalg.cond(A)) if size else 1.0
    if not np.isfinite(cond) or cond > 1e15:  # exactly singular: callers skip such draws
        x = np.full(size, np.nan)
    else:
        x = np.linalg.solve(A, rhs) if size else np.zeros(0)
    v = np.r_[0.0, x[:n]]
    i_r = np.array([(v[a] - v[b]) / r for a, b, r in net.resistors])
    i_g = np.array([gm * (v[cp] - v[cn]) for _, _, cp, cn, gm in net.vccs])
    return Solution(v, i_r, x[n:n + nv], x[n + nv:], i_g, cond)


@pytest.fixture(scope="session")
def mna():
    """The independent dense MNA solver :func:`dense_mna` and its :class:`Net` type."""
    return dense_mna, Net
