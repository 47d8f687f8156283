"""The Shockley junction law, as ngspice 39's level-1 diode evaluates it at DC: the one
nonlinear element law every solver shares (the MNA stamps, coordinate descent's 1-D laws,
the certificate's currents).

:func:`junction` is the bare law, :func:`breakdown_knee` the knee voltage ngspice derives
from ``BV`` and ``IBV``, and :class:`JunctionLaw` the per-diode parameters with the
circuit's ``gmin`` shunt, as the solvers evaluate them. Real diode models add ngspice's
recombination current (``ISR``, :func:`recombination`) and high-injection knees (``IKF``,
``IKR``, :func:`knee`): both are part of :func:`junction`.

Device physics, below the element graph: this module imports nothing of resim, and the
circuit, its compilation and the solvers all read it (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

DEFAULT_GMIN = 1e-12  # S across each Shockley junction, as ngspice (`.options gmin=` changes it)
GMIN = DEFAULT_GMIN
# ngspice stops matching the breakdown current at CKTreltol; resim matches at the tight reltol
# its ngspice comparisons use (the difference is (IS/IBV)^2 relative: nil for real diodes)
BREAKDOWN_RELTOL = 1e-9
EXP_MAX = 700.0  # largest exponent evaluated (exp(700) ~ 1e304)


def junction(u: np.ndarray, IS: np.ndarray, nvt: np.ndarray, bv: np.ndarray | float = math.inf,
             nbvt: np.ndarray | float = 1.0, high: "HighLevel | None" = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Junction current and conductance, as ngspice 39 evaluates them (dioload.c).

    .. math::

        i(u) = IS (e^{u / N V_t} - 1)                 \quad u \ge -3 N V_t
        i(u) = -IS (1 + (3 N V_t / (e\,u))^3)          \quad -BV \le u < -3 N V_t
        i(u) = -IS e^{-(BV + u) / NBV V_t}             \quad u < -BV

    The reverse branch approaches ``-IS`` by a cubic instead of the exponential; the two
    meet with equal value and slope at ``-3 N V_t``, so ``i`` stays increasing (the
    co-content stays convex). Below the breakdown knee ``bv`` (ngspice's ``tBrkdwnV``, see
    :func:`breakdown_knee`; ``inf``: no breakdown) the current grows exponentially again,
    with ``nbvt = NBV V_t``; at the knee the law steps by ``IS (3 N V_t / (e\,BV))^3``
    (``1e-7 IS`` at 5 V), as ngspice's. gmin is added by the caller.

    ``high`` (:class:`HighLevel`) adds, where given, the recombination current to the
    forward branch (``u >= -3 N V_t`` only, as ngspice: the law steps down there) and then
    divides by the knee factors (:func:`knee`).
    """
    fwd = u >= -3.0 * nvt
    ex = np.exp(np.minimum(u / nvt, EXP_MAX))
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = 3.0 * nvt / (np.e * np.where(fwd, -1.0, u))
        arg = arg * arg * arg  # as ngspice cubes it; numpy's ** 3 is a general pow, 20x slower here
        i = np.where(fwd, IS * np.expm1(np.minimum(u / nvt, EXP_MAX)), -IS * (1.0 + arg))
        g = np.where(fwd, IS * ex / nvt, IS * 3.0 * arg / np.where(fwd, -1.0, u))
    brk = ~fwd & (u < -bv)
    if brk.any():
        evrev = np.exp(np.minimum(-(bv + u) / nbvt, EXP_MAX))
        i = np.where(brk, -IS * evrev, i)
        g = np.where(brk, IS * evrev / nbvt, g)
    if high is not None:
        i, g = high.apply(u, fwd, i, g)
    return i, g


def recombination(u: np.ndarray, isr: np.ndarray, nrvt: np.ndarray, vj: np.ndarray,
                  mj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""ngspice's recombination current and its conductance (dioload.c, ``ISR`` given):

    .. math::

        i_r(u) = ISR (e^{u / NR V_t} - 1) \left((1 - u/V_J)^2 + 0.005\right)^{M/2}

    (``VJ`` and ``M`` at temperature). The conductance is the true derivative (ngspice's
    omits a factor ``1/VJ`` in the second term: that changes its Newton steps, not its answer).
    """
    x = 1.0 - u / vj
    t1 = x * x + 0.005
    factor = t1 ** (0.5 * mj)
    dfactor = -(mj / vj) * x * t1 ** (0.5 * mj - 1.0)
    arg = np.minimum(u / nrvt, EXP_MAX)
    bare = isr * np.expm1(arg)
    return bare * factor, isr * np.exp(arg) / nrvt * factor + bare * dfactor


KNEE_FLOOR = 1e-18  # A: ngspice applies IKF only above this current, IKR only below its negative


def knee(i: np.ndarray, g: np.ndarray, ik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """High injection: ``i / (1 + sqrt(i / ik))`` and its conductance (``i`` and ``ik`` of one
    sign; ``ik = inf``: unchanged)."""
    s = np.sqrt(i / ik)
    return i / (1.0 + s), g * (1.0 + 0.5 * s) / (1.0 + s) ** 2


@dataclass(frozen=True)
class HighLevel:
    """ngspice's additions to the level-1 junction of real diode models, one entry per
    junction: the recombination current (``isr`` with area applied, 0: none; ``nrvt`` =
    ``NR Vt``; ``vj``, ``mj`` its junction potential and grading coefficient) and the knee
    currents ``ikf``, ``ikr`` (area applied; ``inf``: none)."""

    isr: np.ndarray
    nrvt: np.ndarray
    vj: np.ndarray
    mj: np.ndarray
    ikf: np.ndarray
    ikr: np.ndarray

    def apply(self, u: np.ndarray, fwd: np.ndarray, i: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The junction's current and conductance ``i``, ``g`` at ``u`` (``fwd``: ``u >= -3 N
        Vt``) with the recombination current and the knees, in ngspice's order."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if np.any(self.isr > 0):
                ir, gr = recombination(u, self.isr, self.nrvt, self.vj, self.mj)
                rec = fwd & (self.isr > 0)
                i, g = np.where(rec, i + ir, i), np.where(rec, g + gr, g)
            fk = fwd & (i > KNEE_FLOOR) & np.isfinite(self.ikf)
            rk = ~fwd & (i < -KNEE_FLOOR) & np.isfinite(self.ikr)
            if fk.any() or rk.any():
                ik = np.where(fk, self.ikf, np.where(rk, -self.ikr, np.inf))
                ik_i, ik_g = knee(i, g, ik)
                i, g = np.where(fk | rk, ik_i, i), np.where(fk | rk, ik_g, g)
        return i, g

    @property
    def increasing(self) -> np.ndarray:
        """Mask of the junctions whose law stays increasing: without recombination current and
        reverse knee (each makes ngspice's law step down at ``-3 N Vt``). ``IKF`` keeps it
        increasing (but for a step of ``1e-18 sqrt(1e-18 / IKF)`` A at the floor)."""
        return (self.isr == 0) & ~np.isfinite(self.ikr)

    def take(self, k: np.ndarray) -> "HighLevel":
        return HighLevel(*(getattr(self, f.name)[k] for f in fields(self)))

    @staticmethod
    def none(n: int) -> "HighLevel":
        """``n`` junctions without any of it."""
        return HighLevel(np.zeros(n), np.ones(n), np.ones(n), np.full(n, 0.5), np.full(n, np.inf), np.full(n, np.inf))

    def extended(self, other: "HighLevel") -> "HighLevel":
        return HighLevel(*(np.r_[getattr(self, f.name), getattr(other, f.name)] for f in fields(self)))


def breakdown_knee(BV: float, IBV: float, IS: float, NBV: float, vt: float,
                   reltol: float = BREAKDOWN_RELTOL) -> float:
    """ngspice's ``tBrkdwnV`` (diotemp.c): the voltage ``xbv`` of the breakdown law
    ``i = -IS exp(-(xbv + u) / NBV Vt)`` that makes the reverse current ``IBV`` at
    ``u = -BV`` (``IS`` and ``IBV`` scaled by the instance already):

        IS (exp((BV - xbv) / NBV Vt) - 1 + xbv / Vt) = IBV,

    solved by ngspice's fixed-point iteration (25 steps at most, stopping at ``reltol``
    IBV). An ``IBV`` below ``IS BV / Vt`` cannot be matched: the knee is ``BV`` itself.
    (In Python floats: at an absurd temperature ``IS BV / Vt`` overflows to ``inf``, without
    numpy's warning.)
    """
    BV, IBV, IS, NBV, vt = float(BV), float(IBV), float(IS), float(NBV), float(vt)
    if IBV < IS * BV / vt:
        return BV
    nbvt = NBV * vt
    xbv = BV - nbvt * math.log1p(IBV / IS)
    for _ in range(25):
        arg = IBV / IS + 1.0 - xbv / vt
        if not arg > 0.0:
            return math.nan
        xbv = BV - nbvt * math.log(arg)
        xcbv = IS * (math.exp(min((BV - xbv) / nbvt, EXP_MAX)) - 1.0 + xbv / vt)
        if abs(xcbv - IBV) <= reltol * IBV:
            break
    return xbv


@dataclass(frozen=True)
class JunctionLaw:
    """The DC law of a set of Shockley junctions, one entry per junction, with the
    circuit's ``gmin`` across each (what ngspice adds): ``IS`` (area applied), ``nvt``
    (``N Vt``), ``bv`` (the breakdown knee, ``inf`` for none), ``nbvt`` (``NBV Vt``) and
    ``high`` (:class:`HighLevel`: recombination current and knee currents; None: none)."""

    IS: np.ndarray
    nvt: np.ndarray
    bv: np.ndarray
    nbvt: np.ndarray
    gmin: float = GMIN
    high: HighLevel | None = None

    def __call__(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current and conductance at junction voltages ``u`` (gmin included)."""
        i, g = junction(u, self.IS, self.nvt, self.bv, self.nbvt, self.high)
        return i + self.gmin * u, g + self.gmin

    def __len__(self) -> int:
        return len(self.IS)

    def take(self, k: np.ndarray) -> "JunctionLaw":
        """The law of junctions ``k`` (indices or a mask)."""
        high = None if self.high is None else self.high.take(k)
        return JunctionLaw(self.IS[k], self.nvt[k], self.bv[k], self.nbvt[k], self.gmin, high)

    def padded(self, n: int) -> "JunctionLaw":
        """This law and ``n`` placeholder junctions after it (``IS = N Vt = 1``, nothing more)."""
        ones = np.ones(n)
        high = None if self.high is None else self.high.extended(HighLevel.none(n))
        return JunctionLaw(np.r_[self.IS, ones], np.r_[self.nvt, ones], np.r_[self.bv, np.full(n, np.inf)],
                           np.r_[self.nbvt, ones], self.gmin, high)

    @property
    def vcrit(self) -> np.ndarray:
        """SPICE's critical voltage ``N Vt log(N Vt / (sqrt 2 IS))``, where junction-voltage
        limiting starts."""
        return self.nvt * np.log(self.nvt / (math.sqrt(2) * np.maximum(self.IS, 1e-300)))

    @property
    def increasing(self) -> np.ndarray:
        """Mask of the junctions whose law increases with ``u`` (:attr:`HighLevel.increasing`)."""
        return np.ones(len(self), bool) if self.high is None else self.high.increasing
