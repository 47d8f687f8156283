"""ngspice 39's expression operators and numparam functions in resim's netlist expressions.

Every expected value below was printed by the installed ngspice 39 (``ngspice -b``) for
``.param p = {EXPR}``, ``V1 n 0 {p}``, ``R1 n 0 1`` and ``print v(n)``: the independent truth.
The operators: ``c ? a : b``, ``|| && == != <> < > <= >=``, ``%`` (C fmod), ``!``; comparisons
and logic give 1 or 0, a condition is true when nonzero.
"""

from __future__ import annotations

import pytest

import resim
from resim.errors import NetlistError
from resim.netlist.expressions import evaluate


def ev(expr: str, braces: bool = True) -> float:
    """The value of ``expr`` in a .param line (braced, or unbraced), with x=2 p=3 n=5."""
    body = f"{{{expr}}}" if braces else expr
    return resim.load_netlist(f"t\n.param x = 2 p = 3 n = 5\n.param result = {body}\n").params["result"]


NGSPICE_39 = [
    # the ternary, and its precedence: the condition takes everything left of '?'
    ("1 ? 2 : 3", 2.0), ("0 ? 2 : 3", 3.0), (" 0.1 ? 42 : 43", 42.0), ("-0.1 ? 42 : 43", 42.0),
    ("1 + 2 > 2 ? 5 : 6", 5.0), ("1 + 1 ? 5 : 6", 5.0), ("0 || 1 ? 5 : 6", 5.0),
    ("1 ? 2 : 3 + 10", 2.0), ("0 ? 2 : 3 + 10", 13.0), ("0 ? 1 : 0 || 1", 1.0), ("1 ? -1 : 2", -1.0),
    ("1 ? 2 : 0 ? 3 : 4", 2.0), ("0 ? 2 : 1 ? 3 : 4", 3.0), ("0 ? 2 : 0 ? 3 : 4", 4.0),
    ("1 ? (0 ? 5 : 6) : 7", 6.0), ("(1>2?2*4:1+2*3)+100", 107.0),
    ("x<p?p:n", 3.0), ("x>p?p:x>n?n:x", 2.0),
    # only the branch taken is evaluated (ngspice computes 1/0 = inf and drops it)
    ("1 ? 2 : 1/0", 2.0), ("0 ? 1/0 : 3", 3.0),
    # comparisons: one level, left-associative, below + and -
    ("3 > 2", 1.0), ("2 > 2", 0.0), ("2 >= 2", 1.0), ("1 >= 2", 0.0), ("1 <= 1", 1.0), ("3 < 2", 0.0),
    ("2 == 2", 1.0), ("2 != 2", 0.0), ("3 <> 2", 1.0), ("3 <> 3", 0.0), ("0.1+0.2 == 0.3", 0.0),
    ("2 < 3 < 1", 0.0), ("5 > 4 == 4", 0.0), ("2 == 2 > 0", 1.0), ("3 > 2 == 1", 1.0),
    ("2 > 1 + 1", 0.0), ("3 - 1 < 2 + 0", 0.0), ("1 - 1 < 1", 1.0), ("2 * 3 > 5", 1.0), ("-1 < 0", 1.0),
    ("1 + (2 > 1)", 2.0),
    # logic: && binds tighter than ||, both below the comparisons
    ("1 && 0.5", 1.0), ("0.1 && 0.2", 1.0), ("-0.1 && 0.2", 1.0), ("0 && 1", 0.0), ("0 || 0", 0.0),
    ("0.5 || 0", 1.0), ("0.1 || -0.2", 1.0), ("1 || 0 && 0", 1.0), ("0 && 0 || 1", 1.0),
    ("1 == 1 && 0", 0.0), ("0 && 1 == 1", 0.0), ("1 < 2 && 0", 0.0), ("1 && 2 == 2", 1.0),
    ("(3>2)||(1<4) ? 0.2 : 0.3", 0.2),
    # ! binds tightest, even over ^
    ("!0", 1.0), ("!2", 0.0), ("!0 + 1", 2.0), ("!1 == 0", 1.0), ("!2^0", 1.0), ("!0 * 3", 3.0),
    ("!(1) + 1", 1.0), ("-!0", -1.0), ("!x", 0.0),
    # % is C fmod, at the level of * and /
    ("7%3", 1.0), ("-7%3", -1.0), ("7.5%2", 1.5), ("-7.5 % 2", -1.5), ("7 % -3", 1.0),
    ("2*7%4", 2.0), ("7%3*2", 2.0), ("2 + 3 % 2", 3.0), ("2 * 3 % 4", 2.0), ("2^3%3", 2.0),
    # powers: |a| ** b, left-associative, unary minus looser
    ("-2^2", -4.0), ("-2**2", -4.0), ("-2^2 + 1", -3.0), ("(-2)^3", 8.0), ("(-2)**0.5", 2 ** 0.5),
    ("(-8)^(1/3)", 2.0), ("2^-1^2", 0.25), ("pow(-2, 3)", -8.0),
    # ternary_fcn: a nonzero condition is true
    ("ternary_fcn(1, 5, 6)", 5.0), ("ternary_fcn(0, 1, 2)", 2.0), ("ternary_fcn(0.5, 1, 2)", 1.0),
    ("ternary_fcn(x > 1, 10, 20)", 10.0),
]


@pytest.mark.parametrize("expr, expected", NGSPICE_39)
def test_operators_as_ngspice_39(expr, expected):
    assert ev(expr) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("expr, expected", [("1 + 2 > 2 ? 5 : 6", 5.0), ("x<p?p:n", 3.0), ("7%3", 1.0),
                                            ("3 <> 2", 1.0), ("1 && 0.5", 1.0), ("0 || 0", 0.0)])
def test_operators_in_unbraced_param(expr, expected):
    """Unbraced, the operators are not read as the start of the next assignment's name."""
    assert ev(expr, braces=False) == expected


def test_unbraced_param_still_takes_several_assignments():
    params = resim.load_netlist("t\n.param a = 2<3 b = a?7:8\n").params  # ngspice 39: b = 7
    assert (params["a"], params["b"]) == (1.0, 7.0)


def test_nested_ternary_in_the_then_branch_is_refused():
    """ngspice 39 evaluates ``1 ? 0 ? 5 : 6 : 7`` to 5 (C says 6): resim asks for parentheses."""
    with pytest.raises(NetlistError) as info:
        ev("1 ? 0 ? 5 : 6 : 7")
    assert "'?'" in info.value.message
    assert info.value.location.column == len(".param result = {1 ? 0 ") + 1


@pytest.mark.parametrize("expr, message", [
    ("7 % 0", "division by zero"),  # ngspice: -nan, refused by the element
    ("ternary_fcn(1, 2)", "ternary_fcn() takes 3 argument(s), got 2"),
    ("agauss(1, 0.1, 3)", "agauss() is a random draw"),  # ngspice: a new value at each run
    ("gauss(1, 0.1, 3)", "gauss() is a random draw"),
    ("unif(1, 0.1)", "unif() is a random draw"),
    ("aunif(1, 0.1)", "aunif() is a random draw"),
    ("limit(5, 1)", "limit() is a random draw"),
])
def test_operator_and_function_errors(expr, message):
    with pytest.raises(NetlistError) as info:
        ev(expr)
    assert message in info.value.message
    assert info.value.location.line == 3


def test_and_or_evaluate_only_what_they_need():
    div0 = ("div", ("num", 1.0), ("num", 0.0))
    assert evaluate(("and", ("num", 0.0), div0), {}) == 0.0
    assert evaluate(("or", ("num", 2.0), div0), {}) == 1.0
    assert evaluate(("not", ("var", "x", 1)), {"x": 0.0}) == 1.0


# ---- controlled sources: a VALUE that must be affine in node voltages ------------------------

SOURCES = "t\nV1 1 0 3\nV2 2 0 1\nRo o 0 1k\n.param k = 2\n"


def v_out(lines: str) -> float:
    result = resim.solve(resim.load_netlist(SOURCES + lines))
    assert result.certificate.ok()
    return result.voltage("o")


@pytest.mark.parametrize("lines, expected", [  # values printed by ngspice 39
    (".func diff(x,y) {x-y}\nE1 o 0 vol={diff(v(1), v(2))}\n", 2.0),
    (".func lin(x) {3*x + k}\nE1 o 0 vol={lin(v(1,2)) + ternary_fcn(k, v(2), 1/0)}\n", 9.0),
    ("E1 o 0 vol={k > 1 ? 2*v(1) : v(2)}\n", 6.0),
    (".func f(x) {2*x}\n.func g(x,y) {f(x) + y}\nE1 o 0 VALUE={g(v(1), k)}\n", 8.0),
])
def test_affine_value_with_functions_and_constant_conditions(lines, expected):
    assert v_out(lines) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("lines, word", [
    ("E1 o 0 vol={v(1) > 2 ? 1 : 0}\n", "condition"),
    ("E1 o 0 vol={v(1) > v(2)}\n", "comparison"),
    ("E1 o 0 vol={v(1) && 1}\n", "logical"),
    ("E1 o 0 vol={v(1) % 2}\n", "remainder"),
    (".func sq(x) {x*x}\nE1 o 0 vol={sq(v(1))}\n", "product"),
])
def test_nonlinear_value_is_refused(lines, word):
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(SOURCES + lines)
    assert "nonlinear" in info.value.message and word in info.value.message


def test_recursive_function_of_a_node_voltage_is_refused():
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(SOURCES + ".func f(x) {f(x) + 1}\nE1 o 0 vol={f(v(1))}\n")
    assert "recursion" in info.value.message
