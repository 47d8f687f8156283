"""``resim sweep``: against ngspice's own ``.dc``, against closed forms, and the same answer
whichever way the points run (batched, point by point, local processes, a Dask cluster)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import resim
from resim.cli import main
from resim.ngspice import run_dc
from resim.sweep import Axis, SweepError, dc_values, element_axis, param_values, run_sweep


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def clipper(netlists_dir):
    return netlists_dir / "diode_clipper.cir"


def test_201_point_dc_of_the_shockley_clipper_matches_ngspice(ngspice, clipper):
    """The clipper's own `.dc V1 -3 3 0.03`, 201 points. With tightened options ngspice and
    resim agree to 1e-8 V. At ngspice's default options (reltol=1e-3) ngspice's own answer
    is up to 7.4e-5 V from its converged one near the diodes' knees, so there the test
    checks that every point's difference is ngspice's: |resim - ngspice_default| is within
    |ngspice_tight - ngspice_default| + 1e-8 V, and below 1e-6 V wherever ngspice's own
    error is."""
    ours = run_sweep(clipper)
    tight = run_dc(clipper.read_text(), ngspice=ngspice)
    loose = run_dc(clipper.read_text(), ngspice=ngspice, options=None)
    assert len(ours.points) == len(tight.sweep) == len(loose.sweep) == 201
    np.testing.assert_allclose(ours.points[:, 0], tight.sweep, rtol=0, atol=1e-13)
    for node in ("in", "out"):
        mine = ours.column(f"v({node})")
        assert np.max(np.abs(mine - tight.voltages[node])) <= 1e-8
        own_error = np.abs(tight.voltages[node] - loose.voltages[node])
        assert np.all(np.abs(mine - loose.voltages[node]) <= own_error + 1e-8)
        assert np.all(np.abs(mine - loose.voltages[node])[own_error <= 1e-7] <= 1e-6)


def test_dc_values_follow_ngspice():
    np.testing.assert_allclose(dc_values(-3, 3, 0.03)[[0, 100, 200]], [-3, 0, 3], atol=1e-12)
    assert len(dc_values(0, 1, 0.3)) == 4 and len(dc_values(5, 0, -1)) == 6
    with pytest.raises(SweepError, match="negative step"):
        dc_values(0, 1, -0.1)
    with pytest.raises(SweepError, match="non-zero"):
        dc_values(0, 1, 0)


def test_param_values():
    name, v = param_values("Rload=1k:100k:3:log")
    assert name == "rload"
    np.testing.assert_allclose(v, [1e3, 1e4, 1e5])
    for bad in ("r=1:2", "r=a:2:3", "r=1:2:0", "r=0:1:3:log", "=1:2:3"):
        with pytest.raises(SweepError):
            param_values(bad)


def test_nested_sweep_against_the_closed_form(netlists_dir):
    """divider: v(out) = V1 * R2 || 4k / (R1 + R2 || 4k); V1 inner, R2 (a resistor) outer."""
    c = resim.load_netlist(netlists_dir / "divider.cir")
    axes = [element_axis(c, "V1", dc_values(0, 10, 2.5)), element_axis(c, "R2", np.array([500.0, 1e3, 8e3]))]
    res = run_sweep(c, axes, probes=["v(out)", "i(R1)"])
    assert res.points.shape == (15, 2)
    np.testing.assert_array_equal(res.points[:5, 0], dc_values(0, 10, 2.5))  # first axis fastest
    v1, r2 = res.points[:, 0], res.points[:, 1]
    par = r2 * 4e3 / (r2 + 4e3)
    np.testing.assert_allclose(res.column("v(out)"), v1 * par / (1e3 + par), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.column("i(r1)"), v1 / (1e3 + par), rtol=1e-12, atol=1e-15)


def test_batched_source_sweep_is_certified_per_point_and_matches_point_by_point(clipper):
    batched = run_sweep(clipper)
    single = run_sweep(clipper, method="exact")
    assert batched.methods == {"cd-batch": 201} and single.methods == {"exact": 201}
    np.testing.assert_allclose(batched.values, single.values, rtol=0, atol=1e-11)


def test_results_do_not_depend_on_where_points_run(clipper, netlists_dir):
    """Chunks in this process, in 2 worker processes, on a local Dask cluster: same numbers."""
    from distributed import LocalCluster

    here = run_sweep(clipper, chunk_size=50)
    procs = run_sweep(clipper, jobs=2, chunk_size=50)
    np.testing.assert_array_equal(here.values, procs.values)
    params = [Axis("vin", "param", np.linspace(-2, 2, 9))]
    serial = run_sweep(clipper, params)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = run_sweep(clipper, params, scheduler=cluster.scheduler_address, chunk_size=2)
        dask_batched = run_sweep(clipper, scheduler=cluster.scheduler_address, chunk_size=50)
    np.testing.assert_array_equal(serial.values, dask.values)
    np.testing.assert_array_equal(here.values, dask_batched.values)
    local = run_sweep(clipper, params, jobs=2, chunk_size=2)  # several chunks: a real pool
    np.testing.assert_array_equal(serial.values, local.values)


def test_param_sweep_re_reads_expressions(clipper):
    """`V1 in 0 {vin}`: sweeping the parameter moves the source."""
    res = run_sweep(clipper, [Axis("vin", "param", np.array([-1.0, 0.5, 2.0]))], probes=["v(in)"])
    np.testing.assert_array_equal(res.column("v(in)"), [-1.0, 0.5, 2.0])


def test_csv_json_and_plot_from_the_command_line(clipper, tmp_path):
    r = invoke("sweep", str(clipper), "--dc", "V1", "-1", "1", "0.5", "--probe", "v(out)")
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.output)))
    assert rows[0] == ["v1", "v(out)"] and len(rows) == 6
    assert float(rows[3][0]) == 0.0 and abs(float(rows[3][1])) < 1e-12
    out = tmp_path / "s.json"
    png = tmp_path / "s.png"
    r = invoke("sweep", str(clipper), "--param", "vin=0:2:3", "--dc", "R1", "1k", "2k", "1k", "--format", "json",
               "-o", str(out), "--plot", str(png))
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["columns"] == ["r1", "vin", "v(in)", "v(out)"] and len(doc["rows"]) == 6
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


def test_bad_sweeps_are_usage_errors(clipper, netlists_dir):
    env = {k: v for k, v in os.environ.items() if k != "RESIM_DEBUG"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "resim.cli", "sweep", *args], capture_output=True, text=True,
                              env=env, timeout=120)

    for args, message in [((str(clipper), "--dc", "D1", "0", "1", "0.1"), "cannot sweep 'D1'"),
                          ((str(clipper), "--dc", "Vx", "0", "1", "0.1"), "not an element"),
                          ((str(clipper), "--probe", "v(nowhere)"), "no node 'nowhere'"),
                          ((str(clipper), "--probe", "x(out)"), "write v(NODE) or i(ELEMENT)"),
                          ((str(netlists_dir / "divider.cir"),), "nothing to sweep")]:
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr
