"""ibmpg1 (30,638 nodes, IBM power-grid benchmark): resim against ngspice, same file, same run.

Timed, each as the median over ``--repeats`` runs, interleaved:

* ``ngspice -b ibmpg1.spice`` as a process (its output, all node voltages, to /dev/null);
* resim from the file to a verified answer, in this process: ``resim.solve(
  resim.load_netlist(path))`` (parse + compile + solve; numpy/scipy already imported);
* ``resim solve ibmpg1.spice --format json -o out.json`` as a process: the above plus
  Python start-up, imports (about 0.8 s here) and writing 85,000 results.

Reports both ratios, resim's parse / compile / solve split, and the largest difference
from ngspice at any node (targets: 1e-6 V; at least 10x faster end to end).

    python bench/ibmpg1.py [--netlist PATH/ibmpg1.spice] [--repeats 3]

ibmpg1.spice is the DC netlist ibmpg1 of the public IBM power-grid benchmark suite (Nassif,
ASP-DAC 2008); the repository does not ship it (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

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
        import resim

        resim.solve(resim.load_netlist(args.netlist))  # warm: imports, grammar table
        t_ng, t_rs, t_api, internal = [], [], [], []
        for _ in range(args.repeats):  # interleave so that load changes hit all alike
            t_ng.append(run_command([ngspice, "-b", args.netlist], cwd=tmp))
            t0 = time.perf_counter()
            result = resim.solve(resim.load_netlist(args.netlist))
            t_api.append(time.perf_counter() - t0)
            internal.append({f"{k}_s": v for k, v in result.timings.items()})
            t_rs.append(run_command([resim_exe, "solve", args.netlist, "--format", "json", "-o", out]))
        with open(out) as fh:
            ours = json.load(fh)["nodes"]
        with open(args.netlist) as fh:
            ref = run_op(fh.read(), ngspice=ngspice, options=None).voltages
    missing = sorted(set(ours) - set(ref))
    common = [k for k in ours if k in ref]
    worst = max(common, key=lambda k: abs(ours[k] - ref[k]))
    dv = abs(ours[worst] - ref[worst])
    ng, rs, api = (statistics.median(t) for t in (t_ng, t_rs, t_api))
    med = {k: statistics.median(t[k] for t in internal) for k in internal[0]}

    def show(label: str, t: float, samples: list[float]) -> None:
        print(f"{label:26s}: {t:7.3f} s  (median of {len(samples)}: {', '.join(f'{x:.2f}' for x in samples)})")

    show("ngspice -b (process)", ng, t_ng)
    show("resim file -> answer (API)", api, t_api)
    print("  of which                : " + ", ".join(f"{k[:-2]} {v:.3f} s" for k, v in med.items()))
    show("resim solve (process)", rs, t_rs)
    print(f"speed-up, file -> answer  : {ng / api:7.1f}x (target >= 10x)")
    print(f"speed-up, whole process   : {ng / rs:7.1f}x (includes ~0.8 s of Python start-up and imports)")
    print(f"agreement       : max |v_resim - v_ngspice| = {dv:.3g} V at {worst} over {len(common)} nodes "
          f"(target 1e-6 V){'; missing in ngspice: ' + str(missing[:5]) if missing else ''}")


if __name__ == "__main__":
    main()
