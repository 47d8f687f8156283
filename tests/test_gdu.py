"""``resim gdu``: EP's updates against BPTT's gradients, step by step (resim/drn/gdu.py).

Independent truth for each side: BPTT's adjoints and per-sweep gradients against central
finite differences of the cost through the same sweeps; EP against BPTT where the theory
says they are equal (a network without diodes, a converged free phase, a nudged phase in
the reverse order of the free one, beta -> 0), and not where it says they are not.
"""

from __future__ import annotations

import numpy as np
import pytest

from resim.drn import gdu

SIZES = [5, 4, 4, 3]  # two hidden layers: the sweep orders differ


def network(diodes: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    W = [rng.uniform(0.1, 1.0, (a, b)) for a, b in zip(SIZES, SIZES[1:])]
    b = [rng.normal(0.0, 0.2, n) for n in SIZES[1:]]
    x0 = rng.normal(0.0, 1.0, (3, SIZES[0]))
    y = rng.normal(0.0, 0.3, (3, SIZES[-1]))
    return gdu.Params.of(W, b, diodes), x0, y


def zero_start(p, x0):
    return [x0] + [np.zeros((len(x0), w.shape[1])) for w in p.W]


def cost_after(p, V, sweeps, order, y, at=None):
    states, _ = gdu.free_phase(p, V, sweeps, order, at)
    return gdu.cost(states[-1], y)


@pytest.mark.parametrize("order", gdu.ORDERS)
@pytest.mark.parametrize("diodes", [False, True])
def test_bptt_adjoints_are_the_cost_s_derivatives_through_the_remaining_sweeps(order, diodes):
    p, x0, y = network(diodes)
    K, eps = 6, 1e-5
    states, records = gdu.free_phase(p, zero_start(p, x0), K, order)
    grad_s, _, _ = gdu.bptt(p, states, records, y)
    B = len(y)
    checked = 0
    for t in (1, 3, 5):
        start = states[K - t]
        for l in range(1, p.L + 1):
            if grad_s[t][l] is None:
                continue
            for i, j in ((0, 0), (2, SIZES[l] - 1)):
                up, down = [v.copy() for v in start], [v.copy() for v in start]
                up[l][i, j] += eps
                down[l][i, j] -= eps
                fd = (cost_after(p, up, t, order, y) - cost_after(p, down, t, order, y)) / (2 * eps)
                assert grad_s[t][l][i, j] / B == pytest.approx(fd, rel=1e-6, abs=1e-10), (t, l, i, j)
                checked += 1
    assert checked >= 6


@pytest.mark.parametrize("order", ["jacobi", "forward", "odd-even"])
def test_bptt_parameter_gradients_are_those_of_one_sweep_s_parameters(order):
    """grad_W[t] and grad_b[t]: the cost's derivative with respect to the parameters that
    the t-th sweep from the end reads, the others held."""
    p, x0, y = network(diodes=True, seed=1)
    K, eps = 5, 1e-5
    V0 = zero_start(p, x0)
    states, records = gdu.free_phase(p, V0, K, order)
    _, grad_W, grad_b = gdu.bptt(p, states, records, y)
    for t in (1, 2, 4):
        sweep_index = K - t
        for m, (i, j) in ((0, (1, 2)), (1, (3, 0)), (2, (2, 1))):
            def at(delta):
                W = [w.copy() for w in p.W]
                W[m][i, j] += delta
                return {sweep_index: gdu.Params(W, p.b, p.low, p.high)}
            fd = (cost_after(p, V0, K, order, y, at(eps)) - cost_after(p, V0, K, order, y, at(-eps))) / (2 * eps)
            assert grad_W[t][m][i, j] == pytest.approx(fd, rel=1e-6, abs=1e-10), (t, m)
        b = [x.copy() for x in p.b]
        b[1][2] += eps
        up = cost_after(p, V0, K, order, y, {sweep_index: gdu.Params(p.W, b, p.low, p.high)})
        b[1][2] -= 2 * eps
        down = cost_after(p, V0, K, order, y, {sweep_index: gdu.Params(p.W, b, p.low, p.high)})
        assert grad_b[t][1][2] == pytest.approx((up - down) / (2 * eps), rel=1e-6, abs=1e-10)


@pytest.mark.parametrize("free, nudged", [("jacobi", "jacobi"), ("forward", "backward"), ("backward", "forward"),
                                          ("odd-even", "even-odd")])
def test_ep_matches_bptt_step_by_step_on_a_linear_network(free, nudged):
    """No diodes, a converged free phase, the nudged phase in the reverse order (Jacobi is
    its own reverse), centred EP at beta = 1e-4: every step, neurons and weights, to 1e-6."""
    p, x0, y = network(diodes=False)
    a = gdu.measure(p, x0, y, 1e-4, 600, free, steps=10, nudged_order=nudged, centred=True)
    assert np.nanmax(a.neurons[0]) < 1e-6 and np.nanmax(a.weights[0]) < 1e-6
    assert np.nanmin(a.weights[1]) > 1 - 1e-12
    assert np.sum(~np.isnan(a.weights[0])) >= 15  # (step, layer) pairs the nudge has reached


def test_ep_does_not_match_bptt_with_the_same_order_both_ways():
    """Gauss-Seidel in the same order both ways: the Jacobian is not self-adjoint, and the
    middle layer's weight updates differ by tens of percent however small beta is."""
    p, x0, y = network(diodes=False)
    a = gdu.measure(p, x0, y, 1e-4, 600, "odd-even", steps=10, centred=True)
    assert np.nanmax(a.weights[0]) > 0.1


def test_diodes_at_their_bounds_keep_jacobi_exact_on_the_others():
    p, x0, y = network(diodes=True)
    a = gdu.measure(p, x0, y, 1e-4, 600, "jacobi", steps=10, centred=True)
    assert np.nanmax(a.neurons[0]) < 1e-6 and np.nanmax(a.weights[0]) < 1e-6
    states, _ = gdu.free_phase(p, zero_start(p, x0), 600, "jacobi")
    off = gdu.off_bounds(p, states[-1])
    assert not all(m.all() for m in off[1:])  # some diode holds its node: the case is not trivial


def test_an_unconverged_free_phase_breaks_the_match():
    p, x0, y = network(diodes=False)
    a = gdu.measure(p, x0, y, 1e-4, 3, "jacobi", steps=3, centred=True)
    assert np.nanmax(a.weights[0]) > 1e-3


def test_summary_reports_every_layer():
    p, x0, y = network(diodes=True)
    rows = gdu.measure(p, x0, y, 1e-3, 50, "forward", steps=8, nudged_order="backward").summary()
    assert [r["layer"] for r in rows] == [1, 2, 3]
    for r in rows:
        w = r["weights"]
        assert 0 <= w["median_rel"] <= w["max_rel"] and -1 <= w["min_cos"] <= 1 and w["steps"] >= 1


def test_the_command_on_a_config(tmp_path, capsys):
    """``resim gdu CONFIG``: JSON per setting and layer, and the figure; on the exact case
    (no diodes, Jacobi, converged, centred) every layer agrees to 1e-6."""
    import json

    from resim.cli import run_args
    from test_drn import make_dataset

    make_dataset(tmp_path / "d", n_train=20, n_test=5)
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[model]\nlayers = [784, 20, 16, 10]\n[data]\ndataset = "idx:{tmp_path / "d"}"\n'
                   '[training]\nsweeps = 5\nnudging = 0.5\nlayer_order = "forward-backward"\n'
                   'learning_rates = [0.1, 0.1, 0.1]\n')
    figure = tmp_path / "gdu.png"
    code = run_args(["gdu", str(cfg), "--images", "3", "--linear", "--order", "jacobi", "--centred",
                     "--beta", "1e-4", "--sweeps", "500", "--steps", "6", "--plot", str(figure)])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    (setting,) = report["settings"]
    assert (setting["free"], setting["nudged"], setting["sweeps"]) == ("jacobi", "jacobi", 500)
    assert [row["layer"] for row in setting["layers"]] == [1, 2, 3]
    assert all(row["weights"]["max_rel"] < 1e-6 for row in setting["layers"])
    assert figure.read_bytes().startswith(b"\x89PNG")
    # the defaults: the config's pairing (forward/backward) and forward's reverse (the same), its
    # sweeps and 100, beta 1e-3 and its nudging
    assert run_args(["gdu", str(cfg), "--images", "2", "--steps", "3"]) == 0
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert {(s["free"], s["nudged"], s["sweeps"], s["beta"]) for s in settings} == {
        ("forward", "backward", k, b) for k in (5, 100) for b in (1e-3, 0.5)}
    assert run_args(["gdu", str(cfg), "--order", "sideways"]) == 2
    assert "unknown order 'sideways'" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["drn-vf", "relu-mlp"])
def test_the_command_refuses_networks_other_than_a_drn(tmp_path, capsys, kind):
    """A drn-vf or ReLU config: exit 2, naming the file and the kind, with what to give instead."""
    from resim.cli import run_args

    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[model]\nkind = "{kind}"\nlayers = [784, 20, 10]\n[data]\ndataset = "fashion-mnist"\n'
                   '[training]\nlearning_rates = [0.1, 0.1]\n'
                   + ('algorithm = "backprop"\n' if kind == "relu-mlp" else ""))
    assert run_args(["gdu", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}': gdu compares EP and BPTT on a DRN" in err and kind in err
    assert 'hint: give it a [model] kind = "drn"' in err and "Traceback" not in err


def test_with_the_same_order_both_ways_only_the_sums_agree():
    """Odd-even both ways: step by step EP and BPTT differ, but over a converged nudged
    phase and BPTT through the whole free phase both sum to the true gradient."""
    p, x0, y = network(diodes=False)
    a = gdu.measure(p, x0, y, 1e-4, 300, "odd-even", steps=300, centred=True)
    for m in range(p.L):
        ep = sum(a.ep_W[t][m] for t in range(300))
        bp = sum(a.bptt_W[t][m] for t in range(1, 301))
        assert np.allclose(ep, -bp, rtol=1e-6, atol=1e-8), m  # entries ~1e-2
    assert np.nanmax(a.weights[0]) > 0.1
