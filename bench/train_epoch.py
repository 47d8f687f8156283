"""Seconds per training epoch of the paper's DRNs, and where the time goes (issue 7).

    python bench/train_epoch.py xs 1h 2h 3h --images 2000          # extrapolated to 60,000 images
    python bench/train_epoch.py 1h --images 60000 --dtype float32    # one whole epoch

Fashion-MNIST (Debian's dataset-fashion-mnist, or --data-dir), the hyper-parameters of
science.md §3 (batch 4, centred EP), ``resim.drn.train.train`` with its timing hooks:
relaxation (all phases), update (gradient and parameter step), data (batches), and the
test-error evaluation (on --test-images, not counted in the epoch time). Prints seconds
per epoch (measured over --images, scaled to 60,000), images per second and the split,
and the ratio against the straightforward implementation of bench/train_accuracy_check.py
(explicit gradient matrices, float64) timed in the same run on --baseline-images images.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _common import MODELS, machine, paper_config  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", choices=MODELS)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--test-images", type=int, default=1000)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float32")
    ap.add_argument("--data-dir")
    ap.add_argument("--threads", type=int, help="cores for the large products (default: resim's choice)")
    ap.add_argument("--baseline-images", type=int, default=400,
                    help="images for the straightforward implementation's time (0: skip it)")
    args = ap.parse_args()
    from resim.drn import data as data_mod
    from resim.drn.train import train

    print(machine())
    data = data_mod.load("fashion-mnist", args.data_dir, args.images, args.test_images)
    for name in args.models:
        config = paper_config(name, epochs=1, dtype=args.dtype)
        layers = config["model"]["layers"]
        timings: dict[str, float] = {}
        with tempfile.TemporaryDirectory() as out:
            _, rows = train(config, data, out, timings=timings, threads=args.threads)
        row = rows[0]
        scale = 60000 / len(data.train_x)
        loop = sum(timings.get(k, 0.0) for k in ("data", "relax", "update"))
        split = ", ".join(f"{k} {timings.get(k, 0.0) / loop * 100:.0f}%" for k in ("relax", "update", "data"))
        print(f"DRN-{name.upper()} {'-'.join(map(str, [2 * layers[0], *layers[1:]]))} ({args.dtype}): "
              f"{row['epoch_seconds'] * scale:7.1f} s per 60,000-image epoch "
              f"({'measured' if scale == 1 else f'from {len(data.train_x):,} images'}), "
              f"{row['samples_per_second']:.0f} images/s; {split}; "
              f"test error {row['test_error']:.2%} on {len(data.test_x):,} after {len(data.train_x):,} images")
        if args.baseline_images:
            ref, ours = _baseline(config, data, args.baseline_images), row["epoch_seconds"] * scale
            print(f"  straightforward implementation: {ref:.0f} s per 60,000-image epoch (from "
                  f"{args.baseline_images:,} images, float64); resim {ref / ours:.1f}x faster")


def _baseline(config, data, images: int) -> float:
    """Seconds per 60,000-image epoch of the straightforward implementation, from ``images``."""
    import dataclasses
    import time

    from train_accuracy_check import reference

    sub = dataclasses.replace(data, train_x=data.train_x[:images], train_y=data.train_y[:images])
    m, t = config["model"], config["training"]
    t0 = time.perf_counter()
    reference(m["layers"], m["input_gain"], t["sweeps"], t["nudging"], t["learning_rates"], sub)
    return (time.perf_counter() - t0) * 60000 / len(sub.train_x)


if __name__ == "__main__":
    main()
