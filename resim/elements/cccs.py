"""F: the current-controlled current source, a current ``gain j_V`` from ``p`` through the
source to ``n``, where ``j_V`` is the current of a named voltage source (from its ``+``
node through it to its ``-`` node, as ngspice counts it).

Its card, as ngspice 39 reads it::

    Fname n+ n- vname gain [m=k]
    Fname n+ n- POLY(1) vname c0 c1 [m=k]      (j = c0 + c1 j_V: a linear form)

``m=k`` (its own, times its subcircuit instance's) makes k copies in parallel. Inside a
subcircuit, ``vname`` is a source of the same instance. The controlling source is kept as
a branch even at 0 V (compilation merges other 0 V sources as shorts), so its current is
an unknown of the MNA system; F adds ``gain`` times that unknown to the KCL rows of its
outputs. A constant ``c0`` becomes a current source ``i.<name>`` in parallel.

F couples a branch to a current elsewhere: not reciprocal, so the exact solver takes it
and coordinate descent refuses it, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kind import Branchwise, ElementKind, Linear, NgspiceLine


@dataclass(frozen=True)
class CurrentControlled:
    """F or H elements in unknown space: outputs ``p``, ``n`` (-1 = ground), ``source`` the
    position of the controlling voltage source among the MNA's source branches, ``gain``
    F's current gain or H's transresistance (ohm)."""

    index: np.ndarray  # indices into the circuit's element group
    p: np.ndarray
    n: np.ndarray
    source: np.ndarray
    gain: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


def compile_current_controlled(group, var: np.ndarray, vsource: np.ndarray) -> CurrentControlled:
    """All of ``group`` (F or H elements): outputs mapped by ``var``, each controlling
    source (the group's ``ref``) by ``vsource``."""
    ref = group.ref if group.ref is not None else np.zeros(0, np.int64)
    return CurrentControlled(np.arange(len(group)), var[group.nodes[:, 0]], var[group.nodes[:, 1]],
                             vsource[ref], group.value.copy())


def read_current_controlled(card):
    """An F or H card's statement: the controlling source's name in ``ref``, the gain as
    its value, or a POLY(1) control (see the module docstring)."""
    out = card.nodes()
    items = card.flat()
    params: dict = {}
    columns: dict[str, int] = {}
    while card.kind == "f" and items and card.is_(items[-1], "assignment") and card.key(items[-1]) == "m":
        card.params(items.pop(), ("m",), params, columns)  # F ... m=k: k copies in parallel
    first = items[0] if items else None
    source = "the name of the voltage source whose current controls it"
    if card.word(first) == "poly":
        group = items[1] if len(items) > 1 else None
        n = card.poly_size(group, "controlling sources", "write: POLY(1) vname c0 c1")
        if n != 1:
            raise card.error(group, f"POLY({n}) of a current-controlled source is not supported",
                             "resim reads POLY(1) vname c0 c1: a linear form of one source's current")
        if len(items) < 3 or not card.is_(items[2], "word"):
            raise card.unexpected(items[2] if len(items) > 2 else None, source)
        ref = card.node(items[2])
        coefficients = card.values(items[3:])
        return card.stmt(out, None, ref=ref, params=params, columns=columns,
                         control=card.poly(((ref,),), tuple(coefficients), card.column(first)))
    if not card.is_(first, "word"):
        raise card.unexpected(first, source)
    if len(items) < 2:
        raise card.unexpected(None, card.EXPECT_VALUE)
    if not card.is_(items[1], "number", "braced"):
        raise card.unexpected(items[1], card.EXPECT_VALUE)
    if len(items) > 2:
        raise card.unexpected(items[2])
    return card.stmt(out, card.value(items[1]), ref=card.node(first), params=params, columns=columns)


def linear_form(emit) -> tuple[float, float]:
    """The card's ``(c0, c1)``: its constant and its gain (``(0, gain)`` for the plain form)."""
    if emit.stmt.control is None:
        return 0.0, emit.value
    constant, terms = emit.control()
    return constant, terms[0][1] if terms else 0.0


def expand(emit) -> None:
    """The card as one F element (and an I source for a constant), scaled by m."""
    scale = emit.m_total()
    constant, gain = linear_form(emit)
    poly = emit.stmt.control is not None  # ngspice makes its own parts of a POLY: its names are resim's
    emit.add("f", emit.name, emit.nodes, gain * scale, ref=emit.ref, synthesized=poly)
    if constant != 0.0:
        emit.add("i", emit.element_name("i", "i." + emit.stmt.name), emit.nodes, constant * scale, synthesized=True)


def stamp(rec: CurrentControlled, at: Branchwise):
    col = at.colV[rec.source]
    return (np.concatenate([rec.p, rec.n]), np.concatenate([col, col]), np.concatenate([rec.gain, -rec.gain]))


def current(rec: CurrentControlled, x: np.ndarray, vv: np.ndarray, at: Branchwise) -> np.ndarray:
    return rec.gain * x[at.colV[rec.source]]


def write(line: NgspiceLine) -> str:
    return f"{line.name} {' '.join(line.nodes)} {line.ref} {line.value}"


KIND = ElementKind(
    "f", "cccs", "current-controlled current source", 2, "F", "write: Fname out+ out- vname gain   (e.g. F1 0 out vsense 10)",
    reciprocal=False, source=True, ngspice_current="i", parallel=True, refers="v",
    read=read_current_controlled, expand=expand, write=write,
    linear=Linear(compile_current_controlled, stamp, current),
)
