"""A solution vector turned into a :class:`~resim.result.Result` with its certificate: the
one gate every solver's answer passes.

:func:`assemble` takes the unknowns of an :class:`~resim.solvers.mna.MNASystem` (node
potentials and the branch currents of sources and ideal diodes; the exact solver solves for
them, coordinate descent computes them from its potentials) and the diode state, and
derives every element current, the diode states, the power balance, and the certificate
(:class:`~resim.result.Certificate`) of how well the circuit laws hold:

* ``kcl``: the largest KCL residual ``|sum of currents leaving|`` over the nodes (shorts'
  currents from KCL on their forest, internal nodes of diodes with RS included), with
  ``kcl_floor`` the rounding noise of its terms, ``KCL_ROUNDING_ULPS eps g (|v_a| + |v_b|)``;
* ``kcl_relative``: the worst node's residual over the sum of ``|current|`` meeting there;
* ``constraint``: ``|v_p - v_n - E|`` of sources, the branch equation's violation of
  controlled sources with one (E: ``|v_p - v_n - gain (v_cp - v_cn)|``), ``max(u - Vfwd, 0)``
  of ideal diodes; ``complementarity`` ``|lambda (Vfwd - u)|`` and ``dual`` ``max(-lambda, 0)`` of
  ideal diodes (``lambda = j - goff u``).

:func:`checked` raises :class:`~resim.errors.ConvergenceError` for a result whose
certificate fails: no solver returns one.
"""

from __future__ import annotations

import numpy as np

from ..compile import CompiledCircuit
from ..elements import CIRCUIT_KINDS, ELEMENTS
from ..errors import ConvergenceError
from ..result import Certificate, Result
from .mna import MNASystem

KCL_ROUNDING_ULPS = 64  # KCL residual accepted as rounding noise, in eps of the largest KCL term
# A node's KCL residual is judged against the node's own currents (Certificate.kcl_relative)
# once it exceeds this fraction of the circuit's largest current. Below, it is rounding noise
# (a few eps g |v| per term) on currents that are zero or negligible next to the circuit's:
# e.g. a node left dangling next to a 1 ohm resistor at 10 V, or the pA through a reverse-
# biased junction behind a small RS. Random test circuits leave up to ~1e-11.
KCL_RELATIVE_FLOOR = 1e-10
# Per-element passes over this many elements at a time, so that their temporaries stay
# small (2 MB each) however large the circuit; only where the result is the same to the
# bit (sequential sums such as ``np.add.at``, elementwise arithmetic, maxima).
CHUNK = 1 << 18


def assemble(cc: CompiledCircuit, system: MNASystem, x: np.ndarray, on: np.ndarray, method: str,
             iterations: int) -> Result:
    """Element currents, states, power and certificate of a solution vector ``x`` of
    ``system`` with the piecewise-linear diodes in state ``on`` (see the module docstring)."""
    c = cc.circuit
    vv = system.volts(x)
    volts = np.where(cc.var >= 0, vv[cc.var], 0.0)
    cur, i_sh, u_j, u_p = _currents(cc, system, x, vv)
    net, through = _kcl_sums(cc, cur)  # and the shorts' currents, into cur
    kcl_nodes = net[1:]
    # internal nodes of diodes with RS: series current in = junction current out
    rs = cc.shockley_rs
    i_rs = (vv[rs.a] - vv[rs.b]) * rs.value
    has_rs = np.isin(cc.shockley.index, rs.index)
    kcl = float(np.max(np.abs(np.r_[kcl_nodes, i_rs - i_sh[has_rs], 0.0])))
    constraint, compl, dual = _constraints(cc, system, x, vv, volts, u_p)
    # the largest |current| (0 without elements), kind by kind: np.max propagates a nan
    # as the maximum of one concatenation of them all did, without its copy
    current_scale = float(np.max([0.0] + [np.max(np.abs(v)) for v in cur.values() if len(v)]))
    # KCL sums terms g (v_a - v_b) computed from node potentials: rounding alone leaves
    # residuals of a few eps g (|v_a| + |v_b|), however small the net currents are.
    term_scale = float(np.max([0.0] + [_term_scale(vv, g) for g in (cc.resistors, rs) if len(g.index)]))
    # The KCL residuals against each node's own currents (the trailing 0: no free node at
    # all). Not inside diodes: their RS current is not reported, and an error in the
    # internal node's voltage shows in the diode's current, so at its outer nodes.
    rel = np.r_[_relative(kcl_nodes, through[1:], KCL_RELATIVE_FLOOR * current_scale), 0.0]
    worst = int(np.argmax(rel))
    cert = Certificate(
        kcl=kcl, constraint=constraint, complementarity=compl, dual=max(dual, 0.0),
        current_scale=current_scale,
        voltage_scale=float(max(np.max(np.abs(volts), initial=0.0), np.max(np.abs(c["v"].value), initial=0.0),
                                np.max(np.abs(cc.pwl_vfwd), initial=0.0))),
        kcl_floor=float(KCL_ROUNDING_ULPS * np.finfo(float).eps * term_scale),
        kcl_relative=float(rel[worst]), kcl_relative_node=c.nodes[1 + worst] if rel[worst] > 0 else "",
        kcl_relative_scale=float(through[1 + worst]) if rel[worst] > 0 else 0.0,
    )
    states = np.empty(len(c["d"]), dtype=object)
    states[cc.shockley.index] = np.where(u_j > 0, "on", "off")
    states[cc.pwl.index] = np.where(on, "on", "off")
    with np.errstate(over="ignore", invalid="ignore"):  # judged just below
        dissipated = float(_power(volts, c["r"], cur["r"]) + _power(volts, c["d"], cur["d"]))
        delivered = float(-sum(_power(volts, c[k], cur[k]) for k in CIRCUIT_KINDS if ELEMENTS[k].source))
    _in_range(cc, volts, cur, dissipated, delivered)
    return Result(c, volts, cur, tuple(states.tolist()), cert, dissipated, delivered, method, iterations)


def _currents(cc: CompiledCircuit, system: MNASystem, x: np.ndarray, vv: np.ndarray):
    """Every element's current but the shorts' (0 there: :func:`_kcl_sums` fills them in),
    by kind; and the Shockley junctions' currents and voltages, and the PWL diodes' voltages."""
    c = cc.circuit
    cur = {k: np.zeros(len(c[k])) for k in CIRCUIT_KINDS}
    r = cc.resistors
    if len(r.index) == len(c["r"]):  # every resistor live: written in place, chunk by chunk
        ohmic_current(vv, r, out=cur["r"])
    else:
        cur["r"][r.index] = ohmic_current(vv, r)
    cur["v"][cc.vsources.index] = x[system.colV]
    cur["i"][:] = c["i"].value
    sh = cc.shockley
    u_j = vv[sh.a] - vv[sh.b]
    i_sh = cc.shockley_law(u_j)[0]
    cur["d"][sh.index] = i_sh
    p = cc.pwl
    u_p = vv[p.a] - vv[p.b]
    soft = ~cc.ideal
    i_p = np.zeros(len(p.index))
    i_p[soft] = cc.pwl_goff[soft] * u_p[soft] + (cc.pwl_gon[soft] - cc.pwl_goff[soft]) * np.maximum(
        u_p[soft] - cc.pwl_vfwd[soft], 0.0)
    i_p[system.ideal] = x[system.colD]
    cur["d"][p.index] = i_p
    for kind, rec in cc.linear.items():  # controlled sources: their kinds say how
        cur[kind][:] = ELEMENTS[kind].linear.current(rec, x, vv, system.at(kind))
    return cur, i_sh, u_j, u_p


class _Balance:
    """KCL at every node, summed element by element: ``net`` (the current leaving each node)
    and ``through`` (the sum of ``|current|`` of the elements meeting there)."""

    def __init__(self, n_nodes: int) -> None:
        self.net = np.zeros(n_nodes)
        self.through = np.zeros(n_nodes)
        self.size_from, self.size_to = np.zeros(n_nodes), np.zeros(n_nodes)  # one call's |current| at each node

    def leave(self, nodes_from: np.ndarray, nodes_to: np.ndarray, i: np.ndarray) -> None:
        """Currents ``i`` leaving ``nodes_from`` and entering ``nodes_to``.

        Chunk by chunk (CHUNK), in the order of one call over the whole arrays: every
        element's current into ``net`` at ``nodes_from``, then every one out at
        ``nodes_to`` (interleaving the two changes the sums' order, and their bits).
        np.add.at adds in order, and so does np.bincount with weights, whose sums
        ``size_from`` and ``size_to`` were (np.bincount(nodes_from, |i|, nn), ...).
        subtract.at(i) is add.at(-i) to the bit (x - y is x + (-y)), without a copy."""
        for nodes, into, size_at in ((nodes_from, np.add, self.size_from), (nodes_to, np.subtract, self.size_to)):
            size_at[:] = 0.0
            for k in range(0, len(i), CHUNK):
                part = slice(k, k + CHUNK)
                into.at(self.net, nodes[part], i[part])
                np.add.at(size_at, nodes[part], np.abs(i[part]))
        self.through[:] += self.size_from + self.size_to

    def leave_live(self, group, i: np.ndarray, short: np.ndarray) -> None:
        """:meth:`leave` for the elements of ``group`` that are not shorts (``short``: their
        indices); with no shorts, through views of the node columns, not copies."""
        if len(short) == 0:
            self.leave(group.nodes[:, 0], group.nodes[:, 1], i)
            return
        live = np.ones(len(group), bool)
        live[short] = False
        self.leave(group.nodes[live, 0], group.nodes[live, 1], i[live])


def _kcl_sums(cc: CompiledCircuit, cur: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """KCL's ``net`` and ``through`` per node (:class:`_Balance`), the shorts' currents
    found from KCL on their forest and written into ``cur``."""
    c = cc.circuit
    R, V = c["r"], c["v"]
    balance = _Balance(c.n_nodes)
    balance.leave_live(R, cur["r"], cc.short_r)
    balance.leave_live(V, cur["v"], cc.short_v)
    for k in (k for k in CIRCUIT_KINDS if k not in "rv"):  # no shorts among the other kinds
        balance.leave(c[k].nodes[:, 0], c[k].nodes[:, 1], cur[k])
    jr, jv = cc.short_currents(balance.net)
    cur["r"][cc.short_r] = jr
    cur["v"][cc.short_v] = jv
    balance.leave(R.nodes[cc.short_r, 0], R.nodes[cc.short_r, 1], jr)
    balance.leave(V.nodes[cc.short_v, 0], V.nodes[cc.short_v, 1], jv)
    return balance.net, balance.through


def _constraints(cc: CompiledCircuit, system: MNASystem, x: np.ndarray, vv: np.ndarray, volts: np.ndarray,
                 u_p: np.ndarray) -> tuple[float, float, float]:
    """The certificate's ``constraint``, ``complementarity`` and ``dual`` (module docstring)."""
    V = cc.circuit["v"]
    cons = [np.abs(volts[V.nodes[:, 0]] - volts[V.nodes[:, 1]] - V.value)]
    for kind, rec in cc.linear.items():
        residual = ELEMENTS[kind].linear.residual
        if residual is not None and len(rec):
            cons.append(residual(rec, x, vv, system.at(kind)))
    u_ideal = u_p[system.ideal]
    vf = cc.pwl_vfwd[system.ideal]
    lam = x[system.colD] - cc.pwl_goff[system.ideal] * u_ideal
    cons.append(np.maximum(u_ideal - vf, 0.0))
    constraint = float(np.max(np.concatenate(cons + [np.zeros(1)])))
    compl = float(np.max(np.abs(lam * (vf - u_ideal)), initial=0.0))
    return constraint, compl, float(np.max(-lam, initial=0.0))


def ohmic_current(vv: np.ndarray, branches, out: np.ndarray | None = None) -> np.ndarray:
    """``(vv[a] - vv[b]) * value`` of ``branches`` (a :class:`~resim.compile.Branches`),
    written into ``out`` (a new array by default), :data:`CHUNK` branches at a time: the
    same operations as the expression, elementwise, so the same bits, without its three
    temporaries of 8 bytes per branch."""
    a, b, g = branches.a, branches.b, branches.value
    i = np.empty(len(a)) if out is None else out
    for k in range(0, len(a), CHUNK):
        part = slice(k, k + CHUNK)
        np.take(vv, a[part], out=i[part])
        i[part] -= vv[b[part]]
        i[part] *= g[part]
    return i


def _term_scale(vv: np.ndarray, branches) -> float:
    """The largest KCL term scale ``|g| (|v_a| + |v_b|)`` of ``branches`` (at least one),
    :data:`CHUNK` at a time (the expression made five temporaries of 8 bytes a branch)."""
    best = []
    for k in range(0, len(branches.a), CHUNK):  # the maximum of the chunks' maxima
        part = slice(k, k + CHUNK)
        t = np.abs(vv[branches.a[part]])
        t += np.abs(vv[branches.b[part]])
        t *= np.abs(branches.value[part])  # |g| s = s |g|: the expression's product, to the bit
        best.append(np.max(t))
    return float(np.max(best))


def _power(volts: np.ndarray, group, i: np.ndarray) -> float:
    """``sum(i * (v at terminal 0 - v at terminal 1))`` over ``group``'s elements: the same
    products (``x y = y x``) summed by the same ``np.sum`` of one array (pairwise summation:
    summing chunks apart would change the bits), the array built :data:`CHUNK` at a time."""
    p = np.empty(len(group))
    for k in range(0, len(p), CHUNK):
        part = slice(k, k + CHUNK)
        np.take(volts, group.nodes[part, 0], out=p[part])
        p[part] -= volts[group.nodes[part, 1]]
        p[part] *= i[part]
    return np.sum(p)


def _in_range(cc: CompiledCircuit, volts: np.ndarray, cur: dict, *power: float) -> None:
    """Raise :class:`ConvergenceError` unless every voltage, current and the power are
    finite: an answer of ``inf`` or ``nan`` (``V1 a 0 1e200`` across 1 ohm: 1e400 W) is
    never printed as a result."""
    values = [volts, *cur.values(), np.asarray(power)]
    if all(np.all(np.isfinite(v)) for v in values):
        return
    raise out_of_range(cc)


def out_of_range(cc: CompiledCircuit) -> ConvergenceError:
    """The error for an operating point of ``cc`` that does not fit in double precision."""
    c = cc.circuit
    sources = np.abs(np.r_[c["v"].value, c["i"].value])
    ohms = np.abs(c["r"].value)
    parts = []
    if len(sources):
        parts.append(f"largest source value {np.max(sources):.3g}")
    if len(ohms):
        parts.append(f"resistances from {np.min(ohms):.3g} to {np.max(ohms):.3g} ohm")
    return ConvergenceError(
        "the operating point does not fit in double precision (a voltage, current or power beyond "
        f"1.8e308, or lost to rounding): {', '.join(parts) or 'extreme element values'}",
        hint="rescale the circuit's values (volts, amperes and ohms within about 1e-150 .. 1e150 of each other)")


def _relative(residual: np.ndarray, scale: np.ndarray, floor: float) -> np.ndarray:
    """``|residual| / scale`` per node (at most 1): a node's KCL residual against the sum of
    ``|current|`` of the elements meeting there (``scale``). A residual at most ``floor``
    counts as 0 (see :data:`KCL_RELATIVE_FLOOR`)."""
    big = np.abs(residual) > floor  # so scale >= |residual| > 0
    return np.divide(np.abs(residual), scale, out=np.zeros(len(scale)), where=big)


def checked(result: Result, rtol: float) -> Result:
    """``result``, if its certificate holds at ``rtol``; else :class:`ConvergenceError`."""
    cert = result.certificate
    if not cert.ok(rtol):
        raise ConvergenceError(
            "the solution fails its certificate: "
            + ", ".join(f"{k}={v:.3g}" for k, v in cert.as_dict().items())
            + f" (current scale {cert.current_scale:.3g} A, voltage scale {cert.voltage_scale:.3g} V)",
            hint="the circuit may be extremely ill-conditioned (conductances spanning many decades)",
        )
    return result
