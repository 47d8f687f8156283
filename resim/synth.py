"""ReLU networks and piecewise-linear functions as resistive circuits (``resim synth``).

A ReLU network maps ``h_0 = x`` through ``z_l = h_(l-1) W_l + b_l``, ``h_l = relu(z_l)``
for every layer but the last, whose ``z_L`` is the output. Its circuit is made of the four
elements of the universal approximation theorem for resistive networks (Scellier and
Mishra, arXiv 2312.15063): voltage sources, resistors, ideal diodes and VCVSs (E elements).
Every signal exists as a pair of nodes ``+h`` and ``-h`` (the paper's doubled inputs and its
excitatory and inhibitory halves), so that each weight is a positive conductance ``|w|``.

For unit ``i`` of layer ``l`` (docs/synth.md has the derivation):

* **Mean node.** ``m+`` is joined by a conductance ``|w_ji|`` to ``+h_j`` when ``w_ji > 0``
  and to ``-h_j`` otherwise, by ``|b_i|`` to a +1 V (or -1 V) source, and by a pad to ground
  that makes its total conductance ``G_i = max(2, sum_j |w_ji| + |b_i|)``. Every node it
  touches is a stiff source and nothing draws current from it, so by KCL
  ``v(m+) = z_i / G_i``. ``m-`` mirrors it (every sign flipped): ``v(m-) = -z_i / G_i``.
* **ReLU.** An ideal diode from ground to ``m+`` holds ``v(m+) >= 0``, one from ``m-`` to
  ground holds ``v(m-) <= 0``: ``v(m+) = relu(z_i) / G_i = -v(m-)`` exactly.
* **Amplifier.** A VCVS of gain ``A`` (``--gain``) in a non-inverting loop restores the
  scale: ``out = A (v(m) - out / G)`` through a divider ``G - 1`` : 1, so
  ``out = G v(m) / (1 + G / A)``. The outputs ``+h_i = relu(z_i) / (1 + G_i / A)`` and
  ``-h_i`` are stiff: they feed the next layer without being loaded. The last layer has
  no diode and one copy: ``y_k = z_k / (1 + G_k / A)``.

The only approximation is the amplifiers' finite gain: each unit's output is its exact
value times ``1 / (1 + G_i / A)``. :func:`error_bound` propagates that through the layers
over a box of inputs (interval bounds on every ``z``), so the circuit's outputs are
guaranteed within the bound of the network's, and the bound falls like ``1 / A``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import ConvergenceError, ResimError, printable


class SynthError(ResimError):
    """A network or function that cannot be made into a circuit as asked (usage: exit 2)."""

    exit_code = 2


CERTIFICATE_RTOL = 1e-8  # the exact solver's certificate tolerance (resim.solvers.options.CERTIFICATE_RTOL)
#: The largest amplifier gain whose circuit double precision can solve. The certificate
#: accepts an amplifier's equation ``out = A (v(m) - v(f))`` when it holds to
#: ``CERTIFICATE_RTOL`` of the circuit's voltage scale V; rounding ``v(m)`` and ``v(f)``
#: (at most V / G, G >= 2) to double alone leaves ``A eps V / G`` in it, so A may be at most
#: ``CERTIFICATE_RTOL G / eps >= 2 CERTIFICATE_RTOL / eps``, about 9e7 (random networks
#: start failing at 1e9).
MAX_GAIN = 2 * CERTIFICATE_RTOL / float(np.finfo(float).eps)


@dataclass(frozen=True)
class ReLUNet:
    """Weights ``W[l]`` ([n_(l-1), n_l]) and biases ``b[l]`` ([n_l]) of a ReLU network."""

    W: list[np.ndarray]
    b: list[np.ndarray]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The outputs for inputs ``x`` ([N, n_0]): ReLU after every layer but the last."""
        h = np.asarray(x, float)
        for l, (w, b) in enumerate(zip(self.W, self.b)):
            h = h @ w + b
            if l < len(self.W) - 1:
                h = np.maximum(h, 0.0)
        return h

    @property
    def sizes(self) -> list[int]:
        return [self.W[0].shape[0]] + [w.shape[1] for w in self.W]


_LAYER_ARRAY = re.compile(r"([Wb])([0-9]+)")
_NPZ_HINT = ("a ReLU network is an .npz of arrays W0, b0, W1, b1, ...: "
             "np.savez('net.npz', W0=..., b0=..., W1=..., b1=...)")


def load_relu(path: str) -> ReLUNet:
    """``W0, b0, W1, b1, ...`` from an ``.npz`` (a ``resim train`` relu-mlp's model.npz or
    checkpoint.npz is one; other arrays are ignored). A :class:`SynthError` (or a
    :class:`~resim.drn.runs.RunError` for a file that is no ``.npz``), naming the file and
    the array, for anything that is not such a network: a deep resistive network
    (``kind = drn``), a gap in the layer numbers, a missing bias, an empty, complex or
    non-numeric array, layers that do not chain, values that are not finite or whose sum
    overflows."""
    from .drn.runs import read_npz

    z = read_npz(path, _NPZ_HINT)
    kind = str(z["kind"]) if "kind" in z else None
    if kind == "drn":
        raise SynthError(f"'{path}' holds a deep resistive network (kind = drn), not a ReLU network",
                         hint=f"it is a circuit already: resim export {path} --input K writes it as a netlist")
    if kind not in (None, "relu-mlp"):
        raise SynthError(f"'{path}' holds a network of kind '{kind}', not a ReLU network (kind relu-mlp)",
                         hint=_NPZ_HINT)
    layers: dict[str, set[int]] = {"W": set(), "b": set()}
    for key in z:
        m = _LAYER_ARRAY.fullmatch(key)
        if m:
            if m[2] != str(int(m[2])):
                raise SynthError(f"'{path}': array '{key}': layers are numbered W0, W1, ... without a leading zero",
                                 hint=_NPZ_HINT)
            layers[m[1]].add(int(m[2]))
    if not layers["W"]:
        raise SynthError(f"'{path}' holds no W0: a ReLU network is stored as arrays W0, b0, W1, b1, ...",
                         hint="np.savez('net.npz', W0=..., b0=..., W1=..., b1=...)")
    n = max(layers["W"]) + 1
    for l in range(n):
        if l not in layers["W"]:
            raise SynthError(f"'{path}' has W{n - 1} but no W{l}: the layers must be numbered W0, W1, ... "
                             "with no gap", hint=_NPZ_HINT)
        if l not in layers["b"]:
            raise SynthError(f"'{path}' has W{l} but no b{l}: every layer needs its biases",
                             hint=f"for a layer without biases store zeros: b{l}=np.zeros(W{l}.shape[1])")
    extra = sorted(layers["b"] - set(range(n)))
    if extra:
        raise SynthError(f"'{path}' has b{extra[0]} but no W{extra[0]}", hint=_NPZ_HINT)
    W = [_real(z, f"W{l}", path) for l in range(n)]
    b = [_real(z, f"b{l}", path) for l in range(n)]
    for l, (w, bias) in enumerate(zip(W, b)):
        if w.ndim != 2 or 0 in w.shape:
            raise SynthError(f"'{path}': W{l} has shape {w.shape}: a layer's weights are a matrix "
                             "[inputs, outputs] with at least one of each", hint=_NPZ_HINT)
        if bias.shape != (w.shape[1],) or (l and w.shape[0] != W[l - 1].shape[1]):
            raise SynthError(f"'{path}': W{l} {w.shape} and b{l} {bias.shape} do not chain "
                             f"(layer l maps h -> h @ W_l + b_l: W_l is [inputs, outputs], b_l [outputs])")
        for name, a in ((f"W{l}", w), (f"b{l}", bias)):
            if not np.isfinite(a).all():
                raise SynthError(f"'{path}': {name} holds a value that is not finite (inf or nan)")
        with np.errstate(over="ignore"):
            total = np.abs(w).sum(axis=0) + np.abs(bias)
        if not np.isfinite(total).all():
            raise SynthError(f"'{path}': W{l} and b{l}: a unit's weights are too large: their sum overflows "
                             "double precision", hint="scale the network's weights down")
    return ReLUNet(W, b)


def _real(z: dict[str, np.ndarray], name: str, path: str) -> np.ndarray:
    """The array ``name`` of ``z`` as float64; :class:`SynthError` if it is not real numbers."""
    a = z[name]
    if a.dtype.kind == "c":
        raise SynthError(f"'{path}': {name} is complex ({a.dtype}): weights and biases are real conductances",
                         hint=f"store its real part if that is what you mean: {name}=np.real({name})")
    if a.dtype.kind not in "iuf":
        raise SynthError(f"'{path}': {name} holds {a.dtype} values, not numbers", hint=_NPZ_HINT)
    return np.asarray(a, float)


def parse_points(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``"x0:y0,x1:y1,..."`` (at least two points, x strictly increasing) as two arrays."""
    xs, ys = [], []
    for k, item in enumerate(p for p in text.replace(" ", "").split(",") if p):
        try:
            x, y = item.split(":")
            xs.append(float(x))
            ys.append(float(y))
        except ValueError:
            raise SynthError(f"--points: '{item}' (point {k + 1}) is not x:y",
                             hint='--points "0:0,1:1,2:0" (x increasing)') from None
    x, y = np.array(xs), np.array(ys)
    if len(x) < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()) or np.any(np.diff(x) <= 0):
        raise SynthError("--points needs at least two finite points with x strictly increasing",
                         hint='--points "0:0,1:1,2:0"')
    return x, y


def pwl_net(x: np.ndarray, y: np.ndarray) -> ReLUNet:
    """The piecewise-linear interpolant of the points (extended linearly beyond them) as a
    one-hidden-layer ReLU network:
    f(t) = y_0 + s_0 (relu(t - x_0) - relu(x_0 - t)) + sum_k (s_k - s_(k-1)) relu(t - x_k),
    s_k the slope after x_k, k = 1 .. n - 2."""
    s = np.diff(y) / np.diff(x)
    w0 = np.r_[1.0, -1.0, np.ones(len(x) - 2)][None, :]
    b0 = np.r_[-x[0], x[0], -x[1:-1]]
    w1 = np.r_[s[0], -s[0], np.diff(s)][:, None]
    return ReLUNet([w0, w1], [b0, np.array([y[0]])])


def pad_conductances(net: ReLUNet) -> list[np.ndarray]:
    """Each unit's total conductance ``G = max(2, sum_j |w_ji| + |b_i|)`` (per layer)."""
    return [np.maximum(2.0, np.abs(w).sum(axis=0) + np.abs(b)) for w, b in zip(net.W, net.b)]


def circuit_outputs(net: ReLUNet, gain: float, x: np.ndarray) -> np.ndarray:
    """What the ideal circuit computes: every unit's value times 1 / (1 + G_i / A)."""
    h = np.asarray(x, float)
    for l, (w, b, G) in enumerate(zip(net.W, net.b, pad_conductances(net))):
        h = (h @ w + b) / (1.0 + G / gain)
        if l < len(net.W) - 1:
            h = np.maximum(h, 0.0)
    return h


def error_bound(net: ReLUNet, gain: float, lo: float, hi: float) -> float:
    """A bound on max |circuit - network| over the outputs, for every input in [lo, hi]^n.

    Interval arithmetic bounds each pre-activation, |z_i| <= Z_i. With e the bound on the
    previous layer's outputs (0 at the inputs) and r_i = (G_i / A) / (1 + G_i / A):
    |z^_i - z_i| <= ||w_i||_1 e, and relu (or the identity) being 1-Lipschitz,
    |h^_i - h_i| <= r_i (Z_i + ||w_i||_1 e) + ||w_i||_1 e."""
    low, high = np.full(net.sizes[0], float(lo)), np.full(net.sizes[0], float(hi))
    e = 0.0
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow gives inf or nan: guarantee() refuses it
        for l, (w, b, G) in enumerate(zip(net.W, net.b, pad_conductances(net))):
            pos, neg = np.maximum(w, 0), np.minimum(w, 0)
            z_low, z_high = low @ pos + high @ neg + b, high @ pos + low @ neg + b
            Z = np.maximum(np.abs(z_low), np.abs(z_high))
            spread = np.abs(w).sum(axis=0) * e
            r = (G / gain) / (1.0 + G / gain)
            e = float(np.max(r * (Z + spread) + spread))
            if l < len(net.W) - 1:
                low, high = np.maximum(z_low, 0), np.maximum(z_high, 0)
    return e


def guarantee(net: ReLUNet, gain: float, lo: float, hi: float) -> tuple[float, float]:
    """The :func:`error_bound` and the :func:`output_scale` of ``net`` at ``gain`` over
    [lo, hi]^n; :class:`SynthError` if either overflows double precision."""
    bound, scale = error_bound(net, gain, lo, hi), output_scale(net, lo, hi)
    if not (math.isfinite(bound) and math.isfinite(scale)):
        raise SynthError(f"the network's values on the inputs [{lo:g}, {hi:g}] overflow double precision "
                         f"(error bound {bound:.3g}, output scale {scale:.3g}): no bound can be stated",
                         hint="scale the network's weights down, or give a narrower --input-range")
    return bound, scale


def sample_inputs(net: ReLUNet, lo: float, hi: float, n: int, seed: int = 0) -> np.ndarray:
    """``n`` inputs in [lo, hi]^n_0: the box's two extreme corners, then uniform draws."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, (max(n, 2), net.sizes[0]))
    x[0], x[1] = lo, hi
    return x[:n] if n >= 2 else x[:max(n, 0)]


def output_scale(net: ReLUNet, lo: float, hi: float) -> float:
    """max |network output| over 1,024 inputs of the box (at least 1e-12)."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf or nan: guarantee() refuses it
        return max(1e-12, float(np.max(np.abs(net(sample_inputs(net, lo, hi, 1024))))))


def check_gain(gain: float) -> None:
    """:class:`SynthError` unless ``0 < gain <= MAX_GAIN``."""
    if not (gain > 0 and math.isfinite(gain)):
        raise SynthError(f"--gain must be a positive number, got {gain}")
    if gain > MAX_GAIN:
        raise SynthError(f"--gain {gain:g}: a circuit with amplifiers of gain above {MAX_GAIN:.2g} cannot be "
                         f"solved in double precision (its amplifier equations would fail the solver's "
                         f"certificate, {CERTIFICATE_RTOL:g} of the voltage scale, by rounding alone)",
                         hint=f"give --gain {MAX_GAIN:.2g} or less (the error bound falls like 1 / gain), "
                              "or leave --gain out for the smallest gain that meets 1e-3 of the output scale")


def default_gain(net: ReLUNet, lo: float, hi: float, tolerance: float = 1e-3) -> float:
    """The smallest gain of the form {1, 2, 5} x 10^k, at most :data:`MAX_GAIN`, whose
    :func:`error_bound` is at most ``tolerance`` times the output scale (the bound falls
    like 1/A)."""
    target = tolerance * guarantee(net, MAX_GAIN, lo, hi)[1]  # refuses a network whose values overflow
    for k in range(0, 16):
        for m in (1, 2, 5):
            gain = m * 10.0 ** k
            if gain > MAX_GAIN:
                break
            if error_bound(net, gain, lo, hi) <= target:
                return gain
    raise SynthError(f"no gain up to {MAX_GAIN:.2g} (the most double precision can solve) brings the guaranteed "
                     f"error under {target:.3g}, {tolerance:g} of the output scale",
                     hint="give --gain (the bound is then larger), or a narrower --input-range")


def to_netlist(net: ReLUNet, gain: float, title: str, inputs: np.ndarray | None = None) -> str:
    """The circuit as a netlist: inputs ``VX0..`` (at ``inputs``, default 0), outputs ``y0..``;
    ``title`` in its first line, control characters (a newline) escaped."""
    check_gain(gain)
    n0 = net.sizes[0]
    x = np.zeros(n0) if inputs is None else np.asarray(inputs, float).ravel()
    L = len(net.W)
    out = [f"* {printable(title)}: ReLU network {'-'.join(map(str, net.sizes))} as a resistive circuit, "
           f"amplifier gain {gain:g} (resim synth)"]
    out += [f"vx{i} x{i} 0 {float(v)!r}" for i, v in enumerate(x)]
    out += [f"exn{i} xn{i} 0 x{i} 0 -1" for i in range(n0)]
    out += ["vone one 0 1", "vmone mone 0 -1"]
    plus, minus = [f"x{i}" for i in range(n0)], [f"xn{i}" for i in range(n0)]
    for l, (w, b, G) in enumerate(zip(net.W, net.b, pad_conductances(net)), start=1):
        hidden = l < L
        new_plus, new_minus = [], []
        for i in range(w.shape[1]):
            copies = [("p", plus, minus, "one", "mone")] + ([("n", minus, plus, "mone", "one")] if hidden else [])
            for tag, same, other, up, down in copies:
                m, f = f"m{tag}{l}_{i}", f"f{tag}{l}_{i}"
                o = (f"h{tag}{l}_{i}" if hidden else f"y{i}")
                for j in np.flatnonzero(w[:, i]).tolist():
                    wji = float(w[j, i])
                    if _writable(wji):
                        out.append(f"r{tag}{l}_{j}_{i} {m} {same[j] if wji > 0 else other[j]} {1.0 / abs(wji)!r}")
                if _writable(float(b[i])):
                    out.append(f"rb{tag}{l}_{i} {m} {up if b[i] > 0 else down} {1.0 / abs(float(b[i]))!r}")
                pad = float(G[i]) - (float(np.abs(w[:, i]).sum()) + abs(float(b[i])))
                if pad > 1e-12 * G[i]:
                    out.append(f"rg{tag}{l}_{i} {m} 0 {1.0 / pad!r}")
                if hidden:
                    out.append(f"d{tag}{l}_{i} 0 {m} dideal" if tag == "p" else f"d{tag}{l}_{i} {m} 0 dideal")
                out.append(f"e{tag}{l}_{i} {o} 0 {m} {f} {float(gain)!r}")
                out.append(f"rt{tag}{l}_{i} {o} {f} {float(G[i]) - 1.0!r}")
                out.append(f"rd{tag}{l}_{i} {f} 0 1")
                (new_plus if tag == "p" else new_minus).append(o)
        plus, minus = new_plus, new_minus
    out += [".model dideal D(Ron=0 Vfwd=0)", ".op", ".end"]
    return "\n".join(out) + "\n"


def _writable(g: float) -> bool:
    """Whether the conductance ``|g|`` becomes a resistor: it is not zero, and its
    resistance ``1 / |g|`` fits in double precision. A weight under 1 / 1.8e308 = 5.6e-309
    (a subnormal such as 5e-324) is left out, an open circuit: it moves its unit by less
    than 5.6e-309 times its input, below what double precision resolves next to the pad's
    conductance of at least 2."""
    return g != 0 and math.isfinite(1.0 / abs(g))


def measured_error(net: ReLUNet, netlist: str, inputs: np.ndarray,
                   progress: Callable[[int, int], None] | None = None) -> float:
    """max |circuit - network| over the outputs, the circuit solved by ``resim.solve`` at
    each row of ``inputs`` (its sources ``vx<i>`` set to the row); a
    :class:`~resim.errors.ConvergenceError` if a solution fails its certificate.
    ``progress(done, total)`` is called before the first solve and after each."""
    from . import api

    if progress:
        progress(0, len(inputs))
    circuit = api.load_netlist(netlist)
    sources = [circuit.find_element(f"vx{i}") for i in range(net.sizes[0])]
    want = net(inputs)
    worst = 0.0
    for done, (x, y) in enumerate(zip(inputs, want), 1):
        try:
            result = api.solve(circuit.with_element_values({k: float(v) for k, v in zip(sources, x)}))
        except ConvergenceError as exc:
            raise ConvergenceError(f"the circuit solved at check input {done} of {len(inputs)}: {exc.message}; "
                                   "no error bound is stated for a circuit that fails its certificate",
                                   hint="lower --gain, or scale the network's weights towards 1") from None
        got = np.array([result.voltage(f"y{k}") for k in range(len(y))])
        worst = max(worst, float(np.max(np.abs(got - y))))
        if progress:
            progress(done, len(inputs))
    return worst
