"""The exact DC solver: sparse modified nodal analysis, the reference for every other solver.

Unknowns ``x = [v (n_vars), j_V, j_E, j_D]``: node potentials (ground removed, shorts
merged, Shockley internal nodes appended), branch currents of voltage sources, of VCVS,
and of ideal diodes (``Ron = 0``). Row ``k < n_vars`` is KCL at unknown node ``k``
(sum of currents leaving = 0); the other rows are the branch equations.

Nonlinear elements:

* piecewise-linear diodes: an active set over the states ``on``/``off``; each state is a
  linear system. All violated diodes flip at once (primal-dual active set); if a state
  repeats, one diode flips at a time, lowest index first (Murty's rule, finite for the
  P-matrix complementarity problems of reciprocal circuits). A solution ends with
  verified complementarity: ``0 <= i - u/Roff``, ``u <= Vfwd``, and their product 0.
* Shockley diodes ``i = IS (exp(u / N Vt) - 1) + gmin u`` (``gmin = 1e-12 S``; below
  ``-3 N Vt`` ngspice's cubic reverse branch, see :func:`junction`):
  damped Newton with SPICE's junction-voltage limiting (pnjlim); on failure gmin stepping,
  then source stepping.

The result carries a :class:`~resim.result.Certificate`; a result whose certificate fails is
never returned (:class:`~resim.errors.ConvergenceError`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from ..compile import CompiledCircuit
from ..elements import CIRCUIT_KINDS
from ..errors import ConvergenceError, NoSolutionError, TopologyError
from ..result import Certificate, Result

GMIN = 1e-12
KCL_ROUNDING_ULPS = 64  # KCL residual accepted as rounding noise, in eps of the largest KCL term
# A node's KCL residual is judged against the node's own currents (Certificate.kcl_relative)
# once it exceeds this fraction of the circuit's largest current. Below, it is rounding noise
# (a few eps g |v| per term) on currents that are zero or negligible next to the circuit's:
# e.g. a node left dangling next to a 1 ohm resistor at 10 V, or the pA through a reverse-
# biased junction behind a small RS. Random test circuits leave up to ~1e-11.
KCL_RELATIVE_FLOOR = 1e-10


DENSE_MAX = 200  # unknowns; up to this the MNA system is solved dense


@dataclass(frozen=True)
class ExactOptions:
    gmin: float = GMIN  # conductance across each Shockley junction, as ngspice
    max_newton: int = 200
    max_active_set: int = 1000
    rtol: float = 1e-8  # certificate tolerance, relative to the circuit's current/voltage scales


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


def _stamp_g(a: np.ndarray, b: np.ndarray, g: np.ndarray):
    """COO entries of conductances ``g`` between unknowns ``a`` and ``b`` (-1 = ground)."""
    return (np.concatenate([a, b, a, b]), np.concatenate([a, b, b, a]), np.concatenate([g, g, -g, -g]))


def _stamp_branch(col: np.ndarray, p: np.ndarray, n: np.ndarray):
    """A branch current ``col`` leaving ``p`` and entering ``n``: its KCL entries."""
    ones = np.ones(len(col))
    return (np.concatenate([p, n]), np.concatenate([col, col]), np.concatenate([ones, -ones]))


def _row_volt(row: np.ndarray, p: np.ndarray, n: np.ndarray, scale: np.ndarray | float = 1.0):
    """Branch row entries ``scale (v_p - v_n)``."""
    s = np.broadcast_to(np.asarray(scale, float), row.shape)
    return (np.concatenate([row, row]), np.concatenate([p, n]), np.concatenate([s, -s]))


def _pnjlim(vnew: np.ndarray, vold: np.ndarray, vt: np.ndarray, vcrit: np.ndarray) -> tuple[np.ndarray, bool]:
    """SPICE3's junction-voltage limiting: tame exponential overshoot of a Newton step."""
    big = (vnew > vcrit) & (np.abs(vnew - vold) > 2 * vt)
    if not big.any():
        return vnew, False
    out = vnew.copy()
    pos = big & (vold > 0)
    arg = 1 + (vnew - vold) / vt
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(pos & (arg > 0), vold + vt * np.log(np.where(arg > 0, arg, 1.0)), out)
        out = np.where(pos & (arg <= 0), vcrit, out)
        neg = big & ~(vold > 0)
        out = np.where(neg, vt * np.log(np.maximum(vnew / vt, 1e-300)), out)
    return out, True


class _System:
    """The MNA system of one compiled circuit; stamps depend on diode state/linearization."""

    def __init__(self, cc: CompiledCircuit, opts: ExactOptions) -> None:
        self.cc = cc
        self.opts = opts
        nv = cc.n_vars
        e, g = cc.vcvs, cc.vccs
        self.nv = nv
        self.nV = len(cc.vsources.index)
        self.nE = len(e)
        self.ideal = np.flatnonzero(cc.ideal)
        self.soft = np.flatnonzero(~cc.ideal)
        self.nD = len(self.ideal)
        self.size = nv + self.nV + self.nE + self.nD
        self.colV = nv + np.arange(self.nV)
        self.colE = nv + self.nV + np.arange(self.nE)
        self.colD = nv + self.nV + self.nE + np.arange(self.nD)
        r, rs = cc.resistors, cc.shockley_rs
        parts = [
            _stamp_g(r.a, r.b, r.value),
            _stamp_g(rs.a, rs.b, rs.value),
            _stamp_branch(self.colV, cc.vsources.a, cc.vsources.b),
            _row_volt(self.colV, cc.vsources.a, cc.vsources.b),
            _stamp_branch(self.colE, e.p, e.n),
            _row_volt(self.colE, e.p, e.n),
            _row_volt(self.colE, e.cp, e.cn, -e.gain),
            _stamp_branch(self.colD, cc.pwl.a[self.ideal], cc.pwl.b[self.ideal]),
            (np.concatenate([g.p, g.p, g.n, g.n]), np.concatenate([g.cp, g.cn, g.cp, g.cn]),
             np.concatenate([g.gain, -g.gain, -g.gain, g.gain])),
        ]
        self.base = tuple(np.concatenate([p[k] for p in parts]) for k in range(3))
        # independent sources, for source stepping
        self.rhs_sources = np.zeros(self.size)
        i = cc.isources
        np.add.at(self.rhs_sources, i.a[i.a >= 0], -i.value[i.a >= 0])
        np.add.at(self.rhs_sources, i.b[i.b >= 0], i.value[i.b >= 0])
        self.rhs_sources[self.colV] = cc.vsources.value
        sh = cc.shockley
        self.nvt = cc.shockley_nvt
        self.vcrit = self.nvt * np.log(self.nvt / (math.sqrt(2) * np.maximum(sh.value, 1e-300)))

    # -- assembly -----------------------------------------------------------------------
    def solve(self, on: np.ndarray, u_sh: np.ndarray, gshunt: float, alpha: float) -> np.ndarray:
        """Solve the linear system for PWL state ``on`` and Shockley linearization at ``u_sh``."""
        cc = self.cc
        rows, cols, vals = [self.base[0]], [self.base[1]], [self.base[2]]
        rhs = alpha * self.rhs_sources
        # soft PWL diodes: conductance by state, offset current when on
        s = self.soft
        a, b = cc.pwl.a[s], cc.pwl.b[s]
        gon, goff, vf = cc.pwl_gon[s], cc.pwl_goff[s], cc.pwl_vfwd[s]
        st = on[s]
        g = np.where(st, gon, goff)
        i0 = np.where(st, vf * (goff - gon), 0.0)
        for rr, cc_, vv in (_stamp_g(a, b, g),):
            rows.append(rr), cols.append(cc_), vals.append(vv)
        np.add.at(rhs, a[a >= 0], -i0[a >= 0])
        np.add.at(rhs, b[b >= 0], i0[b >= 0])
        # ideal diodes: on -> u = Vfwd ; off -> j - goff u = 0
        d = self.ideal
        a, b = cc.pwl.a[d], cc.pwl.b[d]
        st = on[d]
        row = self.colD
        jr = row[~st]
        rows.append(jr), cols.append(jr), vals.append(np.ones(len(jr)))
        rr, cc_, vv = _row_volt(row, a, b, np.where(st, 1.0, -cc.pwl_goff[d]))
        rows.append(rr), cols.append(cc_), vals.append(vv)
        rhs[row] = np.where(st, cc.pwl_vfwd[d], 0.0)
        # Shockley junctions, linearized at u_sh
        sh = cc.shockley
        if len(sh.index):
            cur, gd = junction(u_sh, sh.value, self.nvt)
            cur = cur + (self.opts.gmin + gshunt) * u_sh
            gd = gd + self.opts.gmin + gshunt
            ieq = cur - gd * u_sh
            rr, cc_, vv = _stamp_g(sh.a, sh.b, gd)
            rows.append(rr), cols.append(cc_), vals.append(vv)
            np.add.at(rhs, sh.a[sh.a >= 0], -ieq[sh.a >= 0])
            np.add.at(rhs, sh.b[sh.b >= 0], ieq[sh.b >= 0])
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        v = np.concatenate(vals)
        keep = (r >= 0) & (c >= 0)
        if self.size == 0:
            return np.zeros(0)
        if self.size <= DENSE_MAX and not self.nD and not len(self.soft):
            # small, and no active set to settle (its state tests need the sparse LU's exact
            # zeros): dense LAPACK, and no scipy import (fast start-up)
            A = np.zeros((self.size, self.size))
            np.add.at(A, (r[keep], c[keep]), v[keep])
            try:
                x = np.linalg.solve(A, rhs)
                x += np.linalg.solve(A, rhs - A @ x)  # one step of iterative refinement
            except np.linalg.LinAlgError as exc:
                raise _Singular(str(exc)) from None
        else:
            import scipy.sparse as sp
            import scipy.sparse.linalg as spla

            A = sp.csc_matrix((v[keep], (r[keep], c[keep])), shape=(self.size, self.size))
            try:
                lu = spla.splu(A)
            except RuntimeError as exc:
                raise _Singular(str(exc)) from None
            x = lu.solve(rhs)
            x += lu.solve(rhs - A @ x)  # one step of iterative refinement
        if not np.all(np.isfinite(x)):
            raise _Singular("non-finite solution")
        return x

    def volts(self, x: np.ndarray) -> np.ndarray:
        """Node potentials with a trailing 0 so that index -1 (ground) reads 0."""
        return np.append(x[: self.nv], 0.0)


class _Singular(Exception):
    pass


def _newton(sys_: _System, on: np.ndarray, u0: np.ndarray, gshunt: float, alpha: float,
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
    floor = 1e-3 * float(np.min(sys_.nvt))
    prev = math.inf
    for it in range(1, max_iter + 1):
        x = sys_.solve(on, u, gshunt, alpha)
        vv = sys_.volts(x)
        unew = vv[sh.a] - vv[sh.b]
        if not np.all(np.isfinite(unew)):
            return None
        ulim, limited = _pnjlim(unew, u, sys_.nvt, sys_.vcrit)
        step = np.max(np.abs(ulim - u)) if len(u) else 0.0
        u = ulim
        stalled = step <= floor and step >= 0.5 * prev
        if not limited and (step <= 1e-13 + 1e-12 * np.max(np.abs(u)) or stalled):
            return sys_.solve(on, u, gshunt, alpha), u, it + 1
        prev = step if not limited else math.inf
    return None


def _nonlinear(sys_: _System, on: np.ndarray, u0: np.ndarray, opts: ExactOptions):
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


def _fail(sys_: _System):
    raise ConvergenceError(
        "Shockley-diode Newton iteration did not converge (also with gmin and source stepping)",
        hint="check diode models for extreme values (tiny N or IS), or add series resistance RS",
    )


def solve_exact(cc: CompiledCircuit, options: ExactOptions | None = None) -> Result:
    """The DC operating point of ``cc`` by sparse MNA (see the module docstring)."""
    opts = options or ExactOptions()
    t0 = time.perf_counter()
    sys_ = _System(cc, opts)
    nd = len(cc.pwl.index)
    u_sh = np.zeros(len(cc.shockley.index))
    on = np.zeros(nd, bool)
    seen: set[bytes] = set()
    single = False
    iterations = 0
    for _ in range(opts.max_active_set + 1):
        try:
            x, u_sh, it = _nonlinear(sys_, on, u_sh, opts)
        except _Singular:
            from .diagnose import looser_off, outlets

            nxt = looser_off(cc, on)  # parallel diodes that cannot all be at their bounds
            if nxt is None:
                nxt = outlets(cc, on)  # ideal diodes that could carry a floating group's current
            if nxt is None or nxt.tobytes() in seen:
                _singular(cc, on)
            seen.add(on.tobytes())
            on = nxt
            continue
        iterations += it
        viol = _pwl_violations(sys_, x, on)
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
    result = _checked(result, opts.rtol)
    return replace(result, timings={"solve": time.perf_counter() - t0})


def _pwl_violations(sys_: _System, x: np.ndarray, on: np.ndarray) -> np.ndarray:
    cc = sys_.cc
    vv = sys_.volts(x)
    u = vv[cc.pwl.a] - vv[cc.pwl.b]
    vf = cc.pwl_vfwd
    # relative to the circuit's own voltages, never looser than the certificate's tolerance
    scale = 1e-12 * float(np.max(np.abs(vv))) if len(vv) else 0.0
    viol = (~on) & (u > vf + scale)
    soft = ~cc.ideal
    viol |= on & soft & (u < vf - scale)
    if sys_.nD:
        d = sys_.ideal
        lam = x[sys_.colD] - cc.pwl_goff[d] * u[d]
        iscale = 1e-12 * max(1e-12, float(np.max(np.abs(x[sys_.nv:]))) if len(x) > sys_.nv else 1e-12)
        viol[d] |= on[d] & (lam < -iscale)
    return viol


def _singular(cc: CompiledCircuit, on: np.ndarray):
    """Raise the error that says why state ``on``'s system is singular, naming elements."""
    from .diagnose import explain_singular, parallel_ideal

    explain_singular(cc, on)  # floating groups: no solution, or an undetermined voltage
    ideal_on = np.flatnonzero(cc.ideal & on)
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
    vcvs = cc.vcvs.index
    named = f" (controlled sources: {', '.join(c['e'].names[int(k)] for k in vcvs[:6])})" if len(vcvs) else ""
    location, line = c.where("e", int(vcvs[0])) if len(vcvs) else (None, None)
    raise TopologyError(
        f"the circuit equations are singular{named}: e.g. a loop of controlled voltage sources, "
        "or a controlled source whose gain makes its own equation degenerate",
        location=location, source_line=line,
        hint="check the E elements' connections and gains",
    )


def assemble(cc: CompiledCircuit, sys_: _System, x: np.ndarray, on: np.ndarray, method: str,
             iterations: int) -> Result:
    """Element currents, states, power and certificate of a solution vector ``x``."""
    c = cc.circuit
    vv = sys_.volts(x)
    volts = np.where(cc.var >= 0, vv[cc.var], 0.0)
    R, V, I, D, E, G = c["r"], c["v"], c["i"], c["d"], c["e"], c["g"]
    cur = {k: np.zeros(len(c[k])) for k in CIRCUIT_KINDS}
    r = cc.resistors
    cur["r"][r.index] = (vv[r.a] - vv[r.b]) * r.value
    cur["v"][cc.vsources.index] = x[sys_.colV]
    cur["i"][:] = I.value
    # diodes
    sh = cc.shockley
    u_j = vv[sh.a] - vv[sh.b]
    i_sh = junction(u_j, sh.value, cc.shockley_nvt)[0] + sys_.opts.gmin * u_j
    cur["d"][sh.index] = i_sh
    p = cc.pwl
    u_p = vv[p.a] - vv[p.b]
    soft = ~cc.ideal
    i_p = np.zeros(len(p.index))
    i_p[soft] = cc.pwl_goff[soft] * u_p[soft] + (cc.pwl_gon[soft] - cc.pwl_goff[soft]) * np.maximum(
        u_p[soft] - cc.pwl_vfwd[soft], 0.0)
    i_p[sys_.ideal] = x[sys_.colD]
    cur["d"][p.index] = i_p
    cur["e"][:] = x[sys_.colE]
    vccs = cc.vccs
    cur["g"][:] = vccs.gain * (vv[vccs.cp] - vv[vccs.cn])

    # shorts from KCL on the short forest
    nn = c.n_nodes
    net = np.zeros(nn)
    through = np.zeros(nn)  # sum of |current| of the elements meeting at each node

    def leave(nodes_from, nodes_to, i):
        np.add.at(net, nodes_from, i)
        np.add.at(net, nodes_to, -i)
        through[:] += np.bincount(nodes_from, np.abs(i), nn) + np.bincount(nodes_to, np.abs(i), nn)

    live_r = np.ones(len(R), bool)
    live_r[cc.short_r] = False
    live_v = np.ones(len(V), bool)
    live_v[cc.short_v] = False
    leave(R.nodes[live_r, 0], R.nodes[live_r, 1], cur["r"][live_r])
    leave(V.nodes[live_v, 0], V.nodes[live_v, 1], cur["v"][live_v])
    for k in "idge":
        g = c[k]
        leave(g.nodes[:, 0], g.nodes[:, 1], cur[k])
    jr, jv = cc.short_currents(net)
    cur["r"][cc.short_r] = jr
    cur["v"][cc.short_v] = jv
    leave(R.nodes[cc.short_r, 0], R.nodes[cc.short_r, 1], jr)
    leave(V.nodes[cc.short_v, 0], V.nodes[cc.short_v, 1], jv)
    kcl_nodes = net[1:]
    # internal nodes of diodes with RS: series current in = junction current out
    rs = cc.shockley_rs
    i_rs = (vv[rs.a] - vv[rs.b]) * rs.value
    has_rs = np.isin(sh.index, rs.index)
    kcl_internal = i_rs - i_sh[has_rs]
    kcl = float(np.max(np.abs(np.r_[kcl_nodes, kcl_internal, 0.0])))

    # constraints
    vdiff = lambda g, a=0, b=1: volts[g.nodes[:, a]] - volts[g.nodes[:, b]]  # noqa: E731
    cons = [np.abs(vdiff(V) - V.value)]
    if len(E):
        cons.append(np.abs(vdiff(E) - E.value * vdiff(E, 2, 3)))
    u_ideal = u_p[sys_.ideal]
    vf = cc.pwl_vfwd[sys_.ideal]
    lam = x[sys_.colD] - cc.pwl_goff[sys_.ideal] * u_ideal
    cons.append(np.maximum(u_ideal - vf, 0.0))
    constraint = float(np.max(np.concatenate(cons + [np.zeros(1)])))
    compl = float(np.max(np.abs(lam * (vf - u_ideal)), initial=0.0))
    dual = float(np.max(-lam, initial=0.0))
    all_i = np.concatenate([np.abs(v) for v in cur.values()] + [np.zeros(1)])
    # KCL sums terms g (v_a - v_b) computed from node potentials: rounding alone leaves
    # residuals of a few eps g (|v_a| + |v_b|), however small the net currents are.
    terms = [np.abs(g.value) * (np.abs(vv[g.a]) + np.abs(vv[g.b])) for g in (r, rs)]
    term_scale = float(np.max(np.concatenate(terms + [np.zeros(1)])))
    # The KCL residuals against each node's own currents (the trailing 0: no free node at
    # all). Not inside diodes: their RS current is not reported, and an error in the
    # internal node's voltage shows in the diode's current, so at its outer nodes.
    rel = np.r_[_relative(kcl_nodes, through[1:], KCL_RELATIVE_FLOOR * all_i.max()), 0.0]
    worst = int(np.argmax(rel))
    cert = Certificate(
        kcl=kcl, constraint=constraint, complementarity=compl, dual=max(dual, 0.0),
        current_scale=float(all_i.max()),
        voltage_scale=float(max(np.max(np.abs(volts), initial=0.0), np.max(np.abs(V.value), initial=0.0),
                                np.max(np.abs(cc.pwl_vfwd), initial=0.0))),
        kcl_floor=float(KCL_ROUNDING_ULPS * np.finfo(float).eps * term_scale),
        kcl_relative=float(rel[worst]), kcl_relative_node=c.nodes[1 + worst] if rel[worst] > 0 else "",
        kcl_relative_scale=float(through[1 + worst]) if rel[worst] > 0 else 0.0,
    )
    states = np.empty(len(D), dtype=object)
    states[sh.index] = np.where(u_j > 0, "on", "off")
    states[p.index] = np.where(on, "on", "off")
    dissipated = float(np.sum(cur["r"] * vdiff(R)) + np.sum(cur["d"] * vdiff(D)))
    delivered = float(-np.sum(cur["v"] * vdiff(V)) - np.sum(cur["i"] * vdiff(I))
                      - np.sum(cur["e"] * vdiff(E)) - np.sum(cur["g"] * vdiff(G)))
    return Result(c, volts, cur, tuple(states.tolist()), cert, dissipated, delivered, method, iterations)


def _relative(residual: np.ndarray, scale: np.ndarray, floor: float) -> np.ndarray:
    """``|residual| / scale`` per node (at most 1): a node's KCL residual against the sum of
    ``|current|`` of the elements meeting there (``scale``). A residual at most ``floor``
    counts as 0 (see :data:`KCL_RELATIVE_FLOOR`)."""
    big = np.abs(residual) > floor  # so scale >= |residual| > 0
    return np.divide(np.abs(residual), scale, out=np.zeros(len(scale)), where=big)


def _checked(result: Result, rtol: float) -> Result:
    cert = result.certificate
    if not cert.ok(rtol):
        raise ConvergenceError(
            "the solution fails its certificate: "
            + ", ".join(f"{k}={v:.3g}" for k, v in cert.as_dict().items())
            + f" (current scale {cert.current_scale:.3g} A, voltage scale {cert.voltage_scale:.3g} V)",
            hint="the circuit may be extremely ill-conditioned (conductances spanning many decades)",
        )
    return result
