"""A 2-D resistor grid with diodes: cd, exact and auto against ngspice (issue 3).

    python bench/grid_solve.py --side 100 --repeats 3       # 10^4 nodes (ngspice ~3 s)

A side x side mesh of random resistors (1-10 ohm), every 7th node with a diode to ground
(alternating orientation), supplies of +-1 V at two corners, and a small load to ground at
every node. resim runs ideal diodes, ngspice ``D(IS=1e-12 N=0.01 RS=1)`` (what it
converges with); resim is timed from the file to a verified answer, medians of the repeats.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import grid_lines, machine, run_command  # noqa: E402


def grid_netlist(side: int, diode: str = "ideal", seed: int = 0) -> str:
    """The benchmark's grid (see the module docstring), seeded; ``diode="ngspice"``: the
    diodes' near-ideal Shockley model instead of the ideal one."""
    rng = np.random.default_rng(seed)

    def load_and_diode(i: int, j: int, node: str) -> list[str]:
        lines = [f"rl{i}_{j} {node} 0 {rng.uniform(1e3, 1e4):.6e}"]
        k = i * side + j
        if k % 7 == 0:
            lines.append(f"d{i}_{j} {node} 0 dm" if (k // 7) % 2 else f"d{i}_{j} 0 {node} dm")
        return lines

    out = [f"* {side}x{side} resistor grid with diodes (bench/grid_solve.py)"]
    out += grid_lines(side, lambda _: rng.uniform(1, 10), extra=load_and_diode)
    out.append("vp n0_0 0 1")
    out.append(f"vn n{side - 1}_{side - 1} 0 -1")
    out.append(".model dm D(Ron=0 Vfwd=0.2)" if diode == "ideal" else ".model dm D(IS=1e-12 N=0.01 RS=1)")
    out += [".op", ".end"]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ngspice-repeats", type=int, default=None)
    ap.add_argument("--max-sweeps", type=int, default=20000)
    args = ap.parse_args()
    import resim
    from resim.solvers.cd import CDOptions

    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        ideal, near = os.path.join(tmp, "grid.cir"), os.path.join(tmp, "grid_ngspice.cir")
        with open(ideal, "w") as fh:
            fh.write(grid_netlist(args.side))
        with open(near, "w") as fh:
            fh.write(grid_netlist(args.side, diode="ngspice"))
        resim.solve(resim.load_netlist(ideal), method="exact")  # warm imports
        rows = {}
        for method in ("exact", "auto", "cd"):
            samples, detail = [], ""
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                try:
                    opts = {"max_sweeps": args.max_sweeps} if method == "cd" else {}
                    r = resim.solve(resim.load_netlist(ideal), method=method, **opts)
                    detail = f"{r.method}, solver {r.timings['solve']:.3f} s, {r.iterations} iterations"
                except resim.ConvergenceError as exc:
                    detail = f"no answer: {exc.message[:80]}"
                samples.append(time.perf_counter() - t0)
            rows[method] = (statistics.median(samples), detail)
        ng_repeats = args.repeats if args.ngspice_repeats is None else args.ngspice_repeats
        exe = shutil.which("ngspice")
        ng = [run_command([exe, "-b", near], cwd=tmp) for _ in range(ng_repeats)] if exe and ng_repeats else []
    n_nodes = args.side * args.side
    print(f"grid {args.side}x{args.side} ({n_nodes:,} nodes)")
    for method, (t, detail) in rows.items():
        print(f"resim {method:5s}: {t:8.3f} s  ({detail})")
    if ng:
        t = statistics.median(ng)
        print(f"ngspice -b : {t:8.3f} s (runs: {', '.join(f'{x:.2f}' for x in ng)})")
        print("speed-up   : " + ", ".join(f"{m} {t / rows[m][0]:.1f}x" for m in rows))


if __name__ == "__main__":
    main()
