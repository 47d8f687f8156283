"""SPICE numbers (resim/netlist/numbers.py) and {expressions} (resim/netlist/expressions.py).

Expressions are read through the whole front end (a ``.param`` line: grammar, tree
building, evaluation), so that precedence is tested where it is decided: in the grammar.
"""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import resim
from resim.errors import NetlistError
from resim.netlist.expressions import Expr, ExpressionError, evaluate
from resim.netlist.numbers import parse_number, scale_of, split_number

# ---- numbers ------------------------------------------------------------------------------

NUMBER_TABLE = [
    # plain decimals
    ("0", 0.0),
    ("5", 5.0),
    ("5.", 5.0),
    (".5", 0.5),
    ("+2.5", 2.5),
    ("-2.5", -2.5),
    ("1e3", 1e3),
    ("1E3", 1e3),
    ("1e+3", 1e3),
    ("2.5e-3", 2.5e-3),
    ("007", 7.0),
    # scale suffixes, case-insensitive
    ("1T", 1e12),
    ("1t", 1e12),
    ("1G", 1e9),
    ("1g", 1e9),
    ("1Meg", 1e6),
    ("1MEG", 1e6),
    ("1meg", 1e6),
    ("1K", 1e3),
    ("1k", 1e3),
    ("1m", 1e-3),
    ("1u", 1e-6),
    ("1U", 1e-6),
    ("1n", 1e-9),
    ("1p", 1e-12),
    ("1f", 1e-15),
    ("1mil", 25.4e-6),
    ("1MIL", 25.4e-6),
    ("4.7k", 4.7e3),
    # letters after a number are ignored, after the scale letter
    ("10kOhm", 1e4),
    ("10Ohm", 10.0),
    ("1V", 1.0),
    ("2uA", 2e-6),
    ("100nF", 100e-9),
    # ngspice surprises (each checked against ngspice 39)
    ("1F", 1e-15),  # farad? no: femto
    ("1Hz", 1.0),  # H is no suffix
    ("2X", 2.0),  # X is not Meg (it is in some other SPICEs)
    ("1mega", 1e6),  # meg...
    ("1milli", 25.4e-6),  # ...and mil... win over m
    ("1mA", 1e-3),
    ("1e3k", 1e6),  # exponent and suffix multiply
    ("1E-3MEG", 1e3),
    ("1e", 1.0),  # an 'e' without digits is a (meaningless) letter
    ("5.k", 5e3),
]


@pytest.mark.parametrize("token, expected", NUMBER_TABLE)
def test_parse_number_table(token, expected):
    value, warning = parse_number(token)
    assert value == pytest.approx(expected, rel=1e-15, abs=0.0)
    assert warning is None


@pytest.mark.parametrize("token, expected", [("1M", 1e-3), ("2.5M", 2.5e-3), ("1Ms", 1e-3), ("3MOhm", 3e-3)])
def test_capital_m_is_milli_with_a_warning(token, expected):
    value, warning = parse_number(token)
    assert value == pytest.approx(expected, rel=1e-15)
    assert warning is not None and "milli" in warning and "Meg" in warning and token in warning


@pytest.mark.parametrize("token, expected", [("1a", 1.0), ("2.5A", 2.5), ("3amp", 3.0)])
def test_no_atto_suffix_as_ngspice_with_a_warning(token, expected):
    """ngspice 39 has no atto suffix ('1a' is 1, checked with ngspice -b): follow it, warn."""
    value, warning = parse_number(token)
    assert value == expected
    assert warning is not None and "atto" in warning and token in warning


@pytest.mark.parametrize("token", ["1Meg", "1MEG", "1Mil", "1MIL", "1m", "1mOhm"])
def test_no_milli_warning_for_meg_mil_or_lower_m(token):
    assert parse_number(token)[1] is None


@pytest.mark.parametrize("token", ["", "abc", "e5", ".", "+", "-", "--1", "1.2.3", "1e5.5", "1,5", "k1", "1 2", "{1}"])
def test_not_numbers(token):
    assert split_number(token) is None
    with pytest.raises(ValueError):
        parse_number(token)


def test_split_number_and_scale_of():
    assert split_number("10kOhm") == ("10", "kOhm")
    assert split_number("-1.5e-3") == ("-1.5e-3", "")
    assert split_number("1e3Meg") == ("1e3", "Meg")
    assert scale_of("") == 1.0
    assert scale_of("Ohm") == 1.0
    assert scale_of("MEGA") == 1e6
    assert scale_of("Mil") == 25.4e-6
    assert scale_of("M") == 1e-3


def test_numbers_in_netlists_read_like_parse_number():
    c = resim.load_netlist("t\nR1 a 0 10kOhm\nR2 a 0 1Meg\nR3 a 0 1M\nR4 a 0 {2k + 1}\n")
    assert c["r"].value.tolist() == [1e4, 1e6, 1e-3, 2001.0]
    assert len(c.warnings) == 1 and "<text>:4:8" in c.warnings[0] and "milli" in c.warnings[0]


# ---- expressions: through .param ------------------------------------------------------------


def ev(expr: str, **scope: float) -> float:
    """The value of ``{expr}`` in a .param line, after .param lines for ``scope``."""
    lines = ["expr test"] + [f".param {k} = {v!r}" for k, v in scope.items()] + [f".param result = {{{expr}}}"]
    return resim.load_netlist("\n".join(lines) + "\n").params["result"]


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 2 - 3", 5.0),  # left-associative
        ("16 / 4 / 2", 2.0),
        ("2 * 3 / 4", 1.5),
        ("1 - 2 + 3", 2.0),
        ("2 ** 3", 8.0),
        ("2 ^ 3", 8.0),
        ("2 ** 3 ** 2", 64.0),  # left-associative, as ngspice 39's .param (Python says 512)
        ("2 ^ 3 ^ 2", 64.0),
        ("(2 ^ 3) ^ 2", 64.0),
        ("2 * 3 ** 2", 18.0),
        ("-2", -2.0),
        ("- -2", 2.0),
        ("+2", 2.0),
        ("-2 ** 2", -4.0),  # unary minus binds looser than ** (Python, and ngspice)
        ("-2 ^ 2", -4.0),
        ("(-2) ** 2", 4.0),
        ("2 ** -1", 0.5),
        ("-2 ** -2", -0.25),
        ("2 ** -1 ** 2", 0.25),  # (2 ** -1) ** 2, as ngspice 39
        ("2 * -3", -6.0),
        ("3 - -2", 5.0),
        ("1k + 1", 1001.0),
        ("2.5meg / 1k", 2500.0),
        ("sqrt(16)", 4.0),
        ("exp(0)", 1.0),
        ("log(1)", 0.0),
        ("ln(1)", 0.0),
        ("log10(1000)", 3.0),
        ("abs(-3)", 3.0),
        ("min(4, 2, 3)", 2.0),
        ("max(4, 2, 3)", 4.0),
        ("max(-1)", -1.0),
        ("pow(2, 10)", 1024.0),
        ("SQRT(4) + Max(1, 2)", 4.0),  # function names are case-insensitive
        ("sqrt(sqrt(16)) * 2", 4.0),
        ("pi", math.pi),
        ("2 * e", 2 * math.e),
        ("2e+1", 20.0),  # a number, not 2*e + 1
    ],
)
def test_expression_values(expr, expected):
    assert ev(expr) == expected


def test_expressions_with_parameters():
    assert ev("a * b + 1", a=2.0, b=3.0) == 7.0
    assert ev("A * B", a=2.0, b=3.0) == 6.0  # names are case-insensitive
    assert ev("-a ** 2", a=3.0) == -9.0
    assert ev("e", e=5.0) == 5.0  # a parameter shadows the constant
    assert ev("pi * r ** 2", r=2.0) == math.pi * 4.0


def test_quoted_and_unbraced_param_expressions():
    c = resim.load_netlist("t\n.param a = 2\n.param b = a * 3 + 1\n.param c = 'b - a'\n.param d = -a ** 2\n")
    assert c.params == {"a": 2.0, "b": 7.0, "c": 5.0, "d": -4.0}


@pytest.mark.parametrize(
    "expr, message",
    [
        ("1 / 0", "division by zero"),
        ("zz + 1", "undefined parameter 'zz'"),
        ("foo(1)", "unknown function 'foo'"),
        ("sqrt(-1)", "sqrt(-1.0): math domain error"),
        ("log(0)", "log(0.0): math domain error"),
        ("exp(1000)", "exp(1000.0): math range error"),
        ("2 ** 2000", "math range error"),
        ("0 ** -1", "math domain error"),  # (but (-8) ** (1 / 3) = |-8| ** (1 / 3) = 2, as ngspice 39)
        ("min()", "min() takes at least one argument, got 0"),
        ("pow(1)", "pow() takes 2 argument(s), got 1"),
        ("abs(1, 2)", "abs() takes 1 argument(s), got 2"),
    ],
)
def test_expression_errors(expr, message):
    with pytest.raises(NetlistError) as info:
        ev(expr)
    err = info.value
    assert err.message.startswith("parameter 'result': ")
    assert message in err.message
    assert err.location.line == 2


def test_expression_error_columns_point_into_the_expression():
    text = "t\n.param result = {1 + foo(2)}\n"
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(text)
    assert str(info.value.location) == "<text>:2:22"  # the 'f' of foo
    assert info.value.hint and "sqrt" in info.value.hint
    with pytest.raises(NetlistError) as info:
        resim.load_netlist("t\n.param a = 1\n.param result = {a * (2 + bb)}\n")
    assert str(info.value.location) == "<text>:3:27"  # bb
    assert info.value.hint == "define it with .param before it is used"


@pytest.mark.parametrize("expr", ["1 +", "(1 + 2", "1 + 2)", "1 2", "* 2", "f(1,", "1 ** ** 2", ""])
def test_expression_syntax_errors(expr):
    with pytest.raises(NetlistError) as info:
        ev(expr)
    assert info.value.location.line == 2


# ---- expressions: the evaluator directly ------------------------------------------------------


def test_evaluate_trees_directly():
    tree = ("add", ("num", 1.0), ("mul", ("var", "x", 5), ("neg", ("num", 2.0))))
    assert evaluate(tree, {"x": 3.0}) == -5.0
    expr = Expr(tree, column=1)
    assert expr.evaluate({"x": 1.0}) == -1.0
    assert expr.names() == {"x"}
    call = Expr(("call", "max", (("var", "a", 5), ("pow", ("var", "b", 9), ("num", 2.0))), 1), 1)
    assert call.names() == {"a", "b"}
    assert call.evaluate({"a": 1.0, "b": 3.0}) == 9.0


def test_evaluate_errors_carry_columns_and_hints():
    with pytest.raises(ExpressionError) as info:
        evaluate(("var", "nope", 7), {})
    assert info.value.column == 7 and info.value.hint
    with pytest.raises(ExpressionError) as info:
        evaluate(("call", "nope", (("num", 1.0),), 4), {})
    assert info.value.column == 4 and "sqrt" in info.value.hint
    with pytest.raises(ExpressionError) as info:
        evaluate(("div", ("num", 1.0), ("num", 0.0)), {})
    assert info.value.message == "division by zero" and info.value.column is None


# ---- property: random expression trees against Python arithmetic --------------------------------

# Python's precedence levels; the printer below writes the fewest parentheses Python needs, so
# resim's grammar must rebuild exactly the tree that was printed.
LEVEL = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4, "leaf": 5}
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}

finite = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, 0.5, 1.0, 2.0, 3.0, 10.0, 1e-300, 1e300, 5e-324, 1.7976931348623157e308]
)
leaf = st.one_of(
    finite.map(lambda v: ("num", v)),
    st.sampled_from(["a", "b", "c"]).map(lambda n: ("var", n)),
)


def extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(["add", "sub", "mul", "div", "pow"]), children, children),
        st.tuples(st.just("neg"), children),
        st.tuples(st.sampled_from(["sqrt", "exp", "abs"]), children).map(lambda t: ("call", t[0], (t[1],))),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(children, min_size=1, max_size=3)).map(
            lambda t: ("call", t[0], tuple(t[1]))
        ),
        st.tuples(children, children).map(lambda t: ("call", "pow", t)),
    )


trees = st.recursive(leaf, extend, max_leaves=12)


def level(t) -> int:
    return LEVEL.get(t[0], LEVEL["leaf"])


def render(t, draw) -> str:
    """``t`` as text with minimal parentheses (plus some redundant ones), random spacing and ``^``."""
    sp = draw(st.sampled_from(["", " "]))
    tag = t[0]
    if tag == "num":
        text = repr(t[1])
    elif tag == "var":
        text = draw(st.sampled_from([t[1], t[1].upper()]))
    elif tag == "call":
        text = t[1] + "(" + ("," + sp).join(render(a, draw) for a in t[2]) + ")"
    elif tag == "neg":
        inner = render(t[1], draw)
        if level(t[1]) < LEVEL["neg"]:
            inner = f"({inner})"
        text = "-" + (" " if inner.startswith("-") else sp) + inner
    elif tag == "pow":
        base, exponent = render(t[1], draw), render(t[2], draw)
        if level(t[1]) <= LEVEL["pow"]:  # (-a)**b and (a**b)**c need parentheses
            base = f"({base})"
        if t[2][0] not in ("num", "var", "call"):  # a**(b**c): ** is left-associative, as ngspice 39
            exponent = f"({exponent})"
        text = base + sp + draw(st.sampled_from(["**", "^"])) + sp + exponent
    else:
        left, right = render(t[1], draw), render(t[2], draw)
        if level(t[1]) < level(t):
            left = f"({left})"
        if level(t[2]) <= level(t):
            right = f"({right})"
        text = left + sp + SYMBOL[tag] + sp + right
    if draw(st.integers(0, 9)) == 0:
        text = f"({text})"
    return text


def python_value(t, scope):
    """The tree's value with Python floats; ``a ** b`` is C pow(|a|, b), ``pow(a, b)`` C pow(a, b),
    as in ngspice 39."""
    tag = t[0]
    if tag == "num":
        return t[1]
    if tag == "var":
        return scope[t[1]]
    if tag == "neg":
        return -python_value(t[1], scope)
    if tag == "call":
        args = [python_value(a, scope) for a in t[2]]
        fn = {"sqrt": math.sqrt, "exp": math.exp, "abs": abs, "min": lambda *v: min(v),
              "max": lambda *v: max(v), "pow": math.pow}[t[1]]
        return float(fn(*args))
    a, b = python_value(t[1], scope), python_value(t[2], scope)
    value = {"add": a + b, "sub": a - b, "mul": a * b}[tag] if tag in ("add", "sub", "mul") else (
        a / b if tag == "div" else math.pow(abs(a), b)
    )
    if not math.isfinite(value):  # resim refuses an operation whose result overflows
        raise OverflowError(f"{a} {tag} {b}")
    return value


def bits(x: float) -> bytes:
    return b"nan" if math.isnan(x) else struct.pack("<d", x)


@settings(max_examples=250, deadline=None)
@given(tree=trees, a=finite, b=finite, c=st.floats(-10, 10), data=st.data())
def test_random_expressions_match_python(tree, a, b, c, data):
    scope = {"a": a, "b": b, "c": c}
    text = render(tree, data.draw)
    try:
        expected = python_value(tree, scope)
    except (ValueError, OverflowError, ZeroDivisionError):
        expected = None
    try:
        got = ev(text, **scope)
    except NetlistError as exc:
        assert expected is None, f"{text!r}: resim raised {exc.message!r}, Python gives {expected!r}"
        return
    assert expected is not None, f"{text!r}: resim gives {got!r}, Python raises"
    assert bits(got) == bits(expected), f"{text!r}: resim {got!r} != Python {expected!r}"
