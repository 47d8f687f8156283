"""A netlist file's text as bytes, with its lines found by offset and decoded only when read.

A netlist of tens of millions of lines (DRN-XL's is 51.6 M lines, 2.3 GB) cannot be held
as one Python string per line: that alone is about 100 bytes a line. :class:`NetlistText`
holds the file's bytes (a memory map for a regular file, so the operating system pages it
in and out) and one offset per line (uint32 below 4 GiB, else int64), and is the sequence of the file's lines as
``text.split("\\n")`` would give them: ``text[i]`` decodes line ``i`` (UTF-8, undecodable
bytes as U+FFFD, as the whole file decoded with ``errors="replace"`` gives it), and slices
give lists. The bulk scanner (:mod:`.bulk`) reads the bytes directly, a range of lines at
a time (:meth:`NetlistText.span`).

Line ends are normalised as before: ``\\r\\n`` and a lone ``\\r`` end a line, as ``\\n``
does. A file holding any ``\\r`` is copied once, normalised; others are used as they are.
"""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Iterator, Sequence

import numpy as np

_SCAN_BYTES = 1 << 26  # bytes per pass when finding the line ends (64 MB: the pass's bool array)


class NetlistText(Sequence[str]):
    """The lines of one netlist file, decoded on demand (see the module docstring).

    ``data`` is the file's bytes (``bytes`` or a read-only :class:`mmap.mmap`; kept open as
    long as this object lives). ``starts[i]`` is the offset of line ``i``; ``starts[-1]``
    is one past the end of the data, as if it ended in a newline.
    """

    def __init__(self, data: bytes | mmap.mmap, source: tuple[str, os.stat_result] | None = None) -> None:
        if data.find(b"\r") >= 0:
            data = bytes(data).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            source = None
        self.source = source if isinstance(data, mmap.mmap) else None  # the mapped file, as it was
        self.data = data
        self.size = len(data)
        self.starts = _line_starts(data, self.release)

    @classmethod
    def from_str(cls, text: str) -> "NetlistText":
        """The lines of ``text`` (a netlist given as a string)."""
        return cls(text.encode("utf-8", "surrogatepass"))

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._line(i) for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("line index out of range")
        return self._line(index)

    def __iter__(self) -> Iterator[str]:
        return (self._line(i) for i in range(len(self)))

    def __reduce__(self):
        """Pickled as its bytes (a memory map cannot be): a sweep's worker processes get the
        netlist's text for their messages."""
        return NetlistText, (bytes(self.data[:]),)

    def __eq__(self, other: object) -> bool:
        """Equal to another NetlistText of the same bytes, or to a list of the same lines."""
        if isinstance(other, NetlistText):
            return self.size == other.size and self.data[:] == other.data[:]
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None

    def check(self) -> None:
        """A :class:`~resim.errors.NetlistError` if the memory-mapped file has changed since
        it was read (its size, time or inode): its lines and names would no longer be the
        netlist's, and a shortened file would end the process (SIGBUS) when read."""
        if self.source is None:
            return
        path, then = self.source
        try:
            now = os.stat(path)
            same = (now.st_ino, now.st_size, now.st_mtime_ns) == (then.st_ino, then.st_size, then.st_mtime_ns)
        except OSError:
            same = False
        if not same:
            from ..errors import NetlistError

            raise NetlistError(f"netlist file '{path}' changed after it was read: resim reads a large netlist's "
                               "names from the file as it reports them",
                               hint="do not rewrite a netlist while resim uses it (solve a copy)")

    def _line(self, i: int) -> str:
        self.check()
        lo, hi = self.starts.item(i), self.starts.item(i + 1) - 1  # without its newline
        return self.data[lo:max(lo, hi)].decode("utf-8", "replace")

    def span(self, lo: int, hi: int) -> tuple[int, int]:
        """The byte range ``[a, b)`` of lines ``lo`` to ``hi - 1``, each line with its newline
        but for the file's last line when it has none."""
        return int(self.starts[lo]), min(int(self.starts[hi]), self.size)

    def bytes_of(self, lo: int, hi: int) -> bytes:
        """The bytes of lines ``[lo, hi)`` (see :meth:`span`)."""
        a, b = self.span(lo, hi)
        return bytes(self.data[a:b])

    def contains(self, pattern: bytes, longest: int = 64) -> bool:
        """Whether the file's bytes match the regular expression ``pattern`` anywhere
        (``rb"(?i)\\.lib"``: ``.lib`` in any case; no match longer than ``longest`` bytes),
        a 64 MB window at a time, each released after (:meth:`release`)."""
        regex = re.compile(pattern)
        for a in range(0, self.size, _SCAN_BYTES):
            found = regex.search(self.data, a, min(self.size, a + _SCAN_BYTES + longest))
            self.release(a, min(self.size, a + _SCAN_BYTES))
            if found:
                return True
        return False

    def release(self, start: int = 0, end: int | None = None) -> None:
        """Tell the system that bytes ``[start, end)`` of a memory-mapped file are not needed
        soon: their pages leave this process's resident memory (they are read again from the
        file, or the page cache, when a line or name there is decoded). Whole pages inside
        the range only; nothing for data in memory."""
        if not isinstance(self.data, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        lo = -(-start // page) * page
        hi = (min(self.size, self.size if end is None else end) // page) * page
        if end is None or end >= self.size:
            hi = self.size  # the last, partial page too
        if hi > lo:
            self.data.madvise(mmap.MADV_DONTNEED, lo, hi - lo)

    def close(self) -> None:
        """Let go of the memory map (a later line read is an error)."""
        if isinstance(self.data, mmap.mmap):
            self.data.close()


_UINT32_BYTES = 2**32 - 2**27  # files below this keep uint32 offsets (4 bytes a line, not 8), with room for sums


def _line_starts(data: bytes | mmap.mmap, release) -> np.ndarray:
    """Offsets of each line's first byte, then ``len(data) + 1`` (as if a newline followed
    the last line): one pass per 64 MB, each with a bool array of that size, each window
    released after (``release(start, end)``). ``uint32`` for a file of less than
    :data:`_UINT32_BYTES` (DRN-XL's 50 M lines: 200 MB less), else ``int64``; callers add
    to an offset as a Python ``int`` (``int(starts[i]) + n``), never in its own type."""
    kind = np.uint32 if len(data) < _UINT32_BYTES else np.int64
    parts = [np.zeros(1, kind)]
    for a in range(0, len(data), _SCAN_BYTES):
        chunk = np.frombuffer(data, np.uint8, count=min(_SCAN_BYTES, len(data) - a), offset=a)
        ends = np.flatnonzero(chunk == 10)
        del chunk
        release(a, a + _SCAN_BYTES)
        ends += a + 1
        parts.append(ends.astype(kind))
        del ends
    parts.append(np.array([len(data) + 1], kind))
    return np.concatenate(parts)
