"""Reading hostile or odd netlists: numbers out of range, deep nesting, huge or binary lines,
files that never end, and netlists with nothing in them.

Each case is a located netlist error (exit 3), never a silent wrong answer, a hang, a
RecursionError or a terminal flooded with the user's bytes. Netlists are real files in
``tmp_path``; the command line is run in-process through ``resim.cli.run_args``.
"""

from __future__ import annotations

import math
import os
import stat
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import resim
import resim.netlist.reader as reader_module
from resim.cli import run_args
from resim.errors import NetlistError, ResimError, SourceLocation, printable
from resim.netlist.elaborate import MAX_SUBCKT_DEPTH
from resim.netlist.values import MAX_EXPRESSION_DEPTH


@pytest.fixture(params=[True, False], ids=["fast", "grammar"])
def fast(request) -> bool:
    return request.param


def error_of(tmp_path: Path, text: str, fast: bool = True, *, solve: bool = False) -> tuple[NetlistError, Path]:
    path = tmp_path / "net.cir"
    path.write_text(text)
    with pytest.raises(NetlistError) as info:
        circuit = resim.load_netlist(path, fast=fast)
        if solve:
            resim.solve(circuit)
    return info.value, path


def at(err: NetlistError, path: Path, line: int, token: str) -> None:
    """``err`` is located on ``line`` of ``path``, its column at ``token``, with a hint."""
    assert (err.location.file, err.location.line) == (str(path), line)
    source = path.read_text().split("\n")[line - 1]
    assert source[err.location.column - 1 :].startswith(token), (err.location, source)
    assert err.hint
    assert err.exit_code == 3


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = run_args(args)
    out, err = capsys.readouterr()
    return code, out, err


# ---- numbers out of range -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "card, token, label",
    [
        ("R1 a 0 1e400", "1e400", "resistor 'r1'"),  # was an open circuit (conductance 1/inf)
        ("V1 a 0 1e400", "1e400", "voltage source 'v1'"),  # was a singular matrix, with no location
        ("I1 0 a DC -2e308", "-2e308", "current source 'i1'"),
        ("R1 a 0 1e308k", "1e308k", "resistor 'r1'"),  # finite mantissa, scaled past the range
        ("R1 a 0 " + "9" * 400, "9" * 400, "resistor 'r1'"),
        ("E1 a 0 b 0 1e999", "1e999", "voltage-controlled voltage source 'e1'"),
    ],
)
def test_number_out_of_range_is_located(tmp_path, fast, card, token, label):
    err, path = error_of(tmp_path, f"range\nV9 b 0 1\nR9 b 0 1\n{card}\nR8 a 0 1\n", fast)
    at(err, path, 4, token)
    assert err.message == f"{label}: number '{printable(token, 40)}' is out of range (beyond 1.8e308)"
    assert "finite" in err.hint


@pytest.mark.parametrize(
    "text, line, token",
    [
        ("t\n.param p = 1e400\nR1 a 0 {p}\nV1 a 0 1\n", 2, "1e400"),
        ("t\n.model dm D(N=1e400)\nV1 a 0 1\nD1 a 0 dm\n", 2, "1e400"),  # N=inf passed N > 0
        ("t\nV1 a 0 1\nR1 a 0 {2 * 1e400}\n", 3, "1e400"),
        ("t\n.subckt s a params: r=1e400\nR1 a 0 {r}\n.ends\nV1 n 0 1\nX1 n s\n", 2, "1e400"),
    ],
)
def test_number_out_of_range_in_params_models_and_expressions(tmp_path, text, line, token):
    err, path = error_of(tmp_path, text)
    at(err, path, line, token)
    assert "out of range" in err.message


@pytest.mark.parametrize(
    "text, line, token, message",
    [
        ("t\n.param p = {1e200 * 1e200}\nV1 a 0 1\nR1 a 0 {p}\n", 2, "1e200", "parameter 'p': 1e+200 * 1e+200 overflows"),
        ("t\nV1 a 0 1\nR1 a 0 {1e300 / 1e-300}\n", 3, "1e300", "value of 'r1': 1e+300 / 1e-300 overflows"),
        ("t\nV1 a 0 {-1e308 - 1e308}\nR1 a 0 1\n", 2, "1e308 -", "value of 'v1': -1e+308 - 1e+308 overflows"),
        ("t\nV1 a 0 1\nR1 a 0 {1/0}\n", 3, "1/0", "value of 'r1': division by zero"),
        ("t\n.model dm D(IS={1e-14 * 1e308 * 1e308})\nV1 a 0 1\nD1 a 0 dm\n", 2, "1e-14",
         "parameter 'is' of model 'dm': 1e+294 * 1e+308 overflows"),
    ],
)
def test_expression_overflow_is_located_with_a_hint(tmp_path, text, line, token, message):
    err, path = error_of(tmp_path, text)
    at(err, path, line, token)
    assert err.message == message


def test_infinite_parameter_override_is_refused_where_it_is_used(tmp_path):
    path = tmp_path / "net.cir"
    path.write_text("t\n.param p = 1\nV1 a 0 1\nR1 a 0 {p}\n")
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(path, overrides={"p": math.inf})
    at(info.value, path, 4, "p}")
    assert info.value.message == "value of 'r1': evaluates to inf"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_element_override_is_refused_before_solving(tmp_path, value):
    path = tmp_path / "net.cir"
    path.write_text("t\nV1 a 0 1\nR1 a 0 1\n")
    circuit = resim.load_netlist(path, overrides={"R1": value})
    with pytest.raises(NetlistError) as info:
        resim.solve(circuit)
    at(info.value, path, 3, "R1")
    assert info.value.message == f"element 'r1': its value is {value}"


def test_resistance_too_small_to_invert(tmp_path, fast):
    err, path = error_of(tmp_path, "t\nV1 a 0 1\nR1 a b 1e-320\nR2 b 0 1\n", fast, solve=True)
    at(err, path, 3, "R1")
    assert err.message == f"resistor 'r1': {1e-320:g} ohm is too small (1/R overflows)"


def test_largest_float_is_still_a_number(tmp_path, fast):
    path = tmp_path / "net.cir"
    path.write_text("t\nV1 a 0 1\nR1 a 0 1.7976931348623157e308\nR2 a 0 1\n")
    circuit = resim.load_netlist(path, fast=fast)
    assert circuit["r"].value[0] == 1.7976931348623157e308
    assert resim.solve(circuit).current("r2") == pytest.approx(1.0)


def test_set_out_of_range_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "net.cir"
    path.write_text("t\nV1 a 0 1\nR1 a 0 1\n")
    code, out, err = cli(["solve", str(path), "--set", "R1=1e400"], capsys)
    assert code == 2 and out == ""
    assert "--set 'R1=1e400'" in err


def test_cli_reports_exit_3_with_the_location(tmp_path, capsys):
    path = tmp_path / "net.cir"
    path.write_text("t\nV1 a 0 1\nR1 a b 1e400\nR2 b 0 1\n")
    code, out, err = cli(["solve", str(path)], capsys)
    assert code == 3 and out == ""
    assert err.startswith(f"error: {path}:3:8: resistor 'r1': number '1e400' is out of range")
    assert "\nhint: " in err and "Traceback" not in err


# ---- nesting ------------------------------------------------------------------------------------


def chain_of_subcircuits(depth: int) -> str:
    """A netlist whose instance X0 nests ``depth`` subcircuit instances (the innermost holds R1)."""
    lines = ["deep"]
    for k in range(depth):
        inner = f"X{k + 1} a s{k + 1}" if k + 1 < depth else "R1 a 0 1"
        lines += [f".subckt s{k} a", inner, ".ends"]
    return "\n".join(lines + ["V1 n 0 1", "X0 n s0", ""])


def test_deep_subcircuit_nesting_is_a_netlist_error(tmp_path):
    err, path = error_of(tmp_path, chain_of_subcircuits(1000))
    # X0 at depth 1 ... the instance at depth MAX + 1 is X{MAX}, inside .subckt s{MAX - 1}
    line = path.read_text().split("\n").index(f"X{MAX_SUBCKT_DEPTH} a s{MAX_SUBCKT_DEPTH}") + 1
    at(err, path, line, f"X{MAX_SUBCKT_DEPTH}")
    assert err.message == (f"subcircuit instances nested more than {MAX_SUBCKT_DEPTH} deep "
                           f"(x0 -> x1 -> ... -> x{MAX_SUBCKT_DEPTH - 2} -> x{MAX_SUBCKT_DEPTH - 1} -> x{MAX_SUBCKT_DEPTH})")


def test_subcircuit_nesting_up_to_the_limit_is_read(tmp_path):
    path = tmp_path / "net.cir"
    path.write_text(chain_of_subcircuits(MAX_SUBCKT_DEPTH))
    circuit = resim.load_netlist(path)
    inner = ".".join(f"x{k}" for k in range(MAX_SUBCKT_DEPTH))
    assert circuit["r"].names == (f"r.{inner}.r1",)


def test_deeply_nested_expression_is_a_netlist_error(tmp_path, fast):
    """Real nesting (a flat sum of 5000 terms is one chain: tests/test_odd_values.py)."""
    err, path = error_of(tmp_path, "t\nV1 a 0 1\nR1 a 0 {" + "1 + (" * 5000 + "1" + ")" * 5000 + "}\n", fast)
    at(err, path, 3, "1 + (1")
    assert err.message == f"resistor 'r1': expression nested more than {MAX_EXPRESSION_DEPTH} levels deep"


def test_expression_below_the_depth_limit_is_evaluated(tmp_path):
    circuit = resim.load_netlist("t\n.param p = {" + "1 + (" * 150 + "1" + ")" * 150 + "}\nV1 a 0 1\nR1 a 0 1\n")
    assert circuit.params["p"] == 151.0


@pytest.mark.parametrize("default", ["{undefined}", "{1e300 * 1e300}"])
def test_bad_subcircuit_default_is_reported_at_the_subckt_line(tmp_path, default):
    text = f"t\nV1 n 0 1\n.subckt s a b params: r={default}\nR1 a b {{r}}\n.ends\nX1 n 0 s\n"
    err, path = error_of(tmp_path, text)
    at(err, path, 3, default[1:])
    assert err.message.startswith("default of parameter 'r' of 's' (for instance 'x1'): ")


# ---- what an error shows ------------------------------------------------------------------------


def test_a_megabyte_line_is_shown_as_a_window_around_the_caret(tmp_path, fast):
    text = "t\nV1 a 0 1\nR1 a 0 1 pad=1" + " " * 500_000 + "= xyz" + "z" * 500_000 + "\n"
    err, path = error_of(tmp_path, text, fast)
    source = path.read_text().split("\n")[2]
    assert len(source) > 1_000_000 and err.location.column == source.index("=", 20) + 1
    head, shown, caret, hint = err.render().split("\n")
    assert len(head) < 300 and len(shown) < 300
    assert shown.startswith("  ...") and shown.endswith("...")
    assert caret.strip() == "^"
    assert shown[caret.index("^"):].startswith("= xyz")
    assert shown[2:].replace("...", "") in source  # a true excerpt of the line


def test_a_megabyte_token_is_quoted_short(tmp_path, fast):
    err, path = error_of(tmp_path, "t\nV1 a 0 1\nR1 a 0 " + "x" * 1_000_000 + "\n", fast)
    assert err.message.startswith("resistor 'r1': undefined resistor model '" + "x" * 40 + "...'")
    assert len(err.render()) < 1000


def test_window_at_the_ends_of_a_long_line():
    line = "".join(chr(ord("a") + k % 26) for k in range(1000))
    for column in (1, 2, 50, 51, 500, 950, 999, 1000, 1001):
        err = NetlistError("m", location=SourceLocation("f", 1, column), source_line=line)
        _, shown, caret = err.render().split("\n")
        assert len(shown) <= 2 + 3 + 100 + 3
        k = caret.index("^")
        assert shown[k:k + 1] == line[column - 1:column]  # the caret's character (nothing past the end)
        assert shown.startswith("  ...") == (column > 51) and shown.endswith("...") == (column < 951)


def test_non_printable_bytes_are_escaped_and_the_caret_stays_aligned(tmp_path, fast):
    path = tmp_path / "net.cir"
    path.write_bytes(b"t\nV1 a 0 1\nR1 a\x1b[2J\x07 0 \x1b]0:owned\x07\x00oops 1\n")
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(path, fast=fast)
    rendered = info.value.render()
    assert all(ch.isprintable() for ch in rendered.replace("\n", ""))
    head, shown, caret, _ = rendered.split("\n")
    assert "'\\x1b]0:owned\\x07\\x00oops'" in head
    assert shown == "  R1 a\\x1b[2J\\x07 0 \\x1b]0:owned\\x07\\x00oops 1"
    assert shown[caret.index("^"):].startswith("\\x1b]0:owned")


def test_printable():
    assert printable("r1") == "r1"
    assert printable("a\x00b\u202ec\x7f") == "a\\x00b\\u202ec\\x7f"
    assert printable("x" * 50, 40) == "x" * 40 + "..."


def test_multi_line_messages_keep_their_lines():
    err = ResimError("first\nsecond\x1b", hint="h")
    assert err.render() == "first\nsecond\\x1b\nhint: h"


# ---- files that never end -------------------------------------------------------------------------


@pytest.mark.parametrize("device", [(1, 3), (1, 5)], ids=["null", "zero"])
def test_include_of_a_character_device_is_refused(tmp_path, device):
    os.mknod(tmp_path / "dev", stat.S_IFCHR | 0o666, os.makedev(*device))
    err, path = error_of(tmp_path, "t\nV1 a 0 1\nR1 a 0 1\n.include dev\n")
    at(err, path, 4, "dev")
    assert err.message == f"cannot read netlist file '{tmp_path / 'dev'}': not a regular file"


def test_include_of_a_fifo_is_refused_without_opening_it(tmp_path):
    """Opening a FIFO that no one writes waits forever: an `.include` of one used to hang.
    The netlist itself may still be a pipe (`resim solve <(cat x.cir)`)."""
    os.mkfifo(tmp_path / "pipe")
    err, path = error_of(tmp_path, "t\nV1 a 0 1\nR1 a 0 1\n.include pipe\n")
    at(err, path, 4, "pipe")
    assert err.message.endswith("not a regular file")


def test_netlist_argument_that_is_a_character_device_is_refused(tmp_path, capsys):
    os.mknod(tmp_path / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    code, out, err = cli(["solve", str(tmp_path / "zero")], capsys)
    assert code == 3 and out == ""
    assert err.startswith(f"error: cannot read netlist file '{tmp_path / 'zero'}': not a regular file")


def test_netlist_from_a_fifo_is_read(tmp_path):
    """``resim solve <(cat x.cir)`` hands resim a pipe: it must still work."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=("t\nV1 a 0 2\nR1 a 0 4\n",))
    writer.start()
    try:
        circuit = resim.load_netlist(fifo)
    finally:
        if writer.is_alive():  # the read failed before opening the pipe: let the writer finish
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join()
    assert resim.solve(circuit).current("r1") == pytest.approx(0.5)


def _memory(monkeypatch, have: int) -> None:
    """As if this process could take only ``have`` more bytes."""
    monkeypatch.setattr("resim.memory.available", lambda: (have, "the test's limit", False))


def test_a_file_is_held_against_the_memory_before_it_is_read(tmp_path, monkeypatch, capsys):
    """The 1 GiB limit is gone: a netlist is refused when reading and solving it would need
    more memory than the process may have (exit code 11), with the estimate that refused it."""
    from resim import memory

    text = "t\nV1 a 0 1\nR1 a 0 1\n" + "* padding\n" * 200
    (tmp_path / "net.cir").write_text(text)
    monkeypatch.setattr("resim.memory.NEED_FIXED", 0)
    need = memory.netlist_need(len(text))
    _memory(monkeypatch, need)
    assert resim.load_netlist(tmp_path / "net.cir")["r"].names == ("r1",)
    _memory(monkeypatch, need // 2)
    with pytest.raises(ResimError) as info:
        resim.load_netlist(tmp_path / "net.cir")
    err = info.value
    assert err.exit_code == 11 and type(err).__name__ == "OutOfMemory"
    assert err.message == (f"netlist file '{tmp_path / 'net.cir'}' (2.02 kB) would need about 6.06 kB of memory to "
                           f"read and solve (3 x its size + 0 bytes), more than the test's limit: 3.03 kB")
    code = run_args(["solve", str(tmp_path / "net.cir")])
    out, stderr = capsys.readouterr()
    assert code == 11 and out == "" and stderr.startswith("error: netlist file") and "Traceback" not in stderr


def test_an_included_file_refused_for_memory_names_the_include(tmp_path, monkeypatch):
    (tmp_path / "big.inc").write_text("R2 a 0 1\n" * 300)
    (tmp_path / "net.cir").write_text("t\nV1 a 0 1\n.include big.inc\n")
    _memory(monkeypatch, 1000)  # enough for net.cir, not for big.inc
    monkeypatch.setattr("resim.memory.NEED_FIXED", 0)
    with pytest.raises(ResimError) as info:
        resim.load_netlist(tmp_path / "net.cir")
    assert info.value.exit_code == 11 and "big.inc" in info.value.message
    assert (info.value.location.file, info.value.location.line) == (str(tmp_path / "net.cir"), 3)


def test_small_file_reserves_no_gigabyte(tmp_path):
    # a small netlist must not reserve much: under `ulimit -v` a 1 kB netlist would fail as
    # out of memory
    import tracemalloc

    (tmp_path / "small.cir").write_text("t\nV1 a 0 1\nR1 a 0 1\n")
    tracemalloc.start()
    try:
        text = reader_module.read_file(str(tmp_path / "small.cir"), None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert list(text) == ["t", "V1 a 0 1", "R1 a 0 1", ""] and peak < 1 << 20


def test_file_longer_than_its_size():
    # /proc files say 0 bytes: reading at the stated size must go on to the end
    text = "\n".join(reader_module.read_file("/proc/self/status", None))
    assert text.startswith("Name:") and text.endswith("\n") and len(text) > 100


def test_a_pipe_is_held_against_the_memory_as_it_is_read(tmp_path, monkeypatch):
    _memory(monkeypatch, 2000)
    monkeypatch.setattr("resim.memory.NEED_FIXED", 0)
    monkeypatch.setattr(reader_module, "_FIRST_CHECK", 100)
    monkeypatch.setattr(reader_module, "_READ_CHUNK", 64)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=("t\n" + "R1 a 0 1\n" * 400,))
    writer.start()
    try:
        with pytest.raises(ResimError) as info:
            reader_module.read_file(str(fifo), None)
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # the writer may still be writing: let it finish
        writer.join(timeout=5)
    assert info.value.exit_code == 11 and "stopped reading at" in info.value.message


# ---- nothing in it -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "only a title\n", "title\n* a comment\n\n   \n", "R1 a 0 1\n",
                                  "t\n.subckt s a\nR1 a 0 1\n.ends\n.end\n"],
                         ids=["zero-bytes", "title", "comments", "element-as-title", "unused-subckt"])
def test_netlist_without_elements_is_a_netlist_error(tmp_path, capsys, text):
    path = tmp_path / "net.cir"
    path.write_text(text)
    code, out, err = cli(["solve", str(path)], capsys)
    assert code == 3 and out == ""
    assert err.startswith(f"error: {path}:1:1: the netlist has no elements\n")
    assert "the first line of a netlist is its title" in err


def test_stdin_that_is_an_endless_device_is_refused(tmp_path):
    """`resim solve - < /dev/zero` read without end, in the client (with $RESIM_SERVER set)
    and in the command itself; a device node of /dev/zero's numbers in tmp_path stands
    in for it. A pipe still works (the netlist of the other tests)."""
    import subprocess
    import sys

    zero = tmp_path / "zero"
    os.mknod(zero, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    for env in ({}, {"RESIM_SERVER": str(tmp_path / "no-server.sock")}):
        with open(zero, "rb") as stdin:
            run = subprocess.run([sys.executable, "-c", "from resim._launch import main; main()", "solve", "-"],
                                 stdin=stdin, capture_output=True, text=True, timeout=120,
                                 env={**os.environ, **env})
        assert run.returncode == 3, run.stderr
        assert "cannot read the netlist from stdin: it is a device" in run.stderr


def test_the_client_puts_back_what_it_read_of_a_long_stdin(monkeypatch):
    import io

    from resim import client

    monkeypatch.setattr(client, "STDIN_LIMIT", 10)
    monkeypatch.setattr("sys.stdin", io.StringIO("x" * 25))
    with pytest.raises(client.NotServed):
        client._stdin_text()
    import sys

    assert sys.stdin.read(4) == "xxxx" and sys.stdin.read() == "x" * 21


def test_an_out_of_range_set_value_says_so(capsys):
    code, _, err = cli(["solve", str(Path(__file__).parent.parent / "netlists" / "divider.cir"), "--set", "R1=1e400"],
                       capsys)
    assert code == 2 and "out of range" in err and "not a number" not in err


# ---- far into a file ---------------------------------------------------------------------------------


BEYOND = 2**24 + 5  # past float32's exact integers, where a line number stored too narrowly would drift


def _long_netlist(path: Path, last: bytes) -> None:
    """A netlist whose line ``BEYOND`` is ``last``, after blank lines."""
    head = b"t\nV1 a 0 1\nR1 a 0 1\n"
    with open(path, "wb") as fh:
        fh.write(head + b"\n" * (BEYOND - 1 - head.count(b"\n")) + last + b"\n")


@pytest.mark.parametrize("last, message, column", [
    (b"R2 a 0 (1", "line ends early", 10),  # through the grammar: a syntax error, its column
    (b"R1 a 0 2", "element 'r1' is defined twice (first at", 1),  # a simple line, refused in elaboration
])
def test_errors_beyond_line_2_to_the_24_are_located(tmp_path, last, message, column):
    path = tmp_path / "long.cir"
    _long_netlist(path, last)
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(path)
    err = info.value
    assert (err.location.file, err.location.line, err.location.column) == (str(path), BEYOND, column), err.render()
    assert message in err.message and err.source_line == last.decode()
    assert f"{path}:{BEYOND}:{column}" in err.render()


@pytest.mark.parametrize("wide", [False, True])
def test_line_offsets_read_the_same_at_either_width(tmp_path, monkeypatch, wide):
    """Line offsets are uint32 below 4 GiB and int64 above (resim.netlist.text): forced to
    int64 here, a netlist's elements, names in the npz output and error locations are the same."""
    from resim.netlist import text as text_mod

    if wide:
        monkeypatch.setattr(text_mod, "_UINT32_BYTES", 0)
    path = tmp_path / "n.cir"
    path.write_text("t\nV1 a 0 1\n" + "".join(f"R{k} a n{k % 7} {k + 1}\n" for k in range(200)) + "R3 a 0 2\n")
    assert text_mod.NetlistText(path.read_bytes()).starts.dtype == (np.int64 if wide else np.uint32)
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(path)
    assert (info.value.location.line, info.value.location.column) == (203, 1)
    path.write_text(path.read_text().replace("R3 a 0 2\n", ""))
    c = resim.load_netlist(path)
    assert list(c["r"].names[:3]) == ["r0", "r1", "r2"] and c["r"].names.as_bytes()[199] == b"r199"


def test_a_mapped_netlist_changed_after_reading_is_an_error_not_other_names(tmp_path, monkeypatch):
    """Large netlists are memory-mapped and their names read as they are reported: a file
    rewritten meanwhile is refused (before: other names, or SIGBUS for a shorter file).
    Smaller ones are read into memory and owe the file nothing."""
    path = tmp_path / "net.cir"
    path.write_text("t\nV1 a 0 1\nR1 a b 1\nR2 b 0 1\n")
    small = resim.load_netlist(path)
    monkeypatch.setattr(reader_module, "MMAP_FROM", 0)
    mapped = resim.load_netlist(path)
    assert list(mapped["r"].names) == ["r1", "r2"]
    time.sleep(0.01)
    path.write_text("t\nV1 a 0 1\nRa a b 1\nRb b 0 1\n")
    with pytest.raises(NetlistError, match="changed after it was read"):
        list(mapped["r"].names)
    path.write_text("")  # shorter: reading the old offsets would be a bus error
    with pytest.raises(NetlistError, match="changed after it was read"):
        mapped["r"].names[1]
    assert list(small["r"].names) == ["r1", "r2"]


def test_a_small_netlist_solves_under_a_modest_ulimit_v(tmp_path, netlists_dir):
    """Under ``ulimit -v`` the address space already in use counts the interpreter and its
    libraries: they are not added again to what a netlist needs (a 200-byte netlist was
    refused under 300 MB)."""
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (300 << 20, 300 << 20))

    done = subprocess.run([sys.executable, "-m", "resim", "solve", str(netlists_dir / "divider.cir"), "--format",
                           "json", "-o", str(tmp_path / "op.json")], preexec_fn=limit, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
