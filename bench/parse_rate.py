"""Parse rate: netlist text to compiled arrays, in element lines per second.

Generates a large power-grid-like netlist (a resistor mesh with zero-volt shorts, supply
sources and load currents, the mix of ibmpg1), then times ``load_netlist`` +
``compile_circuit`` end to end. The baseline, measured in the same run, is the same text
read with the bulk fast path off (every line through the Lark grammar), on a slice small
enough to finish quickly. Target (issue 2): >= 250,000 element lines per second.

    python bench/parse_rate.py [--lines 400000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _common import grid_lines, machine, median_time  # noqa: E402

import resim  # noqa: E402
from resim.compile import compile_circuit  # noqa: E402


def grid_netlist(n_lines: int, seed: int = 0) -> str:
    """A k x k mesh (2 resistors per node), one short and one load per node, some supplies."""
    import numpy as np

    rng = np.random.default_rng(seed)
    k = max(2, int((n_lines / 4) ** 0.5))

    def short_and_load(i: int, j: int, node: str) -> list[str]:
        return [f"vs{i}_{j} {node} _x_{node} 0", f"il{i}_{j} _x_{node} 0 {rng.uniform(1e-4, 1e-2):.6e}"]

    out = ["* generated power grid for bench/parse_rate.py"]
    out += grid_lines(k, lambda _: rng.uniform(0.1, 2.0), node="n1_{i}_{j}", extra=short_and_load)
    for s in range(0, k, max(1, k // 10)):
        out.append(f"vdd{s} n1_{s}_{s} 0 1.8")
    out.append(".op")
    out.append(".end")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=400_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline-lines", type=int, default=20_000)
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.cir")
        small = os.path.join(tmp, "small.cir")
        with open(big, "w") as fh:
            fh.write(grid_netlist(args.lines))
        with open(small, "w") as fh:
            fh.write(grid_netlist(args.baseline_lines))
        resim.load_netlist(small)  # warm caches (grammar table, imports)
        n_big = resim.load_netlist(big).n_elements
        n_small = resim.load_netlist(small).n_elements
        # Interleaved, so that both see the same machine: the speed of these machines
        # drifts by 2x over minutes, and the ratio is what stays put.
        s_fast, s_lark = [], []
        for _ in range(args.repeats):
            s_fast.append(median_time(lambda: compile_circuit(resim.load_netlist(big)), 1)[0])
            s_lark.append(median_time(lambda: compile_circuit(resim.load_netlist(small, fast=False)), 1)[0])
    t_fast, t_lark = statistics.median(s_fast), statistics.median(s_lark)
    rate_fast = n_big / t_fast
    rate_lark = n_small / t_lark
    best = n_big / min(s_fast)
    print(f"fast path : {n_big:>9,} element lines in {t_fast:.3f} s (median of {len(s_fast)}) = {rate_fast:>10,.0f} lines/s"
          f"  (best run {best:,.0f})")
    print(f"Lark only : {n_small:>9,} element lines in {t_lark:.3f} s (median of {len(s_lark)}) = {rate_lark:>10,.0f} lines/s")
    print(f"ratio fast/Lark = {rate_fast / rate_lark:.1f}x ; target 250,000 lines/s: {'met' if rate_fast >= 250_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
