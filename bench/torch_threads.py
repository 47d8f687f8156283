"""How the torch engine should use the second core (issue 24): torch's own intra-op threads,
or numpy's way, two fixed column halves of each product, the second on a worker thread
with torch at one thread each.

    python bench/torch_threads.py            # the relaxation's products of DRN-2H/3H, about 1 minute

For each product of the relaxation ([B, 1024] x [1024, 1024] at B = 4, 32 and 64, the
stacked nudged phases of centred EP being 64 rows), in float32 and bfloat16: GFLOP/s with
one thread, with two intra-op threads, and as two halves on two threads; the median of
--repeats timings of --calls products each.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, median_time  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import torch

    print(machine())
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    pool = ThreadPoolExecutor(1)
    w32 = torch.rand(1024, 1024)
    print(f"{'rows':>4} {'dtype':9} {'1 thread':>9} {'2 intra-op':>11} {'2 halves':>9}  GFLOP/s")
    for dtype in (torch.float32, torch.bfloat16):
        w = w32.to(dtype)
        halves = (w[:, :512], w[:, 512:])
        for rows in (4, 32, 64):
            a = torch.rand(rows, 1024).to(dtype)
            flop = 2 * rows * 1024 * 1024 * args.calls

            def plain():
                for _ in range(args.calls):
                    a @ w

            def split():
                for _ in range(args.calls):
                    other = pool.submit(torch.matmul, a, halves[1])
                    torch.matmul(a, halves[0])
                    other.result()

            rates = []
            for threads, fn in ((1, plain), (2, plain), (1, split)):
                torch.set_num_threads(threads)
                fn()  # warm-up
                rates.append(flop / median_time(fn, args.repeats)[0] / 1e9)
            print(f"{rows:4} {str(dtype).removeprefix('torch.'):9} {rates[0]:9.0f} {rates[1]:11.0f} {rates[2]:9.0f}",
                  flush=True)
    pool.shutdown()


if __name__ == "__main__":
    main()
