"""The one rule for output files (issue 23, items 5 and 10; docs/output.md): an output that
is an input is refused before any work, ``-`` is stdout for text and ``''`` no file, an
existing file is replaced only if you may write it (whatever its read bits), a file with
several hard links is written in place so that every name sees the result, figures take
their format from the extension for ``plot -o`` and ``sweep --plot`` alike, and control
characters in names never reach a table or a CSV raw.

Expected values are closed forms: divider.cir gives v(in) = 10 V, v(out) = 10 * 800 / 1800 V.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import stat
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from resim.cli import run_args

V_OUT = 10 * 800 / 1800
DIVIDER = "divider\nV1 in 0 10\nR1 in out 1k\nR2 out 0 800\n"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def resim(capsys, *args) -> tuple[int, str, str]:
    code = run_args([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def divider(tmp_path) -> Path:
    path = tmp_path / "divider.cir"
    path.write_text(DIVIDER)
    return path


def v_out(csv_text: str) -> float:
    rows = {(k, n, q): v for k, n, q, v in csv.reader(io.StringIO(csv_text))}
    return float(rows[("node", "out", "voltage_V")])


def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"epoch": 1, "train_error": 0.3, "test_error": 0.25}\n')
    return run


# ---- an output that is an input (item 5) ------------------------------------------------------------


def same_file_refused(capsys, args, protected: Path, before: bytes) -> str:
    code, out, err = resim(capsys, *args)
    assert code == 10 and "the same file as" in err, err
    assert protected.read_bytes() == before and out == ""
    return err


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_solve_and_sweep_refuse_to_write_over_their_netlist(divider, tmp_path, capsys, link):
    out = divider
    if link == "symlink":
        out = tmp_path / "link.cir"
        out.symlink_to(divider)
    elif link == "hardlink":
        out = tmp_path / "hard.cir"
        os.link(divider, out)
    err = same_file_refused(capsys, ["solve", divider, "--format", "csv", "-o", out], divider, DIVIDER.encode())
    assert f"cannot write '{out}'" in err and f"the netlist '{divider}'" in err
    same_file_refused(capsys, ["sweep", divider, "--dc", "V1", "0", "1", "1", "-o", out], divider, DIVIDER.encode())


@pytest.mark.parametrize("card", [".include part.inc", ".lib part.inc res"])
def test_solve_and_sweep_refuse_to_write_over_a_file_the_netlist_includes(tmp_path, capsys, card):
    """An .include'd or .lib file is an input too: it was replaced by the table (exit 0)."""
    part = tmp_path / "part.inc"
    body = "R2 out 0 800\n" if card.startswith(".include") else ".lib res\nR2 out 0 800\n.endl res\n"
    part.write_text(body)
    netlist = tmp_path / "top.cir"
    netlist.write_text(f"top\nV1 in 0 10\nR1 in out 1k\n{card}\n")
    link = tmp_path / "link.txt"
    link.symlink_to(part)
    for args in (["solve", netlist, "-o", link], ["sweep", netlist, "--dc", "V1", "0", "1", "1", "-o", part],
                 ["sweep", netlist, "--dc", "V1", "0", "1", "1", "--plot", tmp_path / "p.png", "-o", link]):
        err = same_file_refused(capsys, args, part, body.encode())
        assert f"the file the netlist includes '{part}'" in err, err
    assert not (tmp_path / "p.png").exists()


def test_the_netlist_read_from_stdin_is_an_input_too(divider, capsys, monkeypatch):
    with open(divider) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        same_file_refused(capsys, ["solve", "-", "-o", divider], divider, DIVIDER.encode())


def test_sweep_plot_refuses_the_netlist_and_the_other_output(divider, tmp_path, capsys):
    link = tmp_path / "plot.png"
    link.symlink_to(divider)
    same_file_refused(capsys, ["sweep", divider, "--dc", "V1", "0", "1", "1", "--plot", link], divider,
                      DIVIDER.encode())
    both = tmp_path / "both.png"
    both.write_bytes(b"old")
    err = same_file_refused(capsys, ["sweep", divider, "--dc", "V1", "0", "1", "1", "-o", both, "--plot", both],
                            both, b"old")
    assert f"the same file as -o '{both}'" in err


def test_synth_refuses_to_write_over_its_network(tmp_path, capsys):
    net = tmp_path / "ok.npz"
    np.savez(net, W0=np.ones((1, 2)), b0=np.zeros(2), W1=np.ones((2, 1)), b1=np.zeros(1))
    before = net.read_bytes()
    err = same_file_refused(capsys, ["synth", "relu", net, "-o", net], net, before)
    assert f"the network '{net}'" in err


def test_plot_refuses_to_write_over_a_runs_metrics(tmp_path, capsys):
    run = run_dir(tmp_path)
    link = tmp_path / "curves.png"
    link.symlink_to(run / "metrics.jsonl")
    before = (run / "metrics.jsonl").read_bytes()
    same_file_refused(capsys, ["plot", run, "-o", link], run / "metrics.jsonl", before)


def test_compare_keep_refuses_the_folder_that_holds_the_netlist_as_circuit_cir(tmp_path, capsys):
    """--keep DIR writes DIR/circuit.cir: a netlist of that name in DIR would be replaced."""
    netlist = tmp_path / "circuit.cir"
    netlist.write_text(DIVIDER)
    same_file_refused(capsys, ["compare-with-ngspice", netlist, "--keep", tmp_path], netlist, DIVIDER.encode())


def test_compare_keep_refuses_the_folder_whose_as_written_run_would_replace_the_netlist(tmp_path, capsys):
    """ngspice's run of the netlist as written keeps DIR/as-written/circuit.cir: it replaced a
    netlist of that name there (exit 0)."""
    netlist = tmp_path / "as-written" / "circuit.cir"
    netlist.parent.mkdir()
    netlist.write_text(DIVIDER)
    same_file_refused(capsys, ["compare-with-ngspice", netlist, "--keep", tmp_path], netlist, DIVIDER.encode())


# ---- '-' and '' (item 10) ------------------------------------------------------------------------------


def test_dash_is_stdout_for_every_text_output(divider, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["solve", divider, "--format", "csv"], ["sweep", divider, "--dc", "V1", "0", "1", "1"],
                 ["synth", "pwl", "--points", "0:0,1:1", "--gain", "100", "--check", "0"]):
        untimed = lambda text: [line for line in text.splitlines() if not line.startswith("timing,")]  # noqa: E731
        code, plain, _ = resim(capsys, *args)
        assert code == 0
        code, dashed, _ = resim(capsys, *args, "-o", "-")
        assert code == 0 and untimed(dashed) == untimed(plain) and plain
    assert not (tmp_path / "-").exists()
    code, out, _ = resim(capsys, "solve", divider, "--format", "csv", "-o", "-")
    assert v_out(out) == pytest.approx(V_OUT, rel=1e-12)


@pytest.mark.parametrize("args", [["solve", "DIVIDER"], ["sweep", "DIVIDER", "--dc", "V1", "0", "1", "1"],
                                  ["synth", "pwl", "--points", "0:0,1:1"]])
def test_an_empty_output_path_is_refused(divider, capsys, args):
    args = [divider if a == "DIVIDER" else a for a in args]
    code, out, err = resim(capsys, *args, "-o", "")
    assert code == 10 and "cannot write '': that names no file" in err and out == ""


@pytest.mark.parametrize("args", [["sweep", "DIVIDER", "--dc", "V1", "0", "1", "1", "--plot"], ["plot", "RUN", "-o"]])
@pytest.mark.parametrize("path", ["-", "", "x.txt"])
def test_a_figure_needs_a_file_whose_extension_names_its_format(divider, tmp_path, capsys, monkeypatch, args, path):
    """sweep --plot and plot -o follow one rule: .png, .svg or .pdf (no stdout, no .txt)."""
    monkeypatch.chdir(tmp_path)
    args = [divider if a == "DIVIDER" else run_dir(tmp_path) if a == "RUN" else a for a in args]
    code, out, err = resim(capsys, *args, path)
    assert code == 2 and ".png, .svg, .pdf" in err and out == ""
    left = ["divider.cir"] + (["run"] if args[0] == "plot" else [])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(left)  # nothing written


def test_sweep_plot_writes_the_format_of_its_extension(divider, tmp_path, capsys):
    for ext, head in (("png", PNG_SIGNATURE), ("svg", b"<?xml"), ("pdf", b"%PDF")):
        code, _, err = resim(capsys, "sweep", divider, "--dc", "V1", "0", "1", "1", "--plot", tmp_path / f"s.{ext}")
        assert code == 0, err
        assert (tmp_path / f"s.{ext}").read_bytes().startswith(head)


# ---- existing files (item 10) --------------------------------------------------------------------------


def test_a_write_only_file_is_replaced_keeping_its_mode(divider, tmp_path, capsys):
    """Whether an output is readable does not matter: 0200 is written, and stays 0200."""
    out = tmp_path / "op.csv"
    out.write_text("old")
    out.chmod(0o200)
    assert resim(capsys, "solve", divider, "--format", "csv", "-o", out)[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o200
    out.chmod(0o600)
    assert v_out(out.read_text()) == pytest.approx(V_OUT, rel=1e-12)


def as_another_user(folder: Path, *args: str) -> tuple[int, str]:
    """``resim ARGS`` run in ``folder`` by a user who is not root, in a forked copy of this
    process: the exit code and stderr. When we are root, the copy becomes ``nobody`` with
    ``folder`` as its root directory (the folders above tmp_path are closed to it). The
    command is run here first (as we are, its output into ``warm-up``) so that everything
    it imports is loaded: the Python installation is not inside ``folder``."""
    here = os.getcwd()
    os.chdir(folder)
    try:
        assert run_args([*args[:-1], "warm-up"]) == 0
    finally:
        os.chdir(here)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            signal.alarm(60)  # a child stuck on a lock a thread of pytest held at the fork ends, and fails the test
            os.close(read)
            sys.stdout = sys.stderr = open(write, "w")
            os.chdir(folder)
            if os.geteuid() == 0:
                os.chroot(folder)
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            code = run_args(list(args))
        except BaseException as exc:  # said on the pipe: the test shows it
            print(f"test harness: {exc!r}", file=sys.stderr)
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write)
    with open(read) as fh:
        err = fh.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), err


def test_a_read_only_file_is_refused_as_cp_would(tmp_path, capsys):
    """0400 in a folder you may write: cp refuses it ("Permission denied"), and so does
    resim (exit 10, the file untouched), though it could rename a new file over it."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "divider.cir").write_text(DIVIDER)
    (folder / "op.csv").write_text("old")
    (folder / "op.csv").chmod(0o400)
    if os.geteuid() == 0:
        for path in (folder, folder / "op.csv"):
            os.chown(path, 65534, 65534)
    code, err = as_another_user(folder, "solve", "divider.cir", "--format", "csv", "-o", "op.csv")
    assert code == 10, err
    assert "cannot write 'op.csv': permission denied" in err and "read-only" in err
    assert (folder / "op.csv").read_text() == "old" and stat.S_IMODE((folder / "op.csv").stat().st_mode) == 0o400
    code, err = as_another_user(folder, "solve", "divider.cir", "--format", "csv", "-o", "new.csv")
    assert code == 0, err  # the same user may write a new file there
    assert v_out((folder / "new.csv").read_text()) == pytest.approx(V_OUT, rel=1e-12)
    (folder / "write-only.csv").write_text("old")  # and a file it may write but not read
    (folder / "write-only.csv").chmod(0o200)
    if os.geteuid() == 0:
        os.chown(folder / "write-only.csv", 65534, 65534)
    code, err = as_another_user(folder, "solve", "divider.cir", "--format", "csv", "-o", "write-only.csv")
    assert code == 0, err
    assert stat.S_IMODE((folder / "write-only.csv").stat().st_mode) == 0o200
    assert v_out((folder / "write-only.csv").read_text()) == pytest.approx(V_OUT, rel=1e-12)


def test_a_file_with_several_hard_links_is_written_in_place(divider, tmp_path, capsys):
    out, other = tmp_path / "op.csv", tmp_path / "other-name.csv"
    out.write_text("old content, longer than nothing at all" * 100)
    out.chmod(0o640)
    os.link(out, other)
    inode = out.stat().st_ino
    assert resim(capsys, "solve", divider, "--format", "csv", "-o", out)[0] == 0
    assert out.stat().st_ino == inode and out.stat().st_nlink == 2 and stat.S_IMODE(out.stat().st_mode) == 0o640
    assert other.read_text() == out.read_text()  # every name sees the new content, and only it
    assert v_out(other.read_text()) == pytest.approx(V_OUT, rel=1e-12)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".resim-")]


# ---- names with control characters (item 10) ---------------------------------------------------------


def test_control_characters_in_names_are_escaped_in_tables_and_csv(tmp_path, capsys):
    netlist = tmp_path / "esc.cir"
    netlist.write_text("title \x1b[2J\nV1 a\x1b[31m 0 1\nR\x07x a\x1b[31m 0 2\n"
                       "D\x07d 0 a\x1b[31m ideal\n.model ideal D(Ron=0 Vfwd=0)\n")  # reverse-biased: off, a state row
    for fmt in ("table", "csv"):
        code, out, err = resim(capsys, "solve", netlist, "--format", fmt)
        assert code == 0, err
        assert "\x1b" not in out and "\x07" not in out
        assert "a\\x1b[31m" in out and "r\\x07x" in out
    out = resim(capsys, "solve", netlist, "--format", "csv")[1]
    rows = {(k, n, q): v for k, n, q, v in csv.reader(io.StringIO(out))}
    assert float(rows[("node", "a\\x1b[31m", "voltage_V")]) == 1.0
    assert float(rows[("R", "r\\x07x", "current_A")]) == 0.5
    assert rows[("D", "d\\x07d", "state")] == "off"
    code, out, _ = resim(capsys, "sweep", netlist, "--dc", "V1", "0", "1", "1")
    assert code == 0 and out.splitlines()[0] == "v1,v(a\\x1b[31m)"
    code, out, _ = resim(capsys, "solve", netlist, "--format", "json")  # JSON escapes by itself, and reads back
    assert "\x1b" not in out and json.loads(out)["nodes"]["a\x1b[31m"] == 1.0


def test_control_characters_in_names_are_escaped_in_the_comparison_table(tmp_path, capsys, ngspice):
    """compare-with-ngspice's table wrote them raw (its node rows and its renaming note)."""
    netlist = tmp_path / "esc\x1b[1m.cir"
    netlist.write_text("title\nV1 a\x1b[31m 0 1\nR\x07x a\x1b[31m b 1k\nR2 b 0 1k\n")
    code, out, err = resim(capsys, "compare-with-ngspice", netlist, "--ngspice", ngspice)
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out
    assert "esc\\x1b[1m.cir" in out and "a\\x1b[31m -> " in out and "r\\x07x -> " in out
    assert re.search(r"^a\\x1b\[31m +1 +1 +0$", out, re.M), out


# ---- written piece by piece (resim.atomic.write_chunks) ------------------------------------------


def _pieces(n: int = 50, fail_after: int | None = None):
    for k in range(n):
        if fail_after is not None and k == fail_after:
            raise RuntimeError("the producer failed")
        yield f"piece {k}\n".encode()


WHOLE = b"".join(_pieces())


def test_chunks_are_written_as_write_bytes_writes(tmp_path):
    from resim.atomic import write_chunks

    new = tmp_path / "new.txt"
    write_chunks(new, _pieces())
    assert new.read_bytes() == WHOLE
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    os.chmod(kept, 0o640)
    write_chunks(kept, _pieces())
    assert kept.read_bytes() == WHOLE and stat.S_IMODE(kept.stat().st_mode) == 0o640
    linked = tmp_path / "linked.txt"
    linked.write_text("old")
    os.link(linked, tmp_path / "other-name.txt")
    write_chunks(linked, _pieces())
    assert (tmp_path / "other-name.txt").read_bytes() == WHOLE  # in place: every name sees it
    target = tmp_path / "target.txt"
    (tmp_path / "link").symlink_to(target)
    write_chunks(tmp_path / "link", _pieces())
    assert (tmp_path / "link").is_symlink() and target.read_bytes() == WHOLE


def test_chunks_into_a_fifo_go_in_place(tmp_path):
    from resim.atomic import write_chunks

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    try:
        write_chunks(fifo, _pieces())
    finally:
        reader.join(timeout=10)
    assert got == [WHOLE]


@pytest.mark.parametrize("links", [1, 2])
def test_a_producer_that_fails_leaves_the_old_file_as_it_was(tmp_path, links):
    from resim.atomic import write_chunks

    path = tmp_path / "out.txt"
    path.write_text("old content")
    if links == 2:
        os.link(path, tmp_path / "second.txt")
    with pytest.raises(RuntimeError, match="the producer failed"):
        write_chunks(path, _pieces(fail_after=20))
    assert path.read_text() == "old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.txt"] + (["second.txt"] if links == 2 else []))
