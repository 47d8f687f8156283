"""Element cards: what the items after an element's nodes mean, as ngspice 39 reads them.

The grammar reads each element card (but ``X``) as a name, its nodes and a list of *items*:
values, words, ``key=value`` assignments, parenthesised groups and commas. Here each kind
reads its items into an :class:`~.statements.ElementStmt`, and a card it cannot read is
reported at the item that is wrong. Each kind's reader is in its own module
(``resim/elements/<kind>.py``), and reads its items through the methods of :class:`Card`
alone: values, names, nodes, ``POLY(n)``, parameters, located errors, and what V's and I's
waveforms need of the expression machinery (a waveform's value at t = 0, a bare
parameter's expression).
"""

from __future__ import annotations

import math
from typing import Any

from ..elements import BY_RULE, ELEMENTS
from .expressions import PWL_AT_ZERO, Expr, Value, pwl_at_zero
from .source import LogicalLine
from .statements import Behaviour, ElementStmt, Poly
from .syntax_errors import shown, statement_label
from .values import assignment, lower, node, value

EXPECT_VALUE = "'{expression}', a number or a quoted expression"
# The waveforms of independent sources, and how many of their arguments resim reads.
WAVEFORMS = ("pulse", "sin", "exp", "pwl", "sffm", "am", "trnoise", "trrandom")


_HEADS: dict[str, int] = {}  # rule -> how many tokens precede a card's items (found on its first card)


def element_card(tree: Any, line: LogicalLine, warnings: list[str]) -> ElementStmt:
    """The statement of an element card's tree (any rule of ``BY_RULE`` but ``instance``),
    read by its kind's own reader (:attr:`~resim.elements.kind.ElementKind.read`)."""
    return BY_RULE[tree.data].read(Card(tree, line, warnings))


def column_of(item: Any) -> int:
    """The column of a tree's first token."""
    from lark import Token

    while not isinstance(item, Token):
        if not item.children:  # a comma, or an empty group: no token kept
            return 1
        item = item.children[0]
    return item.column


def text_of(item: Any) -> str:
    """The text of a word or number item, else what it starts with."""
    from lark import Token

    while not isinstance(item, Token):
        if not item.children:
            return ","
        item = item.children[0]
    return str(item)


def _is(item, *tags: str) -> bool:
    return item is not None and getattr(item, "data", None) in tags


class Card:
    """One card being read: its name, node tokens and items, and how to read and report
    on them. A kind's reader reads its items through these methods alone."""

    EXPECT_VALUE = EXPECT_VALUE
    WAVEFORMS = WAVEFORMS  # the waveforms whose value at t = 0 :meth:`at_time_zero` takes

    def __init__(self, tree: Any, line: LogicalLine, warnings: list[str]) -> None:
        kind = BY_RULE[tree.data]
        self.kind = kind.letter
        self.line = line
        self.warnings = warnings
        self.name = lower(tree.children[0])
        rest = tree.children[1:]
        n = _HEADS.get(tree.data)
        if n is None:  # the grammar's tokens before the items: the same for every card of a rule
            n = _HEADS[tree.data] = next((k for k, c in enumerate(rest) if hasattr(c, "data")), len(rest))
        self.heads = rest[:n]  # its nodes (and a diode's model name)
        self.items = rest[n:]  # the items after them (trees: values, words, assignments, groups, commas)
        self.label = statement_label(line.text)

    # -- building the statement ---------------------------------------------------------
    def stmt(self, nodes: tuple[str, ...], val: Value | None, ref: str | None = None,
             params: dict[str, Value] | None = None, columns: dict[str, int] | None = None,
             control: Poly | Behaviour | None = None) -> ElementStmt:
        return ElementStmt(self.kind, self.name, nodes, val, ref, params or {}, self.line.location(1), self.line,
                           control, columns or {})

    def nodes(self) -> tuple[str, ...]:
        """The node names written after the element's name."""
        return tuple(node(n) for n in self.heads)

    @staticmethod
    def poly(controls: tuple, coefficients: tuple, column: int) -> Poly:
        return Poly(controls, coefficients, column)

    @staticmethod
    def behaviour(expr: Value, column: int) -> Behaviour:
        return Behaviour(expr, column)

    # -- reading items --------------------------------------------------------------------
    def value(self, item) -> Value:
        return value(item, self.line, self.warnings)

    @staticmethod
    def identifier(text: str) -> bool:
        """Whether ``text`` could name a parameter (letters, digits, ``_``; not a digit first)."""
        return _is_identifier(text)

    def parameter(self, item) -> Value:
        """A bare parameter name written as a value (``V1 1 0 A``, ``SIN(0 A f)``): its
        expression; anything else that is no value is an error."""
        return _bad_arg(self, item)

    def at_time_zero(self, word: str, args: list[Value], item) -> Value:
        """The value at t = 0 of the waveform ``word`` (one of :data:`WAVEFORMS`) with
        ``args``, as ngspice takes it for the operating point (``item``: where it was written)."""
        return _at_time_zero(self, word, args, item)

    def values(self, items: list) -> list[Value]:
        """Each of ``items`` as a value (an error at the first that is none)."""
        out = []
        for item in items:
            if not _is(item, "number", "braced"):
                raise self.unexpected(item, EXPECT_VALUE)
            out.append(self.value(item))
        return out

    def node(self, item) -> str:
        """A node (or element) name written as an item: a word or a number, as written."""
        if not _is(item, "word", "number"):
            raise self.unexpected(item, "a node name")
        return node(text_of(item))

    def flat(self) -> list:
        """The items without commas, the groups of two names (``(a,b)``) opened."""
        return _flat(self.items)

    # the item helpers themselves, not wrappers: a card's items are read in the parser's hot loop
    is_ = staticmethod(_is)  # is_(item, *tags): whether item is one of the grammar's item kinds (word, number, ...)
    column = staticmethod(column_of)
    text = staticmethod(text_of)

    @staticmethod
    def word(item) -> str | None:
        """A word item's text, lower case; None for any other item."""
        return lower(text_of(item)) if _is(item, "word") else None

    @staticmethod
    def key(item) -> str:
        """An assignment item's key, lower case."""
        return lower(item.children[0])

    @staticmethod
    def lower(token) -> str:
        """A name on the card (a model's), lower case (names are case-insensitive)."""
        return lower(token)

    def item_at(self, column: int):
        """The item that starts at ``column``."""
        return next(i for i in self.items if column_of(i) == column)

    def poly_size(self, group, what: str, hint: str) -> int:
        """The ``n`` of ``POLY(n)`` (``group``: the item after POLY), a whole number >= 1."""
        sizes = [c for c in (group.children if _is(group, "group") else []) if not _is(c, "comma")]
        if len(sizes) != 1 or not _is(sizes[0], "number"):
            raise self.unexpected(group, f"(n), the number of {what}", hint)
        n = self.value(sizes[0])
        if n != int(n) or n < 1:
            raise self.error(sizes[0], f"POLY({text_of(sizes[0])}) needs a whole number of controls, 1 or more")
        return int(n)

    # -- errors ---------------------------------------------------------------------------
    def error(self, item, message: str, hint: str | None = None):
        """A located error at ``item`` (None: the end of the line)."""
        column = len(self.line.text) + 1 if item is None else column_of(item)
        return self.line.error(column, f"{self.label}: {message}", hint or ELEMENTS[self.kind].hint)

    def unexpected(self, item, expected: str = "the end of the line", hint: str | None = None):
        if item is None:
            return self.error(None, f"line ends early; expected {expected}", hint)
        return self.error(item, f"unexpected '{shown(text_of(item))}'; expected {expected}", hint)

    def params(self, item, keys: dict[str, str] | tuple[str, ...], params: dict, columns: dict,
               ignored: tuple[str, ...] = ()) -> str:
        """Read assignment ``item`` into ``params`` under its key's name in ``keys`` (keys in
        ``ignored``, with no DC meaning, are dropped); an error naming the key when it is
        not one."""
        key, val = assignment(item, self.line, self.warnings)
        if key in ignored:
            return key
        name = keys.get(key) if isinstance(keys, dict) else (key if key in keys else None)
        if name is None:
            known = " ".join(keys) if keys else "none"
            raise self.error(item, f"unknown parameter '{key}'", f"{ELEMENTS[self.kind].word} parameters: {known}")
        if name in params:
            raise self.error(item, f"parameter '{key}' given twice", "give each parameter once")
        params[name] = val
        columns[name] = column_of(item)
        return name


# ---- what V's and I's waveforms need: expressions --------------------------------------


def _is_identifier(text: str) -> bool:
    return text.replace("_", "a").isalnum() and not text[0].isdigit()


def _bad_arg(card: Card, item) -> Value:
    """A waveform argument that is no value: a bare parameter name is one (ngspice reads
    ``SIN(0 A f)`` with ``.param A=.. f=..``); anything else is an error."""
    text = text_of(item)
    if _is(item, "word") and _is_identifier(text):
        return Expr(("var", text.lower(), column_of(item)), column_of(item), card.line.text)
    raise card.unexpected(item, EXPECT_VALUE)


def _at_time_zero(card: Card, word: str, args: list[Value], item) -> Value:
    """A waveform's value at t = 0, as ngspice takes it for the operating point."""
    def arg(k: int, default: float = 0.0) -> Value:
        return args[k] if k < len(args) else default

    if word in ("am", "trnoise"):  # VA (VO + sin(0)) sin(0), and noise: 0 at t = 0
        return 0.0
    if word == "trrandom":  # TYPE TS TD PARAM1 PARAM2: PARAM2 (the offset) before the first step
        return arg(4)
    if not args or (word == "pwl" and len(args) < 2):
        raise card.error(item, f"{word.upper()} needs its values", "e.g. PULSE(0 5 1n 1n 1n 1u 2u), PWL(0 1 1m 2)")
    if word in ("pulse", "exp"):
        return args[0]
    if word == "sin":  # VO + VA sin(PHASE), PHASE in degrees
        return _plus(arg(0), _mul(arg(1), _sin_deg(arg(5))))
    if word == "sffm":  # VO + VA sin(PHASEC + MDI sin(PHASES)), the phases in degrees
        inner = _plus(_mul(arg(5), math.pi / 180.0), _mul(arg(3), _sin_deg(arg(6))))
        return _plus(arg(0), _mul(arg(1), _sin(inner)))
    # pwl: (t1 v1 t2 v2 ...): the value at t = 0 (v1 before t1; linear between points)
    if all(isinstance(a, float) for a in args):
        return pwl_at_zero(*args)
    e = next(a for a in args if isinstance(a, Expr))
    return Expr(("call", PWL_AT_ZERO, tuple(_tree(a) for a in args), e.column), e.column, e.text)


def _tree(v: Value) -> tuple:
    return v.tree if isinstance(v, Expr) else ("num", float(v))


def _sin(v: Value) -> Value:
    if isinstance(v, float):
        return math.sin(v)
    return Expr(("call", "sin", (_tree(v),), v.column), v.column, v.text)


def _sin_deg(v: Value) -> Value:
    return _sin(_mul(v, math.pi / 180.0))


def _mul(a: Value, b: Value) -> Value:
    if isinstance(a, float) and isinstance(b, float):
        return a * b
    e = a if isinstance(a, Expr) else b
    return Expr(("mul", _tree(a), _tree(b)), e.column, e.text)


def _plus(a: Value, b: Value) -> Value:
    if isinstance(a, float) and isinstance(b, float):
        return a + b
    e = a if isinstance(a, Expr) else b
    return Expr(("add", _tree(a), _tree(b)), e.column, e.text)


def _flat(items: list) -> list:
    """``items`` without commas, the groups of two node names (``(a,b)``) opened."""
    out = []
    for item in items:
        if _is(item, "group") and len([c for c in item.children if not _is(c, "comma")]) == 2 and all(
                _is(c, "word", "number", "comma") for c in item.children):
            out.extend(c for c in item.children if not _is(c, "comma"))
        elif not _is(item, "comma"):
            out.append(item)
    return out



