"""The status line of a long `resim solve` (resim/cli.py, _Status): on a terminal it says
what the solve is doing and for how long; anywhere else it says nothing."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

NETLIST = (Path(__file__).resolve().parents[1] / "netlists" / "divider.cir").read_bytes()


def _solve_waiting_for_stdin(tmp_path, stderr) -> subprocess.Popen:
    """`resim solve -` whose netlist arrives on stdin after 1.5 s (a read that takes a while),
    its status line shown at once (RESIM_STATUS_AFTER=0)."""
    env = {**os.environ, "RESIM_STATUS_AFTER": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "resim", "solve", "-", "--format", "json", "-o",
                             str(tmp_path / "op.json")], stdin=subprocess.PIPE, stderr=stderr, env=env)
    try:
        time.sleep(1.5)
        proc.stdin.write(NETLIST)
        proc.stdin.close()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc


def test_on_a_terminal_a_long_solve_says_what_it_is_doing(tmp_path):
    master, slave = pty.openpty()
    try:
        proc = _solve_waiting_for_stdin(tmp_path, slave)
    finally:
        os.close(slave)
    shown = b""
    try:
        while chunk := os.read(master, 4096):
            shown += chunk
    except OSError:  # the terminal's other end is closed: all is read
        pass
    finally:
        os.close(master)
    assert proc.returncode == 0 and (tmp_path / "op.json").exists()
    assert b"reading the netlist from stdin ... 1 s" in shown
    assert b"\x1b[?25h" in shown and shown.endswith(b"\x1b[2K")  # transient: the cursor given back, erased


def test_elsewhere_it_says_nothing(tmp_path):
    proc = _solve_waiting_for_stdin(tmp_path, subprocess.PIPE)
    assert proc.returncode == 0 and proc.stderr.read() == b""
