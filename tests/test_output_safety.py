"""Output files and stdout under odd circumstances (issue 12): ``-o`` writes through what the
path names (a FIFO, a device node, a symbolic link, /proc/self/fd/1) and keeps an existing
file's mode and owner; unwritable paths are exit code 10 naming the user's path, found
before solving; a closed stdout (``| head``) ends quietly; big tables are cut short.

Two checks need root: a device node of the test's own (os.mknod) and a file given to another
user. Without root they check what they can (a FIFO; the file's group) and then skip, saying
what was left unchecked; the tests named ``without``/``a user in`` take those paths whoever
runs them (os.mknod and os.chown made to refuse as they refuse a user who is not root).

Expected numbers are closed forms: divider.cir gives v(in) = 10 V, v(out) = 10 * 800 / 1800 V;
an N-resistor ladder of 1k resistors from 1 V to ground gives v(n_k) = 1 - k / N.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import select
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from resim.atomic import check_writable, write_bytes
from resim.cli import run_args
from resim.errors import OutputError

V_OUT = 10 * 800 / 1800


@pytest.fixture(scope="module")
def divider(netlists_dir) -> str:
    return str(netlists_dir / "divider.cir")


def solve_json(divider: str, out: Path, capsys) -> tuple[int, str]:
    """``resim solve divider.cir --format json -o out`` in this process: exit code, stderr."""
    code = run_args(["solve", divider, "--format", "json", "-o", str(out)])
    stdout, stderr = capsys.readouterr()
    assert stdout == ""
    return code, stderr


def assert_divider_json(data: bytes) -> None:
    nodes = json.loads(data)["nodes"]
    assert nodes["in"] == pytest.approx(10.0, rel=1e-14) and nodes["out"] == pytest.approx(V_OUT, rel=1e-12)


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".resim-")]


def ladder(tmp_path: Path, n: int) -> Path:
    """A netlist of ``n`` 1k resistors in series from a 1 V source to ground (nodes n0..n{n})."""
    lines = [f"ladder of {n}", "V1 n0 0 1"] + [f"R{k} n{k} n{k + 1} 1k" for k in range(n - 1)]
    path = tmp_path / f"ladder{n}.cir"
    path.write_text("\n".join(lines + [f"R{n - 1} n{n - 1} 0 1k"]) + "\n")
    return path


def cli_env() -> dict[str, str]:
    """The environment for a ``python -m resim.cli`` subprocess: errors shown as users see
    them, stdout buffered as usual (PYTHONUNBUFFERED, set in some CI shells, changes how a
    closed pipe shows up)."""
    return {k: v for k, v in os.environ.items() if k not in ("RESIM_DEBUG", "PYTHONUNBUFFERED", "RESIM_SERVER")}


# ---- -o writes through the path it is given ------------------------------------------------------


def read_fifo(path: Path, into: list[bytes]) -> None:
    """Read the FIFO at ``path`` to its end into ``into``; give up after 60 s without data
    (so that a FIFO replaced by a regular file fails the test instead of hanging it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # never blocks; no end of file before a writer came
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while poller.poll(60_000):
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            into.append(chunk)
    finally:
        os.close(fd)


def test_a_fifo_is_written_in_place(divider, tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=read_fifo, args=(fifo, received))
    reader.start()
    try:
        code, _ = solve_json(divider, fifo, capsys)
    finally:
        reader.join()
    assert code == 0
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert_divider_json(b"".join(received))
    assert no_temp_files(tmp_path)


def special_file(path: Path) -> str | None:
    """A special file of this test's own at ``path``: a character device with /dev/null's
    numbers (1, 3) where this process may make and open one, else a FIFO. None when it made
    the device, else why it could not."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    except PermissionError as exc:
        os.mkfifo(path)
        return f"this process may not make a device node (os.mknod: {exc.strerror}; it needs root or CAP_MKNOD)"
    try:
        os.close(os.open(path, os.O_WRONLY))
    except PermissionError:
        os.unlink(path)
        os.mkfifo(path)
        return f"device nodes cannot be opened in {path.parent} (a file system mounted nodev)"
    return None


def check_a_special_file_is_written_in_place(divider: str, tmp_path: Path, capsys) -> None:
    """``-o`` a device node: written through, still the same device afterwards, no
    temporary file left. Where no device node can be made, the same on a FIFO (whose
    content is read back), and then a skip that says why the device was not checked."""
    node = tmp_path / "null"
    why_not = special_file(node)
    received: list[bytes] = []
    reader = threading.Thread(target=read_fifo, args=(node, received)) if why_not else None
    if reader:
        reader.start()
    try:
        assert solve_json(divider, node, capsys) == (0, "")
    finally:
        if reader:
            reader.join()
    st = node.lstat()
    if why_not is None:
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    else:
        assert stat.S_ISFIFO(st.st_mode)
        assert_divider_json(b"".join(received))
    assert no_temp_files(tmp_path)
    if why_not:
        pytest.skip(f"no device node: {why_not}; checked on a FIFO instead (written in place, still a FIFO)")


def test_a_device_node_stays_a_device_node(divider, tmp_path, capsys):
    check_a_special_file_is_written_in_place(divider, tmp_path, capsys)


def test_without_mknod_a_fifo_stands_in_and_the_skip_says_why(divider, tmp_path, capsys, monkeypatch):
    """The path of a user who may not make device nodes, taken whoever runs the tests."""
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "mknod", refuse)
    with pytest.raises(pytest.skip.Exception, match=r"may not make a device node .* checked on a FIFO instead"):
        check_a_special_file_is_written_in_place(divider, tmp_path, capsys)
    assert stat.S_ISFIFO((tmp_path / "null").lstat().st_mode)


def test_a_symlink_is_followed_and_kept(divider, tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "op.json"
    target.write_text("old")
    link = tmp_path / "op.json"
    link.symlink_to("runs/op.json")
    assert solve_json(divider, link, capsys) == (0, "")
    assert link.is_symlink() and os.readlink(link) == "runs/op.json"
    assert_divider_json(target.read_bytes())
    assert no_temp_files(tmp_path) and no_temp_files(tmp_path / "runs")


def test_a_dangling_symlink_creates_its_target(divider, tmp_path, capsys):
    link = tmp_path / "op.json"
    link.symlink_to("new.json")
    assert solve_json(divider, link, capsys) == (0, "")
    assert link.is_symlink()
    assert_divider_json((tmp_path / "new.json").read_bytes())


def test_an_existing_file_keeps_its_mode(divider, tmp_path, capsys):
    out = tmp_path / "op.json"
    out.write_text("old")
    out.chmod(0o600)
    assert solve_json(divider, out, capsys) == (0, "")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert_divider_json(out.read_bytes())


def give_away(path: Path) -> tuple[tuple[int, int] | None, str | None]:
    """Give the file ``path`` to another owner than the one a new file gets: another user
    and group where this process may (root), else another of this user's groups (any user
    may give a file to a group it is in). The (uid, gid) it then has (None: it could not be
    given away), and what that leaves unchecked (None: nothing)."""
    try:
        os.chown(path, 1234, 4321)
        return (1234, 4321), None
    except PermissionError:
        pass
    new_file_gids = {os.getegid(), path.parent.stat().st_gid}  # the folder's, if it is set-group-ID
    others = [g for g in os.getgroups() if g not in new_file_gids]
    if not others:
        return None, ("this process may give a file to no other user (os.chown needs root or CAP_CHOWN) "
                      "nor group (it is in no other)")
    os.chown(path, -1, others[0])
    return (os.geteuid(), others[0]), ("giving a file to another user needs root or CAP_CHOWN (os.chown); "
                                       "only its group was checked")


def check_an_existing_file_keeps_its_owner(tmp_path: Path) -> None:
    """A file given to another owner keeps it when written; as far as this process may
    give it away (see :func:`give_away`), then a skip saying what was not checked."""
    out = tmp_path / "op.json"
    out.write_text("old")
    owner, unchecked = give_away(out)
    if owner is None:
        pytest.skip(f"the owner is not checked: {unchecked}")
    write_bytes(out, b"new")
    st = out.stat()
    assert (st.st_uid, st.st_gid) == owner and out.read_bytes() == b"new"
    if unchecked:
        pytest.skip(unchecked)


def test_an_existing_file_keeps_its_owner(tmp_path):
    check_an_existing_file_keeps_its_owner(tmp_path)


@pytest.fixture
def not_root(monkeypatch):
    """os.chown as a user who is not root sees it: giving a file to another user is refused."""
    chown = os.chown

    def refusing(path, uid, gid, **kwargs):
        if uid not in (-1, os.geteuid()):
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
        chown(path, uid, gid, **kwargs)

    monkeypatch.setattr(os, "chown", refusing)


def test_a_user_in_another_group_checks_the_group_and_says_the_rest_needs_root(tmp_path, not_root, monkeypatch):
    probe = tmp_path / "probe"
    probe.write_text("")
    try:
        os.chown(probe, -1, 4321)  # allowed to root (CAP_CHOWN) and to members of group 4321
        monkeypatch.setattr(os, "getgroups", lambda: [os.getegid(), 4321])
        group = 4321
    except PermissionError:  # this user's own groups then, if it has another
        group = next((g for g in os.getgroups() if g not in (os.getegid(), tmp_path.stat().st_gid)), None)
    with pytest.raises(pytest.skip.Exception) as info:
        check_an_existing_file_keeps_its_owner(tmp_path)
    if group is None:
        assert "nor group (it is in no other)" in str(info.value)
    else:
        assert "only its group was checked" in str(info.value)
        assert (tmp_path / "op.json").stat().st_gid == group and (tmp_path / "op.json").read_bytes() == b"new"


def test_a_user_in_no_other_group_says_the_owner_is_not_checked(tmp_path, not_root, monkeypatch):
    monkeypatch.setattr(os, "getgroups", lambda: [os.getegid()])
    with pytest.raises(pytest.skip.Exception, match=r"the owner is not checked: .*needs root.* in no other"):
        check_an_existing_file_keeps_its_owner(tmp_path)
    assert (tmp_path / "op.json").read_text() == "old"


def test_an_open_file_named_through_proc_is_appended_to(divider, tmp_path):
    """``-o /dev/stdout >> log`` (/dev/stdout links to /proc/self/fd/1): the log keeps its
    lines. A link in tmp_path stands in for /dev/stdout, which a broken run could replace."""
    stdout_link = tmp_path / "stdout"
    stdout_link.symlink_to("/proc/self/fd/1")
    log = tmp_path / "log.csv"
    log.write_text("earlier line\n")
    with open(log, "ab") as fh:
        proc = subprocess.run([sys.executable, "-m", "resim.cli", "solve", divider, "--format", "csv",
                               "-o", str(stdout_link)], stdout=fh, stderr=subprocess.PIPE, text=True,
                              env=cli_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert stdout_link.is_symlink()
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line" and lines[1] == "kind,name,quantity,value"
    rows = {(k, n, q): v for k, n, q, v in csv.reader(lines[1:])}
    assert float(rows[("node", "out", "voltage_V")]) == pytest.approx(V_OUT, rel=1e-12)


# ---- unwritable outputs: exit code 10, the user's path, before any work ---------------------------


@pytest.mark.parametrize("where", ["missing/op.json", "file.txt/op.json"])
def test_an_unwritable_output_is_exit_10_naming_the_path(divider, tmp_path, capsys, where):
    (tmp_path / "file.txt").write_text("a file, not a folder")
    out = tmp_path / where
    code, err = solve_json(divider, out, capsys)
    assert code == 10
    assert err.startswith(f"error: cannot write '{out}': ") and ".resim-" not in err and "internal" not in err
    assert "does not exist" in err if where.startswith("missing") else "is not a folder" in err


def test_the_output_is_checked_before_the_netlist_is_solved(tmp_path, capsys):
    """A circuit that cannot be solved (a floating node, exit 4) and an output that cannot be
    written: the output is reported, as it is found first."""
    netlist = tmp_path / "floating.cir"
    netlist.write_text("floating\nV1 a 0 1\nR1 a 0 1k\nR2 b c 1k\n")
    assert run_args(["solve", str(netlist)]) == 4
    assert run_args(["solve", str(netlist), "-o", str(tmp_path / "missing" / "op.json")]) == 10
    assert "cannot write" in capsys.readouterr().err


def test_write_bytes_names_the_path_not_its_temporary_file(tmp_path):
    with pytest.raises(OutputError) as info:
        write_bytes(tmp_path / "missing" / "x.npz", b"data")
    assert info.value.exit_code == 10 and f"'{tmp_path / 'missing' / 'x.npz'}'" in info.value.message
    assert ".resim-" not in info.value.render()
    with pytest.raises(OutputError, match="it is a folder"):
        check_writable(tmp_path)
    with pytest.raises(OutputError):
        write_bytes(tmp_path, b"data")
    check_writable(tmp_path / "new.json")  # fine: nothing raised


def test_sweep_plot_and_output_are_checked_before_anything_is_printed(divider, tmp_path, capsys):
    sweep = ["sweep", divider, "--dc", "V1", "0", "10", "5"]
    bad = str(tmp_path / "missing" / "s.png")
    assert run_args([*sweep, "--plot", bad]) == 10
    out, err = capsys.readouterr()
    assert out == "" and f"cannot write '{bad}'" in err
    assert run_args([*sweep, "-o", bad]) == 10
    assert run_args(sweep) == 0  # the same sweep, with nowhere bad to write
    assert capsys.readouterr().out.splitlines()[0] == "v1,v(in),v(out)"


def test_sweep_without_matplotlib_prints_nothing(divider, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    assert run_args(["sweep", divider, "--dc", "V1", "0", "10", "5", "--plot", "never.png"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "needs matplotlib" in err


# ---- a closed stdout -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["solve", "--format", "csv"], ["solve", "--format", "table"],
                                     ["sweep", "--method", "exact", "--dc", "V1", "0", "1", "0.25"]])
def test_a_closed_stdout_ends_quietly(tmp_path, command):
    """``resim ... | head -c 100``: the reader closes the pipe with most of the output (far
    more than a pipe holds) unread. resim exits 0 and says nothing."""
    netlist = ladder(tmp_path, 5000)
    args = [command[0], str(netlist), *command[1:]]
    with subprocess.Popen([sys.executable, "-m", "resim.cli", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=cli_env()) as proc:
        try:
            assert len(proc.stdout.read(100)) == 100
            proc.stdout.close()
            err = proc.stderr.read().decode()
            code = proc.wait(timeout=120)
        finally:
            proc.kill()  # a no-op once it has exited
    assert (code, err) == (0, "")


# ---- tables: long ones cut short, names shown as they are ---------------------------------------------


def test_a_big_table_is_cut_short_and_csv_has_every_row(tmp_path, capsys):
    n = 5000
    netlist = ladder(tmp_path, n)
    assert run_args(["solve", str(netlist)]) == 0
    table = capsys.readouterr().out
    assert f"... {n - 2000:,} more nodes not shown (showing the first 2,000 of {n:,})" in table
    assert f"... {n + 1 - 2000:,} more elements not shown (showing the first 2,000 of {n + 1:,})" in table
    assert "--format csv" in table
    assert "│ n1999 " in table and "│ n2000 " not in table  # nodes n0..n1999 are the first 2,000
    assert "certificate: KCL residual" in table  # the summary still follows

    assert run_args(["solve", str(netlist), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    voltages = {name: float(v) for kind, name, q, v in rows if kind == "node"}
    assert len(voltages) == n and len([r for r in rows if r[2] == "current_A"]) == n + 1
    for k in (0, 1, 2500, n - 1):
        assert voltages[f"n{k}"] == pytest.approx(1 - k / n, rel=1e-9, abs=1e-12)


def test_table_shows_brackets_in_names_as_text(tmp_path, capsys):
    netlist = tmp_path / "brackets.cir"
    netlist.write_text("title with [/x] and [bold]\nV1 a[/z] 0 1\nR1 a[/z] 0 2\n")
    assert run_args(["solve", str(netlist)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("title with [/x] and [bold]  (method:")
    assert "│ a[/z] │" in table and "a[/z] 0" in table
