"""The deep resistive network (docs/theory.md §3) as arrays, and its relaxation.

Layers ``0..L``: layer 0 the ``2 * pixels`` input nodes, held by voltage sources at
``gain * (+x, -x)``; layers ``1..L-1`` hidden, the first half of each with an ideal diode
to ground keeping ``v >= 0`` (excitatory), the second half ``v <= 0`` (inhibitory); layer
``L`` the outputs (no diodes), read as voltages. ``W[l]`` [n_l, n_(l+1)] are the
conductances between consecutive layers (>= 0), ``b[l]`` [n_(l+1)] the bias currents into
layer ``l+1``.

Relaxation is exact coordinate descent in layered form (docs/theory.md §2): layer after layer,
each node set to the conductance-weighted mean of its neighbours plus its bias current,
clipped by its diode:

    v_l = clip( (v_(l-1) W_(l-1) + v_(l+1) W_l^T + b_(l-1)) / (1^T W_(l-1) + W_l 1) )

batched over images ([B, n_l] arrays). The order of the layers within a sweep
(:data:`ORDERS`): ``"odd-even"``, the odd layers then the even ones (each colour depends only
on the other: the ICML 2024 paper's runs, docs/theory.md §6); ``"forward"``, input to output, and ``"backward"``,
output to input (the follow-up's free and nudged phases, docs/theory.md §6). With one hidden
layer, odd-even and forward coincide. Nudged phases add ``beta (y - v_L)`` to the output
currents (the cost C = 1/2 |v_L - y|^2 times beta); clamped phases hold ``v_L`` fixed.
The learning rules built on these states are in :mod:`resim.drn.rules`.
"""

from __future__ import annotations

import math

from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from .engine import NUMPY64, Engine
from .engines import engine_of

ORDERS = ("odd-even", "forward", "backward")


def layer_order(L: int, order: str) -> list[int]:
    """The layers ``1..L`` in the order a sweep relaxes them (see :data:`ORDERS`)."""
    if order == "odd-even":
        return [l for parity in (1, 0) for l in range(1, L + 1) if l % 2 == parity]
    if order == "forward":
        return list(range(1, L + 1))
    if order == "backward":
        return list(range(L, 0, -1))
    raise ValueError(f"unknown layer order {order!r}; choose from {', '.join(ORDERS)}")


@dataclass
class DRN:
    """Parameters of a DRN (``W`` conductances, ``b`` bias currents), its input gain, and
    the engine its arrays live on (:mod:`resim.drn.engine`; default: numpy, in the dtype of
    the arrays given).

    With numpy, the conductance matrices are kept column-major (Fortran order), whatever
    order they are given in: the training step updates, clips and multiplies them in column
    blocks (:func:`resim.drn.rules.descend`), and a column block of a column-major matrix is
    one contiguous piece of memory (which scipy's ``gemm``, the fallback of
    :mod:`resim.drn.blas`, requires)."""

    W: list
    b: list
    gain: float
    engine: Engine = field(default=None, repr=False)  # type: ignore[assignment]
    # hidden diodes that conduct from -diode_shift (excitatory) and +diode_shift (inhibitory)
    # instead of 0, with conductance diode_g once on (inf: a hard bound): a PWL diode's
    # threshold and on-conductance in network units (hardware-aware training, resim.hardware)
    diode_shift: float = 0.0
    diode_g: float = math.inf

    def __post_init__(self) -> None:
        if self.engine is None:
            self.engine = engine_of(self.W[0]) if len(self.W) else NUMPY64
        self.W = [self.engine.matrix(w) for w in self.W]
        self.b = [self.engine.asarray(b) for b in self.b]

    @property
    def sizes(self) -> list[int]:
        return [self.W[0].shape[0]] + [w.shape[1] for w in self.W]

    @classmethod
    def init(cls, layers: list[int], gain: float, rng: np.random.Generator, dtype=np.float64) -> "DRN":
        """``layers`` = [pixels, hidden..., classes]; inputs are doubled. Conductances start
        uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) clipped at 0, biases at 0 (docs/theory.md §3)."""
        sizes = [2 * layers[0], *layers[1:]]
        W = [np.clip(rng.uniform(-1, 1, (a, b)) / np.sqrt(a), 0, None).astype(dtype) for a, b in zip(sizes, sizes[1:])]
        return cls(W, [np.zeros(n, dtype) for n in sizes[1:]], gain)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """[B, pixels] images in [0, 1] -> [B, 2 pixels] input voltages ``gain (+x, -x)``."""
        x = self.engine.asarray(x)
        return self.gain * self.engine.concat([x, -x], axis=1)

    def copy(self) -> "DRN":
        return DRN([w.clone() if hasattr(w, "clone") else w.copy() for w in self.W],
                   [b.clone() if hasattr(b, "clone") else b.copy() for b in self.b], self.gain, self.engine,
                   self.diode_shift, self.diode_g)

    def on(self, engine: Engine) -> "DRN":
        """This network's parameters on ``engine`` (a copy; the same object if already there)."""
        if engine is self.engine:
            return self

        def copy(a) -> np.ndarray:  # never a view of this network's memory (torch on the CPU gives views)
            return np.array(self.engine.numpy(a))

        return DRN([engine.matrix(copy(w)) for w in self.W], [engine.asarray(copy(b)) for b in self.b], self.gain,
                   engine, self.diode_shift, self.diode_g)

    def numpy(self) -> "DRN":
        """This network with numpy arrays of its dtype (for files and the circuit solvers)."""
        return self.on(Engine(self.engine.dtype)) if self.engine.backend != "numpy" else self


class Relaxer:
    """Layered coordinate descent for one set of parameters (the denominators are fixed)."""

    def __init__(self, net: DRN, colsum0=None, pool: Executor | None = None) -> None:
        """``colsum0``: the column sums of ``W[0]``, when the caller already has them;
        ``pool``: one worker thread for the second half of every large product (numpy)."""
        self.net = net
        self.engine = e = net.engine
        self.pool = pool
        W = net.W
        L = len(W)
        self.L = L
        # conductance to the previous layer plus to the next one, per node of layers 1..L
        into = [W[0].sum(axis=0) if colsum0 is None else colsum0] + [W[l - 1].sum(axis=0) for l in range(2, L + 1)]
        self.den = [into[l - 1] + (W[l].sum(axis=1) if l < L else 0.0) for l in range(1, L + 1)]
        self.inv = [e.reciprocal(d) for d in self.den]  # 0 for a node without conductance
        self.low, self.high = e.diode_bounds(tuple(net.sizes[1:-1]))
        if net.diode_shift:  # (numpy only: hardware-aware training refuses other engines)
            s = net.diode_shift
            self.low = [np.where(low == 0, -s, low).astype(low.dtype) for low in self.low]
            self.high = [np.where(high == 0, s, high).astype(high.dtype) for high in self.high]
        self.soft = math.isfinite(net.diode_g)  # diodes with an on-conductance: not a hard bound
        # the conductances as the relaxation's products read them (bfloat16 copies where asked);
        # W[0]'s only when the inputs' currents are not given (DRN-XL's is 206 MB)
        self.Wp = [None] + [e.for_products(w) for w in W[1:]]

    def drive(self, v0):
        """v0 W[0]: the input voltages' currents into layer 1, at the products' precision."""
        if self.Wp[0] is None:
            self.Wp[0] = self.engine.for_products(self.net.W[0])
        return self.product(v0, self.Wp[0])

    def start(self, x: np.ndarray) -> list:
        """Zero states for a batch: ``V[0]`` the inputs, ``V[1..L]`` zeros."""
        v0 = self.net.inputs(x)
        return [v0] + [self.engine.zeros((len(v0), n)) for n in self.net.sizes[1:]]

    def relax(self, V: list, sweeps: int, beta=0.0, y=None, clamp=None, drive0=None,
              order: str = "odd-even") -> list:
        """``sweeps`` sweeps from ``V`` (not modified): free (``beta = 0``), nudged toward
        ``y``, or with the outputs clamped to ``clamp``, the layers of each sweep in ``order``
        (:data:`ORDERS`). ``beta`` is a number or a [B, 1] array. ``drive0 = V[0] W[0]`` (the
        inputs' currents into layer 1) may be passed in: every phase of a batch shares it.

        At batch sizes of a few images every array here is small, and the time goes to
        numpy's per-call overhead: each node update is a product per neighbouring layer and
        four in-place calls (add, scale, two bounds), and nothing is copied."""
        b, L, Wp = self.net.b, self.L, self.Wp
        V = list(V)
        order = layer_order(L, order)
        if clamp is not None:
            V[L] = clamp
            order = [l for l in order if l != L]
        if drive0 is None:
            drive0 = self.drive(V[0])
        inv = self.inv
        fixed = [drive0 + b[0], *b[1:]]  # currents that do not change during the sweeps
        if not isinstance(beta, (int, float)) or beta != 0:  # the cost's pull on the outputs: beta (y - v_L)
            inv = [*inv[:-1], self.engine.reciprocal(self.den[-1] + beta)]  # beta may be [B, 1]
            fixed[-1] = fixed[-1] + beta * y
        e = self.engine
        Vp = [None] + [e.for_products(v) for v in V[1:]]  # the states as the products read them
        for _ in range(sweeps):
            for l in order:
                # the neighbours' currents (layer 0's are in fixed[0]), then the fixed ones
                v = self.product(Vp[l - 1], Wp[l - 1]) if l > 1 else None
                if l < L:
                    if v is None:
                        v = self.product(Vp[l + 1], Wp[l].T)
                    else:
                        e.add_product(v, Vp[l + 1], Wp[l].T, self.pool)
                if v is None:
                    v = fixed[0] * inv[0]
                else:
                    v += fixed[l - 1]
                    v *= inv[l - 1]
                if l < L:
                    if self.soft:
                        self._soft_bounds(v, l)
                    else:
                        e.clip_(v, self.low[l - 1], self.high[l - 1])
                V[l] = v
                Vp[l] = e.for_products(v)
        return V

    def _soft_bounds(self, v: np.ndarray, l: int) -> None:
        """Layer ``l``'s diodes with on-conductance g_d, in place (numpy): a node whose
        unconstrained value v* passes its bound u settles at (D v* + g_d u) / (D + g_d),
        D its conductance to the neighbouring layers (the minimum of its piecewise-quadratic
        content)."""
        g, den = self.net.diode_g, self.den[l - 1]
        for bound, passed in ((self.low[l - 1], v < self.low[l - 1]), (self.high[l - 1], v > self.high[l - 1])):
            if passed.any():
                v[passed] = ((v * den + g * bound) / (den + g))[passed]

    def product(self, a, b):
        """a b at the relaxation's precision (``b`` one of :attr:`Wp`, or its transpose); with
        numpy, a large ``b`` in two fixed column halves, the second on the pool's thread
        (the same bits either way)."""
        return self.engine.product(a, b, self.pool)

    def converge(self, V, tol: float = 1e-12, max_sweeps: int = 100_000, settled=None, **kw) -> list[np.ndarray]:
        """Sweep until the largest change is below ``tol`` (for tests and exact gradients).

        ``settled(V, bound)``, when given, may stop it earlier: ``bound`` bounds how far any
        voltage still is from the equilibrium, from the contraction seen over the last
        sweeps: a change ``d`` per sweep shrinking by a factor ``r < 1`` has at most
        ``d r / (1 - r)`` left (``r`` the largest of the last three ratios)."""
        ratios: list[float] = []
        previous = None
        for _ in range(max_sweeps):
            nxt = self.relax(V, 1, **kw)
            delta = max(self.engine.max_abs(a - c) for a, c in zip(nxt[1:], V[1:]))
            V = nxt
            if delta <= tol:
                return V
            if settled is not None and previous:
                ratios = (ratios + [delta / previous])[-3:]
                rate = max(ratios)
                if len(ratios) == 3 and rate < 0.99 and settled(V, delta * rate / (1.0 - rate)):
                    return V
            previous = delta
        raise RuntimeError("DRN relaxation did not converge")


def eval_batch(net: DRN) -> int:
    """Images relaxed at once at evaluation: 1000, fewer when the hidden states of 1000
    would pass 2^23 values (32 MB in float32; DRN-XL: 256 images)."""
    return max(1, min(1000, (1 << 23) // max(1, sum(net.sizes[1:-1]))))


def outputs(net: DRN, x: np.ndarray, batch: int | None = None, pool: Executor | None = None, sweeps: int = 0,
            order: str = "odd-even", warm: list | None = None, settled=None) -> np.ndarray:
    """Output voltages [B, classes] for images ``x``: at the free equilibrium (``sweeps = 0``:
    relaxed to convergence, the circuit's operating point, what ``resim solve`` of the
    exported netlist gives), or after ``sweeps`` sweeps in ``order`` from zero (the
    follow-up's measure, docs/theory.md §5). ``pool``: a worker thread for the second halves of
    the large products.

    ``warm`` (converged only): a list, kept by the caller between calls, of each batch's last
    equilibrium; relaxation starts there (the network changes little between two epochs, so
    it converges in fewer sweeps) and the new equilibria are stored back. The equilibrium
    does not depend on the start: the same outputs, to the tolerance, either way.
    ``settled``: see :meth:`Relaxer.converge` (:func:`predict` stops once no class can change).
    ``batch``: images relaxed at once (default :func:`eval_batch`). The outputs are numpy
    arrays whatever the network's engine; at the equilibrium, its products are at the
    arrays' own precision (bfloat16's cannot settle an equilibrium to 1e-10)."""
    if not sweeps:
        net = net.on(net.engine.exact())
    relaxer = Relaxer(net, pool=pool)
    batch = batch or eval_batch(net)
    out = []
    for k, a in enumerate(range(0, len(x), batch)):
        V = relaxer.start(x[a:a + batch])
        if sweeps:
            V = relaxer.relax(V, sweeps, order=order)
        else:
            if warm is not None and k < len(warm) and warm[k][0].shape == V[1].shape:
                V = [V[0], *warm[k]]
            V = relaxer.converge(V, tol=1e-10 * (1.0 + net.gain), settled=settled)
            if warm is not None:
                warm[k:k + 1] = [V[1:]]
        out.append(net.engine.numpy(V[-1]))
    return np.concatenate(out) if out else np.zeros((0, net.sizes[-1]))


def predict(net: DRN, x: np.ndarray, batch: int | None = None, pool: Executor | None = None, **how) -> np.ndarray:
    """The class of each image: the arg-max of the output voltages (``how``: as :func:`outputs`).

    At the equilibrium, the relaxation stops as soon as no image's class can change: when
    every image's largest output leads the next by more than four times the bound on what
    is left to converge (twice would do: the leader may fall and the next rise by the bound).
    The classes are the equilibrium's, in a fraction of the sweeps."""
    if not how.get("sweeps"):
        how.setdefault("settled", _classes_settled)
    return np.argmax(outputs(net, x, batch, pool, **how), axis=1)


def _classes_settled(V: list, bound: float) -> bool:
    out = engine_of(V[-1]).numpy(V[-1])
    top2 = np.partition(out, out.shape[1] - 2, axis=1)[:, -2:]
    return bool(np.all(top2[:, 1] - top2[:, 0] > 4.0 * bound))
