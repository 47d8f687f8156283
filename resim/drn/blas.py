"""The one BLAS call training needs, ``C = beta C + alpha P^T Q`` in place, from any thread.

scipy's ``get_blas_funcs("gemm")`` holds the GIL for the whole call and needs a
contiguous ``C``; the training step wants to update the two column halves of a weight
matrix on two cores at once. So this module calls ``cblas_?gemm`` of the OpenBLAS that
numpy itself loaded, through :mod:`ctypes` (which releases the GIL during the call and
passes the leading dimension, so a column block of a column-major matrix is updated where
it lies). The library is found among the process's loaded objects, each candidate symbol
is checked once against numpy on a small product, and when none is found (another BLAS,
another platform) the scipy routine is used instead: same results, one core.

The same library's thread count is set with :func:`set_threads`: OpenBLAS's own threads
cost more than they give at the batch sizes of training (measured: one DRN-1H epoch took
250 s with 2 OpenBLAS threads against 33 s with 1, ``docs/benchmarks.md``).
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os

import numpy as np

# (gemm symbol pattern, set-threads symbol, C integer type): numpy's and scipy's wheels
# prefix and suffix the OpenBLAS symbols; a distribution's OpenBLAS does not
_SYMBOLS = (
    ("scipy_cblas_{t}gemm64_", "scipy_openblas_{}_num_threads64_", ctypes.c_int64),
    ("cblas_{t}gemm64_", "openblas_{}_num_threads64_", ctypes.c_int64),
    ("scipy_cblas_{t}gemm", "scipy_openblas_{}_num_threads", ctypes.c_int),
    ("cblas_{t}gemm", "openblas_{}_num_threads", ctypes.c_int),
)
_COL_MAJOR, _NO_TRANS, _TRANS = 102, 111, 112


class _CBlas:
    """``cblas_sgemm`` / ``cblas_dgemm`` and the thread setter of one loaded library."""

    def __init__(self, lib: ctypes.CDLL, gemm: str, threads: str, integer) -> None:
        self.gemm = {}
        for t, real in (("s", ctypes.c_float), ("d", ctypes.c_double)):
            f = getattr(lib, gemm.format(t=t))
            f.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer, real,
                          ctypes.c_void_p, integer, ctypes.c_void_p, integer, real, ctypes.c_void_p, integer]
            f.restype = None
            self.gemm[np.dtype(np.float32 if t == "s" else np.float64)] = f
        self.set_threads = getattr(lib, threads.format("set"), None)
        self.get_threads = getattr(lib, threads.format("get"), None)
        if self.set_threads is not None and self.get_threads is not None:
            self.set_threads.argtypes, self.set_threads.restype = [ctypes.c_int], None
            self.get_threads.argtypes, self.get_threads.restype = [], ctypes.c_int
        else:
            self.set_threads = self.get_threads = None


def _loaded_libraries() -> list[str]:
    """Paths of the BLAS-looking shared objects in this process (numpy's first)."""
    paths = sorted(glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*")))
    try:
        with open("/proc/self/maps") as fh:
            paths += [line.split()[-1] for line in fh if "blas" in line.rsplit("/", 1)[-1].lower()]
    except OSError:
        pass
    return list(dict.fromkeys(paths))


@functools.cache
def _cblas() -> _CBlas | None:
    for path in _loaded_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for gemm, threads, integer in _SYMBOLS:
            try:
                found = _CBlas(lib, gemm, threads, integer)
            except AttributeError:
                continue
            if _agrees(found):
                return found
    return None


def _agrees(found: _CBlas) -> bool:
    """One small product (a column block of a column-major C, both dtypes) against numpy."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        C = rng.random((7, 5)).astype(dtype, order="F")
        P, Q = rng.random((3, 7)).astype(dtype), rng.random((3, 5)).astype(dtype)
        want = 0.5 * C + 2.0 * P.T @ Q
        want[:, :1] = C[:, :1]
        _call(found, C[:, 1:], 2.0, P, Q[:, 1:], 0.5)
        if not np.allclose(C, want, rtol=1e-5):
            return False
    return True


def _call(found: _CBlas, C: np.ndarray, alpha: float, P: np.ndarray, Q: np.ndarray, beta: float) -> None:
    m, n = C.shape
    size = C.itemsize
    found.gemm[C.dtype](_COL_MAJOR, _NO_TRANS, _TRANS, m, n, P.shape[0], alpha, P.ctypes.data, P.strides[0] // size,
                        Q.ctypes.data, Q.strides[0] // size, beta, C.ctypes.data, C.strides[1] // size)


def add_outer(C: np.ndarray, alpha: float, P: np.ndarray, Q: np.ndarray, beta: float = 1.0) -> None:
    """C = beta C + alpha P^T Q in place. ``C`` [m, n] column-major with unit row stride (a
    column block of a column-major matrix will do); ``P`` [k, m] and ``Q`` [k, n] with unit
    column stride (``Q`` may be a column block). Releases the GIL when the cblas is found."""
    P = np.ascontiguousarray(P, C.dtype)
    Q = Q if Q.dtype == C.dtype and Q.strides[1] == C.itemsize else np.ascontiguousarray(Q, C.dtype)
    if C.strides[0] != C.itemsize or C.dtype not in (np.float32, np.float64):
        raise ValueError("add_outer needs a column-major float32 or float64 array")
    found = _cblas()
    if found is not None:
        _call(found, C, alpha, P, Q, beta)
        return
    if not C.flags.f_contiguous:  # f2py would update a copy and leave C as it was
        raise ValueError("add_outer without cblas needs a contiguous column block")
    _scipy_gemm(C.dtype)(alpha, P, Q, beta=beta, c=C, trans_a=1, overwrite_c=1)


@functools.cache
def _scipy_gemm(dtype: np.dtype):
    """scipy's ``gemm`` for a dtype, looked up once (the look-up costs as much as a small update)."""
    from scipy.linalg.blas import get_blas_funcs

    return get_blas_funcs("gemm", dtype=dtype)


def releases_gil() -> bool:
    """Whether :func:`add_outer` can run on two threads at once."""
    return _cblas() is not None


def set_threads(n: int) -> int | None:
    """Set the loaded OpenBLAS's thread count; returns the previous count, or None (and
    changes nothing) when it cannot be set from here."""
    found = _cblas()
    if found is None or found.set_threads is None:
        return None
    previous = int(found.get_threads())
    found.set_threads(n)
    return previous
