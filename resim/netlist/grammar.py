"""The Lark parser of ``grammar.lark``: one logical line to a parse tree, or a located error.

Lark is imported, and the LALR table built, on the first line that needs the grammar (the
table is cached on disk between processes); a netlist of simple lines read by :mod:`.bulk`
never imports it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .source import LogicalLine
from .syntax_errors import syntax_error, unsupported_element


@lru_cache(maxsize=1)
def grammar():
    """The Lark LALR parser for one logical line (built once per process)."""
    from lark import Lark

    return Lark.open(
        "grammar.lark",
        rel_to=__file__,
        parser="lalr",
        lexer="contextual",
        propagate_positions=False,
        maybe_placeholders=False,
        cache=True,  # the parse table is cached in the temp folder: fast start-up
    )


def parse_line(line: LogicalLine) -> Any:
    """The parse tree (a ``lark.Tree``) of logical ``line``; a :class:`NetlistError` at the
    offending column when no element kind has its first letter or the grammar rejects it."""
    error = unsupported_element(line)
    if error is not None:
        raise error
    from lark.exceptions import UnexpectedInput

    try:
        return grammar().parse(line.text)
    except UnexpectedInput as exc:
        raise syntax_error(exc, line) from None
