"""Element names that are decoded only when they are read.

A netlist of 50 million resistors has 50 million names, and as Python strings they would
take about 60 bytes each. The bulk scanner (:mod:`.bulk`) keeps a simple line's name as
where it is in the file instead: its line (the name is the line's first token), its length
and a 64-bit hash of its bytes. :class:`LineNames` is such a block of names; :class:`Names`
is the sequence of one element kind's names, joined from blocks of either sort (the
grammar's names are plain strings) in file order.

Both are read-only sequences of ``str``: ``names[k]`` decodes one name, slices give new
sequences without decoding, ``==`` compares with any sequence of strings. Two questions are
answered without decoding every name, from the hashes: :meth:`Names.first_duplicate`
(element names must be unique) and :meth:`Names.index` (where a name is).

The hash of a name of at most 64 bytes is ``h = sum_j w_j P_j (mod 2**64)``, ``w_j`` the
name's ``j``-th 8-byte little-endian word (zero-padded) and ``P_j`` fixed odd constants:
equal names have equal hashes, so names with distinct hashes are distinct; names whose
hashes are equal are compared as strings.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from .text import NetlistText

_DECODE_BLOCK = 1 << 16  # names decoded at a time when iterated
THREADED_SORT = 1 << 22  # hashes from which the duplicate check sorts on two threads
MAX_NAME_BYTES = 64  # longest name the bulk scanner keeps as a LineNames entry (others: the grammar's)

# odd 64-bit multipliers for the word hash (splitmix64 outputs)
MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93,
                0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3],
               np.uint64)
_MIX_INTS = [int(m) for m in MIX]


def hash_words(words: np.ndarray) -> np.ndarray:
    """The hashes of names given as rows of zero-padded little-endian uint64 words."""
    with np.errstate(over="ignore"):
        key = words[:, 0] * MIX[0]
        for j in range(1, words.shape[1]):
            key += words[:, j] * MIX[j]
    return key


def hash_name(name: str) -> int:
    """The hash of one name (its UTF-8 bytes; any length: longer names are never compared
    by hash with a :class:`LineNames` entry, which holds at most 64 bytes)."""
    raw = name.encode("utf-8", "surrogatepass")
    key = 0
    for j in range(0, len(raw), 8):
        key += int.from_bytes(raw[j:j + 8], "little") * _MIX_INTS[(j // 8) % len(_MIX_INTS)]
    return key & 0xFFFFFFFFFFFFFFFF


class LineNames(Sequence[str]):
    """Names that are the first tokens of lines of a :class:`~.text.NetlistText`, lower
    case: name ``k`` is the ``length[k]`` bytes at the start of line ``line[k]``, its hash
    ``key[k]``."""

    def __init__(self, text: NetlistText, line: np.ndarray, length: np.ndarray, key: np.ndarray) -> None:
        self.text, self.line, self.length, self.key = text, line, length, key

    def __len__(self) -> int:
        return len(self.line)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return LineNames(self.text, self.line[index], self.length[index], self.key[index])
        self.text.check()
        start = int(self.text.starts[self.line[index]])
        return bytes(self.text.data[start:start + int(self.length[index])]).decode("ascii").lower()

    def __iter__(self) -> Iterator[str]:
        for a in range(0, len(self), _DECODE_BLOCK):  # decoded a block at a time: one decode, one split
            yield from self[a:a + _DECODE_BLOCK].decoded()

    def decoded(self) -> list[str]:
        """Every name, as strings: gathered with a newline after each (:meth:`as_bytes`),
        then decoded and split once, rather than one slice and decode per name."""
        if not len(self):
            return []
        rows = self.as_bytes(int(self.length.max()) + 1).view(np.uint8).reshape(len(self), -1)
        rows[np.arange(len(self)), self.length] = ord("\n")
        return rows[rows != 0].tobytes().decode("ascii").split("\n")[:-1]

    def as_bytes(self, width: int) -> np.ndarray:
        """The names as a ``S<width>`` array (``width`` at least the longest), gathered from
        the file's bytes a column at a time and lower-cased there: no string per name."""
        self.text.check()
        data = np.frombuffer(self.text.data, np.uint8)
        start = self.text.starts[self.line].astype(np.int64)  # (the file's offsets may be uint32)
        rows = np.zeros((len(self), max(width, 1)), np.uint8)
        for j in range(int(self.length.max()) if len(self) else 0):
            live = self.length > j
            column = data[np.where(live, start + j, 0)]
            column = np.where((column >= 65) & (column <= 90), column + 32, column)  # ASCII A-Z: a lower-case name
            rows[:, j] = np.where(live, column, 0)
        return rows.view(f"S{max(width, 1)}").ravel()


class Names(Sequence[str]):
    """One kind's element names in order: blocks of plain strings and of :class:`LineNames`."""

    def __init__(self, parts: Iterable[Sequence[str]] = ()) -> None:
        self.parts: list[Sequence[str]] = []
        self.ends: list[int] = []  # cumulative lengths
        for part in parts:
            self.add(part)

    def add(self, part: Sequence[str]) -> None:
        """Append a block (a list of strings is appended to a trailing list block in place)."""
        if isinstance(part, Names):
            for p in part.parts:
                self.add(p)
            return
        if not len(part):
            return
        if isinstance(part, LineNames):
            self.parts.append(part)
        elif self.parts and isinstance(self.parts[-1], list):
            self.parts[-1].extend(part)
            self.ends[-1] += len(part)
            return
        else:
            self.parts.append(list(part))
        self.ends.append((self.ends[-1] if self.ends else 0) + len(part))

    def append(self, name: str) -> None:
        self.add([name])

    def __len__(self) -> int:
        return self.ends[-1] if self.ends else 0

    def _locate(self, k: int) -> tuple[int, int]:
        p = bisect.bisect_right(self.ends, k)
        return p, k - (self.ends[p - 1] if p else 0)

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, slice):
            lo, hi, step = index.indices(n)
            if step != 1:
                return [self[k] for k in range(lo, hi, step)]
            out = Names()
            for p, part in enumerate(self.parts):
                first = self.ends[p - 1] if p else 0
                a, b = max(lo, first), min(hi, self.ends[p])
                if a < b:
                    out.add(part[a - first:b - first])
            return out
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("name index out of range")
        p, k = self._locate(index)
        return self.parts[p][k]

    def __iter__(self) -> Iterator[str]:
        for part in self.parts:
            yield from part

    def __add__(self, other: Sequence[str]) -> "Names":
        return Names([self, other])

    def __radd__(self, other: Sequence[str]) -> "Names":
        return Names([other, self])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # a mutable sequence, as a list

    def __repr__(self) -> str:
        shown = ", ".join(repr(self[k]) for k in range(min(len(self), 3)))
        return f"Names([{shown}{', ...' if len(self) > 3 else ''}], {len(self)} names)"

    @property
    def lazy(self) -> bool:
        """Whether any block is decoded only when read."""
        return any(isinstance(p, LineNames) for p in self.parts)

    def keys(self) -> np.ndarray:
        """The hash of each name (see the module docstring)."""
        blocks = [p.key if isinstance(p, LineNames) else np.array([hash_name(s) for s in p], np.uint64)
                  for p in self.parts]
        if len(blocks) == 1:
            return blocks[0]  # (read only: no copy of millions of hashes)
        return np.concatenate(blocks) if blocks else np.zeros(0, np.uint64)

    def as_bytes(self) -> np.ndarray:
        """The names as one fixed-width bytes array (UTF-8), as ``numpy.savez`` keeps them;
        the file's blocks are gathered without a Python string per name."""
        encoded = [None if isinstance(p, LineNames) else [n.encode("utf-8", "surrogatepass") for n in p]
                   for p in self.parts]
        width = max([int(p.length.max()) for p in self.parts if isinstance(p, LineNames) and len(p)]
                    + [len(e) for block in encoded if block for e in block] + [1])
        blocks = [p.as_bytes(width) if isinstance(p, LineNames) else np.array(block, dtype=f"S{width}")
                  for p, block in zip(self.parts, encoded)]
        return np.concatenate(blocks) if blocks else np.zeros(0, f"S{width}")

    def first_duplicate(self) -> tuple[int, int] | None:
        """``(first, k)`` for the earliest ``k`` whose name appeared before, at ``first``;
        None when every name is distinct. Only names whose hashes collide are decoded."""
        if not self.lazy:
            seen: dict[str, int] = {}
            for k, name in enumerate(self):
                if name in seen:
                    return seen[name], k
                seen[name] = k
            return None
        keys = self.keys()
        if not _any_equal(keys):  # a sort first: several times faster than the argsort a duplicate needs
            return None
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        same = np.flatnonzero(ordered[1:] == ordered[:-1])
        suspects = np.sort(np.concatenate([order[same], order[same + 1]]))  # in file order
        suspects = suspects[np.r_[True, suspects[1:] != suspects[:-1]]]  # (np.unique would import numpy.ma)
        seen = {}
        for k in suspects.tolist():
            name = self[k]
            if name in seen:
                return seen[name], k
            seen[name] = k
        return None

    def index(self, name: str, start: int = 0, stop: int | None = None) -> int:
        """The position of the first element called ``name``; ValueError if none."""
        key = np.uint64(hash_name(name))
        for p, part in enumerate(self.parts):
            first = self.ends[p - 1] if p else 0
            if isinstance(part, LineNames):
                if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
                    continue
                for k in np.flatnonzero(part.key == key).tolist():
                    if part[k] == name:
                        return first + k
            elif name in part:
                return first + part.index(name)
        raise ValueError(f"{name!r} is not an element name here")


def _any_equal(keys: np.ndarray) -> bool:
    """Whether two of ``keys`` are equal: sorted, then neighbours compared. Millions of
    keys are split by their top bit (equal keys share it) and the halves sorted on two
    threads (numpy's sort lets go of the GIL)."""
    if len(keys) < THREADED_SORT:
        ordered = np.sort(keys)
        return bool(np.any(ordered[1:] == ordered[:-1]))
    from concurrent.futures import ThreadPoolExecutor

    high = keys >= np.uint64(1 << 63)
    halves = [keys[high], keys[~high]]
    del high
    with ThreadPoolExecutor(2) as pool:
        return any(pool.map(_sorted_has_equal, halves))


def _sorted_has_equal(half: np.ndarray) -> bool:
    """Whether two of ``half`` (a copy, sorted here in place) are equal."""
    half.sort()
    return bool(np.any(half[1:] == half[:-1]))


def as_names(names: Sequence[str]) -> Sequence[str]:
    """``names`` as the element graph keeps them: a tuple when every name is a string
    already, else the lazy :class:`Names` itself."""
    if isinstance(names, Names) and names.lazy:
        return names
    return tuple(names)
