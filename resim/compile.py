"""The element graph to solver arrays, with the structural checks done first.

Compilation

1. merges *shorts* (zero-ohm resistors and zero-volt sources) into single nodes: each
   group of nodes joined by shorts becomes one unknown, ground's group is the reference;
2. numbers the remaining unknowns ``0..n-1`` (``var[node] = -1`` for ground's group),
   plus one internal unknown per Shockley diode with series resistance;
3. refuses ill-posed circuits before any solve, naming the elements and nodes:
   a loop of shorts (its current is undetermined), a loop of voltage sources (that
   disagree, or whose currents are undetermined), a group of nodes with no DC path to
   ground, and a current source into a cut set with no other path.

Before all that, a circuit with no elements (a netlist of only a title and comments),
element values that are not finite numbers (possible only through overrides: the
netlist reader refuses them) and resistances too small to invert are refused as
netlist errors.

The currents through shorts are recovered after the solve from KCL on the short forest
(:meth:`CompiledCircuit.short_currents`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .circuit import BOLTZMANN, CHARGE, Circuit, ElementGroup
from .elements import CIRCUIT_KINDS, ELEMENTS, LINEAR_KINDS
from .errors import NetlistError, SourceLocation, TopologyError
from .netlist.numbers import FINITE_HINT
from .junction import HighLevel, JunctionLaw, breakdown_knee


@dataclass(frozen=True)
class Branches:
    """A set of two-terminal elements in unknown space: ``a``, ``b`` are variable indices (-1 = ground)."""

    index: np.ndarray  # indices into the circuit's element group
    a: np.ndarray
    b: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class CompiledCircuit:
    """Arrays for the solvers. See the module docstring."""

    circuit: Circuit
    var: np.ndarray  # [n_nodes] node -> unknown index or -1
    n_vars: int  # node unknowns incl. diode-internal ones
    resistors: Branches  # value = conductance
    vsources: Branches  # value = E (non-short sources only)
    isources: Branches  # value = I from a to b through the source
    shockley: Branches  # junction a -> b (a may be an internal node); value = IS (area applied)
    shockley_law: JunctionLaw  # per Shockley diode: IS, N Vt, breakdown knee, NBV Vt, ISR/IKF/IKR; gmin
    shockley_rs: Branches  # series resistors of Shockley diodes (value = conductance)
    pwl: Branches  # value unused; see pwl_* arrays
    pwl_gon: np.ndarray  # 1/Ron (inf for ideal)
    pwl_goff: np.ndarray  # 1/Roff (0 for infinite Roff)
    pwl_vfwd: np.ndarray
    linear: dict[str, Any]  # per kind of LINEAR_KINDS: its record (ElementKind.linear.compile)
    short_r: np.ndarray  # indices of zero-ohm resistors
    short_v: np.ndarray  # indices of zero-volt sources (not those whose current a source reads)

    @property
    def reciprocal(self) -> bool:
        """True when no element is of a non-reciprocal kind (E, G: see :mod:`resim.elements`):
        the conductance matrix is symmetric and the operating point minimises the content."""
        return all(ELEMENTS[kind].reciprocal or not len(group) for kind, group in self.circuit.groups.items())

    def conducting_edges(self, on: np.ndarray | None = None, dtype=None) -> tuple[np.ndarray, np.ndarray]:
        """The pairs of unknowns (``a``, ``b``; -1 = ground) joined by a DC path through one
        element: resistors, series RS, voltage sources, Shockley junctions, the outputs of
        the kinds with a branch current (E, H), and the piecewise-linear diodes (those that
        conduct in state ``on``: on, or with a finite Roff; None: all of them), as new arrays
        of ``dtype`` (default: the resistors' index type)."""
        conducts = slice(None) if on is None else np.where(self.ideal, on, on | (self.pwl_goff > 0))
        pieces = [(self.resistors.a, self.resistors.b), (self.shockley_rs.a, self.shockley_rs.b),
                  (self.vsources.a, self.vsources.b), (self.shockley.a, self.shockley.b),
                  (self.pwl.a[conducts], self.pwl.b[conducts])]
        pieces += [(rec.p, rec.n) for kind, rec in self.linear.items() if ELEMENTS[kind].linear.branch]
        dtype = dtype or self.resistors.a.dtype
        return tuple(np.concatenate([p[k] for p in pieces], dtype=dtype, casting="same_kind") for k in (0, 1))

    @property
    def ideal(self) -> np.ndarray:
        """Mask over PWL diodes: the constraint form (Ron = 0)."""
        return np.isinf(self.pwl_gon)

    def short_currents(self, node_net: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Currents through shorts (zero-ohm R, zero-volt V) from KCL.

        ``node_net[k]`` is the net current leaving original node ``k`` through every
        element that is not a short. On each tree of shorts, ``A j = -node_net`` with
        ``A`` the node-edge incidence (+1 at the edge's first node) and one root row
        (ground, else the lowest node) removed: a square, nonsingular system.
        """
        c = self.circuit
        ends = np.concatenate([c["r"].nodes[self.short_r], c["v"].nodes[self.short_v]]).reshape(-1, 2)
        m = len(ends)
        if m == 0:
            return np.zeros(0), np.zeros(0)
        touched = np.unique(ends)
        local = np.full(c.n_nodes, -1)
        local[touched] = np.arange(len(touched))
        la, lb = local[ends[:, 0]], local[ends[:, 1]]
        import scipy.sparse as sp
        import scipy.sparse.linalg  # noqa: F401 - splu below

        k = np.arange(m)
        A = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[la, lb], np.r_[k, k])), shape=(len(touched), m))
        labels = components(len(touched), la, lb)
        # root of each component: ground if present, else the lowest-numbered node
        order = np.lexsort((touched != 0, labels))
        first = np.ones(len(order), bool)
        first[1:] = labels[order][1:] != labels[order][:-1]
        keep = np.ones(len(touched), bool)
        keep[order[first]] = False
        rows = A[keep].tocsc()
        rhs = -node_net[touched[keep]]
        j = sp.linalg.splu(rows).solve(rhs) if rows.shape[0] else np.zeros(0)
        nr = len(self.short_r)
        return j[:nr], j[nr:]


def index_dtype(n: int) -> type:
    """The integer type for indices below ``n`` (and -1): int32 while they fit, else int64.

    Index arrays with one entry per element (a 50-million-resistor netlist has 100
    million branch ends) take half the memory as int32; the values stored (node,
    unknown and element indices) fit whenever ``n`` does. Arithmetic that could leave
    the range (e.g. ``row * ncols + col``) must be done in int64."""
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


SMALL_GRAPH = 2000  # edges; below this, components without importing scipy (fast start-up)


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` vertices joined by edges ``a[k]-b[k]``
    (labels are the smallest vertex of each component when computed here; any labelling
    when scipy's csgraph does it)."""
    if len(a) > SMALL_GRAPH or n > SMALL_GRAPH:
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        # Boolean entries (duplicates OR-ed together): only the pattern matters, and they
        # take 1 byte per edge where float ones took 8 (the graph has an edge per element).
        graph = sp.csr_matrix((np.ones(len(a), bool), (a, b)), shape=(n, n))
        return connected_components(graph, directed=False)[1]
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = root(x), root(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return np.array([root(x) for x in range(n)], np.int64)


def compile_circuit(circuit: Circuit) -> CompiledCircuit:
    """Check and compile ``circuit`` (see the module docstring); raises :class:`TopologyError`."""
    c = circuit
    _check_values(c)
    R, V, I, D = c["r"], c["v"], c["i"], c["d"]
    nn = c.n_nodes
    short_r = np.flatnonzero(R.value == 0.0)
    short_v = np.flatnonzero((V.value == 0.0) & ~_read_sources(c))
    sa = np.r_[R.nodes[short_r, 0], V.nodes[short_v, 0]]
    sb = np.r_[R.nodes[short_r, 1], V.nodes[short_v, 1]]
    group = components(nn, sa, sb)
    _check_short_loops(c, group, sa, short_r, short_v)
    ground_group = group[0]
    groups, inverse = np.unique(group, return_inverse=True)
    gvar = np.arange(len(groups)) - (np.arange(len(groups)) > np.searchsorted(groups, ground_group))
    gvar[np.searchsorted(groups, ground_group)] = -1
    var = gvar[inverse]
    n_groups = len(groups) - 1

    # branch ends as int32 unknowns (index_dtype): at most one internal unknown per diode
    var_i = var.astype(index_dtype(nn + len(D)))
    resistors = _branches(R, var_i, R.value != 0.0, conductance=True)
    live_v = np.ones(len(V), bool)
    live_v[short_v] = False
    vsources = _branches(V, var_i, live_v)
    isources = _branches(I, var_i, None)
    _check_vsource_loops(c, vsources)

    # diodes
    models = c.models
    fam = np.array([models[m].family == "shockley" for m in D.ref], bool) if len(D) else np.zeros(0, bool)
    sh = np.flatnonzero(fam).astype(index_dtype(len(D)))
    pw = np.flatnonzero(~fam).astype(index_dtype(len(D)))
    area = D.value
    law = _junction_law(c, sh)
    RS = np.array([models[D.ref[k]].RS for k in sh]) / np.where(area[sh] > 0, area[sh], 1.0)
    da, dc = var_i[D.nodes[:, 0]], var_i[D.nodes[:, 1]]
    has_rs = np.flatnonzero(RS > 0)
    internal = (n_groups + np.arange(len(has_rs))).astype(var_i.dtype)
    junction_a = da[sh].copy()
    junction_a[has_rs] = internal
    shockley = Branches(sh, junction_a, dc[sh], law.IS)
    shockley_rs = Branches(sh[has_rs], da[sh][has_rs], internal, 1.0 / RS[has_rs])
    ron = np.array([models[D.ref[k]].Ron for k in pw]) / np.where(area[pw] > 0, area[pw], 1.0)
    roff = np.array([models[D.ref[k]].Roff for k in pw]) / np.where(area[pw] > 0, area[pw], 1.0)
    with np.errstate(divide="ignore"):
        gon = np.where(ron > 0, 1.0 / np.where(ron > 0, ron, 1.0), np.inf)
    goff = np.where(np.isinf(roff), 0.0, 1.0 / roff)
    vfwd = np.array([models[D.ref[k]].Vfwd for k in pw], float)
    pwl = Branches(pw, da[pw], dc[pw], np.zeros(len(pw)))

    compiled = CompiledCircuit(
        circuit=c, var=var, n_vars=n_groups + len(has_rs), resistors=resistors, vsources=vsources,
        isources=isources, shockley=shockley, shockley_law=law, shockley_rs=shockley_rs,
        pwl=pwl, pwl_gon=gon, pwl_goff=goff, pwl_vfwd=vfwd,
        linear=_linear(c, var_i, len(V), vsources.index), short_r=short_r, short_v=short_v,
    )
    _check_floating(compiled)
    return compiled


def _read_sources(c: Circuit) -> np.ndarray:
    """Mask over the voltage sources whose current an element reads (a kind that
    ``refers`` to ``"v"``: F, H): kept as branches, never merged as shorts."""
    read = np.zeros(len(c["v"]), bool)
    for kind in CIRCUIT_KINDS:
        if ELEMENTS[kind].refers == "v":
            read[c[kind].ref] = True
    return read


def _linear(c: Circuit, var: np.ndarray, n_v: int, live_v: np.ndarray) -> dict[str, Any]:
    """The records of the kinds the solvers know through their MNA part alone
    (:data:`~resim.elements.LINEAR_KINDS`), ``live_v``: the voltage sources' branches."""
    vsource = np.full(n_v, -1, np.int64)
    vsource[live_v] = np.arange(len(live_v))
    return {kind: ELEMENTS[kind].linear.compile(c[kind], var, vsource) for kind in LINEAR_KINDS}


def _branches(group: ElementGroup, var: np.ndarray, live: np.ndarray | None, conductance: bool = False) -> Branches:
    """The elements of ``group`` where ``live`` (a mask; None: all) as branches between the
    unknowns ``var[node]``, with their values (inverted when ``conductance``).

    Memory (issue: 51.6 M-element DRN netlists): the indices are int32 (``index_dtype``)
    and, when every element is live (no shorts), the node columns are read through views
    and ``index`` is a plain range. On a 1.57 M-resistor DRN netlist the resistors' arrays
    went from 32 to 20 bytes per element. Values are the same to the bit: the same
    ``1.0 / R``, divided in place."""
    n = len(group)
    it = index_dtype(n)
    if live is None or live.all():
        index = np.arange(n, dtype=it)
        a, b = var[group.nodes[:, 0]], var[group.nodes[:, 1]]  # column views, no copy of the nodes
        value = group.value.copy()
    else:
        index = np.flatnonzero(live).astype(it)
        a, b = var[group.nodes[index, 0]], var[group.nodes[index, 1]]
        value = group.value[index]
    if conductance:
        np.divide(1.0, value, out=value)
    return Branches(index, a, b, value)


def _junction_law(c: Circuit, sh: np.ndarray) -> JunctionLaw:
    """The DC law of the Shockley diodes ``sh`` (indices into ``c["d"]``) at the circuit's
    temperature and gmin. The element value (area, times M) scales ``IS`` (RS is divided by
    it, by the caller), not ``IBV``: ngspice scales the breakdown current by M only, and the
    elaborator gives an instance with M a model of its own. The breakdown knee is ngspice's
    (:func:`breakdown_knee`). The element value scales ``ISR``, ``IKF`` and ``IKR`` too; the
    law has a :class:`HighLevel` part only where some model has one of them."""
    D, models = c["d"], c.models
    vt = BOLTZMANN * c.temperature / CHARGE
    area = D.value[sh]
    model = D.ref[sh] if len(sh) else np.zeros(0, np.int64)

    def per_diode(values) -> np.ndarray:
        return np.array(list(values) + [0.0])[model]  # (a trailing entry: no models at all)

    IS = per_diode(m.IS for m in models) * area
    nvt = per_diode(m.N for m in models) * vt
    nbvt = per_diode(m.N if m.NBV is None else m.NBV for m in models) * vt
    bv = per_diode(m.BV for m in models)
    for j in np.flatnonzero(np.isfinite(bv) & (IS > 0)):  # (IS = 0: no current to break down)
        m = models[model[j]]
        bv[j] = breakdown_knee(m.BV, m.IBV, IS[j], nbvt[j] / vt, vt)
        if not np.isfinite(bv[j]):
            raise NetlistError(
                f"diode '{D.names[sh[j]]}': model '{m.name}' has no breakdown knee that gives IBV={m.IBV:g} A "
                f"at BV={m.BV:g} V (IS={m.IS:g} A, NBV={nbvt[j] / vt:g})",
                **_at(c, "d", int(sh[j])), hint="check BV, IBV, IS and NBV (IBV well above IS)")
    high = None
    if any(m.ISR > 0 or math.isfinite(m.IKF) or math.isfinite(m.IKR) for m in models):
        high = HighLevel(per_diode(m.ISR for m in models) * area, per_diode(m.NR for m in models) * vt,
                         per_diode(m.VJ for m in models), per_diode(m.MJ for m in models),
                         per_diode(m.IKF for m in models) * area, per_diode(m.IKR for m in models) * area)
    return JunctionLaw(IS, nvt, bv, nbvt, c.gmin, high)


# ---- structural checks --------------------------------------------------------------------


def _check_values(c: Circuit) -> None:
    """There must be elements, their values finite, and a nonzero resistance's conductance finite."""
    if not any(len(c[kind]) for kind in CIRCUIT_KINDS):
        title = c.source_lines[0][0] if c.source_lines and c.source_lines[0] else ""
        raise NetlistError(
            "the netlist has no elements", location=SourceLocation(c.files[0] if c.files else "<text>", 1),
            source_line=title if title.strip() else None,
            hint="the first line of a netlist is its title, never an element; elements follow it, "
                 "one per line (e.g. R1 in out 10k)",
        )
    for kind in CIRCUIT_KINDS:
        values = c[kind].value
        bad = ~np.isfinite(values)
        if kind == "r":
            with np.errstate(divide="ignore", over="ignore"):
                bad |= (values != 0) & np.isinf(1.0 / values)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            name, value = c[kind].names[k], float(values[k])
            if not np.isfinite(value):
                raise NetlistError(f"element '{name}': its value is {value}", **_at(c, kind, k), hint=FINITE_HINT)
            raise NetlistError(f"resistor '{name}': {value:g} ohm is too small (1/R overflows)", **_at(c, kind, k),
                               hint="write 0 for a short circuit")


def _element_list(names, limit: int = 8) -> str:
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _check_short_loops(c: Circuit, group, sa, short_r, short_v) -> None:
    if len(sa) == 0:
        return
    edges = np.bincount(group[sa], minlength=c.n_nodes)
    nodes = np.bincount(group, minlength=c.n_nodes)
    bad = np.flatnonzero((edges >= nodes) & (nodes > 0))
    if len(bad) == 0:
        return
    g = bad[0]
    members = [c["r"].names[k] for k in short_r if group[c["r"].nodes[k, 0]] == g]
    members += [c["v"].names[k] for k in short_v if group[c["v"].nodes[k, 0]] == g]
    first = next((("r", k) for k in short_r if group[c["r"].nodes[k, 0]] == g), None) or next(
        ("v", k) for k in short_v if group[c["v"].nodes[k, 0]] == g
    )
    raise TopologyError(
        f"zero-ohm resistors / zero-volt sources form a loop ({_element_list(members)}): "
        "the current around it is undetermined",
        **_at(c, *first),
        hint="remove one element of the loop, or give it a nonzero resistance",
    )


def _check_vsource_loops(c: Circuit, vs: Branches) -> None:
    """Weighted union-find on the group graph: ``pot[a] - pot[b] = E`` for each source."""
    parent: dict[int, int] = {}
    offset: dict[int, float] = {}  # pot[x] - pot[parent[x]]
    edges: list[tuple[int, int, int]] = []

    def find(x: int) -> tuple[int, float]:
        total = 0.0
        while parent.get(x, x) != x:
            total += offset[x]
            x = parent[x]
        return x, total

    for j, a, b, e in zip(vs.index, vs.a, vs.b, vs.value):
        a, b = int(a), int(b)
        ra, oa = find(a)
        rb, ob = find(b)
        if ra != rb:
            parent[ra] = rb
            offset[ra] = e - oa + ob  # pot[ra] - pot[rb]
            edges.append((a, b, int(j)))
            continue
        loop = _path(edges, a, b) + [int(j)]
        names = [c["v"].names[k] for k in loop]
        if abs(oa - ob - e) > 1e-12 * max(1.0, abs(e)):
            raise TopologyError(
                f"voltage sources form a loop whose voltages disagree ({_element_list(names)}): "
                f"around the loop they sum to {oa - ob - e:+.6g} V, not 0",
                **_at(c, "v", int(j)),
                hint="remove one source of the loop or make the voltages consistent",
            )
        raise TopologyError(
            f"voltage sources form a loop ({_element_list(names)}): the currents around it are undetermined",
            **_at(c, "v", int(j)),
            hint="remove one of the parallel sources",
        )


def _path(edges: list[tuple[int, int, int]], a: int, b: int) -> list[int]:
    """Element indices on the path a..b in a forest given as (node, node, element) edges."""
    adj: dict[int, list[tuple[int, int]]] = {}
    for x, y, k in edges:
        adj.setdefault(x, []).append((y, k))
        adj.setdefault(y, []).append((x, k))
    prev: dict[int, tuple[int, int]] = {a: (a, -1)}
    stack = [a]
    while stack:
        x = stack.pop()
        for y, k in adj.get(x, ()):
            if y not in prev:
                prev[y] = (x, k)
                stack.append(y)
    out = []
    x = b
    while x != a and x in prev:
        x, k = prev[x]
        out.append(k)
    return out


def _check_floating(cc: CompiledCircuit) -> None:
    """Groups of unknowns with no conductive path to ground."""
    c = cc.circuit
    n = cc.n_vars + 1  # last index stands for ground
    gnd = n - 1

    def fix(x):
        return np.where(x < 0, gnd, x)

    a, b = cc.conducting_edges(dtype=index_dtype(gnd + 1))  # int32 where it fits: the check's peak
    a[a < 0] = gnd
    b[b < 0] = gnd
    labels = components(n, a, b)
    del a, b
    floating = labels != labels[gnd]
    if not floating.any():
        return
    bad_label = labels[np.flatnonzero(floating)[0]]
    in_bad = labels == bad_label
    node_in = in_bad[fix(cc.var)]
    nodes = [c.nodes[k] for k in np.flatnonzero(node_in)]
    # current sources (I; G, F: the kinds without a branch current) with exactly one output in the group
    feeders = []
    for kind in ("i",) + tuple(k for k in LINEAR_KINDS if not ELEMENTS[k].linear.branch):
        ins = node_in[c[kind].nodes[:, :2]]
        feeders += [(kind, int(k)) for k in np.flatnonzero(ins[:, 0] != ins[:, 1])]
    where = _first_element_at(c, node_in)
    if feeders:
        names = [c[kind].names[k] for kind, k in feeders]
        raise TopologyError(
            f"current source {_element_list(names)} drives node(s) {_element_list(nodes)}, which have no other "
            "DC path to ground: KCL cannot hold",
            **_at(c, *feeders[0]),
            hint="add a resistive path from these nodes to ground (e.g. a large resistor)",
        )
    raise TopologyError(
        f"node(s) {_element_list(nodes)} have no DC path to ground",
        **(_at(c, *where) if where else {}),
        hint="connect them to the rest of the circuit through a resistor, source or diode",
    )


def _first_element_at(c: Circuit, node_mask: np.ndarray) -> tuple[str, int] | None:
    """``(kind, index)`` of the first element touching a node in ``node_mask``."""
    for kind in CIRCUIT_KINDS:
        g = c[kind]
        if len(g):
            hit = np.flatnonzero(node_mask[g.nodes].any(axis=1))
            if len(hit):
                return kind, int(hit[0])
    return None


def _at(c: Circuit, kind: str, k: int) -> dict:
    """Error keywords pointing at element ``k`` of ``kind``: its location and source line."""
    location, line = c.where(kind, k)
    return {"location": location, "source_line": line}
