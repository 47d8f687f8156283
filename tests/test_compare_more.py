"""``resim compare-with-ngspice`` against the real ngspice, beyond the plain cases of
``tests/test_compare.py``: names ngspice cannot spell (non-ASCII), element currents in the
verdict, and an ngspice that does not finish (``--timeout``: exit 8, nothing left running).

Truth is ngspice's own answer, and for the current tolerance the rule written out in
docs/ngspice.md (a difference is judged against the larger of the current and the circuit's
largest source current).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import resim
from resim.cli import run_args
from resim.compare import _compare, compare_with_ngspice
from resim.ngspice import run_op
from resim.translate import to_ngspice

NON_ASCII = """Grüße: non-ASCII names everywhere (ngspice would read ä and ö both as __)
Vä ä 0 5
R1 ä ö 1k
R2 ö 0 2k
Rß ö ñ 3k
Iµ 0 ñ 1m
Gü ü 0 ö 0 1m
Rü ü 0 1k
Dé ñ 0 dé
.model dé D(IS=1e-14 N=1)
.dc Vä 0 5 1
.end
"""


def resim_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RESIM_DEBUG"}
    return subprocess.run([sys.executable, "-m", "resim.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_non_ascii_names_are_compared_through_ascii_aliases(ngspice, tmp_path):
    path = tmp_path / "umlaut.cir"
    path.write_text(NON_ASCII, encoding="utf-8")
    circuit = resim.load_netlist(path)
    cmp = compare_with_ngspice(path, ngspice=ngspice, tol=1e-8)
    assert cmp.ok, cmp.verdict()
    assert not cmp.missing and not cmp.missing_currents
    assert sorted(r.name for r in cmp.rows) == sorted(circuit.nodes[1:]) == sorted(["ä", "ö", "ü", "ñ"])
    assert cmp.currents_compared == sum(len(circuit[k]) for k in "rvigd")  # every element, I and G included
    assert cmp.dc_points == 6 and cmp.dc_max_dv <= 1e-8  # the .dc of Vä, run by ngspice under its alias
    assert to_ngspice(circuit, resim.solve(circuit)).text.split("\n", 1)[1].isascii()


@pytest.fixture
def two_scales(ngspice, tmp_path):
    """1 A through R1, 0.5 uA through R2 and R3: a resim answer and ngspice's."""
    path = tmp_path / "scales.cir"
    path.write_text("two scales\nV1 in 0 1\nR1 in 0 1\nR2 in a 1meg\nR3 a 0 1meg\n.end\n")
    circuit = resim.load_netlist(path)
    result = resim.solve(circuit)
    tr = to_ngspice(circuit, result)
    ng = run_op(tr.text.replace(".end\n", ".options savecurrents\n.end\n"), ngspice=ngspice)
    return circuit, result, tr, ng


@pytest.mark.parametrize("shift, agree", [(0.9e-6, True), (1.1e-6, False)])
def test_a_small_current_is_judged_at_the_circuits_current_scale(two_scales, shift, agree):
    """tol-i 1e-6 of the largest source current (1 A): R2's 0.5 uA may be 0.9 uA off, not 1.1 uA."""
    circuit, result, tr, ng = two_scales
    moved = replace(ng, currents={**ng.currents, "@r2[i]": ng.currents["@r2[i]"] + shift})
    cmp = _compare("scales", circuit, result, tr, moved, 1e-6, 0.1, None, "states", [], 1e-6)
    assert cmp.max_dv <= 1e-12 and cmp.currents_compared == 4  # the voltages agree; R1..R3 and V1
    assert cmp.ok is agree
    if not agree:
        assert cmp.current_violations[0].startswith("r2: ") and "current(s) differ" in cmp.verdict()


@pytest.mark.parametrize("change, message", [
    (("R2 in 0 1k", "R2 in 0 2k"), "current(s) differ by more than tol-i"),  # same voltages, V1's current not
    (("V1 ", "V9 "), "current(s) missing from ngspice's output: v1"),
])
def test_currents_count_in_the_verdict(ngspice, tmp_path, change, message):
    ours = tmp_path / "ours.cir"
    ours.write_text("parallel loads\nV1 in 0 5\nR1 in 0 1k\nR2 in 0 1k\n.op\n.end\n")
    theirs = tmp_path / "theirs.cir"
    theirs.write_text(ours.read_text().replace(*change))
    proc = resim_cli("compare-with-ngspice", str(ours), "--against", str(theirs), "--ngspice", ngspice)
    assert proc.returncode == 9, proc.stdout + proc.stderr
    assert "largest |dv| 0 V" in proc.stdout and message in proc.stderr


def test_an_against_netlist_that_is_not_utf_8_reaches_ngspice_byte_for_byte(ngspice, tmp_path):
    ours = tmp_path / "ours.cir"
    ours.write_text("divider\nV1 in 0 5\nR1 in out 1k\nR2 out 0 1k\n.op\n.end\n")
    theirs = tmp_path / "latin1.cir"
    theirs.write_bytes(ours.read_bytes().replace(b"divider", b"diviseur (caf\xe9, Latin-1)"))
    keep = tmp_path / "kept"
    proc = resim_cli("compare-with-ngspice", str(ours), "--against", str(theirs), "--ngspice", ngspice,
                     "--keep", str(keep))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (keep / "circuit.cir").read_bytes().startswith(b"diviseur (caf\xe9, Latin-1)\n")


@pytest.mark.parametrize("option, value", [("--timeout", "inf"), ("--timeout", "nan"), ("--timeout", "0"),
                                           ("--tol-i", "nan"), ("--tol", "nan")])
def test_tolerances_and_timeout_must_be_positive_numbers(capsys, netlists_dir, option, value):
    """NaN would make every comparison agree (or every one differ); inf would overflow the clock."""
    code = run_args(["compare-with-ngspice", str(netlists_dir / "divider.cir"), option, value])
    err = capsys.readouterr().err
    assert code == 2 and f"Invalid value for '{option}': {value}" in err and "is not a number > 0" in err


def test_an_ngspice_past_its_timeout_is_exit_8_and_leaves_nothing_running(ngspice, tmp_path):
    """ngspice runs a shell command that would sleep 300 s (holding ngspice's output open):
    --timeout 1 stops ngspice and the command with it."""
    pid_file = tmp_path / "sleeper.pid"
    sleeper = tmp_path / "sleeper.sh"
    sleeper.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 300\n")
    sleeper.chmod(0o755)
    ours = tmp_path / "divider.cir"
    ours.write_text("divider\nV1 in 0 1\nR1 in out 1k\nR2 out 0 1k\n.op\n.end\n")
    theirs = tmp_path / "slow.cir"
    theirs.write_text(ours.read_text().replace(".op\n", f".control\nshell {sleeper}\n.endc\n.op\n"))
    try:
        proc = resim_cli("compare-with-ngspice", str(ours), "--against", str(theirs), "--ngspice", ngspice,
                         "--timeout", "1")
        assert proc.returncode == 8, proc.stdout + proc.stderr
        assert "ngspice ran past the time limit of 1 s (--timeout)" in proc.stderr
        assert "Traceback" not in proc.stderr
        pid = int(pid_file.read_text())  # the shell command did start
        assert not running(pid)
    finally:  # had it survived: end it here, not leave it to the next test run
        if pid_file.exists() and running(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def running(pid: int) -> bool:
    """Whether our ``sleep`` ``pid`` runs (a zombie, killed but not yet reaped by init, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and command.startswith(b"sleep")
