"""The torch engine on a CUDA GPU: seconds per 60,000-image epoch of DRN-XL (the ICML 2024
paper's setting; the paper's A100 took 378 s) and of DRN-3H (the follow-up's setting,
batch 32), in float32 and with bfloat16 products (issue 24). Prepared to fit a few minutes
of GPU time:

    python bench/gpu.py                       # both models, both precisions: about 3 minutes
    python bench/gpu.py --images 12000 --device cuda:1

Each row trains one epoch of --images Fashion-MNIST images (after a short warm-up epoch
that is not timed: CUDA's start-up and kernel selection) and scales its time to 60,000.
Without a CUDA GPU it says so and exits 0 having measured nothing (docs/benchmarks.md
records where no GPU was available). The targets: DRN-XL <= 30 s, DRN-3H <= 5 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import engine_config, machine  # noqa: E402

ROWS = (("xl", "paper", "ep"), ("3h", "follow-up", "ep"), ("3h", "follow-up", "tbp"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=6000, help="training images per timed epoch")
    ap.add_argument("--warmup-images", type=int, default=400)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--data-dir")
    args = ap.parse_args()
    print(machine())
    try:
        import torch
    except ImportError:
        print("torch is not installed: pip install 'resim[torch]' (a CUDA build); nothing measured")
        return
    if not torch.cuda.is_available():
        print(f"no CUDA GPU here (torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} "
              "CUDA): nothing measured")
        return
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(args.device)}")

    from resim.drn import data as data_mod
    from resim.drn.train import train

    full = data_mod.load("fashion-mnist", args.data_dir, args.images, 1000)
    for model, setting, algorithm in ROWS:
        for engine in ("torch-f32", "torch-bf16"):
            config = engine_config(model, setting, algorithm, engine, args.device)
            for n, timed in ((args.warmup_images, False), (args.images, True)):
                data = dataclasses.replace(full, train_x=full.train_x[:n], train_y=full.train_y[:n])
                timings: dict[str, float] = {}
                t0 = time.perf_counter()
                with tempfile.TemporaryDirectory() as out:
                    _, rows = train(config, data, out, timings=timings)
                if timed:
                    epoch = rows[0]["epoch_seconds"] * 60000 / n
                    print(f"DRN-{model.upper()} {setting} {algorithm} {engine}: {epoch:6.1f} s per 60,000-image "
                          f"epoch (from {n:,} images; relax {timings.get('relax', 0):.1f} s, update "
                          f"{timings.get('update', 0):.1f} s; test error {rows[0]['test_error']:.2%} on 1,000; "
                          f"{time.perf_counter() - t0:.0f} s in all)", flush=True)


if __name__ == "__main__":
    main()
