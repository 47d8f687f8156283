"""resim's trainer against a straightforward numpy implementation: same seed, same data (issue 7).

    python bench/train_accuracy_check.py 1h --images 10000

The reference is the textbook form of centred EP: explicit [n, m] gradient matrices from
dE/dg = 1/2 (v_i - v_j)^2 (``resim.drn.rules.estimate``), every phase computing its own
input currents, float64, then ``W -= lr g``, clip at 0. resim's trainer (``train``: fused
BLAS update, shared input currents, float32 by default here) runs on the same images in the
same order from the same initial conductances. Prints both test errors after the images
(issue 7: within 0.3 points) and both times.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import MODELS, machine, paper_config  # noqa: E402


def reference(layers, gain, sweeps, beta, lrs, data, seed=0, decay=0.99):
    """One epoch of the straightforward implementation over ``data.train_x``; returns the network."""
    from resim.drn.network import DRN, Relaxer
    from resim.drn.rules import estimate

    net = DRN.init(layers, gain, np.random.default_rng(seed))
    order = np.random.default_rng([seed, 0]).permutation(len(data.train_x))
    y_all = np.eye(net.sizes[-1])[data.train_y]
    relaxer, warm = Relaxer(net), None
    for a in range(0, len(order), 4):
        idx = order[a:a + 4]
        V = relaxer.start(data.train_x[idx])
        if warm is not None and len(warm[0]) == len(idx):
            V = [V[0]] + [w.copy() for w in warm]
        V0 = relaxer.relax(V, sweeps)
        gW, gb = estimate(relaxer, V0, y_all[idx], "centered-ep", beta, sweeps)
        for l in range(len(net.W)):
            net.W[l] -= lrs[l] * decay**0 * gW[l]
            np.maximum(net.W[l], 0.0, out=net.W[l])
            net.b[l] -= lrs[l] * gb[l]
        relaxer, warm = Relaxer(net), V0[1:]
    return net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=MODELS)
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--test-images", type=int, default=10000)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float32")
    args = ap.parse_args()
    from resim.drn import data as data_mod
    from resim.drn.network import predict
    from resim.drn.train import train

    print(machine())
    data = data_mod.load("fashion-mnist", None, args.images, args.test_images)
    config = paper_config(args.model, epochs=1, dtype=args.dtype)
    m, t = config["model"], config["training"]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        _, rows = train(config, data, out)
    t1 = time.perf_counter()
    net = reference(m["layers"], m["input_gain"], t["sweeps"], t["nudging"], t["learning_rates"], data)
    ref = float(np.mean(predict(net, data.test_x) != data.test_y))
    t2 = time.perf_counter()
    ours = rows[0]["test_error"]
    print(f"DRN-{args.model.upper()} after {len(data.train_x):,} images, test error on {len(data.test_x):,}: "
          f"resim {ours:.2%} ({args.dtype}, {t1 - t0:.1f} s incl. evaluation), straightforward {ref:.2%} "
          f"(float64, {t2 - t1:.1f} s); difference {abs(ours - ref) * 100:.2f} points (issue 7: within 0.3); "
          f"resim {(t2 - t1) / (t1 - t0):.1f}x faster")


if __name__ == "__main__":
    main()
