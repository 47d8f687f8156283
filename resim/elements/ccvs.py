"""H: the current-controlled voltage source, ``v_p - v_n = r j_V``, with ``j_V`` the current
of a named voltage source (as for F) and ``r`` the transresistance (ohm).

Its card, as ngspice 39 reads it (read as F's, :mod:`.cccs`, without ``m=``)::

    Hname n+ n- vname transresistance
    Hname n+ n- POLY(1) vname c0 c1            (v = c0 + c1 j_V: a linear form)

In the MNA system H has a branch current of its own (an unknown, leaving ``p`` and entering
``n``) and the row ``v_p - v_n - r j_V = 0``. A constant ``c0`` becomes a voltage source
``v.<name>`` in series (joined at node ``<name>.n1``).

Not reciprocal: the exact solver takes it, coordinate descent refuses it, naming it.
"""

from __future__ import annotations

import numpy as np

from .cccs import CurrentControlled, compile_current_controlled, linear_form, read_current_controlled
from .kind import Branchwise, ElementKind, Linear, NgspiceLine
from .stamps import joined, row_volt, stamp_branch


def expand(emit) -> None:
    """The card as one H element (and a V source in series for a constant)."""
    constant, gain = linear_form(emit)
    out_p, out_n = emit.nodes
    poly = emit.stmt.control is not None  # ngspice makes its own parts of a POLY: its names are resim's
    if constant == 0.0:
        emit.add("h", emit.name, emit.nodes, gain, ref=emit.ref, synthesized=poly)
        return
    middle = emit.local_node(f"{emit.stmt.name}.n1")
    emit.add("h", emit.name, (out_p, middle), gain, ref=emit.ref, synthesized=True)
    emit.add("v", emit.element_name("v", "v." + emit.stmt.name), (middle, out_n), constant, synthesized=True)


def stamp(rec: CurrentControlled, at: Branchwise):
    control = (at.cols, at.colV[rec.source], -rec.gain)
    return joined(stamp_branch(at.cols, rec.p, rec.n), row_volt(at.cols, rec.p, rec.n), control)


def current(rec: CurrentControlled, x: np.ndarray, vv: np.ndarray, at: Branchwise) -> np.ndarray:
    return x[at.cols]


def residual(rec: CurrentControlled, x: np.ndarray, vv: np.ndarray, at: Branchwise) -> np.ndarray:
    return np.abs(vv[rec.p] - vv[rec.n] - rec.gain * x[at.colV[rec.source]])


def write(line: NgspiceLine) -> str:
    return f"{line.name} {' '.join(line.nodes)} {line.ref} {line.value}"


KIND = ElementKind(
    "h", "ccvs", "current-controlled voltage source", 2, "H",
    "write: Hname out+ out- vname transresistance   (e.g. H1 out 0 vsense 1k)",
    reciprocal=False, source=True, refers="v", read=read_current_controlled, expand=expand, write=write,
    linear=Linear(compile_current_controlled, stamp, current, residual, branch=True),
)
