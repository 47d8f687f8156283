"""The ReLU network baseline of the follow-up paper (docs/theory.md §5), as arrays.

``[model] kind = "relu-mlp"``: layers ``0..L`` of sizes ``n_0..n_L`` (``layers`` as the
configuration gives them: ``n_0`` the raw pixels in [0, 1], not doubled and without an
input gain). ``W[l]`` [n_l, n_(l+1)] are the weights, ``b[l]`` [n_(l+1)] the biases of
layer ``l+1``. For a batch ``x`` [B, n_0]:

    h_0 = x,   z_l = h_(l-1) W_(l-1) + b_(l-1),   h_l = max(z_l, 0) (0 < l < L),   out = z_L

(ReLU after every hidden layer, linear outputs). The cost is the squared error on one-hot
targets ``y``, averaged over the batch, C = 1/(2B) sum_k |out_k - y_k|^2, and the class is
the arg-max of ``out``. Initialisation as the public code's ``ReLUNeuralNet`` (weight gain
1, "kaiming_uniform"): W[l] uniform(-1/sqrt(n_l), +1/sqrt(n_l)), biases 0; unlike the DRN's
conductances the weights are signed and never clipped.

Training (:mod:`resim.drn.mlp_train`) is SGD with momentum in the DRN's convention
(:func:`resim.drn.rules.apply_gradient`): m = mu m + g, theta -= lr m (:func:`sgd_step`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .engines import engine_of

if TYPE_CHECKING:
    from .engine import Engine


@dataclass
class MLP:
    """The parameters of a ReLU network: ``W[l]`` [n_l, n_(l+1)], ``b[l]`` [n_(l+1)]."""

    W: list[np.ndarray]
    b: list[np.ndarray]
    kind: ClassVar[str] = "relu-mlp"  # [model] kind, and the "kind" array of its model.npz

    @property
    def sizes(self) -> list[int]:
        return [self.W[0].shape[0]] + [w.shape[1] for w in self.W]

    @classmethod
    def init(cls, layers: list[int], rng: np.random.Generator, dtype=np.float64) -> "MLP":
        """``layers`` = [pixels, hidden..., classes]: W[l] uniform(-1/sqrt(n_l), 1/sqrt(n_l)),
        drawn layer by layer from ``rng``; biases 0."""
        W = [(rng.uniform(-1, 1, (a, c)) / np.sqrt(a)).astype(dtype) for a, c in zip(layers, layers[1:])]
        return cls(W, [np.zeros(n, dtype) for n in layers[1:]])

    def on(self, engine: "Engine") -> "MLP":
        """This network's parameters on ``engine`` (:mod:`resim.drn.engine`), as a copy."""
        return MLP([engine.asarray(np.array(engine_of(w).numpy(w))) for w in self.W],
                   [engine.asarray(np.array(engine_of(b).numpy(b))) for b in self.b])


def forward(W: list[np.ndarray], b: list[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """Every layer's activity for the batch ``x`` [B, n_0]: ``[h_0, h_1, ..., h_(L-1), out]``
    with h_0 = x (in the weights' dtype), h_l = max(h_(l-1) W_(l-1) + b_(l-1), 0) and
    out = h_(L-1) W_(L-1) + b_(L-1)."""
    engine = engine_of(W[0])
    h = [engine.asarray(x)]
    for l, (w, c) in enumerate(zip(W, b)):
        z = h[-1] @ w
        z += c
        if l < len(W) - 1:
            engine.relu_(z)
        h.append(z)
    return h


def cost(out: np.ndarray, y: np.ndarray) -> float:
    """C = 1/(2B) sum_k |out_k - y_k|^2: the squared error, averaged over the batch."""
    miss = np.asarray(out, np.float64) - y
    return 0.5 * float(np.einsum("ij,ij->", miss, miss)) / max(len(out), 1)


def gradient(W: list[np.ndarray], b: list[np.ndarray], x: np.ndarray,
             y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """dC/dW[l], dC/db[l] of the batch-mean cost C (module docstring), and the outputs.

    Backpropagation: with delta_L = dC/dz_L = (out - y) / B and, for the hidden layers,
    delta_l = dC/dz_l = (delta_(l+1) W_l^T) * [h_l > 0],

        dC/dW_l = h_l^T delta_(l+1),   dC/db_l = 1^T delta_(l+1).

    (ReLU's derivative is taken as 0 at 0.)"""
    h = forward(W, b, x)
    delta = (h[-1] - engine_of(W[0]).asarray(y)) / len(x)
    gW: list[np.ndarray] = [np.empty(0)] * len(W)
    gb: list[np.ndarray] = [np.empty(0)] * len(W)
    for l in range(len(W) - 1, -1, -1):
        gW[l] = h[l].T @ delta
        gb[l] = delta.sum(axis=0)
        if l:
            delta = delta @ W[l].T
            delta *= h[l] > 0
    return gW, gb, h[-1]


def sgd_step(params: list[np.ndarray], grads: list[np.ndarray], moms: list[np.ndarray], rates: list[float],
             momentum: float) -> None:
    """In place, for each parameter: m = mu m + g, theta -= lr m (with mu = 0, theta -= lr g)."""
    for theta, g, m, lr in zip(params, grads, moms, rates):
        m *= momentum
        m += g
        theta -= lr * m


def outputs(W: list[np.ndarray], b: list[np.ndarray], x: np.ndarray, batch: int = 1000) -> np.ndarray:
    """The network's outputs [N, n_L] for the images ``x`` [N, n_0], ``batch`` images at a
    time, as a numpy array whatever the engine of ``W``."""
    engine = engine_of(W[0])
    out = [engine.numpy(forward(W, b, x[a:a + batch])[-1]) for a in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0, W[-1].shape[1]), W[-1].dtype)


def predict(W: list[np.ndarray], b: list[np.ndarray], x: np.ndarray, batch: int = 1000) -> np.ndarray:
    """The class of each image: the arg-max of the outputs."""
    return np.argmax(outputs(W, b, x, batch), axis=1)
