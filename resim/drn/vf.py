"""Non-reciprocal layered networks (``[model] kind = "drn-vf"``) and vector-field EP.

A DRN's conductance between node j of layer l and node i of layer l+1 carries current both
ways alike: reciprocity. Here the two directions are separate devices: node i hears node j
through ``F[l][j, i]`` (forward), node j hears node i through ``B[l][j, i]`` (feedback): a
current ``F (v_j - v_i)`` into i, ``B (v_i - v_j)`` into j. In the circuit (:func:`netlist`)
each node has a resistor to ground of its total conductance and a voltage-controlled
current source per connection and direction. KCL at a node of layer l:

    sum_j F[l-1][j, i] (v_j - v_i) + sum_k B[l][i, k] (v_k - v_i) + b_i (+ diode) = 0

so the relaxation is the DRN's with the feedback product read through ``B``:

    v_l = clip( (v_(l-1) F_(l-1) + v_(l+1) B_l^T + b_(l-1)) / (1^T F_(l-1) + B_l 1) )

There is no content to minimise (the Jacobian is not symmetric), so this layered iteration
is a fixed-point iteration, not coordinate descent. Each node update is still a weighted
mean of its neighbours (the weights are >= 0 and sum to one), and it converges on the
networks here; ``damping`` < 1 mixes each update with the node's old value for harder
cases. Its fixed point is the circuit's operating point, checked against the exact solver
on the exported netlist (tests/test_vf.py). The input layer's feedback would only change
the input sources' currents: ``B`` starts at layer 1 (``B[0]`` is None).

**Vector-field EP** (Scellier et al.). The network's dynamics are the KCL currents
``mu(theta, v)``; for a parameter, the estimate of dC/dtheta from two states ``Va``, ``Vb``
(the nudged ones of centred EP) is ``-(d mu / d theta)^T (Va - Vb) / scale`` at their
midpoint. For ``F[l][j, i]`` that is ``-(v_j - v_i) dv_i / scale`` (the presynaptic
voltage difference times the postsynaptic change), for ``B[l][j, i]``
``-(v_i - v_j) dv_j / scale``, for ``b_i`` ``-dv_i / scale``. With ``B`` tied to ``F`` the sum
of the two is exactly EP's ``(1/2 (v_j - v_i)^2 |Va - 1/2 (v_j - v_i)^2 |Vb) / scale``: the
plain DRN's rule. Otherwise it is not the gradient of the cost; how far it strays grows
with the asymmetry of ``F`` and ``B`` (docs/gdu.md measures the angle).

``symmetry`` (``[model] symmetry``, 1 = tied) sets the feedback at the start:
``B = s F + (1 - s) R``, with ``R`` drawn as ``F`` is; then both are trained, separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .blas import add_outer
from .engine import diode_bounds, reciprocal
from .kernels import clip_conductances
from .network import layer_order


@dataclass
class VFNet:
    """A drn-vf network: ``F[l]`` [n_l, n_(l+1)] forward conductances (l = 0..L-1), ``B[l]``
    feedback ones (l = 1..L-1; ``B[0]`` None), ``b[l]`` bias currents into layer l+1, the
    input gain, and whether ``B`` is ``F`` (tied: the plain DRN)."""

    F: list
    B: list
    b: list
    gain: float
    tied: bool = False

    kind = "drn-vf"

    @property
    def W(self) -> list:
        """Every conductance matrix, as run files keep them (``W<k>``): ``F[0..L-1]``, then
        ``B[1..L-1]`` unless tied. Views: an update of one is an update of the network."""
        return list(self.F) + ([] if self.tied else list(self.B[1:]))

    @classmethod
    def from_arrays(cls, W: list, b: list, gain: float) -> "VFNet":
        """The network of a run file's ``W<k>`` and ``b<l>`` (:attr:`W`'s layout)."""
        L = len(b)
        if len(W) not in (L, 2 * L - 1):
            raise ValueError(f"{len(W)} conductance matrices for {L} layers: neither {L} (tied) nor {2 * L - 1}")
        F = [np.asarray(w) for w in W[:L]]
        tied = len(W) == L
        return cls(F, [None] + (F[1:] if tied else [np.asarray(w) for w in W[L:]]), [np.asarray(x) for x in b],
                   gain, tied)

    @classmethod
    def init(cls, layers: list[int], gain: float, rng: np.random.Generator, symmetry: float = 0.0,
             dtype=np.float64) -> "VFNet":
        """``F`` as a DRN's conductances (uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) clipped at
        0), ``B = s F + (1 - s) R`` with ``R`` drawn the same way (s = ``symmetry``; 1: tied)."""
        sizes = [2 * layers[0], *layers[1:]]

        def draw(a: int, c: int) -> np.ndarray:
            return np.clip(rng.uniform(-1, 1, (a, c)) / np.sqrt(a), 0, None).astype(dtype)

        F = [draw(a, c) for a, c in zip(sizes, sizes[1:])]
        b = [np.zeros(n, dtype) for n in sizes[1:]]
        if symmetry >= 1.0:
            return cls(F, [None] + F[1:], b, gain, tied=True)
        B = [None] + [(symmetry * f + (1 - symmetry) * draw(*f.shape)).astype(dtype) for f in F[1:]]
        return cls(F, B, b, gain)

    @property
    def sizes(self) -> list[int]:
        return [self.F[0].shape[0]] + [f.shape[1] for f in self.F]

    @property
    def L(self) -> int:
        return len(self.F)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """[B, pixels] images in [0, 1] -> [B, 2 pixels] input voltages ``gain (+x, -x)``."""
        x = np.asarray(x, self.F[0].dtype)
        return self.gain * np.concatenate([x, -x], axis=1)

    def den(self) -> list[np.ndarray]:
        """Each node's conductance sum, layers 1..L: what it hears from below and above."""
        L = self.L
        return [self.F[l - 1].sum(axis=0) + (self.B[l].sum(axis=1) if l < L else 0.0) for l in range(1, L + 1)]

    def asymmetry(self) -> float:
        """``|F - B| / |F|`` over the layers with feedback (0 when tied)."""
        if self.tied or self.L < 2:
            return 0.0
        num = sum(float(np.sum((f - g) ** 2)) for f, g in zip(self.F[1:], self.B[1:]))
        return float(np.sqrt(num / max(sum(float(np.sum(f * f)) for f in self.F[1:]), 1e-300)))


def relax(net: VFNet, V: list[np.ndarray], sweeps: int, beta=0.0, y: np.ndarray | None = None,
          order: str = "forward", damping: float = 1.0, drive: np.ndarray | None = None) -> list[np.ndarray]:
    """``sweeps`` sweeps of the layered fixed-point iteration from ``V`` (not modified):
    free (``beta = 0``) or nudged toward ``y`` (``beta`` a number or a [B, 1] column),
    the layers of a sweep in ``order`` (:data:`resim.drn.network.ORDERS`). ``drive``: the
    input currents ``V[0] F[0]`` when already known (the phases of one batch share them)."""
    L, F, B, b = net.L, net.F, net.B, net.b
    den = net.den()
    nudged = not isinstance(beta, (int, float)) or beta != 0
    inv = [reciprocal(d) for d in den[:-1]] + [reciprocal(den[-1] + beta) if nudged else reciprocal(den[-1])]
    low, high = diode_bounds(tuple(net.sizes[1:-1]), F[0].dtype.char)
    V = list(V)
    drive = V[0] @ F[0] if drive is None else drive
    for _ in range(sweeps):
        for l in layer_order(L, order):
            s = drive + b[0] if l == 1 else V[l - 1] @ F[l - 1] + b[l - 1]
            if l < L:
                s += V[l + 1] @ B[l].T
            elif nudged:
                s += beta * y
            v = np.multiply(s, inv[l - 1], out=s)  # a node without conductance stays at 0
            if l < L:
                np.maximum(v, low[l - 1], out=v)
                np.minimum(v, high[l - 1], out=v)
            V[l] = v if damping == 1.0 else (1 - damping) * V[l] + damping * v
    return V


def start(net: VFNet, x: np.ndarray) -> list[np.ndarray]:
    """Zero states for a batch of images ``x``."""
    v0 = net.inputs(x)
    return [v0] + [np.zeros((len(v0), n), v0.dtype) for n in net.sizes[1:]]


def phases(net: VFNet, V0: list, y: np.ndarray, algorithm: str, beta: float, sweeps: int,
           order: str, drive: np.ndarray | None = None) -> tuple[list, list, float]:
    """The two states and the divisor of the rule: centred (``+beta``, ``-beta``) or
    positive (``+beta``, the free state). ``drive``: as :func:`relax`'s."""
    drive = V0[0] @ net.F[0] if drive is None else drive
    if algorithm == "centered-ep":
        return (relax(net, V0, sweeps, beta, y, order, drive=drive), relax(net, V0, sweeps, -beta, y, order, drive=drive),
                2 * beta)
    if algorithm == "positive-ep":
        return relax(net, V0, sweeps, beta, y, order, drive=drive), V0, beta
    raise ValueError(f"drn-vf trains by vector-field EP: centered-ep or positive-ep, not {algorithm!r}")


def factors(net: VFNet, Va: list, Vb: list) -> tuple[list, list]:
    """Vector-field EP's estimate as factors: for each matrix of :attr:`VFNet.W` a pair
    ``(P, Q)`` with ``P^T Q`` its batch sum of ``(v_j - v_i) dv_i`` (forward) or
    ``(v_i - v_j) dv_j`` (feedback), and each bias's sum of ``dv_i``; the estimate is these
    times ``-1 / (scale n)`` (module docstring; ``n`` the batch).

    With ``a``, ``c`` the midpoints of layers l and l+1 and ``da``, ``dc`` their changes
    ``Va - Vb``, the forward sum ``a^T dc - 1 (1^T (c o dc))`` is one product of the
    batch with a row of ones beside it, ``P = [a; 1]``, ``Q = [dc; -1^T (c o dc)]``, and
    the feedback's ``da^T c - (1^T (a o da))^T 1`` likewise ``P = [da; -1^T (a o da)]``,
    ``Q = [c; 1]``. Tied, a matrix's two pairs are stacked into one (their products add).
    So an update is one matrix product per matrix, written where the matrix lies
    (:func:`step`)."""
    pairs_F, pairs_B, bias = [], [], []
    for l in range(net.L):
        a, c = 0.5 * (Va[l] + Vb[l]), 0.5 * (Va[l + 1] + Vb[l + 1])  # the midpoints
        da, dc = Va[l] - Vb[l], Va[l + 1] - Vb[l + 1]
        ones_a, ones_c = np.ones((1, a.shape[1]), a.dtype), np.ones((1, c.shape[1]), c.dtype)
        P, Q = np.vstack([a, ones_a]), np.vstack([dc, -np.sum(c * dc, axis=0)[None, :]])
        if l > 0:
            Pb, Qb = np.vstack([da, -np.sum(a * da, axis=0)[None, :]]), np.vstack([c, ones_c])
            if net.tied:
                P, Q = np.vstack([P, Pb]), np.vstack([Q, Qb])
            else:
                pairs_B.append((Pb, Qb))
        pairs_F.append((P, Q))
        bias.append(np.sum(dc, axis=0))
    return pairs_F + pairs_B, bias


def vf_estimate(net: VFNet, Va: list, Vb: list, scale: float) -> tuple[list, list, list]:
    """Vector-field EP's estimate of dC/dtheta, batch means (module docstring): ``gF``,
    ``gB`` (``gB[0]`` None; None throughout when tied, the feedback's share then in ``gF``)
    and ``gb``. The products of :func:`factors`, made whole (training updates through
    :func:`step` instead, without them)."""
    pairs, bias = factors(net, Va, Vb)
    k = -1.0 / (scale * len(Va[0]))
    g = [k * (P.T @ Q) for P, Q in pairs]
    gF, gB = g[:net.L], [None] + (g[net.L:] if not net.tied else [None] * (net.L - 1))
    return gF, gB, [k * x for x in bias]


def step(net: VFNet, Va: list, Vb: list, scale: float, lr_w, lr_b, momentum: float = 0.0,
         mom_W: list | None = None, mom_b: list | None = None) -> None:
    """One update by vector-field EP's estimate ``g`` (:func:`factors`), in place:
    ``m = momentum m + g``, ``theta -= lr m`` (``theta -= lr g`` without momenta), every
    conductance clipped at 0. ``lr_w``, ``lr_b``: a rate per layer (the feedback ``B[l]`` at
    layer l's); ``mom_W`` in :attr:`VFNet.W`'s order.

    A matrix's ``m`` is updated by one BLAS call, ``m = momentum m - P^T Q / (scale n)``,
    where it lies (:func:`resim.drn.blas.add_outer`; a momentum not laid out as its matrix
    is copied once into its layout, in ``mom_W``)."""
    L = net.L
    k = -1.0 / (scale * len(Va[0]))
    pairs, bias = factors(net, Va, Vb)
    rates = [lr_w[l] for l in range(L)] + ([] if net.tied else [lr_w[l] for l in range(1, L)])
    for i, (w, (P, Q)) in enumerate(zip(net.W, pairs)):
        lr = float(rates[i])
        if mom_W is None:
            _add_outer(w, -lr * k, P, Q, 1.0)
        else:
            m = mom_W[i] = _like(mom_W[i], w)
            _add_outer(m, k, P, Q, momentum)
            w -= lr * m
        clip_conductances(w)
    for l in range(L):
        g = k * bias[l]
        if mom_b is not None:
            mom_b[l] *= momentum
            mom_b[l] += g
            g = mom_b[l]
        net.b[l] -= float(lr_b[l]) * g


def _like(m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``m`` in ``w``'s memory layout and dtype (itself when it is already)."""
    if m.dtype == w.dtype and (m.flags.f_contiguous if w.flags.f_contiguous else m.flags.c_contiguous):
        return m
    return np.asfortranarray(m, w.dtype) if w.flags.f_contiguous else np.ascontiguousarray(m, w.dtype)


def _add_outer(C: np.ndarray, alpha: float, P: np.ndarray, Q: np.ndarray, beta: float) -> None:
    """``C = beta C + alpha P^T Q`` in place, for ``C`` contiguous in either order (a
    row-major ``C`` is the column-major ``C^T = beta C^T + alpha Q^T P``)."""
    if C.flags.f_contiguous:
        add_outer(C, alpha, P, Q, beta)
    elif C.flags.c_contiguous:
        add_outer(C.T, alpha, Q, P, beta)
    else:
        C *= beta
        C += alpha * (P.T @ Q)


def equilibrium(net: VFNet, x: np.ndarray, order: str = "forward", V: list | None = None, tol: float = 1e-7,
                most: int = 2000) -> list[np.ndarray]:
    """The free fixed point for images ``x``, from ``V`` (default zero states): sweeps in
    tens until no node moves by more than ``tol`` times the largest input voltage (at most
    ``most`` sweeps)."""
    V = start(net, x) if V is None else [net.inputs(x)] + list(V[1:])
    scale = max(float(np.max(np.abs(V[0]), initial=0.0)), 1e-12)
    for _ in range(0, most, 10):
        nxt = relax(net, V, 10, order=order)
        moved = max(float(np.max(np.abs(a - b), initial=0.0)) for a, b in zip(nxt[1:], V[1:]))
        V = nxt
        if moved <= tol * scale:
            break
    return V


def predict(net: VFNet, x: np.ndarray, sweeps: int = 0, order: str = "forward", chunk: int = 1000) -> np.ndarray:
    """The class of each image: the largest output at the free fixed point (``sweeps`` = 0),
    or after ``sweeps`` free sweeps from zero states; ``chunk`` images at a time."""
    out = []
    for a in range(0, len(x), chunk):
        part = x[a:a + chunk]
        V = equilibrium(net, part, order) if sweeps == 0 else relax(net, start(net, part), sweeps, order=order)
        out.append(np.argmax(V[-1], axis=1))
    return np.concatenate(out) if out else np.zeros(0, int)


def netlist(net: VFNet, image: np.ndarray, title: str = "drn-vf (resim)") -> str:
    """``net`` with ``image`` applied, as a netlist of V, R, G, I and ideal D elements.

    Tied, each connection is a resistor (the plain DRN). Otherwise node i's current
    ``sum_j N[i, j] (v_j - v_i)`` is written as its parts: a resistor of conductance
    ``den_i`` (all it hears) from i to ground, and per connection a VCCS of the neighbour's
    voltage alone, ``G 0 i j 0 F`` (forward: ``F v_j`` into i) and ``G 0 j i 0 B``
    (feedback: ``B v_i`` into j). Zero conductances are left out."""
    from ..hardware.netlist import node_names

    sizes, L = net.sizes, net.L
    names = node_names(sizes)  # the DRN netlist's own: x*, h<l>_<j>, o<k>
    v0 = net.inputs(np.asarray(image)[None, :])[0]
    n_pix = sizes[0] // 2
    lines = [f"* {title}: {'-'.join(map(str, sizes))}, input gain {net.gain:g}"]
    lines += [f"{'vp' if k < n_pix else 'vn'}{k % n_pix} {names[0][k]} 0 {float(v)!r}" for k, v in enumerate(v0)]
    if net.tied:
        for l in range(L):
            lines += [f"r{l}_{j}_{i} {names[l][j]} {names[l + 1][i]} {1.0 / float(net.F[l][j, i])!r}"
                      for j, i in zip(*np.nonzero(net.F[l]))]
    else:
        for l, d in enumerate(net.den(), start=1):
            lines += [f"rg{l}_{i} {n} 0 {1.0 / float(g)!r}" for i, (n, g) in enumerate(zip(names[l], d)) if g > 0]
        for l in range(L):
            lo, hi = names[l], names[l + 1]
            lines += [f"gf{l}_{j}_{i} 0 {hi[i]} {lo[j]} 0 {float(net.F[l][j, i])!r}" for j, i in zip(*np.nonzero(net.F[l]))]
            if l > 0:
                lines += [f"gb{l}_{j}_{i} 0 {lo[j]} {hi[i]} 0 {float(net.B[l][j, i])!r}"
                          for j, i in zip(*np.nonzero(net.B[l]))]
    for l in range(1, L):
        half = sizes[l] // 2
        lines += [f"d{l}_{j} 0 {n} dideal" if j < half else f"d{l}_{j} {n} 0 dideal" for j, n in enumerate(names[l])]
    for l in range(L):
        lines += [f"ib{l + 1}_{j} 0 {names[l + 1][j]} {float(v)!r}" for j, v in enumerate(net.b[l]) if v != 0]
    lines += [".model dideal D(Ron=0 Vfwd=0)", ".op", ".end"]
    return "\n".join(lines) + "\n"


def true_gradient(net: VFNet, V: list, y: np.ndarray) -> tuple[list, list, list]:
    """dC/dtheta at the fixed point ``V`` (converged, a batch), by implicit
    differentiation: the cost's true gradient, to test vector-field EP against.

    On each image's nodes off their diodes' bounds (the others held), KCL is
    ``mu = rhs - A v = 0`` with ``A = diag(den) - N`` (``N[i, j]``: how node i hears node j);
    so ``dv/dtheta = A^-1 dmu/dtheta`` and ``dC/dtheta = lam^T dmu/dtheta`` with
    ``A^T lam = dC/dv``. For ``F[l][j, i]``, ``dmu_i/dF = v_j - v_i``; for ``B[l][j, i]``,
    ``dmu_j/dB = v_i - v_j``; for ``b_i``, 1."""
    L, sizes = net.L, net.sizes
    offset = np.cumsum([0] + sizes[1:])  # where each layer 1..L starts among the nodes
    n = offset[-1]
    A = np.zeros((n, n))
    den = net.den()
    for l in range(1, L + 1):
        s = slice(offset[l - 1], offset[l])
        A[s, s] = np.diag(den[l - 1])
        if l > 1:
            A[s, offset[l - 2]:offset[l - 1]] = -net.F[l - 1].T
        if l < L:
            A[s, offset[l]:offset[l + 1]] = -net.B[l]
    low, high = diode_bounds(tuple(net.sizes[1:-1]))
    gF = [np.zeros_like(f) for f in net.F]
    gB = [None] + [np.zeros_like(f) for f in net.F[1:]]
    gb = [np.zeros_like(b) for b in net.b]
    for k in range(len(y)):
        v = np.concatenate([V[l][k] for l in range(1, L + 1)])
        free = np.concatenate([(V[l][k] > low[l - 1][0]) & (V[l][k] < high[l - 1][0]) for l in range(1, L)]
                              + [np.ones(sizes[L], bool)])
        dC = np.zeros(n)
        dC[offset[L - 1]:] = (V[L][k] - y[k]) / len(y)
        lam = np.zeros(n)
        lam[free] = np.linalg.solve(A[np.ix_(free, free)].T, dC[free])
        for l in range(L):
            lam_next = lam[offset[l]:offset[l + 1]]  # layer l+1's
            below = V[l][k]
            above = V[l + 1][k]
            gF[l] += (below[:, None] - above[None, :]) * lam_next[None, :]
            gb[l] += lam_next
            if l > 0:
                lam_here = lam[offset[l - 1]:offset[l]]
                gB[l] += (above[None, :] - below[:, None]) * lam_here[:, None]
    return gF, gB, gb
