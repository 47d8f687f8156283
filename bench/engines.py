"""Seconds per 60,000-image training epoch on each engine: numpy float32, torch float32 and
torch with bfloat16 products (issue 24), for the paper's DRNs, in one run.

    python bench/engines.py                                   # everything below (about 20 minutes)
    python bench/engines.py --models 2h 3h --settings follow-up --algorithms ep tbp
    python bench/engines.py --models 1h --engines numpy torch-bf16 --images 6000 --repeats 5

Settings: ``paper``, the ICML 2024 paper's (examples/drn_<model>_fashion.toml: batch 4,
centred EP, odd-even sweeps), and ``follow-up``, the follow-up's (examples/fashion_drn_
<model>_ep.toml and _tbp.toml: batch 32, momentum, forward-backward sweeps; XS and XL have
no follow-up configuration, so their paper configuration is run at batch 32). Each row
trains one epoch of --images Fashion-MNIST images with ``resim.drn.train.train`` (the
test error on 500 images is not timed) and scales its time to 60,000 images; a row's figure
is the median of --repeats such epochs, each engine's in turn, so that a change in the
machine's load falls on all of them. Each engine uses both cores: numpy through its two
column halves, torch through its intra-op threads (``--threads``). The ratios are against
numpy float32 in the same run. XL at batch 4 takes minutes per engine: its rows use
--xl-images.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _common import ENGINES, MODELS, engine_config, machine  # noqa: E402

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--settings", nargs="+", choices=["paper", "follow-up"], default=["paper", "follow-up"])
    ap.add_argument("--algorithms", nargs="+", choices=["ep", "tbp"], default=["ep"],
                    help="tbp: truncated BP (follow-up setting, 1H-3H only)")
    ap.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    ap.add_argument("--images", type=int, default=6000, help="training images per timed epoch")
    ap.add_argument("--xl-images", type=int, default=2000, help="the same for DRN-XL")
    ap.add_argument("--repeats", type=int, default=3, help="epochs per engine and row (the median is reported)")
    ap.add_argument("--threads", type=int, default=None, help="cores (default: 2 where there are two)")
    ap.add_argument("--device", default="cpu", help="torch's device (cpu, cuda, cuda:N)")
    ap.add_argument("--data-dir")
    args = ap.parse_args()

    from resim.drn import data as data_mod
    from resim.drn.train import train

    print(machine())
    _torch_facts()
    full = data_mod.load("fashion-mnist", args.data_dir, max(args.images, args.xl_images), 500)
    print(f"{'model':6} {'setting':9} {'rule':4} {'engine':10} {'s/epoch':>8} {'vs numpy':>8}  split  (samples)")
    for setting in args.settings:
        for model in args.models:
            for algorithm in args.algorithms:
                if algorithm == "tbp" and (setting == "paper" or model in ("xs", "xl")):
                    continue
                n = args.xl_images if model == "xl" else args.images
                data = dataclasses.replace(full, train_x=full.train_x[:n], train_y=full.train_y[:n])
                samples: dict[str, list[float]] = {e: [] for e in args.engines}
                splits: dict[str, dict] = {}
                for _ in range(args.repeats):
                    for engine in args.engines:
                        config = engine_config(model, setting, algorithm, engine, args.device)
                        timings: dict[str, float] = {}
                        with tempfile.TemporaryDirectory() as out:
                            _, rows = train(config, data, out, timings=timings, threads=args.threads)
                        samples[engine].append(rows[0]["epoch_seconds"] * 60000 / n)
                        splits[engine] = timings
                base = statistics.median(samples["numpy"]) if "numpy" in samples else None
                for engine in args.engines:
                    s = statistics.median(samples[engine])
                    loop = sum(splits[engine].get(k, 0.0) for k in ("data", "relax", "update")) or 1.0
                    split = "/".join(f"{splits[engine].get(k, 0.0) / loop * 100:.0f}" for k in ("relax", "update"))
                    ratio = f"{base / s:7.2f}x" if base else "        "
                    print(f"{model.upper():6} {setting:9} {algorithm:4} {engine:10} {s:8.1f} {ratio}  "
                          f"relax/update {split}%  ({', '.join(f'{x:.1f}' for x in samples[engine])})", flush=True)


def _torch_facts() -> None:
    try:
        import torch
    except ImportError:
        print("torch: not installed (pip install 'resim[torch]'); only numpy rows can run")
        return
    cpu = torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "?"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU"
    print(f"torch {torch.__version__}, CPU capability {cpu}, {gpu}")


if __name__ == "__main__":
    main()
