"""Truncated backpropagation through the relaxation (TBP, docs/theory.md §5): the follow-up's
baseline learning rule for the DRN.

From the free state ``V0`` (a constant: no gradient flows into it), ``sweeps`` further free
sweeps of :meth:`resim.drn.network.Relaxer.relax` give ``V``; TBP is the exact gradient of
the cost at their end, C = 1/2 |v_L - y|^2 (batch mean), with respect to the conductances
``W`` and bias currents ``b``, backpropagated through those sweeps only. Each node update
of a sweep is

    s_l = v_(l-1) W_(l-1) + v_(l+1) W_l^T + b_(l-1)     (no v_(l+1) term for the outputs)
    v_l = clip(s_l inv_l),   inv_l = 1 / den_l,   den_l = 1^T W_(l-1) + W_l 1

so with e = dC/dv_l * [not clipped] * inv_l (the adjoint of s_l): dC/db_(l-1) = sum e,
dC/dW_(l-1) += v_(l-1)^T e, dC/dW_l += e^T v_(l+1), the neighbours' adjoints get e W_(l-1)^T
and e W_l, and dC/dinv_l = sum (dC/dv_l * [not clipped]) s_l, which the denominators pass
on to every conductance of the node: dC/dden_l = -inv_l^2 dC/dinv_l. A node without
conductance (den = 0, inv = 0) keeps inv = 0 as a constant, as the relaxation does.
The forward sweeps keep, per node update, its currents ``s`` and its diodes' mask ([B, n]
each); the conductances' gradients are one product each over the stacked updates.

This is what the public code's ``Backprop`` estimator computes (autograd through its
``QuadraticMinimizer``, whose coefficients, denominators included, are recomputed from the
weights at every step), except that torch's clamp also passes the gradient of a value that
lands exactly on its bound; so does this one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Relaxer, layer_order


@dataclass
class _Update:
    """One node update of the forward sweeps, as the backward pass needs it: the layer,
    its currents ``s`` before scaling, where its diode did not clip (None for the outputs),
    the neighbours' states it read (``below`` None for layer 1, whose input currents are
    fixed; ``above`` None for the outputs), and whether each of those states depends on the
    parameters (not the constant start ``V0``), so that an adjoint must flow into it."""

    l: int
    s: np.ndarray
    passed: np.ndarray | None
    below: np.ndarray | None
    above: np.ndarray | None
    below_moved: bool
    above_moved: bool


def truncated_gradient(relaxer: Relaxer, V0: list[np.ndarray], y: np.ndarray, sweeps: int, order: str,
                       drive0: np.ndarray | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(dC/dW, dC/db), batch means, of C = 1/2 |v_L - y|^2 after ``relaxer.relax(V0, sweeps,
    order=order, drive0=drive0)``, through those sweeps only (``V0`` constant). ``drive0``:
    ``V0[0] W[0]`` when the caller has it. The gradients have the network's dtype, and each
    ``dC/dW[l]`` its layout (column-major)."""
    net, L, engine = relaxer.net, relaxer.L, relaxer.engine
    W = net.W
    updates, V = _forward(relaxer, V0, sweeps, order, drive0)
    B = len(V0[0])
    grad = [None] * (L + 1)  # dC/dv of each layer's current value (None: nothing flows there)
    grad[L] = (V[L] - engine.asarray(y)) * (1.0 / B)
    pairs: list[list[tuple]] = [[] for _ in W]  # dC/dW[m] = sum a^T c
    e_in = engine.zeros((B, W[0].shape[1]))  # the adjoints of layer 1's currents, summed
    d_inv = [engine.zeros(n) for n in net.sizes[1:]]
    gb = [engine.zeros(len(b)) for b in net.b]
    for u in reversed(updates):
        g = grad[u.l]
        grad[u.l] = None  # the value before this update was not read by it
        if g is None:
            continue
        if u.passed is not None:
            g = g * u.passed
        i = u.l - 1  # index of the layer's denominator, bias and incoming conductances
        d_inv[i] += engine.coldot(g, u.s)
        e = g * relaxer.inv[i]
        gb[i] += e.sum(axis=0)
        if u.l == 1:
            e_in += e
        else:
            pairs[i].append((u.below, e))
            if u.below_moved:
                _accumulate(grad, u.l - 1, engine.product(e, W[i].T, relaxer.pool))
        if u.l < L:
            pairs[u.l].append((e, u.above))
            if u.above_moved:
                _accumulate(grad, u.l + 1, engine.product(e, W[u.l], relaxer.pool))
    pairs[0].append((V0[0], e_in))
    # each denominator is the node's conductance sum: its gradient goes to all of them
    d_den = [-(inv * inv) * d for inv, d in zip(relaxer.inv, d_inv)]
    gW = []
    for m, w in enumerate(W):
        ones_in, ones_out = engine.ones((1, w.shape[0])), engine.ones((1, w.shape[1]))
        P = [a for a, _ in pairs[m]] + [ones_in] + ([d_den[m - 1][None, :]] if m else [])
        Q = [c for _, c in pairs[m]] + [d_den[m][None, :]] + ([ones_out] if m else [])
        gW.append(engine.inner(engine.concat(P), engine.concat(Q), relaxer.pool))
    return gW, gb


def _forward(relaxer: Relaxer, V0: list[np.ndarray], sweeps: int, order: str,
             drive0: np.ndarray | None) -> tuple[list[_Update], list[np.ndarray]]:
    """The free sweeps of :meth:`Relaxer.relax` with its arithmetic (the same bits), keeping
    each update's record for the backward pass; returns the records and the final state."""
    Wp, b, L = relaxer.Wp, relaxer.net.b, relaxer.L
    V = list(V0)
    if drive0 is None:
        drive0 = relaxer.drive(V[0])
    fixed = [drive0 + b[0], *b[1:]]
    moved = [False] * (L + 1)  # which layers hold a value that depends on the parameters
    updates = []
    for _ in range(sweeps):
        for l in layer_order(L, order):
            # relax's sums in relax's order: the layer below, the layer above, the fixed currents
            terms = ([relaxer.product(V[l - 1], Wp[l - 1])] if l > 1 else []) + \
                    ([relaxer.product(V[l + 1], Wp[l].T)] if l < L else [])
            s = terms[0] if terms else fixed[0].copy()
            for term in terms[1:]:
                s += term
            if terms:
                s += fixed[l - 1]
            v = s * relaxer.inv[l - 1]
            passed = None
            if l < L:
                low, high = relaxer.low[l - 1], relaxer.high[l - 1]
                passed = (v >= low) & (v <= high)
                relaxer.engine.clip_(v, low, high)
            above = V[l + 1] if l < L else None
            updates.append(_Update(l, s, passed, V[l - 1] if l > 1 else None, above, moved[l - 1],
                                   l < L and moved[l + 1]))
            V[l] = v
            moved[l] = True
    return updates, V


def _accumulate(grad: list, l: int, g: np.ndarray) -> None:
    """grad[l] += g, where grad[l] may still be None."""
    if grad[l] is None:
        grad[l] = g
    else:
        grad[l] += g
