"""The floating Shockley bridge of issue 12: coordinate descent stalls on it; how long until
it says so and hands over, and what a sweep of it costs (issue 12 reported 20 ms per sweep
and 100,000 sweeps, about 30 minutes, before any answer).

    python bench/cd_stall.py --repeats 7

Prints, medians over ``--repeats`` runs, interleaved:

* in-process: ``resim.solve(method="cd")`` (stall detected, exact hand-over) against
  ``method="exact"`` on the same parsed circuit, the ratio, the sweeps run before the
  hand-over, and the milliseconds per sweep of the relaxation alone;
* whole processes (what a shell user sees): ``resim solve bridge.cir --method cd``,
  ``--method exact`` and ``ngspice -b`` on the same netlist (the same Shockley model with
  RS, which ngspice reads as it is).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, median_time, run_command  # noqa: E402

BRIDGE = open(os.path.join(os.path.dirname(__file__), "..", "netlists", "shockley_bridge.cir")).read()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    import numpy as np

    import resim
    from resim.compile import compile_circuit
    from resim.solvers import cd

    print(machine())
    circuit = resim.load_netlist(BRIDGE)
    handed = resim.solve(circuit, method="cd")
    exact = resim.solve(circuit, method="exact")
    print(f"cd: {handed.method}, {handed.iterations} sweeps before the hand-over; "
          f"max |v_cd - v_exact| = {np.max(np.abs(handed.voltages - exact.voltages)):.2g} V")
    print(f"  reason: {handed.method_reason}")
    t_cd, _ = median_time(lambda: resim.solve(circuit, method="cd"), args.repeats)
    t_ex, _ = median_time(lambda: resim.solve(circuit, method="exact"), args.repeats)
    print(f"in-process: cd with hand-over {t_cd * 1e3:.1f} ms, exact {t_ex * 1e3:.1f} ms, ratio {t_cd / t_ex:.1f}x")
    cc = compile_circuit(circuit)
    prob = cd.prepare(cc)
    E, I = cc.vsources.value[None], cc.isources.value[None]
    warm = cd.relax(prob, E, I, cd.CDOptions(sweeps=100)).c
    n = 200
    t_sw, _ = median_time(lambda: cd.relax(prob, E, I, cd.CDOptions(sweeps=n), warm), args.repeats)
    print(f"relaxation alone: {t_sw / n * 1e3:.2f} ms per sweep ({len(prob.colors)} colours of one coordinate each)")

    exe = os.path.join(os.path.dirname(sys.executable), "resim")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bridge.cir")
        with open(path, "w") as fh:
            fh.write(BRIDGE)
        commands = {"resim --method cd": [exe, "solve", path, "--method", "cd", "--format", "csv"],
                    "resim --method exact": [exe, "solve", path, "--method", "exact", "--format", "csv"]}
        if shutil.which("ngspice"):
            commands["ngspice -b"] = ["ngspice", "-b", path]
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                times[name].append(run_command(cmd, cwd=tmp))
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, t in med.items():
        print(f"process: {name}: {t * 1e3:.0f} ms"
              + (f"  ({t / med['ngspice -b']:.1f}x ngspice)" if "ngspice -b" in med else ""))


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s in all)")
