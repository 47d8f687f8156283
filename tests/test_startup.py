"""What a small ``resim solve`` process imports (issue 23, item 20).

Start-up time is measured by ``bench/startup.py`` (docs/benchmarks.md), never asserted
here. What can be checked exactly is which modules the process loads: each module below
cost a 10-element solve measurable time when it crept in (numpy.ma 40 ms, through
``np.union1d``; scipy 450 ms), and none of them is needed to solve and print a small
circuit.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


#: modules a small solve must not load, and why each is kept out
NOT_NEEDED = {
    "numpy.ma": "np.unique/union1d without indices import it (40 ms)",
    "scipy": "small circuits use dense MNA (scipy's import is ~0.45 s)",
    "resim.ngspice": "only compare-with-ngspice needs it",
    "resim.drn": "the trainer",
    "matplotlib": "only plots",
}

SCRIPT = """
import json, sys
from resim.cli import run_args
code = run_args(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_small_solve_loads_only_what_it_needs(tmp_path, netlists_dir, fmt):
    net = netlists_dir / "ladder10.cir"  # bench/startup.py's circuit
    run = subprocess.run([sys.executable, "-c", SCRIPT, "solve", str(net), "--format", fmt],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    report = json.loads(run.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, run.stderr
    assert "out" in run.stdout
    loaded = set(report["modules"])
    unwanted = {m: why for m, why in NOT_NEEDED.items() if m in loaded}
    assert not unwanted, f"a 10-element solve imported {unwanted}"
