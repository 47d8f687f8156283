"""Truncated backpropagation through the relaxation (resim.drn.tbp): against central finite
differences of the K-sweep map itself (Relaxer.relax), against the exact equilibrium
gradient as K grows, and a short training run on real Fashion-MNIST."""

from __future__ import annotations

import json

import numpy as np
import pytest

from resim.drn.network import DRN, Relaxer, layer_order
from resim.drn.rules import exact_gradient
from resim.drn.tbp import truncated_gradient
from test_drn import cli

EPS = 1e-6


def random_problem(sizes, seed: int, batch: int = 5, gain: float = 2.0):
    """A float64 net with positive conductances, some exactly 0, nonzero biases; a state
    relaxed two sweeps from zero (the 'free state') and targets."""
    rng = np.random.default_rng(seed)
    W = [rng.uniform(0, 1, (a, b)) * (rng.uniform(size=(a, b)) > 0.15) for a, b in zip(sizes, sizes[1:])]
    net = DRN(W, [rng.normal(0, 0.5, n) for n in sizes[1:]], gain)
    relaxer = Relaxer(net)
    V0 = relaxer.relax(relaxer.start(rng.uniform(0, 1, (batch, sizes[0] // 2))), 2)
    return net, V0, rng.normal(0, 1, (batch, sizes[-1]))


def cost_after(net: DRN, V0, y, sweeps: int, order: str, dead=None) -> float:
    """C = 1/2 |v_L - y|^2, batch mean, after ``sweeps`` sweeps of Relaxer.relax from V0;
    ``dead``: per layer, nodes whose 1/den is held at 0 (as for a node without conductance)."""
    relaxer = Relaxer(net)
    for inv, d in zip(relaxer.inv, dead or []):
        inv[d] = 0.0
    out = relaxer.relax(V0, sweeps, order=order)[-1]
    return 0.5 * float(np.mean(np.sum((out - y) ** 2, axis=1)))


def finite_differences(net: DRN, V0, y, sweeps: int, order: str, dead=None):
    """Central differences of the K-sweep cost in every W and b entry."""
    grads = []
    for params in (net.W, net.b):
        grads.append([])
        for p in params:
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + EPS
                up = cost_after(net, V0, y, sweeps, order, dead)
                p[idx] = old - EPS
                down = cost_after(net, V0, y, sweeps, order, dead)
                p[idx] = old
                g[idx] = (up - down) / (2 * EPS)
            grads[-1].append(g)
    return grads


def preactivations(net: DRN, V0, sweeps: int, order: str):
    """Written out plainly: every hidden pre-activation (before the diode) of the sweeps,
    and the final state; the final state must be Relaxer.relax's."""
    V, L, seen = list(V0), len(net.W), []
    den = [net.W[l - 1].sum(axis=0) + (net.W[l].sum(axis=1) if l < L else 0) for l in range(1, L + 1)]
    for _ in range(sweeps):
        for l in layer_order(L, order):
            s = V[l - 1] @ net.W[l - 1] + net.b[l - 1] + (V[l + 1] @ net.W[l].T if l < L else 0)
            u = s / den[l - 1]
            if l < L:
                seen.append(u)
                h = u.shape[1] // 2
                u = np.concatenate([np.maximum(u[:, :h], 0), np.minimum(u[:, h:], 0)], axis=1)
            V[l] = u
    return seen, V


def assert_matches(got, want, rtol=1e-6):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * 1e-1 * np.max(np.abs(w)))


@pytest.mark.parametrize("order", ["odd-even", "forward", "backward"])
@pytest.mark.parametrize("sweeps", [1, 2, 3])
def test_truncated_gradient_is_the_derivative_of_the_k_sweep_map(sweeps, order):
    """Every W and b entry of a 2-hidden-layer net, against central differences of
    Relaxer.relax; some hidden nodes clipped and some not, none near switching."""
    net, V0, y = random_problem([12, 8, 7, 3], seed=4)
    seen, final = preactivations(net, V0, sweeps, order)
    np.testing.assert_allclose(final[-1], Relaxer(net).relax(V0, sweeps, order=order)[-1], rtol=1e-12)
    u = np.concatenate([s.ravel() for s in seen])
    assert np.min(np.abs(u)) > 1e3 * EPS  # no diode switches within the differences
    assert np.mean(u > 0) > 0.2 and np.mean(u < 0) > 0.2  # both clipped and passing nodes
    gW, gb = truncated_gradient(Relaxer(net), V0, y, sweeps, order)
    fW, fb = finite_differences(net, V0, y, sweeps, order)
    assert_matches(gW, fW)
    assert_matches(gb, fb)
    assert all(g.dtype == np.float64 for g in gW + gb) and all(g.shape == w.shape for g, w in zip(gW, net.W))
    # the inputs' currents V0[0] W[0] given by the caller: the same gradient
    again = truncated_gradient(Relaxer(net), V0, y, sweeps, order, V0[0] @ net.W[0])
    assert_matches(again[0] + again[1], gW + gb, rtol=1e-12)


@pytest.mark.parametrize("threads", [1, 2])
def test_float32_runs_the_relaxations_bits_in_float32(threads):
    """A float32 network (large enough for the products in two column halves): the forward
    sweeps are Relaxer.relax's bit for bit, the gradients float32, column-major like W, the
    same bits on one or two threads, and close to the float64 gradient."""
    from concurrent.futures import ThreadPoolExecutor

    from resim.drn.tbp import _forward

    net64, V64, y = random_problem([300, 256, 10], seed=5, batch=4)
    net = DRN([w.astype(np.float32) for w in net64.W], [b.astype(np.float32) for b in net64.b], net64.gain)
    V0 = [v.astype(np.float32) for v in V64]
    with ThreadPoolExecutor(1) as pool:
        relaxer = Relaxer(net, pool=pool if threads == 2 else None)
        _, final = _forward(relaxer, V0, 3, "forward", None)
        for a, b in zip(final, relaxer.relax(V0, 3, order="forward")):
            np.testing.assert_array_equal(a, b)
        gW, gb = truncated_gradient(relaxer, V0, y, 3, "forward")
        alone = truncated_gradient(Relaxer(net), V0, y, 3, "forward")
    assert all(g.dtype == np.float32 for g in gW + gb) and all(g.flags.f_contiguous for g in gW)
    for a, b in zip(gW + gb, alone[0] + alone[1]):
        np.testing.assert_array_equal(a, b)
    assert_matches(gW + gb, sum(truncated_gradient(Relaxer(net64), V64, y, 3, "forward"), []), rtol=1e-3)


def test_a_node_without_conductance_keeps_its_reciprocal_at_zero():
    """A hidden node with no conductance (den = 0): its 1/den stays 0, a constant, as in
    the relaxation; every other derivative is still exact, and nothing is NaN."""
    net, V0, y = random_problem([12, 8, 7, 3], seed=4)
    net.W[0][:, 2] = 0.0
    net.W[1][2, :] = 0.0
    V0 = Relaxer(net).relax(V0, 1)
    dead = [np.arange(8) == 2, np.zeros(7, bool), np.zeros(3, bool)]
    gW, gb = truncated_gradient(Relaxer(net), V0, y, 2, "forward")
    fW, fb = finite_differences(net, V0, y, 2, "forward", dead)
    assert all(np.all(np.isfinite(g)) for g in gW + gb)
    assert_matches(gW, fW)
    assert_matches(gb, fb)


def test_many_sweeps_from_the_equilibrium_give_the_exact_gradient():
    """From the converged free state, the K-sweep map's derivative tends to the implicit
    one (rules.exact_gradient, by a dense solve on the active set) as K grows."""
    rng = np.random.default_rng(7)
    sizes = [10, 6, 3]
    net = DRN([rng.uniform(0, 1, (a, b)) for a, b in zip(sizes, sizes[1:])],
              [rng.normal(0, 0.3, n) for n in sizes[1:]], 2.0)
    relaxer = Relaxer(net)
    V0 = relaxer.converge(relaxer.start(rng.uniform(0, 1, (4, 5))), tol=1e-14)
    assert 0 < np.count_nonzero(V0[1]) < V0[1].size  # some hidden nodes held by their diode
    y = rng.normal(0, 1, (4, 3))
    want = exact_gradient(net, V0, y)
    few = truncated_gradient(relaxer, V0, y, 2, "forward")
    many = truncated_gradient(relaxer, V0, y, 400, "forward")
    assert_matches(many[0] + many[1], want[0] + want[1])
    gap = max(np.max(np.abs(a - b)) for a, b in zip(few[0], want[0]))
    assert gap > 1e-4 * max(np.max(np.abs(w)) for w in want[0])  # truncation does matter at small K


TINY = """[model]
layers = [784, 32, 10]
input_gain = 30.0
[data]
dataset = "fashion-mnist"
train_limit = 600
test_limit = 100
[training]
algorithm = "truncated-bp"
layer_order = "forward-backward"
eval_sweeps = 4
batch_size = 32
momentum = 0.9
learning_rates = [0.02, 0.02]
dtype = "float32"
epochs = 2
"""


def test_training_by_truncated_backprop_lowers_the_cost(tmp_path):
    """`resim train` with algorithm = "truncated-bp" on real Fashion-MNIST (600 images, 2
    epochs): it runs, and the second epoch's cost is below the first's and below chance."""
    cfg = tmp_path / "run.toml"
    cfg.write_text(TINY)
    proc = cli("train", "--config", str(cfg), "--out", str(tmp_path / "run"))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[1]["cost"] < rows[0]["cost"]
    assert rows[1]["train_error"] < 0.6 and rows[1]["test_error"] < 0.6  # chance is 0.9
