"""Why the MNA system of a diode state is singular, in the circuit's own terms.

For a state ``on`` of the piecewise-linear diodes, the elements that conduct are: resistors,
diode series resistors, voltage sources and the outputs of E elements (any current),
Shockley junctions (gmin at least), soft diodes that are on or have a finite Roff, and
ideal diodes that are on. Nodes that these do not join to ground form *floating groups*:

* a floating group into which current sources drive a net current has **no solution**
  (KCL cannot hold: the only ways out are ideal diodes that are off, i.e. that would carry
  the current backwards), :class:`~resim.errors.NoSolutionError`;
* a floating group with no net current has no **determined** voltage,
  :class:`~resim.errors.TopologyError`.

Both name the nodes and the elements involved.

With negative resistances the system can be singular without a floating group: their
conductance cancels the rest's (``R1 = -1k`` in series with ``R2 = 1k``: node 2's KCL row
``1/-1k + 1/1k = 0``). :func:`cancelling_resistances` finds the nodes of the system's null
vector ``z`` (``A z = 0``, the right singular vector of its smallest singular value) and
names the resistors there: :class:`~resim.errors.TopologyError`, as a degenerate loop of E
elements (the element values, not a solver, make the equations degenerate; whether they
then have no solution or infinitely many depends on the sources).
"""

from __future__ import annotations

import numpy as np

from ..compile import CompiledCircuit
from ..errors import NoSolutionError, TopologyError


def _names(c, kind: str, rows: np.ndarray, limit: int = 6) -> str:
    names = [c[kind].names[int(k)] for k in rows[:limit]]
    return ", ".join(names) + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def floating_groups(cc: CompiledCircuit, on: np.ndarray) -> np.ndarray:
    """Label per var of its conducting group, -1 for vars joined to ground."""
    from ..compile import components

    n = cc.n_vars
    a, b = cc.conducting_edges(on, dtype=np.int64)
    a[a < 0] = n
    b[b < 0] = n
    label = np.asarray(components(n + 1, a, b))
    return np.where(label[:n] == label[n], -1, label[:n])


def _net_injection(cc: CompiledCircuit, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Net current the current sources drive into each floating group, and a mask of the
    groups where it is not zero (relative to the largest source)."""
    I = cc.isources
    into = np.zeros(cc.n_vars + 1)
    np.add.at(into, I.b, I.value)  # the source's current leaves it at b ...
    np.add.at(into, I.a, -I.value)  # ... and is drawn from a
    inside = group >= 0
    net = np.bincount(group[inside], weights=into[:-1][inside], minlength=int(group.max(initial=-1)) + 1)
    scale = float(np.max(np.abs(I.value), initial=0.0))
    return net, np.abs(net) > 1e-12 * scale if scale > 0 else np.zeros(len(net), bool)


def outlets(cc: CompiledCircuit, on: np.ndarray) -> np.ndarray | None:
    """The state with the ideal diodes turned on that could let each driven floating
    group's net current out (anode inside for a current into the group, cathode inside
    for one drawn from it); None if there are none to turn on. The active set tries it
    before it calls a singular state an error: the all-off start is singular for
    ``I1 0 a 1m`` with ``D1 a 0``, whose answer is D1 on."""
    group = floating_groups(cc, on)
    if not np.any(group >= 0):
        return None
    net, driven = _net_injection(cc, group)
    ext = np.append(group, -1)
    d = cc.pwl
    ga, gc = ext[d.a], ext[d.b]
    out = (ga >= 0) & (ga != gc) & (net[np.maximum(ga, 0)] > 0) & driven[np.maximum(ga, 0)]
    back = (gc >= 0) & (ga != gc) & (net[np.maximum(gc, 0)] < 0) & driven[np.maximum(gc, 0)]
    turn = cc.ideal & ~on & (out | back)
    return on | turn if turn.any() else None


def parallel_ideal(cc: CompiledCircuit, on: np.ndarray) -> None:
    """Raise :class:`TopologyError` if two conducting ideal diodes (``on``) hold the same
    two nodes at the same voltage (same pair and threshold, either way round): how the
    current divides between them is not determined. (Two with different thresholds cannot
    both be at their bounds; the active set turns one off, :func:`resim.solvers.exact`.)"""
    c = cc.circuit
    pairs: dict[tuple, int] = {}
    for k in np.flatnonzero(cc.ideal & on):
        a, b, vf = int(cc.pwl.a[k]), int(cc.pwl.b[k]), float(cc.pwl_vfwd[k])
        key = (a, b, vf) if a < b else (b, a, -vf)  # v_low - v_high is held at the key's last entry
        if key in pairs:
            first, second = (c["d"].names[cc.pwl.index[j]] for j in (pairs[key], k))
            location, line = c.where("d", int(cc.pwl.index[k]))
            raise TopologyError(
                f"ideal diodes {first} and {second} conduct between the same two nodes: "
                "how the current divides between them is not determined",
                location=location, source_line=line,
                hint="merge them into one diode, or give them a series resistance (Ron > 0)",
            )
        pairs[key] = k


def explain_singular(cc: CompiledCircuit, on: np.ndarray) -> None:
    """Raise the error that says why the system of state ``on`` is singular, naming nodes
    and elements, if a floating group explains it; return otherwise."""
    c = cc.circuit
    group = floating_groups(cc, on)
    if not np.any(group >= 0):
        return
    var_node = np.full(cc.n_vars, -1)
    known = cc.var >= 0
    var_node[cc.var[known]] = np.flatnonzero(known)
    ext = np.append(group, -1)  # ground (-1) -> -1
    I = cc.isources
    net, mask = _net_injection(cc, group)
    driven = np.flatnonzero(mask)
    g = int(driven[0]) if len(driven) else int(group[group >= 0][0])
    members = np.flatnonzero(group == g)
    nodes = [c.nodes[var_node[v]] for v in members if var_node[v] >= 0]
    node_text = ", ".join(nodes[:6]) + (f" and {len(nodes) - 6} more" if len(nodes) > 6 else "")
    d = cc.pwl
    boundary = (ext[d.a] == g) != (ext[d.b] == g)
    diodes = np.unique(d.index[boundary & cc.ideal & ~on])
    through = f"ideal diode(s) {_names(c, 'd', diodes)}, which are off" if len(diodes) else "nothing"
    if len(driven):
        touching = np.unique(I.index[(ext[I.a] == g) | (ext[I.b] == g)])
        location, line = c.where("i", int(touching[0]))
        raise NoSolutionError(
            f"no solution: current source(s) {_names(c, 'i', touching)} drive {net[g]:.4g} A into node(s) "
            f"{node_text}, which connect to the rest of the circuit only through {through}: "
            "no current can flow that way",
            location=location, source_line=line,
            hint="check the direction of the current source and of the diodes, or add a resistive path",
        )
    where = c.where("d", int(diodes[0])) if len(diodes) else (None, None)
    raise TopologyError(
        f"the voltage of node(s) {node_text} is not determined: they connect to the rest of the "
        f"circuit only through {through}",
        location=where[0], source_line=where[1],
        hint="give them a resistive path to ground or a source",
    )


DIAGNOSE_MAX = 2000  # unknowns: up to this a singular system's null vector is found (dense SVD)


def _null_vars(cc: CompiledCircuit, on: np.ndarray) -> np.ndarray | None:
    """The node unknowns where the null vector of state ``on``'s system lives (empty when the
    system is not numerically singular), or None when the system is too large to look."""
    from .mna import MNASystem

    sys_ = MNASystem(cc)
    if sys_.size > DIAGNOSE_MAX:
        return None
    r, c, v, _ = sys_.assemble(on, np.zeros(len(cc.shockley.index)), 0.0, 1.0)
    _, sigma, vt = np.linalg.svd(sys_.dense(r, c, v))
    if not len(sigma) or sigma[-1] > 1e-12 * sigma[0]:
        return np.zeros(0, int)
    z = np.abs(vt[-1][: cc.n_vars])
    return np.flatnonzero(z > 1e-6 * np.max(z, initial=0.0))


def cancelling_resistances(cc: CompiledCircuit, on: np.ndarray, fallback: bool) -> None:
    """Raise :class:`TopologyError` if negative resistances make the system of state ``on``
    singular: naming the nodes of its null vector and the resistors there; for a system too
    large to look into, naming the negative resistors, when ``fallback`` (nothing else
    explains the singularity). Return otherwise."""
    res = cc.resistors
    negative = res.value < 0
    if not negative.any():
        return
    c = cc.circuit
    null = _null_vars(cc, on)
    ohms = c["r"].value
    if null is None:
        if not fallback:
            return
        rows = np.flatnonzero(negative)
        names = ", ".join(f"{c['r'].names[int(res.index[k])]} ({ohms[res.index[k]]:g} ohm)" for k in rows[:6])
        location, line = c.where("r", int(res.index[rows[0]]))
        raise TopologyError(
            f"the circuit equations are singular, and it has negative resistances ({names}"
            f"{' and more' if len(rows) > 6 else ''}): their conductance cancels the rest's between some nodes",
            location=location, source_line=line,
            hint="a negative resistance must not cancel the conductance it is connected to: change its value")
    at_null = np.isin(res.a, null) | np.isin(res.b, null)
    if not (at_null & negative).any():
        return
    var_node = np.full(cc.n_vars, -1)
    known = cc.var >= 0
    var_node[cc.var[known]] = np.flatnonzero(known)
    nodes = [c.nodes[var_node[k]] for k in null if var_node[k] >= 0]
    node_text = (f"node {nodes[0]}" if len(nodes) == 1 else
                 f"nodes {', '.join(nodes[:6])}{' and more' if len(nodes) > 6 else ''}")
    rows = np.flatnonzero(at_null)
    rows = np.r_[rows[negative[rows]], rows[~negative[rows]]]  # the negative ones first
    names = ", ".join(f"{c['r'].names[int(res.index[k])]} ({ohms[res.index[k]]:g} ohm)" for k in rows[:6])
    first = c["r"].names[int(res.index[rows[0]])]
    location, line = c.where("r", int(res.index[rows[0]]))
    raise TopologyError(
        f"the circuit equations are singular: at {node_text} the conductances of {names}"
        f"{' and more' if len(rows) > 6 else ''} cancel (a negative resistance against the rest: zero net "
        "conductance), so Kirchhoff's current law does not determine the voltage there",
        location=location, source_line=line,
        hint=f"change the value of {first}: a negative resistance must not cancel the conductance it is connected to")

