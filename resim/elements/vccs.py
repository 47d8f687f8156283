"""G: the voltage-controlled current source, a current ``gain (v_cp - v_cn)`` from ``p``
through the source to ``n``.

Its card is read as E's (:mod:`.controlled`), and takes ``m=`` (copies in parallel). In
the MNA system it is four entries in the KCL rows of its outputs. A POLY or VALUE form
becomes G elements in parallel (the first keeps the card's name; the others are
``<name>.2``, ...), and a current source ``i.<name>`` of the constant's amperes.
"""

from __future__ import annotations

import numpy as np

from .controlled import VoltageControlled, compile_voltage_controlled, control_voltage, read_voltage_controlled
from .kind import Branchwise, ElementKind, Linear, NgspiceLine
from .stamps import transfer


def expand(emit) -> None:
    """The card as G elements (and an I source for a constant), scaled by m."""
    scale = emit.m_total()
    if emit.stmt.control is None:
        emit.add("g", emit.name, emit.nodes, emit.value * scale)
        return
    constant, terms = emit.control()
    out_p, out_n = emit.nodes
    for j, ((cp, cn), k) in enumerate(terms or [(("0", "0"), 0.0)]):
        emit.add("g", emit.name if j == 0 else f"{emit.name}.{j + 1}", (out_p, out_n, cp, cn), k * scale,
                 synthesized=True)
    if constant != 0.0:
        emit.add("i", emit.element_name("i", "i." + emit.stmt.name), (out_p, out_n), constant * scale,
                 synthesized=True)


def stamp(rec: VoltageControlled, at: Branchwise):
    return transfer(rec.p, rec.n, rec.cp, rec.cn, rec.gain)


def current(rec: VoltageControlled, x: np.ndarray, vv: np.ndarray, at: Branchwise) -> np.ndarray:
    return rec.gain * control_voltage(rec, vv)


def write(line: NgspiceLine) -> str:
    return f"{line.name} {' '.join(line.nodes)} {line.value}"


KIND = ElementKind(
    "g", "vccs", "voltage-controlled current source", 4, "G", "write: Gname out+ out- ctrl+ ctrl- transconductance",
    reciprocal=False, source=True, ngspice_current="i", parallel=True, read=read_voltage_controlled, expand=expand,
    write=write, linear=Linear(compile_voltage_controlled, stamp, current),
)
