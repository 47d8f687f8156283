"""The element graph: a flat, elaborated circuit.

A :class:`Circuit` is what the netlist front end produces and what :mod:`resim.compile`
turns into solver arrays. Subcircuits are already expanded (element ``r1`` of instance
``x1`` is named ``r.x1.r1`` and its internal node ``x1.mid``, as ngspice prints them),
parameters are evaluated, and every element refers to nodes by integer index
(``0`` is ground).

Elements of one kind are stored column-wise in an :class:`ElementGroup`: a tuple of
names, an integer array ``nodes`` of shape ``[k, t]`` (``t`` terminals) and a float array
``value`` of shape ``[k]``. Sign conventions are SPICE's:

* ``R``  nodes ``(a, b)``, value = resistance (ohm); current a -> b through the resistor.
* ``V``  nodes ``(p, n)``, value = ``v_p - v_n``; current flows into ``p``, through the
  source, out of ``n`` (a source delivering power has a negative current).
* ``I``  nodes ``(p, n)``, value = current flowing from ``p`` through the source to ``n``.
* ``D``  nodes ``(anode, cathode)``, value = area factor, ``ref`` = model index.
* ``E``  nodes ``(p, n, cp, cn)``, ``v_p - v_n = value * (v_cp - v_cn)``; current as ``V``.
* ``G``  nodes ``(p, n, cp, cn)``, current ``value * (v_cp - v_cn)`` from ``p`` to ``n``.

The kinds themselves (letters, terminal counts, names in messages) are listed once, in
:mod:`resim.elements`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import SourceLocation
from .junction import DEFAULT_GMIN

# Physical constants as ngspice 39 uses them (const.h), and its nominal temperature.
BOLTZMANN = 1.38064852e-23
CHARGE = 1.6021766208e-19
CELSIUS = 273.15  # K at 0 C (ngspice's CONSTCtoK): SPICE temperatures are written in C
NOMINAL_TEMPERATURE = 300.15
THERMAL_VOLTAGE = BOLTZMANN * NOMINAL_TEMPERATURE / CHARGE


@dataclass(frozen=True)
class DiodeModel:
    """A ``.model NAME D(...)`` card.

    Two families:

    * ``shockley``: ``i = IS (exp(u / (N Vt)) - 1)`` with series resistance ``RS``
      (ngspice defaults ``IS=1e-14, N=1, RS=0``).
    * ``pwl`` (LTspice convention, any of ``Ron``, ``Roff``, ``Vfwd`` given): ``i = u / Roff``
      for ``u <= Vfwd`` and ``Vfwd / Roff + (u - Vfwd) / Ron`` above. ``Ron = 0`` makes the
      forward branch a hard constraint ``u <= Vfwd``; with ``Roff`` absent (infinite) and
      ``Vfwd = 0`` this is the ideal diode of docs/theory.md §1.
    """

    name: str
    family: str  # "shockley" | "pwl"
    IS: float = 1e-14
    N: float = 1.0
    RS: float = 0.0
    Ron: float = 0.0
    Roff: float = math.inf
    Vfwd: float = 0.0
    # Reverse breakdown (Shockley family, ngspice's level-1 diode): BV = inf means none.
    # IBV is the current at -BV, NBV the emission coefficient of the breakdown branch
    # (None: N). IS, RS, BV are the values at the circuit's temperature (resim.netlist.elaborate
    # applies EG, XTI, TNOM, TCV), so no solver needs the temperature laws.
    BV: float = math.inf
    IBV: float = 1e-3
    NBV: float | None = None
    # ngspice's recombination current (forward bias only, Shockley family):
    # ISR (e^{u / NR Vt} - 1) ((1 - u/VJ)^2 + 0.005)^{MJ/2}; ISR = 0: none. ISR, VJ and MJ are
    # the values at the circuit's temperature, VJ capped at 1/FC (resim.netlist.models).
    ISR: float = 0.0
    NR: float = 1.0
    VJ: float = 1.0
    MJ: float = 0.5
    # High-injection knee currents (per unit area): i -> i / (1 + sqrt(i / IKF)) in forward
    # bias, i / (1 + sqrt(-i / IKR)) below -3 N Vt; inf: none.
    IKF: float = math.inf
    IKR: float = math.inf
    location: SourceLocation | None = None

    @property
    def is_ideal(self) -> bool:
        """True for the constraint form (``Ron = 0``) of the piecewise-linear family."""
        return self.family == "pwl" and self.Ron == 0.0


@dataclass(frozen=True)
class ElementGroup:
    """All elements of one kind, column-wise (see the module docstring for conventions)."""

    names: Sequence[str]  # a tuple, or names decoded only when read (resim.netlist.names.Names)
    nodes: np.ndarray  # int32 [k, t] (int64 past 2^31 nodes)
    value: np.ndarray  # float64 [k]
    file: np.ndarray  # int32 [k], index into Circuit.files
    line: np.ndarray  # int32 [k], 1-based line of the element's card
    ref: np.ndarray | None = None  # int32 [k] for a kind that refers to something (ElementKind.refers):
    #                                 a diode's model (index into Circuit.models), a current-
    #                                 controlled source's controlling voltage source (into its group)

    def __len__(self) -> int:
        return len(self.names)

    def index_of(self, name: str) -> int | None:
        """Position of the element called ``name`` (lower case), or None."""
        if getattr(self.names, "lazy", False):  # millions of names, not decoded: looked up by their hashes
            try:
                return self.names.index(name)
            except ValueError:
                return None
        index = self.__dict__.get("_index")
        if index is None:
            index = {n: k for k, n in enumerate(self.names)}
            object.__setattr__(self, "_index", index)
        return index.get(name)

    @staticmethod
    def empty(terminals: int, with_ref: bool = False) -> "ElementGroup":
        return ElementGroup(
            (),
            np.zeros((0, terminals), np.int64),
            np.zeros(0),
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0, np.int32) if with_ref else None,
        )


@dataclass(frozen=True)
class DcSweep:
    """One ``.dc`` sweep variable: ``source start stop step`` (kept for ``resim sweep``)."""

    source: str
    start: float
    stop: float
    step: float


@dataclass(frozen=True)
class Circuit:
    """A flat circuit: node names, element groups by kind, models, analyses, warnings."""

    title: str
    nodes: tuple[str, ...]  # index 0 is ground, named "0"
    groups: dict[str, ElementGroup]
    models: tuple[DiodeModel, ...] = ()
    params: dict[str, float] = field(default_factory=dict)
    dc: tuple[tuple[DcSweep, ...], ...] = ()
    has_op: bool = False
    files: tuple[str, ...] = ("<text>",)
    source_lines: tuple[list[str], ...] = ()  # physical lines of each file (for error carets)
    warnings: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    temperature: float = NOMINAL_TEMPERATURE  # K (`.temp`, `.options temp`): sets Vt = k T / q
    gmin: float = DEFAULT_GMIN  # S across each Shockley junction (`.options gmin`)
    # Names of the nodes and elements resim made that the netlist does not name (the parts of
    # POLY and VALUE sources, an inductor's 0 V source, .options rshunt's resistors): an
    # ngspice run of the original netlist has no such names (resim.compare skips them).
    synthesized: frozenset[str] = frozenset()

    def __getitem__(self, kind: str) -> ElementGroup:
        return self.groups[kind]

    @property
    def n_nodes(self) -> int:
        """Number of nodes, ground included."""
        return len(self.nodes)

    @property
    def n_elements(self) -> int:
        return sum(len(g) for g in self.groups.values())

    def location(self, kind: str, k: int) -> SourceLocation:
        """Where element ``k`` of ``kind`` was written (the column where its card starts)."""
        return self.where(kind, k)[0]

    def where(self, kind: str, k: int) -> tuple[SourceLocation, str | None]:
        """Location of element ``k`` of ``kind`` and its source line (None if unknown)."""
        g = self.groups[kind]
        f, line = int(g.file[k]), int(g.line[k])
        return source_location(self.files, self.source_lines, f, line)

    def node_index(self, name: str) -> int | None:
        """The index of the node called ``name`` (case-insensitive; ``gnd`` is ``0``), or None."""
        name = name.lower()
        if name in ("0", "gnd"):
            return 0
        index = self.__dict__.get("_node_index")
        if index is None:
            index = {n: k for k, n in enumerate(self.nodes)}
            object.__setattr__(self, "_node_index", index)
        return index.get(name)

    def find_element(self, name: str) -> tuple[str, int] | None:
        """``(kind, index)`` of the element called ``name`` (case-insensitive), or None."""
        name = name.lower()
        kind = name[:1]
        group = self.groups.get(kind)
        if group is None:
            return None
        k = group.index_of(name)
        return None if k is None else (kind, k)

    def with_element_values(self, values: dict[tuple[str, int], float]) -> "Circuit":
        """A copy with some element values replaced: ``{(kind, index): value}``."""
        groups = dict(self.groups)
        for (kind, k), v in values.items():
            g = groups[kind]
            new = g.value.copy()
            new[k] = v
            groups[kind] = replace(g, value=new)
        return replace(self, groups=groups)


def source_location(files, source_lines, f: int, line: int) -> tuple[SourceLocation, str | None]:
    """``file:line:col`` of the card on ``line`` of file ``f`` (col = its first non-blank), and the line."""
    text = source_lines[f][line - 1] if f < len(source_lines) and 0 < line <= len(source_lines[f]) else None
    column = len(text) - len(text.lstrip()) + 1 if text else 1
    return SourceLocation(files[f], line, column), text
