"""Hardware profiles and the physical netlist (resim/hardware/, docs/hardware.md).

The mapped network is checked against independent truth: the trainer's own relaxation of
the network (zero non-ideality), the homogeneity of the circuit (scaling), the plain
network (a crossbar of vanishing wires), and ngspice (every diode model).
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import resim
from resim.compare import compare_with_ngspice
from resim.drn.network import DRN, outputs
from resim.hardware.devices import SERIES_MANTISSAS, drawn, physical, programmed, series_conductances, series_nearest
from resim.hardware.netlist import netlist_chunks
from resim.hardware.profile import Diode, Profile, ProfileError, check_profile, load_profile

REPO = Path(__file__).resolve().parents[1]
PROFILES = sorted((REPO / "examples" / "hardware").glob("*.toml"))


def small_net(seed: int = 0, sizes=(12, 10, 4), gain: float = 5.0) -> DRN:
    rng = np.random.default_rng(seed)
    net = DRN.init(list(sizes), gain, rng)
    net.b[0][:] = 0.05 * rng.standard_normal(net.b[0].shape)
    net.b[1][:] = 0.1
    return net


def image(seed: int = 1, pixels: int = 12) -> np.ndarray:
    return np.random.default_rng(seed).random(pixels)


def solved(phys, img) -> dict[str, float]:
    """Every node voltage of the physical netlist, solved by resim."""
    text = "".join(netlist_chunks(phys, img, "test", diode_name="dhw"))
    c = resim.load_netlist(text)
    r = resim.solve(c)  # (a solve that does not converge raises)
    return dict(zip(c.nodes, r.voltages.tolist()))


def test_the_ideal_profile_gives_the_trainers_outputs():
    net, img = small_net(), image()
    v = solved(physical(net, Profile()), img)
    got = np.array([v[f"o{k}"] for k in range(4)])
    want = outputs(net, img[None, :])[0]
    assert np.max(np.abs(got - want)) <= 1e-6 * np.max(np.abs(want)), (got, want)


@pytest.mark.parametrize("volts, siemens", [(2.5, 1.0), (0.01, 1.0), (1.0, 1e-4), (0.3, 7e-3)])
def test_voltages_scale_with_the_volts_and_not_with_the_siemens(volts, siemens):
    """Homogeneity: sources times s give every node voltage times s; conductances and
    currents times c change no voltage."""
    net, img = small_net(2), image(3)
    unit = solved(physical(net, Profile()), img)
    scaled = solved(physical(net, Profile(volts_per_unit=volts, siemens_per_unit=siemens)), img)
    for node, v in unit.items():
        assert scaled[node] == pytest.approx(volts * v, rel=1e-6, abs=1e-9 * volts), node


def test_a_crossbar_of_zero_ohm_wires_is_the_plain_network():
    net, img = small_net(4), image(5)
    plain = physical(net, Profile())
    text = "".join(netlist_chunks(plain, img, "test", diode_name="dhw", crossbar=True))
    c = resim.load_netlist(text)
    v_wired = dict(zip(c.nodes, resim.solve(c).voltages.tolist()))
    v_plain = solved(plain, img)
    assert len(v_wired) > 2 * 24 * 10  # the crossbar's own nodes: 2 m n per layer
    scale = max(abs(v) for v in v_plain.values())
    for node, v in v_plain.items():
        assert abs(v_wired[node] - v) <= 1e-6 * scale, node
    assert "".join(netlist_chunks(plain, img, "t")) == "".join(netlist_chunks(plain, img, "t", crossbar=False))


def test_wires_with_resistance_lower_the_outputs_magnitude():
    """An IR drop: the same network through 1 kOhm segments differs from the plain one."""
    net, img = small_net(6), image(7)
    plain = physical(net, Profile(siemens_per_unit=1e-3))
    v_plain, v_wired = solved(plain, img), solved(dataclasses.replace(plain, wire_ohms=1e3), img)
    assert max(abs(v_wired[f"o{k}"] - v_plain[f"o{k}"]) for k in range(4)) > 1e-3


@pytest.mark.parametrize("arrays", [(0, 0), (5, 4), (24, 3)], ids=lambda a: f"{a[0]}x{a[1]}")
def test_a_tiled_crossbar_of_zero_ohm_wires_is_the_plain_network(arrays):
    net, img = small_net(4), image(5)
    plain = physical(net, Profile())
    tiled = dataclasses.replace(plain, arrays=arrays)
    c = resim.load_netlist("".join(netlist_chunks(tiled, img, "test", diode_name="dhw", crossbar=True)))
    v_wired = dict(zip(c.nodes, resim.solve(c).voltages.tolist()))
    v_plain = solved(plain, img)
    scale = max(abs(v) for v in v_plain.values())
    assert max(abs(v_wired[node] - v) for node, v in v_plain.items()) <= 1e-6 * scale


@pytest.mark.parametrize("arrays", [(0, 0), (5, 4), (7, 10)], ids=lambda a: f"{a[0]}x{a[1]}")
@pytest.mark.parametrize("diode", [Diode("ideal"), Diode("pwl", vfwd=0.05, ron=20.0)], ids=lambda d: d.model)
def test_a_crossbar_reduced_to_its_ports_solves_as_the_full_netlist(arrays, diode):
    """Kron reduction (resim/hardware/crossbar.py): the network of conductances between the
    arrays' ports has the full netlist's node voltages, solved by resim, while the wires
    (100 ohm segments beside 1-10 kOhm devices) change them."""
    from resim.hardware.crossbar import reduced

    net, img = small_net(10, sizes=(12, 10, 4)), image(11)
    profile = Profile(volts_per_unit=0.1, siemens_per_unit=1e-3, diode=diode)
    wired = dataclasses.replace(physical(net, profile), wire_ohms=100.0, arrays=arrays)
    full, small = solved(wired, img), solved(reduced(wired), img)
    plain = solved(dataclasses.replace(wired, wire_ohms=0.0), img)
    assert len(full) > len(small) == len(plain)
    scale = max(abs(v) for v in plain.values())
    worst = max(abs(full[node] - v) for node, v in small.items())
    assert worst <= 1e-9 * scale, worst
    assert max(abs(full[node] - v) for node, v in plain.items()) > 1e-3 * scale  # the wires matter here


def test_the_reduced_array_is_a_resistive_network_and_its_wireless_limit_the_devices():
    """Conductances >= 0, symmetric, every port pair joined through the wires; and as the
    segments vanish, each row sees each column through its device alone and nothing else."""
    from resim.hardware.crossbar import array_ports

    g = np.random.default_rng(3).uniform(1e-4, 1e-3, (6, 5))
    rc, rr, cc = array_ports(g, 20.0)
    assert (rc >= 0).all() and np.allclose(rr, rr.T) and np.allclose(cc, cc.T) and not np.diag(rr).any()
    assert (rc < g).all() and (rr[np.triu_indices(6, 1)] > 0).all() and (cc[np.triu_indices(5, 1)] > 0).all()
    rc, rr, cc = array_ports(g, 1e-9)
    assert np.allclose(rc, g, rtol=1e-6) and rr.max() < 1e-9 and cc.max() < 1e-9


@pytest.mark.parametrize("diode", [Diode("ideal"), Diode("pwl", vfwd=0.05, ron=20.0),
                                   Diode("shockley", is_=2.52e-9, n=1.752, rs=0.568)], ids=lambda d: d.model)
def test_the_physical_netlist_solves_the_same_in_resim_and_ngspice(ngspice, tmp_path, diode):
    net = small_net(8, sizes=(8, 6, 3))
    profile = Profile(volts_per_unit=0.2, siemens_per_unit=1e-3, diode=diode)
    path = tmp_path / f"{diode.model}.cir"
    path.write_text("".join(netlist_chunks(physical(net, profile), image(9, 8), "hardware", diode_name="dhw")))
    cmp = compare_with_ngspice(path, ngspice=ngspice, diodes="sidiode" if diode.model == "ideal" else "states")
    assert cmp.ok, cmp.verdict()
    assert not cmp.missing


def test_a_tiled_crossbar_netlist_solves_the_same_in_resim_and_ngspice(ngspice, tmp_path):
    net = small_net(12, sizes=(8, 6, 3))
    profile = Profile(volts_per_unit=0.2, siemens_per_unit=1e-3, diode=Diode("pwl", vfwd=0.05, ron=20.0),
                      wire_ohms=50.0, array_rows=5, array_columns=4)
    path = tmp_path / "crossbar.cir"
    path.write_text("".join(netlist_chunks(physical(net, profile), image(13, 8), "crossbar", diode_name="dhw")))
    cmp = compare_with_ngspice(path, ngspice=ngspice, diodes="states")
    assert cmp.ok, cmp.verdict()
    assert not cmp.missing and len(cmp.rows) > 2 * 16 * 6  # the crossings are compared too


def test_programming_rounds_to_the_levels_and_the_window():
    p = Profile(g_min=1e-6, g_max=1e-4, bits=3)
    G = np.array([0.0, 5e-7, 1e-6, 2e-5, 5.1e-5, 9.9e-5, 1e-3])
    out = programmed(G, p)
    levels = 1e-6 + np.arange(8) * (99e-6 / 7)
    assert np.all(np.min(np.abs(out[:, None] - levels[None, :]), axis=1) < 1e-18)
    assert out[0] == out[1] == 1e-6 and out[-1] == 1e-4  # a weight of 0 is the off state
    assert programmed(G, dataclasses.replace(p, zero_is_open=True))[0] == 0.0


def test_series_rounding_gives_parts_of_the_series():
    R = np.exp(np.random.default_rng(0).uniform(np.log(10.0), np.log(1e7), 500))
    got = series_nearest(R, "E96")
    mant = got / 10.0 ** np.floor(np.log10(got) + 1e-12)
    assert np.all(np.min(np.abs(mant[:, None] - SERIES_MANTISSAS["E96"][None, :]), axis=1) < 1e-9)
    assert np.all(np.abs(np.log(got / R)) <= np.log(1.025))  # E96 steps are at most ~2.4 %
    assert series_nearest(np.array([1000.0, 1013.0, 1021.0]), "E96").tolist() == pytest.approx([1000.0, 1020.0,
                                                                                                  1020.0])


@pytest.mark.parametrize("series", sorted(SERIES_MANTISSAS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_series_lookup_is_the_nearest_part(series, dtype):
    """Training's table lookup (series_conductances) picks the part series_nearest picks,
    over nine decades and at the boundaries between parts (nearest in log, either side)."""
    rng = np.random.default_rng(5)
    spu = 1e-3
    g = 10 ** rng.uniform(-6, 3, 20000)
    m = np.log10(np.r_[SERIES_MANTISSAS[series], 10.0])
    side = 1e-9 if dtype == np.float64 else 1e-6  # in decades: resolved by the dtype
    mids = 10 ** ((0.5 * (m[:-1] + m[1:]) + rng.integers(-2, 4, len(m) - 1))[:, None] + np.array([[-side, side]]))
    g = np.r_[g, 1.0 / (mids.ravel() * spu), 0.0].astype(dtype)  # a boundary's two sides, as conductances
    got = series_conductances(g, series, spu)
    assert got.dtype == dtype and got[-1] == 0.0
    want = 1.0 / (series_nearest(1.0 / (g[:-1].astype(float) * spu), series) * spu)
    assert np.max(np.abs(got[:-1] / want - 1.0)) < (1e-6 if dtype == np.float32 else 1e-12)


def test_a_draw_is_seeded_and_log_normal():
    p = Profile(variation=0.05, programming_noise=0.02)
    G = np.full(20000, 1e-5)
    a, b = drawn(G, p, np.random.default_rng(3)), drawn(G, p, np.random.default_rng(3))
    assert np.array_equal(a, b)
    assert np.std(np.log(a / G)) == pytest.approx(math.hypot(0.05, 0.02), rel=0.03)


def test_shipped_profiles_load_and_export(tmp_path):
    assert {p.name for p in PROFILES} == {"discrete.toml", "memristor.toml", "crossbar.toml"}
    net = small_net(10)
    for path in PROFILES:
        profile = load_profile(str(path))
        assert profile.references and not profile.ideal
        text = "".join(netlist_chunks(physical(net, profile, np.random.default_rng(0)), image(), profile.name, "dhw"))
        c = resim.load_netlist(text)
        assert np.all(np.isfinite(resim.solve(c).voltages)), path.name


BAD = [
    ("[scale]\nvolts_per_unit = 0\n", "volts_per_unit", 2),
    ("[scale]\nsiemens_per_unit = -1e-3\n", "siemens_per_unit", 2),
    ("[conductance]\ng_min = 1e-4\ng_max = 1e-5\n", "g_max", 3),
    ("[conductance]\nbits = 4\n", "bits", 2),  # no finite g_max for the levels
    ("[conductance]\ng_max = 1.0\nbits = 40\n", "bits", 3),
    ("[conductance]\ng_max = 1.0\nbits = 4\nseries = \"E96\"\n", "series", 4),
    ("[conductance]\nseries = \"E7\"\n", "series", 2),
    ("[conductance]\nvariation = -0.1\n", "variation", 2),
    ("[conductance]\nzero_is_open = 1\n", "zero_is_open", 2),
    ("[diode]\nmodel = \"zener\"\n", "model", 2),
    ("[diode]\nmodel = \"shockley\"\nis = 0\n", "is", 3),
    ("[diode]\nron = \"big\"\n", "ron", 2),
    ("[crossbar]\nwire_ohms = -1\n", "wire_ohms", 2),
    ("[crossbar]\nwire_ohm = 1\n", "wire_ohm", 2),
    ("name = \"x\"\ncolour = \"red\"\n", "colour", 2),
    ("[wires]\nr = 1\n", None, 1),
]


@pytest.mark.parametrize("text, key, line", BAD, ids=[b[1] or "section" for b in BAD])
def test_a_bad_profile_is_refused_at_its_key(tmp_path, text, key, line):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    err = info.value
    assert err.location.file == str(path) and err.location.line == line, err.render()
    if key:
        assert key in err.message, err.message


def test_the_cli_refuses_a_bad_profile_with_exit_3(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[diode]\nmodel = \"zener\"\n")
    proc = subprocess.run([sys.executable, "-m", "resim", "export", str(tmp_path / "no-run"), "--input", "0",
                           "--hardware", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and f"{bad}:2:" in proc.stderr and "zener" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_profile_checks_as_a_document():
    p = check_profile({"scale": {"volts_per_unit": 2}, "conductance": {"g_max": 1e-3, "bits": 4}})
    assert p.volts_per_unit == 2.0 and p.bits == 4 and not p.ideal and Profile().ideal


def test_the_hardware_error_of_the_ideal_profile_is_the_models():
    """evaluate_hardware solves the circuit (batched coordinate descent, certified per image):
    with the ideal profile its predictions are the trainer's."""
    from resim.hardware.evaluate import evaluate_hardware

    net = small_net(11, sizes=(12, 10, 4))
    x = np.random.default_rng(12).random((40, 12))
    want = np.argmax(outputs(net, x), axis=1)
    labels = np.random.default_rng(13).integers(0, 4, 40)
    ev = evaluate_hardware(net, Profile(volts_per_unit=0.5, siemens_per_unit=1e-3), x, labels, draws=2)
    assert [d.predictions.tolist() for d in ev.draws] == [want.tolist()] * 2
    assert ev.mean == pytest.approx(np.mean(want != labels)) and ev.std == 0.0
    assert sum(d.batched + d.alone for d in ev.draws) == 80


def test_the_hardware_error_of_a_crossbar_is_the_full_netlists():
    """With wires, evaluate_hardware solves the arrays reduced to their ports: its
    predictions are those of the full crossbar netlist, each image solved by resim."""
    from resim.hardware.evaluate import evaluate_hardware

    net = small_net(14, sizes=(12, 10, 4))
    profile = Profile(volts_per_unit=0.1, siemens_per_unit=1e-3, diode=Diode("pwl", vfwd=0.01, ron=50.0),
                      wire_ohms=100.0, array_rows=5, array_columns=4)
    x = np.random.default_rng(15).random((12, 12))
    phys = physical(net, profile)
    full = np.array([[solved(phys, img)[f"o{k}"] for k in range(4)] for img in x])
    plain = np.array([[solved(dataclasses.replace(phys, wire_ohms=0.0), img)[f"o{k}"] for k in range(4)] for img in x])
    ev = evaluate_hardware(net, profile, x, np.zeros(12, int), draws=1)
    assert ev.draws[0].predictions.tolist() == np.argmax(full, axis=1).tolist()
    assert np.max(np.abs(full - plain)) > 1e-2 * np.max(np.abs(plain))  # the wires move the outputs


def test_hardware_draws_are_seeded_and_differ():
    from resim.hardware.evaluate import evaluate_hardware

    net = small_net(14, sizes=(12, 10, 4))
    x = np.random.default_rng(15).random((30, 12))
    labels = np.argmax(outputs(net, x), axis=1)
    noisy = Profile(siemens_per_unit=1e-3, variation=0.5, diode=Diode("pwl", vfwd=0.2, ron=10.0))
    a = evaluate_hardware(net, noisy, x, labels, draws=3, seed=4)
    b = evaluate_hardware(net, noisy, x, labels, draws=3, seed=4)
    assert [d.predictions.tolist() for d in a.draws] == [d.predictions.tolist() for d in b.draws]
    assert len({tuple(d.predictions.tolist()) for d in a.draws}) > 1  # the draws are different devices
    for d in a.draws:  # each draw's predictions are its circuit's, solved alone
        phys = physical(net, noisy, np.random.default_rng([4, d.draw]))
        for k in (0, 7, 29):
            v = solved(phys, x[k])
            assert d.predictions[k] == int(np.argmax([v[f"o{j}"] for j in range(4)]))


# ---- hardware-aware training (resim/hardware/training.py) -----------------------------------------


def test_the_relaxation_with_pwl_diodes_is_the_circuits_operating_point():
    """The trainer's relaxation of the devices (threshold shift, on-conductance) converges to
    the operating point resim solves for the physical netlist with those PWL diodes."""
    from resim.hardware.training import InTheLoop

    net = small_net(16, sizes=(12, 10, 4))
    profile = Profile(volts_per_unit=0.1, siemens_per_unit=1e-3, diode=Diode("pwl", vfwd=0.03, ron=300.0))
    fwd = InTheLoop(profile, net, seed=0).forward(net)
    assert fwd.diode_shift == pytest.approx(0.3) and fwd.diode_g == pytest.approx(1 / 0.3)
    x = np.random.default_rng(17).random((3, 12))
    relaxed = outputs(fwd, x)  # network units
    for k in range(3):
        v = solved(physical(net, profile), x[k])
        got = np.array([v[f"o{j}"] for j in range(4)]) / profile.volts_per_unit
        assert np.max(np.abs(got - relaxed[k])) <= 1e-6 * np.max(np.abs(relaxed[k])), (got, relaxed[k])


def test_a_shockley_diode_trains_as_its_secant_through_the_law():
    """Training relaxes a Shockley profile's diodes as the PWL line through their law at two
    currents: resim's own solve of the diode fed those currents gives the line's voltages,
    and the forward network carries the line's threshold and conductance."""
    from resim.hardware.training import SECANT_UNITS, InTheLoop, shockley_secant

    profile = load_profile(str(REPO / "examples" / "hardware" / "discrete.toml"))
    v0, g0 = profile.volts_per_unit, profile.siemens_per_unit
    currents = [i * v0 * g0 for i in SECANT_UNITS]
    vfwd, ron = shockley_secant(profile.diode, *currents)
    for amps in currents:
        c = resim.load_netlist(f"* diode fed {amps} A\ni1 0 a {amps!r}\nd1 a 0 dhw\n"
                               f"{profile.diode.model_card('dhw')}\n.op\n.end\n")
        assert resim.solve(c).voltages[c.nodes.index("a")] == pytest.approx(vfwd + amps * ron, rel=1e-6)
    assert 0.5 < vfwd < 0.7 and 1 < ron < 100  # a silicon signal diode's knee at mA, in volts and ohms
    net = small_net(19, sizes=(12, 10, 4))
    fwd = InTheLoop(profile, net, seed=0).forward(net)
    assert fwd.diode_shift == pytest.approx(vfwd / v0) and fwd.diode_g == pytest.approx(1 / (ron * g0))


def test_the_forward_network_is_programmed_and_the_shadow_kept_in_the_window():
    from resim.hardware.training import InTheLoop

    net = small_net(18, sizes=(12, 10, 4))
    profile = Profile(siemens_per_unit=1e-3, g_min=1e-5, g_max=2e-4, bits=3)
    loop = InTheLoop(profile, net, seed=1)
    fwd = loop.forward(net)
    levels = (1e-5 + np.arange(8) * (19e-5 / 7)) / 1e-3
    for w in fwd.W:
        assert np.all(np.min(np.abs(np.asarray(w)[..., None] - levels), axis=-1) < 1e-6)
    loop.keep_in_window(net)
    for w in net.W:
        assert w.min() >= 1e-2 - 1e-9 and w.max() <= 0.2 + 1e-9


def train_run(tmp_path, name: str, hardware: str = "", extra: str = "") -> Path:
    from tests.test_drn import make_dataset

    data = tmp_path / "d"
    if not data.exists():
        make_dataset(data, n_train=96, n_test=24)
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(f"""[model]
kind = "drn"
layers = [784, 16, 10]
input_gain = 5.0
[data]
dataset = "idx:{data}"
[training]
batch_size = 8
epochs = 2
learning_rates = [0.01, 0.01]
dtype = "float32"
hardware = "{hardware}"
{extra}""")
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "resim", "train", "--config", str(cfg), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_training_with_the_ideal_profile_is_plain_training(tmp_path):
    (tmp_path / "ideal.toml").write_text("name = \"ideal, scaled\"\n[scale]\nvolts_per_unit = 0.01\nsiemens_per_unit = 1e-4\n")
    plain = np.load(train_run(tmp_path, "plain") / "model.npz")
    hw = np.load(train_run(tmp_path, "hw", str(tmp_path / "ideal.toml")) / "model.npz")
    for key in ("W0", "W1", "b0", "b1"):  # (not bit for bit: plain training fuses W0's update with the next
        # batch's input currents, summed in another order in float32)
        scale = np.abs(plain[key]).max()
        assert np.max(np.abs(plain[key] - hw[key])) <= 1e-5 * scale, (key, np.max(np.abs(plain[key] - hw[key])))


def test_training_on_a_profile_keeps_the_conductances_in_its_window(tmp_path):
    (tmp_path / "p.toml").write_text("[scale]\nvolts_per_unit = 0.01\nsiemens_per_unit = 1e-4\n"
                                     "[conductance]\ng_min = 1e-7\ng_max = 2e-5\nbits = 4\nvariation = 0.05\n"
                                     "programming_noise = 0.02\n[diode]\nmodel = \"pwl\"\nvfwd = 0.001\n")
    z = np.load(train_run(tmp_path, "hw", "p.toml") / "model.npz")  # relative to the config's folder
    for key in ("W0", "W1"):
        assert z[key].min() >= 1e-3 * (1 - 1e-6) and z[key].max() <= 0.2 * (1 + 1e-6), key


@pytest.mark.parametrize("profile, extra, words", [
    ("crossbar.toml", "", "crossbar wires are not in the trainer's relaxation"),
    ("memristor.toml", "algorithm = \"truncated-bp\"", "for a drn trained by an EP rule"),
])
def test_training_on_what_the_relaxation_cannot_model_is_refused(tmp_path, profile, extra, words):
    from tests.test_drn import make_dataset

    make_dataset(tmp_path / "d", n_train=16, n_test=8)
    cfg = tmp_path / "run.toml"
    cfg.write_text(f"[model]\nlayers = [784, 8, 10]\n[data]\ndataset = \"idx:{tmp_path / 'd'}\"\n[training]\n"
                   f"hardware = \"{REPO / 'examples' / 'hardware' / profile}\"\n{extra}\n")
    proc = subprocess.run([sys.executable, "-m", "resim", "train", "--config", str(cfg), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and words in proc.stderr and f"{cfg}:" in proc.stderr, proc.stderr


@pytest.mark.parametrize("profile", ["memristor", "discrete"])
def test_the_shipped_hardware_aware_configs_are_the_ideal_one_with_a_profile(profile):
    """The same setting as the ideal row, for 20 epochs instead of 100 (the schedule does not
    depend on the number of epochs); the discrete parts' at a fifth of the learning rates."""
    from resim.drn.config import load_config

    hw = load_config(str(REPO / "examples" / f"fashion_drn_1h_ep_{profile}.toml"))
    ideal = load_config(str(REPO / "examples" / "fashion_drn_1h_ep.toml"))
    assert hw["training"]["hardware"] == str(REPO / "examples" / "hardware" / f"{profile}.toml")
    assert hw["training"]["epochs"] == 20
    rates = {k: [r * (5 if profile == "discrete" else 1) for r in hw["training"][k]]
             for k in ("learning_rates", "bias_learning_rates")}
    assert rates == {k: ideal["training"][k] for k in rates}
    assert {**hw["training"], **rates, "hardware": "", "epochs": 100} == ideal["training"]
    assert hw["model"] == ideal["model"] and hw["data"] == ideal["data"]
