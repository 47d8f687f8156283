"""The table of docs/hardware.md ("Measured") from the `resim evaluate --hardware` reports:

    python bench/hardware_table.py docs/runs/hardware/*-on-*.json

Each report is named ``<training>-on-<profile>.json``. A row per profile; a column per
training: the test error as that hardware, mean ± std over the draws, with the network's
own ideal error in brackets. Then, per profile that has both, the share of the
ideal-trained network's loss that hardware-aware training recovers.
"""

from __future__ import annotations

import json
import os
import sys


def main(paths: list[str]) -> None:
    cells: dict[tuple[str, str], dict] = {}
    for path in paths:
        training, _, profile = os.path.basename(path).removesuffix(".json").partition("-on-")
        with open(path) as fh:
            cells[training, profile] = json.load(fh)
    trainings = sorted({t for t, _ in cells}, key=lambda t: (t != "ideal", t))
    profiles = sorted({p for _, p in cells})
    print("| profile | " + " | ".join(f"{t} training" for t in trainings) + " | images, draws |")
    print("|---" * (len(trainings) + 2) + "|")
    for p in profiles:
        row, sizes = [], set()
        for t in trainings:
            r = cells.get((t, p))
            if r is None:
                row.append("")
                continue
            hw = r["hardware"]
            row.append(f"{100 * hw['test_error_mean']:.2f} ± {100 * hw['test_error_std']:.2f} % "
                       f"(ideal {100 * r['test_error']:.2f} %)")
            sizes.add(f"{r['test_images']:,}, {hw['draws']}")
        print(f"| {p} | " + " | ".join(row) + f" | {'; '.join(sorted(sizes))} |")
    print()
    for p in profiles:
        ideal = cells.get(("ideal", p))
        for t in trainings:
            aware = cells.get((t, p))
            if t == "ideal" or ideal is None or aware is None or not t.startswith(p):
                continue
            base = ideal["test_error"]
            lost = ideal["hardware"]["test_error_mean"] - base
            back = ideal["hardware"]["test_error_mean"] - aware["hardware"]["test_error_mean"]
            print(f"* {p}: ideal training loses {100 * lost:.1f} points as this hardware; {t} training "
                  f"recovers {100 * back:.1f} of them ({back / lost:.0%}).")


if __name__ == "__main__":
    main(sys.argv[1:])
