"""``--method auto``: pick a solver from the circuit's structure and elements.

* controlled sources (E, G, ...): the exact solver (the circuit is not reciprocal, the
  coordinate-descent core does not handle it);
* a layered network of at least ``CD_MIN_UNKNOWNS`` unknowns: coordinate descent (DRN-1H:
  0.35 s against 2.6 s for sparse LU, bench/drn_solve.py). *Layered* means a 2-colourable
  coupling graph of small diameter (every coordinate within ``LAYERED_MAX_DEPTH`` hops of
  the first): a grid is 2-colourable too, but its diameter is large and sweeps crawl on
  it (100 x 100 grid: 947 sweeps with adaptive over-relaxation, 0.33 s, against 0.20 s
  for sparse LU; bench/grid_solve.py);
* anything else: the exact solver (small circuits are fastest by LU either way).

Returns the method and a one-line reason, which the result reports.
"""

from __future__ import annotations

import numpy as np

from ..compile import CompiledCircuit
from ..elements import ELEMENTS

CD_MIN_UNKNOWNS = 1000
LAYERED_MAX_DEPTH = 8


def choose(cc: CompiledCircuit) -> tuple[str, str]:
    if not cc.reciprocal:
        kinds = [k.upper() for k, g in cc.circuit.groups.items() if len(g) and not ELEMENTS[k].reciprocal]
        return "exact", f"auto: controlled sources ({'/'.join(kinds)}) need the exact solver"
    if cc.n_vars < CD_MIN_UNKNOWNS:
        return "exact", f"auto: small circuit ({cc.n_vars} unknowns), sparse LU is fastest"
    from .cd import CDUnsupported, prepare

    try:
        prob = prepare(cc)
    except CDUnsupported as exc:
        return "exact", f"auto: {exc.message}"
    colours = len(prob.colors)
    if colours > 2:
        return "exact", f"auto: {colours}-colour coupling, sparse LU"
    depth = _depth(prob)
    if depth <= LAYERED_MAX_DEPTH:
        return "cd", f"auto: layered network ({colours} colours, depth {depth}), coordinate descent"
    return "exact", f"auto: grid-like coupling (depth {depth}), sparse LU"


def _depth(prob) -> int:
    """Largest BFS distance from coordinate 0 in the coupling graph (its components' max)."""
    from scipy.sparse.csgraph import shortest_path

    if prob.m == 0:
        return 0
    dist = shortest_path(abs(prob.L_off), method="D", unweighted=True, indices=0)
    finite = dist[np.isfinite(dist)]
    return int(finite.max()) if len(finite) else 0
