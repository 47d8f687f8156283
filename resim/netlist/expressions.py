"""A safe evaluator for ``{expressions}`` in netlists (never Python ``eval``).

An expression is parsed by the netlist grammar (``grammar.lark``) and kept as a small tree
of tuples, evaluated later against a scope of parameters, so that a subcircuit body can be
evaluated once per instance with that instance's parameters::

    ("num", value) | ("var", name, column) | ("call", name, (args...), column)
    | (op, left, right) for op in add sub mul div pow | ("neg", operand)

Functions: sqrt exp log ln log10 abs min max pow; constants pi and e when no parameter
of that name exists. A result that is not a finite number (``1/0``, ``1e200 * 1e200``,
``sqrt(-1)``) is an error, never infinity or NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Union

from .numbers import FINITE_HINT

Node = tuple

_FUNCTIONS: dict[str, tuple[Callable[..., float], int | None]] = {
    "sqrt": (math.sqrt, 1),
    "exp": (math.exp, 1),
    "log": (math.log, 1),
    "ln": (math.log, 1),
    "log10": (math.log10, 1),
    "abs": (abs, 1),
    "min": (lambda *v: min(v), None),  # min(x) of one float would raise TypeError
    "max": (lambda *v: max(v), None),
    "pow": (math.pow, 2),
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


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


def _collect(node: Node, out: set[str]) -> None:
    tag = node[0]
    if tag == "var":
        out.add(node[1])
    elif tag == "call":
        for a in node[2]:
            _collect(a, out)
    elif tag == "neg":
        _collect(node[1], out)
    elif tag != "num":
        _collect(node[1], out)
        _collect(node[2], out)


def evaluate(node: Node, scope: Mapping[str, float]) -> float:
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
        return -evaluate(node[1], scope)
    if tag == "call":
        name, args, column = node[1], node[2], node[3]
        fn = _FUNCTIONS.get(name)
        if fn is None:
            raise ExpressionError(
                f"unknown function '{name}'", column, "available: " + " ".join(sorted(_FUNCTIONS))
            )
        func, arity = fn
        if (arity is not None and len(args) != arity) or (arity is None and not args):
            want = f"{arity} argument(s)" if arity else "at least one argument"
            raise ExpressionError(f"{name}() takes {want}, got {len(args)}", column)
        values = [evaluate(a, scope) for a in args]
        try:
            return float(func(*values))
        except (ValueError, OverflowError) as exc:
            raise ExpressionError(f"{name}({', '.join(map(repr, values))}): {exc}", column) from None
    a = evaluate(node[1], scope)
    b = evaluate(node[2], scope)
    try:
        value = _binary(tag, a, b)
    except ZeroDivisionError:
        raise ExpressionError("division by zero", None, "the divisor evaluates to 0") from None
    except (ValueError, OverflowError) as exc:  # math.pow: a negative base, or overflow
        hint = FINITE_HINT if isinstance(exc, OverflowError) else None
        raise ExpressionError(f"{a} ** {b}: {exc}", None, hint) from None
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
    if tag == "pow":
        return float(math.pow(a, b))
    raise AssertionError(f"unknown expression node {tag!r}")
