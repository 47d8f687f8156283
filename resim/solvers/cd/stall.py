"""Stall handling: coordinate descent that will not get there, told early.

Two kinds of stall:

* the sweeps contract too slowly: at the rate ``lam`` observed over the last
  :data:`STALL_WINDOW` sweeps (:func:`projected_sweeps`) the tolerance would not be met
  within the sweep budget (:func:`check_stall`; e.g. a floating Shockley bridge whose
  common mode hangs on 1 Meg contracts by 1 - 1.5e-6 a sweep);
* the sweeps reach a fixed point that fails the certificate: a conducting ideal diode
  between two free coordinates bounds each by the other, and no single-coordinate move
  can go on (docs/theory.md §2's example, stuck at (1 V, 1 V)). Such diodes are *tied* (held at u = Vfwd
  like voltage sources, so their clusters move as blocks) and untied when their current
  turns negative (:func:`retie`).
"""

from __future__ import annotations

import numpy as np

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


def check_stall(steps: list[float], sweep: int, target: float, limit: int,
                hopeless: int) -> tuple[int, str | None]:
    """The stall check after ``sweep`` sweeps with step sizes ``steps`` (the last one this
    sweep's): every ``STALL_WINDOW / 2`` sweeps from :data:`STALL_MIN_SWEEPS` on, the sweeps
    still needed to meet ``target`` are projected (:func:`projected_sweeps`); more than are
    left (``limit - sweep``) at two checks in a row is a stall. Returns the count of such
    checks in a row (``hopeless``, updated) and why the sweeps stalled, or None."""
    if sweep < STALL_MIN_SWEEPS or sweep % (STALL_WINDOW // 2) != 0:
        return hopeless, None
    lam, needed = projected_sweeps(steps, target)
    hopeless = hopeless + 1 if needed > limit - sweep else 0
    if hopeless < 2:
        return hopeless, None
    rate = "the steps do not shrink" if lam >= 1.0 else f"the step shrinks by {1.0 - lam:.2g} per sweep"
    return hopeless, (f"coordinate descent stalled after {sweep} sweeps ({rate}, "
                      f"{steps[-1]:.2g} V; the tolerance would need {needed:.3g} more sweeps, {limit - sweep} left)")


def retie(u: np.ndarray, vfwd: np.ndarray, current: np.ndarray, tied: np.ndarray, between: np.ndarray,
          scale: float) -> np.ndarray:
    """The ideal diodes to tie next: those ``between`` two free coordinates that sit at their
    bound (``u >= Vfwd`` to ``1e-9 scale``), less the tied ones whose current turned
    negative (below ``-1e-12`` of the largest). ``u``, ``vfwd``, ``current``, ``tied``,
    ``between``: per ideal diode."""
    untie = tied & (current < -1e-12 * (1 + np.abs(current).max()))
    return between & (u >= vfwd - 1e-9 * scale) & ~untie
