"""The test error of a trained DRN as hardware, against the levels' bits and against the
devices' variation (issue 27; docs/hardware.md):

    python bench/hardware_sweep.py runs/fashion_drn_1h_ep --profile examples/hardware/memristor.toml \
        --bits 2 3 4 5 6 8 --variations 0 0.05 0.1 0.2 0.3 --limit 1000 --draws 3 \
        --csv docs/runs/hardware/drn-1h-ep-ideal.csv --figure docs/hardware_sweep.png

Each point is ``resim evaluate --hardware`` of one profile: the base profile's scales,
window and diode, with

* ``bits = B`` and no variation or noise (the levels alone), or
* ``variation = s``, no levels and no noise (the variation alone).

The rows (kind, value, mean, std, draws, images, seconds) go to ``--csv``; ``--figure`` draws
every CSV given with ``--also`` beside it (a hardware-aware run's, say), one line each.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine  # noqa: E402

import numpy as np  # noqa: E402

from resim.atomic import write_bytes, write_text  # noqa: E402
from resim.drn import data as data_mod  # noqa: E402
from resim.drn.config import parse_toml  # noqa: E402
from resim.drn.network import DRN  # noqa: E402
from resim.drn.runs import model_file  # noqa: E402
from resim.drn.train import load_model  # noqa: E402
from resim.hardware.evaluate import evaluate_hardware  # noqa: E402
from resim.hardware.profile import load_profile  # noqa: E402

FIELDS = ["kind", "value", "mean", "std", "draws", "images", "seconds"]


def points(base, bits: list[int], variations: list[float]):
    for b in bits:
        yield "bits", b, dataclasses.replace(base, bits=b, variation=0.0, programming_noise=0.0)
    for s in variations:
        yield "variation", s, dataclasses.replace(base, bits=0, series="", variation=s, programming_noise=0.0)


def draw(csvs: list[str], path: str) -> None:
    from resim import figure

    plt = figure.pyplot("--figure")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for name in csvs:
        with open(name, newline="") as fh:
            rows = list(csv.DictReader(fh))
        label = os.path.splitext(os.path.basename(name))[0]
        for ax, kind in zip(axes, ("bits", "variation")):
            pts = [(float(r["value"]), 100 * float(r["mean"]), 100 * float(r["std"])) for r in rows if r["kind"] == kind]
            if pts:
                x, m, s = map(np.array, zip(*pts))
                ax.errorbar(x, m, yerr=s, marker="o", capsize=3, label=label)
    axes[0].set_xlabel("bits of the conductance levels")
    axes[1].set_xlabel("device variation (log-normal sigma)")
    axes[0].set_ylabel("test error (%)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    write_bytes(path, figure.save(fig, figure.format_of(path)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a run folder or model.npz (a drn)")
    ap.add_argument("--profile", required=True, help="the base hardware profile")
    ap.add_argument("--bits", type=int, nargs="*", default=[2, 3, 4, 5, 6, 8])
    ap.add_argument("--variations", type=float, nargs="*", default=[0.0, 0.05, 0.1, 0.2, 0.3])
    ap.add_argument("--limit", type=int, default=1000, help="the first N test images")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--figure", help="a .png/.svg/.pdf of this CSV and those of --also")
    ap.add_argument("--also", nargs="*", default=[], help="more CSVs for the figure")
    a = ap.parse_args()
    print(machine())
    path, _ = model_file(a.model, "hardware_sweep")
    net, config = load_model(path)
    net = DRN([np.asarray(w) for w in net.W], [np.asarray(b) for b in net.b], net.gain)
    trained = parse_toml(config).get("data", {}) if config else {}  # the model's own test set
    data = data_mod.load(trained.get("dataset", "fashion-mnist"), trained.get("data_dir") or None, 1, a.limit)
    x, y = data.test_x[:a.limit], data.test_y[:a.limit]
    base = load_profile(a.profile)
    rows = []
    for kind, value, profile in points(base, a.bits, a.variations):
        t0 = time.perf_counter()
        ev = evaluate_hardware(net, profile, x, y, draws=a.draws if profile.variation else 1)
        rows.append({"kind": kind, "value": value, "mean": ev.mean, "std": ev.std, "draws": len(ev.draws),
                     "images": len(x), "seconds": round(time.perf_counter() - t0, 1)})
        print(f"{kind} {value}: {100 * ev.mean:.2f} ± {100 * ev.std:.2f} % ({len(ev.draws)} draws, "
              f"{rows[-1]['seconds']} s)", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.csv)), exist_ok=True)
    text = io.StringIO()
    w = csv.DictWriter(text, FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text(a.csv, text.getvalue())  # whole or not at all
    if a.figure:
        draw([a.csv, *a.also], a.figure)


if __name__ == "__main__":
    main()
