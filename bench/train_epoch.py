"""Seconds per training epoch of the paper's DRNs, and where the time goes (issues 7, 16).

    python bench/train_epoch.py xs 1h 2h 3h --images 2000          # extrapolated to 60,000 images
    python bench/train_epoch.py 1h --images 60000 --dtype float32    # one whole epoch
    python bench/train_epoch.py xl --images 60000 --baseline-images 0  # DRN-XL, one whole epoch

Fashion-MNIST (Debian's dataset-fashion-mnist, or --data-dir), the hyper-parameters of
the ICML 2024 paper's (docs/theory.md §6: batch 4, centred EP), ``resim.drn.train.train`` with its timing hooks:
relaxation (all phases), update (gradient and parameter step), data (batches), and the
test-error evaluation (on --test-images, not counted in the epoch time). Prints seconds
per epoch (measured over --images, scaled to 60,000), images per second and the split,
and the ratio against the straightforward implementation of bench/train_accuracy_check.py
(explicit gradient matrices, float64) timed in the same run on --baseline-images images.

The memory-streaming limit: a batch must at least read and write every conductance once
(its update; twice that with a momentum). Timing ``np.copyto`` of a matrix of each layer's
shape (median of 5, also read + write) gives that traffic's time at this machine's copy
rate; the epoch's share of it (``floor / epoch``) says how close training runs to the limit.
Matrices that fit in the caches (XS, 1H) copy faster than memory streams, so their floor is
a cache floor. ``--strips`` switches off resim.drn.onepass (the numba kernel for matrices
beyond the cache) to time the numpy strips it replaces. The peak resident memory is the
process's (run one model per process for a per-model figure).
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
    ap.add_argument("--strips", action="store_true", help="numpy strips instead of the numba one-pass kernel")
    args = ap.parse_args()
    from resim.drn import data as data_mod
    from resim.drn import kernels, onepass
    from resim.drn.train import train

    kernels.ONE_PASS = not args.strips
    print(f"large layers: {'numpy strips' if args.strips or not onepass.available() else 'numba one pass'}")

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
        moved, floor = _streaming_floor(layers, config)
        epoch_s = row["epoch_seconds"] * scale
        print(f"  streaming limit: {moved / 1e6:.1f} MB per batch, {floor:.1f} s per epoch at the copy rate; "
              f"that is {floor / epoch_s:.0%} of the epoch; peak RSS {_peak_rss_mb():.0f} MB")
        if args.baseline_images:
            ref, ours = _baseline(config, data, args.baseline_images), row["epoch_seconds"] * scale
            print(f"  straightforward implementation: {ref:.0f} s per 60,000-image epoch (from "
                  f"{args.baseline_images:,} images, float64); resim {ref / ours:.1f}x faster")


def _streaming_floor(layers: list[int], config) -> tuple[float, float]:
    """(bytes a batch must read and write: every conductance once, twice with a momentum;
    seconds per 60,000-image epoch that traffic takes at the copy rate of each layer's matrix)."""
    import numpy as np

    from _common import median_time

    t = config["training"]
    dtype = np.float32 if t["dtype"] == "float32" else np.float64
    passes = 2 if t["momentum"] else 1
    sizes = [2 * layers[0], *layers[1:]]
    moved = seconds = 0.0
    for a, b in zip(sizes, sizes[1:]):
        src = np.asfortranarray(np.random.default_rng(0).random((a, b), dtype=dtype))
        dst = np.empty_like(src)
        seconds += passes * median_time(lambda: np.copyto(dst, src), 5)[0]
        moved += passes * 2 * src.nbytes
    return moved, seconds * 60000 / t["batch_size"]


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
