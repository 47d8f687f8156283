"""The ``resim`` command line: click's CliRunner on ``resim.cli.main`` for output formats and
options, and the installed console script in a subprocess for exit codes and stderr.

Expected numbers are closed forms (divider: v(out) = 10 * 800 / (1000 + 800) = 40/9 V).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from resim.cli import main

V_OUT = 10 * 800 / 1800  # divider.cir: 1k over 1k || 4k
I_V1 = -(10 - V_OUT) / 1e3


@pytest.fixture(scope="module")
def divider(netlists_dir) -> str:
    return str(netlists_dir / "divider.cir")


def run_cli(exe: str, *args: str) -> tuple[int, str, str]:
    """Run the console script; RESIM_DEBUG unset so that errors are shown as users see them."""
    env = {k: v for k, v in os.environ.items() if k != "RESIM_DEBUG"}
    proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, env=env)
    return proc.returncode, proc.stdout, proc.stderr


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# ---- formats through CliRunner -----------------------------------------------------------------


def test_table(divider):
    r = invoke("solve", divider)
    assert r.exit_code == 0, r.output
    assert f"{V_OUT:.9g}" in r.stdout  # 4.44444444
    assert "Node voltages" in r.stdout and "certificate" in r.stdout
    assert "rload" in r.stdout


def test_json(divider):
    r = invoke("solve", divider, "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["nodes"]["out"] == pytest.approx(V_OUT, rel=1e-12)
    assert d["nodes"]["in"] == pytest.approx(10.0, rel=1e-14)
    assert "0" not in d["nodes"]
    assert d["elements"]["v1"]["current"] == pytest.approx(I_V1, rel=1e-12)
    assert d["elements"]["rload"]["current"] == pytest.approx(V_OUT / 4e3, rel=1e-12)
    assert d["elements"]["r1"]["nodes"] == ["in", "out"]
    cert = d["certificate"]
    assert set(cert) >= {"kcl_residual_A", "constraint_violation_V", "complementarity_W", "dual_violation_A"}
    assert cert["kcl_residual_A"] < 1e-12
    assert {"parse_s", "compile_s", "solve_s"} <= set(d["timings"])
    assert all(v >= 0 for v in d["timings"].values())
    assert d["power"]["dissipated_W"] == pytest.approx(-10 * I_V1, rel=1e-12)


def test_csv(divider):
    r = invoke("solve", divider, "--format", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["kind", "name", "quantity", "value"]
    values = {(k, n, q): v for k, n, q, v in rows[1:]}
    assert float(values[("node", "out", "voltage_V")]) == pytest.approx(V_OUT, rel=1e-15)
    assert float(values[("V", "v1", "current_A")]) == pytest.approx(I_V1, rel=1e-12)
    assert ("certificate", "", "kcl_residual_A") in values


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_output_file(divider, tmp_path, fmt):
    out = tmp_path / f"op.{fmt}"
    r = invoke("solve", divider, "--format", fmt, "--output", str(out))
    assert r.exit_code == 0, r.output
    assert out.exists()
    assert r.stdout == ""
    text = out.read_text()
    if fmt == "json":
        assert json.loads(text)["nodes"]["out"] == pytest.approx(V_OUT, rel=1e-12)
    else:
        assert "out" in text and "4.44444444" in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".resim-")]  # no temp left over
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # like any new file, not mkstemp's 0600


def test_stdin(divider):
    text = Path(divider).read_text()
    r = CliRunner().invoke(main, ["solve", "-", "--format", "json"], input=text, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["nodes"]["out"] == pytest.approx(V_OUT, rel=1e-12)


# ---- --set ---------------------------------------------------------------------------------------


def test_set_element_value(divider):
    r = invoke("solve", divider, "--format", "json", "--set", "R2=3k", "--set", "rload=1meg")
    assert r.exit_code == 0, r.output
    load = 1 / (1 / 3e3 + 1 / 1e6)
    assert json.loads(r.stdout)["nodes"]["out"] == pytest.approx(10 * load / (1e3 + load), rel=1e-12)


def test_set_param(netlists_dir):
    """subcircuits.cir: v(amp) = gain / 7 and i(V1) = -3 / (7 rs) in closed form."""
    path = str(netlists_dir / "subcircuits.cir")
    r = invoke("solve", path, "--format", "json", "--set", "gain=5", "--set", "rs=2k")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["nodes"]["amp"] == pytest.approx(5 / 7, rel=1e-12)
    assert d["elements"]["v1"]["current"] == pytest.approx(-3 / (7 * 2e3), rel=1e-12)


@pytest.mark.parametrize("bad", ["R1", "=5", "R1=abc"])
def test_bad_set_is_usage_error(divider, bad):
    r = CliRunner().invoke(main, ["solve", divider, "--set", bad])
    assert r.exit_code == 2
    assert "--set" in r.output


# ---- exit codes and messages through the console script -----------------------------------------


def test_console_ok(resim_exe, divider):
    code, out, err = run_cli(resim_exe, "solve", divider, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["nodes"]["out"] == pytest.approx(V_OUT, rel=1e-12)


@pytest.mark.parametrize("args", [["--set", "nosuch=1"], ["--set", "R1"], ["--set", "R1=abc"], ["--format", "xml"],
                                  ["--bogus"]])
def test_console_usage_errors_exit_2(resim_exe, divider, args):
    code, out, err = run_cli(resim_exe, "solve", divider, *args)
    assert code == 2, (code, err)
    assert "Traceback" not in err
    assert out == ""


def test_console_syntax_error_exit_3(resim_exe, tmp_path):
    path = tmp_path / "bad.cir"
    path.write_text("bad resistor\nV1 a 0 1\nR1 a b = 1k\nR2 b 0 1k\n.end\n")
    code, out, err = run_cli(resim_exe, "solve", str(path))
    assert code == 3
    assert "Traceback" not in err
    assert f"{path}:3:8:" in err
    lines = err.splitlines()
    src = next(k for k, line in enumerate(lines) if line.strip() == "R1 a b = 1k")
    caret = lines[src + 1]
    assert caret.strip() == "^"
    assert lines[src][caret.index("^")] == "="  # the caret points at the offending token
    assert out == ""


def test_console_missing_file_exit_3(resim_exe, tmp_path):
    code, _, err = run_cli(resim_exe, "solve", str(tmp_path / "nope.cir"))
    assert code == 3
    assert "nope.cir" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "text,code,line",
    [
        ("floating\nV1 a 0 1\nR1 a 0 1k\nR2 b c 1k\n.end\n", 4, 4),
        ("vloop\nV1 a 0 1\nV2 a 0 2\nR1 a 0 1k\n.end\n", 4, 3),
        ("no solution\nV1 a 0 1\nD1 a 0 ideal\n.model ideal D(Ron=0 Vfwd=0)\n.end\n", 5, 3),
        ("undefined model\nV1 a 0 1\nD1 a 0 nomodel\n.end\n", 3, 3),
    ],
    ids=["floating-node", "source-loop", "no-solution", "undefined-model"],
)
def test_console_error_exit_codes(resim_exe, tmp_path, text, code, line):
    path = tmp_path / "c.cir"
    path.write_text(text)
    got, out, err = run_cli(resim_exe, "solve", str(path))
    assert got == code, err
    assert f"{path}:{line}:" in err
    assert "Traceback" not in err
    assert out == ""


def test_console_help_lists_exit_codes(resim_exe):
    code, out, _ = run_cli(resim_exe, "solve", "--help")
    assert code == 0
    assert "Exit codes" in out and "topology" in out


# ---- coordinate-descent options ----------------------------------------------------------------


def test_fixed_sweeps_that_fall_short_fail_loudly(resim_exe, netlists_dir):
    """--sweeps N is the paper's mode, but an answer the certificate refuses is never printed."""
    code, out, err = run_cli(resim_exe, "solve", str(netlists_dir / "drn_tiny.cir"), "--sweeps", "3")
    assert code == 6 and out == ""
    assert "3 fixed sweeps did not reach a certified solution" in err and "Traceback" not in err


def test_fixed_sweeps_and_float32_give_the_exact_answer(netlists_dir):
    path = str(netlists_dir / "drn_tiny.cir")
    exact = json.loads(invoke("solve", path, "--method", "exact", "--format", "json").output)
    fixed = json.loads(invoke("solve", path, "--sweeps", "200", "--format", "json").output)
    single = json.loads(invoke("solve", path, "--float32", "--format", "json").output)
    assert fixed["method"] == "cd" and "coordinate-descent options" in fixed["method_reason"]
    assert single["method"] == "cd-float32"
    for node, v in exact["nodes"].items():
        assert fixed["nodes"][node] == pytest.approx(v, abs=1e-9)
        assert single["nodes"][node] == pytest.approx(v, abs=1e-4 * (1 + abs(v)))


def test_cd_options_with_the_exact_method_are_a_usage_error(resim_exe, divider):
    code, _, err = run_cli(resim_exe, "solve", divider, "--method", "exact", "--sweeps", "5")
    assert code == 2 and "--sweeps apply to --method cd" in err


def test_ctrl_c_while_resim_loads_is_the_one_line_of_any_ctrl_c():
    """Ctrl-C in the first tens of milliseconds, while the console script still imports the
    CLI (numpy, click), printed a Python traceback (issue 23 item 8). The interrupt is made
    certain by a finder that raises it when ``resim.cli`` is imported."""
    script = (
        "import sys\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'resim.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())\n"
        "from resim._launch import main\n"
        "sys.argv = ['resim', 'solve', 'x.cir']\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == ["interrupted"]
