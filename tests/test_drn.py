"""Deep resistive networks: relaxation against the circuit solver, EP against the exact
gradient, IDX data (files, lookup, download over loopback HTTP), runs, resume, export."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import resim
from resim.drn import data as data_mod
from resim.drn.config import ConfigError, load_config
from resim.drn.export import to_netlist
from resim.drn.network import DRN, Relaxer, outputs, predict
from resim.drn.rules import ALGORITHMS, ep_difference, estimate, exact_gradient


def small_net(seed: int = 0, sizes=(12, 8, 3), gain: float = 3.0) -> DRN:
    net = DRN.init(list(sizes), gain, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    net.b = [rng.normal(0, 0.05, len(b)) for b in net.b]
    return net


def images(n: int, pixels: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, pixels))


# ---- relaxation: the layered coordinate descent is the circuit's operating point -------------


def test_relaxation_matches_the_circuit_solver():
    """The exported netlist solved by resim's exact solver: the same node voltages."""
    net = small_net()
    x = images(3, 12)
    relaxer = Relaxer(net)
    V = relaxer.converge(relaxer.start(x))
    for k in range(len(x)):
        result = resim.solve(resim.load_netlist(to_netlist(net, x[k])), method="exact")
        for l, layer in enumerate(V[1:], start=1):
            names = [f"h{l}_{j}" for j in range(layer.shape[1])] if l < len(V) - 1 else [f"o{j}" for j in range(3)]
            got = np.array([result.voltage(n) for n in names])
            np.testing.assert_allclose(layer[k], got, rtol=0, atol=1e-9)


def test_diode_bounds_hold():
    net = small_net(sizes=(12, 10, 3))
    relaxer = Relaxer(net)
    V = relaxer.relax(relaxer.start(images(5, 12)), 4)
    assert np.all(V[1][:, :5] >= 0) and np.all(V[1][:, 5:] <= 0)


# ---- learning rules ---------------------------------------------------------------------------


def flat(g):
    return np.concatenate([a.ravel() for a in g[0] + g[1]])


def cosine(a, b) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def converged_problem():
    """A 12-10-3 network, 4 images with targets, and its converged free state."""
    net = small_net(sizes=(12, 10, 3), gain=2.0)
    y = np.eye(3)[[0, 2, 1, 2]]
    relaxer = Relaxer(net)
    return net, y, relaxer, relaxer.converge(relaxer.start(images(4, 12)), tol=1e-14)


def test_centred_ep_approaches_the_exact_gradient():
    """docs/theory.md §4: as beta -> 0 centred EP tends to dC/dtheta by implicit
    differentiation on the active set; cosine similarity >= 0.999 at beta = 1e-3."""
    net, y, relaxer, V0 = converged_problem()
    exact = flat(exact_gradient(net, V0, y))
    beta = 1e-3
    plus = relaxer.converge(V0, tol=1e-14, beta=beta, y=y)
    minus = relaxer.converge(V0, tol=1e-14, beta=-beta, y=y)
    centred = flat(ep_difference(plus, minus, 2 * beta))
    positive = flat(ep_difference(plus, V0, beta))
    assert cosine(centred, exact) >= 0.999
    assert np.linalg.norm(centred - exact) < np.linalg.norm(positive - exact)  # O(beta^2) against O(beta)


def test_exact_gradient_matches_finite_differences():
    """The implicit-differentiation gradient against central differences of the cost."""
    net = small_net(sizes=(6, 6, 2), gain=2.0)
    x = images(2, 6)
    y = np.eye(2)[[1, 0]]

    def cost(n: DRN) -> float:
        r = Relaxer(n)
        V = r.converge(r.start(x), tol=1e-14)
        return 0.5 * float(np.sum((V[-1] - y) ** 2)) / len(x)

    r = Relaxer(net)
    gW, gb = exact_gradient(net, r.converge(r.start(x), tol=1e-14), y)
    h = 1e-6
    for l, (i, j) in [(0, (1, 2)), (0, (7, 4)), (1, (3, 1))]:
        if net.W[l][i, j] <= 2 * h:
            continue
        up, down = net.copy(), net.copy()
        up.W[l][i, j] += h
        down.W[l][i, j] -= h
        assert gW[l][i, j] == pytest.approx((cost(up) - cost(down)) / (2 * h), rel=1e-4, abs=1e-9)
    up, down = net.copy(), net.copy()
    up.b[1][0] += h
    down.b[1][0] -= h
    assert gb[1][0] == pytest.approx((cost(up) - cost(down)) / (2 * h), rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_learning_rule_descends(algorithm):
    """Each rule's estimate points downhill: cosine with the exact gradient > 0.5 here."""
    net, y, relaxer, V0 = converged_problem()
    exact = flat(exact_gradient(net, V0, y))
    got = flat(estimate(relaxer, V0, y, algorithm, 0.01, 200))
    assert cosine(got, exact) > 0.5


# ---- data -----------------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> None:
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def make_dataset(folder: Path, n_train: int = 200, n_test: int = 50, seed: int = 0, gz: bool = True) -> None:
    """Tiny separable images: class k lights up rows 2k..2k+2 of a 28x28 image."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        imgs = rng.integers(0, 40, (n, 28, 28))
        for k, lab in enumerate(labels):
            imgs[k, 2 * lab:2 * lab + 3, 4:24] = 230
        write_idx(folder / f"{prefix}-images-idx3-ubyte", imgs, gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, gz)


def test_idx_files_read_back(tmp_path):
    make_dataset(tmp_path / "d", gz=False)
    ds = data_mod.load(f"idx:{tmp_path / 'd'}")
    assert ds.train_x.shape == (200, 784) and ds.test_x.shape == (50, 784)
    assert 0 <= ds.train_x.min() and ds.train_x.max() <= 1
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(data_mod.DataError, match="not an IDX file"):
        data_mod.read_idx(str(tmp_path / "bad"))


def test_lookup_order(tmp_path, monkeypatch):
    for name in ("dir", "env", "cache/resim/datasets/mnist"):
        make_dataset(tmp_path / name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("RESIM_DATA", str(tmp_path / "env"))
    assert data_mod.locate("mnist", str(tmp_path / "dir"))[data_mod.FILES[0]].startswith(str(tmp_path / "dir"))
    assert data_mod.locate("mnist")[data_mod.FILES[0]].startswith(str(tmp_path / "env"))
    monkeypatch.delenv("RESIM_DATA")
    assert data_mod.locate("mnist")[data_mod.FILES[0]].startswith(str(tmp_path / "cache"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def http_server(tmp_path):
    """A static HTTP server on the loopback interface, serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _Quiet(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_download_over_loopback_with_checksums(tmp_path, monkeypatch, http_server):
    root, url = http_server
    make_dataset(root)
    sums = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in root.iterdir()}
    monkeypatch.setitem(data_mod.SOURCES, "kmnist", (url, sums))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RESIM_DATA", raising=False)
    ds = data_mod.load("kmnist")
    assert len(ds.train_x) == 200
    cached = tmp_path / "cache" / "resim" / "datasets" / "kmnist"
    assert sorted(p.name for p in cached.iterdir()) == sorted(sums)  # no .part files left
    assert data_mod.load("kmnist").folder == str(cached)  # the second time from the cache


def test_a_corrupted_download_is_rejected_and_deleted(tmp_path, monkeypatch, http_server):
    root, url = http_server
    make_dataset(root)
    sums = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in root.iterdir()}
    bad = root / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-3] + b"xyz")  # corrupted on the server
    monkeypatch.setitem(data_mod.SOURCES, "kmnist", (url, sums))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RESIM_DATA", raising=False)
    with pytest.raises(data_mod.DataError, match="SHA-256"):
        data_mod.load("kmnist")
    cached = tmp_path / "cache" / "resim" / "datasets" / "kmnist"
    assert not (cached / "train-labels-idx1-ubyte.gz").exists()
    assert not list(cached.glob("*.part"))


def test_no_network_says_how_to_get_the_files(tmp_path, monkeypatch):
    monkeypatch.setitem(data_mod.SOURCES, "mnist", ("http://127.0.0.1:9/", data_mod.SOURCES["mnist"][1]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RESIM_DATA", raising=False)
    with pytest.raises(data_mod.DataError, match="cannot download") as info:
        data_mod.load("mnist")
    assert "--data-dir" in info.value.hint


# ---- configuration ----------------------------------------------------------------------------------


def test_config_errors_name_the_key_and_line(tmp_path):
    p = tmp_path / "run.toml"
    p.write_text("[model]\nlayers = [784, 10]\n\n[training]\nepochs = 2\nlearning_rate = 0.1\n")
    with pytest.raises(ConfigError, match="unknown key 'learning_rate'") as info:
        load_config(str(p))
    assert info.value.location.line == 6
    p.write_text("[training]\nsweeps = \"four\"\n")
    with pytest.raises(ConfigError, match="sweeps must be a integer") as info:
        load_config(str(p))
    assert info.value.location.line == 2
    p.write_text("[model]\nlayers = [784, 100, 10]\n[training]\nlearning_rates = [0.1]\n")
    with pytest.raises(ConfigError, match="one rate per weight layer"):
        load_config(str(p))


# ---- runs ---------------------------------------------------------------------------------------------


RUN = """[model]
layers = [784, 24, 10]
input_gain = 4.0
[data]
dataset = "idx:{data}"
[training]
epochs = {epochs}
batch_size = 4
learning_rates = [0.02, 0.02]
seed = 3
"""


def cli(*args, **kw) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RESIM_DEBUG"}
    return subprocess.Popen([sys.executable, "-m", "resim.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


REAL = """[model]
layers = [784, 100, 10]
input_gain = 100.0
[data]
dataset = "fashion-mnist"
train_limit = 3000
test_limit = 500
[training]
epochs = 2
"""


PAPER = {  # docs/theory.md §6: layers, gain, sweeps, beta, weight rates, bias rates (None: the same)
    "drn_xs_fashion": ([784, 100, 10], 100.0, 4, 1.0, [0.006, 0.006], None),
    "drn_1h_fashion": ([784, 1024, 10], 480.0, 4, 1.0, [0.006, 0.006], None),
    "drn_2h_fashion": ([784, 1024, 1024, 10], 2000.0, 5, 1.0, [0.002, 0.006, 0.018], None),
    "drn_3h_fashion": ([784, 1024, 1024, 1024, 10], 4000.0, 6, 2.0, [0.005, 0.02, 0.08, 0.005],
                       [0.0005, 0.002, 0.008, 0.0005]),
    "drn_xl_fashion": ([784, 32768, 10], 800.0, 4, 1.0, [0.006, 0.006], None),  # the ICML 2024 paper's DRN-XL
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_shipped_configs_carry_the_papers_hyper_parameters(name):
    """examples/drn_*_fashion.toml, the commands of docs/results.md, are the ICML 2024 paper's setting (docs/theory.md §6)."""
    cfg = load_config(str(Path(__file__).parent.parent / "examples" / f"{name}.toml"))
    layers, gain, sweeps, beta, lrs, blrs = PAPER[name]
    m, t = cfg["model"], cfg["training"]
    got = (m["layers"], m["input_gain"], t["sweeps"], t["nudging"], t["learning_rates"])
    assert got == (layers, gain, sweeps, beta, lrs)
    assert (t["bias_learning_rates"] or None) == blrs
    assert (t["algorithm"], t["batch_size"], t["momentum"], t["lr_decay"]) == ("centered-ep", 4, 0.0, 0.99)
    assert cfg["data"]["dataset"] == "fashion-mnist"


def test_a_run_learns_and_writes_its_files(tmp_path):
    """Real Fashion-MNIST IDX files (Debian's dataset-fashion-mnist, which CI installs; a
    missing dataset fails with exit code 7 and says how to get it): 3,000 images, 2 epochs."""
    cfg = tmp_path / "run.toml"
    cfg.write_text(REAL)
    proc = cli("train", "--config", str(cfg), "--out", str(tmp_path / "run"))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    run = tmp_path / "run"
    assert {"config.resolved.toml", "metrics.jsonl", "metrics.csv", "checkpoint.npz", "model.npz"} <= {
        p.name for p in run.iterdir()}
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[-1]["test_error"] < 0.4  # chance is 0.9
    assert "momentum = 0.0" in (run / "config.resolved.toml").read_text()  # defaults written out
    assert (run / "metrics.csv").read_text().splitlines()[0].startswith("epoch,train_error,test_error")
    ev = cli("evaluate", str(run / "model.npz"))
    out, err = ev.communicate(timeout=120)
    assert ev.returncode == 0, err
    report = json.loads(out)  # the whole test set (the run's test_limit is for its metrics only)
    assert report["test_images"] == 10_000 and report["test_error"] < 0.4


def test_resume_after_a_kill_gives_the_uninterrupted_result(tmp_path):
    make_dataset(tmp_path / "d", n_train=3000, n_test=20)
    cfg = tmp_path / "run.toml"
    cfg.write_text(RUN.format(data=tmp_path / "d", epochs=3))
    whole = cli("train", "--config", str(cfg), "--out", str(tmp_path / "whole"))
    assert whole.wait(timeout=600) == 0
    killed = cli("train", "--config", str(cfg), "--out", str(tmp_path / "cut"))
    ckpt = tmp_path / "cut" / "checkpoint.npz"
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert ckpt.exists() and not (tmp_path / "cut" / "model.npz").exists()  # stopped mid-run
    with np.load(ckpt) as z:
        assert int(z["epoch"]) < 3
    resumed = cli("train", "--config", str(cfg), "--out", str(tmp_path / "cut"), "--resume")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    with np.load(tmp_path / "whole" / "model.npz") as a, np.load(tmp_path / "cut" / "model.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    assert (tmp_path / "whole" / "metrics.jsonl").read_text().count("\n") == 3
    assert (tmp_path / "cut" / "metrics.jsonl").read_text().count("\n") == 3


def test_resume_refuses_another_configuration(tmp_path):
    make_dataset(tmp_path / "d", n_train=40, n_test=10)
    cfg = tmp_path / "run.toml"
    cfg.write_text(RUN.format(data=tmp_path / "d", epochs=1))
    assert cli("train", "--config", str(cfg), "--out", str(tmp_path / "r")).wait(timeout=300) == 0
    cfg.write_text(RUN.format(data=tmp_path / "d", epochs=1).replace("seed = 3", "seed = 4"))
    proc = cli("train", "--config", str(cfg), "--out", str(tmp_path / "r"), "--resume")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2 and "another configuration" in err


# ---- export ---------------------------------------------------------------------------------------------


def test_the_exported_netlist_streams_in_chunks_with_one_resistor_per_conductance():
    """netlist_chunks in pieces of any size gives to_netlist's text; each conductance > 0 is
    one resistor 1/g between its two nodes, and zero conductances are left out."""
    from resim.drn.export import netlist_chunks

    net = small_net(sizes=(12, 8, 3))
    net.W[0][2, 5] = 0.0
    x = images(1, 12)[0]
    text = to_netlist(net, x)
    assert text.count("\nvp") == text.count("\nvn") == 12
    chunks = list(netlist_chunks(net, x, lines_per_chunk=7))
    assert len(chunks) > 5 and all(c.endswith("\n") for c in chunks) and "".join(chunks) == text
    resistors = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith("r")}
    assert len(resistors) == sum(int((w > 0).sum()) for w in net.W) and "r0_2_5" not in resistors
    for l, w in enumerate(net.W):
        for i, j in zip(*np.nonzero(w > 0)):
            a, b, value = resistors[f"r{l}_{i}_{j}"]
            assert float(value) == pytest.approx(1 / w[i, j], rel=1e-15)


def test_an_exported_network_with_another_diode_differs_only_in_its_diodes_model():
    """``diode=``: every hidden diode refers to that model (``dhidden``), and the rest of the
    netlist is the ideal one's, line for line."""
    from resim.hardware.profile import Diode

    net, x = small_net(sizes=(6, 5, 4, 3)), images(1, 6)[0]
    ideal = to_netlist(net, x).splitlines()
    near = to_netlist(net, x, diode=Diode("shockley", is_=1e-12, n=0.01, rs=1.0)).splitlines()
    assert near[-3:] == [".model dhidden D(IS=1e-12 N=0.01 RS=1.0)", ".op", ".end"]
    assert ideal[-3] == ".model dideal D(Ron=0 Vfwd=0)"
    diodes = [k for k, line in enumerate(ideal) if line.startswith("d")]
    assert len(diodes) == 5 + 4
    assert all(near[k] == ideal[k].replace(" dideal", " dhidden") and near[k].endswith(" dhidden") for k in diodes)
    assert [line for k, line in enumerate(near[:-3]) if k not in diodes] == \
        [line for k, line in enumerate(ideal[:-3]) if k not in diodes]


def test_exported_network_predicts_like_the_model(tmp_path, ngspice):
    """resim export MODEL --input K: resim solve's arg-max is the model's prediction, and
    the netlist passes compare-with-ngspice."""
    make_dataset(tmp_path / "d", n_train=400, n_test=12)
    cfg = tmp_path / "run.toml"
    cfg.write_text(RUN.format(data=tmp_path / "d", epochs=1))
    assert cli("train", "--config", str(cfg), "--out", str(tmp_path / "r")).wait(timeout=300) == 0
    from resim.drn.train import load_model

    net, _ = load_model(str(tmp_path / "r" / "model.npz"))
    ds = data_mod.load(f"idx:{tmp_path / 'd'}")
    expected = predict(net, ds.test_x)
    for k in (0, 5, 11):
        proc = cli("export", str(tmp_path / "r" / "model.npz"), "--input", str(k))
        text, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        path = tmp_path / f"net{k}.cir"
        path.write_text(text)
        result = resim.solve(resim.load_netlist(path))
        volts = [result.voltage(f"o{j}") for j in range(10)]
        assert int(np.argmax(volts)) == expected[k]
        np.testing.assert_allclose(volts, outputs(net, ds.test_x[k:k + 1])[0], atol=1e-8)
    cmp = cli("compare-with-ngspice", str(tmp_path / "net5.cir"))
    out, err = cmp.communicate(timeout=300)
    assert cmp.returncode == 0, out + err
    hardware = {}
    for name, seed in (("memristor", 1), ("memristor", 1), ("memristor", 2), ("crossbar", 1)):
        proc = cli("export", str(tmp_path / "r" / "model.npz"), "--input", "5", "--hardware",
                   str(Path(__file__).resolve().parents[1] / "examples" / "hardware" / f"{name}.toml"),
                   "--seed", str(seed))
        text, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert hardware.setdefault((name, seed), text) == text  # a seed is one draw of the devices
        path = tmp_path / f"{name}{seed}.cir"
        path.write_text(text)
        result = resim.solve(resim.load_netlist(path))
        assert np.all(np.isfinite([result.voltage(f"o{j}") for j in range(10)]))
    assert hardware[("memristor", 1)] != hardware[("memristor", 2)]
    assert "rw0_0_0 " in hardware[("crossbar", 1)] and "rw0_0_0 " not in hardware[("memristor", 1)]
    proc = cli("evaluate", str(tmp_path / "r"), "--limit", "6", "--hardware",
               str(Path(__file__).resolve().parents[1] / "examples" / "hardware" / "memristor.toml"), "--draws", "2",
               "--ngspice", "2")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    report = json.loads(out)
    hw = report["hardware"]
    assert report["test_images"] == 6 and hw["draws"] == 2 and len(hw["test_errors"]) == 2
    assert hw["solved_in_batches"] + hw["solved_alone"] == 12
    assert hw["test_error_mean"] == pytest.approx(np.mean(hw["test_errors"]))
    assert hw["ngspice"]["images"] == 2 and hw["ngspice"]["agree"], hw["ngspice"]
    assert hw["ngspice"]["max_dv_relative"] < 1e-6


def test_stacked_centred_phases_equal_separate_ones():
    """phases() relaxes +beta and -beta as one stacked batch: the same states as two runs."""
    from resim.drn.rules import phases

    net = small_net(sizes=(12, 10, 3), gain=2.0)
    x = images(4, 12)
    y = np.eye(3)[[0, 2, 1, 2]]
    relaxer = Relaxer(net)
    V0 = relaxer.relax(relaxer.start(x), 4)
    plus, minus, scale = phases(relaxer, V0, y, "centered-ep", 0.5, 4)
    assert scale == 1.0
    for got, beta in ((plus, 0.5), (minus, -0.5)):
        want = relaxer.relax(V0, 4, beta, y)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


# ---- the training step: one BLAS update per layer, in column halves, on one or two cores ----------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cblas", [True, False], ids=["cblas", "scipy"])
def test_add_outer_updates_column_blocks_in_place(dtype, cblas, monkeypatch):
    from resim.drn import blas

    if not cblas:
        monkeypatch.setattr(blas, "_cblas", lambda: None)
    elif not blas.releases_gil():
        pytest.fail("no cblas_?gemm found in the loaded OpenBLAS: the two-core update is off")
    rng = np.random.default_rng(5)
    C = np.asfortranarray(rng.random((37, 20))).astype(dtype, order="F")
    P, Q = rng.standard_normal((3, 37)).astype(dtype), rng.standard_normal((3, 20)).astype(dtype)
    want = C.copy()
    want[:, 8:] = 0.25 * C[:, 8:] - 1.5 * P.T @ Q[:, 8:]
    blas.add_outer(C[:, 8:], -1.5, P, Q[:, 8:], beta=0.25)
    np.testing.assert_allclose(C, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    with pytest.raises(ValueError):
        blas.add_outer(np.ascontiguousarray(C), 1.0, P, Q)  # row-major: not what it updates


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("threads", [1, 2])
def test_descend_is_the_clipped_gradient_step(momentum, threads):
    """descend() (fused BLAS update in column halves, optionally on two threads) equals the
    explicit step theta -= lr g, W = max(W, 0), g from ep_difference; the returned input
    currents and column sums are those of the updated W[0]."""
    from concurrent.futures import ThreadPoolExecutor

    from resim.drn.rules import apply_gradient, descend, phases

    net = small_net(sizes=(300, 256, 10), gain=2.0)
    assert net.W[0].size >= (1 << 16)  # large enough to be split in halves
    x, upcoming = images(4, 300), net.inputs(images(4, 300, seed=9))
    y = np.eye(10)[[1, 4, 7, 0]]
    relaxer = Relaxer(net)
    Va, Vb, scale = phases(relaxer, relaxer.relax(relaxer.start(x), 4), y, "centered-ep", 0.5, 4)
    gW, gb = ep_difference(Va, Vb, scale)
    lr_w, lr_b = np.array([0.3, 0.2]), np.array([0.1, 0.05])
    rng = np.random.default_rng(3)
    mom_W = [rng.random(w.shape) * 1e-3 for w in net.W]
    mom_b = [rng.random(b.shape) * 1e-3 for b in net.b]
    before, want = net.copy(), net.copy()
    unclipped = []
    for l in range(2):
        step_W = momentum * mom_W[l] + gW[l] if momentum else gW[l]
        step_b = momentum * mom_b[l] + gb[l] if momentum else gb[l]
        unclipped.append(want.W[l] - lr_w[l] * step_W)
        want.W[l] = np.maximum(unclipped[l], 0.0)
        want.b[l] = want.b[l] - lr_b[l] * step_b
    pool = ThreadPoolExecutor(1) if threads == 2 else None
    try:
        drive, colsum = descend(net, Va, Vb, scale, lr_w, lr_b, momentum, [np.asfortranarray(m) for m in mom_W],
                                [m.copy() for m in mom_b], upcoming, pool)
    finally:
        if pool:
            pool.shutdown()
    explicit = before.copy()  # the same step from gradient arrays (the `exact` rule's path)
    apply_gradient(explicit, gW, gb, lr_w, lr_b, momentum, [m.copy() for m in mom_W], [m.copy() for m in mom_b])
    for got, alt, exp in zip(net.W + net.b, explicit.W + explicit.b, want.W + want.b):
        np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(alt, exp, rtol=1e-10, atol=1e-13)
    assert np.sum(unclipped[0] < 0) > 0.1 * net.W[0].size  # the step pushed many below 0: the clip matters
    np.testing.assert_allclose(drive, upcoming @ want.W[0], rtol=1e-10)
    np.testing.assert_allclose(colsum, want.W[0].sum(axis=0), rtol=1e-10)


def test_training_gives_the_same_bits_on_one_or_two_cores(tmp_path):
    from resim.drn.config import check
    from resim.drn.train import train

    make_dataset(tmp_path / "d", n_train=120, n_test=10)
    data = data_mod.load(f"idx:{tmp_path / 'd'}")
    doc = {"model": {"layers": [784, 256, 256, 10], "input_gain": 4.0},
           "training": {"epochs": 1, "dtype": "float32", "learning_rates": [0.01, 0.01, 0.01]}}
    from resim.drn import blas

    assert blas.releases_gil()  # else threads=2 would quietly run on one core, and this would prove nothing
    nets = [train(check(doc, "", "t"), data, str(tmp_path / f"t{n}"), threads=n)[0] for n in (1, 2)]
    assert min(nets[0].W[0].size, nets[0].W[1].size) >= (1 << 16)  # split updates and products
    for a, b in zip(nets[0].W + nets[0].b, nets[1].W + nets[1].b):
        np.testing.assert_array_equal(a, b)
    start = DRN.init([784, 256, 256, 10], 4.0, np.random.default_rng(0), np.float32)
    assert not np.array_equal(nets[0].W[0], start.W[0])


def test_a_drn_trained_with_every_image_flipped_equals_one_trained_on_mirrored_images(tmp_path):
    """[data] flip = 1 mirrors every training image: the same run as flip = 0 on a dataset
    whose training images were mirrored beforehand (and the same test images)."""
    import dataclasses

    from resim.drn.config import check
    from resim.drn.train import train

    make_dataset(tmp_path / "d", n_train=40, n_test=10)
    data = data_mod.load(f"idx:{tmp_path / 'd'}")
    mirrored = dataclasses.replace(data, train_x=np.ascontiguousarray(data.train_x.reshape(-1, 28, 28)[:, :, ::-1])
                                   .reshape(data.train_x.shape))
    assert not np.array_equal(mirrored.train_x, data.train_x)

    def run(flip, images, name):
        doc = {"model": {"layers": [784, 20, 10], "input_gain": 4.0}, "data": {"flip": flip},
               "training": {"epochs": 2, "learning_rates": [0.05, 0.05]}}
        return train(check(doc, "", "t"), images, str(tmp_path / name), threads=1)

    (a, rows_a), (b, rows_b), (c, _) = run(1.0, data, "a"), run(0.0, mirrored, "b"), run(0.0, data, "c")
    for x, y in zip(a.W + a.b, b.W + b.b):
        np.testing.assert_array_equal(x, y)
    assert [r["test_error"] for r in rows_a] == [r["test_error"] for r in rows_b]
    assert not np.array_equal(a.W[0], c.W[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
def test_large_products_in_halves_equal_the_whole(threads, dtype):
    """The relaxation's products ``a b`` with large matrices go in two fixed column halves,
    the second on the worker thread with 2 threads: each equals the whole product of one
    numpy call. The halves are separate BLAS calls whose summation order may differ from the
    whole's (they are not the same bits), so the bound is the error bound of a K-term dot
    product, for both results: |got - want| <= 2 gamma_K |a| |b|, gamma_K = K u / (1 - K u).
    A half computed from the wrong columns, or not at all, is off by O(|a| |b|)."""
    from concurrent.futures import ThreadPoolExecutor

    from resim.drn.kernels import column_blocks

    class CountingPool(ThreadPoolExecutor):  # one worker thread that counts what it is given
        submitted = 0

        def submit(self, *args, **kwargs):
            self.submitted += 1
            return super().submit(*args, **kwargs)

    net = DRN.init([150, 300, 256, 10], 2.0, np.random.default_rng(0), dtype)
    a = np.random.default_rng(4).standard_normal((8, 300)).astype(dtype)  # signed, as voltages are
    u = np.finfo(dtype).eps / 2
    pool = CountingPool(1) if threads == 2 else None
    try:
        relaxer = Relaxer(net, pool=pool)
        products = (net.W[1], net.W[1].T, net.W[0])
        for b in products:
            assert len(column_blocks(b)) == 2  # large enough to go in halves
            x = a[:, :b.shape[0]]
            got = relaxer.product(x, b)
            assert got.dtype == dtype
            K = b.shape[0]
            bound = 2 * K * u / (1 - K * u) * (np.abs(x).astype(np.float64) @ np.abs(b).astype(np.float64))
            assert np.all(np.abs(got.astype(np.float64) - (x @ b)) <= bound)
        if pool:
            assert pool.submitted == len(products)  # every second half went to the worker thread
            V = relaxer.relax(relaxer.start(images(8, 150)), 3)
            want = Relaxer(net).relax(Relaxer(net).start(images(8, 150)), 3)
            for got, exp in zip(V, want):  # the thread does not change the bits
                np.testing.assert_array_equal(got, exp)
    finally:
        if pool:
            pool.shutdown()


# ---- the follow-up's setting (docs/theory.md §6): layer order, evaluation, shipped configs ------


def test_layer_orders_relax_the_layers_in_turn():
    """A sweep in "forward" order is layer 1, then 2, ...: each layer sees the new values of
    the one before; "backward" the reverse; "odd-even" the odd layers first. Checked against
    one-layer updates composed by hand (a relax of 1 sweep restricted by clamping nothing)."""
    from resim.drn.network import layer_order

    assert layer_order(3, "odd-even") == [1, 3, 2]
    assert layer_order(3, "forward") == [1, 2, 3]
    assert layer_order(3, "backward") == [3, 2, 1]
    net = small_net(sizes=(6, 5, 4, 3))
    relaxer = Relaxer(net)
    V = relaxer.start(images(2, 6))
    V = relaxer.relax(V, 3)  # a state that is not a fixed point
    W, b = net.W, net.b

    def update(V, l):  # one layer's coordinate-descent update, written out
        num = V[l - 1] @ W[l - 1] + b[l - 1]
        den = W[l - 1].sum(axis=0)
        if l < len(W):
            num = num + V[l + 1] @ W[l].T
            den = den + W[l].sum(axis=1)
        v = num / den
        if l < len(W):
            h = v.shape[1] // 2
            v[:, :h], v[:, h:] = np.maximum(v[:, :h], 0), np.minimum(v[:, h:], 0)
        return [*V[:l], v, *V[l + 1:]]

    for order, layers in (("forward", [1, 2, 3]), ("backward", [3, 2, 1]), ("odd-even", [1, 3, 2])):
        want = V
        for l in layers:
            want = update(want, l)
        got = relaxer.relax(V, 1, order=order)
        for a, c in zip(got[1:], want[1:]):
            np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
    assert not np.allclose(relaxer.relax(V, 1, order="forward")[2], relaxer.relax(V, 1, order="backward")[2])


def test_warm_started_evaluation_gives_the_converged_outputs():
    """The test set's equilibria carried from one evaluation to the next (the network having
    changed in between) end where a cold start ends: the equilibrium is unique."""
    net = small_net(sizes=(12, 10, 8, 3))
    x = images(50, 12)
    warm: list = []
    outputs(net, x, batch=16, warm=warm)  # fills warm with the equilibria
    assert len(warm) == 4
    net.W = [w * np.random.default_rng(5).uniform(0.8, 1.2, w.shape) for w in net.W]
    net.b = [b + 0.01 for b in net.b]
    cold = outputs(net, x, batch=16)
    hot = outputs(net, x, batch=16, warm=warm)
    np.testing.assert_allclose(hot, cold, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(predict(net, x, batch=16, warm=warm), predict(net, x, batch=16))


def test_evaluation_after_k_sweeps_is_the_relaxation_from_zero():
    net = small_net(sizes=(12, 10, 8, 3))
    x = images(7, 12)
    relaxer = Relaxer(net)
    want = relaxer.relax(relaxer.start(x), 5, order="forward")[-1]
    np.testing.assert_array_equal(outputs(net, x, sweeps=5, order="forward"), want)


@pytest.mark.parametrize("name, layers, gain, sweeps, nudging", [
    ("fashion_drn_1h_ep", [784, 1024, 10], 300.0, 4, 0.5),
    ("fashion_drn_2h_ep", [784, 1024, 1024, 10], 1250.0, 5, 1.0),
    ("fashion_drn_3h_ep", [784, 1024, 1024, 1024, 10], 2500.0, 6, 2.0),
    ("fashion_drn_1h_tbp", [784, 1024, 10], 300.0, 4, None),
    ("fashion_drn_2h_tbp", [784, 1024, 1024, 10], 1250.0, 5, None),
    ("fashion_drn_3h_tbp", [784, 1024, 1024, 1024, 10], 2500.0, 6, None),
])
def test_shipped_followup_configs_are_science_3b(name, layers, gain, sweeps, nudging):
    """examples/fashion_drn_*: the follow-up's setting (docs/theory.md §6), line by line."""
    cfg = load_config(str(Path(__file__).parent.parent / "examples" / f"{name}.toml"))
    m, t = cfg["model"], cfg["training"]
    assert (m["kind"], m["layers"], m["input_gain"]) == ("drn", layers, gain)
    assert (t["sweeps"], t["eval_sweeps"], t["layer_order"]) == (sweeps, sweeps, "forward-backward")
    assert (t["batch_size"], t["momentum"], t["lr_decay"], t["epochs"]) == (32, 0.9, 0.99, 100)
    rates = {1: ([0.005] * 2, [0.005] * 2), 2: ([0.002, 0.006, 0.005],) * 2,
             3: ([0.005, 0.02, 0.08, 0.005], [0.0005, 0.002, 0.008, 0.0005])}[len(layers) - 2]
    assert (t["learning_rates"], t["bias_learning_rates"]) == rates
    if nudging is None:
        assert t["algorithm"] == "truncated-bp"
    else:
        assert (t["algorithm"], t["nudging"]) == ("centered-ep", nudging)


def test_old_runs_resume_under_new_keys():
    """A run started before a key existed resumes: the missing key takes its default."""
    from resim.drn.config import same_run

    old = "[model]\nlayers = [784, 100, 10]\ninput_gain = 100.0\n\n[training]\nsweeps = 4\n"
    new = "[model]\nkind = \"drn\"\nlayers = [784, 100, 10]\ninput_gain = 100.0\n\n[training]\nsweeps = 4\n" \
          "layer_order = \"odd-even\"\neval_sweeps = 0\n"
    assert same_run(old, new)
    assert not same_run(old, new.replace("odd-even", "forward-backward"))


def test_predict_stops_when_no_class_can_change_and_gives_the_equilibriums_classes(monkeypatch):
    """predict() ends the relaxation once every image's class is certain (its lead over the
    runner-up beats four times the bound on what is left): the classes of the equilibrium,
    in fewer sweeps than converging to the tolerance."""
    net = small_net(seed=3, sizes=(40, 30, 20, 5), gain=20.0)
    x = images(300, 40, seed=7)
    sweeps = {"n": 0}
    relax = Relaxer.relax

    def counting(self, V, n, *a, **kw):
        sweeps["n"] += n
        return relax(self, V, n, *a, **kw)

    monkeypatch.setattr(Relaxer, "relax", counting)
    full = np.argmax(outputs(net, x, batch=100), axis=1)
    full_sweeps, sweeps["n"] = sweeps["n"], 0
    fast = predict(net, x, batch=100)
    np.testing.assert_array_equal(fast, full)
    assert sweeps["n"] < full_sweeps / 2, (sweeps["n"], full_sweeps)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_in_cache_sized_strips_equals_the_whole_block(monkeypatch, momentum, dtype):
    """A column block walked in strips (update, clip, next batch's currents and column sums
    strip by strip, as DRN-XL's halves are) gives the bits of one pass over the whole block."""
    from resim.drn import kernels
    from resim.drn.engine import Engine

    rng = np.random.default_rng(4)
    rows, cols, k = 300, 257, 6
    W0 = np.asfortranarray(rng.uniform(0, 1, (rows, cols)).astype(dtype))
    M0 = np.asfortranarray(rng.normal(0, 0.1, (rows, cols)).astype(dtype))
    P, Q = rng.normal(0, 1, (k, rows)).astype(dtype), rng.normal(0, 1, (k, cols)).astype(dtype)
    x = rng.uniform(0, 1, (4, rows)).astype(dtype)

    def run(cache_bytes):
        monkeypatch.setattr(kernels, "CACHE_BYTES", cache_bytes)
        monkeypatch.setattr(kernels, "STRIP_ABOVE", 0)
        monkeypatch.setattr(kernels, "ONE_PASS", False)
        W, M = W0.copy(order="F"), M0.copy(order="F")
        feed = (x, np.ones(rows, dtype), np.empty((4, cols), dtype), np.empty(cols, dtype))
        engine = Engine(np.dtype(dtype).name)
        kernels.step_columns(engine, W, M if momentum else None, P, Q, momentum, 0.3, 0.7, feed, slice(0, cols))
        return W, M, feed[2], feed[3], len(kernels.strips(W, slice(0, cols)))

    whole, striped = run(1 << 30), run(40 * rows * W0.itemsize)
    assert (whole[-1], striped[-1]) == (1, 7)  # 257 columns in strips of 40
    for a, b in zip(whole[:-1], striped[:-1]):
        np.testing.assert_array_equal(a, b)


def needs_numba():
    from resim.drn import onepass

    assert onepass.available(), "numba is missing: `make test` installs it (pip install -e '.[test]', or '.[fast]')"


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("with_feed", [True, False])
def test_one_pass_step_is_the_update_clip_and_products(momentum, dtype, rtol, with_feed):
    """resim.drn.onepass against the step written out in float64 numpy: M = mu M + alpha
    P^T Q, W = max(W - lr M, 0) (or W = max(W - lr alpha P^T Q, 0)), then x W and 1^T W, on
    a block of 257 columns (64 groups of four and a tail of one) that starts at column 3."""
    needs_numba()
    from resim.drn import onepass

    rng = np.random.default_rng(8)
    rows, cols, k, B = 300, 263, 5, 4
    W0 = np.asfortranarray(rng.uniform(0, 1, (rows, cols)).astype(dtype))
    M0 = np.asfortranarray(rng.normal(0, 0.1, (rows, cols)).astype(dtype))
    P, Q = rng.normal(0, 1, (k, rows)).astype(dtype), rng.normal(0, 1, (k, cols)).astype(dtype)
    x = rng.uniform(0, 1, (B, rows)).astype(dtype)
    W, M = W0.copy(order="F"), M0.copy(order="F")
    feed = (x, np.ones(rows, dtype), np.full((B, cols), np.nan, dtype), np.full(cols, np.nan, dtype))
    block = slice(3, 260)
    onepass.step(W, M if momentum else None, P, Q, momentum, 0.3, 0.7, feed if with_feed else None, block)
    w, m = W0.astype(np.float64), M0.astype(np.float64)
    u = 0.7 * (P.astype(np.float64).T @ Q.astype(np.float64))
    if momentum:
        m[:, block] = momentum * m[:, block] + u[:, block]
        w[:, block] = np.maximum(w[:, block] - 0.3 * m[:, block], 0)
    else:
        w[:, block] = np.maximum(w[:, block] - 0.3 * u[:, block], 0)
    assert 0.1 < np.mean(w[:, block] == 0) < 0.9  # the clip matters
    np.testing.assert_allclose(W, w, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(W[:, :3], W0[:, :3])  # columns outside the block untouched
    np.testing.assert_array_equal(W[:, 260:], W0[:, 260:])
    if momentum:
        np.testing.assert_allclose(M, m, rtol=rtol, atol=rtol)
    else:
        np.testing.assert_array_equal(M, M0)
    if with_feed:
        np.testing.assert_allclose(feed[2][:, block], x.astype(np.float64) @ w[:, block], rtol=rtol * 10)
        np.testing.assert_allclose(feed[3][block], w[:, block].sum(axis=0), rtol=rtol * 10)
        assert np.isnan(feed[2][:, :3]).all() and np.isnan(feed[3][260:]).all()


def test_training_through_the_one_pass_kernel_gives_the_same_bits_on_one_or_two_cores(tmp_path, monkeypatch):
    """Every block forced through resim.drn.onepass (as DRN-XL's W[0] halves go): the same
    bits on one or two cores, and the same run as numpy's strips up to rounding."""
    needs_numba()
    from resim.drn import kernels
    from resim.drn.config import check
    from resim.drn.train import train

    make_dataset(tmp_path / "d", n_train=64, n_test=10)
    data = data_mod.load(f"idx:{tmp_path / 'd'}")
    doc = {"model": {"layers": [784, 256, 10], "input_gain": 4.0},
           "training": {"epochs": 1, "dtype": "float32", "learning_rates": [0.01, 0.01], "momentum": 0.5}}
    monkeypatch.setattr(kernels, "STRIP_ABOVE", 0)
    calls = []
    monkeypatch.setattr(kernels.onepass, "step", lambda *a, step=kernels.onepass.step: calls.append(1) or step(*a))
    nets = [train(check(doc, "", "t"), data, str(tmp_path / f"t{n}"), threads=n)[0] for n in (1, 2)]
    assert calls
    for a, b in zip(nets[0].W + nets[0].b, nets[1].W + nets[1].b):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(kernels, "ONE_PASS", False)
    strips = train(check(doc, "", "t"), data, str(tmp_path / "strips"), threads=2)[0]
    for a, b in zip(nets[0].W + nets[0].b, strips.W + strips.b):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    start = DRN.init([784, 256, 10], 4.0, np.random.default_rng(0), np.float32)
    assert not np.array_equal(nets[0].W[0], start.W[0])
