"""The circuit in coordinate form (:class:`CDProblem`, :func:`prepare`): what coordinate
descent minimises over, independent of the source values.

A coordinate is a node, or a *supernode*: nodes tied together by voltage sources with no
path to ground move as one, ``v = P c + o``, ``o = Q E`` holding the sources' offsets
(:func:`_forest_offsets`). ``L = P^T G P`` is the conductance matrix the coordinates see
(its off-diagonal part ``L_off`` and diagonal ``L_diag``), and for source values ``E``,
``I`` (:func:`right_hand_side`)

.. math::

    b = P^T (J I - G o)

the currents injected into them. Coordinates that share no element get one colour
(:func:`_coloring`: 2 colours when the coupling graph is bipartite). A circuit with
controlled sources (E, G, ...), or with diodes whose law is not increasing (``ISR``, ``IKR``:
:func:`_check_increasing`), raises :class:`CDUnsupported`; free nodes with no conductance to a fixed potential
raise :class:`Unanchored` (:func:`_check_anchored`).

Arrays: ``E`` [B, nV], ``I`` [B, nI], ``o`` [B, n_vars], ``b`` and ``c`` [B, m].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ...compile import CompiledCircuit, index_dtype
from ...elements import ELEMENTS
from ...errors import ResimError


class CDUnsupported(ResimError):
    """The circuit has elements the coordinate-descent core does not handle (controlled
    sources, E, G, ...: ``--method cd`` is the wrong option for it, a usage error)."""

    exit_code = 2


class Unanchored(CDUnsupported):
    """Some free nodes have no conductance to a fixed potential: only ideal diodes (or
    nothing) hold them, so their content has no unique minimiser unless a diode conducts.
    Coordinate descent cannot decide that; :func:`~resim.solvers.cd.solve.solve_cd` hands
    the circuit to the exact solver, which solves it or names the topology error."""

    exit_code = 4


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
    junctions: tuple  # (a, c, law, RS) Shockley diodes between external vars; law: shockley.JunctionLaw
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


def coord_of(coord: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Coordinate of each var (-1 for ground, fixed vars and eliminated internal nodes)."""
    return np.where(var >= 0, coord[np.maximum(var, 0)], -1)


Branch = tuple[np.ndarray, np.ndarray, np.ndarray]  # (a, b, g): conductances g between unknowns a and b

LAPLACIAN_PIECES = 8  # G is built in about this many row ranges ...
LAPLACIAN_MIN_ENTRIES = 1 << 16  # ... of at least this many stamped entries each (1 MB)


def _laplacian(n: int, parts: list[Branch]) -> sp.csr_matrix:
    """The [n, n] conductance matrix of the branches ``parts``, each ``(a, b, g)``
    (conductances ``g`` between unknowns ``a`` and ``b``, -1 = ground).

    The same matrix, to the bit, as ``csr_matrix`` of the COO entries of
    :func:`~resim.elements.stamps.stamp_g` over the concatenated parts with ground's entries
    dropped: scipy sums duplicates row by row, in the order the entries of a row come in
    the COO input (``coo_tocsr`` is stable, then each row is sorted and summed), and each
    row here gets its entries in that order. Only the memory changed. Stamping all four
    blocks at once (int64 indices, masked after) peaked at 198 bytes per resistor on a
    1.57 M-resistor DRN netlist (3.2 M stamped entries), the peak of the whole solve.
    Here the rows are cut into ranges of about ``1 / LAPLACIAN_PIECES`` of the entries
    (:func:`_row_ranges`), each range's entries are stamped with int32 indices and summed
    (:func:`_laplacian_rows`), and the ranges' rows are joined: about 30 bytes per
    stamped entry of one range, plus twice the summed matrix while joining."""
    pieces = [_laplacian_rows(n, parts, lo, hi) for lo, hi in _row_ranges(n, parts)]
    it = index_dtype(max(n, sum(p.nnz for p in pieces)))
    starts = np.cumsum([0] + [p.nnz for p in pieces])
    indptr = np.concatenate([p.indptr[:-1].astype(it) + it(start) for p, start in zip(pieces, starts)]
                            + [np.array([starts[-1]], it)])
    indices = np.concatenate([p.indices for p in pieces]).astype(it, copy=False)
    data = np.concatenate([p.data for p in pieces])
    del pieces
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))


def _row_ranges(n: int, parts: list[Branch]) -> list[tuple[int, int]]:
    """Consecutive row ranges ``[lo, hi)`` covering ``0..n`` with about equal numbers of
    stamped entries (``LAPLACIAN_PIECES`` ranges, at least ``LAPLACIAN_MIN_ENTRIES`` entries
    each; a single row with more is a range of its own). Row ``r`` gets an entry for each
    branch end at ``r`` (the diagonal) and one more where the other end is not ground."""
    count = np.zeros(n, np.int64)
    for a, b, _ in parts:
        for end, other in ((a, b), (b, a)):
            count += np.bincount(end[end >= 0], minlength=n)
            count += np.bincount(end[(end >= 0) & (other >= 0)], minlength=n)
    cum = np.cumsum(count)
    total = int(cum[-1]) if n else 0
    step = max(-(-total // LAPLACIAN_PIECES), LAPLACIAN_MIN_ENTRIES)
    cuts = np.searchsorted(cum, np.arange(step, total, step), side="right")
    bounds = np.unique(np.r_[0, cuts, n])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist())) or [(0, n)]  # n = 0: one empty range


def _laplacian_rows(n: int, parts: list[Branch], lo: int, hi: int) -> sp.csr_matrix:
    """Rows ``lo..hi-1`` of the conductance matrix of ``parts`` (see :func:`_laplacian`),
    duplicates summed, as a [hi - lo, n] matrix. The entries go to scipy block by block,
    ``(a, a)``, ``(b, b)``, ``(a, b)``, ``(b, a)`` (row end, column end; the last two
    negated), and part by part within a block: :func:`~resim.elements.stamps.stamp_g`'s order."""
    it = index_dtype(n)
    rows, cols, vals = [], [], []
    for row_end, col_end, negated in ((0, 0, False), (1, 1, False), (0, 1, True), (1, 0, True)):
        for part in parts:
            r, c = part[row_end], part[col_end]
            keep = (r >= lo) & (r < hi)
            if row_end != col_end:
                keep &= c >= 0
            rows.append((r[keep] - lo).astype(it, copy=False))
            cols.append(c[keep].astype(it, copy=False))
            g = part[2][keep]
            vals.append(-g if negated else g)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(hi - lo, n))


def _two_sides(A: sp.csr_matrix) -> np.ndarray | None:
    """Side 0/1 of each vertex when every component of ``A`` is bipartite, else None; the
    lowest-numbered vertex of each component on side 0.

    By the bipartite double cover, in whole-array passes (a breadth-first search per
    component was quadratic in the number of components: 100,000 isolated nodes took
    50 s): vertices ``(v, 0)`` and ``(v, 1)``, each edge ``u-v`` joining ``(u, 0)-(v, 1)``
    and ``(u, 1)-(v, 0)``. A component is bipartite iff ``(v, 0)`` and ``(v, 1)`` fall in
    different components of the cover, and then which of the two has the larger label
    tells the side, consistently across the component."""
    from scipy.sparse.csgraph import connected_components

    m = A.shape[0]
    rows, cols = A.nonzero()
    cover = sp.csr_matrix((np.ones(2 * len(rows)), (np.r_[rows, rows + m], np.r_[cols + m, cols])),
                          shape=(2 * m, 2 * m))
    lab = connected_components(cover, directed=False)[1]
    if np.any(lab[:m] == lab[m:]):
        return None
    side = (lab[:m] > lab[m:]).astype(int)
    comp = connected_components(A, directed=False)[1]
    _, first = np.unique(comp, return_index=True)
    return side ^ side[first][comp]


def _coloring(adjacency: sp.csr_matrix) -> tuple[np.ndarray, ...]:
    """Colour classes: 2 when the graph is bipartite (:func:`_two_sides`), else greedy
    largest-first."""
    m = adjacency.shape[0]
    if m == 0:
        return ()
    A = adjacency.tocsr()
    A.setdiag(0)
    A.eliminate_zeros()
    side = _two_sides(A)
    if side is not None:
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


def _check_increasing(cc: CompiledCircuit) -> None:
    """Raise :class:`CDUnsupported` for Shockley diodes whose law is not increasing (a
    recombination current ``ISR`` or a reverse knee ``IKR``: ngspice's law steps down at
    ``-3 N Vt``): their content is not convex, and coordinate descent's 1-D problems need it."""
    bad = np.flatnonzero(~cc.shockley_law.increasing)
    if len(bad):
        c = cc.circuit
        names = [c["d"].names[k] for k in cc.shockley.index[bad[:6]]]
        more = f" and {len(bad) - 6} more" if len(bad) > 6 else ""
        raise CDUnsupported(f"coordinate descent needs increasing diode laws: diode(s) {', '.join(names)}{more} "
                            "have a recombination current (ISR) or reverse knee (IKR), whose law steps down at "
                            "-3 N Vt as ngspice's", hint="use --method exact (or auto)")


def prepare(cc: CompiledCircuit, tied: np.ndarray | None = None) -> CDProblem:
    """Coordinate form of ``cc``; raises :class:`CDUnsupported` for elements of a
    non-reciprocal kind (E, G, ...: :attr:`~resim.elements.kind.ElementKind.reciprocal`), naming them.

    ``tied`` (a mask over the ideal diodes) holds those diodes at u = Vfwd, like voltage
    sources: the nodes they join move as one block (see :mod:`resim.solvers.cd.stall`).
    """
    if not cc.reciprocal:
        groups = cc.circuit.groups
        found = [f"{ELEMENTS[k].word}s ({k.upper()}: {', '.join(list(g.names)[:3])}{', ...' if len(g) > 3 else ''})"
                 for k, g in groups.items() if len(g) and not ELEMENTS[k].reciprocal]
        raise CDUnsupported("coordinate descent handles reciprocal circuits only: this one has " + "; ".join(found),
                            hint="use --method exact (or auto)")
    _check_increasing(cc)
    n = cc.n_vars
    sh, rs = cc.shockley, cc.shockley_rs
    # A diode's series resistance is folded into its law (laws.series_junction): its internal
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
    G = _laplacian(n, [(r.a, r.b, r.value), (d.a, d.b, cc.pwl_goff)])
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
    ca = coord_of(coord, np.r_[d.a, anode])
    cb = coord_of(coord, np.r_[d.b, sh.b])
    both = (ca >= 0) & (cb >= 0) & (ca != cb)
    extra = sp.csr_matrix((np.ones(2 * both.sum()), (np.r_[ca[both], cb[both]], np.r_[cb[both], ca[both]])), shape=(m, m))
    colors = _coloring((abs(L_off) + extra).tocsr())
    _check_anchored(cc, L, coord, free_roots, anode, sh.b)
    return CDProblem(m, coord, Q, P, G, offset_vars, K, (P.T @ J).tocsr(), J, L_off, L_diag, colors,
                     (d.a[ideal], d.b[ideal], cc.pwl_vfwd[ideal]),
                     (d.a[soft], d.b[soft], cc.pwl_vfwd[soft], cc.pwl_gon[soft] - cc.pwl_goff[soft]),
                     (anode, sh.b, cc.shockley_law, RS), internal, free_roots, tied)


def _check_anchored(cc: CompiledCircuit, L: sp.csr_matrix, coord: np.ndarray, anchor: np.ndarray,
                    ja: np.ndarray, jc: np.ndarray) -> None:
    """Raise :class:`Unanchored` unless every group of coordinates joined by conductances
    (resistors, Roff, Shockley junctions with their gmin) has a conductance to a fixed
    potential: ``L``'s rows sum to the conductance from each coordinate to fixed nodes."""
    from scipy.sparse.csgraph import connected_components

    m = L.shape[0]
    if m == 0:
        return
    ka, kc = coord_of(coord, ja), coord_of(coord, jc)
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


def right_hand_side(prob: CDProblem, E: np.ndarray, I: np.ndarray, dt=np.float64):
    """Offsets ``o = Q E`` [B, n] (the absolute potential of fixed vars) and the injected
    currents ``b = P^T (J I - G o)`` [B, m] seen by the coordinates.

    ``o`` is zero outside ``offset_vars``, so ``P^T G o = K o[:, offset_vars]`` with ``K``
    precomputed: for a DRN the input layer, a dense product (BLAS) for the whole batch."""
    if prob.tied.any():  # tied diodes are sources of Vfwd
        E = np.concatenate([E, np.broadcast_to(prob.diodes[2][prob.tied], (len(E), int(prob.tied.sum())))], axis=1)
    o = np.asarray((prob.Q @ E.T).T, dt)
    b = np.asarray((prob.PJ @ I.T - prob.K @ o[:, prob.offset_vars].T).T, dt)
    return o, b


def potentials(prob: CDProblem, o: np.ndarray, c: np.ndarray) -> np.ndarray:
    """v = P c + o, with a last column 0 for ground (var index -1)."""
    v = o.copy()
    if prob.m:
        v += c[:, np.maximum(prob.coord, 0)] * (prob.coord >= 0)
    return np.concatenate([v, np.zeros((len(v), 1), v.dtype)], axis=1)


def coupled_diodes(prob: CDProblem) -> np.ndarray:
    """Mask of the ideal diodes between two different coordinates (a bound on each that
    moves with the other: the sweeps can stall on them, see :mod:`resim.solvers.cd.stall`)."""
    a, c, _ = prob.diodes
    ka, kc = coord_of(prob.coord, a), coord_of(prob.coord, c)
    return (ka >= 0) & (kc >= 0) & (ka != kc)
