"""Exact coordinate descent (science.md §2): the fast core, for reciprocal circuits.

The circuit's content is minimised one coordinate at a time, each step exactly:

    c_k <- clip( (b_k - sum_{j != k} L_kj c_j) / L_kk , lo_k , hi_k )

where ``c`` are the free coordinates, ``L = P^T G P`` the conductance matrix seen by them
and ``b = P^T (inj - G o)`` the injected currents with the fixed potentials ``o`` moved to
the right-hand side. A coordinate is a node, or a *supernode*: nodes tied together by
voltage sources with no path to ground move as one (``v = P c + o``, ``o`` holding the
sources' offsets). Ideal diodes (``Ron = 0``) are the bounds ``lo``/``hi``; a diode between
two free coordinates bounds each by the other's current value. Shockley junctions make the
1-D problem smooth and convex: a safeguarded Newton iteration per coordinate solves it to
rounding.

Coordinates that share no element are updated together (one sparse product per colour);
the colouring is 2 colours whenever the coupling graph is bipartite (a layered network).
Right-hand sides come in batches: ``c`` has shape ``[B, m]``.

Soft piecewise-linear diodes (``Ron > 0``) add ``(gon - goff) max(u - Vfwd, 0)`` to the
1-D problem (their ``goff`` is in ``G``): Newton on a convex piecewise-linear slope ends
exactly on the right segment. Over-relaxation is adaptive: omega is revised from the
observed contraction every few sweeps (:func:`_sor_omega`); layered networks converge
before it starts. Scope: R, V, I and all diodes; E and G elements raise
:class:`CDUnsupported` (``method="auto"`` then uses the exact solver).

A result is accepted only through the exact solver's certificate (:func:`solve_cd`). A
stalled point (science.md's (3 V, 1 V) example: a conducting diode between two free
nodes) fails it; the diodes that join free coordinates at their bound are then *tied*
(held at u = Vfwd like voltage sources, so their clusters move as blocks) and untied when
their current turns negative, until the point is certified. Only what that does not
settle goes to the exact solver (``method = "cd+exact"``); nothing uncertified is returned.

Two more hand-overs, each with its reason in ``method_reason``: sweeps that *stall*
(:func:`relax`: the contraction observed over the last sweeps would not meet the tolerance
within ``max_sweeps``, e.g. a floating Shockley bridge whose common mode hangs on 1 Meg),
and nodes with no conductance to a fixed potential (:class:`Unanchored`: held only by
ideal diodes, which only the active set can decide). So no solve runs unbounded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..compile import CompiledCircuit
from ..errors import ConvergenceError, ResimError
from ..result import Result
from . import exact
from .diagnose import parallel_ideal


FLOAT32_RTOL = 1e-5  # certificate tolerance for float32 sweeps (float32 eps is 1.2e-7)


class CDUnsupported(ResimError):
    """The circuit has elements the coordinate-descent core does not handle (E and G:
    ``--method cd`` is the wrong option for it, a usage error)."""

    exit_code = 2


class Unanchored(CDUnsupported):
    """Some free nodes have no conductance to a fixed potential: only ideal diodes (or
    nothing) hold them, so their content has no unique minimiser unless a diode conducts.
    Coordinate descent cannot decide that; :func:`solve_cd` hands the circuit to the exact
    solver, which solves it or names the topology error."""

    exit_code = 4


@dataclass(frozen=True)
class CDOptions:
    tol: float = 1e-13  # stop when the estimated distance to the solution is below tol * (1 + max |E|)
    max_sweeps: int = 100_000
    sweeps: int | None = None  # fixed number of sweeps (the paper's mode); no tolerance stop
    # over-relaxation on coordinates without nonlinear terms; None: adaptive (see relax)
    omega: float | None = None
    dtype: type = np.float64
    newton_iterations: int = 60
    cluster_rounds: int = 50  # block moves of diode-joined clusters before the exact fallback


DENSE_FILL = 0.05  # K is stored dense above this fill ...
DENSE_MAX = 50_000_000  # ... unless it would hold more entries than this


@dataclass(frozen=True)
class CDProblem:
    """The circuit in coordinate form (independent of source values)."""

    m: int  # coordinates
    coord: np.ndarray  # [n_vars] var -> coordinate or -1 (fixed)
    Q: sp.csr_matrix  # [n_vars, nV]: offsets o = Q E (+ 0 for ground-tied)
    P: sp.csr_matrix  # [n_vars, m]
    G: sp.csr_matrix  # [n_vars, n_vars] conductances (resistors, RS, ideal-diode Roff)
    offset_vars: np.ndarray  # vars with a source offset (rows of Q that are not empty)
    K: sp.csr_matrix | np.ndarray  # [m, |offset_vars|] P^T G restricted to them; dense when dense
    PJ: sp.csr_matrix  # [m, nI] P^T J
    J: sp.csr_matrix  # [n_vars, nI] current-source incidence (+1 where the current enters)
    L_off: sp.csr_matrix  # [m, m] off-diagonal of P^T G P
    L_diag: np.ndarray  # [m]
    colors: tuple[np.ndarray, ...]
    diodes: tuple[np.ndarray, ...]  # (a, c, vfwd) ideal diodes in var space
    soft: tuple[np.ndarray, ...]  # (a, c, vfwd, gon - goff) soft PWL diodes (goff is in G)
    junctions: tuple[np.ndarray, ...]  # (a, c, IS, nvt, RS) Shockley diodes between external vars
    internal: np.ndarray  # [n_sh] var of each diode's internal (RS) node, -1 if RS = 0
    anchor: np.ndarray  # [m] a var of each coordinate (c_k = v[anchor_k] - o[anchor_k])
    tied: np.ndarray  # [n_ideal] bool: ideal diodes held at u = Vfwd, like voltage sources


def _forest_offsets(n: int, va: np.ndarray, vb: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
    """Components of the voltage-source forest (sources k from ``va[k]`` to ``vb[k]``): a
    root per var and ``Q`` with v = v_root + Q E.

    Ground is node ``n``. Roots are ground where the component holds it.
    """
    adj: dict[int, list[tuple[int, int, float]]] = {}
    for k, (a, b) in enumerate(zip(va.tolist(), vb.tolist())):
        a = n if a < 0 else a
        b = n if b < 0 else b
        adj.setdefault(a, []).append((b, k, -1.0))  # v_b = v_a - E
        adj.setdefault(b, []).append((a, k, +1.0))  # v_a = v_b + E
    root = np.arange(n + 1)
    rows: dict[int, dict[int, float]] = {}
    seen: set[int] = set()
    starts = ([n] if n in adj else []) + [x for x in adj if x != n]
    for s in starts:
        if s in seen:
            continue
        seen.add(s)
        rows[s] = {}
        stack = [s]
        while stack:
            x = stack.pop()
            for y, k, sign in adj.get(x, ()):
                if y in seen:
                    continue
                seen.add(y)
                root[y] = s
                row = dict(rows[x])
                row[k] = row.get(k, 0.0) + sign
                rows[y] = row
                stack.append(y)
    r, c, v = [], [], []
    for x, row in rows.items():
        if x < n:
            for k, s in row.items():
                r.append(x), c.append(k), v.append(s)
    Q = sp.csr_matrix((v, (r, c)), shape=(n, len(va)))
    return root[:n], Q


def _coord_of(coord: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Coordinate of each var (-1 for ground, fixed vars and eliminated internal nodes)."""
    return np.where(var >= 0, coord[np.maximum(var, 0)], -1)


def _laplacian(n: int, a: np.ndarray, b: np.ndarray, g: np.ndarray) -> sp.csr_matrix:
    rows, cols, vals = exact._stamp_g(a, b, g)
    keep = (rows >= 0) & (cols >= 0)
    return sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, n))


def _coloring(adjacency: sp.csr_matrix) -> tuple[np.ndarray, ...]:
    """Colour classes: 2 when the graph is bipartite (by BFS), else greedy largest-first."""
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    m = adjacency.shape[0]
    if m == 0:
        return ()
    A = adjacency.tocsr()
    A.setdiag(0)
    A.eliminate_zeros()
    side = np.full(m, -1)
    _, labels = connected_components(A, directed=False)
    bipartite = True
    for comp in np.unique(labels):
        start = int(np.flatnonzero(labels == comp)[0])
        order, pred = breadth_first_order(A, start, directed=False, return_predecessors=True)
        side[start] = 0
        for x in order[1:]:
            side[x] = 1 - side[pred[x]]
    rows, cols = A.nonzero()
    if np.any(side[rows] == side[cols]):
        bipartite = False
    if bipartite:
        return tuple(c for c in (np.flatnonzero(side == 0), np.flatnonzero(side == 1)) if len(c))
    degree = np.diff(A.indptr)
    color = np.full(m, -1)
    for x in np.argsort(-degree, kind="stable"):
        used = set(color[A.indices[A.indptr[x] : A.indptr[x + 1]]].tolist())
        c = 0
        while c in used:
            c += 1
        color[x] = c
    return tuple(np.flatnonzero(color == c) for c in range(color.max() + 1))


def prepare(cc: CompiledCircuit, tied: np.ndarray | None = None) -> CDProblem:
    """Coordinate form of ``cc``; raises :class:`CDUnsupported` for E and G elements.

    ``tied`` (a mask over the ideal diodes) holds those diodes at u = Vfwd, like voltage
    sources: the nodes they join move as one block (see :func:`solve_cd`).
    """
    if not cc.reciprocal:
        raise CDUnsupported("coordinate descent handles reciprocal circuits only: this one has E/G elements",
                            hint="use --method exact (or auto)")
    n = cc.n_vars
    sh, rs = cc.shockley, cc.shockley_rs
    # A diode's series resistance is folded into its law (series_junction): its internal
    # node is no coordinate (it would couple tightly to the anode and make sweeps crawl).
    internal = np.full(len(sh.index), -1)
    anode = sh.a.copy()
    RS = np.zeros(len(sh.index))
    with_rs = np.searchsorted(sh.index, rs.index)
    internal[with_rs] = rs.b
    anode[with_rs] = rs.a
    RS[with_rs] = 1.0 / rs.value
    ideal, soft = cc.ideal, ~cc.ideal
    d = cc.pwl
    tied = np.zeros(int(ideal.sum()), bool) if tied is None else tied
    ta, tb = d.a[ideal][tied], d.b[ideal][tied]
    root, Q = _forest_offsets(n, np.r_[cc.vsources.a, ta], np.r_[cc.vsources.b, tb])
    eliminated = np.zeros(n + 1, bool)
    eliminated[internal[internal >= 0]] = True
    free_roots = np.unique(root[(root < n) & ~eliminated[root]])
    coord_of_root = np.full(n + 1, -1)
    coord_of_root[free_roots] = np.arange(len(free_roots))
    coord = coord_of_root[root]
    m = len(free_roots)
    member = np.flatnonzero(coord >= 0)
    P = sp.csr_matrix((np.ones(len(member)), (member, coord[member])), shape=(n, m))
    r = cc.resistors
    G = _laplacian(n, np.r_[r.a, d.a], np.r_[r.b, d.b], np.r_[r.value, cc.pwl_goff])
    i = cc.isources
    jr = np.r_[i.b, i.a]
    jc = np.r_[np.arange(len(i.a)), np.arange(len(i.a))]
    jv = np.r_[np.ones(len(i.a)), -np.ones(len(i.a))]
    keep = jr >= 0
    J = sp.csr_matrix((jv[keep], (jr[keep], jc[keep])), shape=(n, len(i.a)))
    offset_vars = np.flatnonzero(np.diff(Q.indptr))
    K = (P.T @ G[:, offset_vars]).tocsr()
    if K.nnz > DENSE_FILL * max(K.shape[0] * K.shape[1], 1) and K.shape[0] * K.shape[1] <= DENSE_MAX:
        K = K.toarray()  # one BLAS product per batch (DRN input layers are half full)
    L = (P.T @ G @ P).tocsr()
    L_diag = L.diagonal().copy()
    L_off = (L - sp.diags(L_diag)).tocsr()
    L_off.eliminate_zeros()
    # coupling graph: L's pattern plus diodes and junctions between two coordinates
    ca = _coord_of(coord, np.r_[d.a, anode])
    cb = _coord_of(coord, np.r_[d.b, sh.b])
    both = (ca >= 0) & (cb >= 0) & (ca != cb)
    extra = sp.csr_matrix((np.ones(2 * both.sum()), (np.r_[ca[both], cb[both]], np.r_[cb[both], ca[both]])), shape=(m, m))
    colors = _coloring((abs(L_off) + extra).tocsr())
    _check_anchored(cc, L, coord, free_roots, anode, sh.b)
    return CDProblem(m, coord, Q, P, G, offset_vars, K, (P.T @ J).tocsr(), J, L_off, L_diag, colors,
                     (d.a[ideal], d.b[ideal], cc.pwl_vfwd[ideal]),
                     (d.a[soft], d.b[soft], cc.pwl_vfwd[soft], cc.pwl_gon[soft] - cc.pwl_goff[soft]),
                     (anode, sh.b, sh.value, cc.shockley_nvt, RS), internal, free_roots, tied)


def _check_anchored(cc: CompiledCircuit, L: sp.csr_matrix, coord: np.ndarray, anchor: np.ndarray,
                    ja: np.ndarray, jc: np.ndarray) -> None:
    """Raise :class:`Unanchored` unless every group of coordinates joined by conductances
    (resistors, Roff, Shockley junctions with their gmin) has a conductance to a fixed
    potential: ``L``'s rows sum to the conductance from each coordinate to fixed nodes."""
    from scipy.sparse.csgraph import connected_components

    m = L.shape[0]
    if m == 0:
        return
    ka, kc = _coord_of(coord, ja), _coord_of(coord, jc)
    both = (ka >= 0) & (kc >= 0) & (ka != kc)
    joined = sp.csr_matrix((np.ones(both.sum()), (ka[both], kc[both])), shape=(m, m))
    _, label = connected_components(abs(L) + joined, directed=False)
    grounded = np.asarray(L.sum(axis=1)).ravel() > 1e-300  # to fixed nodes through resistors
    grounded[ka[(ka >= 0) & (kc < 0)]] = True  # a junction to a fixed node (gmin at least)
    grounded[kc[(kc >= 0) & (ka < 0)]] = True
    anchored = np.zeros(label.max() + 1, bool)
    anchored[label[grounded]] = True
    loose = np.flatnonzero(~anchored[label])
    if len(loose):
        var_node = np.zeros(cc.n_vars, int)
        known = cc.var >= 0
        var_node[cc.var[known]] = np.flatnonzero(known)
        nodes = [cc.circuit.nodes[var_node[anchor[k]]] for k in loose[:5]]
        more = f" and {len(loose) - 5} more" if len(loose) > 5 else ""
        raise Unanchored(f"node(s) {', '.join(nodes)}{more} have no conductance to a fixed potential "
                         "(held only by ideal diodes, or floating)",
                         hint="give them a resistive path to ground or a source, or use --method exact")


@dataclass(frozen=True)
class _Bound:
    """Ideal diodes bounding the coordinates of one colour from one side: coordinate
    ``pos`` (in the colour) against ``sign * (v_other - o_own) + shift`` (upper bound for
    an anode in the colour, lower for a cathode)."""

    pos: np.ndarray
    other: np.ndarray  # var at the other end (-1: ground)
    own: np.ndarray  # var at this end
    shift: np.ndarray  # +Vfwd (anode side) or -Vfwd (cathode side)
    unique: bool  # at most one diode per coordinate: plain indexing instead of ufunc.at


@dataclass(frozen=True)
class _Colour:
    """What a colour's update needs, fixed for the whole relaxation."""

    S: np.ndarray
    inS: np.ndarray
    pos: np.ndarray  # [m] position in S, -1 outside
    L_off: sp.csr_matrix  # rows S
    diag: np.ndarray
    upper: _Bound | None
    lower: _Bound | None
    touching: tuple | None  # nonlinear terms (see _Terms.touching)


def _colour_plans(prob: CDProblem, dt) -> list[_Colour]:
    da, dc, vf = prob.diodes
    dka, dkc = _coord_of(prob.coord, da), _coord_of(prob.coord, dc)
    terms = _Terms.of(prob)
    L_off = prob.L_off.astype(dt)
    plans = []
    for S in prob.colors:
        inS = np.zeros(prob.m, bool)
        inS[S] = True
        pos = np.full(prob.m, -1)
        pos[S] = np.arange(len(S))
        bounds = []
        for kk, own, other, shift in ((dka, da, dc, vf), (dkc, dc, da, -vf)):
            sel = (kk >= 0) & inS[np.maximum(kk, 0)] & (dka != dkc)
            k = pos[kk[sel]]
            bounds.append(_Bound(k, other[sel], own[sel], shift[sel].astype(dt), len(np.unique(k)) == len(k))
                          if sel.any() else None)
        plans.append(_Colour(S, inS, pos, L_off[S], prob.L_diag[S].astype(dt), *bounds, terms.touching(inS)))
    return plans


class Relaxation(NamedTuple):
    """What :func:`relax` returns."""

    v: np.ndarray  # [B, n_vars] potentials
    c: np.ndarray  # [B, m] coordinates (a warm start for the next relaxation)
    sweeps: int
    converged: bool  # the tolerance stop was met
    stalled: str | None  # why the sweeps stopped before the limit without converging, or None


STALL_WINDOW = 50  # sweeps over which the contraction rate is measured
STALL_MIN_SWEEPS = 100  # no stall is declared before this many sweeps


def projected_sweeps(steps: list[float], target: float) -> tuple[float, float]:
    """The contraction rate ``lam`` over the last ``STALL_WINDOW`` steps (their geometric
    mean, robust to the oscillation of single steps) and the sweeps still needed at that
    rate until a step is below ``target (1 - lam)``, which is when the distance left,
    about ``step lam / (1 - lam)``, meets the tolerance: ``log(target (1 - lam) / step) /
    log(lam)``. Infinite when the steps do not shrink."""
    first, last = steps[-STALL_WINDOW], steps[-1]
    if last <= 0.0:
        return 0.0, 0.0
    if not 0.0 < last < first:
        return 1.0, np.inf
    lam = (last / first) ** (1.0 / (STALL_WINDOW - 1))
    goal = target * (1.0 - lam)
    return lam, 0.0 if last <= goal else float(np.log(goal / last) / np.log(lam))


def relax(prob: CDProblem, E: np.ndarray, I: np.ndarray, opts: CDOptions,
          c0: np.ndarray | None = None) -> Relaxation:
    """Coordinate descent for a batch of source values.

    ``E``: [B, nV] voltage-source values, ``I``: [B, nI] current-source values, ``c0`` a
    start [B, m] (default 0).

    With a tolerance stop (``opts.sweeps`` None) the sweeps also stop early when they
    stall: when, at the contraction measured over the last ``STALL_WINDOW`` sweeps
    (:func:`projected_sweeps`), the tolerance would not be met within ``opts.max_sweeps``,
    at two checks in a row. A floating Shockley bridge contracts by 1 - 1.5e-6 per sweep:
    it would take millions of sweeps. The result then says why (``stalled``), and
    :func:`solve_cd` hands the point to the exact solver.
    """
    dt = opts.dtype
    B = E.shape[0]
    o, b = _right_hand_side(prob, E, I, dt)
    m = prob.m
    coord = prob.coord
    n = len(coord)
    # c lives in the first m columns of c_ext, whose last column stays 0, and o_ext has a
    # last column 0 for ground: v at var x is o_ext[:, x] + c_ext[:, coord_ext[x]]
    c_ext = np.zeros((B, m + 1), dt)
    if c0 is not None:
        c_ext[:, :m] = c0
    c = c_ext[:, :m]
    o_ext = np.concatenate([o, np.zeros((B, 1), dt)], axis=1)
    coord_ext = np.append(np.where(coord >= 0, coord, m), m)

    def at(var: np.ndarray) -> np.ndarray:
        return o_ext[:, var] + c_ext[:, coord_ext[var]]

    plans = _colour_plans(prob, dt)
    scale = 1.0 + float(np.max(np.abs(E), initial=0.0))
    limit = opts.sweeps if opts.sweeps is not None else opts.max_sweeps
    converged = False
    sweep = 0
    prev = np.inf
    omega = 1.0 if opts.omega is None else opts.omega
    history: list[float] = []
    coupled = _has_coupled_diodes(prob)
    stalled = None
    hopeless = 0  # consecutive stall checks that projected more sweeps than are left
    for sweep in range(1, limit + 1):
        delta = 0.0
        for p in plans:
            S = p.S
            rhs = b[:, S] - (p.L_off @ c.T).T  # [B, |S|]
            # bounds from ideal diodes touching S (the other end at its current value)
            lo = hi = None
            if p.upper is not None:  # anode in S: v_a <= v_c + Vfwd  ->  c <= v_c + Vfwd - o_a
                hi = _bound(p.upper, at(p.upper.other) - o_ext[:, p.upper.own], B, len(S), np.inf, np.minimum, dt)
            if p.lower is not None:  # cathode in S: v_c >= v_a - Vfwd
                lo = _bound(p.lower, at(p.lower.other) - o_ext[:, p.lower.own], B, len(S), -np.inf, np.maximum, dt)
            old = c[:, S]
            if p.touching is not None:
                new = _newton_1d(old, rhs, p.diag, _potentials(prob, o, c), p.pos, p.touching, o,
                                 opts.newton_iterations)
            else:
                new = old + omega * (rhs / p.diag - old)
            if lo is not None or hi is not None:
                new = np.clip(new, lo, hi)
            c[:, S] = new
            if len(S):
                delta = max(delta, float(np.max(np.abs(new - old))))
        # Stop on the estimated distance to the fixed point, not on the last step: with
        # contraction rate rho = delta / prev, the error left is about delta rho / (1 - rho).
        rho = delta / prev if prev > 0 else 0.0
        left = delta * rho / (1.0 - rho) if rho < 1.0 else np.inf
        if opts.sweeps is None and max(delta, left) <= opts.tol * scale:
            converged = True
            break
        prev = delta
        history.append(delta)
        if opts.omega is None and not coupled and len(history) % ADAPT_EVERY == 0:
            revised = _sor_omega(history, omega)
            if revised != omega:
                omega, prev = revised, np.inf  # the rate changes
        if opts.sweeps is None and sweep >= STALL_MIN_SWEEPS and sweep % (STALL_WINDOW // 2) == 0:
            lam, needed = projected_sweeps(history, opts.tol * scale)
            hopeless = hopeless + 1 if needed > limit - sweep else 0
            if hopeless >= 2:
                rate = "the steps do not shrink" if lam >= 1.0 else f"the step shrinks by {1.0 - lam:.2g} per sweep"
                stalled = (f"coordinate descent stalled after {sweep} sweeps ({rate}, "
                           f"{delta:.2g} V; the tolerance would need {needed:.3g} more sweeps, {limit - sweep} left)")
                break
    v = _potentials(prob, o, c)
    ja, jc, IS, nvt, RS = prob.junctions
    k = np.flatnonzero(prob.internal >= 0)
    if len(k):  # internal nodes of diodes with RS: v_int = v_a - i RS
        u = v[:, ja[k]] - v[:, jc[k]]
        i = series_junction(u, IS[k], nvt[k], RS[k])[0]
        v[:, prob.internal[k]] = v[:, ja[k]] - i * RS[k]
    return Relaxation(v[:, :n], np.ascontiguousarray(c), sweep, converged, stalled)


def _bound(bd: _Bound, base: np.ndarray, B: int, size: int, fill: float, pick, dt) -> np.ndarray:
    """[B, size] bounds of one side: ``fill`` where no diode, else the tightest of
    ``base + shift`` over the diodes of each coordinate."""
    out = np.full((B, size), fill, dt)
    value = base + bd.shift
    if bd.unique:
        out[:, bd.pos] = value
    else:
        pick.at(out.T, bd.pos, value.T)
    return out


ADAPT_EVERY = 12  # sweeps observed at one over-relaxation factor before it is revised


def _sor_omega(deltas: list[float], omega: float) -> float:
    """A revised over-relaxation factor from the contraction observed at ``omega``.

    Adaptive SOR (Hageman and Young): for a 2-coloured (consistently ordered) system, a
    rate lambda observed at omega gives the Jacobi rate
    rho_J = (lambda + omega - 1) / (omega sqrt(lambda)), and the optimal factor is
    omega* = 2 / (1 + sqrt(1 - rho_J**2)). The factor only grows, and stays when the rate
    is already near omega - 1 (the optimum's rate) or the contraction is fast (a layered
    network converging in a few sweeps) or erratic.
    """
    d = np.array(deltas[-6:])
    lam = float(np.median(d[1:] / np.maximum(d[:-1], 1e-300)))
    if not 0.3 < lam < 1.0 or lam <= 1.05 * (omega - 1.0):
        return omega
    rho_j = min((lam + omega - 1.0) / (omega * np.sqrt(lam)), 1.0 - 1e-9)
    return max(omega, min(2.0 / (1.0 + np.sqrt(1.0 - rho_j**2)), 1.99))


def _right_hand_side(prob: CDProblem, E: np.ndarray, I: np.ndarray, dt=np.float64):
    """Offsets ``o = Q E`` [B, n] (the absolute potential of fixed vars) and the injected
    currents ``b = P^T (J I - G o)`` [B, m] seen by the coordinates.

    ``o`` is zero outside ``offset_vars``, so ``P^T G o = K o[:, offset_vars]`` with ``K``
    precomputed: for a DRN the input layer, a dense product (BLAS) for the whole batch."""
    if prob.tied.any():  # tied diodes are sources of Vfwd
        E = np.concatenate([E, np.broadcast_to(prob.diodes[2][prob.tied], (len(E), int(prob.tied.sum())))], axis=1)
    o = np.asarray((prob.Q @ E.T).T, dt)
    b = np.asarray((prob.PJ @ I.T - prob.K @ o[:, prob.offset_vars].T).T, dt)
    return o, b


def _potentials(prob: CDProblem, o: np.ndarray, c: np.ndarray) -> np.ndarray:
    """v = P c + o, with a last column 0 for ground (var index -1)."""
    v = o.copy()
    if prob.m:
        v += c[:, np.maximum(prob.coord, 0)] * (prob.coord >= 0)
    return np.concatenate([v, np.zeros((len(v), 1), v.dtype)], axis=1)


def series_junction(u: np.ndarray, IS: np.ndarray, nvt: np.ndarray, RS: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Current and conductance of a Shockley junction (with its gmin) behind a series RS.

    The junction voltage ``w`` solves ``w + RS f(w) = u`` (``f`` the junction law of
    :func:`exact.junction` plus gmin), an increasing function of ``w`` bracketed by 0
    and ``u``; Newton steps are kept inside the bracket. ``di/du = f'(w) / (1 + RS f'(w))``.
    """
    gmin = exact.GMIN
    w = u.copy()  # exact where RS = 0
    if np.any(RS > 0):
        lo = np.minimum(u, 0.0)
        hi = np.maximum(u, 0.0)
        w = np.clip(np.minimum(u, 30 * nvt), lo, hi)
        for _ in range(200):
            f, g = exact.junction(w, IS, nvt)
            h = w + RS * (f + gmin * w) - u
            lo = np.where(h < 0, w, lo)
            hi = np.where(h > 0, w, hi)
            nxt = w - h / (1.0 + RS * (g + gmin))
            nxt = np.where((nxt < lo) | (nxt > hi), 0.5 * (lo + hi), nxt)  # stay in the bracket
            done = np.max(np.abs(nxt - w), initial=0.0) <= 1e-16 * (1.0 + np.max(np.abs(w), initial=0.0))
            w = nxt
            if done:
                break
    f, g = exact.junction(w, IS, nvt)
    f, g = f + gmin * w, g + gmin
    return f, g / (1.0 + RS * g)


@dataclass(frozen=True)
class _Terms:
    """The nonlinear two-terminal elements of the 1-D problems, in one list: each has an
    anode ``a`` and cathode ``c`` (vars), their coordinates, and a current law i(u), u = v_a - v_c:

    * Shockley junctions (with their series RS): ``series_junction``;
    * soft PWL diodes: i = (gon - goff) max(u - Vfwd, 0) (their ``goff u`` is in ``G``).
    """

    a: np.ndarray
    c: np.ndarray
    ka: np.ndarray
    kc: np.ndarray
    junction: np.ndarray  # bool: Shockley (else soft PWL)
    IS: np.ndarray
    nvt: np.ndarray
    RS: np.ndarray
    vfwd: np.ndarray
    gx: np.ndarray

    @classmethod
    def of(cls, prob: CDProblem) -> "_Terms":
        ja, jc, IS, nvt, RS = prob.junctions
        sa, sc, vf, gx = prob.soft
        nj, ns = len(ja), len(sa)
        a, c = np.r_[ja, sa], np.r_[jc, sc]
        return cls(a, c, _coord_of(prob.coord, a), _coord_of(prob.coord, c), np.r_[np.ones(nj, bool), np.zeros(ns, bool)],
                   np.r_[IS, np.ones(ns)], np.r_[nvt, np.ones(ns)], np.r_[RS, np.zeros(ns)],
                   np.r_[np.zeros(nj), vf], np.r_[np.zeros(nj), gx])

    def touching(self, inS: np.ndarray):
        """(anode side, cathode side) masks of the terms with an end in ``inS`` (not both
        ends in one coordinate), or None."""
        split = self.ka != self.kc
        at_a = (self.ka >= 0) & inS[np.maximum(self.ka, 0)] & split
        at_c = (self.kc >= 0) & inS[np.maximum(self.kc, 0)] & split
        return (self, at_a, at_c) if at_a.any() or at_c.any() else None

    def law(self, sel: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current and conductance di/du of terms ``sel`` (a mask or indices) at ``u`` [B, |sel|]."""
        i = np.zeros_like(u)
        g = np.zeros_like(u)
        j = self.junction[sel]
        if j.any():
            i[:, j], g[:, j] = series_junction(u[:, j], self.IS[sel][j], self.nvt[sel][j], self.RS[sel][j])
        if (~j).any():
            over = u[:, ~j] - self.vfwd[sel][~j]
            gx = self.gx[sel][~j]
            i[:, ~j] = gx * np.maximum(over, 0.0)
            g[:, ~j] = np.where(over > 0, gx, 0.0)
        return i, g


def _newton_1d(c_old, rhs, diag, v, pos, touching, o, iters):
    """Minimise each coordinate's convex 1-D content with its nonlinear terms: Newton on
    F(x) = diag x - rhs + sum_k s_k i_k(u_k), u_k = s_k x + const, an increasing function,
    from the current value. A step that leaves the bracket [lo, hi] known from the signs
    of F bisects instead; steps into deep forward bias of a bare junction grow u only
    logarithmically (SPICE's pnjlim). Piecewise-linear terms end exactly on their segment."""
    terms, touch_a, touch_c = touching
    # each term touching the colour, once per end in it: u = sign (o_own + x_k - v_other)
    ia, ic = np.flatnonzero(touch_a), np.flatnonzero(touch_c)
    idx = np.r_[ia, ic]
    sign = np.r_[np.ones(len(ia)), -np.ones(len(ic))]
    k = pos[np.r_[terms.ka[ia], terms.kc[ic]]]
    base = o[:, np.r_[terms.a[ia], terms.c[ic]]] - v[:, np.r_[terms.c[ia], terms.a[ic]]]
    nv = terms.nvt[idx]
    bare = (terms.RS[idx] == 0) & terms.junction[idx]  # a bare junction: its current grows exponentially
    x = c_old.copy()
    lo = np.full(x.shape, -np.inf)
    hi = np.full(x.shape, np.inf)
    for _ in range(iters):
        u = sign * (base + x[:, k])  # du/dx = sign
        i, g = terms.law(idx, u)
        F = diag * x - rhs
        H = np.broadcast_to(diag, x.shape).copy()
        np.add.at(F.T, k, (sign * i).T)
        np.add.at(H.T, k, g.T)
        lo = np.where(F < 0, np.maximum(lo, x), lo)
        hi = np.where(F > 0, np.minimum(hi, x), hi)
        dx = -F / H
        # a bare junction driven deep into forward bias grows u only logarithmically;
        # behind RS (or for a PWL term) the current grows only linearly
        du = sign * dx[:, k]
        deep = bare & (u + du > 20 * nv) & (du > 4 * nv)
        lim = np.full(x.shape, np.inf)
        np.minimum.at(lim.T, k, np.where(deep, nv * np.log1p(np.maximum(du, 0) / nv), np.inf).T)
        dx = np.clip(dx, -lim, lim)
        nxt = x + dx
        # a step at rounding level has converged: it may land on a bracket end by rounding,
        # and must not be taken for a step out of the bracket (that bisected away from the root)
        small = np.abs(dx) <= 1e-13 * (1.0 + np.abs(x))
        bracketed = np.isfinite(lo) & np.isfinite(hi)
        mid = 0.5 * (np.where(bracketed, lo, 0.0) + np.where(bracketed, hi, 0.0))
        nxt = np.where(bracketed & ~small & ((nxt <= lo) | (nxt >= hi)), mid, nxt)
        x = nxt
        if small.all():
            break
    return x


def _branch_currents(cc: CompiledCircuit, sys_: exact._System, v: np.ndarray, tol: float):
    """Solution vector ``x`` for :func:`exact.assemble` from node potentials: voltage-source
    and active ideal-diode currents by least squares on KCL (exact at a solution)."""
    import scipy.sparse.linalg as spla

    n = cc.n_vars
    vv = np.append(v, 0.0)
    r = np.zeros(n + 1)  # current leaving each var through known elements; [n] = ground

    def leave(a, b, i):
        np.add.at(r, a, i)
        np.add.at(r, b, -i)

    R, RS = cc.resistors, cc.shockley_rs
    leave(R.a, R.b, (vv[R.a] - vv[R.b]) * R.value)
    leave(RS.a, RS.b, (vv[RS.a] - vv[RS.b]) * RS.value)
    I = cc.isources
    leave(I.a, I.b, I.value)
    sh = cc.shockley
    u = vv[sh.a] - vv[sh.b]
    leave(sh.a, sh.b, exact.junction(u, sh.value, cc.shockley_nvt)[0] + exact.GMIN * u)
    d = cc.pwl
    ud = vv[d.a] - vv[d.b]
    ideal = cc.ideal
    active = ideal & (ud >= cc.pwl_vfwd - tol)
    known = ~active  # soft diodes, and ideal ones that are off
    i_known = cc.pwl_goff * ud
    soft = ~ideal
    i_known[soft] += (cc.pwl_gon[soft] - cc.pwl_goff[soft]) * np.maximum(ud[soft] - cc.pwl_vfwd[soft], 0.0)
    leave(d.a[known], d.b[known], i_known[known])
    # unknown branch currents: voltage sources and active ideal diodes
    ba = np.r_[cc.vsources.a, d.a[active]]
    bb = np.r_[cc.vsources.b, d.b[active]]
    k = np.arange(len(ba))
    rows = np.r_[ba, bb]
    cols = np.r_[k, k]
    vals = np.r_[np.ones(len(ba)), -np.ones(len(ba))]
    keep = rows >= 0
    A = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, len(ba)))
    j = np.zeros(len(ba))
    if len(ba):  # normal equations: A^T A is small and nonsingular when the branches form a forest
        try:
            j = spla.splu((A.T @ A).tocsc()).solve(-(A.T @ r[:n]))
        except RuntimeError:  # parallel branches: split undetermined, take the least-norm one
            j = spla.lsqr(A, -r[:n], atol=1e-16, btol=1e-16, iter_lim=10 * len(ba) + 100)[0]
    x = np.zeros(sys_.size)
    x[:n] = v
    nV = len(cc.vsources.index)
    x[sys_.colV] = j[:nV]
    jd = cc.pwl_goff * ud
    jd[active] = j[nV:]
    x[sys_.colD] = jd[ideal]
    return x, active | (soft & (ud > cc.pwl_vfwd))


def solve_cd(cc: CompiledCircuit, options: CDOptions | None = None, c0: np.ndarray | None = None,
             v0: np.ndarray | None = None) -> Result:
    """The DC operating point by coordinate descent, verified by the exact certificate.

    A fixed point that fails the certificate where ideal diodes join free coordinates is a
    stall: the clusters those diodes join move as blocks (:func:`_cluster_moves`) and the
    sweeps resume, up to ``CDOptions.cluster_rounds`` times. What still fails goes to the
    exact solver, reported as ``method = "cd+exact"`` (or the exact solver's error);
    running out of sweeps raises :class:`ConvergenceError`.

    The start is ``c0`` (coordinates, [1, m]), or ``v0`` (node voltages in
    ``cc.circuit.nodes`` order, e.g. an earlier result), or zero.
    """
    opts = options or CDOptions()
    t0 = time.perf_counter()
    try:
        prob = prepare(cc)
    except Unanchored as exc:  # only the active set can tell whether a diode pins them
        return replace(exact.solve_exact(cc), method="cd+exact", iterations=0,
                       method_reason=f"{exc.message}; handed over to the exact solver",
                       timings={"solve": time.perf_counter() - t0})
    E = cc.vsources.value[None, :]
    I = cc.isources.value[None, :]
    if v0 is not None and c0 is None:
        v_var = np.zeros(cc.n_vars)
        known = cc.var >= 0
        v_var[cc.var[known]] = v0[known]
        o, _ = _right_hand_side(prob, E, I)
        c0 = v_var[prob.anchor][None, :] - o[:, prob.anchor]
    sys_ = exact._System(cc, exact.ExactOptions())
    # float32 sweeps are certified at float32's own precision, and the result says so
    rtol = exact.ExactOptions().rtol if np.dtype(opts.dtype).itemsize >= 8 else FLOAT32_RTOL

    def certified(v: np.ndarray, sweeps: int) -> Result:
        vscale = 1.0 + float(np.max(np.abs(v), initial=0.0))
        x, on = _branch_currents(cc, sys_, v[0].astype(float), 1e-9 * vscale)
        return exact.assemble(cc, sys_, x, on, "cd", sweeps)

    v, c, sweeps, converged, stalled = relax(prob, E, I, opts, c0)
    result = certified(v, sweeps)
    coupled = _has_coupled_diodes(prob)
    if coupled and converged and not result.certificate.ok(rtol):
        # A stall: tie the conducting diodes between free coordinates (their clusters then
        # move as blocks), untie those whose current turns negative, until certified.
        da, dc, vf = prob.diodes
        ka, kc = _coord_of(prob.coord, da), _coord_of(prob.coord, dc)
        between = (ka >= 0) & (kc >= 0) & (ka != kc)
        ideal_rows = np.flatnonzero(cc.ideal)
        tied = np.zeros(len(da), bool)
        for _ in range(opts.cluster_rounds):
            scale = 1.0 + float(np.max(np.abs(v), initial=0.0))
            u = v[0, da] - v[0, dc]
            current = result.currents["d"][cc.pwl.index[ideal_rows]]
            nxt = between & (u >= vf - 1e-9 * scale) & ~(tied & (current < -1e-12 * (1 + np.abs(current).max())))
            if np.array_equal(nxt, tied):
                break
            tied = nxt
            prob = prepare(cc, tied)
            o, _ = _right_hand_side(prob, E, I)
            if opts.sweeps is None and sweeps >= opts.max_sweeps:
                break  # the budget is for the whole solve, tied rounds included
            budget = opts if opts.sweeps is not None else replace(opts, max_sweeps=opts.max_sweeps - sweeps)
            v, c, more, converged, stalled = relax(prob, E, I, budget, (v[:, prob.anchor] - o[:, prob.anchor]))
            sweeps += more
            result = certified(v, sweeps)
            if result.certificate.ok(rtol) or not converged:
                break
    if result.certificate.ok(rtol):
        # voltages are unique, but not how parallel conducting ideal diodes share a current:
        # refused as the exact solver refuses it
        current = result.currents["d"][cc.pwl.index]
        parallel_ideal(cc, np.abs(current) > 1e-12 * (1.0 + np.max(np.abs(current), initial=0.0)))
        method = "cd" if rtol == exact.ExactOptions().rtol else "cd-float32"
        return replace(result, method=method, timings={"solve": time.perf_counter() - t0})
    if converged or coupled or stalled:
        # A fixed point that still fails the certificate (a stall the cluster moves did
        # not resolve, or a constraint no coordinate can meet: an ideal diode
        # forward-biased across sources), or sweeps that stalled: the exact solver
        # settles it, or raises the error that names it.
        fallback = exact.solve_exact(cc)
        why = stalled or ("the fixed point failed the certificate" if converged else
                          "ideal diodes between free nodes kept the sweeps from converging")
        return replace(fallback, method="cd+exact", iterations=sweeps, method_reason=f"{why}; handed over to the exact solver",
                       timings={"solve": time.perf_counter() - t0})
    what = f"{sweeps} fixed sweeps did not reach" if opts.sweeps else f"did not converge in {sweeps} sweeps to"
    raise ConvergenceError(
        f"coordinate descent {what} a certified solution: "
        + ", ".join(f"{k}={val:.3g}" for k, val in result.certificate.as_dict().items()),
        hint="give more sweeps (--sweeps / --max-sweeps), or use --method exact",
    )


def _has_coupled_diodes(prob: CDProblem) -> bool:
    a, c, _ = prob.diodes
    ka, kc = _coord_of(prob.coord, a), _coord_of(prob.coord, c)
    return bool(np.any((ka >= 0) & (kc >= 0) & (ka != kc)))
