"""Run a benchmark script of this tree and of another checkout, interleaved, in one run.

    python bench/before_after.py --before /tmp/pre13 --repeats 3 --grep 'lines/s' -- parse_rate.py --lines 200000

For a refactor that must not change speed (issue 13): the other checkout (e.g. ``git
worktree add /tmp/pre13 <commit>``) needs its own virtual environment with resim installed
from it in editable mode (``python -m venv /tmp/pre13/.venv && /tmp/pre13/.venv/bin/pip
install -e /tmp/pre13``), since an editable install always imports its own tree. Each
round runs the script of the other checkout under its interpreter, then this tree's under
this interpreter, so both see the same machine state. The lines matching ``--grep`` (a
regular expression; default: every line) are printed per round, labelled.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys


def run(python: str, tree: str, script: str, args: list[str]) -> str:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    out = subprocess.run([python, os.path.join(tree, "bench", script), *args], cwd=tree, env=env,
                         capture_output=True, text=True, check=True)
    return out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="the other checkout (with .venv/bin/python)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--grep", default="", help="print only the output lines matching this regex")
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = {"before": (os.path.join(a.before, ".venv", "bin", "python"), a.before), "after": (sys.executable, here)}
    pattern = re.compile(a.grep)
    for k in range(1, a.repeats + 1):
        for label, (python, tree) in trees.items():
            for line in run(python, tree, a.script, a.args).splitlines():
                if pattern.search(line):
                    print(f"round {k} {label:6s} | {line}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
