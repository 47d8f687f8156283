"""A large layer's training step in one pass over memory (DRN-XL's W[0]: 206 MB in float32).

For the columns ``j`` of a block, with ``u = P^T Q[:, j]`` (the rank-k term of
:func:`resim.drn.rules.descend`), each column is read and written once::

    M[:, j] = mu M[:, j] + alpha u ;  W[:, j] = max(W[:, j] - lr M[:, j], 0)   (momentum mu)
    W[:, j] = max(W[:, j] - lr alpha u, 0)                                      (none)
    colsum[j] = 1^T W[:, j] ;  drive[:, j] = x W[:, j]                          (with the next batch)

numpy cannot fuse these: each operation is its own pass, and even walked in cache-sized
strips (:func:`resim.drn.kernels.step_columns`) the work inside the cache is about twice
what streaming the matrix costs. This kernel keeps P's k rows, x's B rows and the sums in
registers and walks four columns at a time, so each element of P and x loaded serves four
columns: on DRN-XL it runs at about the speed of one copy of W (``bench/xl_update.py``).

The loops are generated for the shapes at hand (k, B, momentum or not) and compiled with
numba (the optional ``fast`` extra): :func:`available` says whether it is installed. Each
column's arithmetic depends only on the group of four it falls in, which is fixed by the
block's start, so the bits do not depend on the thread count; they differ from numpy's (in
the order of the sums: float32 rounding, about 1e-7 relative).
"""

from __future__ import annotations

import functools

import numpy as np

GROUP = 4  # columns per pass of the inner loop: P's and x's loads serve this many columns


def available() -> bool:
    """Whether numba is installed (``pip install 'resim[fast]'``)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def step(W: np.ndarray, M: np.ndarray | None, P: np.ndarray, Q: np.ndarray, momentum: float, lr: float,
         alpha: float, feed: tuple[np.ndarray, ...] | None, cols: slice) -> None:
    """The step of :func:`resim.drn.kernels.step_columns` on ``W[:, cols]`` (W column-major),
    in one pass: the update, the clip and, with ``feed`` = (x, ones, drive, colsum), the
    next batch's currents ``drive[:, cols] = x W`` and the column sums ``colsum[cols]``."""
    start, stop = cols.start or 0, W.shape[1] if cols.stop is None else cols.stop
    t = W.dtype.type
    k, B = P.shape[0], 0 if feed is None else len(feed[0])
    x, drive, colsum = (np.empty((0, W.shape[0]), W.dtype), np.empty((0, 0), W.dtype),
                        np.empty(0, W.dtype)) if feed is None else (np.ascontiguousarray(feed[0]), feed[2], feed[3])
    scale = t(alpha) if M is not None else t(lr * alpha)
    mom = np.empty((0, 0), W.dtype, order="F") if M is None else M
    P, Q = np.ascontiguousarray(P, W.dtype), np.ascontiguousarray(Q, W.dtype)
    whole = start + (stop - start) // GROUP * GROUP
    for a, b, group in ((start, whole, GROUP), (whole, stop, 1)):
        if b > a:
            _kernel(k, B, M is not None, group)(W, mom, P, Q, t(momentum), scale, t(lr), x, drive, colsum, t(0), a, b)


@functools.lru_cache(maxsize=None)
def _kernel(k: int, B: int, momentum: bool, group: int):
    """The compiled loop for k rows of P, B rows of x (0: no feed), with or without a
    momentum, over ``group`` columns at a time (the column count a multiple of it)."""
    import numba

    C = range(group)
    L = ["def kernel(W, M, P, Q, mu, scale, lr, x, drive, colsum, zero, start, stop):", "    n = W.shape[0]"]
    L += [f"    p{r} = P[{r}]" for r in range(k)] + [f"    x{b} = x[{b}]" for b in range(B)]
    L.append(f"    for j in range(start, stop, {group}):")
    for c in C:
        L.append(f"        w{c} = W[:, j + {c}]")
        if momentum:
            L.append(f"        m{c} = M[:, j + {c}]")
        L += [f"        q{r}_{c} = scale * Q[{r}, j + {c}]" for r in range(k)]
        if B:
            L += [f"        s{c} = zero"] + [f"        d{b}_{c} = zero" for b in range(B)]
    L.append("        for i in range(n):")
    L += [f"            p{r}i = p{r}[i]" for r in range(k)] + [f"            x{b}i = x{b}[i]" for b in range(B)]
    for c in C:
        u = " + ".join(f"p{r}i * q{r}_{c}" for r in range(k))
        if momentum:
            L += [f"            m = mu * m{c}[i] + ({u})", f"            m{c}[i] = m",
                  f"            v = max(w{c}[i] - lr * m, zero)"]
        else:
            L.append(f"            v = max(w{c}[i] - ({u}), zero)")
        L.append(f"            w{c}[i] = v")
        if B:
            L += [f"            s{c} += v"] + [f"            d{b}_{c} += x{b}i * v" for b in range(B)]
    if B:
        for c in C:
            L += [f"        colsum[j + {c}] = s{c}"] + [f"        drive[{b}, j + {c}] = d{b}_{c}" for b in range(B)]
    namespace: dict = {}
    exec("\n".join(L), namespace)  # noqa: S102 - source built above from integers only
    return numba.njit(nogil=True, boundscheck=False, fastmath={"reassoc", "contract"})(namespace["kernel"])
