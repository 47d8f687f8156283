"""`resim synth relu` under bad input (issue 23, item 4), its gain limit (item 11c) and its
progress (item 18): every file that is not a ReLU network is refused naming the file and
the array, and what it writes always reads back. Expected outputs are closed forms of the
small networks written here."""

from __future__ import annotations

import numpy as np
import pytest

import resim
from resim import synth
from resim.cli import run_args


def resim_cli(capsys, *args) -> tuple[int, str, str]:
    code = run_args([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, path, *words: str) -> str:
    """Run ``synth relu path -o out.cir``: exit 2, the file and ``words`` named, nothing written."""
    out = path.parent / "out.cir"
    code, stdout, err = resim_cli(capsys, "synth", "relu", path, "-o", out, "--check", "0")
    assert code == 2, err
    assert f"'{path}'" in err and "internal error" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    assert stdout == "" and not out.exists()
    return err


GOOD = {"W0": np.ones((2, 3)), "b0": np.ones(3), "W1": np.ones((3, 1)), "b1": np.ones(1)}


def test_a_file_that_is_no_npz_archive_is_a_usage_error(tmp_path, capsys):
    np.save(tmp_path / "w.npy", np.ones((2, 2)))
    refused(capsys, tmp_path / "w.npy", "a single .npy array", "W0, b0")
    (tmp_path / "zero.npz").write_bytes(b"")
    refused(capsys, tmp_path / "zero.npz", "empty")
    np.savez(tmp_path / "ok.npz", **GOOD)
    (tmp_path / "trunc.npz").write_bytes((tmp_path / "ok.npz").read_bytes()[:200])
    refused(capsys, tmp_path / "trunc.npz", "truncated or corrupt")


@pytest.mark.parametrize("arrays, words", [
    ({**GOOD, "W0": np.zeros((0, 3))}, ["W0", "shape (0, 3)"]),
    ({**GOOD, "W0": np.zeros((2, 0)), "b0": np.zeros(0), "W1": np.zeros((0, 1))}, ["W0", "shape (2, 0)"]),
    ({"W0": np.ones((2, 3)), "W1": np.ones((3, 1))}, ["no b0", "np.zeros"]),
    ({"W0": np.ones((2, 3)), "b0": np.ones(3), "W2": np.ones((3, 1)), "b2": np.ones(1)}, ["no W1", "W2"]),
    ({**GOOD, "b2": np.ones(1)}, ["b2", "no W2"]),
    ({**GOOD, "W01": np.ones((1, 1))}, ["W01", "leading zero"]),
    ({**GOOD, "W0": np.ones((2, 3)) * (1 + 1j)}, ["W0", "complex"]),
    ({**GOOD, "b1": np.array(["a"])}, ["b1", "not numbers"]),
    ({**GOOD, "kind": np.array("drn"), "gain": np.array(4.0)}, ["deep resistive network", "resim export"]),
    ({**GOOD, "kind": np.array("transformer")}, ["kind 'transformer'"]),
    ({**GOOD, "W1": np.full((3, 1), 1e308)}, ["W1", "too large"]),
])
def test_arrays_that_are_no_relu_network_are_refused_naming_the_array(tmp_path, capsys, arrays, words):
    np.savez(tmp_path / "net.npz", **arrays)
    refused(capsys, tmp_path / "net.npz", *words)


def test_a_relu_mlp_checkpoint_is_a_network(tmp_path):
    """A checkpoint holds momenta, the epoch and metrics besides W and b: those are no layers."""
    np.savez(tmp_path / "c.npz", **GOOD, kind=np.array("relu-mlp"), mW0=np.ones((2, 3)), mb0=np.ones(3),
             epoch=np.array(3), metrics=np.array("[]"), config=np.array(""))
    net = synth.load_relu(str(tmp_path / "c.npz"))
    assert net.sizes == [2, 3, 1]
    np.testing.assert_allclose(net(np.array([[1.0, 2.0]])), [[13.0]])  # 3 * relu(1 + 2 + 1) + 1


def test_a_subnormal_weight_is_an_open_circuit_and_the_netlist_reads_back(tmp_path, capsys):
    """1 / 5e-324 overflows: the weight is written as no resistor at all (zero conductance),
    never as 'inf'. y = relu(5e-324 x + 0.5) + relu(x) = 0.5 + x for x >= 0."""
    np.savez(tmp_path / "sub.npz", W0=np.array([[5e-324, 1.0]]), b0=np.array([0.5, 0.0]), W1=np.ones((2, 1)),
             b1=np.zeros(1))
    code, _, err = resim_cli(capsys, "synth", "relu", tmp_path / "sub.npz", "-o", tmp_path / "sub.cir", "--gain",
                             "1e6", "--check", "2")
    assert code == 0, err
    text = (tmp_path / "sub.cir").read_text()
    assert "inf" not in text.lower()
    circuit = resim.load_netlist(str(tmp_path / "sub.cir"))
    for x in (0.0, 0.3, 1.0):
        result = resim.solve(circuit.with_element_values({circuit.find_element("vx0"): x}))
        assert result.voltage("y0") == pytest.approx(0.5 + x, abs=1e-5)
