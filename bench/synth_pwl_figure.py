"""docs/synth.md's figure: a piecewise-linear function, and ``resim sweep`` of the circuit
``resim synth pwl`` makes of it (two whole ``resim`` processes), at two gains.

    python bench/synth_pwl_figure.py -o docs/synth_pwl.png
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

RESIM = os.path.join(os.path.dirname(sys.executable), "resim")  # the console script beside this interpreter
POINTS = "-1:0.5,-0.4:-0.6,0:0.2,0.5:0.9,1:-0.3,1.5:0.4,2:0"


def sweep(points: str, gain: float, folder: str) -> np.ndarray:
    cir = os.path.join(folder, f"f{gain:g}.cir")
    subprocess.run([RESIM, "synth", "pwl", "--points", points, "--gain", str(gain), "-o", cir],
                   check=True)
    out = subprocess.run([RESIM, "sweep", cir, "--dc", "vx0", "-1", "2", "0.01", "--probe",
                          "v(y0)"], check=True, capture_output=True, text=True).stdout
    return np.array([[float(v) for v in line.split(",")] for line in out.splitlines()[1:]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default="docs/synth_pwl.png")
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys = (np.array(v, float) for v in zip(*(p.split(":") for p in POINTS.split(","))))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=[3, 2])
    t = np.linspace(-1, 2, 301)
    top.plot(t, np.interp(t, xs, ys), color="black", lw=3, alpha=0.3, label="target f(x)")
    top.plot(xs, ys, "ko", ms=4)
    with tempfile.TemporaryDirectory() as folder:
        for gain, colour in ((10.0, "tab:red"), (1e5, "tab:blue")):
            rows = sweep(POINTS, gain, folder)
            top.plot(rows[:, 0], rows[:, 1], color=colour, lw=1.2, label=f"resim sweep of its circuit, gain {gain:g}")
            bottom.semilogy(rows[:, 0], np.abs(rows[:, 1] - np.interp(rows[:, 0], xs, ys)) + 1e-16, color=colour,
                            lw=1.2, label=f"gain {gain:g}")
            print(f"gain {gain:g}: max |circuit - f| = {np.max(np.abs(rows[:, 1] - np.interp(rows[:, 0], xs, ys))):.3g}")
    top.set_ylabel("y0 (V)")
    top.legend(fontsize=8)
    top.set_title("resim synth pwl --points '" + POINTS + "'", fontsize=8)
    bottom.set_xlabel("vx0 (V)")
    bottom.set_ylabel("|circuit - f| (V)")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
