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
