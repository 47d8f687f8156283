"""Batch size against time and accuracy on Fashion-MNIST (issue 7).

    python bench/batch_tradeoff.py xs --batches 4 16 64 --epochs 1

One epoch (or --epochs) per setting, from the same seed: the plain learning rates of
docs/theory.md §6 (the gradient is a batch mean, so a bigger batch makes fewer, averaged steps),
and the same rates scaled by batch/4 (the linear-scaling rule). Prints seconds per epoch,
images per second and the test error on the 10,000 test images.
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
    ap.add_argument("model", choices=MODELS)
    ap.add_argument("--batches", type=int, nargs="+", default=[4, 16, 64])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float32")
    args = ap.parse_args()
    from resim.drn import data as data_mod
    from resim.drn.train import train

    print(machine())
    data = data_mod.load("fashion-mnist")
    lrs = paper_config(args.model)["training"]["learning_rates"]
    print(f"DRN-{args.model.upper()}, {args.epochs} epoch(s), {args.dtype}")
    print(f"{'batch':>5} {'rates':>8} {'s/epoch':>8} {'images/s':>9} {'test error':>10}")
    for bs in args.batches:
        for scaled in (False, True) if bs != 4 else (False,):
            rates = [r * bs / 4 for r in lrs] if scaled else lrs
            config = paper_config(args.model, learning_rates=rates, batch_size=bs, epochs=args.epochs,
                                  dtype=args.dtype)
            with tempfile.TemporaryDirectory() as out:
                _, rows = train(config, data, out)
            secs = sum(r["epoch_seconds"] for r in rows) / len(rows)
            print(f"{bs:>5} {'x' + str(bs // 4) if scaled else 'plain':>8} {secs:>8.1f} "
                  f"{rows[-1]['samples_per_second']:>9.0f} {rows[-1]['test_error']:>10.2%}")


if __name__ == "__main__":
    main()
