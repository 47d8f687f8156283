"""The learning rules (docs/theory.md §4): each rule's two relaxed states, its estimate of the
cost's gradient, and the update of the parameters in place.

The content of a DRN (:mod:`resim.drn.network`) is E = sum_edges 1/2 g (v_i - v_j)^2 -
sum_i b_i v_i, so dE/dg = 1/2 (v_i - v_j)^2 and dE/db = -v: every EP-family rule is

    dC/dtheta ~ (dE/dtheta(Va) - dE/dtheta(Vb)) / scale

for its two states ``Va``, ``Vb`` (:func:`phases`), computed as gradient arrays
(:func:`ep_difference`) or applied to the parameters directly (:func:`descend`). The
``exact`` rule is the true gradient at the free equilibrium (:func:`exact_gradient`),
applied by :func:`apply_gradient`.
"""

from __future__ import annotations

import functools
from concurrent.futures import Executor

import numpy as np

from .engines import engine_of
from .kernels import beyond_cache, column_blocks, step_columns
from .network import DRN, Relaxer

ALGORITHMS = ("centered-ep", "positive-ep", "negative-ep", "contrastive", "centered-cl", "positive-cl",
              "negative-cl", "exact")


def ep_difference(Va: list[np.ndarray], Vb: list[np.ndarray],
                  scale: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(dE/dtheta(Va) - dE/dtheta(Vb)) / scale, averaged over the batch, computed without
    the states' common terms: for W[l], 1/2 (a^2 - a'^2) + 1/2 (c^2 - c'^2) - (a^T c - a'^T c')."""
    B = len(Va[0])
    e = engine_of(Va[0])
    gW, gb = [], []
    for l in range(len(Va) - 1):
        a, c, a2, c2 = Va[l], Va[l + 1], Vb[l], Vb[l + 1]
        if l == 0:  # the inputs are the same in both states
            dsq_a = e.zeros(a.shape[1])
            cross = a.T @ (c - c2)
        else:
            dsq_a = 0.5 * (e.coldot(a, a) - e.coldot(a2, a2))
            cross = a.T @ c - a2.T @ c2
        dsq_c = 0.5 * (e.coldot(c, c) - e.coldot(c2, c2))
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
           drive0: np.ndarray | None = None,
           order: str = "odd-even") -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """The two states and the divisor of an EP-family rule: its estimate of dC/dtheta is
    (dE/dtheta(Va) - dE/dtheta(Vb)) / scale (see :func:`estimate`). ``order``: the layer
    order of the nudged (or clamped) phases' sweeps."""
    L, beta, e = relaxer.L, nudging, relaxer.engine
    kw = {"drive0": drive0, "order": order}
    if algorithm == "centered-ep":
        # the +beta and -beta phases as one stacked batch: every weight matrix is read once
        # per sweep for both (the relaxation is memory-bound at small batches)
        B = len(y)
        both = relaxer.relax([e.concat([v, v]) for v in V0], sweeps,
                             e.concat([e.full((B, 1), beta), e.full((B, 1), -beta)]), e.concat([y, y]),
                             drive0=None if drive0 is None else e.concat([drive0, drive0]), order=order)
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
    sums ``1^T W[0]`` of the updated W[0], computed on each half while it is in cache
    (numpy; other engines return None, and the caller computes them).
    """
    e = net.engine
    if e.backend != "numpy" and e.numpy_view(net.b[0]) is not None and beyond_cache(e.numpy_view(net.W[0])):
        return _descend_in_place(net, Va, Vb, scale, lr_w, lr_b, momentum, mom_W, mom_b, upcoming, pool)
    B = len(Va[0])
    W0 = net.W[0]
    feed = None if upcoming is None or not e.fuses_updates() else (
        np.ascontiguousarray(upcoming, W0.dtype), np.ones(W0.shape[0], W0.dtype),
        np.empty((len(upcoming), W0.shape[1]), W0.dtype), np.empty(W0.shape[1], W0.dtype))
    mine, jobs = [], []  # column blocks for this thread; the pool's running halves
    for l, W in enumerate(net.W):
        a, c, a2, c2 = Va[l], Va[l + 1], Vb[l], Vb[l + 1]
        dsq_c = 0.5 * (e.coldot(c, c) - e.coldot(c2, c2))
        if l == 0:
            P = e.concat([-a, e.ones((1, a.shape[1]))])
            Q = e.concat([c - c2, dsq_c[None, :]])
        else:
            dsq_a = 0.5 * (e.coldot(a, a) - e.coldot(a2, a2))
            P = e.concat([-a, -a2, dsq_a[None, :], e.ones((1, a.shape[1]))])
            Q = e.concat([c, -c2, e.ones((1, c.shape[1])), dsq_c[None, :]])
        g_b = -(c - c2).sum(axis=0) / (scale * B)
        if momentum:
            mom_b[l] *= momentum
            mom_b[l] += g_b
            net.b[l] -= lr_b[l] * mom_b[l]
        else:
            net.b[l] -= lr_b[l] * g_b
        step = functools.partial(step_columns, e, W, mom_W[l] if momentum else None, P, Q, momentum,
                                 lr_w[l], 1.0 / (scale * B), feed if l == 0 else None)
        blocks = column_blocks(W) if e.backend == "numpy" else [slice(None)]
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


def _descend_in_place(net: DRN, Va, Vb, scale, lr_w, lr_b, momentum, mom_W, mom_b, upcoming, pool):
    """:func:`descend` of a network whose arrays numpy can read in place (torch on the CPU),
    by numpy's update on those views, where it pays: a W[0] far beyond the cache
    (:func:`~resim.drn.kernels.beyond_cache`, DRN-XL), which numpy updates reading it from
    memory once (the numba pass at batch 4, cache-sized strips at batch 32) and torch once
    per operation: DRN-XL took 354 s per epoch against 1,384 s at batch 4, 176 s against
    306 s at batch 32. Elsewhere torch's own update is the faster (DRN-3H: 14 s per epoch
    against 34 s through numpy's). The next batch's input currents come back on the
    network's engine."""
    e = net.engine
    view = e.numpy_view
    host = DRN([view(w) for w in net.W], [view(b) for b in net.b], net.gain)
    if not all(np.may_share_memory(h, v) for h, v in zip(host.W, map(view, net.W))):
        raise RuntimeError("the conductances are not column-major: numpy's update would change a copy")
    feed = descend(host, [view(v) for v in Va], [view(v) for v in Vb], scale, lr_w, lr_b, momentum,
                   [view(m) for m in mom_W], [view(m) for m in mom_b],
                   None if upcoming is None else view(upcoming), pool)
    return None if feed is None else tuple(e.from_numpy_view(a) for a in feed)


def apply_gradient(net: DRN, gW: list[np.ndarray], gb: list[np.ndarray], lr_w, lr_b, momentum: float,
                   mom_W: list[np.ndarray], mom_b: list[np.ndarray]) -> None:
    """theta -= lr m, m = mu m + g (m = g without momentum), conductances clipped at 0:
    :func:`descend` for a rule given as gradient arrays (``exact``)."""
    for l in range(len(net.W)):
        for theta, m, g, lr in ((net.W[l], mom_W[l], gW[l], lr_w[l]), (net.b[l], mom_b[l], gb[l], lr_b[l])):
            m *= momentum
            m += g
            theta -= lr * m
        net.engine.clip_conductances(net.W[l])


def exact_gradient(net: DRN, V: list[np.ndarray], y: np.ndarray,
                   tol: float = 1e-9) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """dC/dtheta at the free equilibrium ``V`` by implicit differentiation on the active set
    (batch mean). The KCL residuals R_F(v, theta) = 0 of the free nodes F (hidden nodes off
    their diode's bound, and the outputs) define v_F(theta); with H = dR_F/dv_F (the
    conductance matrix on F) and lambda = H^-1 dC/dv_F: dC/dg_ij = -(lambda_i - lambda_j)
    (v_i - v_j), dC/db_i = lambda_i (lambda = 0 off F). One dense solve per image, in numpy
    whatever the network's engine; the gradients come back on that engine."""
    engine = net.engine
    net = net.numpy()
    V, y = [engine.numpy(v) for v in V], engine.numpy(y)
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
    return [engine.matrix(g / B) for g in gW], [engine.asarray(g / B) for g in gb]
