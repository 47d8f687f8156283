"""The DC operating point by coordinate descent, accepted only through the certificate
(:func:`solve_cd`).

One relaxation (:func:`~resim.solvers.cd.kernel.relax`) from zero or a warm start; its
potentials are laid out as the unknowns of the MNA system (branch currents of sources and
conducting ideal diodes by least squares on KCL, :func:`_branch_currents`) and go through
the same certificate as the exact solver's answers
(:func:`~resim.solvers.certificate.assemble`). A fixed point that fails it where ideal
diodes join free coordinates is a stall: those diodes are tied and the sweeps resume
(:func:`_tied_rounds`, :mod:`resim.solvers.cd.stall`). What that does not settle, sweeps
that stall, and nodes held only by ideal diodes (:class:`~resim.solvers.cd.problem.Unanchored`)
go to the exact solver (``method = "cd+exact"``, with the reason); nothing uncertified is
returned.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ...compile import CompiledCircuit
from ...errors import ConvergenceError
from ...result import Result
from ..certificate import assemble, ohmic_current
from ..diagnose import parallel_ideal
from ..exact import solve_exact
from ..mna import MNASystem
from ..options import SolverOptions
from .kernel import relax
from .problem import CDProblem, Unanchored, coupled_diodes, prepare, right_hand_side
from .stall import retie


def solve_cd(cc: CompiledCircuit, options: SolverOptions | None = None, c0: np.ndarray | None = None,
             v0: np.ndarray | None = None) -> Result:
    """The DC operating point by coordinate descent, verified by the exact certificate.

    A fixed point that fails the certificate where ideal diodes join free coordinates is a
    stall: the clusters those diodes join move as blocks (:func:`_tied_rounds`) and the
    sweeps resume, up to ``options.cluster_rounds`` times. What still fails goes to the
    exact solver, reported as ``method = "cd+exact"`` (or the exact solver's error);
    running out of sweeps raises :class:`ConvergenceError`.

    The start is ``c0`` (coordinates, [1, m]), or ``v0`` (node voltages in
    ``cc.circuit.nodes`` order, e.g. an earlier result), or zero.

    The sweeps run at ``options.precision`` and the answer is certified at that precision's
    tolerance (``options.certificate_rtol``); it reports ``options.cd_method`` ("cd", or
    "cd-float32"). Options of the exact solver only are refused
    (:class:`~resim.solvers.options.SolverOptionsError`).
    """
    opts = options or SolverOptions()
    opts.check_for("cd")
    t0 = time.perf_counter()
    try:
        prob = prepare(cc)
    except Unanchored as exc:  # only the active set can tell whether a diode pins them
        return replace(solve_exact(cc), method="cd+exact", iterations=0,
                       method_reason=f"{exc.message}; handed over to the exact solver",
                       timings={"solve": time.perf_counter() - t0})
    E = cc.vsources.value[None, :]
    I = cc.isources.value[None, :]
    if v0 is not None and c0 is None:
        v_var = np.zeros(cc.n_vars)
        known = cc.var >= 0
        v_var[cc.var[known]] = v0[known]
        o, _ = right_hand_side(prob, E, I)
        c0 = v_var[prob.anchor][None, :] - o[:, prob.anchor]
    sys_ = MNASystem(cc)
    # float32 sweeps are certified at float32's own precision, and the result says so
    rtol = opts.certificate_rtol
    v, c, sweeps, converged, stalled = relax(prob, E, I, opts, c0)
    result = _certified(cc, sys_, v, sweeps)
    coupled = bool(coupled_diodes(prob).any())
    if coupled and converged and not result.certificate.ok(rtol):
        v, sweeps, result, converged, stalled = _tied_rounds(cc, prob, E, I, opts, sys_, rtol, v, sweeps, result)
    if result.certificate.ok(rtol):
        # voltages are unique, but not how parallel conducting ideal diodes share a current:
        # refused as the exact solver refuses it
        current = result.currents["d"][cc.pwl.index]
        parallel_ideal(cc, np.abs(current) > 1e-12 * (1.0 + np.max(np.abs(current), initial=0.0)))
        return replace(result, method=opts.cd_method, timings={"solve": time.perf_counter() - t0})
    if converged or coupled or stalled:
        # A fixed point that still fails the certificate (a stall the cluster moves did
        # not resolve, or a constraint no coordinate can meet: an ideal diode
        # forward-biased across sources), or sweeps that stalled: the exact solver
        # settles it, or raises the error that names it.
        fallback = solve_exact(cc)
        why = stalled or ("the fixed point failed the certificate" if converged else
                          "ideal diodes between free nodes kept the sweeps from converging")
        return replace(fallback, method="cd+exact", iterations=sweeps, method_reason=f"{why}; handed over to the exact solver",
                       timings={"solve": time.perf_counter() - t0})
    what = f"{sweeps} fixed sweeps did not reach" if opts.sweeps else f"did not converge in {sweeps} sweeps to"
    raise ConvergenceError(
        f"coordinate descent {what} a certified solution: "
        + ", ".join(f"{k}={val:.3g}" for k, val in result.certificate.as_dict().items()),
        hint="give more sweeps (--sweeps / --max-sweeps), or use --method exact",
    )


def _certified(cc: CompiledCircuit, sys_: MNASystem, v: np.ndarray, sweeps: int) -> Result:
    """The result of potentials ``v`` [1, n_vars] after ``sweeps`` sweeps, with its certificate."""
    vscale = 1.0 + float(np.max(np.abs(v), initial=0.0))
    x, on = _branch_currents(cc, sys_, v[0].astype(float), 1e-9 * vscale)
    return assemble(cc, sys_, x, on, "cd", sweeps)


def _tied_rounds(cc: CompiledCircuit, prob: CDProblem, E: np.ndarray, I: np.ndarray, opts: SolverOptions,
                 sys_: MNASystem, rtol: float, v: np.ndarray, sweeps: int,
                 result: Result) -> tuple[np.ndarray, int, Result, bool, str | None]:
    """A stall at a fixed point (see :mod:`resim.solvers.cd.stall`): tie the conducting ideal
    diodes between free coordinates (their clusters then move as blocks), untie those whose
    current turns negative (:func:`~resim.solvers.cd.stall.retie`), and relax again from
    ``v``, until certified, for at most ``opts.cluster_rounds`` rounds and the sweeps left.
    Returns ``(v, sweeps, result, converged, stalled)`` after the last round."""
    da, dc, vf = prob.diodes
    between = coupled_diodes(prob)
    ideal_rows = np.flatnonzero(cc.ideal)
    tied = np.zeros(len(da), bool)
    converged, stalled = True, None
    for _ in range(opts.cluster_rounds):
        scale = 1.0 + float(np.max(np.abs(v), initial=0.0))
        current = result.currents["d"][cc.pwl.index[ideal_rows]]
        nxt = retie(v[0, da] - v[0, dc], vf, current, tied, between, scale)
        if np.array_equal(nxt, tied):
            break
        tied = nxt
        prob = prepare(cc, tied)
        o, _ = right_hand_side(prob, E, I)
        if opts.sweeps is None and sweeps >= opts.sweep_limit:
            break  # the budget is for the whole solve, tied rounds included
        budget = opts if opts.sweeps is not None else replace(opts, max_sweeps=opts.sweep_limit - sweeps)
        v, c, more, converged, stalled = relax(prob, E, I, budget, (v[:, prob.anchor] - o[:, prob.anchor]))
        sweeps += more
        result = _certified(cc, sys_, v, sweeps)
        if result.certificate.ok(rtol) or not converged:
            break
    return v, sweeps, result, converged, stalled


def _branch_currents(cc: CompiledCircuit, sys_: MNASystem, v: np.ndarray,
                     tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Solution vector ``x`` of ``sys_`` for :func:`~resim.solvers.certificate.assemble` from
    the potentials ``v`` [n_vars]: voltage-source and active ideal-diode currents by least
    squares on KCL (exact at a solution), and the diode state."""
    import scipy.sparse.linalg as spla

    n = cc.n_vars
    vv = np.append(v, 0.0)
    r = np.zeros(n + 1)  # current leaving each var through known elements; [n] = ground

    def leave(a, b, i):
        np.add.at(r, a, i)
        np.subtract.at(r, b, i)  # add.at(-i) to the bit, without the copy

    R, RS = cc.resistors, cc.shockley_rs
    leave(R.a, R.b, ohmic_current(vv, R))
    leave(RS.a, RS.b, ohmic_current(vv, RS))
    I = cc.isources
    leave(I.a, I.b, I.value)
    sh = cc.shockley
    u = vv[sh.a] - vv[sh.b]
    leave(sh.a, sh.b, cc.shockley_law(u)[0])
    d = cc.pwl
    ud = vv[d.a] - vv[d.b]
    ideal = cc.ideal
    active = ideal & (ud >= cc.pwl_vfwd - tol)
    known = ~active  # soft diodes, and ideal ones that are off
    i_known = cc.pwl_goff * ud
    soft = ~ideal
    i_known[soft] += (cc.pwl_gon[soft] - cc.pwl_goff[soft]) * np.maximum(ud[soft] - cc.pwl_vfwd[soft], 0.0)
    leave(d.a[known], d.b[known], i_known[known])
    # unknown branch currents: voltage sources and active ideal diodes
    ba = np.r_[cc.vsources.a, d.a[active]]
    bb = np.r_[cc.vsources.b, d.b[active]]
    k = np.arange(len(ba))
    rows = np.r_[ba, bb]
    cols = np.r_[k, k]
    vals = np.r_[np.ones(len(ba)), -np.ones(len(ba))]
    keep = rows >= 0
    A = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, len(ba)))
    j = np.zeros(len(ba))
    if len(ba):  # normal equations: A^T A is small and nonsingular when the branches form a forest
        try:
            j = spla.splu((A.T @ A).tocsc()).solve(-(A.T @ r[:n]))
        except RuntimeError:  # parallel branches: split undetermined, take the least-norm one
            j = spla.lsqr(A, -r[:n], atol=1e-16, btol=1e-16, iter_lim=10 * len(ba) + 100)[0]
    x = np.zeros(sys_.size)
    x[:n] = v
    nV = len(cc.vsources.index)
    x[sys_.colV] = j[:nV]
    jd = cc.pwl_goff * ud
    jd[active] = j[nV:]
    x[sys_.colD] = jd[ideal]
    return x, active | (soft & (ud > cc.pwl_vfwd))
