"""E: the voltage-controlled voltage source, ``v_p - v_n = gain (v_cp - v_cn)``.

Its card is read as G's (:mod:`.controlled`). In the MNA system it has a branch current
``j`` (an unknown, as a voltage source has): ``j`` leaves ``p`` and enters ``n``, and its
row is ``v_p - v_n - gain (v_cp - v_cn) = 0``. A POLY or VALUE form becomes a chain of E
elements in series between the outputs, one per control pair (the first keeps the card's
name; the others are ``<name>.2``, ``<name>.3``, ... joined at nodes ``<name>.n1``, ...),
and a source ``v.<name>`` of the constant's volts.
"""

from __future__ import annotations

import numpy as np

from .controlled import VoltageControlled, compile_voltage_controlled, control_voltage, read_voltage_controlled
from .kind import Branchwise, ElementKind, Linear, NgspiceLine
from .stamps import joined, row_volt, stamp_branch


def expand(emit) -> None:
    """The card as E elements (and a V source for a constant)."""
    if emit.stmt.control is None:
        emit.add("e", emit.name, emit.nodes, emit.value)
        return
    constant, terms = emit.control()
    out_p, out_n = emit.nodes
    parts = terms or [(("0", "0"), 0.0)]
    chain = [out_p] + [emit.local_node(f"{emit.stmt.name}.n{j + 1}")
                       for j in range(len(parts) - (constant == 0.0))] + [out_n]
    for j, ((cp, cn), k) in enumerate(parts):
        emit.add("e", emit.name if j == 0 else f"{emit.name}.{j + 1}", (chain[j], chain[j + 1], cp, cn), k,
                 synthesized=True)
    if constant != 0.0:
        emit.add("v", emit.element_name("v", "v." + emit.stmt.name), (chain[-2], chain[-1]), constant,
                 synthesized=True)


def stamp(rec: VoltageControlled, at: Branchwise):
    return joined(stamp_branch(at.cols, rec.p, rec.n), row_volt(at.cols, rec.p, rec.n),
                  row_volt(at.cols, rec.cp, rec.cn, -rec.gain))


def current(rec: VoltageControlled, x: np.ndarray, vv: np.ndarray, at: Branchwise) -> np.ndarray:
    return x[at.cols]


def residual(rec: VoltageControlled, x: np.ndarray, vv: np.ndarray, at: Branchwise) -> np.ndarray:
    return np.abs(vv[rec.p] - vv[rec.n] - rec.gain * control_voltage(rec, vv))


def write(line: NgspiceLine) -> str:
    return f"{line.name} {' '.join(line.nodes)} {line.value}"


KIND = ElementKind(
    "e", "vcvs", "voltage-controlled voltage source", 4, "E", "write: Ename out+ out- ctrl+ ctrl- gain",
    reciprocal=False, source=True, read=read_voltage_controlled, expand=expand, write=write,
    linear=Linear(compile_voltage_controlled, stamp, current, residual, branch=True),
)
