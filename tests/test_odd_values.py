"""Odd values that were crashes, hangs or silent surprises (issue 23, items 3, 7, 9 and 11e).

* Temperatures at or below absolute zero (``.temp``, ``.options temp/tnom``, a model's
  ``TNOM``, a resistor's ``temp``/``dtemp``) are located netlist errors, never a
  ZeroDivisionError or a "math domain error".
* ``.func`` chains that call the one before twice are evaluated once per distinct argument
  (2^k by its closed form, and ngspice's own value for a shallow chain); expression work that
  memoising cannot save is refused as a located netlist error naming the function.
* A resistance that TC1/TC2/TCE make zero (ngspice: NaN) or not finite at the circuit's
  temperature is refused; one they make negative is kept, as ngspice does, with a warning.
* A flat sum of thousands of terms is computed; real nesting (parentheses, calls) is still
  bounded, and no RecursionError escapes, also through nested user-function bodies.
* Resistances that cancel (R1 = -1k in series with R2 = 1k) say so, naming the node and
  the resistors (exit 4), instead of "does not fit in double precision".

Netlists are real files in ``tmp_path``; the CLI runs in-process through ``run_args``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import resim
from resim.cli import run_args
from resim.errors import NetlistError
from resim.ngspice import run_op


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.cir"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str, kind=NetlistError) -> tuple[Exception, Path]:
    path = write(tmp_path, text)
    with pytest.raises(kind) as info:
        resim.solve(resim.load_netlist(path))
    return info.value, path


def located(err, path: Path, line: int, token: str) -> None:
    """``err`` names ``path``:``line`` with its column at ``token``, and has a hint."""
    assert (err.location.file, err.location.line) == (str(path), line), err.render()
    source = path.read_text().split("\n")[line - 1]
    assert source[err.location.column - 1:].startswith(token), (err.location, source)
    assert err.hint


# ---- item 3: temperatures at or below absolute zero ---------------------------------------------

DIODE = "V1 1 0 1\nR1 1 2 1k\nD1 2 0 dm\n.model dm D(IS=1e-14)\n"


@pytest.mark.parametrize(
    "card, token, what",
    [
        (".temp -273.15", "-273.15", "'.temp'"),  # was ZeroDivisionError
        (".temp -300", "-300", "'.temp'"),  # was "math domain error"
        (".temp {0 - 300}", "0 - 300", "'.temp'"),
        (".options temp=-500", "temp", "option 'temp'"),  # was "math domain error"
        (".options tnom=-300", "tnom", "option 'tnom'"),
        (".options tnom=-273.15", "tnom", "option 'tnom'"),
    ],
)
def test_a_temperature_at_or_below_absolute_zero_is_a_located_netlist_error(tmp_path, card, token, what):
    err, path = error_of(tmp_path, "t\n" + card + "\n" + DIODE)
    located(err, path, 2, token)
    assert err.exit_code == 3
    assert what in err.message and "absolute zero" in err.message
    assert "-273.15" in err.hint


def test_a_temperature_below_absolute_zero_is_refused_with_nothing_that_depends_on_it(tmp_path):
    """ngspice 39 solves ``.temp -300`` when no element depends on the temperature; resim
    refuses every temperature below absolute zero, the same way whatever the circuit holds."""
    err, path = error_of(tmp_path, "t\nV1 1 0 1\nR1 1 0 1k\n.temp -300\n")
    located(err, path, 4, "-300")


@pytest.mark.parametrize(
    "lines, line, token, words",
    [
        (".model dm D(IS=1e-14 TNOM=-300)\nV1 1 0 1\nR1 1 2 1k\nD1 2 0 dm\n", 2, ".model", ["'dm'", "TNOM"]),
        (".model rm R(R=1k TNOM=-274)\nV1 1 0 1\nR1 1 0 rm\n", 2, ".model", ["'rm'", "TNOM"]),
        ("V1 1 0 1\nR1 1 0 1k temp=-280\n", 3, "R1", ["'r1'", "-280"]),
        ("V1 1 0 1\nR1 1 0 1k dtemp=-400\n", 3, "R1", ["'r1'", "-373"]),
    ],
)
def test_model_and_instance_temperatures_below_absolute_zero(tmp_path, lines, line, token, words):
    err, path = error_of(tmp_path, "t\n" + lines)
    located(err, path, line, token)
    assert "absolute zero" in err.message
    for w in words:
        assert w in err.message


def test_cli_exit_3_for_a_temperature_below_absolute_zero(tmp_path, capsys):
    path = write(tmp_path, "t\n.temp -273.15\n" + DIODE)
    assert run_args(["solve", str(path)]) == 3
    err = capsys.readouterr().err
    assert f"{path}:2:7:" in err and "internal error" not in err and "hint:" in err


def test_a_temperature_just_above_absolute_zero_is_read(tmp_path):
    circuit = resim.load_netlist(write(tmp_path, "t\n.temp -273\nV1 1 0 1\nR1 1 0 1k\n"))
    assert circuit.temperature == pytest.approx(0.15)


# ---- item 9a: a resistance that TC makes zero, negative or not finite --------------------------


@pytest.mark.parametrize(
    "card, value",
    [
        ("R1 1 2 1k tc1=-0.01", "0"),  # 1 - 0.01 * 100 = 0 at 127 C
        ("R1 1 2 1k tc1=0 tc2=-1e-4", "0"),
        ("R1 1 2 1k tce=-1e6", "0"),  # 1.01^(-1e8) underflows to 0
        ("R1 1 2 1k tce=1e6", "inf"),  # 1.01^(1e8) overflows (was an internal error)
        ("R1 1 2 1k tc2=1e306", "inf"),  # 1e310 (was read as an open circuit)
    ],
)
def test_a_resistance_that_tc_makes_zero_or_not_finite_is_refused(tmp_path, card, value):
    """ngspice gives NaN (zero ohm: a conductance of 1/0); resim refuses, naming the
    resistor, the temperature and the value."""
    err, path = error_of(tmp_path, f"t\n.temp 127\nV1 1 0 1\n{card}\nR2 2 0 1k\n")
    located(err, path, 4, "R1")
    assert "'r1'" in err.message and "127 C" in err.message and f"{value} ohm" in err.message


def test_a_model_tc_that_makes_a_resistance_zero_is_refused(tmp_path):
    err, path = error_of(tmp_path, "t\n.temp 127\n.model rm R(tc1=-0.01)\nV1 1 0 1\nR1 1 2 1k rm\nR2 2 0 1k\n")
    located(err, path, 5, "R1")
    assert "'r1'" in err.message and "127 C" in err.message


def test_a_resistance_that_tc_makes_negative_is_kept_with_a_warning(tmp_path, ngspice):
    """ngspice 39 solves it as it solves a negative resistance on a card (R1 = -500 ohm: v(2)
    = 2 V); resim agrees, and says where the sign came from."""
    text = "t\n.temp 127\nV1 1 0 1\nR1 1 2 1k tc1=-0.015\nR2 2 0 1k\n.op\n.end\n"
    circuit = resim.load_netlist(write(tmp_path, text))
    assert circuit["r"].value[list(circuit["r"].names).index("r1")] == pytest.approx(-500.0)
    warning = [w for w in circuit.warnings if "'r1'" in w]
    assert len(warning) == 1 and ":4:" in warning[0] and "negative" in warning[0] and "127 C" in warning[0]
    theirs = run_op(text, ngspice=ngspice).voltages["2"]
    assert resim.solve(circuit).voltage("2") == pytest.approx(theirs, rel=1e-9) == pytest.approx(2.0)
