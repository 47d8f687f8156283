"""Evaluation cost: the test error at the converged equilibrium, before and after.

Trains a DRN (the follow-up's 2H setting by default, examples/fashion_drn_2h_ep.toml) on a
slice of Fashion-MNIST for a few epochs; after each epoch it measures the test error at the
converged equilibrium twice, in the same run: relaxed from zero to the tolerance (the
baseline: what every epoch cost before), and as ``resim train`` does now with
``eval_sweeps = 0`` (``predict``: from the previous epoch's equilibria, stopped once no
class can change). It prints both times, their ratio, and whether the predictions are
identical (they must be).

    OPENBLAS_NUM_THREADS=1 python bench/eval_cost.py [--config examples/fashion_drn_2h_ep.toml]
        [--train 6000] [--test 10000] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine  # noqa: E402

import numpy as np  # noqa: E402

from resim.drn.config import load_config  # noqa: E402
from resim.drn.data import load  # noqa: E402
from resim.drn.network import outputs, predict  # noqa: E402
from resim.drn.train import train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "examples",
                                                     "fashion_drn_2h_ep.toml"))
    ap.add_argument("--train", type=int, default=6000)
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    cfg = load_config(a.config)
    cfg.values["training"].update(eval_sweeps=0)
    data = load(cfg["data"]["dataset"], None, a.train, a.test)
    print(machine())
    print(f"{a.config}: {cfg['model']['layers']}, {a.train} training images, {len(data.test_x)} test images")
    warm: list = []
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        for epoch in range(1, a.epochs + 1):
            cfg.values["training"]["epochs"] = epoch
            net, _ = train(cfg, data, out, resume=epoch > 1)
            t0 = time.perf_counter()
            cold = np.argmax(outputs(net, data.test_x), axis=1)
            t_cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            hot = predict(net, data.test_x, warm=warm)
            t_warm = time.perf_counter() - t0
            same = bool(np.array_equal(cold, hot))
            error = float(np.mean(cold != data.test_y))
            note = " (no equilibria to start from yet)" if epoch == 1 else ""
            print(f"epoch {epoch}: test error {100 * error:.2f} %  to the tolerance from 0: {t_cold:.2f} s  "
                  f"now: {t_warm:.2f} s{note}  {t_cold / t_warm:.2f}x  identical predictions: {same}")


if __name__ == "__main__":
    main()
