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

from ..elements import ELEMENTS
from .cards import column_of as first_column, element_card
from .source import LogicalLine
from .statements import (DcStmt, ElementStmt, End, Ends, FuncStmt, Global, Include, ModelStmt, Op, OptionsStmt,
                         ParamStmt, SubcktDef, UnknownCard)
from .syntax_errors import SPICE_DOT_CARDS, meant_card
from .values import assignment, expression, lower, node, value

Statement = (ElementStmt | ModelStmt | SubcktDef | DcStmt | Ends | Include | Global | Op | End | OptionsStmt
             | UnknownCard | list[ParamStmt | FuncStmt] | None)


def statement(tree: Any, line: LogicalLine, warnings: list[str]) -> Statement:
    """The statement that ``tree`` (a ``lark.Tree`` of :func:`.grammar.parse_line`) of ``line`` says.

    None for a dot command of SPICE that resim ignores (with a warning, except
    ``.control``/``.endc``); an :class:`UnknownCard` (and a warning) for one no SPICE knows.
    Raises :class:`NetlistError` at the offending column for a number out of range, an
    expression nested too deeply, a model parameter that is not a constant, and an
    instance that names no subcircuit.
    """
    return _RULES[tree.data](tree, line, warnings)


# ---- elements -------------------------------------------------------------------------------
# Every card but X is read item by item in .cards (resim.elements names the kinds).


def _instance(tree, line, warnings):
    name = lower(tree.children[0])
    words = [c for c in tree.children[1:] if getattr(c, "type", None) == "NODE"]
    assigns = [c for c in tree.children[1:] if getattr(c, "data", None) == "assignment"]
    params, columns = {}, {}
    for a in assigns:
        key, val = assignment(a, line, warnings)
        if key in params:
            raise line.error(a.children[0].column, f"subcircuit instance '{name}': parameter '{key}' given twice",
                             "give each parameter once")
        params[key], columns[key] = val, a.children[0].column
    if len(words) < 1:
        raise line.error(1, f"subcircuit instance '{name}' names no subcircuit", "write: Xname node... subckt_name [params]")
    return ElementStmt("x", name, tuple(node(w) for w in words[:-1]), 0.0, lower(words[-1]), params,
                       line.location(1), line, columns=columns)


# ---- dot commands ---------------------------------------------------------------------------


def _model(tree, line, warnings):
    _, name, mtype, *rest = tree.children
    params = dict(assignment(mp.children[0], line, warnings) for mp in rest
                  if getattr(mp, "data", None) == "model_param")
    if any(getattr(mp, "data", None) == "stray_plus" for mp in rest):
        warnings.append(f"{line.location(1)}: warning: model '{lower(name)}': a stray '+' inside the line was "
                        "ignored (as ngspice 39 does; a continuation '+' starts a line)")
    unclosed = line.text.index("(", mtype.end_pos) + 1 if tree.data == "model_unclosed" else None
    return ModelStmt(lower(name), lower(mtype), params, line.location(1), line, unclosed)


def _param(tree, line, warnings):
    out: list[ParamStmt | FuncStmt] = []
    for pa in tree.children[1:]:
        kind = getattr(pa, "data", None)
        if kind == "param_assign":
            key_tok, expr_tree = pa.children
            out.append(ParamStmt(lower(key_tok), expression(expr_tree, line, warnings), line.location(key_tok.column),
                                 line))
        elif kind == "param_func":  # .param f(x, y) = body
            out.append(_function(pa.children, line, warnings))
    return out


def _func(tree, line, warnings):
    return [_function(tree.children[1:], line, warnings)]


def _function(children, line: LogicalLine, warnings: list[str]) -> FuncStmt:
    """A user function from ``name arg... body`` (its argument tokens, then the body's tree)."""
    name, *args, body = children
    names = tuple(lower(a) for a in args if a is not None)
    if len(set(names)) != len(names):
        raise line.error(name.column, f"function '{lower(name)}': an argument is named twice", "name each argument once")
    return FuncStmt(lower(name), names, expression(body, line, warnings), line.location(name.column), line)


def _options(tree, line, warnings):
    out = []
    for opt in tree.children[1:]:
        if getattr(opt, "data", None) != "option":
            continue
        key, *rest = opt.children
        val = None
        if rest:
            val = lower(rest[0]) if hasattr(rest[0], "type") else value(rest[0], line, warnings)
        out.append((lower(key), val, key.column))
    return OptionsStmt(out, line)


def _temp(tree, line, warnings):
    first = tree.children[1]
    return OptionsStmt([(".temp", value(first, line, warnings), first_column(first))], line)


def _subckt(tree, line, warnings):
    name = lower(tree.children[1])
    ports = tuple(lower(c) for c in tree.children[2:] if getattr(c, "type", None) == "NAME")
    defaults = dict(
        assignment(a, line, warnings) for a in tree.children[2:] if getattr(a, "data", None) == "assignment"
    )
    return SubcktDef(name, ports, defaults, [], line.location(1), line)


def _ends(tree, line, warnings):
    if len(tree.children) > 1:
        return Ends(lower(tree.children[1]), tree.children[1].column, line)
    return Ends(None, 1, line)


def _include(tree, line, warnings):
    token = tree.children[1]
    return Include(_unquoted(str(token)), token.column, line)


def _lib(tree, line, warnings):
    """``.lib path section`` (``.lib name`` alone starts a section of a library file: the
    reader takes those, :func:`.reader.library_lines`)."""
    token, *section = tree.children[1:]
    if not section:
        raise line.error(1, *lib_without_section(str(token)))
    return Include(_unquoted(str(token)), token.column, line, lower(section[0]))


def lib_without_section(name: str) -> tuple[str, str]:
    """The message and hint for a ``.lib name`` line that is not a library file's section
    start: ngspice 39 refuses it ("unimplemented control card")."""
    q = '"' if "'" in name else "'"  # a quoted file name inside its card: no doubled quotes
    return (f"{q}.lib {name}{q} names no library section",
            f"to read a section of a library file write {q}.lib {name} SECTION{q}; to read the whole file write "
            f"{q}.include {name}{q} (a '.lib NAME' ... '.endl' section belongs in a library file)")


def _unquoted(raw: str) -> str:
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw


def _global(tree, line, warnings):
    return Global([node(n) for n in tree.children[1:]])


def _op(tree, line, warnings):
    return Op()


def _dc(tree, line, warnings):
    kids = tree.children[1:]
    sweeps = []
    for k in range(0, len(kids), 4):
        src = lower(kids[k])
        sweeps.append((src, *(value(v, line, warnings) for v in kids[k + 1 : k + 4])))
    return DcStmt(sweeps, line)


def _end(tree, line, warnings):
    return End()


def _other_dot(tree, line, warnings):
    word = str(tree.children[0]).lower()
    if word in (".if", ".elseif", ".else", ".endif"):  # ignoring them would read every branch
        raise line.error(1, f"'{word}': conditional netlists (.if/.elseif/.else/.endif) are not supported",
                         "keep the branch you want and delete the .if lines")
    if word in SPICE_DOT_CARDS:
        if word not in (".endc", ".control"):
            warnings.append(f"{line.location(1)}: warning: '{word}' is not supported and was ignored")
        return None
    meant = meant_card(word)
    warnings.append(f"{line.location(1)}: warning: unknown dot card '{word}' ignored"
                    + (f" (did you mean '{meant}'?)" if meant else ""))
    return UnknownCard(word, line.location(1), meant)


_RULES: dict[str, Callable[[Any, LogicalLine, list[str]], Statement]] = {
    **{kind.rule: element_card for kind in ELEMENTS.values() if kind.letter != "x"},
    "instance": _instance, "model": _model, "model_unclosed": _model, "param": _param, "func": _func, "subckt": _subckt, "ends": _ends,
    "include": _include, "lib": _lib, "global": _global, "op": _op, "dc": _dc, "options": _options, "temp": _temp, "end": _end,
    "other_dot": _other_dot,
}


