"""Parse-tree values to numbers and expressions: the leaves every statement shares.

:func:`value` reads a value node of the grammar (a plain number, or a ``{braced}``
expression kept as an :class:`~.expressions.Expr`), :func:`number` one number token (its
ngspice surprises noted as warnings), :func:`expression` an expression subtree. Numbers out
of range and expressions nested deeper than :data:`MAX_EXPRESSION_DEPTH` are located errors:
the nesting of parentheses, calls and unary operators, not the length of a run of binary
operators (``1+1+...+1`` is one chain, however long).
"""

from __future__ import annotations

from typing import Any

from .expressions import Expr, Value, chain
from .numbers import FINITE_HINT, NumberRangeError, parse_number
from .source import LogicalLine
from .syntax_errors import statement_label

MAX_EXPRESSION_DEPTH = 200  # real nesting of an expression (keeps reading and evaluating it off Python's recursion limit)
# Functions whose arguments are node names, not expressions: v(a), v(a, b) (and i(vname), refused later).
NODE_FUNCTIONS = ("v", "i")


# ---- values --------------------------------------------------------------------------


def lower(token: Any) -> str:
    """A token's text in lower case (names are case-insensitive)."""
    return str(token).lower()


def node(token: Any) -> str:
    """A node name as resim keeps it: lower case, ``gnd`` is ground ``0``."""
    name = str(token).lower()
    return "0" if name == "gnd" else name


def assignment(tree, line: LogicalLine, warnings: list[str]) -> tuple[str, Value]:
    """``(key, value)`` of an ``assignment`` node (``key=value``)."""
    key, rhs = tree.children
    return lower(key), value(rhs, line, warnings)


def value(tree, line: LogicalLine, warnings: list[str]) -> Value:
    """A value node: a plain number (float) or a braced expression (Expr)."""
    if tree.data == "number":
        return number(tree.children[0], line, warnings)
    assert tree.data == "braced"
    return expression(tree.children[0], line, warnings)


def number(token, line: LogicalLine, warnings: list[str]) -> float:
    """The value of a number token, noting ngspice's surprising readings as warnings; a
    NetlistError at the token when it is out of range."""
    try:
        result, warning = parse_number(str(token))
    except NumberRangeError as exc:
        raise line.error(token.column, f"{statement_label(line.text)}: {exc}", FINITE_HINT) from None
    if warning:
        warnings.append(f"{line.location(token.column)}: warning: {warning}")
    return result


# ---- expressions ----------------------------------------------------------------------------


def _first_token(tree):
    """The first token of a subtree (its column locates it)."""
    from lark import Token

    while not isinstance(tree, Token):
        tree = tree.children[0]
    return tree


def _node_text(tree, line: LogicalLine) -> str:
    """The node name an argument of ``v(...)`` spells: a name or a number, as written."""
    from lark import Token

    if not isinstance(tree, Token) and tree.data in ("number", "var"):
        tree = tree.children[0]
    if not isinstance(tree, Token):
        token = _first_token(tree)
        raise line.error(token.column, f"{statement_label(line.text)}: v() takes node names",
                         "write v(node) or v(node1, node2)")
    return node(tree)


class _TooDeep(Exception):
    """An expression's tree is deeper than MAX_EXPRESSION_DEPTH (raised by _ast, reported by _expr)."""


def expression(tree, line: LogicalLine, warnings: list[str]) -> Value:
    """An expression subtree as an :class:`Expr` (or a float when it is a plain number)."""
    try:
        ast, column = _ast(tree, line, warnings)
    except _TooDeep:
        raise line.error(_first_token(tree).column, f"{statement_label(line.text)}: expression nested more than "
                         f"{MAX_EXPRESSION_DEPTH} levels deep", "split it into several .param lines") from None
    if ast[0] == "num":
        return ast[1]
    return Expr(ast, column, line.text)


_OPERATOR_TOKENS = ("POW_OP", "COMPARE_OP", "MOD_OP", "AND_OP", "OR_OP", "QMARK", "COLON")  # named operator terminals (the others are filtered out)
_BINARY_RULES = ("add", "sub", "mul", "div", "mod", "pow", "and", "or", "compare")  # all left-associative
_COMPARISONS = {"==": "eq", "!=": "ne", "<>": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}


def _ast(tree, line: LogicalLine, warnings: list[str], depth: int = 0) -> tuple[tuple, int]:
    """The expression tree of :mod:`.expressions` for ``tree``, and the column where it starts."""
    from lark import Token

    if depth > MAX_EXPRESSION_DEPTH:
        raise _TooDeep
    depth += 1
    if isinstance(tree, Token):  # a bare IDENT or UNUMBER (inlined by ?rules)
        if tree.type == "IDENT":
            return ("var", str(tree).lower(), tree.column), tree.column
        return ("num", number(tree, line, warnings)), tree.column
    tag = tree.data
    if tag == "number":
        return _ast(tree.children[0], line, warnings, depth)
    if tag == "var":
        return _ast(tree.children[0], line, warnings, depth)
    if tag == "call":
        name = tree.children[0]
        kids = [a for a in tree.children[1:] if a is not None]
        if str(name).lower() in NODE_FUNCTIONS:  # v(a, b): node names, as written
            args = tuple(("node", _node_text(a, line), _first_token(a).column) for a in kids)
        else:
            args = tuple(_ast(a, line, warnings, depth)[0] for a in kids)
        if str(name).lower() == "ternary_fcn" and len(args) == 3:  # evaluates only the branch it takes
            return ("ternary", *args), name.column
        return ("call", str(name).lower(), args, name.column), name.column
    if tag in ("neg", "not"):
        inner, col = _ast(tree.children[0], line, warnings, depth)
        if tag == "neg" and inner[0] == "num":
            return ("num", -inner[1]), col
        return (tag, inner), col
    if tag in _BINARY_RULES:  # a left-associative run (1+2-3*4): one chain, read in a loop
        spine = []
        while not isinstance(tree, Token) and tree.data in _BINARY_RULES:
            spine.append(tree)
            tree = tree.children[0]
        first, column = _ast(tree, line, warnings, depth)
        steps = []
        for link in reversed(spine):
            operator = next((k for k in link.children if isinstance(k, Token) and k.type in _OPERATOR_TOKENS), None)
            tag = _COMPARISONS[str(operator)] if link.data == "compare" else link.data
            steps.append((tag, _ast(link.children[-1], line, warnings, depth)[0]))
        return chain(first, steps), column
    if tag == "ternary":
        kids = [_ast(k, line, warnings, depth) for k in tree.children
                if not (isinstance(k, Token) and k.type in _OPERATOR_TOKENS)]
        return (tag, *(k[0] for k in kids)), kids[0][1]
    if tag in ("braced", "expr", "sum", "product", "power", "unary", "atom"):
        return _ast(tree.children[0], line, warnings, depth)
    raise AssertionError(f"unexpected expression node {tag}")
