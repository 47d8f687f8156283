"""A 1,001-point source sweep of a DRN-shaped netlist: resim sweep against ngspice's .dc (issue 5).

    python bench/sweep_drn.py 1568 100 10 --gain 100 --points 1001 --repeats 3

Sweeps the first input source (``vp0``, 0 to ``gain`` volts) of the network of
``bench/drn.py``. ngspice runs ``.dc vp0 0 GAIN STEP`` (``ngspice -b -r out.raw``: without a rawfile or .print batch mode runs no .dc) on the netlist with its near-ideal
``D(IS=1e-12 N=0.01 RS=1)`` diodes (what it converges with; docs/theory.md §7); resim runs
the same sweep with ideal diodes, from the file to every point certified
(``resim.sweep.run_sweep``: one batched coordinate-descent solve). Medians of the repeats;
the ngspice baseline runs in the same process run, interleaved.
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
from _common import machine, run_command  # noqa: E402
from drn import drn_netlist  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("layers", type=int, nargs="+")
    ap.add_argument("--gain", type=float, default=100.0)
    ap.add_argument("--points", type=int, default=1001)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ngspice-repeats", type=int, default=None)
    args = ap.parse_args()
    import resim  # noqa: F401
    from resim.sweep import dc_values, element_axis, run_sweep

    print(machine())
    step = args.gain / (args.points - 1)
    dc = f".dc vp0 0 {args.gain:g} {step:.12g}"
    with tempfile.TemporaryDirectory() as tmp:
        ideal = os.path.join(tmp, "drn.cir")
        near = os.path.join(tmp, "drn_ngspice.cir")
        with open(ideal, "w") as fh:
            fh.write(drn_netlist(args.layers, gain=args.gain).replace(".op\n", dc + "\n"))
        with open(near, "w") as fh:
            fh.write(drn_netlist(args.layers, gain=args.gain, diode="ngspice").replace(".op\n", dc + "\n"))
        run_sweep(ideal)  # warm imports
        exe = shutil.which("ngspice")
        ng_repeats = args.repeats if args.ngspice_repeats is None else args.ngspice_repeats
        if ng_repeats and exe is None:
            sys.exit("ngspice is not installed (apt-get install -y ngspice): the baseline cannot run")
        ours, ng, methods, npts = [], [], None, 0
        for k in range(max(args.repeats, ng_repeats)):
            if k < args.repeats:
                t0 = time.perf_counter()
                res = run_sweep(ideal)
                ours.append(time.perf_counter() - t0)
                methods, npts = res.methods, len(res.points)
            if k < ng_repeats:
                ng.append(run_command([exe, "-b", "-r", os.path.join(tmp, "out.raw"), near], cwd=tmp))
    t = statistics.median(ours)
    print(f"network {'-'.join(map(str, args.layers))}, {dc} ({npts} points)")
    print(f"resim sweep, file -> all points certified: {t:.3f} s ({t / npts * 1e3:.2f} ms per point; {methods}; "
          f"runs: {', '.join(f'{x:.2f}' for x in ours)})")
    if ng:
        tn = statistics.median(ng)
        print(f"ngspice -b .dc (N=0.01 RS=1)            : {tn:.3f} s (runs: {', '.join(f'{x:.2f}' for x in ng)})")
        print(f"speed-up {tn / t:.1f}x (target 50x)")


if __name__ == "__main__":
    main()
