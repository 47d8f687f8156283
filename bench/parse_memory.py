"""Where the memory of ``resim solve`` goes on a large netlist (issue 16): a trained DRN-XL
restricted to its first K hidden units (as ``bench/xl_solve.py`` writes it), read by
``resim.load_netlist`` under ``tracemalloc``, then solved.

    python bench/parse_memory.py runs/xl10/model.npz --units 512

Prints, per stage (parse and elaboration, solve), the wall time, the traced peak and what
is still held after it, the allocation sites holding most after parsing (file:line, MB,
bytes per netlist line) and the process's peak resident memory. ``tracemalloc`` slows the
parse about 2x, so the times here are for the breakdown only; ``bench/xl_solve.py`` times
the untraced ``resim solve`` process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine  # noqa: E402
from xl_solve import count_lines, restricted  # noqa: E402

import resim  # noqa: E402
from resim.drn import data as data_mod  # noqa: E402
from resim.drn.export import netlist_chunks  # noqa: E402
from resim.drn.train import load_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--units", type=int, default=512, help="hidden units kept (half from each half)")
    ap.add_argument("--input", type=int, default=0, help="test image applied")
    ap.add_argument("--top", type=int, default=6, help="allocation sites listed")
    a = ap.parse_args()
    print(machine())
    net, _ = load_model(a.model)
    image = data_mod.load("fashion-mnist", None, 1, a.input + 1).test_x[a.input]
    sub = restricted(net, a.units)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "xl.cir")
        with open(path, "w") as fh:
            fh.writelines(netlist_chunks(sub, image, f"DRN-XL's first {a.units} hidden units"))
        lines = count_lines(path)
        print(f"{sub.sizes[1]} hidden units: {lines:,} lines, {os.path.getsize(path) / 1e6:.0f} MB")

        tracemalloc.start()
        t = time.perf_counter()
        circuit = resim.load_netlist(path)
        parse_s = time.perf_counter() - t
        held, peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
        print(f"load_netlist (parse + elaborate, traced): {parse_s:.1f} s, peak {peak / 1e6:.0f} MB "
              f"({peak / lines:.0f} B/line), held after {held / 1e6:.0f} MB")
        for stat in snapshot.statistics("lineno")[: a.top]:
            frame = stat.traceback[0]
            where = f"{os.path.relpath(frame.filename, os.path.dirname(resim.__file__))}:{frame.lineno}"
            print(f"    {where:40s} {stat.size / 1e6:7.1f} MB  {stat.size / lines:6.1f} B/line")
        del snapshot
        tracemalloc.reset_peak()
        t = time.perf_counter()
        result = resim.solve(circuit)
        solve_s = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"solve ({result.method}, traced): {solve_s:.1f} s, peak {peak / 1e6:.0f} MB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.0f} MB = {rss * 1024 * 1024 / lines:.0f} B per netlist line")


if __name__ == "__main__":
    main()
