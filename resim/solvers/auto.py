"""``--method auto``: pick a solver from the circuit's structure and elements.

* E or G elements, or piecewise-linear diodes with ``Ron > 0``: the exact solver (the
  coordinate-descent core does not handle them);
* a layered network (coupling graph 2-colourable) of at least ``CD_MIN_UNKNOWNS`` unknowns:
  coordinate descent (DRN-1H: 0.5 s against 3.2 s for sparse LU, bench/drn_solve.py);
* anything else, grids included: the exact solver (sparse LU; Gauss-Seidel sweeps converge
  slowly on grid-like circuits, and small circuits are faster by LU either way).

Returns the method and a one-line reason, which the result reports.
"""

from __future__ import annotations

import numpy as np

from ..compile import CompiledCircuit

CD_MIN_UNKNOWNS = 1000


def choose(cc: CompiledCircuit) -> tuple[str, str]:
    if len(cc.vcvs[0]) or len(cc.vccs[0]):
        return "exact", "auto: controlled sources (E/G) need the exact solver"
    if np.any(~cc.ideal):
        return "exact", "auto: piecewise-linear diodes with Ron > 0 need the exact solver"
    if cc.n_vars < CD_MIN_UNKNOWNS:
        return "exact", f"auto: small circuit ({cc.n_vars} unknowns), sparse LU is fastest"
    from .cd import CDUnsupported, prepare

    try:
        colours = len(prepare(cc).colors)
    except CDUnsupported as exc:
        return "exact", f"auto: {exc.message}"
    if colours <= 2:
        return "cd", f"auto: layered network ({colours} colours), coordinate descent"
    return "exact", f"auto: {colours}-colour (grid-like) coupling, sparse LU"
