"""Netlist text to statements: the Lark grammar, plus a bulk fast path for simple lines.

Every logical line is read by the Lark grammar in ``grammar.lark`` (the specification of
the language), except *simple element lines*: an ``R``, ``V`` or ``I`` card of exactly four
tokens (name, two nodes, a plain decimal number). Those make up nearly all of a large
netlist; :mod:`.bulk` reads them in whole-file passes, more than ten times faster than
Lark, and accepts only lines that the grammar reads the same way
(``tests/test_parser_differential.py`` checks this on generated lines; ``fast=False`` turns
the fast path off).

The result is a :class:`~.statements.ParsedNetlist`: top-level elements column-wise (names,
node names, values; a value that is an expression is evaluated later, in :mod:`.elaborate`),
subcircuit definitions, models, parameters, analyses and warnings.

The steps, one module each: :mod:`.reader` (files, includes, lines, where each statement
goes), :mod:`.source` (continuation lines, comments, positions), :mod:`.bulk` (the fast
path), :mod:`.grammar` (one line through Lark), :mod:`.syntax_errors` (what a rejected
line is told), :mod:`.transform` (parse tree to statement), :mod:`.statements` (the result).
"""

from __future__ import annotations

import os

from ..errors import NetlistError
from .reader import Reader, read_file
from .statements import ParsedNetlist


def parse_text(text: str, file: str = "<text>", *, fast: bool = True) -> ParsedNetlist:
    """Parse netlist ``text`` (first line = title). ``.include`` paths resolve against ``file``'s folder."""
    return _read(text, file, (), fast)


def parse_file(path: str | os.PathLike, *, fast: bool = True) -> ParsedNetlist:
    """Parse the netlist file at ``path``."""
    path = os.fspath(path)
    return _read(read_file(path, None), path, (os.path.realpath(path),), fast)


def _read(text: str, file: str, stack: tuple[str, ...], fast: bool) -> ParsedNetlist:
    """The netlist ``text`` of ``file``; an error names the unknown dot cards read before it."""
    reader = Reader(fast=fast)
    try:
        reader.read(text, file, title=True, stack=stack)
    except NetlistError as exc:
        raise reader.out.blame_unknown_cards(exc) from None
    return reader.finish()
