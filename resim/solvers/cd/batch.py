"""A batch of operating points of one circuit, each item certified (:func:`solve_batch`).

Same conductances, different source values (the points of a source sweep, the images a
DRN is shown): one relaxation on [B, m] arrays (:func:`~resim.solvers.cd.kernel.relax`),
then the KKT conditions of the coordinate problem checked for every item at once
(:func:`batch_certificate`) instead of assembling B results. Items it does not certify
(and every item of a batch that did not converge, or of a circuit with ideal diodes
between two free coordinates) are the caller's to solve one by one
(:func:`~resim.solvers.cd.solve.solve_cd`, whose per-point certificate is the full one).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..options import SolverOptions
from .kernel import relax
from .laws import Terms
from .problem import CDProblem, coord_of, coupled_diodes, potentials, right_hand_side


class BatchResult(NamedTuple):
    """What :func:`solve_batch` returns."""

    v: np.ndarray  # [B, n_vars] potentials (node k's is v[:, cc.var[k]], ground's 0)
    c: np.ndarray  # [B, m] coordinates (a warm start for the next batch)
    ok: np.ndarray  # [B] bool: the item satisfies the KKT conditions (batch_certificate)
    sweeps: int
    converged: bool  # the tolerance stop was met (for the whole batch)
    stalled: str | None  # why the sweeps stopped early without converging, or None


def solve_batch(prob: CDProblem, E: np.ndarray, I: np.ndarray, options: SolverOptions | None = None,
                c0: np.ndarray | None = None) -> BatchResult:
    """Operating points of ``prob`` (from :func:`~resim.solvers.cd.problem.prepare`) for a
    batch of source values, each item checked by :func:`batch_certificate` at the
    tolerance of ``options.precision`` (``options.certificate_rtol``).

    ``E``: [B, nV] voltage-source values, ``I``: [B, nI] current-source values (columns in
    the compiled circuit's order, ``cc.vsources`` and ``cc.isources``), ``c0`` a start
    [B, m] (default 0).
    """
    opts = options or SolverOptions()
    v, c, sweeps, converged, stalled = relax(prob, E, I, opts, c0)
    ok = batch_certificate(prob, E, I, c, opts.certificate_rtol) if converged else np.zeros(len(E), bool)
    return BatchResult(v, c, ok, sweeps, converged, stalled)


def batch_certificate(prob: CDProblem, E: np.ndarray, I: np.ndarray, c: np.ndarray,
                      rtol: float = 1e-8) -> np.ndarray:
    """Per item: does ``c`` [B, m] satisfy the coordinate problem's KKT conditions?

    The content's gradient ``r = L c - b + sum_k s_k i_k(u_k)`` must vanish at every
    coordinate, except where an ideal diode to a fixed potential holds it at its bound:
    there ``r <= 0`` at an upper bound (anode side) and ``r >= 0`` at a lower one. Judged
    at ``rtol`` times the point's current scale. Points with ideal diodes between two
    coordinates are not judged here (False: they get the full per-point certificate).
    """
    B = len(c)
    if coupled_diodes(prob).any():
        return np.zeros(B, bool)
    o, b = right_hand_side(prob, E, I)
    Lc = (prob.L_off @ c.T).T + prob.L_diag * c
    r = Lc - b
    scale = np.maximum(np.max(np.abs(b), axis=1, initial=0.0), np.max(np.abs(prob.L_diag * c), axis=1, initial=0.0))
    v = potentials(prob, o, c)
    terms = Terms.of(prob)
    if len(terms.a):
        u = v[:, terms.a] - v[:, terms.c]
        i, _ = terms.law(np.ones(len(terms.a), bool), u)
        for side, sign in ((terms.ka, 1.0), (terms.kc, -1.0)):
            sel = (side >= 0) & (terms.ka != terms.kc)
            np.add.at(r.T, side[sel], (sign * i[:, sel]).T)
        scale = np.maximum(scale, np.max(np.abs(i), axis=1, initial=0.0))
    tol = rtol * np.maximum(scale, 1e-15)[:, None]
    da, dc, vf = prob.diodes
    ka, kc = coord_of(prob.coord, da), coord_of(prob.coord, dc)
    free = np.ones((B, prob.m), bool)
    vtol = 1e-9 * (1.0 + np.max(np.abs(v), axis=1))[:, None]
    up = ka >= 0  # anode a coordinate, cathode fixed: c <= bound, r <= 0 allowed there
    if up.any():
        at = np.abs(v[:, da[up]] - v[:, dc[up]] - vf[up]) <= vtol
        free[:, ka[up]] &= ~at
        bad_up = at & (r[:, ka[up]] > tol)
    else:
        bad_up = np.zeros((B, 0), bool)
    down = kc >= 0
    if down.any():
        at = np.abs(v[:, da[down]] - v[:, dc[down]] - vf[down]) <= vtol
        free[:, kc[down]] &= ~at
        bad_down = at & (r[:, kc[down]] < -tol)
    else:
        bad_down = np.zeros((B, 0), bool)
    kcl_ok = np.all(~free | (np.abs(r) <= tol), axis=1)
    return kcl_ok & ~bad_up.any(axis=1) & ~bad_down.any(axis=1)
