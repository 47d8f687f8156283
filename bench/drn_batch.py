"""A batch of operating points of one DRN (issue 3): time per point and memory bandwidth.

    python bench/drn_batch.py 1568 1024 10 --gain 480 --batch 1000

Solves the network for ``--batch`` different input images at once (same conductances,
different source values: ``relax`` on [B, m] arrays), checks a few of them against the
exact solver one by one, and reports the time per operating point. For context it
measures what this machine can stream (a plain numpy copy of a 256 MB array) and the
bytes the batched solve must at least move: once, the input-layer matrix ``K`` (dense
m x |F|, F the source-driven nodes) and the [B, |F|] source potentials, written as the
[B, m] right-hand side; per sweep, the [B, m] coordinates read and written and the
right-hand side read. Their ratio says how close to the memory limit the core runs; the
right-hand side (one BLAS product) is also timed alone, with its floating-point rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, median_time  # noqa: E402
from drn import drn_netlist  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("layers", type=int, nargs="+")
    ap.add_argument("--gain", type=float, default=480.0)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--check", type=int, default=3, help="items checked against the exact solver")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import resim
    from resim.compile import compile_circuit
    from resim.solvers.cd import CDOptions, prepare, relax
    from resim.solvers.cd.problem import right_hand_side

    print(machine())
    circuit = resim.load_netlist(drn_netlist(args.layers, gain=args.gain))
    cc = compile_circuit(circuit)
    prob = prepare(cc)
    rng = np.random.default_rng(1)
    n_pix = cc.vsources.value.size // 2
    pixels = rng.uniform(0, 1, (args.batch, n_pix))
    E = args.gain * np.concatenate([pixels, -pixels], axis=1)  # bench/drn.py writes vp0, vp1, ..., then vn0, ...
    E = E[:, cc.vsources.index]
    I = np.zeros((args.batch, cc.isources.value.size))
    relax(prob, E[:2], I[:2], CDOptions())  # warm
    runs = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        v, c, sweeps, converged, _ = relax(prob, E, I, CDOptions())
        runs.append(time.perf_counter() - t0)
    t = float(np.median(runs))
    t_rhs, _ = median_time(lambda: right_hand_side(prob, E, I), args.repeats)
    worst = 0.0
    for k in rng.choice(args.batch, size=min(args.check, args.batch), replace=False):
        values = {("v", int(j)): float(e) for j, e in zip(cc.vsources.index, E[k])}
        ref = resim.solve(circuit.with_element_values(values), method="exact")
        got = np.where(cc.var >= 0, np.append(v[k], 0.0)[cc.var], 0.0)
        worst = max(worst, float(np.max(np.abs(got - ref.voltages))))
    big = np.ones(32 * 1024 * 1024)  # 256 MB
    t_copy, _ = median_time(lambda: big.copy(), 5)
    stream = 2 * big.nbytes / t_copy  # read + write
    K = prob.K
    k_bytes = K.nbytes if isinstance(K, np.ndarray) else K.data.nbytes + K.indices.nbytes
    F, m, B = len(prob.offset_vars), prob.m, args.batch
    moved = k_bytes + B * F * 8 + B * m * 8 + sweeps * 3 * B * m * 8
    flops = 2.0 * K.shape[0] * K.shape[1] * B if isinstance(K, np.ndarray) else 2.0 * K.nnz * B
    print(f"network {'-'.join(map(str, args.layers))}, batch {B}: {t:.3f} s (median of {args.repeats}), "
          f"{t / B * 1e3:.3f} ms per operating point, {sweeps} sweeps, converged={converged}")
    print(f"right-hand side (input layer, K {K.shape[0]}x{K.shape[1]} {'dense' if isinstance(K, np.ndarray) else 'sparse'}): "
          f"{t_rhs:.3f} s = {t_rhs / t * 100:.0f}% of the solve, {flops / t_rhs / 1e9:.1f} GFLOP/s")
    print(f"checked {min(args.check, B)} items against the exact solver: max |dv| = {worst:.3g} V")
    print(f"machine streams {stream / 1e9:.1f} GB/s (numpy copy, read+write); the solve moves at least "
          f"{moved / 1e6:.0f} MB = {moved / t / 1e9:.2f} GB/s, {moved / t / stream * 100:.0f}% of that")


if __name__ == "__main__":
    main()
