"""The exact DC solver: sparse modified nodal analysis, the reference for every other solver.

The system of one diode state is :class:`~resim.solvers.mna.MNASystem` (its unknowns:
node potentials, then the branch currents of voltage sources, VCVS and ideal diodes); this
module decides the states and the linearisation.

Nonlinear elements:

* piecewise-linear diodes: an active set over the states ``on``/``off``; each state is a
  linear system. All violated diodes flip at once (primal-dual active set); if a state
  repeats, one diode flips at a time, lowest index first (Murty's rule, finite for the
  P-matrix complementarity problems of reciprocal circuits). A solution ends with
  verified complementarity: ``0 <= i - u/Roff``, ``u <= Vfwd``, and their product 0.
* Shockley diodes ``i = IS (exp(u / N Vt) - 1) + gmin u`` (the circuit's gmin, 1e-12 S
  unless ``.options gmin``; below ``-3 N Vt`` ngspice's cubic reverse branch, below the
  breakdown knee its reverse exponential, see :func:`~resim.junction.junction`):
  damped Newton with SPICE's junction-voltage limiting (pnjlim, mirrored at the knee in
  breakdown); on failure gmin stepping, then source stepping.

The result carries a :class:`~resim.result.Certificate` (:mod:`resim.solvers.certificate`);
a result whose certificate fails is never returned (:class:`~resim.errors.ConvergenceError`).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from ..compile import CompiledCircuit
from ..elements import ELEMENTS
from ..errors import ConvergenceError, NoSolutionError, TopologyError
from ..result import Result
from .certificate import assemble, checked
from .mna import MNASystem, Singular
from .options import SolverOptions


def _limit(sys_: MNASystem, vnew: np.ndarray, vold: np.ndarray) -> tuple[np.ndarray, bool]:
    """ngspice's junction-voltage limiting (dioload.c): :func:`_pnjlim` of the forward
    exponential, or, for a junction headed below its breakdown knee ``bv`` (past
    ``-bv + 10 NBV Vt``), of the breakdown exponential in the mirrored voltage ``-(u + bv)``."""
    law = sys_.law
    out, limited = _pnjlim(vnew, vold, law.nvt, sys_.vcrit)
    brk = vnew < np.minimum(0.0, -law.bv + 10 * law.nbvt)  # never for bv = inf
    if brk.any():
        bv = np.where(brk, law.bv, 0.0)
        mirrored, limited_brk = _pnjlim(-(vnew + bv), -(vold + bv), law.nbvt, sys_.vcrit)
        out = np.where(brk & limited_brk, -(mirrored + bv), np.where(brk, vnew, out))
        limited = (limited & ~brk) | (limited_brk & brk)
    return out, bool(limited.any())


def _pnjlim(vnew: np.ndarray, vold: np.ndarray, vt: np.ndarray, vcrit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SPICE3's junction-voltage limiting: tame exponential overshoot of a Newton step.
    Returns the limited voltages and the mask of those limited."""
    big = (vnew > vcrit) & (np.abs(vnew - vold) > 2 * vt)
    if not big.any():
        return vnew, big
    out = vnew.copy()
    pos = big & (vold > 0)
    arg = 1 + (vnew - vold) / vt
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(pos & (arg > 0), vold + vt * np.log(np.where(arg > 0, arg, 1.0)), out)
        out = np.where(pos & (arg <= 0), vcrit, out)
        neg = big & ~(vold > 0)
        out = np.where(neg, vt * np.log(np.maximum(vnew / vt, 1e-300)), out)
    return out, big


def _newton(sys_: MNASystem, on: np.ndarray, u0: np.ndarray, gshunt: float, alpha: float,
            max_iter: int) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Damped Newton on the Shockley junctions for fixed PWL state; None if it fails."""
    sh = sys_.cc.shockley
    u = u0.copy()
    if len(sh.index) == 0:
        return sys_.solve(on, u, 0.0, alpha), u, 1
    # Once Newton is in its quadratic regime (steps far below N Vt), a step that fails to
    # halve the previous one is rounding noise: ill-conditioned systems (a tiny junction
    # conductance behind a series RS) never get below 1e-12 relative. The certificate
    # still checks the answer.
    floor = 1e-3 * float(np.min(np.minimum(sys_.law.nvt, sys_.law.nbvt)))
    prev = math.inf
    for it in range(1, max_iter + 1):
        x = sys_.solve(on, u, gshunt, alpha)
        vv = sys_.volts(x)
        unew = vv[sh.a] - vv[sh.b]
        if not np.all(np.isfinite(unew)):
            return None
        ulim, limited = _limit(sys_, unew, u)
        step = np.max(np.abs(ulim - u)) if len(u) else 0.0
        u = ulim
        stalled = step <= floor and step >= 0.5 * prev
        if not limited and (step <= 1e-13 + 1e-12 * np.max(np.abs(u)) or stalled):
            return sys_.solve(on, u, gshunt, alpha), u, it + 1
        prev = step if not limited else math.inf
    return None


def _nonlinear(sys_: MNASystem, on: np.ndarray, u0: np.ndarray, opts: SolverOptions):
    """Newton; if it fails, gmin stepping; if that fails, source stepping.

    *gmin stepping* shunts every junction with ``gshunt = 1e-2 ... 1e-12, 0`` S, each stage
    warm-started from the last (it cures ill-conditioning). *Source stepping* ramps all
    independent sources from 0 to their values, doubling the step after a success and
    quartering it after a failure (it cures strong nonlinearity: at small sources the
    junctions barely conduct). Returns ``(x, u, iterations)``; raises ConvergenceError.
    """
    out = _newton(sys_, on, u0, 0.0, 1.0, opts.max_newton)
    if out is not None:
        return out
    u, total = u0.copy(), opts.max_newton
    for gshunt in [10.0 ** -k for k in range(2, 13)] + [0.0]:
        out = _newton(sys_, on, u, gshunt, 1.0, opts.max_newton)
        if out is None:
            break
        _, u, it = out
        total += it
    else:
        return out[0], out[1], total
    u, alpha, step = np.zeros_like(u0), 0.0, 0.1
    while alpha < 1.0:
        target = min(1.0, alpha + step)
        out = _newton(sys_, on, u, 0.0, target, opts.max_newton)
        if out is None:
            step /= 4
            if step < 1e-7:
                _fail(sys_)
            continue
        _, u, it = out
        total += it
        alpha, step = target, step * 2
    return out[0], out[1], total


def _fail(sys_: MNASystem):
    raise ConvergenceError(
        "Shockley-diode Newton iteration did not converge (also with gmin and source stepping)",
        hint="check diode models for extreme values (tiny N or IS), or add series resistance RS",
    )


def solve_exact(cc: CompiledCircuit, options: SolverOptions | None = None) -> Result:
    """The DC operating point of ``cc`` by sparse MNA (see the module docstring), certified
    at ``options.certificate_rtol``; options of coordinate descent only are refused
    (:class:`~resim.solvers.options.SolverOptionsError`)."""
    opts = options or SolverOptions()
    opts.check_for("exact")
    t0 = time.perf_counter()
    sys_ = MNASystem(cc)
    nd = len(cc.pwl.index)
    u_sh = np.zeros(len(cc.shockley.index))
    on = np.zeros(nd, bool)
    seen: set[bytes] = set()
    single = False
    iterations = 0
    seen_scale = [0.0, 0.0]  # the largest voltage and branch current of any state tried so far
    for _ in range(opts.max_active_set + 1):
        try:
            x, u_sh, it = _nonlinear(sys_, on, u_sh, opts)
        except Singular:
            from .diagnose import outlets, parallel_ideal

            seen.add(on.tobytes())
            nxt = outlets(cc, on)  # ideal diodes that could carry a floating group's current
            if nxt is None or nxt.tobytes() in seen:
                parallel_ideal(cc, on)  # one node pair held at one voltage twice: the split is not determined
                nxt = _one_off(cc, on, seen)  # conducting diodes that contradict each other
            if nxt is None:
                _singular(cc, on)
            on = nxt
            continue
        iterations += it
        viol = _pwl_violations(sys_, x, on, seen_scale)
        if not viol.any():
            break
        seen.add(on.tobytes())
        nxt = on ^ viol  # primal-dual active set: flip every violated diode
        if single or nxt.tobytes() in seen:
            # a cycle: from here on Murty's least-index rule, one flip at a time (finite
            # for the P-matrix problems of reciprocal circuits)
            single = True
            nxt = on.copy()
            k = np.flatnonzero(viol)[0]
            nxt[k] = not nxt[k]
        on = nxt
    else:
        raise ConvergenceError(
            f"the diode active set did not settle after {opts.max_active_set} changes",
            hint="the circuit may have no unique solution (non-reciprocal elements with ideal diodes)",
        )
    result = assemble(cc, sys_, x, on, "exact", iterations)
    result = checked(result, opts.certificate_rtol)
    return replace(result, timings={"solve": time.perf_counter() - t0})


def _pwl_violations(sys_: MNASystem, x: np.ndarray, on: np.ndarray, seen_scale: list[float]) -> np.ndarray:
    """The diodes whose state ``on`` the solution ``x`` contradicts: off but forward-biased
    beyond Vfwd, or on (and not ideal) below it; ideal and on but carrying negative current.

    The tolerances are 1e-12 of the largest voltage (current) of this state *or of any state
    tried before* (``seen_scale``, updated here): at a solution where every voltage is 0 up
    to rounding (a current source circulating through a conducting ideal diode), a tolerance
    relative to this state's voltages alone is about 1e-30, and rounding noise of 1e-19 V
    flipped a diode on and off forever (found by hypothesis)."""
    cc = sys_.cc
    vv = sys_.volts(x)
    u = vv[cc.pwl.a] - vv[cc.pwl.b]
    vf = cc.pwl_vfwd
    seen_scale[0] = max(seen_scale[0], float(np.max(np.abs(vv))) if len(vv) else 0.0)
    if len(x) > sys_.nv:
        seen_scale[1] = max(seen_scale[1], float(np.max(np.abs(x[sys_.nv:]))))
    # relative to the circuit's own voltages, never looser than the certificate's tolerance
    scale = 1e-12 * seen_scale[0]
    viol = (~on) & (u > vf + scale)
    soft = ~cc.ideal
    viol |= on & soft & (u < vf - scale)
    if sys_.nD:
        d = sys_.ideal
        lam = x[sys_.colD] - cc.pwl_goff[d] * u[d]
        iscale = 1e-12 * max(1e-12, seen_scale[1])
        viol[d] |= on[d] & (lam < -iscale)
    return viol


def _one_off(cc: CompiledCircuit, on: np.ndarray, seen: set[bytes]) -> np.ndarray | None:
    """A state not tried yet with one conducting ideal diode of ``on`` turned off, or None.

    All violated diodes flip at once; two that turned on together can pin one node to two
    potentials (``D0 n4 0`` and ``D1 n4 n1`` with ``v(n1) = -0.5``): a singular state, though
    turning one of them off again solves the circuit. Only when every such state has been
    tried is the circuit without a solution."""
    for k in np.flatnonzero(cc.ideal & on)[::-1]:  # the most recently numbered first
        nxt = on.copy()
        nxt[k] = False
        if nxt.tobytes() not in seen:
            return nxt
    return None


def _singular(cc: CompiledCircuit, on: np.ndarray):
    """Raise the error that says why state ``on``'s system is singular, naming elements."""
    from .diagnose import cancelling_resistances, explain_singular, parallel_ideal

    explain_singular(cc, on)  # floating groups: no solution, or an undetermined voltage
    ideal_on = np.flatnonzero(cc.ideal & on)
    branch = [(kind, k) for kind, rec in cc.linear.items() if ELEMENTS[kind].linear.branch for k in range(len(rec))]
    cancelling_resistances(cc, on, fallback=not len(ideal_on) and not branch)  # negative resistances
    c = cc.circuit
    if len(ideal_on):
        names = [c["d"].names[cc.pwl.index[k]] for k in ideal_on]
        parallel_ideal(cc, on)
        location, line = c.where("d", int(cc.pwl.index[ideal_on[0]]))
        raise NoSolutionError(
            "no solution: ideal diode(s) " + ", ".join(names[:8]) + " must conduct but are held at a "
            "different voltage by sources (a forward-biased ideal diode across a voltage source)",
            location=location,
            source_line=line,
            hint="add resistance in series with the diode (Ron > 0) or with the source",
        )
    if not branch:  # no floating group, no conducting diode, no E: the numbers, not the topology
        from .certificate import out_of_range

        raise out_of_range(cc)
    named = ", ".join(c[kind].names[k] for kind, k in branch[:6])
    letters_ = "".join(sorted({kind.upper() for kind, _ in branch}))
    location, line = c.where(*branch[0])
    raise TopologyError(
        f"the circuit equations are singular (controlled sources: {named}): e.g. a loop of controlled voltage "
        "sources, or a controlled source whose gain makes its own equation degenerate",
        location=location, source_line=line,
        hint=f"check the {' and '.join(letters_)} elements' connections and gains",
    )
