"""docs/theory.md's figures.

* ``theory_stall.png``: the two-node circuit of docs/theory.md §2 (+1 V and -1 V through
  1 S each into nodes a and b, an ideal diode a -> b, so ``v_a <= v_b``). Its content
  ``E = 1/2 (v_a - 1)^2 + 1/2 (v_b + 1)^2`` as contours, the forbidden half-plane shaded,
  the iterates of plain coordinate descent from (5, 5) (each step the clipped 1-D minimum,
  computed here from the formula), where they stop, and ``resim solve --method cd``'s
  answer (which ties the diode and moves a and b as one block).
* ``theory_drn.png``: a small deep resistive network as resim builds it (2 pixels, 4 hidden
  nodes, 3 outputs): the doubled inputs, the conductances, the excitatory and inhibitory
  diodes, and the two colours of its relaxation.

    python bench/theory_figures.py --folder docs
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

RESIM = os.path.join(os.path.dirname(sys.executable), "resim")  # the console script beside this interpreter
STALL = """stall: a conducting ideal diode between two free nodes (docs/theory.md section 2)
V1 p 0 1
V2 m 0 -1
R1 p a 1
R2 m b 1
D1 a b ideal
.model ideal D(Ron=0 Vfwd=0)
.op
.end
"""


def cd_iterates(start: tuple[float, float], sweeps: int) -> list[tuple[float, float]]:
    """Plain coordinate descent on the stall circuit: v_a <- clip(1, hi = v_b), then
    v_b <- clip(-1, lo = v_a) (each the exact minimiser of E in one coordinate)."""
    a, b = start
    points = [(a, b)]
    for _ in range(sweeps):
        a = min(1.0, b)
        points.append((a, b))
        b = max(-1.0, a)
        points.append((a, b))
    return points


def resim_answer() -> tuple[float, float, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "stall.cir")
        with open(path, "w") as fh:
            fh.write(STALL)
        out = subprocess.run([RESIM, "solve", path, "--method", "cd", "--format", "json"], check=True,
                             capture_output=True, text=True).stdout
    result = json.loads(out)
    return result["nodes"]["a"], result["nodes"]["b"], result["method"]


def stall_figure(plt, path: str) -> None:
    fig, ax = plt.subplots(figsize=(5.2, 6.6))
    g = np.linspace(-2, 6, 321)
    A, B = np.meshgrid(g, g)
    E = 0.5 * (A - 1) ** 2 + 0.5 * (B + 1) ** 2
    ax.contour(A, B, E, levels=[0.5, 2, 4.5, 8, 12.5, 18, 24.5, 32], colors="0.75", linewidths=0.8)
    ax.fill_between(g, -2, g, color="tab:red", alpha=0.12, label="forbidden: v_a > v_b (the ideal diode\nholds u = v_a - v_b <= 0)")
    ax.plot(g, g, color="tab:red", lw=1)
    pts = np.array(cd_iterates((5.0, 5.0), 3))
    ax.plot(pts[:, 0], pts[:, 1], "-o", color="tab:blue", ms=3.5, lw=1.2, label="coordinate descent from (5, 5)")
    ax.plot([1], [1], "s", color="tab:blue", ms=8, mfc="none", mew=1.5, label="where it stops: (1, 1)")
    ax.plot([1], [-1], "x", color="0.4", ms=7, label="unconstrained minimum (1, -1)")
    ax.annotate("", xy=(0.05, 0.05), xytext=(0.95, 0.95),
                arrowprops=dict(arrowstyle="->", color="tab:green", lw=1.5))
    a, b, method = resim_answer()
    ax.plot([a], [b], "*", color="tab:green", ms=13,
            label=f"optimum (0, 0): resim solve --method cd\n(method {method}: the diode tied, a and b moved as one)")
    ax.set_xlim(-2, 6)
    ax.set_ylim(-2, 6)
    ax.set_xlabel("v_a (V)")
    ax.set_ylabel("v_b (V)")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.11))  # below: inside, it hid (1, -1) and (0, 0)
    ax.set_title("Content contours; the diode a->b keeps v_a <= v_b", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}: resim's answer ({a:g}, {b:g}) by {method}")


def drn_figure(plt, path: str) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    columns = {
        "inputs": [("+g x1", "k"), ("+g x2", "k"), ("-g x1", "k"), ("-g x2", "k")],
        "hidden": [("h1", "exc"), ("h2", "exc"), ("h3", "inh"), ("h4", "inh")],
        "outputs": [("o1", "out"), ("o2", "out"), ("o3", "out")],
    }
    xs = {"inputs": 0.0, "hidden": 2.2, "outputs": 4.4}
    pos = {}
    for name, nodes in columns.items():
        ys = np.linspace(1, -1, len(nodes)) * (1.2 if len(nodes) == 4 else 0.8)
        for (label, kind), y in zip(nodes, ys):
            pos[label] = (xs[name], y, kind)
    for src in ("+g x1", "+g x2", "-g x1", "-g x2"):
        for dst in ("h1", "h2", "h3", "h4"):
            ax.plot([pos[src][0], pos[dst][0]], [pos[src][1], pos[dst][1]], color="0.7", lw=0.8, zorder=1)
    for src in ("h1", "h2", "h3", "h4"):
        for dst in ("o1", "o2", "o3"):
            ax.plot([pos[src][0], pos[dst][0]], [pos[src][1], pos[dst][1]], color="0.7", lw=0.8, zorder=1)
    colours = {"k": "0.25", "exc": "tab:orange", "inh": "tab:purple", "out": "tab:blue"}
    for label, (x, y, kind) in pos.items():
        ax.scatter([x], [y], s=420, color=colours[kind], zorder=3, edgecolor="black")
        ax.text(x, y, label.split()[-1] if kind == "k" else label, ha="center", va="center", fontsize=7,
                color="white", zorder=4)
        if kind == "k":
            ax.text(x - 0.35, y, label.rsplit(" ", 1)[0] + " " + label.split()[-1], ha="right", va="center", fontsize=8)
        if kind in ("exc", "inh"):
            ax.text(x + 0.28, y + 0.13, "v >= 0: excitatory" if kind == "exc" else "v <= 0: inhibitory", fontsize=7, color=colours[kind])
    ax.text(xs["inputs"], 1.75, "layer 0: sources\n(fixed)", ha="center", fontsize=8)
    ax.text(xs["hidden"], 1.75, "layer 1: hidden, diodes to ground\n(colour 1)", ha="center", fontsize=8)
    ax.text(xs["outputs"], 1.75, "layer 2: outputs, no diodes\n(colour 0)", ha="center", fontsize=8)
    ax.text(1.1, -1.75, "conductances W0 >= 0", ha="center", fontsize=8, color="0.4")
    ax.text(3.3, -1.75, "conductances W1 >= 0", ha="center", fontsize=8, color="0.4")
    ax.text(4.75, -1.2, "bias currents b into\nevery hidden and output\nnode; prediction =\nargmax v(o)", fontsize=7, va="top")
    ax.set_xlim(-1.6, 6.0)
    ax.set_ylim(-2.0, 2.2)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folder", default="docs")
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stall_figure(plt, os.path.join(a.folder, "theory_stall.png"))
    drn_figure(plt, os.path.join(a.folder, "theory_drn.png"))


if __name__ == "__main__":
    main()
