"""The ReLU network baseline ([model] kind = "relu-mlp", docs/theory.md §5): its forward pass
against a hand computation, backpropagation against central finite differences, the
optimiser against a plain re-implementation, training, resume, and `resim evaluate` /
`resim export` on its model. Data: small random arrays, or the real Fashion-MNIST files
(Debian's dataset-fashion-mnist, which CI installs), a few hundred images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from resim.cli import run_args
from resim.drn import data as data_mod
from resim.drn.config import check, load_config
from resim.drn.mlp import MLP, cost, forward, gradient, predict
from resim.drn.network import DRN
from resim.drn.train import load_model, model_arrays, save_npz, train

FASHION = data_mod.DEBIAN_FASHION
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "relu_mlp_1h_fashion.toml"


def config(layers=(784, 16, 10), epochs: int = 2, **training):
    doc = {"model": {"kind": "relu-mlp", "layers": list(layers)},
           "data": {"dataset": "fashion-mnist", "data_dir": FASHION},
           "training": {"algorithm": "backprop", "epochs": epochs, "batch_size": 8, "momentum": 0.9,
                        "learning_rates": [0.02] * (len(layers) - 1), "seed": 5, "dtype": "float64", **training}}
    return check(doc, "", "run.toml")


@pytest.fixture(scope="module")
def fashion() -> data_mod.Dataset:
    return data_mod.load("fashion-mnist", FASHION, 120, 30)


def arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


# ---- the network --------------------------------------------------------------------------------------


def test_forward_pass_matches_a_hand_computation():
    """2-2-2: z1 = x W0 + b0 = [1*1 + 2*2 + 0.5, 1*(-1) + 2*0.5 - 1] = [5.5, -1], h1 = [5.5, 0];
    out = h1 W1 + b1 = [5.5*2 + 0.25, 5.5*(-3) - 1] = [11.25, -17.5] (linear: no ReLU)."""
    W = [np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([[2.0, -3.0], [7.0, 9.0]])]
    b = [np.array([0.5, -1.0]), np.array([0.25, -1.0])]
    h = forward(W, b, np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(h[1], [[5.5, 0.0]])
    np.testing.assert_array_equal(h[2], [[11.25, -17.5]])
    assert predict(W, b, np.array([[1.0, 2.0], [0.0, 0.0]])).tolist() == [0, 0]
    # C = 1/(2B) sum |out - y|^2 for the one image and target [1, 0]: (10.25^2 + 17.5^2) / 2
    assert cost(h[2], np.array([[1.0, 0.0]])) == pytest.approx((10.25 ** 2 + 17.5 ** 2) / 2)


def test_gradient_matches_central_finite_differences():
    """Two hidden layers (the recursion through W[1]), signed biases, a batch of 6, float64:
    every entry of every dC/dW[l] and dC/db[l] against (C(theta + e) - C(theta - e)) / 2e."""
    rng = np.random.default_rng(7)
    net = MLP.init([5, 7, 6, 3], rng)
    net.b = [rng.normal(0, 0.3, len(b)) for b in net.b]
    x, y = rng.uniform(0, 1, (6, 5)), np.eye(3)[rng.integers(0, 3, 6)]
    gW, gb, out = gradient(net.W, net.b, x, y)
    np.testing.assert_array_equal(out, forward(net.W, net.b, x)[-1])
    eps = 1e-6
    hidden = forward(net.W, net.b, x)[1:-1]
    pre = [x @ net.W[0] + net.b[0]]
    pre.append(hidden[0] @ net.W[1] + net.b[1])
    assert min(np.abs(z).min() for z in pre) > 100 * eps  # no ReLU kink inside the differences
    assert all((z > 0).any() and (z < 0).any() for z in pre)  # both sides of every ReLU are used

    def C() -> float:
        return cost(forward(net.W, net.b, x)[-1], y)

    for params, grads in ((net.W, gW), (net.b, gb)):
        for theta, g in zip(params, grads):
            numeric = np.zeros_like(theta)
            for i in np.ndindex(theta.shape):
                keep = theta[i]
                theta[i] = keep + eps
                up = C()
                theta[i] = keep - eps
                down = C()
                theta[i] = keep
                numeric[i] = (up - down) / (2 * eps)
            np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_initialisation_is_the_public_codes():
    """ReLUNeuralNet: weights uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), signed, never clipped;
    biases 0; the same seed, the same network."""
    net = MLP.init([784, 512, 10], np.random.default_rng(0), np.float32)
    assert [w.shape for w in net.W] == [(784, 512), (512, 10)] and net.W[0].dtype == np.float32
    for w, fan_in in zip(net.W, (784, 512)):
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
        assert 0.45 < np.mean(w < 0) < 0.55 and abs(float(w.std()) - bound / np.sqrt(3)) < 0.02 * bound
    assert all(not b.any() for b in net.b)
    again = MLP.init([784, 512, 10], np.random.default_rng(0), np.float32)
    assert all(np.array_equal(a, c) for a, c in zip(net.W, again.W))


# ---- training -----------------------------------------------------------------------------------------


def test_training_is_momentum_sgd_with_decayed_per_layer_rates(tmp_path, fashion):
    """Two epochs of `train` equal a plain loop: the same shuffles (seed, epoch), batches of
    8, m = mu m + g, theta -= rate * decay^epoch * m with each layer's weight and bias rate."""
    cfg = config(layers=(784, 12, 10), learning_rates=[0.03, 0.01], bias_learning_rates=[0.002, 0.04],
                 lr_decay=0.5, momentum=0.8)
    net, rows = train(cfg, fashion, str(tmp_path / "r"))
    ref = MLP.init([784, 12, 10], np.random.default_rng(5))
    params = ref.W + ref.b
    moms = [np.zeros_like(p) for p in params]
    rates = [0.03, 0.01, 0.002, 0.04]
    n = len(fashion.train_x)
    for epoch in range(2):
        order = np.random.default_rng([5, epoch]).permutation(n)
        for a in range(0, n, 8):
            idx = order[a:a + 8]
            gW, gb, _ = gradient(ref.W, ref.b, fashion.train_x[idx], np.eye(10)[fashion.train_y[idx]])
            for p, m, g, rate in zip(params, moms, gW + gb, rates):
                m[...] = 0.8 * m + g
                p -= rate * 0.5 ** epoch * m
    for got, want in zip(net.W + net.b, ref.W + ref.b):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert [r["epoch"] for r in rows] == [1, 2]
    test_error = np.mean(predict(ref.W, ref.b, fashion.test_x) != fashion.test_y)
    assert rows[-1]["test_error"] == test_error


def test_flip_mirrors_the_chosen_training_images_left_right(tmp_path, fashion):
    """[data] flip = p: in epoch e, image k of the epoch's order is mirrored (np.fliplr of
    its 28 x 28 pixels) when rng([seed, e, 1]).random(n)[k] < p; the test images never are."""
    cfg = check({"model": {"kind": "relu-mlp", "layers": [784, 12, 10]},
                 "data": {"dataset": "fashion-mnist", "data_dir": FASHION, "flip": 0.5},
                 "training": {"algorithm": "backprop", "epochs": 2, "batch_size": 8, "momentum": 0.9,
                              "learning_rates": [0.02, 0.02], "seed": 5, "dtype": "float64"}}, "", "run.toml")
    net, rows = train(cfg, fashion, str(tmp_path / "r"))
    ref = MLP.init([784, 12, 10], np.random.default_rng(5))
    params, n = ref.W + ref.b, len(fashion.train_x)
    moms = [np.zeros_like(p) for p in params]
    flipped = 0
    for epoch in range(2):
        order = np.random.default_rng([5, epoch]).permutation(n)
        mirror = np.random.default_rng([5, epoch, 1]).random(n) < 0.5
        x_all = np.array([np.fliplr(im.reshape(28, 28)).ravel() if m else im
                          for im, m in zip(fashion.train_x[order], mirror)])
        flipped += mirror.sum()
        for a in range(0, n, 8):
            gW, gb, _ = gradient(ref.W, ref.b, x_all[a:a + 8], np.eye(10)[fashion.train_y[order[a:a + 8]]])
            for p, m, g in zip(params, moms, gW + gb):
                m[...] = 0.9 * m + g
                p -= 0.02 * 0.99 ** epoch * m
    assert 0.3 * 2 * n < flipped < 0.7 * 2 * n
    for got, want in zip(net.W + net.b, ref.W + ref.b):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert rows[-1]["test_error"] == np.mean(predict(ref.W, ref.b, fashion.test_x) != fashion.test_y)


def test_training_lowers_the_cost(tmp_path, fashion):
    cfg = config(epochs=3)
    start = MLP.init([784, 16, 10], np.random.default_rng(5))
    y = np.eye(10)[fashion.train_y]
    before = cost(forward(start.W, start.b, fashion.train_x)[-1], y)
    net, rows = train(cfg, fashion, str(tmp_path / "r"))
    after = cost(forward(net.W, net.b, fashion.train_x)[-1], y)
    assert after < 0.75 * before  # (and below 0.45: outputs of 0 cost 0.5)
    assert after < 0.45
    assert rows[2]["cost"] < rows[0]["cost"] and rows[2]["train_error"] < rows[0]["train_error"]
    assert rows[-1]["test_error"] < 0.6  # chance is 0.9


def test_resume_gives_the_uninterrupted_result_bit_for_bit(tmp_path, fashion):
    """A run stopped after its checkpoint of epoch 2 and resumed to 4 epochs ends with the
    very parameters, momenta and metrics of 4 epochs in one go (float32, as shipped)."""
    train(config(epochs=4, dtype="float32"), fashion, str(tmp_path / "whole"))
    train(config(epochs=2, dtype="float32"), fashion, str(tmp_path / "cut"))
    (tmp_path / "cut" / "model.npz").unlink()  # as if stopped after epoch 2's checkpoint
    net, rows = train(config(epochs=4, dtype="float32"), fashion, str(tmp_path / "cut"), resume=True)
    assert isinstance(net, MLP) and net.W[0].dtype == np.float32
    for name in ("model.npz", "checkpoint.npz"):
        whole, cut = arrays(tmp_path / "whole" / name), arrays(tmp_path / "cut" / name)
        assert whole.keys() == cut.keys() and str(whole["kind"]) == "relu-mlp"
        for key in whole:
            if key != "metrics":
                np.testing.assert_array_equal(whole[key], cut[key], err_msg=f"{name}: {key}")
    timeless = [[{k: v for k, v in r.items() if k not in ("epoch_seconds", "samples_per_second")}
                 for r in map(json.loads, (tmp_path / run / "metrics.jsonl").read_text().splitlines())]
                for run in ("whole", "cut")]
    assert timeless[0] == timeless[1] and len(timeless[0]) == 4
    assert (tmp_path / "cut" / "metrics.csv").read_text().splitlines()[0] == (
        "epoch,train_error,test_error,cost,epoch_seconds,samples_per_second")


def test_model_files_record_their_kind(tmp_path):
    """model.npz says what it holds; one written before there were two kinds is a DRN."""
    mlp = MLP.init([4, 3, 2], np.random.default_rng(0))
    drn = DRN.init([4, 3, 2], 2.0, np.random.default_rng(0))
    save_npz(str(tmp_path / "mlp.npz"), **model_arrays(mlp))
    save_npz(str(tmp_path / "drn.npz"), **model_arrays(drn))
    old = {k: v for k, v in model_arrays(drn).items() if k != "kind"}
    save_npz(str(tmp_path / "old.npz"), **old)
    loaded = {name: load_model(str(tmp_path / f"{name}.npz"))[0] for name in ("mlp", "drn", "old")}
    assert isinstance(loaded["mlp"], MLP) and isinstance(loaded["drn"], DRN) and isinstance(loaded["old"], DRN)
    assert loaded["old"].gain == 2.0
    np.testing.assert_array_equal(loaded["mlp"].W[0], mlp.W[0])


@pytest.mark.parametrize("hidden", [1, 2, 3])
def test_the_shipped_configs_are_the_follow_ups_baseline(hidden):
    """examples/relu_mlp_{1,2,3}h_fashion.toml: the follow-up's ReLU networks (docs/theory.md §6), with the
    public code's left-right flips of the Fashion-MNIST training images."""
    cfg = load_config(str(EXAMPLE).replace("1h", f"{hidden}h"))
    m, t = cfg["model"], cfg["training"]
    assert (m["kind"], m["layers"], t["algorithm"]) == ("relu-mlp", [784, *[512] * hidden, 10], "backprop")
    assert (cfg["data"]["dataset"], cfg["data"]["flip"]) == ("fashion-mnist", 0.5)
    assert (t["batch_size"], t["momentum"], t["lr_decay"], t["epochs"], t["seed"], t["dtype"]) == (
        32, 0.9, 0.99, 100, 0, "float32")
    rates = [0.005] * (hidden + 1)
    assert t["learning_rates"] == rates and (t["bias_learning_rates"] or t["learning_rates"]) == rates


# ---- the command line ---------------------------------------------------------------------------------


def resim(capsys, *args) -> tuple[int, str, str]:
    code = run_args([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def mlp_model(tmp_path_factory, fashion) -> Path:
    out = tmp_path_factory.mktemp("mlp")
    train(config(epochs=3), fashion, str(out / "r"))
    return out / "r" / "model.npz"


def test_evaluate_a_relu_mlp(capsys, mlp_model):
    """The whole test set through the stored arrays by hand: ReLU hidden layer, linear outputs."""
    code, out, err = resim(capsys, "evaluate", mlp_model)
    assert code == 0, err
    report = json.loads(out)
    z = arrays(mlp_model)
    test = data_mod.load("fashion-mnist", FASHION)
    guess = np.argmax(np.maximum(test.test_x @ z["W0"] + z["b0"], 0) @ z["W1"] + z["b1"], axis=1)
    assert report["test_images"] == 10_000 and report["test_error"] == np.mean(guess != test.test_y)
    assert report["test_error"] < 0.75  # 120 training images, 3 epochs; chance is 0.9


def test_export_refuses_a_relu_mlp(capsys, mlp_model):
    code, out, err = resim(capsys, "export", mlp_model, "--input", "0")
    assert code == 2 and out == ""
    assert "a relu-mlp is not a circuit; `resim synth relu` makes one of it" in err
    assert f"resim synth relu {mlp_model} -o net.cir" in err
    assert "Traceback" not in err
