"""docs/tutorial.md runs as written (issue 23, item 14).

Its fenced ``sh`` blocks are run in order, each by bash with ``set -eo pipefail``, in a
working copy of the repository's ``examples/`` and ``netlists/`` under tmp_path, with
``resim`` on PATH and HOME and the caches pointed into tmp_path (so nothing is written
elsewhere). Each must exit 0; the key outputs are checked against independent truth: the
limiter's closed form with its diode off, the Shockley law with it on, ngspice's verdict,
and the exported network's prediction against the model's.
"""

from __future__ import annotations

import csv
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "docs" / "tutorial.md"


def sh_blocks(markdown: str) -> list[str]:
    """The bodies of the ```sh fenced blocks, in order (a heredoc's lines included)."""
    return re.findall(r"^```sh\n(.*?)^```\n", markdown, re.S | re.M)


def csv_value(text: str, kind: str, name: str, quantity: str) -> float:
    for row in csv.reader(text.splitlines()):
        if row[:3] == [kind, name, quantity]:
            return float(row[3])
    raise AssertionError(f"no {kind},{name},{quantity} in:\n{text}")


def limiter_out(vin: float) -> float:
    """v(out) of the tutorial's limiter from its laws alone (bisection on KCL at out):
    (vin - v)/1k = v/10k + i_d + gmin v, with i_d the 1N4148 model's current at the
    junction voltage v - i_d RS (IS = 2.52 nA, N = 1.752, RS = 0.568 ohm, 27 C, and
    SPICE's gmin = 1e-12 S across the diode; SPICE's reverse branch below -3 N Vt differs
    from the exponential by under 1e-13 A here)."""
    IS, N, RS = 2.52e-9, 1.752, 0.568
    vt = 1.38064852e-23 * 300.15 / 1.6021766208e-19  # kT/q as ngspice computes it (CODATA 2014 constants)

    def diode(v: float) -> float:  # i with i = IS (exp((v - i RS)/(N vt)) - 1), by bisection on i
        lo, hi = -IS, max(abs(v), 1.0) / RS
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if IS * math.expm1((v - mid * RS) / (N * vt)) > mid else (lo, mid)
        return 0.5 * (lo + hi)

    lo, hi = -abs(vin) - 1, abs(vin) + 1
    for _ in range(200):
        v = 0.5 * (lo + hi)
        lo, hi = (v, hi) if (vin - v) / 1e3 - v / 1e4 - 1e-12 * v - diode(v) > 0 else (lo, v)
    return 0.5 * (lo + hi)


def test_tutorial_has_the_steps():
    blocks = sh_blocks(TUTORIAL.read_text(encoding="utf-8"))
    text = "\n".join(blocks)
    for step in ("cat > out/limiter.cir", "resim solve out/limiter.cir", "resim sweep", "--plot",
                 "resim compare-with-ngspice out/limiter.cir", "resim train", "resim plot", "resim export",
                 "resim solve out/xs0.cir", "resim compare-with-ngspice out/xs0.cir"):
        assert step in text, step
    assert "../" not in text and "~" not in text and "/tmp" not in text  # it writes only under the current folder


def test_tutorial_runs(tmp_path, ngspice):
    work = tmp_path / "repo"
    work.mkdir()
    for folder in ("examples", "netlists"):
        shutil.copytree(REPO / folder, work / folder)
    resim = Path(sys.executable).parent / "resim"
    assert resim.is_file(), f"{resim} missing: install resim into this interpreter's environment"
    env = {**os.environ, "PATH": f"{resim.parent}{os.pathsep}{os.path.dirname(ngspice)}{os.pathsep}{os.environ['PATH']}",
           "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "MPLCONFIGDIR": str(tmp_path / "mpl"), "COLUMNS": "120"}
    outputs = {}
    for block in sh_blocks(TUTORIAL.read_text(encoding="utf-8")):
        run = subprocess.run(["bash", "-c", "set -eo pipefail\n" + block], cwd=work, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, f"this block failed (exit {run.returncode}):\n{block}\n{run.stdout}\n{run.stderr}"
        outputs[block] = run.stdout

    def out(command: str) -> str:
        found = [o for b, o in outputs.items() if command in b]
        assert len(found) == 1, command
        return found[0]

    assert "certificate:" in out("resim solve out/limiter.cir\n")
    # diode off: the divider 10k / (1k + 10k), less the diode's leakage (IS = 2.52 nA through ~0.9k)
    off = csv_value(out("--set vin=-2"), "node", "out", "voltage_V")
    assert off == pytest.approx(-20 / 11, abs=5e-6)
    assert off == pytest.approx(limiter_out(-2.0), abs=1e-9)
    # the sweep: 201 points from -2 V to 2 V, each v(out) the limiter's law
    rows = list(csv.reader((work / "out" / "limiter.csv").read_text().splitlines()))
    assert rows[0] == ["v1", "v(out)"] and len(rows) == 202
    for vin, vout in (rows[1], rows[51], rows[126], rows[-1]):
        assert float(vout) == pytest.approx(limiter_out(float(vin)), abs=1e-9), vin
    assert float(rows[-1][1]) == pytest.approx(0.598, abs=1e-3)  # the 0.6 V the tutorial's text states
    assert (work / "out" / "limiter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "verdict            : agree" in out("resim compare-with-ngspice out/limiter.cir")
    # training: two epochs in metrics.csv, and better than chance (90 % wrong) on the test images
    metrics = list(csv.DictReader((work / "out" / "xs" / "metrics.csv").read_text().splitlines()))
    assert [int(m["epoch"]) for m in metrics] == [1, 2]
    assert float(metrics[-1]["test_error"]) < 0.5
    assert (work / "out" / "xs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the exported circuit, solved, predicts what the model predicts
    title = out("head -1 out/xs0.cir")
    label, predicted = map(int, re.search(r"label (\d+), model predicts (\d+)", title).groups())
    volts = {int(m[1]): float(m[2]) for m in re.finditer(r"^node,o(\d+),voltage_V,(\S+)$", out("grep '^node,o'"), re.M)}
    assert sorted(volts) == list(range(10))
    assert max(volts, key=volts.get) == predicted
    assert "verdict            : agree" in out("resim compare-with-ngspice out/xs0.cir")
    written = {p.relative_to(work).parts[0] for p in work.iterdir()}
    assert written == {"examples", "netlists", "out"}, written
