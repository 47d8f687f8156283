"""Element cards: what the items after an element's nodes mean, as ngspice 39 reads them.

The grammar reads each element card (but ``X``) as a name, its nodes and a list of *items*:
values, words, ``key=value`` assignments, parenthesised groups and commas. Here each kind
reads its items into an :class:`~.statements.ElementStmt`, and a card it cannot read is
reported at the item that is wrong. The readers of R, V, I and D (their many forms) are
here; every other kind's is in its own module (:mod:`resim.elements`), which reads its
items through the methods of :class:`Card`:

* ``R``: ``Rname n1 n2 [value] [model] [r=|resistance= l= w= tc1= tc2= tc=a[,b] tce= m= scale=
  temp= dtemp=]`` (``ac=``, ``noisy=`` have no DC meaning and are ignored);
* ``V``, ``I``: ``[DC] value``, ``AC mag [phase]``, and the waveforms ``PULSE``, ``SIN``, ``EXP``,
  ``PWL``, ``SFFM``, whose value at t = 0 is the operating point's when no DC value is given;
* ``D``: ``Dname a k model [area] [area= pj= m= off ic=]``;
* the others: see their modules (``resim/elements/<kind>.py``).
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
RESISTOR_KEYS = {"r": "r", "resistance": "r", "l": "l", "w": "w", "tc1": "tc1", "tc2": "tc2", "tc": "tc1",
                 "tce": "tce", "m": "m", "scale": "scale", "temp": "temp", "dtemp": "dtemp"}
_IGNORED = {"r": ("ac", "noisy"), "d": ("ic",)}  # keys a native card reads and drops (no DC meaning)
DIODE_KEYS = ("area", "pj", "m")
# The waveforms of independent sources, and how many of their arguments resim reads.
WAVEFORMS = ("pulse", "sin", "exp", "pwl", "sffm", "am", "trnoise", "trrandom")
_SOURCE_WORDS = ("dc", "ac", "distof1", "distof2", *WAVEFORMS)  # the keywords of a V or I card


def element_card(tree: Any, line: LogicalLine, warnings: list[str]) -> ElementStmt:
    """The statement of an element card's tree (any rule of ``BY_RULE`` but ``instance``):
    read by its kind's own reader (:attr:`~resim.elements.kind.ElementKind.read`), or by
    the native one here."""
    kind = BY_RULE[tree.data]
    return (kind.read or _READERS[kind.letter])(Card(tree, line, warnings))


class Card:
    """One card being read: its name, node tokens and items, and how to read and report
    on them. A kind's reader reads its items through these methods alone."""

    EXPECT_VALUE = EXPECT_VALUE

    def __init__(self, tree: Any, line: LogicalLine, warnings: list[str]) -> None:
        kind = BY_RULE[tree.data]
        self.kind = kind.letter
        self.line = line
        self.warnings = warnings
        self.name = lower(tree.children[0])
        rest = tree.children[1:]
        n = next((k for k, c in enumerate(rest) if hasattr(c, "data")), len(rest))  # the grammar's tokens
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

    @staticmethod
    def is_(item, *tags: str) -> bool:
        """Whether ``item`` is one of the grammar's item kinds ``tags`` (word, number, braced, ...)."""
        return _is(item, *tags)

    @staticmethod
    def column(item) -> int:
        return column_of(item)

    @staticmethod
    def text(item) -> str:
        return text_of(item)

    @staticmethod
    def word(item) -> str | None:
        """A word item's text, lower case; None for any other item."""
        return lower(text_of(item)) if _is(item, "word") else None

    @staticmethod
    def key(item) -> str:
        """An assignment item's key, lower case."""
        return lower(item.children[0])

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

    def params(self, item, keys: dict[str, str] | tuple[str, ...], params: dict, columns: dict) -> str:
        """Read assignment ``item`` into ``params`` under its key's name in ``keys`` (the
        kind's ignored keys are dropped); an error naming the key when it is not one."""
        key, val = assignment(item, self.line, self.warnings)
        if key in _IGNORED.get(self.kind, ()):
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


# ---- R ------------------------------------------------------------------------------------------


def _resistor(card: Card) -> ElementStmt:
    val: Value | None = None
    model: str | None = None
    params: dict[str, Value] = {}
    columns: dict[str, int] = {}
    after_tc = False  # the previous items were `tc=a ,`: a value now is tc2
    for item in card.items:
        if _is(item, "comma"):
            continue
        if after_tc and _is(item, "number", "braced") and "tc2" not in params:
            params["tc2"], columns["tc2"] = card.value(item), column_of(item)
            after_tc = False
            continue
        after_tc = False
        if _is(item, "assignment"):
            card.params(item, RESISTOR_KEYS, params, columns)
            after_tc = lower(item.children[0]) == "tc"
        elif _is(item, "number", "braced") and val is None and "r" not in params:
            val = card.value(item)
            columns["value"] = column_of(item)
        elif _is(item, "word") and model is None:
            model = lower(text_of(item))
            columns["model"] = column_of(item)
        else:
            raise card.unexpected(item, "a model name or name=value" if val is not None else EXPECT_VALUE)
    if "r" in params:
        if val is not None:
            raise card.error(item_at(card, columns["r"]), "resistance given twice (a value and r=)",
                             "give the value or r=, not both")
        val = params.pop("r")
    return card.stmt(tuple(node(n) for n in card.heads), val, model, params, columns)


def item_at(card: Card, column: int):
    return next(i for i in card.items if column_of(i) == column)


# ---- V, I ---------------------------------------------------------------------------------------


def _source(card: Card) -> ElementStmt:
    """A V or I card's DC value, read as ngspice 39 reads it (:class:`_DcValue`)."""
    items = [i for i in card.items if not _is(i, "comma")]
    params: dict[str, Value] = {}
    columns: dict[str, int] = {}
    dc = _DcValue()
    wave: tuple[str, list[Value], Any] | None = None
    refused = None  # a waveform resim cannot take the value of at t = 0
    k = 0
    while k < len(items):
        item = items[k]
        nxt = items[k + 1] if k + 1 < len(items) else None
        word = lower(text_of(item)) if _is(item, "word") else None
        if word == "dc":
            inner = [c for c in nxt.children if not _is(c, "comma")] if _is(nxt, "group") else []
            if len(inner) == 1 and _is(inner[0], "number", "braced"):  # dc(5), as KiCad writes it
                nxt = inner[0]
            after = items[k + 2] if k + 2 < len(items) else None
            if _is(nxt, "number", "braced"):
                dc.keyword(card.value(nxt), column_of(nxt))
                k += 1
            elif (_is(nxt, "word") and _is_identifier(text_of(nxt)) and lower(text_of(nxt)) not in _SOURCE_WORDS
                  and not _is(after, "group")):  # DC A: parameter A's value (ngspice reads `V1 1 0 DC A`)
                dc.keyword(_bad_arg(card, nxt), column_of(nxt))
                k += 1
            else:
                dc.keyword(None, column_of(item))
        elif word in ("ac", "distof1", "distof2"):
            for _ in range(2):  # magnitude and phase: no DC meaning
                if _is(items[k + 1] if k + 1 < len(items) else None, "number", "braced"):
                    k += 1
        elif word in WAVEFORMS:
            if _is(nxt, "group"):
                args = [card.value(a) if _is(a, "number", "braced") else _bad_arg(card, a)
                        for a in nxt.children if not _is(a, "comma")]
                k += 1
            else:
                args = []
                while k + 1 < len(items) and _is(items[k + 1], "number", "braced"):
                    args.append(card.value(items[k + 1]))
                    k += 1
            wave = (word, args, item)
        elif word is not None and _is(nxt, "group"):
            refused = item
            k += 1 if _is(nxt, "group") else 0
        elif _is(item, "number", "braced") and dc.empty and wave is None:
            dc.lead = card.value(item)
            dc.lead_column = column_of(item)
        elif word is not None and dc.empty and wave is None and _is_identifier(text_of(item)) and not any(
                _is(later, "number", "braced") for later in items[k + 1:]):
            dc.lead = _bad_arg(card, item)  # a bare parameter name: its value (ngspice reads `V1 1 0 A`)
            dc.lead_column = column_of(item)
        elif _is(item, "assignment") and lower(item.children[0]) == "dc":
            dc.keyword(card.value(item.children[1]), column_of(item))
        elif _is(item, "assignment") and lower(item.children[0]) == "ac":
            pass  # no DC meaning
        elif _is(item, "assignment") and lower(item.children[0]) == "m" and card.kind == "i":
            card.params(item, ("m",), params, columns)  # m copies in parallel
        else:
            raise card.unexpected(item, "DC, AC, a waveform or the end of the line" if not dc.empty or wave
                                  else EXPECT_VALUE)
        k += 1
    value = dc.value()
    if value is None and wave is not None:
        value = _at_time_zero(card, *wave)
    elif value is None and refused is not None:
        raise card.error(refused, f"the waveform '{lower(text_of(refused))}' has no DC value resim can take",
                         f"give the source a DC value (write: {card.name.upper()} n+ n- DC value ...); resim reads "
                         f"{', '.join(w.upper() for w in WAVEFORMS)} at t = 0")
    dc.warn(card, overridden=wave is not None or refused is not None)
    return card.stmt(tuple(node(n) for n in card.heads), 0.0 if value is None else value, params=params,
                     columns=columns)


class _DcValue:
    """The DC value of a V or I card, as ngspice 39 settles it when several are given
    (measured: ``tests/test_spice_constructs.py::REPEATED_DC``):

    * a value right after the nodes (``V1 a 0 1 DC 2``: 1 V) wins over every DC keyword;
    * else the last ``DC v``, ``DC=v`` or ``DC(v)`` wins (``DC 1 AC 1 DC 3``: 3 V), and a
      ``DC`` without a value sets 0 (``DC 1 DC``: 0 V; ``DC PULSE(1 5)``: 0 V, not the
      waveform's 1 V).

    What was given more than once is said in a warning (:meth:`warn`)."""

    def __init__(self) -> None:
        self.lead: Value | None = None
        self.lead_column = 0
        self.keywords: list[tuple[Value | None, int]] = []  # (value, column) of each DC keyword, None: no value

    @property
    def empty(self) -> bool:
        return self.lead is None and not self.keywords

    def keyword(self, value: Value | None, column: int) -> None:
        self.keywords.append((value, column))

    def value(self) -> Value | None:
        """The DC value (None: none given)."""
        if self.lead is not None:
            return self.lead
        if self.keywords:
            last = self.keywords[-1][0]
            return 0.0 if last is None else last
        return None

    def warn(self, card: Card, overridden: bool) -> None:
        """A warning where the value used is not the only one written (``overridden``: a
        waveform whose value at t = 0 a DC keyword replaces)."""
        values = [c for v, c in self.keywords if v is not None] + ([self.lead_column] if self.lead is not None else [])
        used = self.value()
        shown_value = f" ({used:g})" if isinstance(used, float) else ""
        if self.lead is not None and len(values) > 1:
            column, why = self.lead_column, (f"{len(values)} DC values given; the one after the nodes{shown_value} "
                                             "is used, as ngspice 39 does (it wins over DC keywords)")
        elif self.lead is None and self.keywords and self.keywords[-1][0] is None and (values or overridden):
            column = self.keywords[-1][1]
            why = ("DC without a value is read as DC 0, as ngspice 39 does; the "
                   + ("earlier DC value" if values else "waveform's value at t = 0") + " is not used")
        elif self.lead is None and len(self.keywords) > 1:
            column, why = self.keywords[-1][1], (f"{len(self.keywords)} DC values given; the last one{shown_value} "
                                                 "is used, as ngspice 39 does")
        else:
            return
        card.warnings.append(f"{card.line.location(column)}: warning: {card.label}: {why}")


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


# ---- D ------------------------------------------------------------------------------------------


def _diode(card: Card) -> ElementStmt:
    a, k, model = card.heads
    area: Value | None = None
    params: dict[str, Value] = {}
    columns: dict[str, int] = {}
    for item in card.items:
        if _is(item, "comma") or (_is(item, "word") and lower(text_of(item)) == "off"):
            continue  # `off`: a starting guess for the Newton iteration, no effect on the answer
        if _is(item, "number", "braced") and area is None and "area" not in params:
            area = card.value(item)
        elif _is(item, "assignment"):
            if lower(item.children[0]) in ("temp", "dtemp"):
                raise card.error(item, f"a diode's own '{lower(item.children[0])}' is not supported",
                                 "set the circuit's temperature with .temp or .options temp=")
            card.params(item, DIODE_KEYS, params, columns)
        else:
            raise card.unexpected(item, "an area, name=value or the end of the line")
    if area is not None:
        if "area" in params:
            raise card.error(None, "area given twice (a value and area=)", "give one of them")
        params["area"] = area
    val = params.pop("area", None)  # None: the model's AREA (1 by default)
    return card.stmt((node(a), node(k)), val, lower(model), params, columns)


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


_READERS = {"r": _resistor, "v": _source, "i": _source, "d": _diode}  # the native readers
