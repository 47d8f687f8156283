"""Physical lines to logical lines: continuations, comments, and source positions.

A *logical line* is one statement: a physical line plus the ``+`` continuation lines that
follow it (comment and blank lines may sit between them, as ngspice allows), joined by
single spaces, with inline comments removed. It remembers where each
of its pieces came from, so that an error at logical column ``c`` can be reported at the
physical ``file:line:column`` the user wrote.

Inline comments (as ngspice reads them): ``;`` and ``//`` anywhere, ``$`` when it starts
the line or follows white space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import NetlistError, SourceLocation

_INLINE_COMMENT = re.compile(r";|//|(?:(?<=\s)|^)\$")


def strip_inline_comment(text: str) -> str:
    """``text`` up to its inline comment, if any."""
    if ";" in text or "$" in text or "//" in text:
        m = _INLINE_COMMENT.search(text)
        if m:
            return text[: m.start()]
    return text


@dataclass(frozen=True)
class LogicalLine:
    """One statement's text and the physical pieces it was joined from."""

    text: str
    file: str
    # (offset in text, physical line number, column of that piece's first character)
    pieces: tuple[tuple[int, int, int], ...]
    physical: tuple[str, ...]  # the physical lines, for carets

    def location(self, column: int) -> SourceLocation:
        """Physical location of 1-based logical ``column``."""
        offset = max(column - 1, 0)
        for start, line, col in reversed(self.pieces):
            if offset >= start:
                return SourceLocation(self.file, line, col + offset - start)
        start, line, col = self.pieces[0]
        return SourceLocation(self.file, line, col)

    def physical_text(self, line: int) -> str:
        """The physical line ``line`` (for the caret display)."""
        first = self.pieces[0][1]
        k = line - first
        return self.physical[k] if 0 <= k < len(self.physical) else self.physical[0]

    def error(self, column: int, message: str, hint: str | None = None) -> NetlistError:
        """A :class:`NetlistError` at 1-based logical ``column``, shown on its physical line."""
        loc = self.location(column)
        return NetlistError(message, location=loc, source_line=self.physical_text(loc.line), hint=hint)


def join_logical(lines: list[str], index: int, file: str) -> tuple[LogicalLine, int]:
    """The logical line starting at physical ``lines[index]``, and the index after it.

    ``lines`` are the file's physical lines (0-based list; line numbers are 1-based).
    """
    first = lines[index]
    body = strip_inline_comment(first)
    lead = len(body) - len(body.lstrip())
    text = body.strip()
    pieces = [(0, index + 1, lead + 1)]
    physical = [first]
    j = index + 1
    while j < len(lines):
        nxt = lines[j]
        stripped = nxt.lstrip()
        if not stripped or stripped[:1] == "*":
            # ngspice lets comment and blank lines sit between a line and its continuations
            k = j
            while k < len(lines) and (not lines[k].strip() or lines[k].lstrip()[:1] == "*"):
                k += 1
            if k < len(lines) and lines[k].lstrip()[:1] == "+":
                physical.extend(lines[j:k])
                j = k
                continue
            break
        if stripped[:1] != "+":
            break
        indent = len(nxt) - len(stripped)
        rest = strip_inline_comment(stripped[1:])
        inner = len(rest) - len(rest.lstrip())
        rest = rest.strip()
        if rest:
            text += " "
            pieces.append((len(text), j + 1, indent + 2 + inner))
            text += rest
        physical.append(nxt)
        j += 1
    return LogicalLine(text, file, tuple(pieces), tuple(physical)), j
