"""The Shockley junction law, as ngspice 39 evaluates it: the one nonlinear element law
every solver shares (the MNA stamps, coordinate descent's 1-D laws, the certificate's
currents).

The solvers add ``GMIN`` in parallel with each junction, as ngspice does.
"""

from __future__ import annotations

import numpy as np

GMIN = 1e-12  # conductance across each Shockley junction (S), as ngspice


def junction(u: np.ndarray, IS: np.ndarray, nvt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Shockley junction current and conductance, as ngspice 39 evaluates them (dioload.c).

    .. math::

        i(u) = IS (e^{u / N V_t} - 1)                 \quad u \ge -3 N V_t
        i(u) = -IS (1 + (3 N V_t / (e\,u))^3)          \quad u < -3 N V_t

    The reverse branch approaches ``-IS`` by a cubic instead of the exponential; the two
    meet with equal value and slope at ``-3 N V_t``, so ``i`` stays increasing (the
    co-content stays convex). gmin is added by the caller.
    """
    fwd = u >= -3.0 * nvt
    ex = np.exp(np.minimum(u / nvt, 700.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = (3.0 * nvt / (np.e * np.where(fwd, -1.0, u))) ** 3
        i = np.where(fwd, IS * np.expm1(np.minimum(u / nvt, 700.0)), -IS * (1.0 + arg))
        g = np.where(fwd, IS * ex / nvt, IS * 3.0 * arg / np.where(fwd, -1.0, u))
    return i, g
