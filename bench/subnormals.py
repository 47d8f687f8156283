"""Whether subnormal momenta slow the torch engine's update (issue 24): they do not on this
project's CPU (2 %), so the engine does not flush them to zero.

    python bench/subnormals.py

The momenta of conductances that stop moving decay by mu = 0.9 per batch, into float32's
subnormal range (below 1.2e-38) after about 800 batches. This times the torch engine's
update of one 1024 x 1024 layer (M = mu M + alpha P^T Q with P, Q of 66 rows, then
W -= lr M), one thread, with normal momenta, with subnormal ones, and with subnormal ones
flushed (``torch.set_flush_denormal``); median of 7 x 20 updates.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, median_time  # noqa: E402


def main() -> None:
    import torch

    print(machine())
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    W, P = torch.rand(1024, 1024, generator=gen), torch.rand(66, 1024, generator=gen)
    Q = torch.zeros(66, 1024)  # a layer whose conductances stopped moving: no gradient
    M = torch.empty(1024, 1024)

    def updates(start: float):
        def run():
            for _ in range(20):
                M.fill_(start)
                M.addmm_(P.T, Q, beta=0.9, alpha=1.0)
                W.sub_(0.01 * M)
        return run

    rows = []
    for label, start, flush in (("normal momenta", 1e-3, False), ("subnormal momenta", 1e-40, False),
                                ("subnormal, flushed", 1e-40, True)):
        torch.set_flush_denormal(flush)
        rows.append((label, median_time(updates(start), 7)[0] / 20 * 1e3))
    torch.set_flush_denormal(False)
    for label, ms in rows:
        print(f"{label:20} {ms:6.2f} ms per update ({ms / rows[0][1]:.2f}x)")


if __name__ == "__main__":
    main()
