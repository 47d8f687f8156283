"""Where the trainer's arrays live and how they are computed: numpy, or PyTorch on a CPU or GPU.

The relaxation (:mod:`resim.drn.network`), the learning rules (:mod:`resim.drn.rules`),
truncated BP (:mod:`resim.drn.tbp`), the ReLU baseline (:mod:`resim.drn.mlp`) and
evaluation are written once. They use the arrays' own operators, which numpy arrays and
torch tensors share (``@``, ``+``, ``*=``, ``-=``, slicing, ``.T``, ``.sum(axis=0)``), and an
:class:`Engine` for the few operations the two libraries spell differently (creation,
concatenation, in-place bounds, a column dot product, conversion to and from numpy). The
numpy engine keeps resim's numpy-only fast paths: the two column halves of a large product
on two cores (:mod:`resim.drn.kernels`), the BLAS update in place (:mod:`resim.drn.blas`)
and the one-pass kernel of DRN-XL (:mod:`resim.drn.onepass`). The torch engine uses
torch's own threads instead (``torch.set_num_threads``), and on the CPU hands the update of
a matrix far beyond the cache to numpy's, on views of its tensors (:func:`resim.drn.rules.descend`).

``precision`` is the dtype of the relaxation's products, the only place where it differs
from the arrays' dtype: ``bfloat16`` rounds the states and conductances to bfloat16 for
each product v W of a sweep (one copy of each W per batch), which torch multiplies with
float32 accumulation, and rounds the product back. The conductances, their updates, the
momenta, the conductance sums (the denominators) and every other sum stay in the arrays'
dtype, float32. On this project's CPU (AVX512-BF16) such a product runs about twice as fast
as in float32, more with AMX and on GPUs (docs/benchmarks.md).

Runs are stored as numpy arrays whatever the engine (:mod:`resim.drn.runs`): a run started
on one engine or device resumes on another.
"""

from __future__ import annotations

import contextlib
import functools
import re
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import numpy as np

from ..errors import ResimError
from . import blas
from .kernels import clip_conductances, column_blocks

BACKENDS = ("numpy", "torch")
TORCH_INSTALL = ("pip install 'resim[torch]'   "
                 "(CPU only: pip install torch --index-url https://download.pytorch.org/whl/cpu)")


class EngineUnavailable(ResimError):
    """An engine was asked for that this machine cannot give: torch not installed, a CUDA
    device that is not there, bfloat16 with float64 arrays (a usage error: exit 2)."""

    exit_code = 2


class Engine:
    """The array operations of training that numpy and torch spell differently.

    ``dtype``: the arrays' dtype ("float32" or "float64"); ``precision``: that of the
    relaxation's products (the same, or "bfloat16")."""

    backend = "numpy"
    device = "cpu"

    def __init__(self, dtype: str = "float64", precision: str | None = None) -> None:
        """Keys already checked (:func:`engine_problem`, by :func:`resim.drn.engines.make_engine`)."""
        self.dtype, self.precision = dtype, precision or dtype

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"

    def describe(self) -> str:
        """``numpy float32``, ``torch cuda:0 float32 (bfloat16 products)``: for messages."""
        where = "" if self.backend == "numpy" else f" {self.device}"
        extra = "" if self.precision == self.dtype else f" ({self.precision} products)"
        return f"{self.backend}{where} {self.dtype}{extra}"

    def exact(self) -> "Engine":
        """The same engine with products at the arrays' own precision (converged evaluation:
        an equilibrium to 1e-10 is beyond bfloat16's products)."""
        return self if self.precision == self.dtype else type(self)(self.dtype, None, *self._where())

    def _where(self) -> tuple:
        return ()

    # -- arrays ------------------------------------------------------------------------------------------
    def asarray(self, x: Any) -> np.ndarray:
        """``x`` (numpy, a list or a number) as this engine's array of its dtype."""
        return np.asarray(x, self.dtype)

    def numpy(self, a: Any) -> np.ndarray:
        """``a`` as a numpy array (the engine's own arrays are copied off their device)."""
        return np.asarray(a)

    def matrix(self, w: Any) -> np.ndarray:
        """A conductance or weight matrix in the layout this engine updates it in (numpy:
        column-major, :class:`resim.drn.network.DRN`)."""
        return np.asfortranarray(np.asarray(w, self.dtype))

    def zeros(self, shape: tuple[int, ...] | int) -> np.ndarray:
        return np.zeros(shape, self.dtype)

    def ones(self, shape: tuple[int, ...] | int) -> np.ndarray:
        return np.ones(shape, self.dtype)

    def full(self, shape: tuple[int, ...], value: float) -> np.ndarray:
        return np.full(shape, value, self.dtype)

    def concat(self, arrays: list, axis: int = 0) -> np.ndarray:
        return np.concatenate(arrays, axis=axis)

    # -- arithmetic --------------------------------------------------------------------------------------
    def for_products(self, w: np.ndarray) -> np.ndarray:
        """``w`` as the relaxation's products read it (rounded to bfloat16 where asked)."""
        return w

    def product(self, a: np.ndarray, b: np.ndarray, pool: Executor | None = None) -> np.ndarray:
        """a b (``b`` from :meth:`for_products`); numpy: a large ``b`` in two fixed column
        halves, the second on the pool's thread when there is one (the same bits either way)."""
        blocks = column_blocks(b)
        if len(blocks) == 1:
            return a @ b
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
        first, second = blocks
        other = None
        if pool is None:
            np.matmul(a, b[:, second], out=out[:, second])
        else:
            other = pool.submit(np.matmul, a, b[:, second], out=out[:, second])
        np.matmul(a, b[:, first], out=out[:, first])
        if other is not None:
            other.result()
        return out

    def add_product(self, v: np.ndarray, a: np.ndarray, b: np.ndarray, pool: Executor | None = None) -> None:
        """v += a b (as :meth:`product`), in place."""
        v += self.product(a, b, pool)

    def inner(self, P: np.ndarray, Q: np.ndarray, pool: Executor | None = None) -> np.ndarray:
        """P^T Q in a matrix's layout (:meth:`matrix`); numpy: in the fixed column blocks of
        :func:`~resim.drn.kernels.column_blocks`, the second on the pool's thread."""
        out = np.empty((Q.shape[1], P.shape[1]), np.result_type(P, Q))  # (P^T Q)^T, row-major
        blocks = column_blocks(out.T)
        jobs = [] if pool is None else [pool.submit(np.matmul, Q[:, cols].T, P, out=out[cols]) for cols in blocks[1:]]
        for cols in blocks[:len(blocks) - len(jobs)]:
            np.matmul(Q[:, cols].T, P, out=out[cols])
        for job in jobs:
            job.result()
        return out.T

    def add_outer(self, C: np.ndarray, alpha: float, P: np.ndarray, Q: np.ndarray, beta: float = 1.0) -> None:
        """C = beta C + alpha P^T Q in place."""
        blas.add_outer(C, alpha, P, Q, beta)

    def clip_(self, v: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        """v = min(max(v, low), high) in place (the diodes' bounds, [1, n] rows)."""
        np.maximum(v, low, out=v)
        np.minimum(v, high, out=v)

    def relu_(self, z: np.ndarray) -> None:
        np.maximum(z, 0, out=z)

    def clip_conductances(self, W: np.ndarray) -> None:
        """W = max(W, 0) in place."""
        clip_conductances(W)

    def coldot(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """sum_b a[b, i] b[b, i]: one dot product per column."""
        return np.einsum("bi,bi->i", a, b)

    def reciprocal(self, d: np.ndarray) -> np.ndarray:
        """1/d, and 0 where d = 0 (a node no conductance reaches stays at 0)."""
        return reciprocal(d)

    def max_abs(self, a: np.ndarray) -> float:
        return float(np.max(np.abs(a))) if a.size else 0.0

    def diode_bounds(self, hidden: tuple[int, ...]) -> tuple[list, list]:
        """Each hidden layer's diode bounds as [1, n] rows: v >= 0 on its first half, v <= 0
        on its second (:func:`diode_bounds`)."""
        return diode_bounds(hidden, np.dtype(self.dtype).char)

    def fuses_updates(self) -> bool:
        """Whether the update of W[0] also yields the next batch's input currents (numpy:
        computed on each column half while it is in cache)."""
        return True

    def numpy_view(self, a):
        """``a`` as a numpy array sharing its memory, or None where it cannot be (a GPU).
        Through such views the torch engine on the CPU updates its conductances with numpy's
        update (:func:`resim.drn.rules.descend`), the fastest resim has there."""
        return a

    def from_numpy_view(self, a: np.ndarray):
        """A numpy array as this engine's array, sharing its memory."""
        return a

    def threads(self, n: int):
        """A context in which the engine's products use ``n`` cores, and the pool (one worker
        thread, else None) that numpy's products and updates take for the second core."""
        return numpy_threads(n)


@contextlib.contextmanager
def numpy_threads(n: int):
    """OpenBLAS at one thread meanwhile (its own threads cost more than they give at these
    batch sizes), and with ``n`` > 1 a worker thread for the second column halves: the
    context's value (None without one)."""
    previous = blas.set_threads(1)
    pool = ThreadPoolExecutor(1, thread_name_prefix="resim-halves") if n > 1 and blas.releases_gil() else None
    try:
        yield pool
    finally:
        if pool is not None:
            pool.shutdown()
        if previous is not None:
            blas.set_threads(previous)


def engine_problem(backend: str, device: str, dtype: str, precision: str) -> tuple[str, str, str] | None:
    """What makes ``[training] backend / device / precision`` impossible on any machine, as
    (key, message, hint), or None. ``precision`` "" is the dtype's. (What this machine lacks,
    torch or a GPU, is found when the engine is made: :func:`resim.drn.engines.make_engine`.)"""
    if backend not in BACKENDS:
        return "backend", f"unknown backend '{backend}'", f"choose from {', '.join(BACKENDS)}"
    if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        return "device", f"unknown device '{device}'", "cpu, cuda or cuda:N (N the GPU's number)"
    if backend == "numpy" and device != "cpu":
        return ("device", f"the numpy backend runs on the CPU, not on '{device}'",
                "backend = \"torch\" (--backend torch) runs on a CUDA device")
    if precision not in ("", dtype, "bfloat16"):
        return ("precision", f"precision '{precision}' does not go with dtype {dtype}",
                "leave it out (products in the dtype), or \"bfloat16\" (torch, dtype \"float32\")")
    if precision == "bfloat16" and (dtype != "float32" or backend != "torch"):
        return ("precision", "bfloat16 products need backend = \"torch\" and dtype = \"float32\"",
                "the conductances and every sum stay float32; only the relaxation's products are bfloat16")
    return None


@functools.cache
def diode_bounds(hidden: tuple[int, ...], dtype: str = "d") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The hidden layers' diode bounds, read-only [1, n] rows in ``dtype``: each layer's first
    half excitatory (``0 <= v``), its second inhibitory (``v <= 0``). Cached: every Relaxer of
    the numpy engine, gdu and the vector-field network share them."""
    low, high = [], []
    for n in hidden:
        h = n // 2
        low.append(np.r_[np.zeros(h), np.full(n - h, -np.inf)].astype(dtype)[None, :])
        high.append(np.r_[np.full(h, np.inf), np.zeros(n - h)].astype(dtype)[None, :])
    for a in low + high:
        a.flags.writeable = False
    return low, high


NUMPY32, NUMPY64 = Engine("float32"), Engine("float64")


def reciprocal(d: np.ndarray) -> np.ndarray:
    """``1 / d``, and 0 where ``d <= 0`` (a node no conductance reaches stays at 0)."""
    d = np.asarray(d)
    out = np.zeros_like(d)
    np.divide(1.0, d, out=out, where=d > 0)
    return out
