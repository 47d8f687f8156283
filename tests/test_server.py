"""``resim serve``: the same answers, files and exit codes as running the command directly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def resim_exe() -> str:
    here = Path(sys.executable).with_name("resim")
    found = str(here) if here.exists() else shutil.which("resim")
    if found is None:
        pytest.fail("the `resim` console script is not installed: run `pip install -e '.[test]'`", pytrace=False)
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory, resim_exe):
    sock = tmp_path_factory.mktemp("srv") / "resim.sock"
    proc = subprocess.Popen([resim_exe, "serve", "--socket", str(sock)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not sock.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert sock.exists(), "resim serve did not create its socket"
    yield str(sock)
    proc.terminate()
    proc.wait(timeout=30)


def run(exe: str, *args: str, server: str | None = None, cwd=None, stdin: str | None = None):
    env = {k: v for k, v in os.environ.items() if k not in ("RESIM_DEBUG", "RESIM_SERVER")}
    if server:
        env["RESIM_SERVER"] = server
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, cwd=cwd, input=stdin, timeout=120)


def without_timings(text: str) -> dict:
    doc = json.loads(text)
    doc.pop("timings", None)
    return doc


def test_served_results_equal_direct_ones(resim_exe, server, netlists_dir):
    for name in ("divider.cir", "diode_clipper.cir", "ideal_rectifier.cir"):
        path = str(netlists_dir / name)
        direct = run(resim_exe, "solve", path, "--format", "json")
        served = run(resim_exe, "solve", path, "--format", "json", server=server)
        assert direct.returncode == served.returncode == 0, served.stderr
        assert without_timings(served.stdout) == without_timings(direct.stdout)


def test_served_errors_keep_their_exit_code_and_message(resim_exe, server, tmp_path):
    bad = tmp_path / "bad.cir"
    bad.write_text("bad\nR1 a b x\n")
    direct = run(resim_exe, "solve", str(bad))
    served = run(resim_exe, "solve", str(bad), server=server)
    assert served.returncode == direct.returncode == 3
    assert served.stderr == direct.stderr and "bad.cir:2:8" in served.stderr


def test_served_output_file_and_stdin_follow_the_callers_directory(resim_exe, server, netlists_dir, tmp_path):
    text = (netlists_dir / "divider.cir").read_text()
    served = run(resim_exe, "solve", "-", "--format", "json", "-o", "op.json", server=server, cwd=tmp_path,
                 stdin=text)
    assert served.returncode == 0, served.stderr
    assert json.loads((tmp_path / "op.json").read_text())["nodes"]["out"] == pytest.approx(40 / 9)


def test_without_a_server_the_command_runs_here(resim_exe, netlists_dir, tmp_path):
    gone = run(resim_exe, "solve", str(netlists_dir / "divider.cir"), "--format", "json",
               server=str(tmp_path / "no-such.sock"))
    assert gone.returncode == 0 and json.loads(gone.stdout)["nodes"]["out"] == pytest.approx(40 / 9)


def test_a_server_of_other_code_is_not_used(server):
    """A request with another code key is refused: the client then runs it itself."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(server)
        conn.sendall(json.dumps({"argv": ["solve", "x.cir"], "cwd": "/", "stdin": None, "key": "other"}).encode())
        conn.shutdown(socket.SHUT_WR)
        reply = json.loads(conn.recv(1 << 16))
    assert reply == {"code": None}
