"""The 1-D element laws of coordinate descent: the nonlinear two-terminal elements a
coordinate's update sees (:class:`Terms`), their current laws (a Shockley junction behind
its series RS, :func:`series_junction`; a soft diode's excess ``(gon - goff) max(u -
Vfwd, 0)``), and the exact minimiser of one coordinate's convex content with them
(:func:`newton_1d`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...junction import JunctionLaw
from .problem import CDProblem, coord_of


def series_junction(u: np.ndarray, law: JunctionLaw, RS: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Current and conductance of Shockley junctions (with their gmin) behind a series RS.

    The junction voltage ``w`` solves ``h(w) = w + RS f(w) - u = 0`` (``f`` the junction
    law, :class:`~resim.junction.JunctionLaw`), an increasing function of ``w``
    bracketed by 0 and ``u``; Newton steps are kept inside the bracket.
    ``di/du = f'(w) / (1 + RS f'(w))``.

    In forward bias Newton starts from ``w0 = N Vt log(1 + u / (RS IS))``, where the whole of
    ``u`` would drop across RS: ``h(w0) >= w0 > 0``, and ``h`` is convex there, so the steps
    fall monotonically onto the root in a few iterations. (From ``min(u, 30 N Vt)`` they
    left the bracket again and again and bisected a bracket of ``u`` volts: 118 steps at
    10 V, and a wrong answer after 200 steps above 17 V.) A knee current ``IKF`` lowers
    ``f``, so ``h(w0)`` may be negative: the first step then crosses the root, and the
    steps fall onto it from above (``h`` stays convex). Past the breakdown knee ``-bv``
    the mirror image: from ``-(bv + NBV Vt log(1 + (-u - bv) / (RS IS)))`` (or ``u``,
    whichever is higher), where ``h < 0`` and ``h`` is concave, the steps rise onto the
    root. The iteration stops at a step of two units in the last place, which rounding
    cannot always get below.
    """
    w = u.copy()  # exact where RS = 0
    if np.any(RS > 0):
        IS, nvt, bv, nbvt = law.IS, law.nvt, law.bv, law.nbvt
        lo = np.minimum(u, 0.0)
        hi = np.maximum(u, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):  # RS = 0: log1p(inf) = inf, w0 = u; 0/0 unused
            w0 = nvt * np.log1p(np.maximum(u, 0.0) / (RS * IS))
            wb = -(bv + nbvt * np.log1p(np.maximum(-u - bv, 0.0) / (RS * IS)))  # -inf without breakdown
        w = np.where(u > 0, np.minimum(u, w0), np.clip(np.maximum(u, np.where(u < -bv, wb, u)), lo, hi))
        for _ in range(200):
            f, g = law(w)
            h = w + RS * f - u
            lo = np.where(h < 0, w, lo)
            hi = np.where(h > 0, w, hi)
            nxt = w - h / (1.0 + RS * g)
            nxt = np.where((nxt < lo) | (nxt > hi), 0.5 * (lo + hi), nxt)  # stay in the bracket
            step = np.abs(nxt - w)
            done = np.all(step <= np.maximum(1e-16 * (1.0 + np.abs(w)), 2 * np.spacing(np.abs(w))))
            w = nxt
            if done:
                break
    f, g = law(w)
    return f, g / (1.0 + RS * g)


@dataclass(frozen=True)
class Terms:
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
    jlaw: JunctionLaw  # junction laws (placeholders for the soft PWL diodes)
    RS: np.ndarray
    vfwd: np.ndarray
    gx: np.ndarray

    @classmethod
    def of(cls, prob: CDProblem) -> "Terms":
        ja, jc, law, RS = prob.junctions
        sa, sc, vf, gx = prob.soft
        nj, ns = len(ja), len(sa)
        a, c = np.r_[ja, sa], np.r_[jc, sc]
        return cls(a, c, coord_of(prob.coord, a), coord_of(prob.coord, c), np.r_[np.ones(nj, bool), np.zeros(ns, bool)],
                   law.padded(ns), np.r_[RS, np.zeros(ns)], np.r_[np.zeros(nj), vf], np.r_[np.zeros(nj), gx])

    def touching(self, inS: np.ndarray) -> tuple[Terms, np.ndarray, np.ndarray] | None:
        """``(self, anode side, cathode side)``: masks of the terms with an end in the
        coordinates ``inS`` (a mask [m]; not both ends in one coordinate), or None."""
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
            i[:, j], g[:, j] = series_junction(u[:, j], self.jlaw.take(sel).take(j), self.RS[sel][j])
        if (~j).any():
            over = u[:, ~j] - self.vfwd[sel][~j]
            gx = self.gx[sel][~j]
            i[:, ~j] = gx * np.maximum(over, 0.0)
            g[:, ~j] = np.where(over > 0, gx, 0.0)
        return i, g


def newton_1d(c_old: np.ndarray, rhs: np.ndarray, diag: np.ndarray, v_at, pos: np.ndarray,
              touching: tuple[Terms, np.ndarray, np.ndarray], o: np.ndarray, iters: int) -> np.ndarray:
    """Minimise each coordinate's convex 1-D content with its nonlinear terms: Newton on

        F(x) = diag x - rhs + sum_k s_k i_k(u_k),    u_k = s_k x + const,

    an increasing function, from the current value. A step that leaves the bracket
    [lo, hi] known from the signs of F bisects instead; steps into deep forward bias of a
    bare junction, or deep past its breakdown knee, grow u only logarithmically (SPICE's
    pnjlim, :func:`_log_steps`). Piecewise-linear terms end exactly on their segment.

    ``c_old``, ``rhs``: [B, |S|] the colour's coordinates and right-hand sides;
    ``diag``: [|S|]; ``v_at(vars)``: the potentials [B, len(vars)] of those vars (-1:
    ground, 0), only the terms' other ends being read (a colour of a few nodes among
    thousands must not pay for every potential); ``o``:
    [B, n_vars] offsets; ``pos``: [m] position of each coordinate in the colour;
    ``touching``: from :meth:`Terms.touching`; ``iters``: Newton steps at most. Returns
    the new coordinates [B, |S|]."""
    terms, touch_a, touch_c = touching
    # each term touching the colour, once per end in it: u = sign (o_own + x_k - v_other)
    ia, ic = np.flatnonzero(touch_a), np.flatnonzero(touch_c)
    idx = np.r_[ia, ic]
    sign = np.r_[np.ones(len(ia)), -np.ones(len(ic))]
    k = pos[np.r_[terms.ka[ia], terms.kc[ic]]]
    base = o[:, np.r_[terms.a[ia], terms.c[ic]]] - v_at(np.r_[terms.c[ia], terms.a[ic]])
    law = terms.jlaw.take(idx)
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
        lim = np.full(x.shape, np.inf)
        np.minimum.at(lim.T, k, np.where(bare, _log_steps(u, sign * dx[:, k], law), np.inf).T)
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


def _log_steps(u: np.ndarray, du: np.ndarray, law: JunctionLaw) -> np.ndarray:
    """The largest ``|du|`` allowed to a bare junction at ``u`` stepping by ``du`` (inf: any).

    Driven deep into forward bias its voltage grows only logarithmically (SPICE's pnjlim);
    driven deep past its breakdown knee ``-bv`` the mirror image: to the knee, then
    logarithmically beyond it. Behind RS (or for a PWL term) the current grows only
    linearly, and no step is limited."""
    nv, nb = law.nvt, law.nbvt
    with np.errstate(invalid="ignore"):  # bv = inf: never past the knee
        fwd = (u + du > 20 * nv) & (du > 4 * nv)
        old, new = -(u + law.bv), -(u + du + law.bv)  # how far past the knee
        brk = (new > 20 * nb) & (du < -4 * nb)
        to_knee = np.where(old <= 0, nb * np.log1p(np.maximum(new, 0) / nb) - old, nb * np.log1p(np.maximum(-du, 0) / nb))
    return np.where(fwd, nv * np.log1p(np.maximum(du, 0) / nv), np.where(brk, to_knee, np.inf))
