"""drn-vf: non-reciprocal layered networks and vector-field EP (resim/drn/vf.py).

Independent truth: the plain DRN (a drn-vf network with tied weights must relax and learn as
it does), the exact solver and ngspice on the exported circuit (the relaxation's fixed point
is the circuit's operating point), and finite differences of the cost through a converged
relaxation (VF-EP is the gradient when tied, and strays from it as the weights part).
"""

from __future__ import annotations

import numpy as np
import pytest

import resim
from resim.drn import vf
from resim.drn.engine import diode_bounds
from resim.drn.network import DRN, Relaxer
from resim.drn.rules import ep_difference

LAYERS = [6, 8, 6, 3]  # 12 inputs, two hidden layers, 3 outputs


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, LAYERS[0]))


def test_tied_network_relaxes_as_the_plain_drn():
    net = vf.VFNet.init(LAYERS, 2.0, np.random.default_rng(0), symmetry=1.0)
    assert net.tied and net.asymmetry() == 0.0
    net.b = [np.random.default_rng(1).normal(0, 0.1, len(b)) for b in net.b]
    drn = DRN([f.copy() for f in net.F], [b.copy() for b in net.b], net.gain)
    x, y = images(4), np.eye(3)[[0, 1, 2, 1]]
    for order in ("forward", "odd-even", "backward"):
        V = vf.relax(net, vf.start(net, x), 7, order=order)
        R = Relaxer(drn).relax(Relaxer(drn).start(x), 7, order=order)
        assert all(np.allclose(a, b, rtol=1e-12, atol=1e-13) for a, b in zip(V, R))
        Vn = vf.relax(net, V, 5, 0.3, y, order)
        Rn = Relaxer(drn).relax(R, 5, 0.3, y, order=order)
        assert all(np.allclose(a, b, rtol=1e-12, atol=1e-13) for a, b in zip(Vn, Rn))


def test_tied_vf_ep_is_ep():
    net = vf.VFNet.init(LAYERS, 2.0, np.random.default_rng(2), symmetry=1.0)
    x, y = images(5, 3), np.eye(3)[[0, 1, 2, 1, 0]]
    V0 = vf.relax(net, vf.start(net, x), 200)
    Va, Vb, scale = vf.phases(net, V0, y, "centered-ep", 0.2, 50, "backward")
    gF, gB, gb = vf.vf_estimate(net, Va, Vb, scale)
    gW, gbe = ep_difference(Va, Vb, scale)
    assert all(g is None for g in gB)
    for a, b in zip(gF, gW):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-14)
    for a, b in zip(gb, gbe):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("symmetry", [1.0, 0.3])
@pytest.mark.parametrize("momentum", [None, 0.9])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_step_is_the_rule_written_out(symmetry, momentum, layout):
    """vf.step (one BLAS product per matrix, in place) against the rule in plain numpy:
    m = mu m + g, theta -= lr m, conductances clipped at 0; for matrices and momenta laid
    out either way (a resumed run's momenta are column-major)."""
    net = vf.VFNet.init(LAYERS, 2.0, np.random.default_rng(5), symmetry=symmetry)
    x, y = images(6, 7), np.eye(3)[[0, 1, 2, 1, 0, 2]]
    V0 = vf.relax(net, vf.start(net, x), 30)
    Va, Vb, scale = vf.phases(net, V0, y, "centered-ep", 0.4, 10, "backward")
    lr_w, lr_b = np.array([0.3, 0.2, 0.1]), np.array([0.05, 0.04, 0.03])
    rng = np.random.default_rng(8)
    mom_W = None if momentum is None else [rng.normal(0, 0.1, w.shape) for w in net.W]
    mom_b = None if momentum is None else [rng.normal(0, 0.1, b.shape) for b in net.b]
    gF, gB, gb = vf.vf_estimate(net, Va, Vb, scale)
    grads = gF + ([] if net.tied else gB[1:])
    rates = list(lr_w) + ([] if net.tied else list(lr_w[1:]))
    want_W, want_b = [], []
    for k, (w, g) in enumerate(zip(net.W, grads)):
        m = g if momentum is None else momentum * mom_W[k] + g
        want_W.append(np.maximum(w - rates[k] * m, 0))
    for l, (b, g) in enumerate(zip(net.b, gb)):
        m = g if momentum is None else momentum * mom_b[l] + g
        want_b.append(b - lr_b[l] * m)
    order = np.asfortranarray if layout == "F" else np.ascontiguousarray
    net.F = [order(f) for f in net.F]
    net.B = [None] + (net.F[1:] if net.tied else [order(f) for f in net.B[1:]])
    if momentum is not None:
        mom_W = [np.asfortranarray(m) for m in mom_W]  # as a resumed run loads them
    vf.step(net, Va, Vb, scale, lr_w, lr_b, momentum or 0.0, mom_W, mom_b)
    assert len(net.W) == len(want_W) and any(np.any(w == 0) for w in want_W)
    for got, want in zip(net.W, want_W):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-15)
    for got, want in zip(net.b, want_b):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-15)
    if momentum is not None:
        assert all(m.flags.f_contiguous == w.flags.f_contiguous for m, w in zip(mom_W, net.W))


def test_float32_states_stay_float32():
    """A float32 network relaxes in float32 (the diode bounds in its dtype), and the batch's
    phases given their shared input currents are the phases without them."""
    net = vf.VFNet.init(LAYERS, 2.0, np.random.default_rng(6), dtype=np.float32)
    x, y = images(4, 2).astype(np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    V0 = vf.relax(net, vf.start(net, x), 6)
    assert all(v.dtype == np.float32 for v in V0)
    drive = V0[0] @ net.F[0]
    Va, Vb, scale = vf.phases(net, V0, y, "centered-ep", 0.5, 4, "backward")
    Wa, Wb, scale2 = vf.phases(net, V0, y, "centered-ep", 0.5, 4, "backward", drive)
    assert scale == scale2
    for u, v in zip(Va + Vb, Wa + Wb):
        assert u.dtype == np.float32 and np.array_equal(u, v)


@pytest.mark.parametrize("symmetry", [0.0, 0.5])
def test_the_fixed_point_is_the_circuit_s_operating_point(symmetry):
    """The exported netlist (R, G, D, V, I) solved by resim's exact solver gives the
    relaxation's fixed point."""
    net = vf.VFNet.init(LAYERS, 1.5, np.random.default_rng(4), symmetry=symmetry)
    net.b = [np.random.default_rng(5).normal(0, 0.05, len(b)) for b in net.b]
    x = images(1, 6)[0]
    V = vf.relax(net, vf.start(net, x[None, :]), 3000)
    r = resim.solve(resim.load_netlist(vf.netlist(net, x)))
    assert r.method.startswith("exact")
    for l in range(1, net.L):
        got = [r.voltage(f"h{l}_{j}") for j in range(net.sizes[l])]
        assert np.allclose(got, V[l][0], atol=1e-9), l
    assert np.allclose([r.voltage(f"o{k}") for k in range(3)], V[-1][0], atol=1e-9)


def test_the_exported_netlist_agrees_with_ngspice(ngspice, tmp_path):
    from resim.compare import compare_with_ngspice

    net = vf.VFNet.init(LAYERS, 1.5, np.random.default_rng(7), symmetry=0.0)
    path = tmp_path / "vf.cir"
    path.write_text(vf.netlist(net, images(1, 8)[0]))
    cmp = compare_with_ngspice(path, ngspice=ngspice)
    assert cmp.ok, cmp.verdict()
    assert cmp.max_dv <= 1e-6


def positive_net(layers: list[int], seed: int, symmetry: float) -> vf.VFNet:
    """A drn-vf whose conductances are all > 0 (a tiny net drawn as training draws it may
    leave an output with no conductance at all, which a nudge then throws to its target)."""
    rng = np.random.default_rng(seed)
    sizes = [2 * layers[0], *layers[1:]]
    F = [rng.uniform(0.1, 1.0, (a, c)) for a, c in zip(sizes, sizes[1:])]
    B = [None] + [symmetry * f + (1 - symmetry) * rng.uniform(0.1, 1.0, f.shape) for f in F[1:]]
    b = [rng.normal(0, 0.2, n) for n in sizes[1:]]
    return vf.VFNet(F, B, b, 1.0)


def cost(net: vf.VFNet, x: np.ndarray, y: np.ndarray) -> float:
    V = vf.relax(net, vf.start(net, x), 4000)
    return 0.5 * float(np.sum((V[-1] - y) ** 2)) / len(y)


def true_gradient(net: vf.VFNet, x: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """dC/dtheta by central differences, every F and B entry (B[1:]), flattened."""
    out = []
    for mats in (net.F, net.B[1:]):
        for m in mats:
            for idx in np.ndindex(m.shape):
                keep = m[idx]
                m[idx] = keep + eps
                up = cost(net, x, y)
                m[idx] = keep - eps
                down = cost(net, x, y)
                m[idx] = keep
                out.append((up - down) / (2 * eps))
    return np.array(out)


def vf_update(net: vf.VFNet, x: np.ndarray, y: np.ndarray, beta: float = 1e-4) -> np.ndarray:
    V0 = vf.relax(net, vf.start(net, x), 4000)
    gF, gB, _ = vf.vf_estimate(net, *vf.phases(net, V0, y, "centered-ep", beta, 4000, "forward"))
    return np.concatenate([g.ravel() for g in gF] + [g.ravel() for g in gB[1:]])


def test_vf_ep_is_the_gradient_when_tied_and_strays_when_not():
    """VF-EP's estimate is -(dmu/dtheta)^T J^-1 dC/ds, the gradient -(dC/ds)^T J^-1 dmu/dtheta:
    the same for every parameter when the Jacobian J is symmetric (F = B, even as separate
    devices), not otherwise."""
    layers = [3, 4, 2]
    x, y = np.random.default_rng(9).uniform(0, 1, (2, 3)), np.array([[1.0, 0.0], [0.0, 1.0]])
    cosines = {}
    for s in (1.0, 0.0):
        net = positive_net(layers, 10, s)  # with s = 1: two devices per connection that happen to be equal
        g, e = true_gradient(net, x, y), vf_update(net, x, y)
        cosines[s] = float(g @ e / (np.linalg.norm(g) * np.linalg.norm(e)))
        if s == 1.0:
            assert np.allclose(e, g, rtol=1e-5, atol=1e-9)
    assert cosines[0.0] < 0.999 < cosines[1.0]


def test_implicit_gradient_is_the_finite_difference_one():
    """vf.true_gradient (implicit differentiation on the active set) against central
    differences of the converged relaxation's cost, with diodes holding some nodes."""
    layers = [3, 6, 2]
    x, y = np.random.default_rng(11).uniform(0, 1, (2, 3)), np.array([[1.0, 0.0], [0.0, 1.0]])
    net = positive_net(layers, 12, 0.3)
    V = vf.relax(net, vf.start(net, x), 4000)
    gF, gB, _ = vf.true_gradient(net, V, y)
    implicit = np.concatenate([g.ravel() for g in gF] + [g.ravel() for g in gB[1:]])
    assert np.allclose(implicit, true_gradient(net, x, y), rtol=1e-5, atol=1e-9)
    lows, highs = diode_bounds(tuple(layers[1:-1]))
    assert np.any((V[1] == lows[0]) | (V[1] == highs[0]))  # some diode holds its node: the active set matters


def _config(tmp_path, kind: str, symmetry: float = 0.0, epochs: int = 1) -> str:
    from test_drn import make_dataset

    if not (tmp_path / "d").exists():
        make_dataset(tmp_path / "d", n_train=40, n_test=10)
    path = tmp_path / f"{kind}-{symmetry}.toml"
    path.write_text(f'[model]\nkind = "{kind}"\nlayers = [784, 12, 10]\ninput_gain = 2.0\n'
                    + (f"symmetry = {symmetry}\n" if kind == "drn-vf" else "")
                    + f'[data]\ndataset = "idx:{tmp_path / "d"}"\n'
                    '[training]\nalgorithm = "centered-ep"\nnudging = 0.5\nsweeps = 4\nlayer_order = "forward-backward"\n'
                    f'eval_sweeps = 4\nbatch_size = 8\nepochs = {epochs}\nmomentum = 0.9\n'
                    'learning_rates = [0.05, 0.05]\ndtype = "float64"\nseed = 3\n')
    return str(path)


def test_a_tied_drn_vf_trains_as_the_plain_drn(tmp_path, capsys):
    """The same config as a drn and as a drn-vf with symmetry 1: the same conductances and
    biases after an epoch (the trainers' arithmetic differs only in rounding)."""
    from resim.cli import run_args
    from resim.drn.runs import load_model

    for kind in ("drn", "drn-vf"):
        assert run_args(["train", "--config", _config(tmp_path, kind, 1.0), "--out", str(tmp_path / kind)]) == 0, \
            capsys.readouterr().err
    drn, _ = load_model(str(tmp_path / "drn" / "model.npz"))
    tied, _ = load_model(str(tmp_path / "drn-vf" / "model.npz"))
    assert isinstance(tied, vf.VFNet) and tied.tied
    for a, b in zip(drn.W, tied.F):
        assert np.allclose(np.asarray(a), b, rtol=1e-9, atol=1e-12)
    for a, b in zip(drn.b, tied.b):
        assert np.allclose(np.asarray(a), b, rtol=1e-9, atol=1e-12)


def test_an_independent_drn_vf_trains_resumes_and_exports(tmp_path, capsys):
    from resim.cli import run_args
    from resim.drn.runs import load_model

    cfg, out = _config(tmp_path, "drn-vf", 0.0, epochs=2), tmp_path / "run"
    assert run_args(["train", "--config", cfg, "--out", str(out)]) == 0, capsys.readouterr().err
    once, _ = load_model(str(out / "model.npz"))
    assert not once.tied and len(once.W) == 3 and once.asymmetry() > 0.1
    # stopped after the first epoch and resumed: the same network as straight through (the
    # same images, from a copy of the dataset)
    cfg1 = _config(tmp_path / "one", "drn-vf", 0.0, epochs=1)
    assert run_args(["train", "--config", cfg1, "--out", str(tmp_path / "two")]) == 0
    with open(cfg1) as fh:
        text = fh.read().replace("epochs = 1", "epochs = 2")
    with open(cfg1, "w") as fh:
        fh.write(text)
    assert run_args(["train", "--config", cfg1, "--out", str(tmp_path / "two"), "--resume"]) == 0
    resumed, _ = load_model(str(tmp_path / "two" / "model.npz"))
    for a, b in zip(once.W, resumed.W):
        assert np.array_equal(a, b)
    capsys.readouterr()
    # its circuit: exported with G pairs, solved by resim, the model's prediction
    assert run_args(["export", str(out), "--input", "0"]) == 0
    text = capsys.readouterr().out
    assert "\ngf0_" in text and "\ngb1_" in text and "drn-vf" in text
    r = resim.solve(resim.load_netlist(text))
    got = int(np.argmax([r.voltage(f"o{k}") for k in range(10)]))
    assert f"model predicts {got})" in text


def test_bad_drn_vf_configs_are_refused_at_their_key(tmp_path, capsys):
    from resim.cli import run_args

    cfg = _config(tmp_path, "drn-vf", 0.0)
    for old, new, message in (("symmetry = 0.0", "symmetry = 1.5", "symmetry must be between 0 and 1"),
                              ('algorithm = "centered-ep"', 'algorithm = "truncated-bp"',
                               "a drn-vf trains by vector-field EP")):
        with open(cfg) as fh:
            text = fh.read()
        bad = tmp_path / "bad.toml"
        bad.write_text(text.replace(old, new))
        assert run_args(["train", "--config", str(bad), "--out", str(tmp_path / "x")]) == 3
        assert message in capsys.readouterr().err


def test_damping_changes_the_path_not_the_fixed_point():
    net = vf.VFNet.init(LAYERS, 1.5, np.random.default_rng(14), symmetry=0.0)
    x = images(3, 15)
    plain = vf.relax(net, vf.start(net, x), 3000)
    damped = vf.relax(net, vf.start(net, x), 6000, damping=0.5)
    assert all(np.allclose(a, b, atol=1e-12) for a, b in zip(plain, damped))
    early = vf.relax(net, vf.start(net, x), 3, damping=0.5)
    assert not np.allclose(early[-1], vf.relax(net, vf.start(net, x), 3)[-1])
    eq = vf.equilibrium(net, x)
    assert np.allclose(eq[-1], plain[-1], atol=1e-6 * net.gain)
