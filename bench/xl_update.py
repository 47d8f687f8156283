"""DRN-XL's training step on W[0] (1568 x 32768, float32), one column half per core, three
ways measured in the same run, interleaved: one numpy pass per operation (the baseline),
numpy in cache-sized strips, and resim.drn.onepass (numba: every operation on a column
while it is in registers; what training uses when numba is installed). A copy of W (read
and write, ``np.copyto``) is timed beside them: the memory-streaming limit.

Each step is what a batch of DRN-XL does to W[0]: the rank-k update, the clip at 0, the
next batch's input currents ``x W`` and the column sums ``1^T W``, here on both halves,
one after the other on one core (``--threads 2`` runs the halves on two).

    OPENBLAS_NUM_THREADS=1 python bench/xl_update.py [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine  # noqa: E402

import numpy as np  # noqa: E402

from resim.drn import kernels, onepass  # noqa: E402
from resim.drn.engine import Engine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    a = ap.parse_args()
    rows, cols, B = 1568, 32768, a.batch
    rng = np.random.default_rng(0)
    W = np.asfortranarray(rng.uniform(0, 1e-3, (rows, cols)).astype(np.float32))
    P = rng.normal(0, 1, (B + 1, rows)).astype(np.float32)
    Q = rng.normal(0, 1e-3, (B + 1, cols)).astype(np.float32)
    x = rng.uniform(0, 300, (B, rows)).astype(np.float32)
    feed = (x, np.ones(rows, np.float32), np.empty((B, cols), np.float32), np.empty(cols, np.float32))
    halves = kernels.column_blocks(W)
    pool = ThreadPoolExecutor(1) if a.threads > 1 else None
    print(machine())
    print(f"W[0] {rows} x {cols} float32 ({W.nbytes / 1e6:.0f} MB), batch {B}, {a.threads} thread(s), "
          f"strips of {len(kernels.strips(W, halves[0]))} per half")

    def step() -> float:
        t0 = time.perf_counter()
        if pool is None:
            for cols_ in halves:
                kernels.step_columns(Engine(W.dtype.name), W, None, P, Q, 0.0, 1e-6, 1.0, feed, cols_)
        else:
            job = pool.submit(kernels.step_columns, W, None, P, Q, 0.0, 1e-6, 1.0, feed, halves[1])
            kernels.step_columns(Engine(W.dtype.name), W, None, P, Q, 0.0, 1e-6, 1.0, feed, halves[0])
            job.result()
        return time.perf_counter() - t0

    ways = {"one pass per operation (baseline)": (1 << 62, False), "cache-sized strips": (kernels.STRIP_ABOVE, False)}
    if onepass.available():
        ways["one pass over memory (numba)"] = (kernels.STRIP_ABOVE, True)
        step()  # compile it before timing
    else:
        print("numba is not installed (pip install 'resim[fast]'): the one-pass kernel is not timed")
    copy = np.empty_like(W)
    samples: dict[str, list[float]] = {k: [] for k in [*ways, "copy of W (np.copyto)"]}
    for _ in range(a.repeats):  # interleaved, so every way sees the same machine
        for name, (above, one_pass) in ways.items():
            kernels.STRIP_ABOVE, kernels.ONE_PASS = above, one_pass
            samples[name].append(step())
        t0 = time.perf_counter()
        np.copyto(copy, W)
        samples["copy of W (np.copyto)"].append(time.perf_counter() - t0)
    medians = {k: statistics.median(v) for k, v in samples.items()}
    base = medians["one pass per operation (baseline)"]
    for k, m in medians.items():
        print(f"{k:36s} median {1e3 * m:7.1f} ms per batch, {base / m:5.2f}x the baseline  "
              f"(runs: {', '.join(f'{1e3 * t:.0f}' for t in samples[k])})")
    if pool is not None:
        pool.shutdown()


if __name__ == "__main__":
    main()
