"""The bulk fast path: simple element lines read in whole-file numpy passes.

A *simple line* is an ``R``, ``V`` or ``I`` card written as exactly four tokens starting
in column 1: name, two node names and a plain decimal number, nothing else::

    rr16 n2_16130_15096 _x_n2_16130_15096 2.500000e-01

They are nearly all of a large netlist (ibmpg1: 55,101 of 55,121 lines; a DRN: all but a
few hundred). Reading them one by one through Lark costs ~60 us a line. Here the file is
read 2 MB of whole lines at a time (:data:`CHUNK_BYTES`; by two forked processes, in four
chunks or more, for a file of 16 MB or more: :data:`PARALLEL_BYTES`), each chunk's
lower-cased text a ``uint8`` array and every step a pass over it:

1. *tokens*: maximal runs of bytes other than space, tab and newline, as ``start``/``end``
   offsets; the line of each token is a ``searchsorted`` over the newline offsets;
2. *classification*: a line is simple when it has four tokens, the first in column 1 and
   starting with ``r``/``v``/``i``, no byte of it is one that no token may hold, and
   neither node name starts with a byte that no name may start with. These byte classes
   (:func:`byte_classes`) are derived from the grammar's own ``NAME`` (narrower than the
   ``NODE`` terminal of node positions: the grammar takes the rest) and ``R_NAME``/
   ``V_NAME``/``I_NAME`` terminals, plus the bytes the line reader treats as comments and
   the bytes this scanner cannot carry (NUL, non-ASCII). Lines with non-ASCII bytes are
   left to the grammar;
3. *node names* are never made into Python strings one by one: each node token is hashed
   (its zero-padded 64-bit words, mixed: :func:`_factorise`), the hashes are factorised by a
   sort, every token is checked byte for byte against its class representative
   (so a hash collision cannot merge two nodes), and only the distinct names are decoded;
4. *element names* are not decoded at all: a simple line's name is its line's first token,
   kept as the line, its length and a hash (:class:`~.names.LineNames`), decoded when read;
5. *values*: ``float()`` of each number token (gathered into fixed-width rows first). On
   the tokens kept (a sign, digits with at most one ``.``, an optional exponent: no scale
   letter, no ``_``, not ``inf``/``nan``)
   that is exactly the grammar's ``NUMBER`` read by :func:`.numbers.parse_number`; a token
   ``float`` refuses (``1..2``, ``5e``, ``1k``) or reads as infinite (``1e400``) sends its
   line to the grammar (which reports the out-of-range number).

Lines the fast path must not take although they look simple (the title, a line followed
by a ``+`` continuation) are *demoted* to the grammar. The fast path may decline any line
(the grammar then reads it), but must never take one the grammar rejects or reads
differently: ``tests/test_parser_differential.py`` checks that both paths give identical
elements and identical errors, on generated lines and for every byte in every token position.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from ..memory import give_back_free_memory
from . import decimals
from .names import MAX_NAME_BYTES, MIX, LineNames, hash_words
from .source import LogicalLine
from .statements import ElementStmt
from .text import NetlistText

# byte classes, one per byte (exclusive): 0 for bytes any token may hold
_BAD = 1  # may appear in no token of a simple line (reserved, comment and white-space bytes...)
_NOT_FIRST = 2  # may not start a node name (but may follow in one, and start a number)
_SEP = 64  # space, tab: between tokens (the grammar's ``%ignore WS_INLINE``)
_NL = 128  # newline

_KIND_BYTES = {k: ord(k) for k in "rvi"}  # the element letters of simple lines

_GRAMMAR = os.path.join(os.path.dirname(__file__), "grammar.lark")
# a terminal defined by one regular expression: ``NAME(.priority)?: /regex/flags``
_REGEX_TERMINAL = re.compile(r"^(\w+)(?:\.-?\d+)?[ \t]*:[ \t]*/((?:\\.|[^/\\\n])+)/([imslux]*)[ \t]*$", re.M)


@lru_cache(maxsize=1)
def grammar_patterns() -> dict[str, str]:
    """The terminals of ``grammar.lark`` that are one regular expression, as ``re`` patterns.

    ``NAME: /regex/flags`` is read as Lark reads it: ``regex``, or ``(?flags:regex)``.
    Terminals written otherwise (strings, alternatives, imports) are not listed. The
    grammar's text is read, not Lark's parse of it, so that a netlist of simple lines never
    imports lark; ``tests/test_parser_differential.py`` checks that these are the patterns
    Lark builds.
    """
    with open(_GRAMMAR, encoding="utf-8") as fh:
        text = fh.read()
    return {m[1]: f"(?{m[3]}:{m[2]})" if m[3] else m[2] for m in _REGEX_TERMINAL.finditer(text)}


@lru_cache(maxsize=1)
def byte_classes() -> np.ndarray:
    """The class of each byte value (``uint8[256]``): ``_BAD``, ``_NOT_FIRST``, ``_SEP``, ``_NL`` or 0.

    From the grammar, for each ASCII character ``c``: ``_BAD`` when an element name
    (``R_NAME``, ``V_NAME``, ``I_NAME``) or a node name (``NAME``) cannot hold ``c`` after its
    first character (white space, ``=(){}',``), else ``_NOT_FIRST`` when a node name cannot
    start with it (``+-*^``). Added by hand, as ``_BAD``:

    * the bytes of inline comments, which the line reader (:mod:`.source`) removes before
      the grammar sees a line: ``;``, ``$``, ``/``;
    * ``"``, the grammar's ``STRING`` delimiter (an ``.include`` path);
    * NUL (the node hash pads names with it) and every non-ASCII byte (lower-casing and
      ``str.split`` act on characters, not bytes).

    Space and tab are the separators (the grammar ignores ``WS_INLINE``), newline ends a
    line. Every ASCII white-space character that ``str.split`` splits on is ``_BAD`` (the
    grammar's ``\\s``), so splitting the joined tokens cannot cut one apart.
    """
    patterns = grammar_patterns()
    node = re.compile(patterns["NAME"])
    element = {kind: re.compile(patterns[kind.upper() + "_NAME"]) for kind in _KIND_BYTES}
    table = np.zeros(256, np.uint8)
    for b in range(128):
        c = chr(b)
        if node.fullmatch("n" + c) is None or any(p.fullmatch(k + c) is None for k, p in element.items()):
            table[b] = _BAD
        elif node.fullmatch(c) is None:
            table[b] = _NOT_FIRST
    for ch in ';$/"\0':
        table[ord(ch)] = _BAD
    table[128:] = _BAD
    table[[ord(" "), ord("\t")]] = _SEP
    table[ord("\n")] = _NL
    return table


@lru_cache(maxsize=1)
def _plain_diode_card() -> re.Pattern:
    """``D_NAME NODE NODE NAME`` alone on a line, in the grammar's own terminals, with its
    white space (``WS_INLINE``: spaces and tabs) around and between them."""
    p = grammar_patterns()
    return re.compile(rf"[ \t]*({p['D_NAME']})[ \t]+({p['NODE']})[ \t]+({p['NODE']})[ \t]+({p['NAME']})[ \t]*")


def plain_diode(line: LogicalLine) -> ElementStmt | None:
    """The statement of a diode card of exactly four tokens (``D1 a k model``: no area, no
    parameters), read without the grammar, or None for any other line.

    A DRN netlist holds one such card per hidden unit (65,536 in DRN-XL); through Lark each
    costs ~75 us. The statement is the one the grammar's ``diode`` rule and
    :func:`.cards.element_card` make of the line (``tests/test_parser_differential.py``).
    """
    m = _plain_diode_card().fullmatch(line.text)
    if m is None:
        return None
    name, a, k, model = (t.lower() for t in m.groups())
    return ElementStmt("d", name, ("0" if a == "gnd" else a, "0" if k == "gnd" else k), None, model, {},
                       line.location(1), line)


@dataclass(frozen=True)
class KindRows:
    """The simple lines of one element kind, in file order.

    ``nodes`` are the node ids that :func:`scan`'s ``node_id`` gave the node names;
    ``names`` are decoded from the file only when read (:class:`~.names.LineNames`).
    """

    line: np.ndarray  # 0-based line index (int32), increasing
    names: LineNames
    nodes: np.ndarray  # [rows, 2] int32
    value: np.ndarray

    def between(self, lo: int, hi: int) -> tuple[int, int]:
        """Row range of the lines in ``[lo, hi)``."""
        at = self.line.dtype.type  # a bound of another type would have numpy convert all the lines first
        return int(np.searchsorted(self.line, at(lo))), int(np.searchsorted(self.line, at(hi)))

    def pick(self, rows: np.ndarray) -> "KindRows":
        return KindRows(self.line[rows], LineNames(self.names.text, self.names.line[rows], self.names.length[rows],
                                                   self.names.key[rows]),
                        self.nodes[rows], self.value[rows])


@dataclass(frozen=True)
class ScanResult:
    slow: list[int]  # sorted indices of the lines the grammar must read (not blank or '*' comment lines)
    rows: dict[str, KindRows]
    has_lib: bool = False  # whether ".lib" appears anywhere, in any case (a library file's sections)


CHUNK_BYTES = 1 << 21  # bytes of text scanned per pass: 2 MB, whose per-byte and per-token arrays (~25x) stay in
# the caches; 32 MB chunks made a DRN netlist's scan 1.5x as slow (page faults and memory traffic)


PARALLEL_BYTES = 1 << 24  # files this large are scanned by two processes (in four chunks or more), given two cores


@dataclass(frozen=True)
class _Chunk:
    """What one chunk's scan finds: the lines for the grammar, the simple lines' columns by
    kind (``node_a``/``node_b`` indexing ``nodes``, the chunk's distinct node names), and
    the simple lines before it that a '+' line in it continues (``demoted``)."""

    slow: np.ndarray
    nodes: list[str]
    demoted: list[int]
    columns: dict[str, tuple[np.ndarray, ...]]  # kind -> (line, length, key, node_a, node_b, value)
    has_lib: bool  # ".lib" in it, in any case


def scan(text: NetlistText, start: int, chunk_bytes: int | None = None,
         node_id: Callable[[str], int] | None = None) -> ScanResult:
    """Split a file into the lines for the grammar and the simple lines by kind.

    ``text`` is the file (:class:`~.text.NetlistText`), ``start`` the first line that may
    hold an element (1 after a title); ``node_id`` gives each node name its id (the
    reader's :meth:`~.statements.ParsedNetlist.node_id`; by default, ids in order of
    first appearance here). Each chunk's node columns are given their ids as the chunk
    comes in, while the next ones are still being scanned. The file is scanned ``chunk_bytes`` (default
    :data:`CHUNK_BYTES`) at a time, in whole lines, so the scanner's own arrays stay near
    that size whatever the file's; the result does not depend on it. A file of
    :data:`PARALLEL_BYTES` or more has its chunks scanned by two processes (:func:`_chunks`).
    """
    if not chunk_bytes:  # a file for two processes: at least four chunks, so both have work to the end
        chunk_bytes = min(CHUNK_BYTES, -(-text.size // 4)) if text.size >= PARALLEL_BYTES else CHUNK_BYTES
    n = len(text)
    bounds = []
    lo = 0
    offset = text.starts.dtype.type  # a bound of the offsets' own type: another has numpy convert them all first
    while lo < n:
        end = offset(int(text.starts[lo]) + chunk_bytes)
        hi = min(n, max(lo + 1, int(np.searchsorted(text.starts, end, side="left"))))
        bounds.append((lo, hi))
        lo = hi
    if node_id is None:
        ids_of: dict[str, int] = {}
        node_id = lambda name: ids_of.setdefault(name, len(ids_of))  # noqa: E731
    slow: list[np.ndarray] = []
    parts: dict[str, list[KindRows]] = {kind: [] for kind in _KIND_BYTES}
    demoted: set[int] = set()
    has_lib = False
    for chunk in _chunks(text, bounds, start):
        has_lib |= chunk.has_lib
        slow.append(chunk.slow)
        demoted.update(chunk.demoted)
        ids = np.array([node_id(name) for name in chunk.nodes], np.int32)
        for kind, (line, length, key, node_a, node_b, value) in chunk.columns.items():
            nodes = np.empty((len(line), 2), np.int32)
            if len(line):
                nodes[:, 0], nodes[:, 1] = ids[node_a], ids[node_b]
            parts[kind].append(KindRows(line, LineNames(text, line, length, key), nodes, value))
    if demoted:  # a simple line whose '+' continuation is in a later chunk: the grammar's
        late = np.array(sorted(demoted), np.int64)
        for kind, blocks in parts.items():
            parts[kind] = [b.pick(np.flatnonzero(~np.isin(b.line, late))) for b in blocks]
        slow.append(late)
    slow_lines = distinct(np.concatenate(slow)) if len(slow) > 1 or demoted else slow[0]
    rows = {kind: _joined_rows(text, blocks) for kind, blocks in parts.items()}
    if len(bounds) > 1:
        del parts, chunk
        give_back_free_memory()  # the chunks' arrays, joined and freed
    return ScanResult(slow_lines[slow_lines >= start].tolist(), rows, has_lib)


_SCANNING: NetlistText | None = None  # the file a forked scanning process reads (its parent's, inherited)


def _chunks(text: NetlistText, bounds: list[tuple[int, int]], start: int):
    """The :class:`_Chunk` of each ``(lo, hi)`` line range of ``text``, in order: here, or,
    for a file of :data:`PARALLEL_BYTES` or more on a machine with two cores or more, by two
    forked processes that inherit the memory-mapped file (only the chunks' columns travel
    back). Where processes cannot be forked, or safely (another thread is running, as in
    ``resim serve``: a fork copies only the calling thread, and a lock another one holds stays
    held in the child), here. The status line's thread (``resim-status``, ``resim solve`` on
    a terminal) only draws on stderr, which the children never touch."""
    if text.size < PARALLEL_BYTES or len(bounds) < 2 or not _may_fork():  # (multiprocessing: 15 ms to import)
        for lo, hi in bounds:
            yield _scan_chunk(text, lo, hi, start)
        return
    import multiprocessing

    global _SCANNING
    _SCANNING = text
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            yield from pool.imap(_scan_inherited, [(lo, hi, start) for lo, hi in bounds])
    finally:
        _SCANNING = None


def _may_fork() -> bool:
    """Whether two cores are there to scan on, and forking is possible and safe (see :func:`_chunks`)."""
    import multiprocessing
    import threading

    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods() \
        and all(t is threading.main_thread() or t.name == "resim-status" for t in threading.enumerate())


def _scan_inherited(job: tuple[int, int, int]) -> "_Chunk":
    """:func:`_scan_chunk` in a forked process, of the file its parent was scanning."""
    lo, hi, start = job
    return _scan_chunk(_SCANNING, lo, hi, start)


def _joined_rows(text: NetlistText, blocks: list[KindRows]) -> KindRows:
    if len(blocks) == 1:
        return blocks[0]
    if not blocks:
        empty = np.zeros(0, np.int32)
        return KindRows(empty, LineNames(text, empty, np.zeros(0, np.uint8), np.zeros(0, np.uint64)),
                        np.zeros((0, 2), np.int32), np.zeros(0))
    line = np.concatenate([b.line for b in blocks])
    names = LineNames(text, line, np.concatenate([b.names.length for b in blocks]),
                      np.concatenate([b.names.key for b in blocks]))
    return KindRows(line, names, np.concatenate([b.nodes for b in blocks]), np.concatenate([b.value for b in blocks]))


def _scan_chunk(text: NetlistText, lo: int, hi: int, start: int) -> _Chunk:
    """Lines ``[lo, hi)`` of ``text``: the lines for the grammar, the simple lines by kind,
    and the simple lines before ``lo`` that a '+' line here continues (:class:`_Chunk`)."""
    demoted: list[int] = []
    raw = text.bytes_of(lo, hi).lower()  # bytes.lower: ASCII letters only, as the scanner reads
    text.release(*text.span(lo, hi))  # the file's pages: not this process's memory any more
    n = hi - lo
    buf = _buffer(raw if raw.count(b"\n") == n else raw + b"\n")
    cls = byte_classes()[buf]
    newline = np.flatnonzero(cls == _NL).astype(np.int32 if len(buf) < 2**31 else np.int64)
    line_start = np.r_[0, newline[:-1] + 1]
    first_line = max(0, start - lo)  # the first line here that may hold an element

    is_token = cls < _SEP
    edges = np.flatnonzero(is_token[1:] != is_token[:-1]) + 1  # token starts and ends, alternating
    if is_token[0]:
        edges = np.r_[0, edges]
    t_start, t_end = edges[0::2], edges[1::2]  # the final newline ends the last token
    t_line = np.searchsorted(newline, t_start)
    per_line = np.bincount(t_line, minlength=n)
    first = np.searchsorted(t_line, np.arange(n))  # index of each line's first token

    simple = per_line == 4
    simple[:first_line] = False
    simple &= t_start[np.minimum(first, len(t_start) - 1)] == line_start if len(t_start) else False
    lead = buf[line_start]
    simple &= (lead == ord("r")) | (lead == ord("v")) | (lead == ord("i"))
    bad_lines = np.searchsorted(newline, np.flatnonzero(cls == _BAD))
    simple[bad_lines] = False
    rows = first[simple]
    simple[t_line[rows[((cls[t_start[rows + 1]] | cls[t_start[rows + 2]]) & _NOT_FIRST) != 0]]] = False
    simple[t_line[rows[t_end[rows] - t_start[rows] > MAX_NAME_BYTES]]] = False

    rows = first[simple]
    number_bad, values = _numbers(buf, t_start[rows + 3], t_end[rows + 3])
    simple[t_line[rows[number_bad]]] = False
    # demotions: a line continued by a '+' line is read by the grammar with its continuation
    has_tokens = np.flatnonzero(per_line)
    maybe = has_tokens[buf[t_start[first[has_tokens]]] == ord("+")]  # '+' first, or odd white space
    for i in sorted(set(maybe.tolist()) | set(bad_lines.tolist())):  # not np.union1d: it imports numpy.ma (40 ms)
        if text[lo + i].lstrip()[:1] != "+":
            continue
        j = lo + i - 1
        while j >= start and (not text[j].strip() or text[j].lstrip()[:1] == "*"):
            j -= 1
        if j >= lo:
            simple[j - lo] = False
        elif j >= 0:
            demoted.append(j)  # in an earlier chunk: the caller takes it back if it was simple
    keep = simple[t_line[rows]]
    rows, values = rows[keep], values[keep]

    # blank lines and '*' comment lines are nobody's (a continuation finds its comments itself)
    idle = per_line == 0
    idle[has_tokens] = buf[t_start[first[has_tokens]]] == ord("*")
    slow = np.flatnonzero(~(simple | idle)) + lo
    codes, chunk_nodes = _factorise(buf, np.r_[t_start[rows + 1], t_start[rows + 2]],
                                    np.r_[t_end[rows + 1], t_end[rows + 2]])
    codes = codes.astype(np.int32)
    m = len(rows)
    lines = (t_line[rows] + lo).astype(np.int32)
    length = (t_end[rows] - t_start[rows]).astype(np.uint8)
    key = _name_keys(buf, t_start[rows], t_end[rows])
    kinds = buf[t_start[rows]]
    columns = {}
    for kind, code in _KIND_BYTES.items():
        pick = np.flatnonzero(kinds == code)
        columns[kind] = (lines[pick], length[pick], key[pick], codes[pick], codes[m + pick], values[pick])
    return _Chunk(slow, chunk_nodes, demoted, columns, b".lib" in raw)


def _name_keys(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The hash (:func:`~.names.hash_words`) of each token of at most 64 bytes."""
    if not len(starts):
        return np.zeros(0, np.uint64)
    width = -(-int((ends - starts).max()) // 8) * 8
    return hash_words(_words(buf, starts, ends, width))


def distinct(a: np.ndarray) -> np.ndarray:
    """The distinct values of ``a``, sorted: ``np.unique(a)`` without importing numpy.ma
    (40 ms that a small netlist's solve does not spend)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


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
    # one load per byte of buf and of the slack after it: a token's words go up to 64 bytes past its start
    loads = np.ndarray((len(buf) + 64,), dtype="<u8", buffer=buf.base, offset=_offset(buf), strides=(1,))
    lengths = (ends - starts).astype(np.uint64)
    out = np.empty((len(starts), width // 8), np.uint64)
    for j in range(width // 8):
        have = np.minimum(np.maximum(lengths, 8 * j) - 8 * j, 8)  # bytes of the token in word j
        mask = np.where(have == 8, np.uint64(2**64 - 1), (np.uint64(1) << (have * np.uint64(8))) - np.uint64(1))
        out[:, j] = loads[starts + 8 * j] & mask
    return out


def _offset(view: np.ndarray) -> int:
    return view.__array_interface__["data"][0] - view.base.__array_interface__["data"][0]


def _buffer(raw: bytes) -> np.ndarray:
    """``raw`` (ending in a newline) as a uint8 array, followed in memory by 72 zero bytes
    of slack for :func:`_words`' 8-byte loads."""
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
                key = key * MIX[0]
                for j in range(1, width // 8):
                    key += words[:, j] * MIX[j]
        values = distinct(key)  # a sort, not an argsort: several times faster
        codes = np.searchsorted(values, key)
        first = np.empty(len(values), np.int64)
        first[codes] = np.arange(len(key))  # a token of each code (which one does not matter)
        if width == 8 or np.array_equal(words, words[first[codes]]):
            return codes, _decode(buf, starts[first], ends[first])
    tokens = _decode(buf, starts, ends)  # long names, or a hash collision
    table: dict[str, int] = {}
    codes = np.fromiter(map(table.setdefault, tokens, itertools.count()), np.int64, len(tokens))
    _, first, codes = np.unique(codes, return_index=True, return_inverse=True)
    return codes.ravel(), [tokens[k] for k in first.tolist()]


_LONGEST_NUMBER = 64  # bytes of a number token the fast path reads


def _numbers(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values of the number tokens, and a mask of the tokens that are not numbers.

    Tokens of the plain shape (sign, digits, point, exponent) are read in bulk by
    :func:`.decimals.parse`, bit for bit as ``float()`` reads them; the others by ``float()``
    one by one, which for a token of digits, '.', 'e' and signs is exactly the grammar's
    number rule (mantissa and exponent, no scale letter). ``float`` also reads ``inf``,
    ``nan`` and ``1_000``, which are not numbers here; they are flagged with the tokens
    ``float`` refuses.
    """
    long = ends - starts > _LONGEST_NUMBER  # left to the grammar (and no row of the gather that long)
    if long.any():
        ends = np.where(long, starts + 1, ends)
    width = -(-max(1, int((ends - starts).max()) if len(starts) else 1) // 8) * 8
    rows = _words(buf, starts, ends, width).view(np.uint8).reshape(len(starts), width)  # NUL-padded tokens
    values, bad = decimals.parse(rows)
    bad = ~bad  # from here: not (yet) read
    rest = np.flatnonzero(bad)
    if len(rest):
        tokens = rows[rest].view(f"S{width}").ravel().tolist()
        wrong = np.zeros(len(rest), bool)
        for r, tok in enumerate(tokens):
            try:
                values[rest[r]] = float(tok)
            except ValueError:
                wrong[r] = True
        wrong |= ~np.isfinite(values[rest])
        wrong |= (rows[rest] == ord("_")).any(axis=1)
        lead = buf[starts[rest]]
        wrong |= ~((lead == ord("+")) | (lead == ord("-")) | (lead == ord(".")) | ((lead >= 48) & (lead <= 57)))
        bad[rest] = wrong
    bad |= long
    values[bad] = 0.0
    return bad, values
