"""DRN-shaped networks (docs/theory.md §7): resim against ngspice, from the file, same run.

    python bench/drn_solve.py 1568 100 10 --gain 100 --repeats 3        # DRN-XS
    python bench/drn_solve.py 1568 1024 10 --gain 480 --ngspice-repeats 1  # DRN-1H (ngspice ~7 min)

Generates the network twice with ``bench/drn.py``: with ideal diodes for resim, and with
the near-ideal Shockley diodes ngspice converges with (``N=0.01 RS=1``, docs/theory.md §7)
for ngspice. Times ``ngspice -b`` as a process, and resim from the file to a
verified answer in this process (``solve(load_netlist(path), method=...)``) for the
coordinate-descent and exact solvers, plus the solver time alone. Medians of the repeats.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import drn_ngspice_parser, machine, ngspice_repeats, run_command  # noqa: E402
from drn import drn_netlist  # noqa: E402


def main() -> None:
    args = drn_ngspice_parser(__doc__).parse_args()
    import resim

    print(machine())
    ng_repeats = ngspice_repeats(args)
    with tempfile.TemporaryDirectory() as tmp:
        ideal = os.path.join(tmp, "drn.cir")
        near = os.path.join(tmp, "drn_ngspice.cir")
        with open(ideal, "w") as fh:
            fh.write(drn_netlist(args.layers, gain=args.gain))
        with open(near, "w") as fh:
            fh.write(drn_netlist(args.layers, gain=args.gain, diode="ngspice"))
        circuit = resim.load_netlist(ideal)
        print(f"network {'-'.join(map(str, args.layers))}: {len(circuit['r']):,} resistors, "
              f"{len(circuit['d']):,} diodes, {circuit.n_nodes - 1:,} nodes")
        resim.solve(circuit, method="cd")  # warm imports
        times: dict[str, list[float]] = {"cd": [], "exact": []}
        solver: dict[str, list[float]] = {"cd": [], "exact": []}
        sweeps = 0
        for _ in range(args.repeats):
            for method in ("cd", "exact"):
                t0 = time.perf_counter()
                result = resim.solve(resim.load_netlist(ideal), method=method)
                times[method].append(time.perf_counter() - t0)
                solver[method].append(result.timings["solve"])
                if method == "cd":
                    sweeps = result.iterations
        ng = []
        exe = shutil.which("ngspice")
        if ng_repeats and exe is None:
            sys.exit("ngspice is not installed (apt-get install -y ngspice): the baseline cannot run")
        for _ in range(ng_repeats):
            ng.append(run_command([exe, "-b", near], cwd=tmp))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"resim cd    file -> answer: {med['cd']:8.3f} s (solver {statistics.median(solver['cd']):.3f} s, {sweeps} sweeps)")
    print(f"resim exact file -> answer: {med['exact']:8.3f} s (solver {statistics.median(solver['exact']):.3f} s)")
    if ng:
        t = statistics.median(ng)
        print(f"ngspice -b (N=0.01 RS=1)  : {t:8.3f} s (runs: {', '.join(f'{x:.2f}' for x in ng)})")
        print(f"speed-up cd {t / med['cd']:.1f}x, exact {t / med['exact']:.1f}x (targets: 20x DRN-XS, 100x DRN-1H)")


if __name__ == "__main__":
    main()
