"""The in-place kernels of a training step: the fixed column blocks of a large conductance
matrix, the update of one block, and the clip of conductances at 0.

A matrix ``W`` of at least ``_SPLIT`` entries is updated, clipped and multiplied in two
fixed column halves ``W[:, :n//2]``, ``W[:, n//2:]`` (one per core); a smaller one in one
block. The blocks do not depend on the number of threads, so neither do the bits. With
``W`` column-major each block is one contiguous piece of memory, and
:func:`resim.drn.blas.add_outer` updates it where it lies:

    W_cols -= lr alpha P^T Q_cols                       (no momentum)
    M_cols  = mu M_cols + alpha P^T Q_cols,  W_cols -= lr M_cols   (momentum mu)
    W_cols  = max(W_cols, 0)

The rule that builds ``P`` and ``Q`` and schedules the blocks is
:func:`resim.drn.rules.descend`.

A block larger than :data:`STRIP_ABOVE` (DRN-XL's halves are 103 MB each) is read from
memory once per batch instead of once per operation (the update, the clip, the products):
with numba (the ``fast`` extra) by :mod:`resim.drn.onepass`, which does every operation on
a column while it is in registers; without it, walked in column strips of about
:data:`CACHE_BYTES`, each updated, clipped and multiplied by the next batch's inputs while
it is in cache (about half as fast on DRN-XL). Either way the bits do not depend on the
thread count.
"""

from __future__ import annotations

import numpy as np

from . import onepass

_SPLIT = 1 << 16  # matrices at least this large are updated and multiplied in two column halves
CACHE_BYTES = 1 << 20  # a column block is walked in strips of about this size (a core's L2) ...
STRIP_ABOVE = 1 << 24  # ... when it is larger than this (far beyond cache: DRN-XL's 103 MB halves, not 1H-3H's)
ONE_PASS = True  # such a block goes through resim.drn.onepass when numba is installed (False: strips)
# ... and when P has at most this many rows: the pass does k multiply-adds per conductance in
# registers, which beats BLAS at batch 4 (k = 5: 13.1 ms per batch on DRN-XL's W[0] against
# 47.0 ms in strips, bench/xl_update.py) but not at batch 32 (k = 33: a DRN-XL epoch took
# 1,928 s through it, 175-234 s in strips; bench/engines.py, docs/benchmarks.md)
ONE_PASS_ROWS = 12


def column_blocks(W: np.ndarray) -> list[slice]:
    """The fixed column blocks in which W is updated or multiplied: two halves when large
    (one per core), else one. Fixed, so that the bits do not depend on the thread count."""
    n = W.shape[1]
    return [slice(0, n // 2), slice(n // 2, n)] if W.size >= _SPLIT else [slice(0, n)]


def step_columns(engine, W, M, P, Q, momentum: float, lr: float, alpha: float,
                 feed: tuple[np.ndarray, ...] | None, cols: slice) -> None:
    """:func:`resim.drn.rules.descend` on the columns ``cols`` of one layer: W -= lr alpha
    P^T Q (or the momentum form, with ``M`` the momentum, else None), clip at 0, then with
    ``feed`` = (x, ones, drive, colsum) the upcoming batch's currents ``drive = x W`` and the
    column sums ``colsum = 1^T W`` of those columns (numpy only). ``engine``: the
    :class:`resim.drn.engine.Engine` the arrays live on (its ``add_outer`` and
    ``clip_conductances``); strips and the one-pass kernel are numpy's."""
    numpy = engine.backend == "numpy"
    if numpy and ONE_PASS and len(P) <= ONE_PASS_ROWS and streamed(W, cols) and onepass.available():
        onepass.step(W, M, P, Q, momentum, lr, alpha, feed, cols)
        return
    for strip in strips(W, cols) if numpy else [cols]:
        Wb, Qb = W[:, strip], Q[:, strip]
        if M is not None:
            Mb = M[:, strip]
            engine.add_outer(Mb, alpha, P, Qb, beta=momentum)
            Wb -= lr * Mb
        else:
            engine.add_outer(Wb, -lr * alpha, P, Qb)
        engine.clip_conductances(Wb)
        if feed is not None:
            x, ones, drive, colsum = feed
            drive[:, strip] = x @ Wb
            colsum[strip] = ones @ Wb


def beyond_cache(W: np.ndarray) -> bool:
    """Whether the column halves of ``W`` are far beyond the cache (:func:`streamed`): a
    matrix whose update must read it from memory as few times as it can (DRN-XL's W[0])."""
    return streamed(W, column_blocks(W)[0])


def streamed(W: np.ndarray, cols: slice) -> bool:
    """Whether the block ``W[:, cols]`` is larger than :data:`STRIP_ABOVE`: far beyond the
    cache, so that it is worth reading from memory only once per batch."""
    start, stop = cols.start or 0, W.shape[1] if cols.stop is None else cols.stop
    return (stop - start) * W.shape[0] * W.itemsize > STRIP_ABOVE


def strips(W: np.ndarray, cols: slice) -> list[slice]:
    """``cols`` of ``W`` as column strips of at most about :data:`CACHE_BYTES` each, when the
    block is larger than :data:`STRIP_ABOVE`; else the block itself (a matrix that stays in
    cache gains nothing from strips and pays their calls: measured at DRN-1H's size)."""
    start, stop = cols.start or 0, W.shape[1] if cols.stop is None else cols.stop
    width = max(8, CACHE_BYTES // max(1, W.shape[0] * W.itemsize))
    if stop - start <= width or not streamed(W, cols):
        return [cols]
    return [slice(a, min(a + width, stop)) for a in range(start, stop, width)]


def clip_conductances(W: np.ndarray) -> None:
    """W = max(W, 0) in place. The zero is a vector along W's contiguous axis: numpy then
    takes its SIMD loop for two contiguous operands; with a scalar 0 (or np.clip) it takes
    a loop about 3x slower, and a masked copy mispredicts on the ~50% of entries that an
    update pushes below 0."""
    zero = np.zeros((W.shape[0], 1) if W.flags.f_contiguous else (1, W.shape[-1]), W.dtype)
    np.maximum(W, zero, out=W)
