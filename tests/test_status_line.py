"""The status line of a long `resim solve` (resim/status.py): on a terminal it says
what the solve is doing and for how long; anywhere else it says nothing."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

NETLIST = (Path(__file__).resolve().parents[1] / "netlists" / "divider.cir").read_bytes()


def _solve_waiting_for_stdin(tmp_path, stderr, stdout=None) -> subprocess.Popen:
    """`resim solve -` whose netlist arrives on stdin after 1.5 s (a read that takes a while),
    its status line shown at once (RESIM_STATUS_AFTER=0); the JSON to op.json, or, given
    ``stdout``, CSV there."""
    env = {**os.environ, "RESIM_STATUS_AFTER": "0"}
    output = ["--format", "json", "-o", str(tmp_path / "op.json")] if stdout is None else ["--format", "csv"]
    proc = subprocess.Popen([sys.executable, "-m", "resim", "solve", "-", *output], stdin=subprocess.PIPE,
                            stderr=stderr, stdout=stdout, env=env)
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


def _on_a_terminal(tmp_path, stdout=None) -> tuple[subprocess.Popen, bytes]:
    """:func:`_solve_waiting_for_stdin` with stderr a terminal (a pty), and what it showed there."""
    master, slave = pty.openpty()
    try:
        proc = _solve_waiting_for_stdin(tmp_path, slave, stdout=stdout)
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
    return proc, shown


def test_on_a_terminal_a_long_solve_says_what_it_is_doing(tmp_path):
    proc, shown = _on_a_terminal(tmp_path)
    assert proc.returncode == 0 and (tmp_path / "op.json").exists()
    assert b"reading the netlist from stdin ... 1 s" in shown
    assert b"\x1b[?25h" in shown and shown.endswith(b"\x1b[2K")  # transient: the cursor given back, erased


def test_elsewhere_it_says_nothing(tmp_path):
    proc = _solve_waiting_for_stdin(tmp_path, subprocess.PIPE)
    assert proc.returncode == 0 and proc.stderr.read() == b""


def test_the_output_on_stdout_stays_there_while_the_status_line_shows(tmp_path):
    """`resim solve net.cir > out.csv` on a terminal: the CSV goes to the file, not through
    the status line to the terminal (rich's Live redirects stdout unless told not to)."""
    with open(tmp_path / "out.csv", "wb") as out:
        proc, shown = _on_a_terminal(tmp_path, stdout=out)
    assert proc.returncode == 0 and b"reading the netlist from stdin" in shown
    written = (tmp_path / "out.csv").read_text()
    assert written.startswith("kind,name,quantity,value\n") and "voltage_V" in written
    assert b"voltage_V" not in shown
