"""The solvers' options are one typed object (issue 28): :class:`SolverOptions`, whose
``precision`` decides the sweeps' dtype, the certificate tolerance and the method reported,
made once by ``resim solve`` and read by the API and the solvers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import resim
from resim.cli import run_args
from resim.errors import ResimError
from resim.solvers.options import CERTIFICATE_RTOL, SolverOptions, SolverOptionsError

REPO = Path(__file__).resolve().parents[1]
NET = REPO / "netlists" / "drn_tiny.cir"  # reciprocal, layered: auto and cd solve it by coordinate descent


def resim_cli(capsys, *args) -> tuple[int, str, str]:
    code = run_args([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ---- the object ---------------------------------------------------------------------------


def test_precision_decides_dtype_tolerance_and_method_name():
    double, single = SolverOptions(), SolverOptions(precision="float32")
    assert (double.precision, double.dtype, double.cd_method) == ("float64", np.dtype(np.float64), "cd")
    assert (single.precision, single.dtype, single.cd_method) == ("float32", np.dtype(np.float32), "cd-float32")
    assert double.certificate_rtol == CERTIFICATE_RTOL["float64"] == 1e-8
    assert single.certificate_rtol == CERTIFICATE_RTOL["float32"] == 1e-5
    assert SolverOptions(precision="float32", rtol=1e-6).certificate_rtol == 1e-6  # given, it wins
    assert SolverOptions(precision="float32", rtol=1e-6).cd_method == "cd-float32"  # the name is not read from it


def test_sweep_limit_and_stop_follow_from_the_options():
    assert SolverOptions().sweep_limit == 100_000 and SolverOptions().stop_tol == 1e-13
    assert SolverOptions(max_sweeps=7).sweep_limit == 7
    assert SolverOptions(sweeps=40, max_sweeps=7).sweep_limit == 40  # fixed sweeps: exactly that many
    assert SolverOptions(tol=1e-9).stop_tol == 1e-9


@pytest.mark.parametrize("kwargs", [{"precision": "float16"}, {"precision": "bfloat16"}, {"precision": np.float32},
                                    {"sweeps": 0}, {"max_sweeps": 2.5}, {"tol": 0.0}, {"tol": float("nan")},
                                    {"rtol": -1e-8}])
def test_a_value_that_cannot_be_used_is_a_typed_error(kwargs):
    with pytest.raises(SolverOptionsError) as info:
        SolverOptions(**kwargs)
    assert isinstance(info.value, ResimError) and info.value.exit_code == 2
    assert next(iter(kwargs)) in str(info.value)


def test_options_are_frozen_and_given_by_name():
    opts = SolverOptions(precision="float32", tol=1e-9)
    with pytest.raises(AttributeError):
        opts.precision = "float64"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SolverOptions("float32")  # type: ignore[misc]
    assert opts.given() == ("precision", "tol") and SolverOptions().given() == ()


def test_keywords_as_the_api_takes_them():
    assert SolverOptions.from_keywords(dtype=np.float32) == SolverOptions(precision="float32")  # earlier releases' keyword
    assert SolverOptions.from_keywords(SolverOptions(sweeps=40), precision="float32") == SolverOptions(
        sweeps=40, precision="float32")
    for bad in ({"dtype": np.float16}, {"dtype": np.float32, "precision": "float32"}, {"sweep": 3}):
        with pytest.raises(SolverOptionsError):
            SolverOptions.from_keywords(**bad)


def test_options_the_solver_does_not_take_are_refused():
    SolverOptions(sweeps=3).check_for("cd")
    SolverOptions(max_newton=3).check_for("exact")
    with pytest.raises(SolverOptionsError, match="precision: an option of method cd, not exact"):
        SolverOptions(precision="float32").check_for("exact")
    with pytest.raises(SolverOptionsError, match="max_newton: an option of method exact, not cd"):
        SolverOptions(max_newton=3).check_for("cd")


# ---- through the API ----------------------------------------------------------------------


def test_the_api_takes_the_object_or_keywords_alike():
    circuit = resim.load_netlist(NET)
    by_object = resim.solve(circuit, options=SolverOptions(precision="float32"))
    by_keyword = resim.solve(circuit, precision="float32")
    by_dtype = resim.solve(circuit, dtype=np.float32)
    assert by_object.method == by_keyword.method == by_dtype.method == "cd-float32"
    assert by_object.method_reason == "coordinate-descent options given (dtype)"  # as results have always said
    assert np.array_equal(by_object.voltages, by_keyword.voltages)
    assert np.array_equal(by_object.voltages, by_dtype.voltages)
    with pytest.raises(SolverOptionsError):
        resim.solve(circuit, method="exact", precision="float32")


# ---- through the command line -------------------------------------------------------------


def test_cli_float32_reports_cd_float32_and_agrees_with_float64_within_its_tolerance(capsys):
    code, out, err = resim_cli(capsys, "solve", NET, "--float32", "--format", "json")
    assert code == 0, err
    single = json.loads(out)
    code, out, err = resim_cli(capsys, "solve", NET, "--method", "cd", "--format", "json")
    assert code == 0, err
    double = json.loads(out)
    assert single["method"] == "cd-float32" and double["method"] == "cd"
    assert single["method_reason"] == "coordinate-descent options given (dtype)"
    v64 = np.array([double["nodes"][n] for n in double["nodes"]])
    v32 = np.array([single["nodes"][n] for n in double["nodes"]])
    bound = SolverOptions(precision="float32").certificate_rtol * (1 + np.max(np.abs(v64)))
    assert 0 < np.max(np.abs(v32 - v64)) <= bound  # float32 rounding shows, within its tolerance
    assert single["certificate"]["kcl_relative"] <= CERTIFICATE_RTOL["float32"]


def test_cli_cd_options_with_the_exact_method_name_the_flags(capsys):
    code, out, err = resim_cli(capsys, "solve", NET, "--method", "exact", "--float32", "--tol", "1e-9")
    assert code == 2 and out == ""
    assert "--tol/--float32 apply to --method cd (or auto), not exact" in err
