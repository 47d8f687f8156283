"""A trained DRN-XL as a netlist (issue 16): ``resim export`` of the model for one test
image, then ``resim solve`` of the netlist, each as a whole process under ``/usr/bin/time``
(wall time and peak resident memory), at growing widths: the network restricted to the
first K units of each of its hidden halves (excitatory and inhibitory), up to all 32,768.

    python bench/xl_solve.py runs/xl10/model.npz --units 2048 8192 32768

Each width's netlist is written by the same code as ``resim export`` (the full width by
``resim export`` itself); ``resim solve --format json`` gives its parse, compile and solve
times, and its output voltages (``--nodes 'o*'``: only they are written) are compared
with the network's own relaxation (``resim.drn.network.outputs``) of the same restricted
network, and so is the class they predict. A netlist whose solve would need more memory
than there is is refused by ``resim solve`` (exit 11, ``resim.memory``): the script says so.
Needs GNU time (/usr/bin/time).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine  # noqa: E402

import numpy as np  # noqa: E402

from resim.drn import data as data_mod  # noqa: E402
from resim.drn.export import netlist_chunks  # noqa: E402
from resim.drn.network import DRN, outputs  # noqa: E402
from resim.drn.train import load_model  # noqa: E402

RESIM = os.path.join(os.path.dirname(sys.executable), "resim")


def timed(cmd: list[str], stdout=subprocess.DEVNULL) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak RSS in bytes, stderr) of ``cmd`` under /usr/bin/time
    (whose ``%M`` is in KiB)."""
    proc = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *cmd], stdout=stdout, stderr=subprocess.PIPE, text=True)
    m = re.search(r"TIME ([\d.]+) (\d+)\s*$", proc.stderr)
    err = "\n".join(line for line in proc.stderr[:m.start()].splitlines() if not line.startswith("Command exited"))
    return proc.returncode, float(m[1]), int(m[2]) * 1024, err.strip()


def count_lines(path: str) -> int:
    """The lines of the file ``path``, read 16 MB at a time."""
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))


def restricted(net: DRN, units: int) -> DRN:
    half = net.sizes[1] // 2
    k = min(units // 2, half)
    cols = np.r_[0:k, half:half + k]
    return DRN([net.W[0][:, cols], net.W[1][cols, :]], [net.b[0][cols], net.b[1]], net.gain)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--units", type=int, nargs="+", default=[2048, 8192, 32768])
    ap.add_argument("--input", type=int, default=0)
    ap.add_argument("--folder", help="where the netlists go (default: a temporary folder, removed after)")
    a = ap.parse_args()
    print(machine())
    net, _ = load_model(a.model)
    data = data_mod.load("fashion-mnist", None, 1, a.input + 1)
    image = data.test_x[a.input]
    with tempfile.TemporaryDirectory(dir=a.folder) as folder:
        for units in a.units:
            sub = restricted(net, units)
            path = os.path.join(folder, f"xl{units}.cir")
            if sub.sizes[1] == net.sizes[1]:
                with open(path, "w") as fh:
                    code, export_s, export_peak, err = timed([RESIM, "export", a.model, "--input", str(a.input)], stdout=fh)
                how = f"resim export: {export_s:.1f} s, peak {export_peak / 2**30:.2f} GiB"
            else:
                with open(path, "w") as fh:
                    fh.writelines(netlist_chunks(sub, image, f"DRN-XL's first {units} hidden units"))
                how = "written in-process"
            size = os.path.getsize(path)
            lines = count_lines(path)
            resistors = sum(int((w > 0).sum()) for w in sub.W)
            print(f"{sub.sizes[1]:6d} hidden units: {resistors:,} resistors, {lines:,} lines, {size / 1e6:.0f} MB ({how})")
            out = os.path.join(folder, "op.json")
            code, solve_s, solve_peak, err = timed([RESIM, "solve", path, "--nodes", "o*", "--format", "json", "-o", out])
            if code != 0:
                print(f"        resim solve: exit {code} after {solve_s:.1f} s, peak {solve_peak / 2**30:.2f} GiB: "
                      f"{err.splitlines()[-1] if err else ''}")
                continue
            with open(out) as fh:
                result = json.load(fh)
            t = result["timings"]
            got = np.array([result["nodes"][f"o{k}"] for k in range(10)])
            want = outputs(sub, image[None, :])[0]
            diff = (f", max |v(o) - network| {np.max(np.abs(got - want)):.2e} V, class {int(np.argmax(got))} "
                    f"(network: {int(np.argmax(want))})")
            print(f"        resim solve (process): {solve_s:.1f} s, peak {solve_peak / 2**30:.2f} GiB = {solve_peak / 1e9:.2f} GB "
                  f"({solve_peak / lines:.0f} B per line); parse {t['parse_s']:.1f} s ({lines / t['parse_s'] / 1e6:.2f} M lines/s), "
                  f"compile {t['compile_s']:.1f} s, solve {t['solve_s']:.1f} s ({result['method']}){diff}")
            os.remove(path)


if __name__ == "__main__":
    main()
