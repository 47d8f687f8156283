"""Netlist text to statements: the Lark grammar, plus a bulk fast path for simple lines.

Every logical line is read by the Lark grammar in ``grammar.lark`` (the specification of
the language), except *simple element lines*: an ``R``, ``V`` or ``I`` card of exactly four
tokens (name, two nodes, a plain decimal number). Those make up nearly all of a large
netlist; :mod:`.bulk` reads them in whole-file passes, more than ten times faster than
Lark, and accepts only lines that the grammar reads the same way
(``tests/test_parser_differential.py`` checks this on generated lines; ``fast=False`` turns
the fast path off).

The result is a :class:`ParsedNetlist`: top-level elements column-wise (names, node names,
values; a value that is an expression is evaluated later, in :mod:`.elaborate`),
subcircuit definitions, models, parameters, analyses and warnings.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..elements import BY_RULE, CIRCUIT_KINDS, ELEMENTS, letters
from ..errors import NetlistError, SourceLocation, printable
from .expressions import Expr, Value
from .numbers import FINITE_HINT, NumberRangeError, parse_number
from . import bulk
from .source import LogicalLine, join_logical


@lru_cache(maxsize=1)
def grammar():
    """The Lark LALR parser for one logical line (built once per process)."""
    from lark import Lark

    return Lark.open(
        "grammar.lark",
        rel_to=__file__,
        parser="lalr",
        lexer="contextual",
        propagate_positions=False,
        maybe_placeholders=False,
        cache=True,  # the parse table is cached in the temp folder: fast start-up
    )


@dataclass
class ElementStmt:
    """One element card read by the grammar (kept in subcircuit bodies, and for X lines)."""

    kind: str
    name: str
    nodes: tuple[str, ...]
    value: Value
    ref: str | None  # diode model or subcircuit name
    params: dict[str, Value]
    location: SourceLocation
    line: LogicalLine


@dataclass
class ParamStmt:
    name: str
    value: Value
    location: SourceLocation
    line: LogicalLine


@dataclass
class SubcktDef:
    name: str
    ports: tuple[str, ...]
    defaults: dict[str, Value]
    body: list = field(default_factory=list)  # ElementStmt | ParamStmt
    location: SourceLocation | None = None
    line: LogicalLine | None = None  # the .subckt line, for error messages


@dataclass
class ModelStmt:
    name: str
    type: str
    params: dict[str, float]
    location: SourceLocation
    line: LogicalLine


@dataclass
class ColumnArrays:
    """One kind's elements as arrays (see :meth:`Columns.arrays`)."""

    nodes: np.ndarray  # [rows, terminals] indices into ParsedNetlist.node_names
    values: np.ndarray
    file: np.ndarray
    line: np.ndarray


@dataclass
class Columns:
    """Top-level elements of one kind, column-wise, in file order.

    Rows come one at a time (:meth:`append`: the grammar, subcircuit expansion) or as
    whole blocks of arrays (:meth:`extend`: the bulk fast path); :meth:`arrays` joins them.
    """

    terminals: int
    names: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)  # diode model names
    blocks: list[ColumnArrays] = field(default_factory=list)
    _rows: list[tuple] = field(default_factory=list)  # (node ids, value, file, line) not yet in a block

    def __len__(self) -> int:
        return len(self.names)

    def append(self, name: str, nodes: tuple[int, ...], value: float, file: int, line: int) -> None:
        self.names.append(name)
        self._rows.append((nodes, value, file, line))

    def extend(self, names: list[str], nodes: np.ndarray, values: np.ndarray, file: int, line: np.ndarray) -> None:
        self._flush()
        self.names.extend(names)
        self.blocks.append(ColumnArrays(nodes, values, np.full(len(values), file, np.int32), line.astype(np.int32)))

    def _flush(self) -> None:
        if self._rows:
            nodes, values, file, line = zip(*self._rows)
            self.blocks.append(ColumnArrays(np.array(nodes, np.int64).reshape(-1, self.terminals),
                                            np.array(values, float), np.array(file, np.int32), np.array(line, np.int32)))
            self._rows.clear()

    def arrays(self) -> ColumnArrays:
        """All rows, in order, as one set of arrays."""
        self._flush()
        if len(self.blocks) != 1:
            parts = self.blocks or [ColumnArrays(np.zeros((0, self.terminals), np.int64), np.zeros(0),
                                                 np.zeros(0, np.int32), np.zeros(0, np.int32))]
            self.blocks = [ColumnArrays(*(np.concatenate([getattr(b, f) for b in parts])
                                          for f in ("nodes", "values", "file", "line")))]
        return self.blocks[0]


@dataclass
class Fixup:
    """A top-level element value given as an expression, evaluated after the parameters."""

    kind: str
    index: int
    expr: Expr
    line: LogicalLine


@dataclass
class ParsedNetlist:
    title: str = ""
    files: list[str] = field(default_factory=list)
    lines: list[list[str]] = field(default_factory=list)  # physical lines of each file, for messages
    columns: dict[str, Columns] = field(default_factory=dict)
    fixups: list[Fixup] = field(default_factory=list)
    instances: list[ElementStmt] = field(default_factory=list)
    subckts: dict[str, SubcktDef] = field(default_factory=dict)
    models: dict[str, ModelStmt] = field(default_factory=dict)
    params: list[ParamStmt] = field(default_factory=list)
    dc: list[list[tuple[str, Value, Value, Value]]] = field(default_factory=list)
    dc_lines: list[LogicalLine] = field(default_factory=list)
    has_op: bool = False
    warnings: list[str] = field(default_factory=list)
    # node names as the columns refer to them; ground ("0", alias "gnd") is 0
    node_names: list[str] = field(default_factory=lambda: ["0"])
    node_index: dict[str, int] = field(default_factory=lambda: {"0": 0, "gnd": 0})

    def node_id(self, name: str) -> int:
        """The index of node ``name`` in :attr:`node_names`, adding it when new."""
        k = self.node_index.get(name)
        if k is None:
            k = self.node_index[name] = len(self.node_names)
            self.node_names.append(name)
        return k


def parse_text(text: str, file: str = "<text>", *, fast: bool = True) -> ParsedNetlist:
    """Parse netlist ``text`` (first line = title). ``.include`` paths resolve against ``file``'s folder."""
    reader = _Reader(fast=fast)
    reader.read(text, file, title=True, stack=())
    return reader.finish()


def parse_file(path: str | os.PathLike, *, fast: bool = True) -> ParsedNetlist:
    """Parse the netlist file at ``path``."""
    path = os.fspath(path)
    text = _read_file(path, None)
    reader = _Reader(fast=fast)
    reader.read(text, path, title=True, stack=(os.path.realpath(path),))
    return reader.finish()


MAX_FILE_BYTES = 1 << 30  # a netlist or included file larger than this is refused


def _read_file(path: str, where: tuple[SourceLocation, LogicalLine] | None) -> str:
    """The text of a netlist file (``where``: the ``.include`` that names it, if any).

    Regular files, pipes (``<(cmd)``) and terminals are read, up to :data:`MAX_FILE_BYTES`;
    anything else (``/dev/zero``, a disk) would never end and is refused.
    """
    hint = "check the path (relative .include paths are taken from the including file's folder)"
    try:
        with open(path, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or fh.isatty()):
                problem, hint = "not a regular file", "name a netlist file (a device or special file is never read)"
            else:
                data = fh.read(MAX_FILE_BYTES + 1)
                if len(data) <= MAX_FILE_BYTES:
                    return data.decode("utf-8", errors="replace")
                problem, hint = f"larger than {MAX_FILE_BYTES} bytes", "resim reads netlist files of up to 1 GiB each"
    except OSError as exc:
        problem = exc.strerror or str(exc)
    loc, line = where if where else (None, None)
    raise NetlistError(
        f"cannot read netlist file '{path}': {problem}",
        location=loc,
        source_line=line.physical_text(loc.line) if line and loc else None,
        hint=hint,
    )


class _Reader:
    """Reads one netlist and its includes into a ParsedNetlist."""

    def __init__(self, fast: bool) -> None:
        self.fast = fast
        self.out = ParsedNetlist(columns={k: Columns(ELEMENTS[k].terminals) for k in CIRCUIT_KINDS})
        self.open_subckts: list[SubcktDef] = []
        self.ended = False
        self.in_control = False  # inside a .control ... .endc block
        self.node_map = None  # (scan, node ids of its node names) for the file being read

    # -- driver -------------------------------------------------------------------------
    def read(self, text: str, file: str, *, title: bool, stack: tuple[str, ...]) -> None:
        out = self.out
        file_index = len(out.files)
        out.files.append(file)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        out.lines.append(lines)
        n = len(lines)
        start = 0
        if title:
            out.title = lines[0].strip()
            start = 1
        if self.fast:
            fast = bulk.scan(lines, text.lower(), start)
            slow = fast.slow
        else:
            slow = [i for i in range(start, n) if lines[i].strip()]
            fast = None
        pos = start
        self.in_control = False
        for s in slow:
            if s < pos:  # consumed as a continuation
                continue
            self._bulk(fast, pos, s, lines, file, file_index, stack)
            pos = s + 1
            stripped = lines[s].lstrip()
            if stripped[:1] == "*" or not stripped:
                continue
            if self.in_control:
                if stripped.lower().split()[:1] == [".endc"]:
                    self.in_control = False
                continue
            logical, pos = join_logical(lines, s, file)
            if not logical.text:
                continue
            if logical.text.lower().startswith(".control"):
                self.in_control = True
                out.warnings.append(f"{logical.location(1)}: warning: .control block ignored (resim runs no ngspice scripts)")
                continue
            self.statement(logical, file_index, stack)
            if self.ended:
                break
        else:
            self._bulk(fast, pos, n, lines, file, file_index, stack)
        self.ended = False
        if title and self.open_subckts:
            sub = self.open_subckts[-1]
            raise NetlistError(
                f"subcircuit '{sub.name}' is never closed",
                location=sub.location,
                source_line=sub.line.physical_text(sub.location.line) if sub.line else None,
                hint=f"add '.ends {sub.name}' after its last element",
            )

    def _bulk(self, fast, lo: int, hi: int, lines: list[str], file: str, file_index: int, stack) -> None:
        """Append the simple lines in ``[lo, hi)`` (see :mod:`.bulk`; all others there are blank)."""
        if fast is None or lo >= hi or self.in_control:
            return
        spans = {kind: rows.between(lo, hi) for kind, rows in fast.rows.items()}
        if self.open_subckts:  # inside a subcircuit body: statements, through the grammar
            inside = sorted(int(i) for kind, (a, b) in spans.items() for i in fast.rows[kind].line[a:b])
            for i in inside:
                self.statement(join_logical(lines, i, file)[0], file_index, stack)
            return
        if self.node_map is None or self.node_map[0] is not fast:
            self.node_map = (fast, np.array([self.out.node_id(name) for name in fast.nodes], np.int64))
        ids = self.node_map[1]
        for kind, (a, b) in spans.items():
            if a == b:
                continue
            rows = fast.rows[kind]
            nodes = np.stack([ids[rows.node_a[a:b]], ids[rows.node_b[a:b]]], axis=1)
            self.out.columns[kind].extend(rows.names[a:b], nodes, rows.value[a:b], file_index, rows.line[a:b] + 1)

    def finish(self) -> ParsedNetlist:
        return self.out

    # -- one statement through the grammar ----------------------------------------------------
    def statement(self, line: LogicalLine, file_index: int, stack: tuple[str, ...]) -> None:
        text = line.text
        first = text[:1].lower()
        if first.isalpha() and first not in ELEMENTS:
            word = text.split()[0]
            raise NetlistError(
                f"unsupported element type '{word[0].upper()}' ('{_shown(word)}')",
                location=line.location(1),
                source_line=line.physical_text(line.location(1).line),
                hint=f"resim reads {letters(tuple(ELEMENTS))} elements (DC analysis only)",
            )
        tree = _parse_line(line)
        handler = getattr(self, "_" + tree.data)
        handler(tree, line, file_index, stack)

    # -- elements -------------------------------------------------------------------------
    def _element(self, kind: str, name: str, nodes: tuple[str, ...], value: Value, ref: str | None,
                 params: dict[str, Value], line: LogicalLine, file_index: int) -> None:
        loc = line.location(1)
        stmt = ElementStmt(kind, name, nodes, value, ref, params, loc, line)
        if self.open_subckts:
            self.open_subckts[-1].body.append(stmt)
            return
        if kind == "x":
            self.out.instances.append(stmt)
            return
        if params:
            bad = next(iter(params))
            raise NetlistError(
                f"unknown instance parameter '{bad}' on {ELEMENTS[kind].word} '{name}'",
                location=loc, source_line=line.physical_text(loc.line),
                hint="resim reads no instance parameters on this element",
            )
        col = self.out.columns[kind]
        if isinstance(value, Expr):
            self.out.fixups.append(Fixup(kind, len(col), value, line))
            value = math.nan
        col.append(name, tuple(map(self.out.node_id, nodes)), value, file_index, loc.line)
        if kind == "d":
            col.refs.append(ref or "")

    # Each element rule's kind is BY_RULE[tree.data] (resim.elements); the handlers read the card's shape.
    def _resistor(self, tree, line, fi, stack):
        name, n1, n2, value, *assign = tree.children
        params = dict(_assignment(a, line, self.out) for a in assign)
        self._element(BY_RULE[tree.data].letter, _lower(name), (_node(n1), _node(n2)), _value(value, line, self.out),
                      None, params, line, fi)

    def _source(self, tree, line, fi, stack):
        name, n1, n2, spec = tree.children
        value: Value = 0.0
        for child in spec.children:
            if getattr(child, "type", None) == "AC_KW":
                break
            if not hasattr(child, "type"):
                value = _value(child, line, self.out)
        self._element(BY_RULE[tree.data].letter, _lower(name), (_node(n1), _node(n2)), value, None, {}, line, fi)

    _vsource = _isource = _source

    def _diode(self, tree, line, fi, stack):
        name, n1, n2, model, *area = tree.children
        value = _value(area[0], line, self.out) if area else 1.0
        self._element(BY_RULE[tree.data].letter, _lower(name), (_node(n1), _node(n2)), value, _lower(model), {},
                      line, fi)

    def _controlled(self, tree, line, fi, stack):
        name, a, b, c, d, value = tree.children
        nodes = tuple(_node(n) for n in (a, b, c, d))
        self._element(BY_RULE[tree.data].letter, _lower(name), nodes, _value(value, line, self.out), None, {}, line, fi)

    _vcvs = _vccs = _controlled

    def _instance(self, tree, line, fi, stack):
        name = _lower(tree.children[0])
        words = [c for c in tree.children[1:] if getattr(c, "type", None) == "NAME"]
        assigns = [c for c in tree.children[1:] if getattr(c, "data", None) == "assignment"]
        params = dict(_assignment(a, line, self.out) for a in assigns)
        if len(words) < 1:
            raise _error(line, 1, f"subcircuit instance '{name}' names no subcircuit", "write: Xname node... subckt_name [params]")
        nodes = tuple(_canonical_node(_lower(w)) for w in words[:-1])
        self._element("x", name, nodes, 0.0, _lower(words[-1]), params, line, fi)

    # -- dot commands ---------------------------------------------------------------------
    def _model(self, tree, line, fi, stack):
        _, name, mtype, *rest = tree.children
        params: dict[str, float] = {}
        for mp in rest:
            if getattr(mp, "data", None) != "model_param":
                continue
            key, value = _assignment(mp.children[0], line, self.out)
            if isinstance(value, Expr):
                value = _const(value, line, self.out)
            params[key] = value
        mname = _lower(name)
        loc = line.location(1)
        if mname in self.out.models:
            prev = self.out.models[mname].location
            raise _error(line, 1, f"model '{mname}' is defined twice (first at {prev})", "rename one of them")
        self.out.models[mname] = ModelStmt(mname, _lower(mtype), params, loc, line)

    def _param(self, tree, line, fi, stack):
        for pa in tree.children[1:]:
            if getattr(pa, "data", None) != "param_assign":
                continue
            key_tok, expr_tree = pa.children
            key = _lower(key_tok)
            stmt = ParamStmt(key, _expr(expr_tree, line, self.out), line.location(key_tok.column), line)
            if self.open_subckts:
                self.open_subckts[-1].body.append(stmt)
            else:
                self.out.params.append(stmt)

    def _subckt(self, tree, line, fi, stack):
        name = _lower(tree.children[1])
        ports = tuple(_lower(c) for c in tree.children[2:] if getattr(c, "type", None) == "NAME")
        defaults = dict(
            _assignment(a, line, self.out) for a in tree.children[2:] if getattr(a, "data", None) == "assignment"
        )
        sub = SubcktDef(name, ports, defaults, [], line.location(1), line)
        if name in self.out.subckts:
            raise _error(line, 1, f"subcircuit '{name}' is defined twice (first at {self.out.subckts[name].location})", "rename one of them")
        self.out.subckts[name] = sub
        self.open_subckts.append(sub)

    def _ends(self, tree, line, fi, stack):
        if not self.open_subckts:
            raise _error(line, 1, ".ends without a matching .subckt", "remove it, or add the .subckt line it closes")
        sub = self.open_subckts.pop()
        if len(tree.children) > 1:
            given = _lower(tree.children[1])
            if given != sub.name:
                raise _error(line, tree.children[1].column, f".ends {given} closes subcircuit '{sub.name}'", f"write '.ends {sub.name}'")

    def _include(self, tree, line, fi, stack):
        token = tree.children[1]
        raw = str(token)
        rel = raw[1:-1] if raw.startswith('"') else raw
        base = os.path.dirname(line.file) if line.file not in ("<text>", "<stdin>") else os.getcwd()
        path = os.path.normpath(os.path.join(base, os.path.expanduser(rel)))
        real = os.path.realpath(path)
        loc = line.location(token.column)
        if real in stack:
            chain = " -> ".join(os.path.basename(s) for s in (*stack, real))
            raise NetlistError(
                f".include cycle: {chain}", location=loc, source_line=line.physical_text(loc.line),
                hint="remove the .include that leads back to a file already being read",
            )
        text = _read_file(path, (loc, line))
        self.read(text, path, title=False, stack=(*stack, real))

    def _op(self, tree, line, fi, stack):
        self.out.has_op = True

    def _dc(self, tree, line, fi, stack):
        kids = tree.children[1:]
        sweeps = []
        for k in range(0, len(kids), 4):
            src = _lower(kids[k])
            sweeps.append((src, *(_value(v, line, self.out) for v in kids[k + 1 : k + 4])))
        self.out.dc.append(sweeps)
        self.out.dc_lines.append(line)

    def _end(self, tree, line, fi, stack):
        self.ended = True

    def _other_dot(self, tree, line, fi, stack):
        word = str(tree.children[0]).lower()
        if word in (".endc", ".control"):
            return
        self.out.warnings.append(f"{line.location(1)}: warning: '{word}' is not supported and was ignored")


# ---- tree helpers ---------------------------------------------------------------------------


def _lower(token: Any) -> str:
    return str(token).lower()


def _canonical_node(name: str) -> str:
    return "0" if name == "gnd" else name


def _node(token) -> str:
    return _canonical_node(str(token).lower())


def _assignment(tree, line: LogicalLine, out: ParsedNetlist) -> tuple[str, Value]:
    key, value = tree.children
    return _lower(key), _value(value, line, out)


def _value(tree, line: LogicalLine, out: ParsedNetlist) -> Value:
    """A value node: a plain number (float) or a braced expression (Expr)."""
    if tree.data == "number":
        return _number(tree.children[0], line, out)
    assert tree.data == "braced"
    return _expr(tree.children[0], line, out)


def _number(token, line: LogicalLine, out: ParsedNetlist) -> float:
    """The value of a number token, noting ngspice's surprising readings as warnings; a
    NetlistError at the token when it is out of range."""
    try:
        value, warning = parse_number(str(token))
    except NumberRangeError as exc:
        raise _error(line, token.column, f"{_statement_label(line.text)}: {exc}", FINITE_HINT) from None
    if warning:
        out.warnings.append(f"{line.location(token.column)}: warning: {warning}")
    return value


def _const(value: Expr, line: LogicalLine, out: ParsedNetlist) -> float:
    from .expressions import ExpressionError

    try:
        return value.evaluate({})
    except ExpressionError as exc:
        raise _error(line, value.column, f"model parameters must be constants here: {exc.message}", exc.hint) from None


MAX_EXPRESSION_DEPTH = 200  # nesting of an expression's tree (keeps evaluation off Python's recursion limit)


class _TooDeep(Exception):
    """An expression's tree is deeper than MAX_EXPRESSION_DEPTH (raised by _ast, reported by _expr)."""


def _expr(tree, line: LogicalLine, out: ParsedNetlist) -> Value:
    """An expression subtree as an :class:`Expr` (or a float when it is a plain number)."""
    try:
        ast, column = _ast(tree, line, out)
    except _TooDeep:
        from lark import Token

        while not isinstance(tree, Token):  # the expression's first token, for the caret
            tree = tree.children[0]
        raise _error(line, tree.column, f"{_statement_label(line.text)}: expression nested more than "
                     f"{MAX_EXPRESSION_DEPTH} levels deep", "split it into several .param lines") from None
    if ast[0] == "num":
        return ast[1]
    return Expr(ast, column, line.text)


def _ast(tree, line: LogicalLine, out: ParsedNetlist, depth: int = 0) -> tuple[tuple, int]:
    from lark import Token

    if depth > MAX_EXPRESSION_DEPTH:
        raise _TooDeep
    depth += 1
    if isinstance(tree, Token):  # a bare IDENT or UNUMBER (inlined by ?rules)
        if tree.type == "IDENT":
            return ("var", str(tree).lower(), tree.column), tree.column
        return ("num", _number(tree, line, out)), tree.column
    tag = tree.data
    if tag == "number":
        return _ast(tree.children[0], line, out, depth)
    if tag == "var":
        return _ast(tree.children[0], line, out, depth)
    if tag == "call":
        name = tree.children[0]
        args = tuple(_ast(a, line, out, depth)[0] for a in tree.children[1:] if a is not None)
        return ("call", str(name).lower(), args, name.column), name.column
    if tag == "neg":
        inner, col = _ast(tree.children[0], line, out, depth)
        if inner[0] == "num":
            return ("num", -inner[1]), col
        return ("neg", inner), col
    if tag in ("add", "sub", "mul", "div", "pow"):
        kids = [k for k in tree.children if not (isinstance(k, Token) and k.type == "POW_OP")]
        left, col = _ast(kids[0], line, out, depth)
        right, _ = _ast(kids[1], line, out, depth)
        return (tag, left, right), col
    if tag in ("braced", "expr", "sum", "product", "power", "unary", "atom"):
        return _ast(tree.children[0], line, out, depth)
    raise AssertionError(f"unexpected expression node {tag}")


# ---- syntax errors ------------------------------------------------------------------------

_EXPECT_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "UNUMBER": "a number",
    "IDENT": "a parameter name",
    "LBRACE": "'{expression}'",
    "QUOTE": "a quoted expression",
    "DC_KW": "DC",
    "AC_KW": "AC",
    "PARAMS_KW": "params:",
    "EQUAL": "'='",
    "LPAR": "'('",
    "RPAR": "')'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "STRING": "a quoted path",
    "PATH": "a file path",
    "$END": "the end of the line",
}


def _describe_expected(expected: set[str]) -> str:
    words = []
    for name in sorted(expected):
        w = _EXPECT_WORDS.get(name)
        if w is None:
            if name.endswith("_NAME") or name.startswith("DOT_") or name == "OTHER_DOT":
                w = "an element or dot-command"
            elif name in ("PLUS", "MINUS", "STAR", "SLASH", "POW_OP"):
                w = "an operator"
            else:
                w = name.lower()
        if w not in words:
            words.append(w)
    if len(words) > 1:
        return ", ".join(words[:-1]) + " or " + words[-1]
    return words[0] if words else "something else"


def _error(line: LogicalLine, column: int, message: str, hint: str | None = None) -> NetlistError:
    loc = line.location(column)
    return NetlistError(message, location=loc, source_line=line.physical_text(loc.line), hint=hint)


def _shown(token: str) -> str:
    """A token of the user's as a message quotes it: printable, and cut when long."""
    return printable(token, 40)


def _statement_label(text: str) -> str:
    word = text.split(maxsplit=1)[0] if text.strip() else ""
    kind = word[:1].lower()
    if kind in ELEMENTS:
        return f"{ELEMENTS[kind].word} '{_shown(word.lower())}'"
    return f"'{_shown(word.lower())}'"


def _parse_line(line: LogicalLine):
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    try:
        return grammar().parse(line.text)
    except UnexpectedInput as exc:
        text = line.text
        label = _statement_label(text)
        kind = ELEMENTS.get(text[:1].lower())
        hint = kind.hint if kind else None
        if text.startswith("."):
            hint = None
        if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
            expected = getattr(exc, "expected", None) or getattr(exc, "accepts", None) or set()
            column = len(text) + 1
            message = f"{label}: line ends early; expected {_describe_expected(set(expected))}"
        elif isinstance(exc, UnexpectedToken):
            column = exc.column
            expected = exc.accepts or exc.expected
            message = f"{label}: unexpected '{_shown(str(exc.token))}'; expected {_describe_expected(set(expected))}"
        elif isinstance(exc, UnexpectedCharacters):
            column = exc.column
            allowed = set(exc.allowed or ())
            bad = text[exc.pos_in_stream : exc.pos_in_stream + 12].split()[0] if text[exc.pos_in_stream :].strip() else text[exc.pos_in_stream]
            message = f"{label}: unexpected '{_shown(bad)}'; expected {_describe_expected(allowed)}"
        else:  # pragma: no cover - lark raises only the three above
            column = 1
            message = f"{label}: syntax error"
        raise _error(line, column, message, hint) from None
