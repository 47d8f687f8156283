"""EP's updates against BPTT's gradients, step by step (the GDU property of Ernoult et al.).

A DRN relaxes by sweeps, ``s_(t+1) = F(s_t, theta)`` (:mod:`resim.drn.network`). Run ``K``
free sweeps from ``s_0`` and take the cost ``L = C(s_K)``, ``C = 1/2 |v_L - y|^2`` (batch
mean). Two ways to see how each step matters:

* **BPTT**, backward from the end of the free phase: ``grad_s(t) = dL/ds_(K-t)`` (per image,
  for t = 0..K) and ``grad_theta(t)`` the gradient of ``L`` through the parameters of the
  t-th sweep from the end alone (t = 1..K);
* **EP**, forward in a nudged phase started at ``s_K``: ``s^beta_(t+1) = F^beta(s^beta_t)``
  (the sweeps of ``E + beta C``), and its updates
  ``dEP_s(t) = (s^beta_(t+1) - s^beta_t) / beta`` and
  ``dEP_theta(t) = -(dE/dtheta(s^beta_(t+1)) - dE/dtheta(s^beta_t)) / beta`` (t = 0..K-1).

The property: ``dEP_theta(t) = -grad_theta(t + 1)`` and ``D dEP_s(t) = -grad_s(t)``, where ``D``
is each node's conductance sum (the nudged phase moves potentials; BPTT's adjoints are per
unit of potential, so the two meet in units of current). It holds exactly, as beta -> 0,
for *synchronous* sweeps (every layer from the previous state: ``order="jacobi"``) of a
network without diodes whose free phase has converged: then one sweep is
``s -> D^-1 (N s + c)``, whose Jacobian ``D^-1 N`` is symmetric in the metric ``D``, and
the nudge enters the outputs as ``-D^-1 dC/ds`` (docs/theory.md, "EP against BPTT").
Layer-by-layer sweeps (``"forward"``, ``"odd-even"``: Gauss-Seidel) have a Jacobian that is
not, and a diode at its bound stops its node's updates on EP's side only: there the
property is approximate, and :func:`measure` says how far.

Everything here is float64 numpy and small batches: a diagnostic, not a trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .engine import diode_bounds
from .rules import ep_difference

#: Sweep orders: the three of the relaxation, odd-even's reverse, and the synchronous one.
ORDERS = ("jacobi", "odd-even", "even-odd", "forward", "backward")
#: Each order's reverse: the nudged phase that makes EP's updates BPTT's (module docstring).
REVERSE = {"jacobi": "jacobi", "odd-even": "even-odd", "even-odd": "odd-even", "forward": "backward",
           "backward": "forward"}


@dataclass(frozen=True)
class Params:
    """A DRN's parameters in float64: ``W[l]`` [n_l, n_(l+1)] conductances, ``b[l]`` the bias
    currents into layer l+1, and the hidden layers' diode bounds (``low``, ``high``: rows of
    -inf/0 and 0/inf; all infinite for a network without diodes)."""

    W: list[np.ndarray]
    b: list[np.ndarray]
    low: list[np.ndarray]
    high: list[np.ndarray]

    @property
    def L(self) -> int:
        return len(self.W)

    @cached_property
    def den(self) -> list[np.ndarray]:
        """Each node's conductance sum, layers 1..L (computed once: every sweep reads it)."""
        L = self.L
        return [self.W[l - 1].sum(axis=0) + (self.W[l].sum(axis=1) if l < L else 0.0) for l in range(1, L + 1)]

    @staticmethod
    def of(W: list, b: list, diodes: bool = True) -> "Params":
        W = [np.array(w, np.float64) for w in W]
        b = [np.array(x, np.float64) for x in b]
        hidden = tuple(w.shape[1] for w in W[:-1])
        if diodes:
            low, high = diode_bounds(hidden)
        else:
            low, high = [np.full((1, n), -np.inf) for n in hidden], [np.full((1, n), np.inf) for n in hidden]
        return Params(W, b, low, high)


def stages(L: int, order: str) -> list[list[int]]:
    """The layers a sweep updates, in stages: the layers of a stage all read the state as it
    was when the stage began (they are never neighbours, but in ``"jacobi"``'s one stage)."""
    if order == "jacobi":
        return [list(range(1, L + 1))]
    if order in ("odd-even", "even-odd"):
        parities = (1, 0) if order == "odd-even" else (0, 1)
        return [[l for l in range(1, L + 1) if l % 2 == parity] for parity in parities]
    if order == "forward":
        return [[l] for l in range(1, L + 1)]
    if order == "backward":
        return [[l] for l in range(L, 0, -1)]
    raise ValueError(f"unknown order {order!r}; choose from {', '.join(ORDERS)}")


@dataclass
class _Stage:
    """What the backward pass needs of one stage: the state it read, and per updated layer
    its currents ``s``, where its diode let it move (``passed``) and its ``inv``."""

    before: list[np.ndarray]
    layers: list[int]
    s: dict[int, np.ndarray] = field(default_factory=dict)
    passed: dict[int, np.ndarray] = field(default_factory=dict)
    inv: dict[int, np.ndarray] = field(default_factory=dict)


def sweep(p: Params, V: list[np.ndarray], order: str, beta: float = 0.0, y: np.ndarray | None = None,
          record: list | None = None) -> list[np.ndarray]:
    """One sweep from ``V`` (not modified): each node of a stage's layers set to
    ``clip((v_(l-1) W_(l-1) + v_(l+1) W_l^T + b_(l-1) [+ beta y]) / (den_l [+ beta]))``, the
    bracketed terms for the outputs of a nudged phase. ``record``: a list the stages'
    records are appended to (for :func:`backward`)."""
    L, den = p.L, p.den
    V = list(V)
    for layers in stages(L, order):
        st = _Stage(list(V), layers)
        new = {}
        for l in layers:
            s = st.before[l - 1] @ p.W[l - 1] + p.b[l - 1]
            if l < L:
                s = s + st.before[l + 1] @ p.W[l].T
            d = den[l - 1]
            if l == L and beta:
                s, d = s + beta * y, d + beta
            inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
            v = s * inv
            if l < L:
                st.passed[l] = (v >= p.low[l - 1]) & (v <= p.high[l - 1])
                v = np.clip(v, p.low[l - 1], p.high[l - 1])
            st.s[l], st.inv[l], new[l] = s, inv, v
        for l, v in new.items():
            V[l] = v
        if record is not None:
            record.append(st)
    return V


def backward(p: Params, record: list[_Stage], adjoint: list) -> tuple[list, list[np.ndarray], list[np.ndarray]]:
    """Through one sweep's stages, backward: the adjoint of the state before the sweep (a
    list per layer, None where nothing flows), and the gradients through this sweep's
    parameters alone (``dW``, ``db``), from the adjoint of the state after it."""
    L = p.L
    dW = [np.zeros_like(w) for w in p.W]
    db = [np.zeros_like(b) for b in p.b]
    lam = list(adjoint)
    for st in reversed(record):
        out = [None if l in st.layers else lam[l] for l in range(L + 1)]
        for l in st.layers:
            g = lam[l]
            if g is None:
                continue
            if l < L:
                g = g * st.passed[l]
            e = g * st.inv[l]
            db[l - 1] += e.sum(axis=0)
            dW[l - 1] += st.before[l - 1].T @ e
            d_den = -(st.inv[l] ** 2) * np.sum(g * st.s[l], axis=0)  # through v = s / den
            dW[l - 1] += d_den[None, :]
            if l < L:
                dW[l] += e.T @ st.before[l + 1] + d_den[:, None]
                out[l + 1] = _add(out[l + 1], e @ p.W[l])
            if l > 1:
                out[l - 1] = _add(out[l - 1], e @ p.W[l - 1].T)
        lam = out
    return lam, dW, db


def _add(a, b):
    return b if a is None else a + b


def free_phase(p: Params, V0: list[np.ndarray], sweeps: int, order: str,
               at: dict[int, Params] | None = None) -> tuple[list[list[np.ndarray]], list[list[_Stage]]]:
    """The states ``s_0..s_K`` of ``sweeps`` free sweeps from ``V0`` and each sweep's
    records. ``at``: other parameters for some sweeps (by index: a finite-difference check)."""
    states, records = [list(V0)], []
    for t in range(sweeps):
        rec: list[_Stage] = []
        states.append(sweep((at or {}).get(t, p), states[-1], order, record=rec))
        records.append(rec)
    return states, records


def cost(V: list[np.ndarray], y: np.ndarray) -> float:
    """``C = 1/2 |v_L - y|^2``, the batch mean."""
    return 0.5 * float(np.sum((V[-1] - y) ** 2)) / len(y)


def bptt(p: Params, states: list, records: list, y: np.ndarray) -> tuple[list, list, list]:
    """BPTT from the end of the free phase: ``grad_s[t]`` (t = 0..K; per layer, per image,
    so B times the batch mean's adjoint), and ``grad_W[t]``, ``grad_b[t]`` (t = 1..K; index
    0 is None), the gradients through the t-th sweep from the end."""
    K, B = len(records), len(y)
    lam: list = [None] * (p.L + 1)
    lam[-1] = (states[-1][-1] - y) / B
    grad_s, grad_W, grad_b = [_per_image(lam, B)], [None], [None]
    for t in range(1, K + 1):
        lam, dW, db = backward(p, records[K - t], lam)
        grad_s.append(_per_image(lam, B))
        grad_W.append(dW)
        grad_b.append(db)
    return grad_s, grad_W, grad_b


def _per_image(lam: list, B: int) -> list:
    return [None if a is None else a * B for a in lam]


def ep_updates(p: Params, start: list, y: np.ndarray, beta: float, steps: int, order: str,
               centred: bool = False) -> tuple[list, list, list]:
    """EP's updates over ``steps`` nudged sweeps from ``start``: ``dEP_s[t]`` per layer (per
    image), ``dEP_W[t]`` and ``dEP_b[t]`` (batch means), t = 0..steps-1 (module docstring).
    ``centred``: from two nudged phases, at ``beta`` and ``-beta``, divided by ``2 beta``
    (the error in beta is then of second order, as in centred EP)."""
    plus = _nudged(p, start, y, beta, steps, order)
    minus = _nudged(p, start, y, -beta, steps, order) if centred else [list(start)] * (steps + 1)
    scale = 2 * beta if centred else beta
    ds, dW, db = [], [], []
    for t in range(steps):
        a, b, c, d = plus[t], plus[t + 1], minus[t], minus[t + 1]
        ds.append([None] + [((b[l] - a[l]) - (d[l] - c[l])) / scale for l in range(1, p.L + 1)])
        # rules.ep_difference is (dE/dtheta(Va) - dE/dtheta(Vb)) / scale, batch means
        gW, gb = ep_difference(b, a, scale)
        if centred:
            hW, hb = ep_difference(d, c, scale)
            gW, gb = [u - w for u, w in zip(gW, hW)], [u - w for u, w in zip(gb, hb)]
        dW.append([-g for g in gW])
        db.append([-g for g in gb])
    return ds, dW, db


def _nudged(p: Params, start: list, y: np.ndarray, beta: float, steps: int, order: str) -> list:
    """The states of ``steps`` nudged sweeps from ``start`` (``start`` first)."""
    out = [list(start)]
    for _ in range(steps):
        out.append(sweep(p, out[-1], order, beta, y))
    return out


@dataclass
class Agreement:
    """Per layer and step, how EP's update and minus BPTT's gradient agree: relative
    difference ``|ep + bptt| / |bptt|`` and cosine of ``ep`` with ``-bptt`` (NaN where BPTT's
    side is 0: the nudge has not reached the layer yet). The neurons are compared in units
    of current (:func:`metric`) on the nodes off their diodes' bounds (:func:`off_bounds`)."""

    neurons: np.ndarray  # [2, K, L]: relative difference, cosine (layers 1..L)
    weights: np.ndarray  # [2, K, L]: the same for W[0..L-1] (biases with them)
    ep_s: list = field(repr=False, default_factory=list)  # [t][l]: EP's neural updates, in current (metric)
    bptt_s: list = field(repr=False, default_factory=list)  # [t][l]: BPTT's adjoints, per image
    ep_W: list = field(repr=False, default_factory=list)  # [t][m]
    bptt_W: list = field(repr=False, default_factory=list)  # [t][m], t = 1..K (index 0: None)

    def summary(self) -> list[dict]:
        """Per layer: the median (over the steps) and largest relative difference, and the
        smallest cosine, of the neurons' and the weights' updates."""
        rows = []
        for l in range(self.neurons.shape[2]):
            row = {"layer": l + 1}
            for what, a in (("neurons", self.neurons), ("weights", self.weights)):
                rel, cos = a[0, :, l], a[1, :, l]
                seen = ~np.isnan(rel)
                row[what] = ({"median_rel": float(np.median(rel[seen])), "max_rel": float(np.max(rel[seen])),
                              "min_cos": float(np.min(cos[seen])), "steps": int(seen.sum())} if seen.any() else None)
            rows.append(row)
        return rows


def off_bounds(p: Params, V: list) -> list:
    """Per layer, the mask of the nodes (per image) off their diode's bound in state ``V``:
    a node at its bound does not move in the nudged phase (its update is 0 on EP's side)
    though BPTT's adjoint reaches it, so the neurons are compared on the others."""
    out = [None]
    for l in range(1, p.L + 1):
        v = V[l]
        out.append((v > p.low[l - 1]) & (v < p.high[l - 1]) if l < p.L else np.ones(v.shape, bool))
    return out


def metric(p: Params, ds: list, order: str) -> list:
    """``M ds`` per layer, in units of current: ``M = D - U``, with ``D`` the nodes'
    conductance sums and ``U`` the conductances to the neighbours that a sweep in ``order``
    updates earlier (none for ``"jacobi"``: ``M = D``). In this metric a nudged phase in
    ``order`` and BPTT through free sweeps in its reverse meet (module docstring)."""
    den, L = p.den, p.L
    stage_of = {l: k for k, layers in enumerate(stages(L, order)) for l in layers}
    out = [None]
    for l in range(1, L + 1):
        m = ds[l] * den[l - 1]
        if l < L and stage_of[l + 1] < stage_of[l]:
            m = m - ds[l + 1] @ p.W[l].T
        if l > 1 and stage_of[l - 1] < stage_of[l]:
            m = m - ds[l - 1] @ p.W[l - 1]
        out.append(m)
    return out


def _compare(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(|a - b| / |b|, cos(a, b)); NaN, NaN when b = 0."""
    nb = float(np.linalg.norm(b))
    if nb == 0.0:
        return float("nan"), float("nan")
    na = float(np.linalg.norm(a))
    return float(np.linalg.norm(a - b)) / nb, float(np.vdot(a, b)) / (na * nb) if na else 0.0


def measure(p: Params, x0: np.ndarray, y: np.ndarray, beta: float, sweeps: int, order: str,
            steps: int | None = None, nudged_order: str | None = None, centred: bool = False) -> Agreement:
    """The comparison for one batch: inputs ``x0`` ([B, n_0] input voltages), targets ``y``,
    ``sweeps`` free sweeps from zero states, then ``steps`` (default ``sweeps``) nudged ones
    in ``nudged_order`` (default: ``order``; ``centred``: :func:`ep_updates`)."""
    steps = sweeps if steps is None else steps
    V0 = [np.asarray(x0, np.float64)] + [np.zeros((len(x0), w.shape[1])) for w in p.W]
    states, records = free_phase(p, V0, sweeps, order)
    grad_s, grad_W, grad_b = bptt(p, states, records, y)
    ep_s, ep_W, ep_b = ep_updates(p, states[-1], y, beta, min(steps, sweeps), nudged_order or order, centred)
    K, L = len(ep_s), p.L
    off = off_bounds(p, states[-1])
    neurons, weights = np.full((2, K, L), np.nan), np.full((2, K, L), np.nan)
    ep_currents = [metric(p, ep_s[t], nudged_order or order) for t in range(K)]
    for t in range(K):
        currents = ep_currents[t]
        for l in range(1, L + 1):
            if grad_s[t][l] is not None:
                neurons[:, t, l - 1] = _compare(currents[l][off[l]], -grad_s[t][l][off[l]])
            ep = np.concatenate([ep_W[t][l - 1].ravel(), ep_b[t][l - 1]])
            bp = np.concatenate([grad_W[t + 1][l - 1].ravel(), grad_b[t + 1][l - 1]])
            weights[:, t, l - 1] = _compare(ep, -bp)
    _drop_vanished(neurons, [[_norm(grad_s[t][l]) for l in range(1, L + 1)] for t in range(K)])
    _drop_vanished(weights, [[_norm(grad_W[t + 1][l]) for l in range(L)] for t in range(K)])
    return Agreement(neurons, weights, ep_currents, grad_s, ep_W, grad_W)


#: A step whose BPTT gradient (per layer) is below this fraction of the layer's largest is
#: not compared: after the nudge has died out both sides are rounding noise.
VANISHED = 1e-4


def _norm(a) -> float:
    return 0.0 if a is None else float(np.linalg.norm(a))


def _drop_vanished(table: np.ndarray, norms: list[list[float]]) -> None:
    """NaN out of ``table`` [2, K, L] where BPTT's side has died out (:data:`VANISHED`)."""
    n = np.array(norms)
    biggest = n.max(axis=0, initial=0.0)
    table[:, n < VANISHED * biggest] = np.nan


def figure(a: Agreement, title: str, coordinates: int = 3):
    """The paper's figure for one measurement: per layer (columns), EP's updates (solid)
    and minus BPTT's gradients (dashed) against the step t, for the ``coordinates``
    neurons (top; image 0, in units of current) and conductances (bottom) that BPTT's
    first step moves most."""
    from ..figure import pyplot

    plt = pyplot("resim gdu --plot")
    L, K = a.neurons.shape[2], a.neurons.shape[1]
    fig, axes = plt.subplots(2, L, figsize=(3.2 * L, 5.2), squeeze=False)
    t = np.arange(K)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for l in range(L):
        first = next((k for k in range(K) if a.bptt_s[k][l + 1] is not None and np.any(a.bptt_s[k][l + 1])), None)
        if first is None:
            axes[0, l].text(0.5, 0.5, "BPTT's adjoint is 0 here:\nno sweep reads this\nlayer's state before it",
                            ha="center", va="center", transform=axes[0, l].transAxes, fontsize=8)
        else:
            pick = np.argsort(-np.abs(a.bptt_s[first][l + 1][0]))[:coordinates]
            for c, j in enumerate(pick):
                ep = [a.ep_s[k][l + 1][0, j] for k in range(K)]
                bp = [np.nan if a.bptt_s[k][l + 1] is None else -a.bptt_s[k][l + 1][0, j] for k in range(K)]
                axes[0, l].plot(t, ep, color=colours[c], lw=1.6, marker="o", ms=3)
                axes[0, l].plot(t, bp, color=colours[c], ls="--", lw=1.2, marker="x", ms=4)
        axes[0, l].set_title(f"layer {l + 1}: neurons", fontsize=9)
        flat = [a.bptt_W[k + 1][l].ravel() for k in range(K)]
        pick = np.argsort(-np.abs(flat[0]))[:coordinates]
        for c, j in enumerate(pick):
            axes[1, l].plot(t, [a.ep_W[k][l].ravel()[j] for k in range(K)], color=colours[c], lw=1.6, marker="o", ms=3)
            axes[1, l].plot(t, [-f[j] for f in flat], color=colours[c], ls="--", lw=1.2, marker="x", ms=4)
        axes[1, l].set_title(f"W{l}: conductances", fontsize=9)
        axes[1, l].set_xlabel("step t")
    axes[0, 0].plot([], [], color="k", lw=1.6, label="EP update")
    axes[0, 0].plot([], [], color="k", ls="--", lw=1.2, label="-BPTT gradient")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
