"""resim synth: ReLU networks and piecewise-linear functions as resistive circuits, checked
by solving the netlists (resim's exact solver, and ngspice) against the numpy forward pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resim
from resim import synth
from resim.cli import run_args

FASHION = "/usr/share/datasets/fashion-mnist"


def resim_cli(capsys, *args) -> tuple[int, str, str]:
    code = run_args([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def solved(text: str, inputs: np.ndarray, outputs: int) -> np.ndarray:
    """The circuit's y0.. at each row of ``inputs`` (its vx<i> set to the row)."""
    circuit = resim.load_netlist(text)
    sources = [circuit.find_element(f"vx{i}") for i in range(inputs.shape[1])]
    rows = []
    for x in inputs:
        result = resim.solve(circuit.with_element_values({k: float(v) for k, v in zip(sources, x)}))
        rows.append([result.voltage(f"y{k}") for k in range(outputs)])
    return np.array(rows)


@st.composite
def relu_nets(draw):
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    W = [rng.normal(0, 1, (a, b)) * (rng.random((a, b)) < 0.85) for a, b in zip(sizes, sizes[1:])]
    b = [rng.normal(0, 0.5, n) for n in sizes[1:]]
    return synth.ReLUNet(W, b), rng.uniform(-1, 1, (3, sizes[0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(relu_nets(), st.sampled_from([50.0, 1e3, 1e5]))
def test_random_relu_networks_solve_within_the_guaranteed_bound(case, gain):
    """Weights of both signs (some zero), 1-3 layers: the solved circuit is the network within
    error_bound, and it is what the construction says it computes (each unit's value times
    1 / (1 + G / A)) to rounding."""
    net, x = case
    got = solved(synth.to_netlist(net, gain, "random"), x, net.sizes[-1])
    want = net(x)
    bound = synth.error_bound(net, gain, -1, 1)
    assert np.all(np.abs(got - want) <= bound * (1 + 1e-9) + 1e-9)
    np.testing.assert_allclose(got, synth.circuit_outputs(net, gain, x), rtol=1e-8, atol=1e-9)


def test_the_error_falls_like_one_over_the_gain():
    rng = np.random.default_rng(3)
    net = synth.ReLUNet([rng.normal(size=(3, 5)), rng.normal(size=(5, 4)), rng.normal(size=(4, 2))],
                        [rng.normal(size=5), rng.normal(size=4), rng.normal(size=2)])
    x = synth.sample_inputs(net, -1, 1, 6)
    errors = [float(np.max(np.abs(solved(synth.to_netlist(net, a, "g"), x, 2) - net(x)))) for a in (10, 1e2, 1e3, 1e4, 1e5)]
    assert all(e1 > e2 for e1, e2 in zip(errors, errors[1:])), errors
    for e1, e2 in zip(errors[1:], errors[2:]):  # past the first step, ten times the gain: about a tenth of the error
        assert 7 < e1 / e2 < 13, errors
    bounds = [synth.error_bound(net, a, -1, 1) for a in (10, 1e2, 1e3, 1e4, 1e5)]
    assert all(e <= b for e, b in zip(errors, bounds))


def test_the_default_gain_keeps_the_error_under_a_thousandth_of_the_output_scale():
    rng = np.random.default_rng(4)
    net = synth.ReLUNet([rng.normal(size=(4, 6)), rng.normal(size=(6, 3))], [rng.normal(size=6), rng.normal(size=3)])
    gain = synth.default_gain(net, 0, 1)
    scale = synth.output_scale(net, 0, 1)
    assert synth.error_bound(net, gain, 0, 1) <= 1e-3 * scale
    assert synth.error_bound(net, gain / 2, 0, 1) > 1e-3 * scale  # the smallest of {1, 2, 5} x 10^k
    x = synth.sample_inputs(net, 0, 1, 10)
    assert np.max(np.abs(solved(synth.to_netlist(net, gain, "d"), x, 3) - net(x))) <= 1e-3 * scale


def test_a_piecewise_linear_function_is_its_interpolant():
    """pwl: np.interp inside the points, the end slopes continued outside."""
    xs, ys = synth.parse_points("-1:2, 0:0, 0.5:1.5, 2:-1, 3:-1")
    net = synth.pwl_net(xs, ys)
    t = np.linspace(-1, 3, 41)
    np.testing.assert_allclose(net(t[:, None])[:, 0], np.interp(t, xs, ys), atol=1e-12)
    np.testing.assert_allclose(net(np.array([[-2.0], [4.0]]))[:, 0], [4.0, -1.0], atol=1e-12)
    gain = synth.default_gain(net, -1, 3)
    got = solved(synth.to_netlist(net, gain, "pwl"), t[::4, None], 1)[:, 0]
    assert np.max(np.abs(got - np.interp(t[::4], xs, ys))) <= synth.error_bound(net, gain, -1, 3) <= 2e-3


def test_synth_netlists_agree_with_ngspice(tmp_path, capsys, ngspice):
    rng = np.random.default_rng(5)
    np.savez(tmp_path / "net.npz", W0=rng.normal(size=(3, 4)), b0=rng.normal(size=4), W1=rng.normal(size=(4, 2)),
             b1=rng.normal(size=2))
    code, _, err = resim_cli(capsys, "synth", "relu", tmp_path / "net.npz", "-o", tmp_path / "net.cir", "--check", "0")
    assert code == 0, err
    text = (tmp_path / "net.cir").read_text().replace("vx0 x0 0 0.0", "vx0 x0 0 0.7").replace("vx2 x2 0 0.0", "vx2 x2 0 0.2")
    (tmp_path / "net.cir").write_text(text)
    code, out, err = resim_cli(capsys, "compare-with-ngspice", tmp_path / "net.cir", "--format", "json")
    assert code == 0, out + err
    assert json.loads(out)["verdict"] == "agree"
    code, _, err = resim_cli(capsys, "synth", "pwl", "--points", "0:0,1:1,2:0", "-o", tmp_path / "tent.cir")
    assert code == 0 and "guaranteed" in err and "measured" in err
    code, out, err = resim_cli(capsys, "compare-with-ngspice", tmp_path / "tent.cir")
    assert code == 0, out + err


def test_a_tent_swept_by_resim_sweep(tmp_path, capsys):
    code, _, err = resim_cli(capsys, "synth", "pwl", "--points", "0:0,1:1,2:0", "--gain", "1e6", "-o",
                             tmp_path / "tent.cir")
    assert code == 0, err
    code, out, err = resim_cli(capsys, "sweep", tmp_path / "tent.cir", "--dc", "vx0", "0", "2", "0.25", "--probe", "v(y0)")
    assert code == 0, err
    rows = np.array([[float(v) for v in line.split(",")] for line in out.splitlines()[1:]])
    np.testing.assert_allclose(rows[:, 1], np.interp(rows[:, 0], [0, 1, 2], [0, 1, 0]), atol=1e-5)


@pytest.mark.parametrize("args, words", [
    (["pwl", "--points", "0:0,0:1"], "x strictly increasing"),
    (["pwl", "--points", "0:0,1"], "is not x:y"),
    (["pwl", "--points", "0:0,1:1", "--gain", "-3"], "is not a number > 0"),
    (["pwl", "--points", "0:0,1:1", "--input-range", "1:0"], "LO < HI"),
])
def test_bad_synth_options_are_usage_errors(capsys, args, words):
    code, out, err = resim_cli(capsys, "synth", *args)
    assert code == 2 and words in err and "Traceback" not in err and out == ""


def test_a_network_file_that_does_not_chain_is_refused(tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", W0=np.ones((3, 4)), b0=np.ones(4), W1=np.ones((5, 2)), b1=np.ones(2))
    code, _, err = resim_cli(capsys, "synth", "relu", tmp_path / "bad.npz")
    assert code == 2 and "do not chain" in err
    np.savez(tmp_path / "none.npz", A=np.ones(3))
    code, _, err = resim_cli(capsys, "synth", "relu", tmp_path / "none.npz")
    assert code == 2 and "holds no W0" in err
    (tmp_path / "text.npz").write_text("not a zip")
    code, _, err = resim_cli(capsys, "synth", "relu", tmp_path / "text.npz")
    assert code == 2 and "not a complete .npz archive" in err


def test_a_trained_relu_mlp_becomes_a_circuit_that_classifies_like_it(tmp_path, capsys):
    """resim train (relu-mlp) -> resim synth relu -> the circuit with test image K applied
    predicts the network's class (a small network; bench/synth_mlp.py does 100 images of the
    shipped 784-512-10)."""
    from resim.drn import data as data_mod
    from resim.drn.config import check
    from resim.drn.train import train

    data = data_mod.load("fashion-mnist", FASHION, 300, 6)
    cfg = check({"model": {"kind": "relu-mlp", "layers": [784, 8, 10]},
                 "training": {"algorithm": "backprop", "epochs": 2, "batch_size": 16, "momentum": 0.9,
                              "learning_rates": [0.02, 0.02], "dtype": "float64"}}, "", "run.toml")
    train(cfg, data, str(tmp_path / "r"))
    code, _, err = resim_cli(capsys, "synth", "relu", tmp_path / "r" / "model.npz", "-o", tmp_path / "mlp.cir",
                             "--check", "2")
    assert code == 0, err
    net = synth.load_relu(str(tmp_path / "r" / "model.npz"))
    got = solved((tmp_path / "mlp.cir").read_text(), data.test_x, 10)
    assert list(np.argmax(got, axis=1)) == list(np.argmax(net(data.test_x), axis=1))
    assert Path(tmp_path / "mlp.cir").read_text().startswith("* model.npz: ReLU network 784-8-10")
