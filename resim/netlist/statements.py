"""The statements a netlist is read into: what :mod:`.parser` produces and :mod:`.elaborate` reads.

A :class:`ParsedNetlist` holds the top-level elements column-wise (:class:`Columns`: names,
node indices, values; a value given as an expression is a :class:`Fixup`, evaluated later
with the parameters), the subcircuit instances, subcircuit definitions, models,
parameters, analyses and warnings. Subcircuit bodies keep their statements one by one
(:class:`ElementStmt`, :class:`ParamStmt`): they are expanded once per instance.

The dot commands that only steer reading (:class:`Ends`, :class:`Include`, :class:`Op`,
:class:`End`) never reach the parsed netlist; :mod:`.reader` acts on them.

Once :func:`.parser.parse_text` or :func:`.parser.parse_file` returns, a parsed netlist is
complete and is only read: elaborating it any number of times gives the same circuit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import NetlistError, SourceLocation
from .expressions import Expr, Value
from .names import Names
from .source import LogicalLine


@dataclass(frozen=True)
class Poly:
    """A controlled source's output as a polynomial of control voltages (``POLY(n)``):
    ``c0 + c1 v1 + ... + cn vn + c(n+1) v1^2 + c(n+2) v1 v2 + ...`` in SPICE's order, where
    ``vk = v(controls[k][0]) - v(controls[k][1])``. Only the linear part is simulated."""

    controls: tuple[tuple[str, str], ...]
    coefficients: tuple[Value, ...]
    column: int  # of the POLY keyword


@dataclass(frozen=True)
class Behaviour:
    """A controlled source's output as an expression of node voltages
    (``VALUE={...}``, ``vol='...'``, ``cur='...'``); it must be affine in them."""

    expr: Value
    column: int


@dataclass
class ElementStmt:
    """One element card read by the grammar (kept in subcircuit bodies, for X lines, and for
    cards whose values depend on parameters, models or instance parameters)."""

    kind: str
    name: str
    nodes: tuple[str, ...]
    value: Value | None  # None: not given on the card (a resistor with a model or r=)
    ref: str | None  # diode or resistor model, or subcircuit name
    params: dict[str, Value]
    location: SourceLocation
    line: LogicalLine
    control: Poly | Behaviour | None = None  # an E or G card's POLY or VALUE form
    columns: dict[str, int] = field(default_factory=dict)  # where each of params was written


@dataclass
class ParamStmt:
    name: str
    value: Value
    location: SourceLocation
    line: LogicalLine


@dataclass
class FuncStmt:
    """A user function: ``.func name(args) {body}`` or ``.param name(args) = body``."""

    name: str
    args: tuple[str, ...]
    body: Value
    location: SourceLocation
    line: LogicalLine


@dataclass
class OptionsStmt:
    """An ``.options`` (or ``.temp``) line: ``(key, value or None, column)`` per option."""

    options: list[tuple[str, Value | str | None, int]]
    line: LogicalLine


@dataclass
class SubcktDef:
    name: str
    ports: tuple[str, ...]
    defaults: dict[str, Value]
    body: list = field(default_factory=list)  # ElementStmt | ParamStmt | FuncStmt | ModelStmt | Refused
    location: SourceLocation | None = None
    line: LogicalLine | None = None  # the .subckt line, for error messages
    local: dict = field(default_factory=dict)  # subcircuits defined inside this one: seen only from it


@dataclass
class ModelStmt:
    name: str
    type: str
    params: dict[str, Value]  # expressions are evaluated with the global parameters
    location: SourceLocation
    line: LogicalLine
    unclosed: int | None = None  # the column of a '(' the card does not close (the next line must: ')')

    def unclosed_error(self) -> NetlistError:
        """The error for a ``(`` that neither the card nor a lone ``)`` on the next line closes."""
        return self.line.error(self.unclosed, "'.model': '(' is never closed; expected ')'",
                               f"end the card with ')': {self.line.text})")


@dataclass
class DcStmt:
    """A ``.dc`` line: one ``(source, start, stop, step)`` per swept source."""

    sweeps: list[tuple[str, Value, Value, Value]]
    line: LogicalLine


@dataclass
class Ends:
    """An ``.ends [name]`` line; ``column`` is where ``name`` starts."""

    name: str | None
    column: int
    line: LogicalLine


@dataclass
class Include:
    """An ``.include path`` line, or a ``.lib path section`` line (``section`` set: only that
    section of the file is read); ``path`` as written, without quotes; ``column`` is where it
    starts."""

    path: str
    column: int
    line: LogicalLine
    section: str | None = None


@dataclass
class Global:
    """A ``.global`` line: nodes that keep their names inside subcircuit instances."""

    names: list[str]


@dataclass
class Refused:
    """A line of a subcircuit body that resim cannot simulate (a transistor, a B source...):
    an error only if an instance of the subcircuit is made (ngspice reads unused ones)."""

    error: Exception


@dataclass
class UnknownCard:
    """A dot card that no SPICE knows (``.modle``): ignored with a warning, and named with
    any error of the netlist (:meth:`ParsedNetlist.blame_unknown_cards`), which it may well
    have caused."""

    word: str  # as written, lower case
    location: SourceLocation
    meant: str | None  # the card it probably meant (``.model``)


@dataclass
class Op:
    """An ``.op`` line."""


@dataclass
class End:
    """An ``.end`` line: nothing after it is read."""


@dataclass
class ColumnArrays:
    """One kind's elements as arrays (see :meth:`Columns.arrays`)."""

    nodes: np.ndarray  # [rows, terminals] indices into ParsedNetlist.node_names
    values: np.ndarray
    file: np.ndarray  # read-only, and no memory (a broadcast) while every row is from one file
    line: np.ndarray


@dataclass
class Columns:
    """Top-level elements of one kind, column-wise, in file order.

    Rows come one at a time (:meth:`append`: the grammar, subcircuit expansion) or as
    whole blocks of arrays (:meth:`extend`: the bulk fast path); :meth:`arrays` joins them.
    """

    terminals: int
    names: Names = field(default_factory=Names)  # strings, and blocks decoded when read (the fast path's)
    refs: list[str] = field(default_factory=list)  # what each element refers to (ElementKind.refers), by name
    blocks: list[ColumnArrays] = field(default_factory=list)
    _rows: list[tuple] = field(default_factory=list)  # (node ids, value, file, line) not yet in a block

    def __len__(self) -> int:
        return len(self.names)

    def append(self, name: str, nodes: tuple[int, ...], value: float, file: int, line: int) -> None:
        self.names.append(name)
        self._rows.append((nodes, value, file, line))

    def extend(self, names: Sequence[str], nodes: np.ndarray, values: np.ndarray, file: int,
               line: np.ndarray) -> None:
        self._flush()
        self.names.add(names)
        self.blocks.append(ColumnArrays(nodes, values, np.broadcast_to(np.int32(file), (len(values),)),
                                        line.astype(np.int32, copy=False)))

    def _flush(self) -> None:
        if self._rows:
            nodes, values, file, line = zip(*self._rows)
            self.blocks.append(ColumnArrays(np.array(nodes, np.int32).reshape(-1, self.terminals),
                                            np.array(values, float), np.array(file, np.int32), np.array(line, np.int32)))
            self._rows.clear()

    def arrays(self) -> ColumnArrays:
        """All rows, in order, as one set of arrays (joined on the first call after a change)."""
        self._flush()
        if len(self.blocks) != 1:
            parts = self.blocks or [ColumnArrays(np.zeros((0, self.terminals), np.int32), np.zeros(0),
                                                 np.zeros(0, np.int32), np.zeros(0, np.int32))]
            self.blocks = [ColumnArrays(*(np.concatenate([getattr(b, f) for b in parts]) for f in ("nodes", "values")),
                                        one_file([b.file for b in parts]), np.concatenate([b.line for b in parts]))]
        return self.blocks[0]


def one_file(blocks: Sequence[np.ndarray]) -> np.ndarray:
    """The file column of the rows of ``blocks`` (file indices) joined: a broadcast (no
    memory: 4 bytes an element less, 200 MB in DRN-XL) when all are of one file."""
    total = sum(len(b) for b in blocks)
    files = {int(b[0]) for b in blocks if len(b) and b.strides == (0,)}
    if len(files) == 1 and all(b.strides == (0,) for b in blocks if len(b)):
        return np.broadcast_to(np.int32(files.pop()), (total,))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.int32)


@dataclass
class Fixup:
    """A top-level element value given as an expression, evaluated after the parameters."""

    kind: str
    index: int
    expr: Expr
    line: LogicalLine


@dataclass
class ParsedNetlist:
    title: str = ""
    files: list[str] = field(default_factory=list)
    lines: list[list[str]] = field(default_factory=list)  # physical lines of each file, for messages
    columns: dict[str, Columns] = field(default_factory=dict)
    fixups: list[Fixup] = field(default_factory=list)
    instances: list[ElementStmt] = field(default_factory=list)
    cards: list[ElementStmt] = field(default_factory=list)  # top-level cards elaborated one by one
    subckts: dict[str, SubcktDef] = field(default_factory=dict)
    models: dict[str, ModelStmt] = field(default_factory=dict)
    params: list[ParamStmt | FuncStmt] = field(default_factory=list)
    options: list[OptionsStmt] = field(default_factory=list)
    globals: set[str] = field(default_factory=set)  # .global nodes
    dc: list[DcStmt] = field(default_factory=list)
    has_op: bool = False
    warnings: list[str] = field(default_factory=list)
    unknown_cards: list[UnknownCard] = field(default_factory=list)
    # node names as the columns refer to them; ground ("0", alias "gnd") is 0
    node_names: list[str] = field(default_factory=lambda: ["0"])
    node_index: dict[str, int] = field(default_factory=lambda: {"0": 0, "gnd": 0})

    def blame_unknown_cards(self, error: NetlistError) -> NetlistError:
        """``error``, its hint naming the unknown dot cards read so far (a misspelled
        ``.model`` leads to an "undefined model"): the likely cause, said with the effect."""
        if self.unknown_cards:
            notes = [f"note: {card.location} has the unknown card '{card.word}', which was ignored"
                     + (f": did you mean '{card.meant}'?" if card.meant else "") for card in self.unknown_cards[:3]]
            error.hint = "\n".join(([error.hint] if error.hint else []) + notes)
        return error

    def node_id(self, name: str) -> int:
        """The index of node ``name`` in :attr:`node_names`, adding it when new (while reading)."""
        k = self.node_index.get(name)
        if k is None:
            k = self.node_index[name] = len(self.node_names)
            self.node_names.append(name)
        return k
