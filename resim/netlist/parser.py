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

from .reader import Reader, read_file
from .statements import ParsedNetlist


def parse_text(text: str, file: str = "<text>", *, fast: bool = True) -> ParsedNetlist:
    """Parse netlist ``text`` (first line = title). ``.include`` paths resolve against ``file``'s folder."""
    reader = Reader(fast=fast)
    reader.read(text, file, title=True, stack=())
    return reader.finish()


def parse_file(path: str | os.PathLike, *, fast: bool = True) -> ParsedNetlist:
    """Parse the netlist file at ``path``."""
    path = os.fspath(path)
    text = read_file(path, None)
    reader = Reader(fast=fast)
    reader.read(text, path, title=True, stack=(os.path.realpath(path),))
    return reader.finish()
