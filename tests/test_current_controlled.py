"""F and H, the current-controlled sources: closed-form circuits, the refusals, and ngspice.

Each circuit's answer is known in closed form (independent truth), and each is also run
through the real ngspice (the ``ngspice`` fixture fails loudly when it is missing: CI
installs it), which must agree to 1e-6 V.
"""

from __future__ import annotations

import pytest

import resim
from resim.compare import compare_with_ngspice
from resim.errors import NetlistError

# j(Vs) = 1 mA from a through Vs to ground; F1 drives 2 j from 0 through itself into out
MIRROR = "current mirror\nV1 in 0 1\nR1 in a 1k\nVs a 0 0\nF1 0 out Vs 2\nR2 out 0 1k\n"
# H1 holds v(out) = 500 ohm x j(Vs) = 0.5 V whatever R2 draws
TRANSRESISTANCE = "transresistance amplifier\nV1 in 0 1\nR1 in a 1k\nVs a 0 0\nH1 out 0 Vs 500\nR2 out 0 1k\n"
# the mirror inside a subcircuit instance with m=3: 3 copies, 3 j(Vs) into c
SUBCIRCUIT = ("mirror in a subcircuit\n.subckt mirror in out\nVs in 0 0\nF1 0 out Vs 1\n.ends\n"
              "V1 a 0 1\nR1 a b 1k\nX1 b c mirror m=3\nR2 c 0 100\n")
# POLY(1): F: 1 mA + 2 j; H: 0.25 V + 500 j (j = 1 mA)
POLY_F = "poly F\nV1 in 0 1\nR1 in a 1k\nVs a 0 0\nF1 0 out POLY(1) Vs 1m 2\nR2 out 0 1k\n"
POLY_H = "poly H\nV1 in 0 1\nR1 in a 1k\nVs a 0 0\nH1 out 0 POLY(1) Vs 0.25 500\nR2 out 0 1k\n"
# a controlling source that is not 0 V, and F controlled by the H's own branch's source
CHAIN = ("chain\nV1 in 0 2\nR1 in a 1k\nVs a b 1\nR3 b 0 1k\nH1 m 0 Vs 1k\nR4 m n 2k\nVt n 0 0\n"
         "F1 0 out Vt 3\nR2 out 0 1k\n")

# F's own m=2: 2 copies
OWN_M = "own m\nV1 in 0 1\nR1 in a 1k\nVs a 0 0\nF1 0 out Vs 1 m=2\nR2 out 0 1k\n"

CASES = {
    "own-m": (OWN_M, {"out": 2.0}),
    "mirror": (MIRROR, {"out": 2.0}),
    "transresistance": (TRANSRESISTANCE, {"out": 0.5}),
    "subcircuit-m": (SUBCIRCUIT, {"c": 0.3}),
    "poly-f": (POLY_F, {"out": 3.0}),
    "poly-h": (POLY_H, {"out": 0.75}),
    # j(Vs) = (2 - 1) / 2k = 0.5 mA; v(m) = 0.5 V; j(Vt) = 0.25 mA; v(out) = 3 x 0.25 mA x 1k
    "chain": (CHAIN, {"m": 0.5, "out": 0.75}),
}


@pytest.mark.parametrize("name", CASES)
def test_closed_form(name):
    text, expected = CASES[name]
    result = resim.solve(resim.load_netlist(text))
    for node, volts in expected.items():
        assert result.voltage(node) == pytest.approx(volts, abs=1e-12), node


@pytest.mark.parametrize("name", CASES)
def test_agrees_with_ngspice(ngspice, tmp_path, name):
    path = tmp_path / f"{name}.cir"
    path.write_text(CASES[name][0] + ".op\n.end\n")
    cmp = compare_with_ngspice(path, ngspice=ngspice)
    assert cmp.ok, cmp.verdict()
    assert cmp.max_dv <= 1e-6
    assert not cmp.missing


def test_currents_of_f_and_h():
    """F's current is gain x j(Vs); H's is what its load draws (0.5 V over 1k)."""
    r = resim.solve(resim.load_netlist(TRANSRESISTANCE.replace("R2 out 0 1k", "R2 out 0 1k\nF1 0 o2 Vs 2\nR5 o2 0 1")))
    assert r.current("vs") == pytest.approx(1e-3, rel=1e-12)
    assert r.current("f1") == pytest.approx(2e-3, rel=1e-12)
    assert r.current("h1") == pytest.approx(-0.5e-3, rel=1e-12)  # into out+, through H, out of out-: it delivers


def test_the_element_graph_names_the_controlling_source():
    c = resim.load_netlist(SUBCIRCUIT)
    f = c["f"]
    assert f.names == ("f.x1.f1",)
    assert c["v"].names[int(f.ref[0])] == "v.x1.vs"
    assert f.value.tolist() == [3.0]


def test_coordinate_descent_refuses_them_by_name():
    with pytest.raises(resim.ResimError) as err:
        resim.solve(resim.load_netlist(MIRROR), method="cd")
    assert "F" in str(err.value) or "current-controlled" in str(err.value)


@pytest.mark.parametrize("card, message", [
    ("F1 0 out Vx 2", "no voltage source 'vx'"),
    ("F1 0 out Vs", "line ends early"),
    ("F1 0 out 2", "unexpected '2'"),
    ("H1 out 0 POLY(2) Vs Vt 0 1 1", "POLY(2) of a current-controlled source is not supported"),
    ("H1 out 0 Vs 1k m=2", "unexpected"),
])
def test_bad_cards_are_refused_at_the_card(card, message):
    text = MIRROR.replace("F1 0 out Vs 2", card)
    with pytest.raises(NetlistError) as err:
        resim.load_netlist(text)
    assert message in str(err.value)
    assert err.value.location is not None and err.value.location.line == 5
