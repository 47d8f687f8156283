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
from resim.errors import NetlistError, TopologyError
from resim.netlist.expressions import MAX_NESTING
from resim.netlist.values import MAX_EXPRESSION_DEPTH
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


@pytest.mark.parametrize(
    "temp, model, value",
    [
        ("-270", "D(IS=1e-14)", "0 A"),  # 3.15 K: exp(-1.11 eV / kT) underflows (was "IS must be positive, got 0.0")
        ("-273.1499999", "D(IS=1e-14)", "0 A"),
        ("1e300", "D(IS=1e-14)", "inf A"),  # T^XTI overflows (was an internal error, OverflowError)
        ("1e300", "D(IS=1e-14 ISR=1e-12)", "inf A"),
    ],
)
def test_a_saturation_current_that_the_temperature_takes_out_of_range_is_refused(tmp_path, temp, model, value):
    """ngspice 39 gives NaN at these temperatures; resim refuses, naming the model, the
    parameter, its temperature and the value it takes there, and says what would fix it."""
    err, path = error_of(tmp_path, f"t\n.temp {temp}\nV1 1 0 1\nR1 1 2 1k\nD1 2 0 dm\n.model dm {model}\n")
    located(err, path, 6, ".model")
    assert err.exit_code == 3
    assert "'dm'" in err.message and "IS=1e-14 A" in err.message and f"{float(temp):g} C" in err.message
    assert f"is {value} there" in err.message and "temperature" in err.hint


def test_a_breakdown_knee_at_an_absurd_temperature_prints_no_numpy_warning(tmp_path):
    """At .temp 1e100 a diode's IS stays finite but IS BV / Vt overflows: the knee is BV (as
    an infinite IS BV / Vt says), and no numpy RuntimeWarning reaches the user's stderr."""
    import warnings

    import resim

    text = "t\n.temp 1e100\nV1 a 0 1\nR1 a b 1k\nD1 0 b dz\n.model dz D(IS=1e-14 BV=5 TCV=0.001)\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = resim.solve(resim.load_netlist(text))
    assert result.voltage("a") == 1.0


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


# ---- item 7: exponential expression work ------------------------------------------------------


def doubling_chain(depth: int, argument: str = "0") -> str:
    """``f1(x) = x + 1``, ``f_k(x) = f_{k-1}(x) + f_{k-1}(x)``: ``f_k(a) = 2^(k-1) (a + 1)``."""
    lines = ["func chain", ".func f1(x) {x+1}"]
    lines += [f".func f{k}(x) {{f{k - 1}(x)+f{k - 1}(x)}}" for k in range(2, depth + 1)]
    lines += [f"V1 1 0 {{f{depth}({argument})}}", "R1 1 0 1k", ".op", ".end"]
    return "\n".join(lines) + "\n"


def test_a_doubling_chain_of_45_functions_is_evaluated_once_per_argument(tmp_path):
    """The issue's 1.3 KB netlist (2^44 calls evaluated naively: minutes); memoised, 45 calls."""
    text = doubling_chain(45)
    assert len(text) < 1400
    circuit = resim.load_netlist(write(tmp_path, text))
    assert circuit["v"].value[0] == 2.0 ** 44


def test_a_doubling_chain_agrees_with_ngspice(tmp_path, ngspice):
    text = doubling_chain(8, "0.25")
    ours = resim.solve(resim.load_netlist(write(tmp_path, text))).voltage("1")
    theirs = run_op(text, ngspice=ngspice).voltages["1"]
    assert ours == theirs == 2.0 ** 7 * 1.25


def test_a_doubling_chain_of_node_voltages_in_a_value(tmp_path):
    """The same chain in an E source's VALUE (affine in v(a)): f45(v(a)) = 2^44 (v(a) + 1)."""
    text = doubling_chain(45).replace("V1 1 0 {f45(0)}", "V1 a 0 0.5\nE1 1 0 VALUE={f45(v(a)) * 2^-44}")
    assert resim.solve(resim.load_netlist(write(tmp_path, text))).voltage("1") == 1.5


def test_exponential_work_in_a_value_is_refused(tmp_path):
    lines = ["t", ".func f1(x) {x+1}"]
    lines += [f".func f{k}(x) {{f{k - 1}(2*x)+f{k - 1}(2*x+1)}}" for k in range(2, 41)]
    lines += ["V1 a 0 1", "E1 o 0 VALUE={f40(v(a))}", "R1 o 0 1k"]
    err, path = error_of(tmp_path, "\n".join(lines) + "\n")
    located(err, path, 43, "f40(v(a))")
    assert "f40" in err.message and "VALUE" in err.message


def test_memoised_calls_see_their_callers_parameters(tmp_path):
    """A body that names a parameter it does not take sees the caller's value (resim's
    scoping): calls with the same argument but another such value are not confused."""
    text = ("t\n.param y=10\n.func g(a) {a + y}\n.func h(y) {g(1) + g(1)}\n"
            "V1 1 0 {g(1) + h(100) + g(1)}\nR1 1 0 1k\n")
    circuit = resim.load_netlist(write(tmp_path, text))
    assert circuit["v"].value[0] == 11 + 2 * 101 + 11


def test_expression_work_that_memoising_cannot_save_is_a_located_netlist_error(tmp_path):
    """Distinct arguments at every level (2x and 2x+1: 2^40 different calls) cannot be memoised: refused,
    naming the function the element calls, at the element's line."""
    lines = ["t", ".func f1(x) {x+1}"]
    lines += [f".func f{k}(x) {{f{k - 1}(2*x)+f{k - 1}(2*x+1)}}" for k in range(2, 41)]
    lines += ["V1 1 0 1", "R1 1 0 {1k + f40(0)}"]
    err, path = error_of(tmp_path, "\n".join(lines) + "\n")
    located(err, path, 43, "f40(0)")
    assert "f40" in err.message and "value of 'r1'" in err.message
    assert err.exit_code == 3


def _doubling_functions(depth: int) -> list[str]:
    """f1 .. f<depth>, each calling the one before at two distinct arguments: f<depth>(x)
    takes 2^depth calls that memoising cannot save."""
    return [".func f1(x) {x+1}", *(f".func f{k}(x) {{f{k - 1}(2*x)+f{k - 1}(2*x+1)}}" for k in range(2, depth + 1))]


def test_many_expressions_each_under_the_bound_are_refused_in_all(tmp_path):
    """Each .param below stays under MAX_WORK (2^13 calls of a few steps), so each alone is
    allowed; 100 of them took 9 s. The netlist's expressions share a budget, MAX_WORK plus
    1,000 steps per expression, so the second such line is refused, located at it."""
    lines = ["t", *_doubling_functions(13)]
    lines += [f".param p{i} = {{f13({i})}}" for i in range(100)]
    lines += ["V1 1 0 {p0}", "R1 1 0 1k"]
    err, path = error_of(tmp_path, "\n".join(lines) + "\n")
    assert err.exit_code == 3 and "in all" in err.message and "steps of user-function work" in err.message
    assert err.location.line < 14 + 100  # refused early, not after the 100 lines
    one = resim.load_netlist("t\n" + "\n".join(_doubling_functions(13)) + "\n.param p0 = {f13(0)}\nV1 1 0 {p0}\nR1 1 0 1k\n")
    assert one["v"].value[0] == sum(range(1, 2 ** 12 + 1))  # x+1 at the 2^12 leaves x = 0 .. 2^12-1: allowed alone


def test_ordinary_function_calls_in_many_expressions_stay_within_the_budget(tmp_path):
    """3,000 elements each calling a small function: about 10 steps each, far under the
    1,000 per expression the netlist's budget allows."""
    lines = ["t", ".func half(x) {x/2 + 0*x}", "V1 n0 0 1"]
    lines += [f"R{i} n0 0 {{half({i + 2}k)}}" for i in range(3000)]
    circuit = resim.load_netlist("\n".join(lines) + "\n")
    assert circuit["r"].value[0] == 1000.0 and len(circuit["r"].value) == 3000


def test_an_error_inside_a_function_body_is_located_at_the_call(tmp_path):
    """Was located at the element's line with the column of the .func's body."""
    err, path = error_of(tmp_path, "t\n.func f(x) {x+yy}\nV1 1 0 1\nR1 1 0 {2*f(1)}\n")
    located(err, path, 4, "f(1)")
    assert "undefined parameter 'yy'" in err.message and "f" in err.message


# ---- item 9b: long flat chains are computed, real nesting is bounded -------------------------


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("terms", [250, 5000])
def test_a_flat_sum_is_computed(tmp_path, fast, terms):
    """``{1+1+...}`` of 250 terms was refused as "nested more than 200 levels"; ngspice
    computes it (checked for 250 in test_a_flat_sum_of_250_terms_agrees_with_ngspice)."""
    text = "t\nV1 1 0 1\nR1 1 0 {" + "+".join(["1"] * terms) + "}\n"
    circuit = resim.load_netlist(write(tmp_path, text), fast=fast)
    assert circuit["r"].value[0] == terms


def test_a_flat_sum_of_250_terms_agrees_with_ngspice(tmp_path, ngspice):
    text = "t\nV1 1 0 {" + "+".join(["0.01"] * 250) + "}\nR1 1 0 1k\n.op\n.end\n"
    ours = resim.solve(resim.load_netlist(write(tmp_path, text))).voltage("1")
    theirs = run_op(text, ngspice=ngspice).voltages["1"]
    assert ours == pytest.approx(2.5, rel=1e-12) and theirs == pytest.approx(2.5, rel=1e-12)


def test_long_chains_of_every_left_associative_operator(tmp_path):
    text = ("t\n.param a = {" + "*".join(["1.001"] * 3000) + "}\n"
            ".param b = {" + "-".join(["1"] * 3000) + "}\n"
            ".param c = {" + " && ".join(["1"] * 3000) + "}\n"
            ".param d = {2" + "/2" * 1000 + " * 2^1000}\n"
            "V1 1 0 1\nR1 1 0 1k\n")
    params = resim.load_netlist(write(tmp_path, text)).params
    assert params["a"] == pytest.approx(1.001 ** 3000, rel=1e-9)
    assert params["b"] == 1 - 2999
    assert params["c"] == 1.0
    assert params["d"] == 2.0


@pytest.mark.parametrize(
    "expression, token",
    [("1+(" * 5000 + "1" + ")" * 5000, "1+(1+("),  # right-nested: real nesting
     ("-(" * 5000 + "1" + ")" * 5000, "1)"),  # (the caret at its first token)
     ("sqrt(" * 5000 + "1" + ")" * 5000, "sqrt(sqrt(")],
)
def test_real_nesting_is_still_refused(tmp_path, expression, token):
    err, path = error_of(tmp_path, "t\nV1 1 0 1\nR1 1 0 {" + expression + "}\n")
    located(err, path, 3, token)
    assert f"nested more than {MAX_EXPRESSION_DEPTH} levels deep" in err.message


def test_nested_function_bodies_never_raise_a_recursion_error(tmp_path, capsys):
    """Each body nests 150 levels around a call of the one before: 20 of them nest 3,000
    levels in all (was a RecursionError, exit 1)."""
    body = "1*(" * 150 + "{}" + ")" * 150
    lines = ["t", ".func f1(x) {" + body.format("x") + "}"]
    lines += [f".func f{k}(x) {{" + body.format(f"f{k - 1}(x)") + "}" for k in range(2, 21)]
    lines += ["V1 1 0 {f20(1)}", "R1 1 0 1k"]
    err, path = error_of(tmp_path, "\n".join(lines) + "\n")
    located(err, path, 22, "f20(1)")
    assert f"more than {MAX_NESTING} levels" in err.message
    assert run_args(["solve", str(path)]) == 3
    assert "RecursionError" not in capsys.readouterr().err


def test_nested_function_bodies_within_the_limit_are_evaluated(tmp_path):
    body = "1*(" * 20 + "{}" + ")" * 20
    lines = ["t", ".func f1(x) {" + body.format("x+1") + "}"]
    lines += [f".func f{k}(x) {{" + body.format(f"f{k - 1}(x)") + "}" for k in range(2, 11)]
    lines += ["V1 1 0 {f10(1)}", "R1 1 0 1k"]
    assert resim.load_netlist(write(tmp_path, "\n".join(lines) + "\n"))["v"].value[0] == 2.0


# ---- item 11e: resistances that cancel -------------------------------------------------------------


def test_resistances_that_cancel_say_so(tmp_path, capsys):
    """R1 = -1k in series with R2 = 1k: the conductance at node 2 is 1/-1k + 1/1k = 0, so
    its KCL row is all zeros (was: "does not fit in double precision", exit 6)."""
    text = "neg\nV1 1 0 1\nR1 1 2 -1k\nR2 2 0 1k\n.op\n.end\n"
    err, path = error_of(tmp_path, text, TopologyError)
    located(err, path, 3, "R1")
    assert "node 2" in err.message and "r1" in err.message and "r2" in err.message
    assert "cancel" in err.message and "double precision" not in err.message
    assert run_args(["solve", str(path)]) == 4
    assert "cancel" in capsys.readouterr().err


def test_cancelling_resistances_across_two_nodes(tmp_path):
    """No single node sums to zero (a: 1/-500 + 1/250, b: 2/250), but r1 = -500 ohm cancels
    the 500-ohm path r2 + r3 from a to ground: the nodal matrix [[2, -4], [-4, 8]] mS is
    singular, and I1's current has nowhere to go."""
    text = "neg\nV1 1 0 1\nR0 1 0 1k\nI1 0 a 1m\nR1 a 0 -500\nR2 a b 250\nR3 b 0 250\n"
    err, path = error_of(tmp_path, text, TopologyError)
    located(err, path, 5, "R1")
    assert "r1" in err.message and "a, b" in err.message and "double precision" not in err.message
