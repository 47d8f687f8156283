"""Tests for resim.ngspice, the ngspice batch-mode reference runner.

These need a real ngspice; without one they fail (they do not skip).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from resim.ngspice import (
    NgspiceError,
    NgspiceNotFound,
    NgspiceResult,
    find_ngspice,
    read_ascii_rawfile,
    run_op,
)

DIVIDER = """voltage divider
V1 in 0 10
R1 in mid 1k
R2 mid 0 3k
.end
"""

NESTED = """nested subcircuits
.subckt inner a b
R1 a mid 1k
V1 mid b 0.5
.ends
.subckt outer p q
X1 p m inner
R2 m q 2k
Vs m q2 0
R3 q2 q 1k
.ends
Vin in 0 5
Xa in 0 outer
Xb in 0 inner
.op
.end
"""


@pytest.fixture(scope="module", autouse=True)
def ngspice_exe() -> str:
    """The ngspice executable; fail loudly when there is none."""
    try:
        return find_ngspice()
    except NgspiceNotFound as exc:
        pytest.fail(f"ngspice is required for these tests ({exc})", pytrace=False)


def test_voltage_divider_exact() -> None:
    result = run_op(DIVIDER)
    assert isinstance(result, NgspiceResult)
    assert set(result.voltages) == {"in", "mid"}
    assert set(result.currents) == {"v1"}
    assert result.voltages["in"] == 10.0
    assert result.voltages["mid"] == pytest.approx(7.5, rel=1e-14, abs=0)
    # SPICE sign convention: current into the + terminal through the source.
    assert result.currents["v1"] == pytest.approx(-2.5e-3, rel=1e-14, abs=0)
    assert result.wall_time > 0
    assert "Circuit: voltage divider" in result.log


def test_subcircuit_names() -> None:
    result = run_op(NESTED)
    assert result.voltages == pytest.approx(
        {"in": 5.0, "xa.x1.mid": 2.3, "xa.m": 1.8, "xa.q2": 1.8, "xb.mid": 0.5},
        rel=1e-12,
    )
    assert result.currents == pytest.approx(
        {"vin": -7.2e-3, "v.xa.vs": 1.8e-3, "v.xa.x1.v1": 2.7e-3, "v.xb.v1": 4.5e-3},
        rel=1e-12,
    )


def test_diode_uses_gmin_and_codata2014_vt() -> None:
    result = run_op("diode\nD1 a 0 dm\nI1 0 a 1m\n.model dm D(IS=1e-14 N=1)\n.end\n")
    vt = 1.38064852e-23 * 300.15 / 1.6021766208e-19
    # IS*(exp(v/Vt)-1) + gmin*v = 1 mA, gmin = 1e-12 S
    v = result.voltages["a"]
    assert 1e-14 * math.expm1(v / vt) + 1e-12 * v == pytest.approx(1e-3, rel=1e-9)
    assert v == pytest.approx(0.655117895638, abs=1e-12)


def test_keep_dir_and_injection(tmp_path: Path) -> None:
    keep = tmp_path / "run"
    run_op(DIVIDER, keep_dir=str(keep), options="reltol=1e-6")
    deck = (keep / "circuit.cir").read_text().splitlines()
    assert deck[0] == "voltage divider"
    assert deck[-3:] == [".options reltol=1e-6", ".op", ".end"]
    assert (keep / "circuit.raw").exists()
    assert "Circuit: voltage divider" in (keep / "ngspice.log").read_text()


def test_a_relative_keep_dir_works(tmp_path: Path, monkeypatch) -> None:
    """`compare-with-ngspice --keep ng/` (the help's own example) failed: ngspice ran in the
    folder but was given folder-relative paths."""
    monkeypatch.chdir(tmp_path)
    result = run_op(DIVIDER, keep_dir="ng/", options="reltol=1e-6")
    assert result.voltages and (tmp_path / "ng" / "circuit.raw").exists()


def test_no_options_no_end(tmp_path: Path) -> None:
    netlist = "t\nV1 a 0 2\nR1 a b 1\nR2 b 0 1\n.op\n"
    result = run_op(netlist, options=None, keep_dir=str(tmp_path))
    assert result.voltages == {"a": 2.0, "b": 1.0}
    deck = (tmp_path / "circuit.cir").read_text()
    assert ".options" not in deck
    assert deck.count(".op") == 1
    assert deck.rstrip().endswith(".end")


def test_rejected_netlist_raises_with_tail() -> None:
    with pytest.raises(NgspiceError) as info:
        run_op("bad\nV1 a 0 1\nR1 a 0 abc\n.end\n")
    message = str(info.value)
    assert "status 1" in message
    assert "r1 a 0 abc" in message  # from ngspice's output tail
    assert "circuit not parsed" in message
    assert not isinstance(info.value, NgspiceNotFound)
    assert info.value.exit_code == 8
    assert "unknown parameter" in info.value.log


@pytest.mark.parametrize(
    "netlist",
    [
        "vloop\nV1 a 0 1\nV2 a 0 2\n.end\n",
        "floating\nV1 a 0 1\nR1 a 0 1k\nR2 b c 1k\nC1 b c 1p\n.end\n",
        "open current source\nI1 0 a 1m\nC1 a 0 1p\n.end\n",
    ],
)
def test_singular_matrix_raises(netlist: str) -> None:
    with pytest.raises(NgspiceError, match="singular matrix"):
        run_op(netlist)


def test_not_found_bogus_path() -> None:
    with pytest.raises(NgspiceNotFound, match="apt-get install -y ngspice"):
        run_op(DIVIDER, ngspice="/nonexistent/bin/ngspice")
    with pytest.raises(NgspiceNotFound):
        find_ngspice("/nonexistent/bin/ngspice")
    assert issubclass(NgspiceNotFound, NgspiceError)
    assert NgspiceNotFound.exit_code == 8


def test_not_found_env_var(monkeypatch: pytest.MonkeyPatch, ngspice_exe: str) -> None:
    monkeypatch.setenv("RESIM_NGSPICE", "/nonexistent/ngspice")
    with pytest.raises(NgspiceNotFound, match="RESIM_NGSPICE"):
        find_ngspice()
    monkeypatch.setenv("RESIM_NGSPICE", ngspice_exe)
    assert find_ngspice() == ngspice_exe


def test_read_ascii_rawfile_text_and_multiple_plots(tmp_path: Path) -> None:
    raw = (
        "Title: t\nDate: x\nPlotname: Operating Point\nFlags: real\n"
        "No. Variables: 2\nNo. Points: 1       \nVariables:\n"
        "\t0\tv(a)\tvoltage\n\t1\ti(v1)\tcurrent\nValues:\n"
        "0\t\t1.500000000000000e+00\n\t-2.000000000000000e-03\n"
        "Title: t\nDate: x\nPlotname: AC Analysis\nFlags: complex\n"
        "No. Variables: 1\nNo. Points: 2\nVariables:\n"
        "\t0\tfrequency\tfrequency\nValues:\n"
        " 0\t1.0e+00,0.0e+00\n\n 1\t2.0e+00,5.0e-01\n\n"
    )
    data = read_ascii_rawfile(raw)
    assert list(data) == ["v(a)", "i(v1)"]
    assert data["v(a)"].tolist() == [1.5]
    assert data["i(v1)"].tolist() == [-2e-3]
    path = tmp_path / "x.raw"
    path.write_text(raw)
    assert read_ascii_rawfile(path)["v(a)"].tolist() == [1.5]
    assert read_ascii_rawfile(str(path))["i(v1)"].tolist() == [-2e-3]

    from resim.ngspice import _parse_rawfile  # second plot: complex values

    plots = _parse_rawfile(raw)
    assert [p.name for p in plots] == ["Operating Point", "AC Analysis"]
    np.testing.assert_array_equal(plots[1].values[:, 0], [1.0, 2.0 + 0.5j])


def test_read_ascii_rawfile_rejects_garbage() -> None:
    with pytest.raises(NgspiceError):
        read_ascii_rawfile("not a rawfile\nat all\n")
