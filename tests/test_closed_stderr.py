"""An error message that cannot be written, because stderr's reader has gone
(``resim solve --bogus 2>&1 | true``), does not change the exit code (issue 23, item 11a):
it stays the code of the error (2 for a usage error), not 1."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def run_into_closed_pipe(exe: str, args: list[str], both: bool, cwd: Path) -> int:
    """Exit code of ``resim args`` with stderr (and stdout too when ``both``, as ``2>&1 |``
    does) a pipe whose read end is closed: every write there fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if k not in ("RESIM_DEBUG", "RESIM_SERVER", "PYTHONUNBUFFERED")}
    try:
        done = subprocess.run([exe, *args], stdin=subprocess.DEVNULL, stderr=write_end,
                              stdout=write_end if both else subprocess.DEVNULL, env=env, cwd=cwd, timeout=120)
    finally:
        os.close(write_end)
    return done.returncode


@pytest.mark.parametrize("both", [True, False], ids=["2>&1 | true", "2>closed pipe"])
@pytest.mark.parametrize("args, code", [
    (["solve", "--bogus"], 2),  # click's usage error
    (["solve", "divider.cir", "--set", "R1"], 2),  # resim's own usage error (--set NAME=VALUE)
    (["solve", "missing.cir"], 3),  # a netlist error
    (["solve", "drn_tiny.cir", "--method", "cd", "--sweeps", "1"], 6),  # not converged in 1 sweep
])
def test_an_unwritable_error_message_keeps_its_exit_code(resim_exe, netlists_dir, args, code, both):
    assert run_into_closed_pipe(resim_exe, args, both, cwd=netlists_dir) == code


def test_a_warning_that_cannot_be_written_does_not_stop_the_command(resim_exe, tmp_path):
    """A warning into a closed stderr stopped the command (click's EPIPE exit: 1) before it
    wrote its output; it is lost, and the command goes on: exit 0, the file written."""
    (tmp_path / "w.cir").write_text("misspelled node\nV1 a 0 1\nR1 a b 1k\nR2 b 0 1k\nR3 b mdi 1k\n")
    for both in (False, True):
        out = tmp_path / f"out{both}.csv"
        assert run_into_closed_pipe(resim_exe, ["solve", "w.cir", "--format", "csv", "-o", str(out)], both,
                                    cwd=tmp_path) == 0
        assert "node,b,voltage_V,0.5\n" in out.read_text()  # 1 V over 1k and 1k (R3 leads nowhere)
    out = tmp_path / "sweep.csv"
    assert run_into_closed_pipe(resim_exe, ["sweep", "w.cir", "--dc", "V1", "0", "2", "2", "-o", str(out)], False,
                                cwd=tmp_path) == 0
    rows = [[float(x) for x in line.split(",")] for line in out.read_text().splitlines()[1:]]
    assert rows == [[0.0, 0.0, 0.0, 0.0], [2.0, 2.0, pytest.approx(1.0, abs=1e-12), pytest.approx(1.0, abs=1e-12)]]


@pytest.mark.parametrize("args", [["--help"], ["solve", "--help"], ["--version"]])
def test_help_into_a_closed_stdout_is_success(resim_exe, tmp_path, args):
    """docs/exit-codes.md: stdout closed before all the output is written is exit 0 (click's
    own EPIPE handling made it 1, the code of a bug)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if k not in ("RESIM_DEBUG", "RESIM_SERVER")}
    try:
        done = subprocess.run([resim_exe, *args], stdin=subprocess.DEVNULL, stdout=write_end,
                              stderr=subprocess.PIPE, env=env, cwd=tmp_path, timeout=120)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, b"")

