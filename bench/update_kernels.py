"""The kernels of one DRN-1H training step, each against the alternative it replaced (issue 7).

    python bench/update_kernels.py

Same run, same arrays (W[0] of DRN-1H, 1568 x 1024 float32, half its entries 0), medians
of --repeats timings of --calls calls each, ratios printed:

* the in-place rank-5 update W += alpha P^T Q (``resim.drn.blas.add_outer``), W stored
  row-major (leading dimension 1024 floats = 4 KiB: cache-set aliasing) against column-major
  (leading dimension 1568), as ``resim.drn.network.DRN`` keeps it;
* the clip at 0: ``np.maximum(W, 0.0)`` against ``clip_conductances`` (a zero vector along
  the contiguous axis);
* ``resim train`` on --images DRN-1H images with OpenBLAS's own thread count at 2 against 1
  (``train`` sets 1 itself; its many thin products each wake and synchronise the threads).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, paper_config  # noqa: E402


def timed(f, calls: int, repeats: int) -> float:
    """Median seconds per call."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        runs.append((time.perf_counter() - t0) / calls)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--images", type=int, default=800, help="images for the OpenBLAS thread comparison")
    args = ap.parse_args()
    from resim.drn import blas
    from resim.drn.kernels import clip_conductances

    print(machine())
    rng = np.random.default_rng(0)
    W = np.clip(rng.uniform(-1, 1, (1568, 1024)), 0, None).astype(np.float32) / 40
    P = rng.standard_normal((5, 1568)).astype(np.float32)
    Q = rng.standard_normal((5, 1024)).astype(np.float32) * 1e-6
    col = np.asfortranarray(W)
    row_T = np.ascontiguousarray(W).T  # the row-major W, seen column-major: [1024, 1568], ld 1024
    sign = [1.0]

    def update(C, A, B):
        def f():
            sign[0] = -sign[0]  # +alpha, -alpha, ...: W stays where it is
            blas.add_outer(C, sign[0] * 1e-3, A, B)
        return f

    def report(what: str, old: float, new: float, ms: bool = True) -> None:
        show = (lambda t: f"{t * 1e3:.3f} ms") if ms else (lambda t: f"{t:.1f} s")
        print(f"{what}: {show(old)} -> {show(new)} ({old / new:.1f}x)")

    n, r = args.calls, args.repeats
    report("in-place update, row-major -> column-major", timed(update(row_T, Q, P), n, r),
           timed(update(col, P, Q), n, r))
    spare = col.copy(order="F")
    report("clip, np.maximum(W, 0.0) -> clip_conductances(W)",
           timed(lambda: np.maximum(spare, 0.0, out=spare), n, r), timed(lambda: clip_conductances(spare), n, r))
    if blas.set_threads(1) is None:
        print("OpenBLAS's thread count cannot be set from here: thread comparison skipped")
        return
    report(f"DRN-1H training on {args.images} images, OpenBLAS 2 threads -> 1",
           train_seconds(args.images, openblas=2), train_seconds(args.images, openblas=1), ms=False)


def train_seconds(images: int, openblas: int) -> float:
    """Seconds of ``resim train``'s loop over ``images`` images with OpenBLAS at ``openblas``
    threads (``train`` sets 1 itself; for 2 its setter is disabled)."""
    import tempfile
    from unittest import mock

    from resim.drn import blas
    from resim.drn import data as data_mod
    from resim.drn.train import train

    data = data_mod.load("fashion-mnist", None, images, 10)
    blas.set_threads(openblas)
    with tempfile.TemporaryDirectory() as out, mock.patch.object(blas, "set_threads", lambda n: None):
        _, rows = train(paper_config("1h", epochs=1, dtype="float32"), data, out)
    return rows[0]["epoch_seconds"]


if __name__ == "__main__":
    main()
