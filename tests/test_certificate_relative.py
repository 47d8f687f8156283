"""The certificate judges each node's KCL residual against the currents meeting at that node
(``Certificate.kcl_relative``), and a solution whose residual at some node is as large as
the node's currents carries a warning naming the node.

The truth is worked out by hand. A 1e-9 ohm resistor R1 in series with 1e12 ohm carries
``I = 1 V / (1e12 + 1e-9 ohm)``, about 1 pA, so the voltage across R1 is about 1e-21 V:
far below an ulp of the ~1 V potentials at its ends (2.2e-16 V). In double precision the
voltage across R1 is therefore either exactly 0 (R1 carries 0 A instead of I) or at least an
ulp (R1 carries at least 2e-7 A, 1e5 times I). Either way KCL at R1's nodes misses by
about the largest current there, so the relative residual is between 1/2 and 1: no solver
working in double precision can do better, and the answer must say so.
"""

from __future__ import annotations

import json

import pytest

import resim
from resim.cli import run_args
from resim.format import table_text, to_dict
from resim.result import KCL_RELATIVE_WARN, Result

TINY_NEXT_TO_HUGE = "tiny next to huge\nV1 a 0 1\nR1 a b 1e-9\nR2 b 0 1e12\n"
I_SERIES = 1.0 / (1e12 + 1e-9)  # A, through R1 and R2


def solve(text: str) -> Result:
    return resim.solve(resim.load_netlist(text))


def assert_warns_at_r1(result: Result) -> None:
    """The relative residual is what double precision forces (1/2 .. 1, module docstring),
    at a node of R1, and a warning names that node and the cause."""
    cert = result.certificate
    assert 0.5 <= cert.kcl_relative <= 1.0 + 1e-12
    assert cert.kcl_relative_node in ("a", "b")
    (warning,) = cert.warnings()
    assert f"node {cert.kcl_relative_node}:" in warning
    assert "orders of magnitude" in warning and "double precision" in warning


def test_tiny_resistor_next_to_huge_one_is_warned():
    result = solve(TINY_NEXT_TO_HUGE)
    # the currents resim can report: R2's is right, R1's cannot be (module docstring)
    assert result.current("R2") == pytest.approx(I_SERIES, rel=1e-12)
    assert abs(result.current("R1") - I_SERIES) > 0.5 * I_SERIES
    assert result.certificate.kcl == pytest.approx(I_SERIES, rel=0.5)  # KCL misses by the current
    assert_warns_at_r1(result)
    assert result.certificate.ok()  # accepted as rounding (kcl_floor), but no longer silently


def test_residual_is_judged_at_its_node_not_against_the_whole_circuit():
    """The same pair next to a 1 mA branch: against the circuit's largest current the 1 pA
    residual is 1e-9, which the circuit-wide check accepts; against its node it is ~1."""
    result = solve(TINY_NEXT_TO_HUGE + "V2 c 0 1\nR3 c 0 1k\n")
    cert = result.certificate
    assert cert.current_scale == pytest.approx(1e-3)
    assert cert.kcl <= 1e-8 * cert.current_scale  # fine by the circuit's scale ...
    assert_warns_at_r1(result)  # ... but not at its node


def test_current_source_through_tiny_and_huge_resistors_is_warned():
    """1 pA forced through 1e-9 ohm then 1e12 ohm: v(b) = 1 V, v(a) = v(b) + 1e-21 V."""
    result = solve("tiny next to huge, current driven\nI1 0 a 1e-12\nR1 a b 1e-9\nR2 b 0 1e12\n")
    assert_warns_at_r1(result)


def test_well_conditioned_divider_has_a_tiny_relative_residual(netlists_dir):
    """divider.cir: 1k over 1k || 4k from 10 V; its currents (mA) are exact to a few ulps."""
    result = resim.solve(resim.load_netlist(netlists_dir / "divider.cir"))
    assert result.current("R1") == pytest.approx((10 - 40 / 9) / 1e3, rel=1e-13)
    assert result.certificate.kcl_relative <= 1e-12
    assert result.certificate.warnings() == ()
    assert to_dict(result)["warnings"] == []


def test_zero_current_loop_next_to_small_resistors_is_not_warned():
    """A loop hanging off n1 with no source in it carries 0 A; next to 1.77 ohm at 1.7 V,
    rounding leaves ~1e-16 A in it (all of its "currents"), a residual of 1e-11 of the
    circuit's 17 uA: noise on currents that are zero, not a failure (a random network that
    tests/test_random_linear.py drew)."""
    text = """dangling loop
R0 n1 0 100000.0
R1 n2 n1 581.8933634619276
R2 n3 0 1.0
R3 n4 n1 6521.009017535034
R4 n5 n2 1.772111553594073
R5 n6 n3 23430.975294348253
R6 n1 n4 5136.601299943812
R7 n5 n1 100000.0
R8 n5 n1 66.68151415466981
V0 n4 0 -1.772111553594073
"""
    result = solve(text)
    for name in ("R1", "R4", "R7", "R8"):
        assert abs(result.current(name)) < 1e-15  # 0 A, to rounding
    assert result.certificate.kcl_relative <= KCL_RELATIVE_WARN
    assert result.certificate.warnings() == ()


def test_cli_reports_relative_residual_and_warning(tmp_path, capsys):
    """stderr carries the warning, JSON the field and the warning, the table's certificate
    line the relative residual and its node."""
    netlist = tmp_path / "tiny.cir"
    netlist.write_text(TINY_NEXT_TO_HUGE)
    assert run_args(["solve", str(netlist), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert 0.5 <= doc["certificate"]["kcl_relative"] <= 1.0 + 1e-12
    (warning,) = doc["warnings"]
    assert "orders of magnitude" in warning
    assert warning in err.splitlines()

    table = table_text(solve(TINY_NEXT_TO_HUGE))
    assert "relative to its node's currents 1 at node" in table
