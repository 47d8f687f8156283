"""Reading a netlist file and the files it includes into a :class:`ParsedNetlist`.

The reader owns everything about files and lines: reading a file (:func:`read_file`:
regular files memory-mapped, pipes and terminals read, each only when the memory it needs is
there), the title line,
``*`` comment lines, ``.control`` blocks, ``+`` continuation lines (:mod:`.source`),
``.include`` (relative to the including file, cycles refused), ``.lib`` sections
(:func:`library_lines`), ``.end``, and where each
statement goes: top-level elements into the columns, the bodies of ``.subckt`` ...
``.ends`` into their definitions.

Simple element lines are taken in whole-file passes by :mod:`.bulk`; every other line is
parsed by :func:`.grammar.parse_line` and turned into a statement by
:func:`.transform.statement`.
"""

from __future__ import annotations

import math
import mmap
import os
import stat

import numpy as np

from ..elements import CIRCUIT_KINDS, ELEMENTS
from .. import memory
from ..errors import NetlistError, OutOfMemory, SourceLocation
from . import bulk, grammar, transform
from .expressions import Expr
from .source import LogicalLine, join_logical, strip_inline_comment
from .text import NetlistText
from .statements import (Columns, DcStmt, ElementStmt, End, Ends, Fixup, Global, Include, ModelStmt, Op,
                         OptionsStmt, ParsedNetlist, Refused, SubcktDef, UnknownCard)
from .syntax_errors import unsupported_element

_READ_CHUNK = 1 << 20  # bytes per read from a pipe or terminal
MMAP_FROM = 1 << 30  # regular files this large are memory-mapped, smaller ones read into memory
_FIRST_CHECK = 1 << 24  # a stream's size is first held against the memory at 16 MB, then at each doubling


class _Refused(Exception):
    """A file refused before it is opened (the reason is already set)."""


def read_stream(fh, what: str) -> bytes:
    """All of ``fh`` (a pipe, a terminal, a /proc file whose size says 0), read in 1 MB
    chunks; :class:`~resim.errors.OutOfMemory` as soon as what has been read would need more
    memory to solve than the process may have (:func:`resim.memory.check_netlist`), checked
    each time the data doubles."""
    data = bytearray()
    checked = _FIRST_CHECK
    while chunk := fh.read(_READ_CHUNK):
        data += chunk
        if len(data) >= checked:
            checked *= 2
            problem = memory.check_netlist(len(data), what)
            if problem:
                raise OutOfMemory(f"{problem}; stopped reading at {len(data)} bytes",
                                  hint="free memory, raise the limit, or split the netlist")
    return bytes(data)


def read_file(path: str, where: tuple[SourceLocation, LogicalLine] | None) -> NetlistText:
    """The text of a netlist file (``where``: the ``.include`` that names it, if any).

    A regular file is read into memory, or memory-mapped from :data:`MMAP_FROM` bytes up
    (:class:`~.text.NetlistText`: it is then read as names and lines are reported, and a
    change to it meanwhile is an error), once the memory it would need is known to be there (:func:`resim.memory.check_netlist`, before anything is read:
    else :class:`~resim.errors.OutOfMemory`, exit code 11). Pipes (``<(cmd)``) and terminals
    are read (:func:`read_stream`); anything else (``/dev/zero``, a disk) would never end
    and is refused. An ``.include`` must name a regular file: it is checked before it is
    opened, since opening a FIFO that no one writes would wait forever.
    """
    hint = "check the path (relative .include paths are taken from the including file's folder)"
    special = "not a regular file", "name a netlist file (a device or special file is never read)"
    loc, line = where if where else (None, None)
    try:
        if where is not None and not stat.S_ISREG(os.stat(path).st_mode):
            problem, hint = special
            raise _Refused
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode) or fh.isatty()):
                problem, hint = special
            else:
                what = f"netlist file '{path}'"
                if stat.S_ISREG(info.st_mode) and info.st_size > 0:
                    problem = memory.check_netlist(info.st_size, what)
                    if problem:
                        raise OutOfMemory(problem, location=loc,
                                          source_line=line.physical_text(loc.line) if line and loc else None,
                                          hint="free memory, raise the limit (ulimit -v, the container's), "
                                               "or split the netlist")
                    if info.st_size < MMAP_FROM:  # read: the circuit then owes nothing to the file
                        data = fh.read(info.st_size)
                        more = fh.read()  # a file that grew since its size was taken
                        return NetlistText(data + more if more else data)
                    return NetlistText(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ), source=(path, info))
                return NetlistText(read_stream(fh, what))  # a pipe, a terminal, a /proc file (size 0)
    except OSError as exc:
        problem = exc.strerror or str(exc)
    except _Refused:
        pass
    raise NetlistError(
        f"cannot read netlist file '{path}': {problem}",
        location=loc,
        source_line=line.physical_text(loc.line) if line and loc else None,
        hint=hint,
    )


class Reader:
    """Reads one netlist and its includes into a ParsedNetlist (:meth:`read`, then :meth:`finish`)."""

    def __init__(self, fast: bool) -> None:
        self.fast = fast
        self.out = ParsedNetlist(columns={k: Columns(ELEMENTS[k].terminals) for k in CIRCUIT_KINDS})
        self.open_subckts: list[SubcktDef] = []
        self.ended = False
        self.in_control = False  # inside a .control ... .endc block
        self.unclosed: ModelStmt | None = None  # the last card, a .model whose '(' is open

    # -- driver -------------------------------------------------------------------------
    def read(self, text: str | NetlistText, file: str, *, title: bool, stack: tuple[str, ...],
             section: str | None = None) -> None:
        """Read ``text``, the contents of ``file`` (its first line a title when ``title``);
        ``stack``: the real paths of the files being read, outermost first; ``section``: read
        only that ``.lib`` section of it (:func:`library_lines`)."""
        out = self.out
        file_index = len(out.files)
        out.files.append(file)
        lines = text if isinstance(text, NetlistText) else NetlistText.from_str(text)
        out.lines.append(lines)  # as written, for messages
        if section is not None or (not self.fast and lines.contains(rb"(?i)\.lib")):
            lines = NetlistText.from_str("\n".join(library_lines(list(lines), section, file, first=1 if title else 0)))
        n = len(lines)
        start = 0
        if title:
            out.title = lines[0].strip()
            start = 1
        if self.fast:
            fast = bulk.scan(lines, start, node_id=out.node_id)
            if fast.has_lib and section is None:  # '.lib name' is refused in a netlist (the scan saw '.lib')
                library_lines(list(lines), None, file, first=start)
            slow = fast.slow
        else:  # every line through the grammar: decoded once, as a list
            lines = list(lines)
            slow = [i for i in range(start, n) if lines[i].strip()]
            fast = None
        pos = start
        self.in_control = False
        for s in slow:
            if s < pos:  # consumed as a continuation
                continue
            self._still_open(lines, pos, s)
            self._bulk(fast, pos, s, lines, file, file_index, stack)
            pos = s + 1
            stripped = lines[s].lstrip()
            if stripped[:1] == "*" or not stripped:
                continue
            if self.in_control:
                if stripped.lower().split()[:1] == [".endc"]:
                    self.in_control = False
                continue
            logical, pos = join_logical(lines, s, file)
            if logical.text == ")":  # ngspice reads a lone ')' closing a .model
                self.unclosed = None
                continue
            if not logical.text:
                continue
            self._still_open()
            if logical.text.lower().startswith(".control"):
                self.in_control = True
                out.warnings.append(f"{logical.location(1)}: warning: .control block ignored (resim runs no ngspice scripts)")
                continue
            self.statement(logical, file_index, stack)
            if self.ended:
                break
        else:
            self._still_open(lines, pos, n)
            self._bulk(fast, pos, n, lines, file, file_index, stack)
        self._still_open()
        self.ended = False
        if title and self.open_subckts:
            sub = self.open_subckts[-1]
            raise NetlistError(
                f"subcircuit '{sub.name}' is never closed",
                location=sub.location,
                source_line=sub.line.physical_text(sub.location.line) if sub.line else None,
                hint=f"add '.ends {sub.name}' after its last element",
            )

    def _still_open(self, lines: list[str] | None = None, lo: int = 0, hi: int = 0) -> None:
        """Refuse the ``.model`` whose ``(`` is open (:attr:`unclosed`) if a card follows it
        (any card, or, with ``lines``, one of ``lines[lo:hi]``): only a lone ``)`` on the next
        line closes it."""
        if self.unclosed is None:
            return
        if lines is None or any(lines[i].strip() and lines[i].lstrip()[:1] != "*" for i in range(lo, hi)):
            raise self.unclosed.unclosed_error()

    def _bulk(self, fast, lo: int, hi: int, lines: list[str], file: str, file_index: int, stack) -> None:
        """Append the simple lines in ``[lo, hi)`` (see :mod:`.bulk`; all others there are blank)."""
        if fast is None or lo >= hi or self.in_control:
            return
        spans = {kind: rows.between(lo, hi) for kind, rows in fast.rows.items()}
        if self.open_subckts:  # inside a subcircuit body: statements, through the grammar
            inside = sorted(int(i) for kind, (a, b) in spans.items() for i in fast.rows[kind].line[a:b])
            for i in inside:
                self.statement(join_logical(lines, i, file)[0], file_index, stack)
            return
        for kind, (a, b) in spans.items():
            if a == b:
                continue
            rows = fast.rows[kind]  # its node ids are this netlist's (the scan's node_id)
            self.out.columns[kind].extend(rows.names[a:b], rows.nodes[a:b], rows.value[a:b], file_index,
                                          rows.line[a:b] + 1)

    def finish(self) -> ParsedNetlist:
        """The parsed netlist, complete: each kind's rows joined into one set of arrays, so
        that reading it later changes nothing in it."""
        for columns in self.out.columns.values():
            columns.arrays()
        return self.out

    # -- one statement through the grammar ----------------------------------------------------
    def statement(self, line: LogicalLine, file_index: int, stack: tuple[str, ...]) -> None:
        """Parse logical ``line`` and put its statement in its place."""
        if line.text[:1] in "kK":  # an inductor coupling: nothing at DC
            self.out.warnings.append(f"{line.location(1)}: warning: inductor coupling '{line.text.split()[0].lower()}' "
                                     "has no effect in a DC operating point and was dropped")
            return
        if self.open_subckts:  # a transistor in a subcircuit: refused only if an instance is made
            refused = unsupported_element(line)
            if refused is not None:
                self.open_subckts[-1].body.append(Refused(refused))
                return
        stmt = bulk.plain_diode(line) if self.fast and line.text.lstrip()[:1] in ("d", "D") else None
        if stmt is None:
            stmt = transform.statement(grammar.parse_line(line), line, self.out.warnings)
        if isinstance(stmt, ElementStmt):
            self._element(stmt, file_index)
        elif isinstance(stmt, list):  # .param, .func
            (self.open_subckts[-1].body if self.open_subckts else self.out.params).extend(stmt)
        elif isinstance(stmt, OptionsStmt):  # .options, .temp: global, wherever written
            self.out.options.append(stmt)
        elif isinstance(stmt, ModelStmt):  # inside a subcircuit: its own, made per instance
            self.unclosed = stmt if stmt.unclosed else None
            if self.open_subckts:
                self.open_subckts[-1].body.append(stmt)
            else:
                self._define(self.out.models, stmt, "model")
        elif isinstance(stmt, SubcktDef):  # inside another: its own (ngspice scopes them)
            self._define(self.open_subckts[-1].local if self.open_subckts else self.out.subckts, stmt, "subcircuit")
            self.open_subckts.append(stmt)
        elif isinstance(stmt, Global):
            self.out.globals.update(stmt.names)
        elif isinstance(stmt, Ends):
            self._ends(stmt)
        elif isinstance(stmt, Include):
            self._include(stmt, stack)
        elif isinstance(stmt, DcStmt):
            self.out.dc.append(stmt)
        elif isinstance(stmt, Op):
            self.out.has_op = True
        elif isinstance(stmt, End):
            self.ended = True
        elif isinstance(stmt, UnknownCard):
            self.out.unknown_cards.append(stmt)

    def _element(self, stmt: ElementStmt, file_index: int) -> None:
        if self.open_subckts:
            self.open_subckts[-1].body.append(stmt)
            return
        kind = stmt.kind
        if kind == "x":
            self.out.instances.append(stmt)
            return
        spec = ELEMENTS[kind]
        if (stmt.params or stmt.control is not None or stmt.value is None or not spec.in_circuit
                or (stmt.ref and not spec.refers)):  # (a resistor's model, or a .param: R1 a b rv)
            self.out.cards.append(stmt)  # elaborated one by one, as in a subcircuit body
            return
        col = self.out.columns[kind]
        value = stmt.value
        if isinstance(value, Expr):
            self.out.fixups.append(Fixup(kind, len(col), value, stmt.line))
            value = math.nan
        col.append(stmt.name, tuple(map(self.out.node_id, stmt.nodes)), value, file_index, stmt.location.line)
        if spec.refers:  # resolved once every element is read (resim.netlist.elaborate)
            col.refs.append(stmt.ref or "")

    @staticmethod
    def _define(table: dict, stmt: ModelStmt | SubcktDef, what: str) -> None:
        """Add ``stmt`` to ``table`` under its name, which must be new there."""
        prev = table.get(stmt.name)
        if prev is not None:
            raise stmt.line.error(1, f"{what} '{stmt.name}' is defined twice (first at {prev.location})",
                                  "rename one of them")
        table[stmt.name] = stmt

    def _ends(self, ends: Ends) -> None:
        if not self.open_subckts:
            raise ends.line.error(1, ".ends without a matching .subckt", "remove it, or add the .subckt line it closes")
        sub = self.open_subckts.pop()
        if ends.name is not None and ends.name != sub.name:
            raise ends.line.error(ends.column, f".ends {ends.name} closes subcircuit '{sub.name}'",
                                  f"write '.ends {sub.name}'")

    def _include(self, inc: Include, stack: tuple[str, ...]) -> None:
        line = inc.line
        base = os.path.dirname(line.file) if line.file not in ("<text>", "<stdin>") else os.getcwd()
        path = os.path.normpath(os.path.join(base, os.path.expanduser(inc.path)))
        real = os.path.realpath(path) + ("" if inc.section is None else f" (section {inc.section})")
        if real in stack:
            chain = " -> ".join(os.path.basename(s) for s in (*stack, real))
            what = ".include" if inc.section is None else ".lib"
            raise line.error(inc.column, f"{what} cycle: {chain}",
                             f"remove the {what} that leads back to a file already being read")
        text = read_file(path, (line.location(inc.column), line))
        self.read(text, path, title=False, stack=(*stack, real), section=inc.section)


def library_lines(lines: list[str], section: str | None, file: str, first: int = 0) -> list[str]:
    """``lines`` as ngspice 39 reads them (numbering kept, lines not read blank).

    A library file holds sections ``.lib name`` ... ``.endl [name]``. Reading section
    ``section`` (``.lib path section``) keeps only the lines of the first section of that
    name; a missing section, or one without its ``.endl``, is a NetlistError. Any other file
    (``section`` None: the netlist, an ``.include``) is read whole, and a ``.lib name`` line in
    it (no section: ``.lib models.lib``) is a NetlistError at that line, as ngspice refuses it;
    it is not taken as a section that would swallow the rest of the file. ``first``: the
    first line that can be a card (1 in a netlist, whose line 0 is its title)."""
    if section is None:
        for number, text in enumerate(lines[first:], first):
            if _head(text) == ".end":
                break
            if _section_start(lines, number) is not None:
                raise _line_error(file, lines, number, *transform.lib_without_section(text.split()[1]))
        return lines
    start = next((i for i in range(len(lines)) if _section_start(lines, i) == section), None)
    if start is None:
        raise NetlistError(f"library '{file}' has no section '{section}'",
                           hint="the file's sections are its '.lib name' lines (check the name after .lib in the call)")
    end = next((i for i in range(start + 1, len(lines)) if _head(lines[i]) == ".endl"), None)
    if end is None:
        raise _line_error(file, lines, start, f"library section '{section}' is never closed",
                          f"add '.endl {section}' after its last line")
    return [""] * (start + 1) + lines[start + 1 : end] + [""] * (len(lines) - end)


def _head(text: str) -> str:
    """The first word of a line, lower case ("" for a blank line)."""
    words = text.split(None, 1)
    return words[0].lower() if words else ""


def _section_start(lines: list[str], number: int) -> str | None:
    """The section name (lower case) when ``lines[number]`` is ``.lib name`` alone (not a
    call whose section is on a ``+`` continuation line), else None."""
    if lines[number].lstrip()[:4].lower() != ".lib":
        return None
    words = strip_inline_comment(lines[number]).split()
    if len(words) != 2 or words[0].lower() != ".lib":
        return None
    for later in range(number + 1, len(lines)):  # the next line that is not blank or a comment
        text = lines[later].lstrip()
        if text and text[0] != "*":
            return None if text[0] == "+" else words[1].lower()
    return words[1].lower()


def _line_error(file: str, lines: list[str], number: int, message: str, hint: str) -> NetlistError:
    """A NetlistError at the first character of ``lines[number]`` (0-based) of ``file``."""
    text = lines[number]
    column = len(text) - len(text.lstrip()) + 1
    return NetlistError(message, location=SourceLocation(file, number + 1, column), source_line=text, hint=hint)
