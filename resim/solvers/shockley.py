"""The Shockley junction law, as ngspice 39's level-1 diode evaluates it at DC: the one
nonlinear element law every solver shares (the MNA stamps, coordinate descent's 1-D laws,
the certificate's currents).

:func:`junction` is the bare law, :func:`breakdown_knee` the knee voltage ngspice derives
from ``BV`` and ``IBV``, and :class:`JunctionLaw` the per-diode parameters with the
circuit's ``gmin`` shunt, as the solvers evaluate them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..circuit import DEFAULT_GMIN

GMIN = DEFAULT_GMIN  # conductance across each Shockley junction (S) unless `.options gmin` says otherwise
# ngspice stops matching the breakdown current at CKTreltol; resim matches at the tight reltol
# its ngspice comparisons use (the difference is (IS/IBV)^2 relative: nil for real diodes)
BREAKDOWN_RELTOL = 1e-9
EXP_MAX = 700.0  # largest exponent evaluated (exp(700) ~ 1e304)


def junction(u: np.ndarray, IS: np.ndarray, nvt: np.ndarray, bv: np.ndarray | float = math.inf,
             nbvt: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
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
    """
    fwd = u >= -3.0 * nvt
    ex = np.exp(np.minimum(u / nvt, EXP_MAX))
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = (3.0 * nvt / (np.e * np.where(fwd, -1.0, u))) ** 3
        i = np.where(fwd, IS * np.expm1(np.minimum(u / nvt, EXP_MAX)), -IS * (1.0 + arg))
        g = np.where(fwd, IS * ex / nvt, IS * 3.0 * arg / np.where(fwd, -1.0, u))
    brk = ~fwd & (u < -bv)
    if brk.any():
        evrev = np.exp(np.minimum(-(bv + u) / nbvt, EXP_MAX))
        i = np.where(brk, -IS * evrev, i)
        g = np.where(brk, IS * evrev / nbvt, g)
    return i, g


def breakdown_knee(BV: float, IBV: float, IS: float, NBV: float, vt: float,
                   reltol: float = BREAKDOWN_RELTOL) -> float:
    """ngspice's ``tBrkdwnV`` (diotemp.c): the voltage ``xbv`` of the breakdown law
    ``i = -IS exp(-(xbv + u) / NBV Vt)`` that makes the reverse current ``IBV`` at
    ``u = -BV`` (``IS`` and ``IBV`` scaled by the instance already):

        IS (exp((BV - xbv) / NBV Vt) - 1 + xbv / Vt) = IBV,

    solved by ngspice's fixed-point iteration (25 steps at most, stopping at ``reltol``
    IBV). An ``IBV`` below ``IS BV / Vt`` cannot be matched: the knee is ``BV`` itself.
    """
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
    (``N Vt``), ``bv`` (the breakdown knee, ``inf`` for none) and ``nbvt`` (``NBV Vt``)."""

    IS: np.ndarray
    nvt: np.ndarray
    bv: np.ndarray
    nbvt: np.ndarray
    gmin: float = GMIN

    def __call__(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current and conductance at junction voltages ``u`` (gmin included)."""
        i, g = junction(u, self.IS, self.nvt, self.bv, self.nbvt)
        return i + self.gmin * u, g + self.gmin

    def __len__(self) -> int:
        return len(self.IS)

    def take(self, k: np.ndarray) -> "JunctionLaw":
        """The law of junctions ``k`` (indices or a mask)."""
        return JunctionLaw(self.IS[k], self.nvt[k], self.bv[k], self.nbvt[k], self.gmin)

    @property
    def vcrit(self) -> np.ndarray:
        """SPICE's critical voltage ``N Vt log(N Vt / (sqrt 2 IS))``, where junction-voltage
        limiting starts."""
        return self.nvt * np.log(self.nvt / (math.sqrt(2) * np.maximum(self.IS, 1e-300)))

    @property
    def breaks_down(self) -> np.ndarray:
        """Mask of the junctions with a breakdown knee."""
        return np.isfinite(self.bv)
