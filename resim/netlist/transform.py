"""Parse trees to statements: what one logical line of the grammar says.

:func:`statement` turns the tree :func:`.grammar.parse_line` made of one line into a
statement of :mod:`.statements` (or a list of them, for ``.param``): names and node names
in lower case (``gnd`` is node ``0``), plain numbers read by :func:`.numbers.parse_number`
(its warnings are added to ``warnings``), braced expressions kept as an
:class:`~.expressions.Expr` tree, evaluated later. What a statement means in its place
(inside a subcircuit or not, defined twice, an ``.include`` to read) is :mod:`.reader`'s.

This is a plain walk over the tree, one function per grammar rule, not a ``lark.Transformer``
with ``v_args``: on the Lark-only netlist of ``bench/parse_rate.py`` (19,470 element lines)
the Transformer took 16-23 microseconds a line for this step against the walk's 9-12 (Lark's
parse itself takes 31), it recurses where an expression may nest thousands of levels deep
(its non-recursive variant took 21-22), and it reads a card's operands in another order than
the walk, so a line with two bad numbers would be reported at the other one.
"""

from __future__ import annotations

from typing import Any, Callable

from ..elements import BY_RULE
from .expressions import Expr, ExpressionError, Value
from .numbers import FINITE_HINT, NumberRangeError, parse_number
from .source import LogicalLine
from .statements import DcStmt, ElementStmt, End, Ends, Include, ModelStmt, Op, ParamStmt, SubcktDef
from .syntax_errors import statement_label

MAX_EXPRESSION_DEPTH = 200  # nesting of an expression's tree (keeps evaluation off Python's recursion limit)

Statement = ElementStmt | ModelStmt | SubcktDef | DcStmt | Ends | Include | Op | End | list[ParamStmt] | None


def statement(tree: Any, line: LogicalLine, warnings: list[str]) -> Statement:
    """The statement that ``tree`` (a ``lark.Tree`` of :func:`.grammar.parse_line`) of ``line`` says.

    None for a dot command resim ignores (with a warning, except ``.control``/``.endc``).
    Raises :class:`NetlistError` at the offending column for a number out of range, an
    expression nested too deeply, a model parameter that is not a constant, and an
    instance that names no subcircuit.
    """
    return _RULES[tree.data](tree, line, warnings)


# ---- elements -------------------------------------------------------------------------------
# Each element rule's kind is BY_RULE[tree.data] (resim.elements); the functions read the card's shape.


def _card(tree, line: LogicalLine, nodes: tuple[str, ...], value: Value, ref: str | None = None,
          params: dict[str, Value] | None = None) -> ElementStmt:
    return ElementStmt(BY_RULE[tree.data].letter, _lower(tree.children[0]), nodes, value, ref, params or {},
                       line.location(1), line)


def _resistor(tree, line, warnings):
    name, n1, n2, value, *assign = tree.children
    params = dict(_assignment(a, line, warnings) for a in assign)
    return _card(tree, line, (_node(n1), _node(n2)), _value(value, line, warnings), None, params)


def _source(tree, line, warnings):
    name, n1, n2, spec = tree.children
    value: Value = 0.0
    for child in spec.children:
        if getattr(child, "type", None) == "AC_KW":
            break
        if not hasattr(child, "type"):
            value = _value(child, line, warnings)
    return _card(tree, line, (_node(n1), _node(n2)), value)


def _diode(tree, line, warnings):
    name, n1, n2, model, *area = tree.children
    value = _value(area[0], line, warnings) if area else 1.0
    return _card(tree, line, (_node(n1), _node(n2)), value, _lower(model))


def _controlled(tree, line, warnings):
    name, a, b, c, d, value = tree.children
    return _card(tree, line, tuple(_node(n) for n in (a, b, c, d)), _value(value, line, warnings))


def _instance(tree, line, warnings):
    name = _lower(tree.children[0])
    words = [c for c in tree.children[1:] if getattr(c, "type", None) == "NAME"]
    assigns = [c for c in tree.children[1:] if getattr(c, "data", None) == "assignment"]
    params = dict(_assignment(a, line, warnings) for a in assigns)
    if len(words) < 1:
        raise line.error(1, f"subcircuit instance '{name}' names no subcircuit", "write: Xname node... subckt_name [params]")
    return _card(tree, line, tuple(_node(w) for w in words[:-1]), 0.0, _lower(words[-1]), params)


# ---- dot commands ---------------------------------------------------------------------------


def _model(tree, line, warnings):
    _, name, mtype, *rest = tree.children
    params: dict[str, float] = {}
    for mp in rest:
        if getattr(mp, "data", None) != "model_param":
            continue
        key, value = _assignment(mp.children[0], line, warnings)
        if isinstance(value, Expr):
            value = _const(value, line)
        params[key] = value
    return ModelStmt(_lower(name), _lower(mtype), params, line.location(1), line)


def _param(tree, line, warnings):
    out = []
    for pa in tree.children[1:]:
        if getattr(pa, "data", None) != "param_assign":
            continue
        key_tok, expr_tree = pa.children
        key = _lower(key_tok)
        out.append(ParamStmt(key, _expr(expr_tree, line, warnings), line.location(key_tok.column), line))
    return out


def _subckt(tree, line, warnings):
    name = _lower(tree.children[1])
    ports = tuple(_lower(c) for c in tree.children[2:] if getattr(c, "type", None) == "NAME")
    defaults = dict(
        _assignment(a, line, warnings) for a in tree.children[2:] if getattr(a, "data", None) == "assignment"
    )
    return SubcktDef(name, ports, defaults, [], line.location(1), line)


def _ends(tree, line, warnings):
    if len(tree.children) > 1:
        return Ends(_lower(tree.children[1]), tree.children[1].column, line)
    return Ends(None, 1, line)


def _include(tree, line, warnings):
    token = tree.children[1]
    raw = str(token)
    return Include(raw[1:-1] if raw.startswith('"') else raw, token.column, line)


def _op(tree, line, warnings):
    return Op()


def _dc(tree, line, warnings):
    kids = tree.children[1:]
    sweeps = []
    for k in range(0, len(kids), 4):
        src = _lower(kids[k])
        sweeps.append((src, *(_value(v, line, warnings) for v in kids[k + 1 : k + 4])))
    return DcStmt(sweeps, line)


def _end(tree, line, warnings):
    return End()


def _other_dot(tree, line, warnings):
    word = str(tree.children[0]).lower()
    if word not in (".endc", ".control"):
        warnings.append(f"{line.location(1)}: warning: '{word}' is not supported and was ignored")
    return None


_RULES: dict[str, Callable[[Any, LogicalLine, list[str]], Statement]] = {
    "resistor": _resistor, "vsource": _source, "isource": _source, "diode": _diode, "vcvs": _controlled,
    "vccs": _controlled, "instance": _instance, "model": _model, "param": _param, "subckt": _subckt,
    "ends": _ends, "include": _include, "op": _op, "dc": _dc, "end": _end, "other_dot": _other_dot,
}


# ---- values ---------------------------------------------------------------------------------


def _lower(token: Any) -> str:
    return str(token).lower()


def _node(token) -> str:
    name = str(token).lower()
    return "0" if name == "gnd" else name


def _assignment(tree, line: LogicalLine, warnings: list[str]) -> tuple[str, Value]:
    key, value = tree.children
    return _lower(key), _value(value, line, warnings)


def _value(tree, line: LogicalLine, warnings: list[str]) -> Value:
    """A value node: a plain number (float) or a braced expression (Expr)."""
    if tree.data == "number":
        return _number(tree.children[0], line, warnings)
    assert tree.data == "braced"
    return _expr(tree.children[0], line, warnings)


def _number(token, line: LogicalLine, warnings: list[str]) -> float:
    """The value of a number token, noting ngspice's surprising readings as warnings; a
    NetlistError at the token when it is out of range."""
    try:
        value, warning = parse_number(str(token))
    except NumberRangeError as exc:
        raise line.error(token.column, f"{statement_label(line.text)}: {exc}", FINITE_HINT) from None
    if warning:
        warnings.append(f"{line.location(token.column)}: warning: {warning}")
    return value


def _const(value: Expr, line: LogicalLine) -> float:
    try:
        return value.evaluate({})
    except ExpressionError as exc:
        raise line.error(value.column, f"model parameters must be constants here: {exc.message}", exc.hint) from None


# ---- expressions ----------------------------------------------------------------------------


class _TooDeep(Exception):
    """An expression's tree is deeper than MAX_EXPRESSION_DEPTH (raised by _ast, reported by _expr)."""


def _expr(tree, line: LogicalLine, warnings: list[str]) -> Value:
    """An expression subtree as an :class:`Expr` (or a float when it is a plain number)."""
    try:
        ast, column = _ast(tree, line, warnings)
    except _TooDeep:
        from lark import Token

        while not isinstance(tree, Token):  # the expression's first token, for the caret
            tree = tree.children[0]
        raise line.error(tree.column, f"{statement_label(line.text)}: expression nested more than "
                         f"{MAX_EXPRESSION_DEPTH} levels deep", "split it into several .param lines") from None
    if ast[0] == "num":
        return ast[1]
    return Expr(ast, column, line.text)


def _ast(tree, line: LogicalLine, warnings: list[str], depth: int = 0) -> tuple[tuple, int]:
    """The expression tree of :mod:`.expressions` for ``tree``, and the column where it starts."""
    from lark import Token

    if depth > MAX_EXPRESSION_DEPTH:
        raise _TooDeep
    depth += 1
    if isinstance(tree, Token):  # a bare IDENT or UNUMBER (inlined by ?rules)
        if tree.type == "IDENT":
            return ("var", str(tree).lower(), tree.column), tree.column
        return ("num", _number(tree, line, warnings)), tree.column
    tag = tree.data
    if tag == "number":
        return _ast(tree.children[0], line, warnings, depth)
    if tag == "var":
        return _ast(tree.children[0], line, warnings, depth)
    if tag == "call":
        name = tree.children[0]
        args = tuple(_ast(a, line, warnings, depth)[0] for a in tree.children[1:] if a is not None)
        return ("call", str(name).lower(), args, name.column), name.column
    if tag == "neg":
        inner, col = _ast(tree.children[0], line, warnings, depth)
        if inner[0] == "num":
            return ("num", -inner[1]), col
        return ("neg", inner), col
    if tag in ("add", "sub", "mul", "div", "pow"):
        kids = [k for k in tree.children if not (isinstance(k, Token) and k.type == "POW_OP")]
        left, col = _ast(kids[0], line, warnings, depth)
        right, _ = _ast(kids[1], line, warnings, depth)
        return (tag, left, right), col
    if tag in ("braced", "expr", "sum", "product", "power", "unary", "atom"):
        return _ast(tree.children[0], line, warnings, depth)
    raise AssertionError(f"unexpected expression node {tag}")
