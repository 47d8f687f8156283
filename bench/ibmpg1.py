"""ibmpg1 (30,638 nodes, IBM power-grid benchmark): resim against ngspice, same file, same run.

Both programs are timed end to end as a user runs them, as separate processes:

* ``ngspice -b ibmpg1.spice`` (its output, all node voltages, to /dev/null);
* ``resim solve ibmpg1.spice --format json -o out.json`` (every voltage and current).

Reports the median wall time of each over ``--repeats`` runs, their ratio, resim's own
parse / compile / solve split, and the largest difference from ngspice at any node
(target: 1e-6 V, at least 10x faster end to end).

    python bench/ibmpg1.py [--netlist ../shared/bench/ibmpg1.spice] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, run_command  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench", "ibmpg1.spice"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--netlist", default=os.environ.get("RESIM_IBMPG1", DEFAULT))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(args.netlist):
        sys.exit(f"ibmpg1 not found at {args.netlist}; pass --netlist PATH or set RESIM_IBMPG1")
    ngspice = shutil.which("ngspice")
    if ngspice is None:
        sys.exit("ngspice is not installed (apt-get install -y ngspice): the baseline cannot run")
    resim_exe = shutil.which("resim") or sys.exit("the resim command is not on PATH (pip install -e .)")
    print(machine())
    from resim.ngspice import run_op

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "op.json")
        t_ng, t_rs, internal = [], [], []
        for _ in range(args.repeats):  # interleave so that load changes hit both alike
            t_ng.append(run_command([ngspice, "-b", args.netlist], cwd=tmp))
            t_rs.append(run_command([resim_exe, "solve", args.netlist, "--format", "json", "-o", out]))
            with open(out) as fh:
                internal.append(json.load(fh)["timings"])
        with open(out) as fh:
            ours = json.load(fh)["nodes"]
        with open(args.netlist) as fh:
            ref = run_op(fh.read(), ngspice=ngspice, options=None).voltages
    missing = sorted(set(ours) - set(ref))
    common = [k for k in ours if k in ref]
    worst = max(common, key=lambda k: abs(ours[k] - ref[k]))
    dv = abs(ours[worst] - ref[worst])
    ng, rs = statistics.median(t_ng), statistics.median(t_rs)
    med = {k: statistics.median(t[k] for t in internal) for k in internal[0]}
    print(f"ngspice -b      : {ng:7.3f} s  (median of {len(t_ng)}: {', '.join(f'{t:.2f}' for t in t_ng)})")
    print(f"resim solve     : {rs:7.3f} s  (median of {len(t_rs)}: {', '.join(f'{t:.2f}' for t in t_rs)})")
    print("  inside resim  : " + ", ".join(f"{k[:-2]} {v:.3f} s" for k, v in med.items()))
    print(f"speed-up        : {ng / rs:7.1f}x end to end (target >= 10x)")
    print(f"agreement       : max |v_resim - v_ngspice| = {dv:.3g} V at {worst} over {len(common)} nodes "
          f"(target 1e-6 V){'; missing in ngspice: ' + str(missing[:5]) if missing else ''}")


if __name__ == "__main__":
    main()
