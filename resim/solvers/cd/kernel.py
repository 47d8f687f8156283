r"""The relaxation kernel: sweeps of exact coordinate updates over a batch (:func:`relax`).

Each colour's coordinates are updated together, each exactly:

.. math::

    c_k \leftarrow \mathrm{clip}\Big( \big(b_k - \sum_{j \ne k} L_{kj} c_j\big) / L_{kk},\ lo_k,\ hi_k \Big)

with ideal diodes as the bounds ``lo``/``hi`` (a diode to a free coordinate bounds by
that coordinate's current value) and, where nonlinear terms touch a coordinate, the
1-D minimiser of :func:`~resim.solvers.cd.laws.newton_1d` instead of the division.
Coordinates without nonlinear terms are over-relaxed, omega revised from the observed
contraction every :data:`ADAPT_EVERY` sweeps (:func:`_sor_omega`). The sweeps stop on the
estimated distance to the fixed point, or when they stall
(:func:`~resim.solvers.cd.stall.check_stall`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..options import SolverOptions
from .laws import Terms, newton_1d, series_junction
from .problem import CDProblem, coord_of, coupled_diodes, potentials, right_hand_side
from .stall import check_stall


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
    touching: tuple | None  # nonlinear terms (see Terms.touching)


def _colour_plans(prob: CDProblem, dt) -> list[_Colour]:
    da, dc, vf = prob.diodes
    dka, dkc = coord_of(prob.coord, da), coord_of(prob.coord, dc)
    terms = Terms.of(prob)
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


def relax(prob: CDProblem, E: np.ndarray, I: np.ndarray, opts: SolverOptions,
          c0: np.ndarray | None = None) -> Relaxation:
    """Coordinate descent for a batch of source values.

    ``E``: [B, nV] voltage-source values, ``I``: [B, nI] current-source values, ``c0`` a
    start [B, m] (default 0).

    With a tolerance stop (``opts.sweeps`` None) the sweeps also stop early when they
    stall: when, at the contraction measured over the last ``STALL_WINDOW`` sweeps
    (:func:`~resim.solvers.cd.stall.projected_sweeps`), the tolerance would not be met
    within ``opts.sweep_limit``, at two checks in a row. A floating Shockley bridge
    contracts by 1 - 1.5e-6 per sweep: it would take millions of sweeps. The result then
    says why (``stalled``), and :func:`~resim.solvers.cd.solve.solve_cd` hands the point
    to the exact solver.
    """
    dt = opts.dtype
    o, b = right_hand_side(prob, E, I, dt)
    c, o_ext, at = _coordinates(prob, o, c0, E.shape[0], dt)
    plans = _colour_plans(prob, dt)
    scale = 1.0 + float(np.max(np.abs(E), initial=0.0))
    limit = opts.sweep_limit
    converged = False
    sweep = 0
    prev = np.inf
    omega = 1.0 if opts.omega is None else opts.omega
    history: list[float] = []
    coupled = bool(coupled_diodes(prob).any())
    stalled = None
    hopeless = 0  # consecutive stall checks that projected more sweeps than are left
    for sweep in range(1, limit + 1):
        delta = _sweep(plans, b, c, o, o_ext, at, omega, opts.newton_iterations)
        # Stop on the estimated distance to the fixed point, not on the last step: with
        # contraction rate rho = delta / prev, the error left is about delta rho / (1 - rho).
        rho = delta / prev if prev > 0 else 0.0
        left = delta * rho / (1.0 - rho) if rho < 1.0 else np.inf
        if opts.sweeps is None and max(delta, left) <= opts.stop_tol * scale:
            converged = True
            break
        prev = delta
        history.append(delta)
        if opts.omega is None and not coupled and len(history) % ADAPT_EVERY == 0:
            revised = _sor_omega(history, omega)
            if revised != omega:
                omega, prev = revised, np.inf  # the rate changes
        if opts.sweeps is None:
            hopeless, stalled = check_stall(history, sweep, opts.stop_tol * scale, limit, hopeless)
            if stalled is not None:
                break
    v = _with_internal_nodes(prob, potentials(prob, o, c))
    return Relaxation(v[:, :len(prob.coord)], np.ascontiguousarray(c), sweep, converged, stalled)


def _coordinates(prob: CDProblem, o: np.ndarray, c0: np.ndarray | None, B: int,
                 dt) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """The coordinates ``c`` [B, m] (``c0``, default 0), ``o`` with a last column 0 for
    ground, and ``at(var)``: the potentials [B, len(var)] of the unknowns ``var`` (-1:
    ground) at the coordinates as they are when it is called.

    ``c`` lives in the first m columns of ``c_ext``, whose last column stays 0: v at var x
    is ``o_ext[:, x] + c_ext[:, coord_ext[x]]``, with no test for ground or for unknowns
    held by sources (coordinate -1)."""
    m = prob.m
    coord = prob.coord
    c_ext = np.zeros((B, m + 1), dt)
    if c0 is not None:
        c_ext[:, :m] = c0
    o_ext = np.concatenate([o, np.zeros((B, 1), dt)], axis=1)
    coord_ext = np.append(np.where(coord >= 0, coord, m), m)

    def at(var: np.ndarray) -> np.ndarray:
        return o_ext[:, var] + c_ext[:, coord_ext[var]]

    return c_ext[:, :m], o_ext, at


def _sweep(plans: list[_Colour], b: np.ndarray, c: np.ndarray, o: np.ndarray, o_ext: np.ndarray,
           at: Callable[[np.ndarray], np.ndarray], omega: float, newton_iterations: int) -> float:
    """One sweep: each colour's coordinates updated together, in place in ``c`` (see the
    module docstring); the largest change of a coordinate."""
    B, dt = c.shape[0], c.dtype
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
            new = newton_1d(old, rhs, p.diag, at, p.pos, p.touching, o, newton_iterations)
        else:
            new = old + omega * (rhs / p.diag - old)
        if lo is not None or hi is not None:
            new = np.clip(new, lo, hi)
        c[:, S] = new
        if len(S):
            delta = max(delta, float(np.max(np.abs(new - old))))
    return delta


def _with_internal_nodes(prob: CDProblem, v: np.ndarray) -> np.ndarray:
    """``v`` [B, n_vars] with the internal node of each diode with series resistance RS
    set (in place) from its terminals: ``v_int = v_a - i RS``."""
    ja, jc, law, RS = prob.junctions
    k = np.flatnonzero(prob.internal >= 0)
    if len(k):
        u = v[:, ja[k]] - v[:, jc[k]]
        i = series_junction(u, law.take(k), RS[k])[0]
        v[:, prob.internal[k]] = v[:, ja[k]] - i * RS[k]
    return v


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
