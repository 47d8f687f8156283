"""A safe evaluator for ``{expressions}`` in netlists (never Python ``eval``).

An expression is parsed by the netlist grammar (``grammar.lark``) and kept as a small tree
of tuples, evaluated later against a scope of parameters, so that a subcircuit body can be
evaluated once per instance with that instance's parameters::

    ("num", value) | ("var", name, column) | ("call", name, (args...), column)
    | (op, left, right) for op in add sub mul div mod pow, lt gt le ge eq ne, and or
    | ("chain", first, ((op, operand), ...))   # first op operand op operand ..., in order
    | ("neg", operand) | ("not", operand) | ("ternary", condition, if_true, if_false)

All the binary operators are left-associative, and a run of them (``1+1+...+1``, ``a*b-c``)
is one ``chain`` node, evaluated in a loop: the tree's depth is the expression's real
nesting (parentheses, calls, unary operators), never the length of a sum.

The operators are ngspice 39's (numparam): ``%`` is C fmod, ``**``/``^`` is ``|a| ** b``
(``(-2) ** 3`` is 8, as ngspice 39; ``pow(-2, 3)`` is -8), comparisons and ``&& || !`` give
1 or 0, a condition is true when nonzero; ``c ? a : b`` (and ``ternary_fcn(c, a, b)``) and
``&&``/``||`` evaluate only the operands they need.

Functions: those of :data:`FUNCTIONS` (ngspice's numparam set for DC: ``log`` is the natural
logarithm), user functions (``.func f(x) {...}``, kept in the scope under ``"f()"`` as a
:class:`Function`), and constants pi and e when no parameter of that name exists. A result
that is not a finite number (``1/0``, ``1e200 * 1e200``, ``sqrt(-1)``) is an error, never
infinity or NaN.

A user function's body is evaluated once per distinct values of what it depends on (its
arguments and the parameters its body, and the bodies it calls, name), so that a chain of
functions each calling the one before twice costs a call per level, not 2^k; the work that
memoising cannot save is bounded (:data:`MAX_WORK` for one expression, :func:`netlist_budget`
for all of a netlist's), and so is the nesting of an evaluation
through the bodies it calls (:data:`MAX_NESTING`): both are :class:`LimitError`, never a
hang or a RecursionError.

``v(a)`` and ``v(a, b)`` (``("node", name, column)`` arguments) are node voltages: only a
controlled source's ``VALUE`` may use them, and only affinely (:func:`affine`).
"""

from __future__ import annotations

import math
import operator
from collections import ChainMap
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


class ExpressionError(Exception):
    """Evaluation failed; ``column`` is 1-based within the logical line (or None)."""

    def __init__(self, message: str, column: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.column = column
        self.hint = hint
        self.inside: str | None = None  # the user function in whose body it happened

    def called_from(self, name: str, column: int) -> ExpressionError:
        """This error, raised in the body of user function ``name`` called at ``column``:
        located at the call (a body's columns are those of its ``.func`` line; the outermost
        call is where the user looks), and said to be inside ``name`` (the innermost)."""
        if self.inside is None:
            self.inside = name
            self.message = f"in {name}(): {self.message}"
        self.column = column
        return self


class LimitError(ExpressionError):
    """An evaluation past one of resim's bounds (:data:`MAX_NESTING`, :data:`MAX_WORK`,
    :data:`MAX_CALL_DEPTH`): named after the outermost user function it went through."""

    def __init__(self, what: str, hint: str):
        super().__init__(what, None, hint)
        self.what = what

    def called_from(self, name: str, column: int) -> ExpressionError:
        self.message = f"{name}(): {self.what}"
        self.column = column
        return self


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
        return {n[1] for n in walk(self.tree) if n[0] == "var"}


Value = Union[float, Expr]


@dataclass(frozen=True)
class Function:
    """A user function: its argument names and body, evaluated with the arguments bound."""

    name: str
    args: tuple[str, ...]
    body: Node


MAX_CALL_DEPTH = 50  # user functions calling each other deeper than this are refused (recursion)
# Levels of one evaluation, counting the bodies of the user functions it calls (a body
# nested 150 deep called from another nested 150 deep: 300); about one Python frame each,
# which keeps evaluation well off Python's recursion limit (1000 frames).
MAX_NESTING = 500
# Expression nodes evaluated in user-function bodies for one expression (each body once per
# distinct arguments): bounds the work of functions that call others with many different
# arguments (f_k(x) = f_{k-1}(2x) + f_{k-1}(2x+1): 2^k distinct calls); under half a second.
MAX_WORK = 100_000
# Steps of user-function work in all the expressions of one netlist (:func:`netlist_budget`):
# MAX_WORK once, plus this much per expression evaluated. A netlist of many expressions that
# each stay just under MAX_WORK (100 .param lines: 9 s) is refused after about MAX_WORK steps
# more than it may use, while ordinary function calls (tens of steps each) never come near.
WORK_PER_EXPRESSION = 1_000
# Binary operators, all left-associative: a chain of them (1+2-3*4) is one ("chain", first,
# ((op, operand), ...)) node (applied in order), evaluated in a loop, not one level each.
BINARY = frozenset(("add", "sub", "mul", "div", "mod", "pow", "lt", "gt", "le", "ge", "eq", "ne", "and", "or"))
_UNSET = object()


def links(node: Node) -> tuple[Node, tuple[tuple[str, Node], ...]]:
    """A binary node or a chain as its first operand and its ``(op, operand)`` links."""
    if node[0] == "chain":
        return node[1], node[2]
    return node[1], ((node[0], node[2]),)


def chain(first: Node, steps: list[tuple[str, Node]]) -> Node:
    """``first`` with the binary operations ``steps`` applied in order: a binary node for one."""
    if len(steps) == 1:
        return (steps[0][0], first, steps[0][1])
    return ("chain", first, tuple(steps))


def _children(node: Node) -> tuple | list:
    tag = node[0]
    if tag == "call":
        return node[2]
    if tag == "chain":
        return [node[1], *(operand for _, operand in node[2])]
    if tag in ("num", "var", "node"):
        return ()
    return node[1:]


def walk(node: Node):
    """Every node of the tree ``node`` (without recursion: chains may be long)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(_children(n))


def _nesting() -> LimitError:
    return LimitError(f"expression nested more than {MAX_NESTING} levels deep, counting the bodies of the user "
                      "functions it calls", "split it into several .param lines, or define the functions with "
                      "less nesting")


class _Work:
    """One evaluation's user-function calls: each body's value by the values it depends on
    (evaluated once per distinct arguments), and the steps spent (:data:`MAX_WORK`)."""

    __slots__ = ("memo", "deps", "sizes", "steps", "calls", "node_uses", "budget")

    def __init__(self) -> None:
        self.steps = 0
        self.calls = 0  # user-function calls in progress
        self.budget = _BUDGET.get()  # the netlist's (netlist_budget), or None
        if self.budget is not None:
            self.budget.expressions += 1

    def __getattr__(self, name: str) -> dict:
        """The tables (:attr:`memo`, :attr:`deps`, :attr:`sizes`, :attr:`node_uses`: id ->
        (the subtree, kept alive so that its id stays its own; whether it uses node voltages)),
        made on first use: most expressions call no user function."""
        if name not in self.__slots__:
            raise AttributeError(name)
        table: dict = {}
        setattr(self, name, table)
        return table

    def uses_nodes(self, node: Node) -> bool:
        """Whether ``node`` names a node voltage: found for every subtree in one pass and
        kept, so that :func:`affine`'s descent into a tree walks it once, not once a level."""
        tag = node[0]
        if tag in ("num", "var", "node"):
            return tag == "node"
        cache = self.node_uses
        hit = cache.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        stack = [(node, False)]
        while stack:
            n, children_done = stack.pop()
            if children_done:
                cache[id(n)] = (n, any(c[0] == "node" or (c[0] not in ("num", "var") and cache[id(c)][1])
                                       for c in _children(n)))
                continue
            hit = cache.get(id(n))
            if hit is not None and hit[0] is n:
                continue
            stack.append((n, True))
            stack.extend((c, False) for c in _children(n) if c[0] not in ("num", "var", "node"))
        return cache[id(node)][1]

    def key(self, fn: Function, scope: Mapping, *extra) -> tuple:
        """What a call of ``fn`` evaluated in ``scope`` depends on: the values there of every
        parameter name in its body and in the bodies of the functions it may call (resolved
        in ``scope``: the functions of one evaluation do not change)."""
        deps = self.deps.get(id(fn))
        if deps is None:
            names: set[str] = set()
            seen, todo = {id(fn)}, [fn]
            while todo:
                for n in walk(todo.pop().body):
                    if n[0] == "var":
                        names.add(n[1])
                    elif n[0] == "call":
                        callee = scope.get(n[1] + "()")
                        if isinstance(callee, Function) and id(callee) not in seen:
                            seen.add(id(callee))
                            todo.append(callee)
            deps = self.deps[id(fn)] = tuple(sorted(names))
        return (id(fn), *extra, *(scope.get(name, _UNSET) for name in deps))

    def size(self, fn: Function) -> int:
        """The number of nodes of ``fn``'s body."""
        size = self.sizes.get(id(fn))
        if size is None:
            size = self.sizes[id(fn)] = sum(1 for _ in walk(fn.body))
        return size

    def enter(self, fn: Function, size: int) -> None:
        """Start evaluating ``fn``'s body, of ``size`` nodes: refuse recursion past
        :data:`MAX_CALL_DEPTH` and work past :data:`MAX_WORK` (the caller lowers
        :attr:`calls` when the body is done)."""
        if self.calls >= MAX_CALL_DEPTH:
            raise LimitError(f"user functions nested more than {MAX_CALL_DEPTH} deep (recursion?)",
                             "a function may not call itself")
        self.steps += size
        if self.steps > MAX_WORK:
            raise LimitError(f"evaluating it takes more than {MAX_WORK:,} steps: user functions that call others "
                             "several times with different arguments take exponential time",
                             "simplify the .func definitions (compute a repeated call once, in a .param)")
        if self.budget is not None:
            self.budget.spend(size)
        self.calls += 1


class _Budget:
    """The user-function work of one netlist's expressions (:func:`netlist_budget`)."""

    __slots__ = ("steps", "expressions")

    def __init__(self) -> None:
        self.steps = 0
        self.expressions = 0

    def spend(self, steps: int) -> None:
        """Count ``steps``; :class:`LimitError` past ``MAX_WORK + WORK_PER_EXPRESSION`` per
        expression evaluated so far."""
        self.steps += steps
        allowed = MAX_WORK + WORK_PER_EXPRESSION * self.expressions
        if self.steps > allowed:
            raise LimitError(f"the netlist's expressions take more than {allowed:,} steps of user-function work "
                             f"in all ({self.expressions:,} expressions so far): many expressions each call "
                             "functions that do much work",
                             "simplify the .func definitions, or compute a repeated call once in a .param")


_BUDGET: ContextVar[_Budget | None] = ContextVar("resim_expression_budget", default=None)


@contextmanager
def netlist_budget() -> Iterator[None]:
    """Within it, every evaluation shares one bound on user-function work (:class:`_Budget`):
    :data:`MAX_WORK` once, plus :data:`WORK_PER_EXPRESSION` per expression evaluated. The
    bound of one expression (:data:`MAX_WORK`) alone lets a netlist of N expressions take
    N times half a second."""
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def evaluate(node: Node, scope: Mapping[str, float]) -> float:
    """The value of an expression tree; raises :class:`ExpressionError`."""
    return _evaluate(node, scope, 0, _Work())


def _evaluate(node: Node, scope: Mapping[str, float], depth: int, work: _Work) -> float:
    tag = node[0]
    if tag == "num":
        return node[1]
    if depth > MAX_NESTING:
        raise _nesting()
    depth += 1
    if tag == "var":
        name = node[1]
        if name in scope:
            return scope[name]
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        raise ExpressionError(
            f"undefined parameter '{name}'", node[2], "define it with .param before it is used"
        )
    op = _ARITHMETIC.get(tag)
    if op is not None:  # one binary operation (the most common node)
        a = _evaluate(node[1], scope, depth, work)
        return _binary(tag, op, a, _evaluate(node[2], scope, depth, work))
    if tag in BINARY or tag == "chain":
        first, steps = links(node)
        a = _evaluate(first, scope, depth, work)
        for tag, operand in steps:
            if tag in ("and", "or"):  # only as far as needed: 0 && 1/0 is 0, as ngspice
                if (a != 0.0) == (tag == "or"):
                    a = float(a != 0.0)
                else:
                    a = float(_evaluate(operand, scope, depth, work) != 0.0)
            else:
                a = _binary(tag, _ARITHMETIC[tag], a, _evaluate(operand, scope, depth, work))
        return a
    if tag == "neg":
        return -_evaluate(node[1], scope, depth, work)
    if tag == "not":
        return float(_evaluate(node[1], scope, depth, work) == 0.0)
    if tag == "ternary":
        return _evaluate(node[2] if _evaluate(node[1], scope, depth, work) != 0.0 else node[3], scope, depth, work)
    if tag == "call":
        name, args, column = node[1], node[2], node[3]
        user = scope.get(name + "()")
        if isinstance(user, Function):
            return _call(user, args, column, scope, depth, work)
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
        values = []
        for a in args:  # (a loop, not a comprehension: one Python frame less per level)
            values.append(_evaluate(a, scope, depth, work))
        try:
            return float(func(*values))
        except (ValueError, OverflowError) as exc:
            raise ExpressionError(f"{name}({', '.join(map(repr, values))}): {exc}", column) from None
    raise AssertionError(f"unknown expression node {tag!r}")


def _binary(tag: str, op: Callable[[float, float], float], a: float, b: float) -> float:
    """``a op b`` (``op``: the operator ``tag`` as ngspice computes it); a finite number or
    :class:`ExpressionError`."""
    try:
        value = op(a, b)
    except ZeroDivisionError:
        raise ExpressionError("division by zero", None, "the divisor evaluates to 0") from None
    except (ValueError, OverflowError) as exc:  # math.pow: 0 ** -1, or overflow
        hint = FINITE_HINT if isinstance(exc, OverflowError) else None
        raise ExpressionError(f"{a} {_SYMBOLS[tag]} {b}: {exc}", None, hint) from None
    if not math.isfinite(value):
        raise ExpressionError(f"{a} {_SYMBOLS[tag]} {b} overflows", None, FINITE_HINT)
    return value


def _fmod(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError
    return math.fmod(a, b)


# The binary operators but && and || (which evaluate their right operand only when needed).
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv, "mod": _fmod,
    "pow": lambda a, b: float(math.pow(abs(a), b)),  # ngspice 39: (-2) ** 3 = 8, (-8) ** (1/3) = 2
    "lt": lambda a, b: float(a < b), "gt": lambda a, b: float(a > b), "le": lambda a, b: float(a <= b),
    "ge": lambda a, b: float(a >= b), "eq": lambda a, b: float(a == b), "ne": lambda a, b: float(a != b),
}


def _call(fn: Function, args: tuple, column: int, scope: Mapping[str, float], depth: int, work: _Work) -> float:
    """A user function's value: its body with the arguments (evaluated here) bound, once per
    distinct values of what the body depends on (:meth:`_Work.key`)."""
    _check_arity(fn, args, column)
    values = []
    for a in args:
        values.append(_evaluate(a, scope, depth, work))
    inner = _bind(scope, dict(zip(fn.args, values)))
    key = work.key(fn, inner)
    hit = work.memo.get(key)
    if hit is not None:
        return hit
    try:
        work.enter(fn, work.size(fn))
        try:
            value = _evaluate(fn.body, inner, depth + 1, work)
        finally:
            work.calls -= 1
    except ExpressionError as exc:
        raise exc.called_from(fn.name, column) from None
    work.memo[key] = value
    return value


def _check_arity(fn: Function, args: tuple, column: int) -> None:
    if len(args) != len(fn.args):
        raise ExpressionError(f"{fn.name}() takes {len(fn.args)} argument(s), got {len(args)}", column)


def _bind(scope: Mapping, bound: dict) -> ChainMap:
    """``scope`` with the names of ``bound`` set (a chain of the maps, one flat list: no copy
    of the parameters per call, and no recursion in a lookup)."""
    if isinstance(scope, ChainMap):
        return ChainMap(bound, *scope.maps)
    return ChainMap(bound, scope)


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
    if tag in BINARY or tag == "chain":
        first, steps = links(node)
        return chain(_substitute(first, bindings), [(op, _substitute(b, bindings)) for op, b in steps])
    return (tag, *(_substitute(operand, bindings) for operand in node[1:]))


class NotAffine(ExpressionError):
    """An expression of node voltages that is not affine in them (``v(a) * v(b)``)."""


Affine = tuple[float, dict[tuple[str, str], float]]  # constant, {(node+, node-): coefficient}
_NOT_AFFINE = {"mul": "a product of node voltages", "div": "a division by a node voltage",
               "pow": "a power of a node voltage", "mod": "a remainder of a node voltage",
               "ternary": "a condition on node voltages", "not": "a logical operator on node voltages",
               "and": "a logical operator on node voltages", "or": "a logical operator on node voltages"}


def affine(node: Node, scope: Mapping[str, float]) -> Affine:
    """``node`` as ``c + sum(k * (v(p) - v(n)))``: an expression of parameters and node
    voltages ``v(p)``, ``v(p, n)`` that must be affine in the voltages (sums, differences,
    products and quotients by constants, ``c ? a : b`` with a constant condition, user
    functions whose body is affine in the arguments); raises :class:`NotAffine` at the
    operation that is not, and :class:`ExpressionError` as :func:`evaluate` does."""
    return _affine(node, scope, 0, _Work())


def _affine(node: Node, scope: Mapping[str, float], depth: int, work: _Work) -> Affine:
    if depth > MAX_NESTING:
        raise _nesting()
    depth += 1
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
    if not work.uses_nodes(node):
        return _evaluate(node, scope, depth, work), {}
    if tag == "ternary" and not work.uses_nodes(node[1]):
        return _affine(node[2] if _evaluate(node[1], scope, depth, work) != 0.0 else node[3], scope, depth, work)
    user = scope.get(node[1] + "()") if tag == "call" else None
    if isinstance(user, Function):  # f(v(a)): the body with the argument trees in place of its names
        return _affine_call(user, node[2], node[3], scope, depth, work)
    if tag == "neg":
        c, terms = _affine(node[1], scope, depth, work)
        return -c, {k: -v for k, v in terms.items()}
    if tag in BINARY or tag == "chain":
        first, steps = links(node)
        c, terms = _affine(first, scope, depth, work)
        uses = work.uses_nodes(first)
        for op, operand in steps:
            right = work.uses_nodes(operand)
            if not (uses or right):  # constants so far: as evaluate
                c = _evaluate(chain(("num", c), [(op, operand)]), scope, depth, work)
            elif op in ("add", "sub"):
                cb, tb = _affine(operand, scope, depth, work)
                sign = 1.0 if op == "add" else -1.0
                terms = dict(terms)
                for k, v in tb.items():
                    terms[k] = terms.get(k, 0.0) + sign * v
                c += sign * cb
            elif op == "mul" and not (uses and right):
                cb, tb = _affine(operand, scope, depth, work)
                k, (c, terms) = (c, (cb, tb)) if not uses else (cb, (c, terms))
                c, terms = k * c, {p: k * v for p, v in terms.items()}
            elif op == "div" and not right:
                d = _evaluate(operand, scope, depth, work)
                if d == 0.0:
                    raise ExpressionError("division by zero", None, "the divisor evaluates to 0")
                c, terms = c / d, {p: v / d for p, v in terms.items()}
            else:
                raise NotAffine(f"nonlinear expression: {_NOT_AFFINE.get(op, 'a comparison of node voltages')}", None,
                                "resim simulates controlled sources that are linear in node voltages")
            uses = uses or right
        return c, terms
    what = _NOT_AFFINE.get(tag, f"{node[1]}() of a node voltage" if tag == "call" else "")
    raise NotAffine(f"nonlinear expression: {what}", node[3] if tag == "call" else None,
                    "resim simulates controlled sources that are linear in node voltages")


def _affine_call(fn: Function, args: tuple, column: int, scope: Mapping[str, float], depth: int,
                 work: _Work) -> Affine:
    """:func:`affine` of a call of user function ``fn`` with argument trees ``args`` that use
    node voltages: its body with the trees in place of its names, once per distinct call."""
    _check_arity(fn, args, column)
    key = work.key(fn, scope, args)
    hit = work.memo.get(key)
    if hit is not None:
        return hit[0], dict(hit[1])
    body = _substitute(fn.body, dict(zip(fn.args, args)))
    try:
        work.enter(fn, sum(1 for _ in walk(body)))
        try:
            c, terms = _affine(body, scope, depth + 1, work)
        finally:
            work.calls -= 1
    except ExpressionError as exc:
        raise exc.called_from(fn.name, column) from None
    work.memo[key] = (c, terms)
    return c, dict(terms)
