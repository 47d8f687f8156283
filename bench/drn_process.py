"""A DRN netlist solved by a whole `resim solve` process against ngspice on the same
circuit, in the same run (issue 26).

    python bench/drn_process.py 1568 1024 10 --gain 480 --repeats 3 --ngspice-repeats 1   # DRN-1H
    python bench/drn_process.py 1568 100 10 --gain 100 --repeats 5                         # DRN-XS

The network is written by ``bench/drn.py`` with ideal diodes; ngspice gets the same circuit
as ``resim compare-with-ngspice --diodes sidiode`` writes it (``resim.translate``): each
ideal diode an XSPICE ``sidiode`` element, ngspice's nearest to an ideal diode, so that both
solve the same circuit (not a Shockley stand-in). Timed as whole processes, medians of the
repeats, what a shell user sees:

* ``resim solve NET --nodes 'o*' --format json``: the outputs only (the probed answer);
* ``resim solve NET --format json``: the full JSON, every node and element;
* ``ngspice -b``: its own process (``resim.ngspice.run_op``, from its start to its exit).

Prints the ratios, and the largest difference between resim's and ngspice's outputs
(sidiode is coarse: ngspice stops about 1e-5 V off, docs/ngspice.md). resim runs first, and
its figures are printed before ngspice starts; an ngspice stopped by --ngspice-timeout
gives lower bounds for the ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _common import drn_ngspice_parser, machine, ngspice_repeats, run_command  # noqa: E402
from drn import drn_netlist  # noqa: E402

RESIM = os.path.join(os.path.dirname(sys.executable), "resim")


def main() -> None:
    ap = drn_ngspice_parser(__doc__)
    ap.add_argument("--ngspice-timeout", type=float, default=3600.0,
                    help="seconds before ngspice is stopped; the ratios are then lower bounds (default 3600)")
    args = ap.parse_args()
    import resim
    from resim.ngspice import NgspiceTimeout, run_op
    from resim.translate import to_ngspice

    print(machine())
    ng_repeats = ngspice_repeats(args)
    with tempfile.TemporaryDirectory() as tmp:
        net = os.path.join(tmp, "drn.cir")
        with open(net, "w") as fh:
            fh.write(drn_netlist(args.layers, gain=args.gain))
        circuit = resim.load_netlist(net)
        outputs = [n for n in circuit.nodes if n.startswith("o")]  # o0, o1, ... (resim.drn.export's names)
        lines = sum(1 for _ in open(net))
        print(f"network {'-'.join(map(str, args.layers))}: {len(circuit['r']):,} resistors, {len(circuit['d']):,} "
              f"diodes, {lines:,} lines, {os.path.getsize(net) / 1e6:.0f} MB")
        probed = [RESIM, "solve", net, "--nodes", "o*", "--format", "json", "-o",
                  os.path.join(tmp, "probed.json")]
        full = [RESIM, "solve", net, "--format", "json", "-o", os.path.join(tmp, "full.json")]
        times = {"probed": [], "full": []}
        for _ in range(args.repeats):  # resim first, interleaved: its figures stand even if ngspice is stopped
            times["probed"].append(run_command(probed))
            times["full"].append(run_command(full))
        with open(os.path.join(tmp, "probed.json")) as fh:
            got = json.load(fh)["nodes"]
        print(f"full JSON: {os.path.getsize(os.path.join(tmp, 'full.json')) / 1e6:.0f} MB")
        for k, v in times.items():
            print(f"resim {k:7s}: {statistics.median(v):8.3f} s (runs: {', '.join(f'{x:.2f}' for x in v)})", flush=True)
        deck = to_ngspice(circuit, diodes="sidiode", savecurrents=False).text
        ng_times, theirs = [], {}
        for _ in range(ng_repeats):
            try:
                ng = run_op(deck, timeout=args.ngspice_timeout)
            except NgspiceTimeout:
                print(f"ngspice -b : did not finish in {args.ngspice_timeout:g} s (stopped); the ratios below are "
                      "lower bounds")
                ng_times.append(args.ngspice_timeout)
                break
            ng_times.append(ng.wall_time)
            theirs = {n: ng.voltages.get(n) for n in outputs}
    if ng_times:
        ng = statistics.median(ng_times)
        print(f"ngspice -b : {ng:8.3f} s (runs: {', '.join(f'{x:.2f}' for x in ng_times)})")
        print(f"ngspice / resim probed: {ng / statistics.median(times['probed']):.1f}x; "
              f"ngspice / resim full JSON: {ng / statistics.median(times['full']):.1f}x")
        if theirs:
            diff = max(abs(got[n] - theirs[n]) for n in outputs if theirs.get(n) is not None)
            print(f"largest output difference, resim against ngspice (sidiode): {diff:.2e} V")


if __name__ == "__main__":
    main()
