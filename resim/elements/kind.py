"""What an element kind is: a row of facts and a bundle of functions over its columns.

Every stage of resim asks the registry (:mod:`resim.elements`) what it needs to know of a
kind, rather than naming kinds. A kind is not an object per element: its functions take
and return whole columns (numpy arrays over all elements of the kind).

The hooks, each optional:

* ``read(card)``: the statement of one card, from its items. ``card`` is the front end's
  :class:`~resim.netlist.cards.Card`, whose methods read values, nodes and names, give what
  waveforms need of the expression machinery, and word the errors; a kind module imports
  nothing of the front end. Every kind has one but X (the grammar reads an instance whole).
  Plain R, V, I and D lines also have a bulk reader that bypasses the grammar
  (resim.netlist.bulk), checked against these readers.
* ``expand(emit)``: elaboration of one card into the circuit's elements, through an
  :class:`~resim.netlist.elaborate.Emit` (its evaluated value, parameters, nodes, the
  models' machinery, and ``add``). None: the card is one element of its own kind, its value
  scaled by the copies in parallel when :attr:`ElementKind.parallel` (V, I).
* ``linear``: its part in the MNA system (:class:`Linear`), for the kinds the solvers do
  not know natively (controlled sources). R, V, I and D are native to both solvers:
  coordinate descent is written for exactly them (docs/theory.md §2).
* ``write(line)``: its card for ngspice (:class:`NgspiceLine`). None: native (D: its
  models, translated per diode family).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Branchwise:
    """Where one kind's unknowns sit in the MNA system (:class:`~resim.solvers.mna.MNASystem`):
    ``cols`` its own branch-current columns (one per element of a :attr:`Linear.branch`
    kind, else empty) and ``colV`` the columns of the (non-short) voltage sources."""

    cols: np.ndarray
    colV: np.ndarray


@dataclass(frozen=True)
class Linear:
    """A kind's linear part in modified nodal analysis, as functions over its columns.

    ``compile(group, var, vsource)`` makes its record from the element group, the map
    ``var[node]`` to unknowns (-1: ground) and ``vsource[k]``, the position of voltage
    source ``k`` among the MNA's source branches (-1: a short, merged away). The record
    has ``p``, ``n`` (its output unknowns) and ``len``. Then, with ``at`` a
    :class:`Branchwise`:

    * ``stamp(rec, at)``: its fixed matrix entries (rows, columns, values; -1 = ground);
    * ``current(rec, x, vv, at)``: each element's current, from ``p`` through it to ``n``,
      given the solution ``x`` and the potentials ``vv`` (``vv[-1] = 0``);
    * ``residual(rec, x, vv, at)``: its branch equation's violation (a voltage), for the
      certificate's ``constraint``; None when it has no branch equation.

    ``branch``: one branch-current unknown per element (a voltage-like output: E, H).
    Such outputs also hold a DC path between ``p`` and ``n``; the others (G, F) drive a
    current into their outputs, as a current source does.
    """

    compile: Callable[[Any, np.ndarray, np.ndarray], Any]
    stamp: Callable[[Any, Branchwise], tuple[np.ndarray, np.ndarray, np.ndarray]]
    current: Callable[[Any, np.ndarray, np.ndarray, Branchwise], np.ndarray]
    residual: Callable[[Any, np.ndarray, np.ndarray, Branchwise], np.ndarray] | None = None
    branch: bool = False


@dataclass(frozen=True)
class NgspiceLine:
    """One element as ngspice is to read it: its ``name``, its node names (as ngspice
    takes them), its ``value`` (written so that ngspice reads back the same double) and,
    for a kind with a ``ref`` column, the ngspice name of what it refers to (``ref``)."""

    name: str
    nodes: tuple[str, ...]
    value: str
    ref: str | None = None


@dataclass(frozen=True)
class ElementKind:
    """One element kind (see :mod:`resim.elements` for the table of them)."""

    letter: str  # first letter of its elements' names, lower case; the key of Circuit.groups
    rule: str  # its rule in netlist/grammar.lark
    word: str  # how messages name it ("resistor 'r1': ...")
    terminals: int | None  # nodes on its card; None: any number (a subcircuit instance's ports)
    json_type: str | None  # "type" of its elements in the JSON output (docs/json.md); None: not output
    hint: str  # the card's syntax, for messages about a malformed card
    reciprocal: bool = True  # keeps the conductance matrix symmetric (see resim.elements)
    source: bool = False  # drives the circuit: an independent or controlled source (delivers power)
    ngspice_current: str | None = None  # ngspice's device parameter for its current (@name[param],
    #                                     under .options savecurrents); None: ngspice's branch
    #                                     vector named after the element (an MNA unknown)
    in_circuit: bool = True  # a flat Circuit holds elements of this kind (not x, c, l)
    holds_voltage: bool = False  # an independent source of voltage (V): see sets_voltage
    sweepable: bool = False  # `resim sweep --set` / `.dc` may vary its value
    parallel: bool = False  # m= (its own, times its instance's) multiplies its value: m copies in parallel
    refers: str | None = None  # what its `ref` column indexes: "model" (Circuit.models) or a kind's letter
    read: Callable[[Any], Any] | None = None  # its card's reader (see the module docstring)
    expand: Callable[[Any], None] | None = None  # its elaboration
    linear: Linear | None = None  # its MNA part
    write: Callable[[NgspiceLine], str] | None = None  # its ngspice card

    @property
    def sets_voltage(self) -> bool:
        """Its first two nodes' voltage difference is set by it: a voltage source, and the
        kinds with a branch current (E, H). Such a source holds a DC path."""
        return self.holds_voltage or (self.linear is not None and self.linear.branch)

    @property
    def solvers(self) -> tuple[str, ...]:
        """The solvers that accept it: coordinate descent needs a content to minimise, so
        only reciprocal kinds; the exact solver takes every kind."""
        return ("exact", "cd") if self.reciprocal else ("exact",)
