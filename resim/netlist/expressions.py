"""A safe evaluator for ``{expressions}`` in netlists (never Python ``eval``).

An expression is parsed by the netlist grammar (``grammar.lark``) and kept as a small tree
of tuples, evaluated later against a scope of parameters, so that a subcircuit body can be
evaluated once per instance with that instance's parameters::

    ("num", value) | ("var", name, column) | ("call", name, (args...), column)
    | (op, left, right) for op in add sub mul div mod pow, lt gt le ge eq ne, and or
    | ("neg", operand) | ("not", operand) | ("ternary", condition, if_true, if_false)

The operators are ngspice 39's (numparam): ``%`` is C fmod, ``**``/``^`` is ``|a| ** b``
(``(-2) ** 3`` is 8, as ngspice 39; ``pow(-2, 3)`` is -8), comparisons and ``&& || !`` give
1 or 0, a condition is true when nonzero; ``c ? a : b`` (and ``ternary_fcn(c, a, b)``) and
``&&``/``||`` evaluate only the operands they need.

Functions: those of :data:`FUNCTIONS` (ngspice's numparam set for DC: ``log`` is the natural
logarithm), user functions (``.func f(x) {...}``, kept in the scope under ``"f()"`` as a
:class:`Function`), and constants pi and e when no parameter of that name exists. A result
that is not a finite number (``1/0``, ``1e200 * 1e200``, ``sqrt(-1)``) is an error, never
infinity or NaN.

``v(a)`` and ``v(a, b)`` (``("node", name, column)`` arguments) are node voltages: only a
controlled source's ``VALUE`` may use them, and only affinely (:func:`affine`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Union

from .numbers import FINITE_HINT

Node = tuple

def _sign(x: float) -> float:
    return float((x > 0) - (x < 0))


FUNCTIONS: dict[str, tuple[Callable[..., float], int | None]] = {
    "sqrt": (math.sqrt, 1),
    "exp": (math.exp, 1),
    "log": (math.log, 1),
    "ln": (math.log, 1),
    "log10": (math.log10, 1),
    "abs": (abs, 1),
    "min": (lambda *v: min(v), None),  # min(x) of one float would raise TypeError
    "max": (lambda *v: max(v), None),
    "pow": (math.pow, 2),
    "pwr": (lambda x, y: abs(x) ** y, 2),  # ngspice 39: |x|^y (pwr(-2, 3) = 8)
    "sqr": (lambda x: x * x, 1),
    "sgn": (_sign, 1),
    "sin": (math.sin, 1), "cos": (math.cos, 1), "tan": (math.tan, 1),
    "asin": (math.asin, 1), "acos": (math.acos, 1), "atan": (math.atan, 1), "arctan": (math.atan, 1),
    "sinh": (math.sinh, 1), "cosh": (math.cosh, 1), "tanh": (math.tanh, 1),
    "asinh": (math.asinh, 1), "acosh": (math.acosh, 1), "atanh": (math.atanh, 1),
    "floor": (math.floor, 1), "ceil": (math.ceil, 1), "int": (math.trunc, 1),
    "nint": (lambda x: float(round(x)), 1),  # halves to even, as ngspice 39
    "ternary_fcn": (lambda c, a, b: a if c else b, 3),  # (3 arguments are read as a "ternary" node)
}
# ngspice's Monte Carlo functions: a new random draw at each evaluation, even in .op.
RANDOM_FUNCTIONS = ("agauss", "gauss", "unif", "aunif", "limit")


def pwl_at_zero(*points: float) -> float:
    """The value at t = 0 of a PWL waveform ``t1 v1 t2 v2 ...``: ``v1`` before ``t1``, linear
    between points, the last value after the last point (as ngspice)."""
    times, values = points[0::2], points[1::2]
    if not values:
        raise ValueError("PWL needs a time and a value")
    if times[0] >= 0.0:
        return values[0]
    for t0, v0, t1, v1 in zip(times, values, times[1:], values[1:]):
        if t0 <= 0.0 <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (0.0 - t0) / (t1 - t0)
    return values[-1]


PWL_AT_ZERO = "pwl(t=0)"  # the function a PWL source's value is when its points are expressions (no user can call it)
FUNCTIONS[PWL_AT_ZERO] = (pwl_at_zero, None)
_CONSTANTS = {"pi": math.pi, "e": math.e}
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%", "pow": "**"}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "lt": lambda a, b: a < b, "gt": lambda a, b: a > b, "le": lambda a, b: a <= b,
    "ge": lambda a, b: a >= b, "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
}


class ExpressionError(Exception):
    """Evaluation failed; ``column`` is 1-based within the logical line (or None)."""

    def __init__(self, message: str, column: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.column = column
        self.hint = hint


@dataclass(frozen=True)
class Expr:
    """An unevaluated expression and the column where it starts (for error messages)."""

    tree: Node
    column: int
    text: str = ""

    def evaluate(self, scope: Mapping[str, float]) -> float:
        return evaluate(self.tree, scope)

    def names(self) -> set[str]:
        """Parameter names the expression refers to."""
        out: set[str] = set()
        _collect(self.tree, out)
        return out


Value = Union[float, Expr]


@dataclass(frozen=True)
class Function:
    """A user function: its argument names and body, evaluated with the arguments bound."""

    name: str
    args: tuple[str, ...]
    body: Node


MAX_CALL_DEPTH = 50  # user functions calling each other deeper than this are refused (recursion)


def _collect(node: Node, out: set[str]) -> None:
    tag = node[0]
    if tag == "var":
        out.add(node[1])
    elif tag == "call":
        for a in node[2]:
            if a[0] != "node":
                _collect(a, out)
    elif tag != "num":
        for operand in node[1:]:
            _collect(operand, out)


def evaluate(node: Node, scope: Mapping[str, float], depth: int = 0) -> float:
    """The value of an expression tree; raises :class:`ExpressionError`."""
    tag = node[0]
    if tag == "num":
        return node[1]
    if tag == "var":
        name = node[1]
        if name in scope:
            return scope[name]
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        raise ExpressionError(
            f"undefined parameter '{name}'", node[2], "define it with .param before it is used"
        )
    if tag == "neg":
        return -evaluate(node[1], scope, depth)
    if tag == "not":
        return float(evaluate(node[1], scope, depth) == 0.0)
    if tag == "ternary":
        return evaluate(node[2] if evaluate(node[1], scope, depth) != 0.0 else node[3], scope, depth)
    if tag in ("and", "or"):  # only as far as needed: 0 && 1/0 is 0, as ngspice
        first = evaluate(node[1], scope, depth) != 0.0
        if first == (tag == "or"):
            return float(first)
        return float(evaluate(node[2], scope, depth) != 0.0)
    if tag == "call":
        name, args, column = node[1], node[2], node[3]
        user = scope.get(name + "()")
        if isinstance(user, Function):
            return _call(user, args, column, scope, depth)
        if args and args[0][0] == "node":
            raise ExpressionError(f"{name}() of a node is allowed only in a controlled source's VALUE", column,
                                  "use node voltages in E/G VALUE={...} expressions")
        if name in RANDOM_FUNCTIONS:
            raise ExpressionError(f"{name}() is a random draw in ngspice (Monte Carlo); resim has no random parameters",
                                  column, "replace it by its nominal value (its first argument)")
        fn = FUNCTIONS.get(name)
        if fn is None:
            raise ExpressionError(
                f"unknown function '{name}'", column, "available: " + " ".join(sorted(f for f in FUNCTIONS if "(" not in f))
            )
        func, arity = fn
        if (arity is not None and len(args) != arity) or (arity is None and not args):
            want = f"{arity} argument(s)" if arity else "at least one argument"
            raise ExpressionError(f"{name}() takes {want}, got {len(args)}", column)
        values = [evaluate(a, scope, depth) for a in args]
        try:
            return float(func(*values))
        except (ValueError, OverflowError) as exc:
            raise ExpressionError(f"{name}({', '.join(map(repr, values))}): {exc}", column) from None
    a = evaluate(node[1], scope, depth)
    b = evaluate(node[2], scope, depth)
    try:
        value = _binary(tag, a, b)
    except ZeroDivisionError:
        raise ExpressionError("division by zero", None, "the divisor evaluates to 0") from None
    except (ValueError, OverflowError) as exc:  # math.pow: 0 ** -1, or overflow
        hint = FINITE_HINT if isinstance(exc, OverflowError) else None
        raise ExpressionError(f"{a} {_SYMBOLS[tag]} {b}: {exc}", None, hint) from None
    if not math.isfinite(value):
        raise ExpressionError(f"{a} {_SYMBOLS[tag]} {b} overflows", None, FINITE_HINT)
    return value


def _binary(tag: str, a: float, b: float) -> float:
    if tag == "add":
        return a + b
    if tag == "sub":
        return a - b
    if tag == "mul":
        return a * b
    if tag == "div":
        return a / b
    if tag == "mod":
        if b == 0.0:
            raise ZeroDivisionError
        return math.fmod(a, b)
    if tag == "pow":
        return float(math.pow(abs(a), b))  # ngspice 39: (-2) ** 3 = 8, (-8) ** (1/3) = 2
    if tag in _COMPARE:
        return float(_COMPARE[tag](a, b))
    raise AssertionError(f"unknown expression node {tag!r}")


def _call(fn: Function, args: tuple, column: int, scope: Mapping[str, float], depth: int) -> float:
    """A user function's value: its body with the arguments (evaluated here) bound."""
    _check_call(fn, args, column, depth)
    inner = dict(scope)
    inner.update(zip(fn.args, (evaluate(a, scope, depth) for a in args)))
    return evaluate(fn.body, inner, depth + 1)


def _check_call(fn: Function, args: tuple, column: int, depth: int) -> None:
    """Refuse a call of ``fn`` with the wrong number of arguments, or nested too deep."""
    if len(args) != len(fn.args):
        raise ExpressionError(f"{fn.name}() takes {len(fn.args)} argument(s), got {len(args)}", column)
    if depth >= MAX_CALL_DEPTH:
        raise ExpressionError(f"{fn.name}(): user functions nested more than {MAX_CALL_DEPTH} deep (recursion?)",
                              column, "a function may not call itself")


def _substitute(node: Node, bindings: Mapping[str, Node]) -> Node:
    """``node`` with each ``("var", name)`` of ``bindings`` replaced by its tree."""
    tag = node[0]
    if tag == "var":
        return bindings.get(node[1], node)
    if tag == "call":
        args = tuple(a if a[0] == "node" else _substitute(a, bindings) for a in node[2])
        return (tag, node[1], args, node[3])
    if tag == "num":
        return node
    return (tag, *(_substitute(operand, bindings) for operand in node[1:]))


class NotAffine(ExpressionError):
    """An expression of node voltages that is not affine in them (``v(a) * v(b)``)."""


Affine = tuple[float, dict[tuple[str, str], float]]  # constant, {(node+, node-): coefficient}


def affine(node: Node, scope: Mapping[str, float], depth: int = 0) -> Affine:
    """``node`` as ``c + sum(k * (v(p) - v(n)))``: an expression of parameters and node
    voltages ``v(p)``, ``v(p, n)`` that must be affine in the voltages (sums, differences,
    products and quotients by constants, ``c ? a : b`` with a constant condition, user
    functions whose body is affine in the arguments); raises :class:`NotAffine` at the
    operation that is not, and :class:`ExpressionError` as :func:`evaluate` does."""
    tag = node[0]
    if tag == "call" and node[1] == "v" and node[2] and all(a[0] == "node" for a in node[2]):
        args = node[2]
        if len(args) > 2:
            raise ExpressionError(f"v() takes one or two nodes, got {len(args)}", node[3])
        pair = (args[0][1], args[1][1] if len(args) == 2 else "0")
        return 0.0, {pair: 1.0}
    if tag == "call" and node[1] == "i" and node[2] and node[2][0][0] == "node":
        raise NotAffine("i(...): a current-controlled source is not supported", node[3],
                        "resim reads controlled sources of node voltages")
    if not _uses_nodes(node):
        return evaluate(node, scope), {}
    if tag == "ternary" and not _uses_nodes(node[1]):
        return affine(node[2] if evaluate(node[1], scope) != 0.0 else node[3], scope, depth)
    user = scope.get(node[1] + "()") if tag == "call" else None
    if isinstance(user, Function):  # f(v(a)): the body with the argument trees in place of its names
        _check_call(user, node[2], node[3], depth)
        return affine(_substitute(user.body, dict(zip(user.args, node[2]))), scope, depth + 1)
    if tag == "neg":
        c, terms = affine(node[1], scope, depth)
        return -c, {k: -v for k, v in terms.items()}
    if tag in ("add", "sub"):
        (ca, ta), (cb, tb) = affine(node[1], scope, depth), affine(node[2], scope, depth)
        sign = 1.0 if tag == "add" else -1.0
        terms = dict(ta)
        for k, v in tb.items():
            terms[k] = terms.get(k, 0.0) + sign * v
        return ca + sign * cb, terms
    if tag == "mul" and not (_uses_nodes(node[1]) and _uses_nodes(node[2])):
        (ca, ta), (cb, tb) = affine(node[1], scope, depth), affine(node[2], scope, depth)
        k, (c, terms) = (ca, (cb, tb)) if not ta else (cb, (ca, ta))
        return k * c, {p: k * v for p, v in terms.items()}
    if tag == "div" and not _uses_nodes(node[2]):
        c, terms = affine(node[1], scope, depth)
        d = evaluate(node[2], scope)
        if d == 0.0:
            raise ExpressionError("division by zero", None, "the divisor evaluates to 0")
        return c / d, {p: v / d for p, v in terms.items()}
    what = {"mul": "a product of node voltages", "div": "a division by a node voltage",
            "pow": "a power of a node voltage", "mod": "a remainder of a node voltage",
            "ternary": "a condition on node voltages", "not": "a logical operator on node voltages",
            "and": "a logical operator on node voltages", "or": "a logical operator on node voltages",
            }.get(tag, f"{node[1]}() of a node voltage" if tag == "call" else "a comparison of node voltages")
    raise NotAffine(f"nonlinear expression: {what}", node[3] if tag == "call" else None,
                    "resim simulates controlled sources that are linear in node voltages")


def _uses_nodes(node: Node) -> bool:
    tag = node[0]
    if tag == "call":
        return any(a[0] == "node" or _uses_nodes(a) for a in node[2])
    if tag in ("num", "var", "node"):
        return False
    return any(_uses_nodes(operand) for operand in node[1:])
