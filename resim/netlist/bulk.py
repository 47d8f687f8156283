"""The bulk fast path: simple element lines read in whole-file numpy passes.

A *simple line* is an ``R``, ``V`` or ``I`` card written as exactly four tokens starting
in column 1: name, two node names and a plain decimal number, nothing else::

    rr16 n2_16130_15096 _x_n2_16130_15096 2.500000e-01

They are nearly all of a large netlist (ibmpg1: 55,101 of 55,121 lines; a DRN: all but a
few hundred). Reading them one by one through Lark costs ~60 us a line. Here the lower-cased
text is a ``uint8`` array and every step is a pass over it:

1. *tokens*: maximal runs of bytes other than space, tab and newline, as ``start``/``end``
   offsets; the line of each token is a ``searchsorted`` over the newline offsets;
2. *classification*: a line is simple when it has four tokens, the first in column 1 and
   starting with ``r``/``v``/``i``, and no byte of it is in a class its token may not hold
   (a byte lookup table, :data:`_CLASS`). Lines with non-ASCII bytes are left to the grammar;
3. *node names* are never made into Python strings one by one: each node token is hashed
   (a polynomial over its bytes, ``np.add.reduceat``), the hashes are factorised with
   ``np.unique``, every token is checked byte for byte against its class representative
   (so a hash collision cannot merge two nodes), and only the distinct names are decoded;
4. *values*: exact decimal scaling in integers where that is provably the correctly rounded
   result (Clinger's fast path: an integer mantissa below 2**53 and a power of ten up to
   22), ``float()`` of the token otherwise, so values are always exactly ``float(token)``;
   a token ``float`` refuses (``1..2``, ``5e``) or reads as infinite (``1e400``) sends its
   line to the grammar (which reports the out-of-range number).

Lines the fast path must not take although they look simple (the title, a line followed
by a ``+`` continuation) are *demoted* to the grammar. ``tests/test_parser_differential.py``
checks on generated lines that both paths give identical elements and identical errors.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

# byte classes for the lookup table: 0 for bytes any token may hold
_BAD = 1  # may appear in no token of a simple line (comment, expression and quote bytes...)
_NOT_NODE = 2  # may not appear in a node name (but may in an element name or a number)
_SEP = 64  # space, tab: between tokens
_NL = 128  # newline


def _byte_classes() -> np.ndarray:
    table = np.zeros(256, np.uint8)
    table[[ord(" "), ord("\t")]] = _SEP
    table[ord("\n")] = _NL
    # NUL (it would pad node names), other white space (str.split() and the grammar's \s),
    # reserved characters, non-ASCII
    for ch in "\0\r\x0b\x0c\x1c\x1d\x1e\x1f;$/{}=()'\",":
        table[ord(ch)] = _BAD
    table[128:] = _BAD
    for ch in "*+^":
        table[ord(ch)] = _NOT_NODE
    return table


_CLASS = _byte_classes()
_KIND_BYTES = {k: ord(k) for k in "rvi"}


@dataclass(frozen=True)
class KindRows:
    """The simple lines of one element kind, in file order.

    ``node_a``/``node_b`` index :attr:`ScanResult.nodes` (the distinct node names).
    """

    line: np.ndarray  # 0-based line index, increasing
    names: list[str]
    node_a: np.ndarray
    node_b: np.ndarray
    value: np.ndarray

    def between(self, lo: int, hi: int) -> tuple[int, int]:
        """Row range of the lines in ``[lo, hi)``."""
        return int(np.searchsorted(self.line, lo)), int(np.searchsorted(self.line, hi))


@dataclass(frozen=True)
class ScanResult:
    slow: list[int]  # sorted indices of the lines the grammar must read (blank ones included)
    nodes: list[str]  # distinct node names of the simple lines
    rows: dict[str, KindRows]


def scan(lines: list[str], low: str, start: int) -> ScanResult:
    """Split a file into the lines for the grammar and the simple lines by kind.

    ``lines`` are the file's lines (``text.split("\\n")``, ``\\r`` already normalised),
    ``low`` the lower-cased text, ``start`` the first line that may hold an element (1 after
    a title).
    """
    buf = _buffer(low)
    cls = _CLASS[buf]
    newline = np.flatnonzero(cls == _NL)
    n = len(newline)  # = len(text.split("\n")), thanks to the final newline
    line_start = np.r_[0, newline[:-1] + 1]

    is_token = cls < _SEP
    edges = np.flatnonzero(is_token[1:] != is_token[:-1]) + 1  # token starts and ends, alternating
    if is_token[0]:
        edges = np.r_[0, edges]
    t_start, t_end = edges[0::2], edges[1::2]  # the final newline ends the last token
    t_line = np.searchsorted(newline, t_start)
    per_line = np.bincount(t_line, minlength=n)
    first = np.searchsorted(t_line, np.arange(n))  # index of each line's first token

    simple = per_line == 4
    simple[:start] = False
    simple &= t_start[np.minimum(first, len(t_start) - 1)] == line_start if len(t_start) else False
    lead = buf[line_start]
    simple &= (lead == ord("r")) | (lead == ord("v")) | (lead == ord("i"))
    special = np.flatnonzero(cls & (_BAD | _NOT_NODE))
    bad_lines = np.searchsorted(newline, special[cls[special] == _BAD])
    simple[bad_lines] = False
    # '*', '+' and '^' anywhere in a node token; a node token may not start with '-'
    tok = np.searchsorted(t_start, special[cls[special] == _NOT_NODE], side="right") - 1
    place = tok - first[t_line[tok]]
    simple[t_line[tok[(place == 1) | (place == 2)]]] = False
    rows = first[simple]
    simple[t_line[rows[(buf[t_start[rows + 1]] == ord("-")) | (buf[t_start[rows + 2]] == ord("-"))]]] = False

    rows = first[simple]
    number_bad, values = _numbers(buf, t_start[rows + 3], t_end[rows + 3])
    simple[t_line[rows[number_bad]]] = False
    # demotions: a line continued by a '+' line is read by the grammar with its continuation
    has_tokens = np.flatnonzero(per_line)
    maybe = has_tokens[buf[t_start[first[has_tokens]]] == ord("+")]  # '+' first, or odd white space
    for i in np.union1d(maybe, bad_lines).tolist():
        if lines[i].lstrip()[:1] != "+":
            continue
        j = i - 1
        while j >= start and (not lines[j].strip() or lines[j].lstrip()[:1] == "*"):
            j -= 1
        if j >= 0 and simple[j]:
            simple[j] = False
    keep = simple[t_line[rows]]
    rows, values = rows[keep], values[keep]

    slow = np.flatnonzero(~simple)
    slow = slow[slow >= start].tolist()
    names = _decode(buf, t_start[rows], t_end[rows])
    node_ids, node_names = _factorise(buf, np.r_[t_start[rows + 1], t_start[rows + 2]],
                                      np.r_[t_end[rows + 1], t_end[rows + 2]])
    m = len(rows)
    lines = t_line[rows]
    by_kind: dict[str, KindRows] = {}
    kinds = buf[t_start[rows]]
    for kind, code in _KIND_BYTES.items():
        pick = np.flatnonzero(kinds == code)
        by_kind[kind] = KindRows(lines[pick], [names[k] for k in pick.tolist()] if len(pick) < m else names,
                                 node_ids[pick], node_ids[m + pick], values[pick])
    return ScanResult(slow, node_names, by_kind)


def _spans(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byte offsets of the concatenated spans ``[starts[k], ends[k])``, and each span's
    offset in that concatenation."""
    lengths = ends - starts
    offsets = np.cumsum(lengths) - lengths
    index = np.arange(int(lengths.sum())) + np.repeat(starts - offsets, lengths)
    return index, offsets


def _decode(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    """The tokens ``buf[starts[k]:ends[k]]`` as Python strings."""
    return _joined(buf, starts, ends).split()


def _joined(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> str:
    """The tokens as one string, each followed by the separator after it in the file (they
    are ASCII: simple lines hold no other bytes), to be split in one call."""
    if len(starts) == 0:
        return ""
    index, _ = _spans(starts, ends + 1)
    return buf[index].tobytes().decode("ascii")


def _words(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """The tokens as rows of ``width // 8`` little-endian uint64 words, zero-padded.

    ``buf`` must be followed in memory by ``width`` readable bytes (see :func:`_buffer`):
    each word is one unaligned 8-byte load at ``start + 8 j``, masked to the token's length.
    """
    loads = np.ndarray((len(buf),), dtype="<u8", buffer=buf.base, offset=_offset(buf), strides=(1,))
    lengths = (ends - starts).astype(np.uint64)
    out = np.empty((len(starts), width // 8), np.uint64)
    for j in range(width // 8):
        have = np.minimum(np.maximum(lengths, 8 * j) - 8 * j, 8)  # bytes of the token in word j
        mask = np.where(have == 8, np.uint64(2**64 - 1), (np.uint64(1) << (have * np.uint64(8))) - np.uint64(1))
        out[:, j] = loads[starts + 8 * j] & mask
    return out


def _offset(view: np.ndarray) -> int:
    return view.__array_interface__["data"][0] - view.base.__array_interface__["data"][0]


def _buffer(low: str) -> np.ndarray:
    """The text as bytes with a final newline, followed in memory by 64 zero bytes of slack
    for :func:`_words`' 8-byte loads."""
    raw = low.encode("utf-8", "surrogatepass") + b"\n"
    return np.frombuffer(raw + bytes(72), np.uint8)[: len(raw)]


def _factorise(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes for the tokens ``buf[starts[k]:ends[k]]`` (equal bytes, equal code)
    and the distinct tokens as strings, by code.

    Each token is a row of zero-padded bytes (tokens hold no NUL), read as 64-bit words.
    One word is the token itself; several are mixed into one hash
    h = sum_j w_j P_j (mod 2**64), every row is then compared with the first row of its
    hash, so a collision cannot merge two nodes (a dictionary takes over should one occur).
    Only the distinct tokens become Python strings.
    """
    if len(starts) == 0:
        return np.zeros(0, np.int64), []
    width = -(-int((ends - starts).max()) // 8) * 8
    if width <= 64:
        words = _words(buf, starts, ends, width)
        key = words[:, 0]
        if width > 8:
            with np.errstate(over="ignore"):
                key = key * _MIX[0]
                for j in range(1, width // 8):
                    key += words[:, j] * _MIX[j]
        _, first, codes = np.unique(key, return_index=True, return_inverse=True)
        codes = codes.ravel()
        if width == 8 or np.array_equal(words, words[first[codes]]):
            return codes, _decode(buf, starts[first], ends[first])
    tokens = _decode(buf, starts, ends)  # long names, or a hash collision
    table: dict[str, int] = {}
    codes = np.fromiter(map(table.setdefault, tokens, itertools.count()), np.int64, len(tokens))
    _, first, codes = np.unique(codes, return_index=True, return_inverse=True)
    return codes.ravel(), [tokens[k] for k in first.tolist()]


# odd 64-bit multipliers for the word hash (splitmix64 outputs)
_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93,
                 0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3],
                np.uint64)


def _numbers(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values of the number tokens, and a mask of the tokens that are not numbers.

    ``float`` of each token, which for a token of digits, '.', 'e' and signs is exactly the
    grammar's number rule (mantissa and exponent, no scale letter). ``float`` also reads
    ``inf``, ``nan`` and ``1_000``, which are not numbers here; they are flagged with the
    tokens ``float`` refuses.
    """
    text = _joined(buf, starts, ends)
    tokens = text.split()
    try:
        values = np.array(list(map(float, tokens)), float)
        bad = np.zeros(len(tokens), bool)
    except ValueError:
        values = np.zeros(len(tokens))
        bad = np.zeros(len(tokens), bool)
        for r, tok in enumerate(tokens):
            try:
                values[r] = float(tok)
            except ValueError:
                bad[r] = True
    bad |= ~np.isfinite(values)
    for r in np.flatnonzero(~bad).tolist() if "_" in text else ():
        bad[r] = "_" in tokens[r]
    lead = buf[starts]
    bad |= ~((lead == ord("+")) | (lead == ord("-")) | (lead == ord(".")) | ((lead >= 48) & (lead <= 57)))
    values[bad] = 0.0
    return bad, values
