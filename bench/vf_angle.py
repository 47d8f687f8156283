"""How far vector-field EP strays from the gradient as the feedback parts from the forward
conductances: docs/gdu.md's second figure.

    python bench/vf_angle.py [--layers 8 16 12 4] [--seeds 5] [--images 4] [--out docs/vf_angle.png]

For each symmetry s (0 to 1) and seed: a drn-vf network with B = s F + (1 - s) R
(resim.drn.vf), one batch of random images and targets; the free state converged
(4,000 sweeps), the true gradient by implicit differentiation on its active set
(vf.true_gradient, checked against finite differences in tests/test_vf.py), vector-field
EP's estimate from centred nudged phases at beta = 1e-4; the angle between the two over
every conductance (F and B), and the asymmetry |F - B| / |F|. Prints a CSV (s, seed,
asymmetry, angle in degrees) and draws the angle against s, the seeds' mean and range.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np


def angle(layers: list[int], s: float, seed: int, images: int) -> tuple[float, float]:
    from resim.drn import vf

    rng = np.random.default_rng(seed)
    net = vf.VFNet.init(layers, 1.0, rng, symmetry=s)
    if net.tied:  # two devices per connection that happen to be equal: the same circuit
        net = vf.VFNet(net.F, [None] + [f.copy() for f in net.F[1:]], net.b, net.gain)
    x = rng.uniform(0, 1, (images, layers[0]))
    y = np.eye(layers[-1])[rng.integers(0, layers[-1], images)]
    V = vf.relax(net, vf.start(net, x), 4000)
    gF, gB, _ = vf.true_gradient(net, V, y)
    eF, eB, _ = vf.vf_estimate(net, *vf.phases(net, V, y, "centered-ep", 1e-4, 4000, "forward"))
    g = np.concatenate([a.ravel() for a in gF] + [a.ravel() for a in gB[1:]])
    e = np.concatenate([a.ravel() for a in eF] + [a.ravel() for a in eB[1:]])
    cos = float(g @ e / (np.linalg.norm(g) * np.linalg.norm(e)))
    return net.asymmetry(), math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, nargs="+", default=[8, 16, 12, 4])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--out", default=None, help="the figure (.png, .svg, .pdf)")
    a = ap.parse_args()
    symmetries = [round(0.1 * k, 1) for k in range(11)]
    rows = []
    print("symmetry,seed,asymmetry,angle_degrees")
    for s in symmetries:
        for seed in range(a.seeds):
            asym, deg = angle(a.layers, s, seed, a.images)
            rows.append((s, seed, asym, deg))
            print(f"{s},{seed},{asym:.6f},{deg:.6f}")
            sys.stdout.flush()
    if a.out:
        from resim.atomic import write_bytes
        from resim.figure import format_of, pyplot, save

        plt = pyplot("--out")
        fig, ax = plt.subplots(figsize=(5.2, 3.6))
        by = {s: [r[3] for r in rows if r[0] == s] for s in symmetries}
        mean = [float(np.mean(by[s])) for s in symmetries]
        ax.fill_between(symmetries, [min(by[s]) for s in symmetries], [max(by[s]) for s in symmetries], alpha=0.25)
        ax.plot(symmetries, mean, marker="o")
        ax.set_xlabel("symmetry s (B = s F + (1 - s) R)")
        ax.set_ylabel("angle to the true gradient (degrees)")
        ax.set_title(f"vector-field EP, drn-vf {'-'.join(map(str, a.layers))}, {a.seeds} seeds", fontsize=10)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        write_bytes(a.out, save(fig, format_of(a.out)))


if __name__ == "__main__":
    main()
