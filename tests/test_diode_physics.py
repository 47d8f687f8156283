"""The level-1 diode's DC physics against the real ngspice 39: reverse breakdown (``BV``,
``IBV``, ``NBV``), the circuit's temperature (the thermal voltage) and ``.options gmin``.

Truth is ngspice run on a netlist written for it, at tightened options. The netlist front
end does not read ``BV``, ``.temp`` or ``gmin`` here: each circuit is parsed without them
and the model, temperature and gmin are set on the :class:`~resim.circuit.Circuit`.
Exact solver and coordinate descent must both agree with ngspice, and the certificate must
judge each answer by the law ngspice solved.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import resim
from resim import compare
from resim.circuit import Circuit
from resim.compile import compile_circuit
from resim.ngspice import run_op
from resim.solvers.cd import solve_cd
from resim.solvers.certificate import assemble
from resim.solvers.exact import solve_exact
from resim.solvers.mna import MNASystem
from resim.translate import to_ngspice

TOL = 1e-9  # V: resim against ngspice (both solve to rounding; the issue asks for 1e-6)
CELSIUS_ZERO = 273.15
ZENER = "V1 in 0 {v}\nR1 in k {r}\nD1 0 k dz{area}\n"  # D1 reverse-biased: its cathode k goes up to ~BV


def circuit_of(body: str, *, celsius: float | None = None, gmin: float | None = None, **model) -> Circuit:
    """The circuit of netlist ``body`` with its diode model ``dz`` given ``model``'s
    parameters, at ``celsius`` and ``gmin`` when given."""
    circuit = resim.load_netlist("diode physics\n" + body + ".model dz D(IS=1e-14)\n")
    circuit = replace(circuit, models=tuple(replace(m, **model) for m in circuit.models))
    if celsius is not None:
        circuit = replace(circuit, temperature=celsius + CELSIUS_ZERO)
    if gmin is not None:
        circuit = replace(circuit, gmin=gmin)
    return circuit


def ngspice_op(ngspice: str, body: str, card: str, extra: str = "") -> dict[str, float]:
    """ngspice's node voltages for netlist ``body`` with ``.model dz D(card)`` (tight options)."""
    deck = f"diode physics\n{body}.model dz D({card})\n{extra}.end\n"
    return run_op(deck, ngspice=ngspice).voltages


def solved(circuit: Circuit) -> resim.Result:
    """The exact solver's answer, after checking coordinate descent's (certified by the same
    certificate, not handed to the exact solver) agrees with it."""
    cc = compile_circuit(circuit)
    exact = solve_exact(cc)
    cd = solve_cd(cc)
    assert cd.method == "cd"
    assert np.max(np.abs(cd.voltages - exact.voltages)) <= TOL
    return exact


def agree(result: resim.Result, theirs: dict[str, float], tol: float = TOL) -> None:
    for node, v in theirs.items():
        if not node.startswith("in"):
            assert result.voltage(node) == pytest.approx(v, abs=tol), node


# (resim model parameters, the same as ngspice's card, source volts, resistor ohms)
BREAKDOWN = [
    (dict(BV=5.0), "BV=5", 10, 1e3),
    (dict(BV=5.0, IBV=1e-5, NBV=2.0, RS=3.0), "BV=5 IBV=1e-5 NBV=2 RS=3", 10, 1e3),
    (dict(BV=5.0, IBV=1e-6, N=1.5), "BV=5 IBV=1e-6 N=1.5", 100, 100),  # 1 A, deep in breakdown
    (dict(BV=12.0, IBV=1e-9, NBV=0.8, RS=0.5), "BV=12 IBV=1e-9 NBV=0.8 RS=0.5", 30, 50),
    # IBV below IS BV / Vt: ngspice puts the knee at BV itself
    (dict(IS=1e-6, BV=2.0, IBV=1e-6), "IS=1e-6 BV=2 IBV=1e-6", 5, 1e3),
    (dict(BV=3.3, IBV=5e-3, NBV=1.2), "BV=3.3 IBV=5e-3 NBV=1.2", -1, 1e3),  # forward: BV changes nothing
]


@pytest.mark.parametrize("model, card, v, r", BREAKDOWN, ids=lambda x: x if isinstance(x, str) else None)
def test_reverse_breakdown_matches_ngspice(ngspice, model, card, v, r):
    body = ZENER.format(v=v, r=r, area="")
    result = solved(circuit_of(body, **model))
    agree(result, ngspice_op(ngspice, body, card))
    if v > 0:  # the same diode without breakdown holds nearly all of the source's volts
        assert result.voltage("k") < v - 0.5 and solved(circuit_of(body, **dict(model, BV=np.inf))).voltage("k") > v - 1e-2


def test_area_and_multiplier_as_ngspice(ngspice):
    """The element value (area times M: ``D1 0 k dz 3``) scales IS and divides RS, as
    ngspice's ``area=3`` does; ngspice scales the breakdown current by M only, so an instance
    with ``m=3`` is the element value 3 with 3 IBV in its model (what the elaborator makes)."""
    result = solved(circuit_of(ZENER.format(v=10, r=1e3, area=" 3"), BV=5.0, RS=2.0))
    agree(result, ngspice_op(ngspice, ZENER.format(v=10, r=1e3, area=" area=3"), "BV=5 RS=2"))
    result = solved(circuit_of(ZENER.format(v=10, r=1e3, area=" 3"), BV=5.0, RS=2.0, IBV=3e-3))
    agree(result, ngspice_op(ngspice, ZENER.format(v=10, r=1e3, area=" m=3"), "BV=5 RS=2"))


def test_below_breakdown_bv_changes_nothing(ngspice):
    body = ZENER.format(v=4.0, r=1e3, area="")  # the knee: 5 V - Vt ln(IBV / IS) = 4.34 V
    with_bv = solved(circuit_of(body, BV=5.0, RS=1.0))
    without = solved(circuit_of(body, RS=1.0))
    assert with_bv.voltage("k") == pytest.approx(without.voltage("k"), abs=1e-15)
    agree(with_bv, ngspice_op(ngspice, body, "BV=5 RS=1"))


@pytest.mark.parametrize("celsius", [50.0, -20.0])
def test_forward_diode_at_temperature(ngspice, celsius):
    """The thermal voltage is k T / q at the circuit's temperature (IS is the model's: tnom =
    temp, so ngspice applies no temperature law to it)."""
    body = "V1 in 0 5\nR1 in a 1k\nD1 a 0 dz\nD2 a b dz\nR2 b 0 100\n"
    result = solved(circuit_of(body, celsius=celsius, N=1.3, RS=5.0))
    agree(result, ngspice_op(ngspice, body, "IS=1e-14 N=1.3 RS=5", f".temp {celsius}\n.options tnom={celsius}\n"))
    assert abs(result.voltage("a") - solved(circuit_of(body, N=1.3, RS=5.0)).voltage("a")) > 1e-2


def test_breakdown_at_temperature(ngspice):
    body = ZENER.format(v=20, r=1e3, area="")
    result = solved(circuit_of(body, celsius=85.0, BV=6.2, IBV=1e-4, NBV=1.5))
    agree(result, ngspice_op(ngspice, body, "BV=6.2 IBV=1e-4 NBV=1.5", ".options temp=85 tnom=85\n"))


@pytest.mark.parametrize("gmin", [1e-9, 1e-6])
def test_gmin_across_junctions(ngspice, gmin):
    """A reverse-biased diode feeding a 1e12 ohm node: gmin across the junction against the
    1e-12 S load sets the node's voltage (-2.5 V at the default gmin)."""
    body = "V1 in 0 -5\nD1 in a dz\nR1 a 0 1e12\n"
    result = solved(circuit_of(body, gmin=gmin))
    agree(result, ngspice_op(ngspice, body, "IS=1e-14", f".options gmin={gmin}\n"))
    assert result.voltage("a") < -4.9 and solved(circuit_of(body)).voltage("a") == pytest.approx(-2.505, abs=1e-3)


def test_certificate_judges_by_the_breakdown_law():
    """The breakdown answer passes its certificate; judged by the law without breakdown, the
    same voltages leave milliamperes unbalanced at the zener's node."""
    body = ZENER.format(v=10, r=1e3, area="")
    circuit = circuit_of(body, BV=5.0, RS=3.0)
    result = solve_exact(compile_circuit(circuit))
    assert result.certificate.ok(1e-8) and result.certificate.kcl <= 1e-15
    assert result.current("D1") == pytest.approx(-result.current("R1"), rel=1e-12)
    for cc, holds in ((compile_circuit(circuit), True), (compile_circuit(circuit_of(body, RS=3.0)), False)):
        judged = assemble(cc, MNASystem(cc), _solution_vector(cc, result), np.zeros(0, bool), "exact", 0)
        assert judged.certificate.ok(1e-8) == holds
    assert judged.certificate.kcl > 1e-3  # without breakdown: the zener's milliamperes unaccounted


def _solution_vector(cc, result: resim.Result) -> np.ndarray:
    """The MNA unknowns of ``result`` (node potentials, the diode's internal node, V's current)."""
    sys_ = MNASystem(cc)
    x = np.zeros(sys_.size)
    known = cc.var >= 0
    x[cc.var[known]] = result.voltages[known]
    rs = cc.shockley_rs
    anode = np.where(rs.a >= 0, x[rs.a], 0.0)  # (-1: ground)
    x[rs.b] = anode - result.currents["d"][rs.index] / rs.value  # v_internal = v_anode - i RS
    x[sys_.colV] = result.currents["v"][cc.vsources.index]
    return x


def test_translation_for_ngspice_describes_the_same_circuit(ngspice, monkeypatch, tmp_path):
    """``compare-with-ngspice`` of a circuit with breakdown, an element value of 2, 60 C and
    gmin 1e-10: the translation writes BV/IBV/NBV, ``area=`` and ``.options temp tnom gmin``."""
    body = "V1 in 0 12\nR1 in k 470\nD1 0 k dz 2\nD2 k c dz\nR2 c 0 1e11\n"
    circuit = circuit_of(body, celsius=60.0, gmin=1e-10, BV=5.1, IBV=2e-3, NBV=1.7, RS=1.5)
    text = to_ngspice(circuit).text
    assert "BV=5.0999999999999996 IBV=0.002 NBV=1.7" in text and " area=2" in text
    assert ".options temp=60 tnom=60 gmin=1e-10" in text
    monkeypatch.setattr(compare.api, "load_netlist", lambda path: circuit)
    cmp = compare.compare_with_ngspice(tmp_path / "unused.cir", ngspice=ngspice, tol=TOL, method="exact")
    assert cmp.ok, cmp.verdict()
    assert cmp.currents_compared >= 4
    assert 4.0 < next(r.ngspice for r in cmp.rows if r.name == "k") < 5.5  # D1 in breakdown


def test_series_junction_in_breakdown_is_solved_at_any_voltage():
    """Coordinate descent's junction behind RS (i = f(w), w = u - i RS) from deep breakdown
    to forward bias: the current satisfies the law to rounding and increases with u."""
    from resim.solvers.cd.laws import series_junction
    from resim.junction import JunctionLaw, breakdown_knee

    u = np.linspace(-60.0, 5.0, 651)[None, :]
    n = u.shape[1]
    vt = 0.025864917
    knee = breakdown_knee(5.0, 1e-3, 1e-14, 1.0, vt)
    law = JunctionLaw(np.full(n, 1e-14), np.full(n, vt), np.full(n, knee), np.full(n, vt))
    i, g = series_junction(u, law, np.full(n, 0.5))
    w = u - i * 0.5
    assert np.all(np.abs(law(w)[0] - i) <= 1e-9 * np.abs(i) + 1e-25)
    assert np.all(np.diff(i[0]) > 0) and np.all(g > 0)
    assert i[0, 0] == pytest.approx((-60.0 + 5.0) / 0.5, rel=1e-2)  # past the knee: RS limits the current
