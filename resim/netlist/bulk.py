"""The bulk fast path: simple element lines read in a few whole-file passes.

A *simple line* is an ``R``, ``V`` or ``I`` card written as exactly four tokens starting
in column 1: name, two node names and a plain decimal number, nothing else::

    rr16 n2_16130_15096 _x_n2_16130_15096 2.500000e-01

They are nearly all of a large netlist (ibmpg1: 55,101 of 55,121 lines). Reading them one
by one through Lark costs ~60 us a line; here each costs well under 4 us:

1. one regular-expression pass (on the lower-cased text) finds every line that is *not*
   simple (blank ones included); the caller reads those, in order, with the grammar;
2. the rest of the text, with those lines cut out, is ``str.split()`` into tokens: exactly
   four per simple line, so the columns are the slices ``tokens[k::4]``;
3. values are Python ``float`` of the number token: for a token of digits, '.', 'e' and
   signs it is exactly what the grammar's number rule gives (mantissa and exponent, no
   scale letter). A token ``float`` refuses (``1..2``, ``5e``) sends its line to the grammar.

Lines the fast path must not take although they look simple (the title, a line followed
by a ``+`` continuation) are *demoted* to the grammar. ``tests/test_parser_differential.py``
checks on generated lines that both paths give identical elements and identical errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import itemgetter

import numpy as np

#: A node token: no character the grammar treats specially, not starting like an operator.
TOKEN = r"[^\s;$/{}=()'\",*+^\-][^\s;$/{}=()'\",*+^]*"
# On lower-cased text 'İ' (U+0130, not an element letter) becomes 'i' + U+0307: a name
# holding U+0307 is left to the grammar.
SIMPLE = rf"[rvi][^\s;$/{{}}=()'\",\u0307]*[ \t]+{TOKEN}[ \t]+{TOKEN}[ \t]+[+-]?[0-9.][0-9.e+-]*[ \t]*"
_NOT_SIMPLE = re.compile(rf"^(?!{SIMPLE}$)[^\n]*$", re.M)  # blank lines included


@dataclass(frozen=True)
class KindRows:
    """The simple lines of one element kind, in file order."""

    line: np.ndarray  # 0-based line index, increasing
    names: tuple[str, ...]
    node_a: tuple[str, ...]
    node_b: tuple[str, ...]
    value: np.ndarray

    def between(self, lo: int, hi: int) -> tuple[int, int]:
        """Row range of the lines in ``[lo, hi)``."""
        return int(np.searchsorted(self.line, lo)), int(np.searchsorted(self.line, hi))


def scan(lines: list[str], low: str, start: int) -> tuple[list[int], dict[str, KindRows]]:
    """Split a file into the lines for the grammar and the simple lines by kind.

    ``lines`` are the file's lines (``text.split("\\n")``), ``low`` the lower-cased text,
    ``start`` the first line that may hold an element (1 after a title). Returns the sorted
    indices of the lines with content that the grammar must read (comment lines included)
    and, per kind ``r``/``v``/``i``, its simple lines. (Blank lines are among the former.)
    """
    n = len(lines)
    slow: list[int] = []
    pieces: list[str] = []
    prev = 0
    line = 0
    for m in _NOT_SIMPLE.finditer(low):
        s = m.start()
        line += low.count("\n", prev, s)
        slow.append(line)
        pieces.append(low[prev:s])
        prev = m.end()
    pieces.append(low[prev:])
    tokens = "".join(pieces).split()

    simple = np.ones(n, bool)
    simple[slow] = False
    simple_line = np.flatnonzero(simple)  # the lines left in `tokens`, four tokens each
    if len(tokens) != 4 * len(simple_line):  # pragma: no cover - the two passes disagree
        raise AssertionError("bulk scan: token count does not match the simple lines")
    names, node_a, node_b, numbers = (tokens[k::4] for k in range(4))

    keep = np.ones(len(simple_line), bool)
    row_of = np.full(n, -1)
    row_of[simple_line] = np.arange(len(simple_line))
    demote = [r for r in (row_of[k] for k in range(min(start, n))) if r >= 0]  # the title
    for i in slow:
        if lines[i].lstrip()[:1] == "+":  # the line it continues goes to the grammar
            j = i - 1
            while j >= start and (not lines[j].strip() or lines[j].lstrip()[:1] == "*"):
                j -= 1
            if j >= 0 and row_of[j] >= 0:
                demote.append(row_of[j])
    values, bad = _values(numbers)
    demote += bad
    if demote:
        keep[demote] = False
        slow = sorted(set(slow) | {int(simple_line[r]) for r in demote if simple_line[r] >= start})

    kinds = np.frombuffer("".join(map(itemgetter(0), names)).encode("ascii"), np.uint8)
    by_kind: dict[str, KindRows] = {}
    for kind in "rvi":
        rows = np.flatnonzero((kinds == ord(kind)) & keep)
        pick = _picker(rows)
        by_kind[kind] = KindRows(simple_line[rows], pick(names), pick(node_a), pick(node_b), values[rows])
    return slow, by_kind


def _picker(rows: np.ndarray):
    """A function gathering ``rows`` of a sequence into a tuple, at C speed."""
    if len(rows) == 0:
        return lambda seq: ()
    if len(rows) == 1:
        k = int(rows[0])
        return lambda seq: (seq[k],)
    return itemgetter(*rows.tolist())


def _values(numbers: list[str]) -> tuple[np.ndarray, list[int]]:
    """``float`` of each number token, and the rows whose token ``float`` refuses."""
    try:
        return np.array(list(map(float, numbers)), float), []
    except ValueError:
        values = np.zeros(len(numbers))
        bad = []
        for r, tok in enumerate(numbers):
            try:
                values[r] = float(tok)
            except ValueError:
                bad.append(r)
        return values, bad
