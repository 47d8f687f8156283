"""The deep resistive network (science.md §3) as arrays, its relaxation, and its gradients.

Layers ``0..L``: layer 0 the ``2 * pixels`` input nodes, held by voltage sources at
``gain * (+x, -x)``; layers ``1..L-1`` hidden, the first half of each with an ideal diode
to ground keeping ``v >= 0`` (excitatory), the second half ``v <= 0`` (inhibitory); layer
``L`` the outputs (no diodes), read as voltages. ``W[l]`` [n_l, n_(l+1)] are the
conductances between consecutive layers (>= 0), ``b[l]`` [n_(l+1)] the bias currents into
layer ``l+1``.

Relaxation is exact coordinate descent in its layered, 2-colour form (science.md §2): the
odd layers, then the even layers, each node set to the conductance-weighted mean of its
neighbours plus its bias current, clipped by its diode:

    v_l = clip( (v_(l-1) W_(l-1) + v_(l+1) W_l^T + b_(l-1)) / (1^T W_(l-1) + W_l 1) )

batched over images ([B, n_l] arrays). Nudged phases add ``beta (y - v_L)`` to the output
currents (the cost C = 1/2 |v_L - y|^2 times beta); clamped phases hold ``v_L`` fixed.
The content is E = sum_edges 1/2 g (v_i - v_j)^2 - sum_i b_i v_i, so dE/dg = 1/2 (v_i -
v_j)^2 and dE/db = -v: every learning rule below is built from those (science.md §4).
"""

from __future__ import annotations

import functools
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from .blas import add_outer

ALGORITHMS = ("centered-ep", "positive-ep", "negative-ep", "contrastive", "centered-cl", "positive-cl",
              "negative-cl", "exact")


@dataclass
class DRN:
    """Parameters of a DRN (``W`` conductances, ``b`` bias currents) and its input gain.

    The conductance matrices are kept column-major (Fortran order), whatever order they
    are given in: the training step updates, clips and multiplies them in column blocks
    (:func:`descend`), and a column block of a column-major matrix is one contiguous piece
    of memory (which scipy's ``gemm``, the fallback of :mod:`resim.drn.blas`, requires)."""

    W: list[np.ndarray]
    b: list[np.ndarray]
    gain: float

    def __post_init__(self) -> None:
        self.W = [np.asfortranarray(w) for w in self.W]

    @property
    def sizes(self) -> list[int]:
        return [self.W[0].shape[0]] + [w.shape[1] for w in self.W]

    @classmethod
    def init(cls, layers: list[int], gain: float, rng: np.random.Generator, dtype=np.float64) -> "DRN":
        """``layers`` = [pixels, hidden..., classes]; inputs are doubled. Conductances start
        uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) clipped at 0, biases at 0 (science.md §3)."""
        sizes = [2 * layers[0], *layers[1:]]
        W = [np.clip(rng.uniform(-1, 1, (a, b)) / np.sqrt(a), 0, None).astype(dtype) for a, b in zip(sizes, sizes[1:])]
        return cls(W, [np.zeros(n, dtype) for n in sizes[1:]], gain)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """[B, pixels] images in [0, 1] -> [B, 2 pixels] input voltages ``gain (+x, -x)``."""
        x = np.asarray(x, self.W[0].dtype)
        return self.gain * np.concatenate([x, -x], axis=1)

    def copy(self) -> "DRN":
        return DRN([w.copy() for w in self.W], [b.copy() for b in self.b], self.gain)


class Relaxer:
    """Layered coordinate descent for one set of parameters (the denominators are fixed)."""

    def __init__(self, net: DRN, colsum0: np.ndarray | None = None, pool: Executor | None = None) -> None:
        """``colsum0``: the column sums of ``W[0]``, when the caller already has them;
        ``pool``: one worker thread for the second half of every large product."""
        self.net = net
        self.pool = pool
        W = net.W
        L = len(W)
        self.L = L
        # conductance to the previous layer plus to the next one, per node of layers 1..L
        into = [W[0].sum(axis=0) if colsum0 is None else colsum0] + [W[l - 1].sum(axis=0) for l in range(2, L + 1)]
        self.den = [into[l - 1] + (W[l].sum(axis=1) if l < L else 0.0) for l in range(1, L + 1)]
        self.inv = [_reciprocal(d) for d in self.den]  # 0 for a node without conductance
        self.low, self.high = _diode_bounds(tuple(net.sizes[1:-1]), W[0].dtype.char)
        # odd layers, then even ones (each colour depends only on the other)
        self.order = [l for parity in (1, 0) for l in range(1, L + 1) if l % 2 == parity]

    def start(self, x: np.ndarray) -> list[np.ndarray]:
        """Zero states for a batch: ``V[0]`` the inputs, ``V[1..L]`` zeros."""
        v0 = self.net.inputs(x)
        return [v0] + [np.zeros((len(v0), n), v0.dtype) for n in self.net.sizes[1:]]

    def relax(self, V: list[np.ndarray], sweeps: int, beta: float = 0.0, y: np.ndarray | None = None,
              clamp: np.ndarray | None = None, drive0: np.ndarray | None = None) -> list[np.ndarray]:
        """``sweeps`` sweeps from ``V`` (not modified): free (``beta = 0``), nudged toward
        ``y``, or with the outputs clamped to ``clamp``. ``drive0 = V[0] W[0]`` (the inputs'
        currents into layer 1) may be passed in: every phase of a batch shares it.

        At batch sizes of a few images every array here is small, and the time goes to
        numpy's per-call overhead: each node update is a product per neighbouring layer and
        four in-place calls (add, scale, two bounds), and nothing is copied."""
        W, b, L = self.net.W, self.net.b, self.L
        V = list(V)
        order = self.order
        if clamp is not None:
            V[L] = clamp
            order = [l for l in order if l != L]
        if drive0 is None:
            drive0 = self._product(V[0], W[0])
        inv = self.inv
        fixed = [drive0 + b[0], *b[1:]]  # currents that do not change during the sweeps
        if isinstance(beta, np.ndarray) or beta != 0:  # the cost's pull on the outputs: beta (y - v_L)
            inv = [*inv[:-1], _reciprocal(self.den[-1] + beta)]  # beta may be [B, 1]
            fixed[-1] = fixed[-1] + beta * y
        for _ in range(sweeps):
            for l in order:
                # the neighbours' currents (layer 0's are in fixed[0]), then the fixed ones
                v = self._product(V[l - 1], W[l - 1]) if l > 1 else None
                if l < L:
                    if v is None:
                        v = self._product(V[l + 1], W[l].T)
                    else:
                        v += self._product(V[l + 1], W[l].T)
                if v is None:
                    v = fixed[0] * inv[0]
                else:
                    v += fixed[l - 1]
                    v *= inv[l - 1]
                if l < L:
                    np.maximum(v, self.low[l - 1], out=v)
                    np.minimum(v, self.high[l - 1], out=v)
                V[l] = v
        return V

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a b; a large b in two fixed column halves, the second on the pool's thread when
        there is one (the halves are the same without it: the same bits either way)."""
        blocks = _column_blocks(b)
        if len(blocks) == 1:
            return a @ b
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
        first, second = blocks
        other = None
        if self.pool is None:
            np.matmul(a, b[:, second], out=out[:, second])
        else:
            other = self.pool.submit(np.matmul, a, b[:, second], out=out[:, second])
        np.matmul(a, b[:, first], out=out[:, first])
        if other is not None:
            other.result()
        return out

    def converge(self, V, tol: float = 1e-12, max_sweeps: int = 100_000, **kw) -> list[np.ndarray]:
        """Sweep until the largest change is below ``tol`` (for tests and exact gradients)."""
        for _ in range(max_sweeps):
            nxt = self.relax(V, 1, **kw)
            delta = max(float(np.max(np.abs(a - c))) for a, c in zip(nxt[1:], V[1:]))
            V = nxt
            if delta <= tol:
                return V
        raise RuntimeError("DRN relaxation did not converge")


@functools.cache
def _diode_bounds(hidden: tuple[int, ...], dtype: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each hidden layer's diode bounds as [1, n] rows: v >= 0 on its first half (low 0,
    high inf), v <= 0 on its second (low -inf, high 0). Read-only: shared by every Relaxer."""
    low, high = [], []
    for n in hidden:
        h = n // 2
        low.append(np.r_[np.zeros(h), np.full(n - h, -np.inf)].astype(dtype)[None, :])
        high.append(np.r_[np.full(h, np.inf), np.zeros(n - h)].astype(dtype)[None, :])
    for a in low + high:
        a.flags.writeable = False
    return low, high


def _reciprocal(d: np.ndarray) -> np.ndarray:
    """1/d, and 0 where d = 0 (a node no conductance reaches stays at 0)."""
    out = np.zeros_like(d)
    np.divide(1.0, d, out=out, where=d > 0)
    return out


def ep_difference(Va, Vb, scale: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(dE/dtheta(Va) - dE/dtheta(Vb)) / scale, averaged over the batch, computed without
    the states' common terms: for W[l], 1/2 (a^2 - a'^2) + 1/2 (c^2 - c'^2) - (a^T c - a'^T c')."""
    B = len(Va[0])
    gW, gb = [], []
    for l in range(len(Va) - 1):
        a, c, a2, c2 = Va[l], Va[l + 1], Vb[l], Vb[l + 1]
        if l == 0:  # the inputs are the same in both states
            dsq_a = np.zeros(a.shape[1], a.dtype)
            cross = a.T @ (c - c2)
        else:
            dsq_a = 0.5 * (np.einsum("bi,bi->i", a, a) - np.einsum("bi,bi->i", a2, a2))
            cross = a.T @ c - a2.T @ c2
        dsq_c = 0.5 * (np.einsum("bj,bj->j", c, c) - np.einsum("bj,bj->j", c2, c2))
        gW.append((dsq_a[:, None] + dsq_c[None, :] - cross) / (scale * B))
        gb.append(-(c - c2).sum(axis=0) / (scale * B))
    return gW, gb


def estimate(relaxer: Relaxer, V0: list[np.ndarray], y: np.ndarray, algorithm: str, nudging: float,
             sweeps: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The learning rule's estimate of dC/dtheta (batch mean) from the free state ``V0``
    (as gradient arrays; training applies the same difference with :func:`descend`)."""
    if algorithm == "exact":
        return exact_gradient(relaxer.net, V0, y)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose from {', '.join(ALGORITHMS)}")
    return ep_difference(*phases(relaxer, V0, y, algorithm, nudging, sweeps))


def phases(relaxer: Relaxer, V0: list[np.ndarray], y: np.ndarray, algorithm: str, nudging: float, sweeps: int,
           drive0: np.ndarray | None = None) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """The two states and the divisor of an EP-family rule: its estimate of dC/dtheta is
    (dE/dtheta(Va) - dE/dtheta(Vb)) / scale (see :func:`estimate`)."""
    L, beta = relaxer.L, nudging
    kw = {"drive0": drive0}
    if algorithm == "centered-ep":
        # the +beta and -beta phases as one stacked batch: every weight matrix is read once
        # per sweep for both (the relaxation is memory-bound at small batches)
        B = len(y)
        both = relaxer.relax([np.concatenate([v, v]) for v in V0], sweeps,
                             np.concatenate([np.full((B, 1), beta, y.dtype), np.full((B, 1), -beta, y.dtype)]),
                             np.concatenate([y, y]),
                             drive0=None if drive0 is None else np.concatenate([drive0, drive0]))
        return [v[:B] for v in both], [v[B:] for v in both], 2 * beta
    if algorithm == "positive-ep":
        return relaxer.relax(V0, sweeps, beta, y, **kw), V0, beta
    if algorithm == "negative-ep":
        return relaxer.relax(V0, sweeps, -beta, y, **kw), V0, -beta
    if algorithm == "contrastive":
        return relaxer.relax(V0, sweeps, clamp=y, **kw), V0, 1.0
    out = V0[L]
    up, down = out + beta * (y - out), out - beta * (y - out)
    if algorithm == "centered-cl":
        return relaxer.relax(V0, sweeps, clamp=up, **kw), relaxer.relax(V0, sweeps, clamp=down, **kw), 2 * beta
    if algorithm == "positive-cl":
        return relaxer.relax(V0, sweeps, clamp=up, **kw), V0, beta
    if algorithm == "negative-cl":
        return relaxer.relax(V0, sweeps, clamp=down, **kw), V0, -beta
    raise ValueError(f"no two-phase form for {algorithm!r}")


def descend(net: DRN, Va: list[np.ndarray], Vb: list[np.ndarray], scale: float, lr_w, lr_b, momentum: float,
            mom_W: list[np.ndarray], mom_b: list[np.ndarray], upcoming: np.ndarray | None = None,
            pool: Executor | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """theta -= lr (dE/dtheta(Va) - dE/dtheta(Vb)) / (scale B), in place, conductances
    clipped at 0; with momentum m = mu m + g, theta -= lr m.

    The weight term of layer l is a product of thin matrices, so it goes into W with one
    BLAS ``gemm`` (W += alpha P^T Q, no [n_l, n_(l+1)] temporary):
    (dE(Va) - dE(Vb)) = 1/2 (a^2 - a'^2) 1^T + 1/2 1 (c^2 - c'^2)^T - (a^T c - a'^T c')
    = P^T Q with P = [-a; -a'; dsq_a; 1], Q = [c; -c'; 1; dsq_c] (stacked over the batch);
    for the inputs (a = a') P = [-a; 1], Q = [c - c'; dsq_c].

    Each large W is updated, clipped and (for W[0]) read in two column halves, on two
    cores when ``pool`` (one worker thread) is given: the halves are the same either way,
    so the result does not depend on the thread count. With ``upcoming`` (the next batch's
    input voltages), returns that batch's input currents ``upcoming W[0]`` and the column
    sums ``1^T W[0]`` of the updated W[0], computed on each half while it is in cache.
    """
    B = len(Va[0])
    W0 = net.W[0]
    feed = None if upcoming is None else (np.ascontiguousarray(upcoming, W0.dtype), np.ones(W0.shape[0], W0.dtype),
                                          np.empty((len(upcoming), W0.shape[1]), W0.dtype),
                                          np.empty(W0.shape[1], W0.dtype))
    mine, jobs = [], []  # column blocks for this thread; the pool's running halves
    for l, W in enumerate(net.W):
        a, c, a2, c2 = Va[l], Va[l + 1], Vb[l], Vb[l + 1]
        dsq_c = 0.5 * (np.einsum("bj,bj->j", c, c) - np.einsum("bj,bj->j", c2, c2))
        if l == 0:
            P = np.vstack([-a, np.ones((1, a.shape[1]), a.dtype)])
            Q = np.vstack([c - c2, dsq_c[None, :]])
        else:
            dsq_a = 0.5 * (np.einsum("bi,bi->i", a, a) - np.einsum("bi,bi->i", a2, a2))
            P = np.vstack([-a, -a2, dsq_a[None, :], np.ones((1, a.shape[1]), a.dtype)])
            Q = np.vstack([c, -c2, np.ones((1, c.shape[1]), c.dtype), dsq_c[None, :]])
        g_b = -(c - c2).sum(axis=0) / (scale * B)
        if momentum:
            mom_b[l] *= momentum
            mom_b[l] += g_b
            net.b[l] -= lr_b[l] * mom_b[l]
        else:
            net.b[l] -= lr_b[l] * g_b
        step = functools.partial(_step_columns, W, mom_W[l] if momentum else None, P, Q, momentum,
                                 lr_w[l], 1.0 / (scale * B), feed if l == 0 else None)
        blocks = _column_blocks(W)
        if len(blocks) == 1:
            mine.insert(0, (step, blocks[0]))  # small layers first, while the pool works
        elif pool is None:
            mine += [(step, cols) for cols in blocks]
        else:
            mine.append((step, blocks[0]))
            jobs.append(pool.submit(step, blocks[1]))
    for step, cols in mine:
        step(cols)
    for job in jobs:
        job.result()
    return None if feed is None else (feed[2], feed[3])


_SPLIT = 1 << 16  # matrices at least this large are updated and multiplied in two column halves


def _column_blocks(W: np.ndarray) -> list[slice]:
    """The fixed column blocks in which W is updated or multiplied: two halves when large
    (one per core), else one. Fixed, so that the bits do not depend on the thread count."""
    n = W.shape[1]
    return [slice(0, n // 2), slice(n // 2, n)] if W.size >= _SPLIT else [slice(0, n)]


def _step_columns(W, M, P, Q, momentum, lr, alpha, feed, cols: slice) -> None:
    """:func:`descend` on the columns ``cols`` of one layer: W -= lr alpha P^T Q (or the
    momentum form), clip at 0, then the upcoming batch's currents and the column sums."""
    Wb, Qb = W[:, cols], Q[:, cols]
    if M is not None:
        Mb = M[:, cols]
        add_outer(Mb, alpha, P, Qb, beta=momentum)
        Wb -= lr * Mb
    else:
        add_outer(Wb, -lr * alpha, P, Qb)
    clip_conductances(Wb)
    if feed is not None:
        x, ones, drive, colsum = feed
        drive[:, cols] = x @ Wb
        colsum[cols] = ones @ Wb


def apply_gradient(net: DRN, gW: list[np.ndarray], gb: list[np.ndarray], lr_w, lr_b, momentum: float,
                   mom_W: list[np.ndarray], mom_b: list[np.ndarray]) -> None:
    """theta -= lr m, m = mu m + g (m = g without momentum), conductances clipped at 0:
    :func:`descend` for a rule given as gradient arrays (``exact``)."""
    for l in range(len(net.W)):
        for theta, m, g, lr in ((net.W[l], mom_W[l], gW[l], lr_w[l]), (net.b[l], mom_b[l], gb[l], lr_b[l])):
            m *= momentum
            m += g
            theta -= lr * m
        clip_conductances(net.W[l])


def clip_conductances(W: np.ndarray) -> None:
    """W = max(W, 0) in place. The zero is a vector along W's contiguous axis: numpy then
    takes its SIMD loop for two contiguous operands; with a scalar 0 (or np.clip) it takes
    a loop about 3x slower, and a masked copy mispredicts on the ~50% of entries that an
    update pushes below 0."""
    zero = np.zeros((W.shape[0], 1) if W.flags.f_contiguous else (1, W.shape[-1]), W.dtype)
    np.maximum(W, zero, out=W)


def exact_gradient(net: DRN, V: list[np.ndarray], y: np.ndarray, tol: float = 1e-9):
    """dC/dtheta at the free equilibrium ``V`` by implicit differentiation on the active set
    (batch mean). The KCL residuals R_F(v, theta) = 0 of the free nodes F (hidden nodes off
    their diode's bound, and the outputs) define v_F(theta); with H = dR_F/dv_F (the
    conductance matrix on F) and lambda = H^-1 dC/dv_F: dC/dg_ij = -(lambda_i - lambda_j)
    (v_i - v_j), dC/db_i = lambda_i (lambda = 0 off F). One dense solve per image."""
    sizes = net.sizes
    offs = np.cumsum([0, *sizes])
    n = offs[-1]
    G = np.zeros((n, n))
    for l, w in enumerate(net.W):
        G[offs[l]:offs[l + 1], offs[l + 1]:offs[l + 2]] = w
    G = G + G.T
    Lap = np.diag(G.sum(axis=1)) - G
    gW = [np.zeros_like(w) for w in net.W]
    gb = [np.zeros_like(b) for b in net.b]
    B = len(V[0])
    for k in range(B):
        v = np.concatenate([layer[k] for layer in V])
        free = np.ones(n, bool)
        free[: offs[1]] = False  # inputs
        for l in range(1, len(sizes) - 1):  # hidden nodes held by their diode at 0
            free[offs[l]:offs[l + 1]] &= np.abs(v[offs[l]:offs[l + 1]]) > tol * (1 + np.abs(v).max())
        dC = np.zeros(n)
        dC[offs[-2]:] = v[offs[-2]:] - y[k]
        F = np.flatnonzero(free)
        lam = np.zeros(n)
        lam[F] = np.linalg.solve(Lap[np.ix_(F, F)], dC[F])
        for l in range(len(net.W)):
            vi, vj = v[offs[l]:offs[l + 1]], v[offs[l + 1]:offs[l + 2]]
            li, lj = lam[offs[l]:offs[l + 1]], lam[offs[l + 1]:offs[l + 2]]
            gW[l] -= (li[:, None] - lj[None, :]) * (vi[:, None] - vj[None, :])
            gb[l] += lj
    return [g / B for g in gW], [g / B for g in gb]


def outputs(net: DRN, x: np.ndarray, batch: int = 1000, pool: Executor | None = None) -> np.ndarray:
    """Output voltages [B, classes] at the free equilibrium (relaxed to convergence: the
    circuit's operating point, what ``resim solve`` of the exported netlist gives).
    ``pool``: a worker thread for the second halves of the large products."""
    relaxer = Relaxer(net, pool=pool)
    out = []
    for a in range(0, len(x), batch):
        V = relaxer.start(x[a:a + batch])
        V = relaxer.converge(V, tol=1e-10 * (1.0 + net.gain))
        out.append(V[-1])
    return np.concatenate(out) if out else np.zeros((0, net.sizes[-1]))


def predict(net: DRN, x: np.ndarray, batch: int = 1000, pool: Executor | None = None) -> np.ndarray:
    """The class of each image: the arg-max of the output voltages at equilibrium."""
    return np.argmax(outputs(net, x, batch, pool), axis=1)
