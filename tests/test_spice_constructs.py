"""Issue 14: the SPICE constructs of real DC netlists, one at a time, against closed forms.

Every expected value here is computed in the test from the formulas and numbers that ngspice 39
was verified to follow (resistor temperature laws, the diode's IS(T), SPICE2 POLY coefficient
order, the t = 0 values of waveforms, numparam's built-in functions, ...), never by resim.
``tests/test_compat_ngspice.py`` runs the real ngspice on whole netlists; these tests pin each
construct down on its own, with the message and location of what is refused.

Physical constants are ngspice 39's (const.h): k = 1.38064852e-23 J/K, q = 1.6021766208e-19 C;
the default circuit temperature and TNOM are 27 C = 300.15 K; gmin = 1e-12 S across each junction.
"""

from __future__ import annotations

import math

import pytest

import resim
from resim.errors import NetlistError

K_BOLTZMANN = 1.38064852e-23
Q_CHARGE = 1.6021766208e-19
T27 = 300.15
GMIN = 1e-12


def vt(kelvin: float) -> float:
    """The thermal voltage k T / q."""
    return K_BOLTZMANN * kelvin / Q_CHARGE


def load(body: str) -> resim.Circuit:
    """The circuit of ``body`` between a title line and ``.end``."""
    return resim.load_netlist("* test\n" + body.strip("\n") + "\n.end\n")


def refused(body: str) -> NetlistError:
    """The NetlistError that reading ``body`` raises (nothing else: no RecursionError, no crash)."""
    with pytest.raises(NetlistError) as info:
        load(body)
    return info.value


def value_of(circuit, kind: str, name: str) -> float:
    group = circuit[kind]
    k = group.index_of(name)
    assert k is not None, f"{name} not in {group.names}"
    return float(group.value[k])


def ohms(body: str, name: str = "r1") -> float:
    """The effective resistance of resistor ``name`` in ``body`` (a 1 V source is added)."""
    return value_of(load("Vdd 1 0 1\n" + body), "r", name)


def param(body: str, name: str = "p") -> float:
    return load("Vdd 1 0 1\nRl 1 0 1k\n" + body).params[name]


def warned(circuit, *words: str) -> bool:
    """Whether one warning holds every one of ``words`` (case-insensitive)."""
    return any(all(w.lower() in text.lower() for w in words) for text in circuit.warnings)


def bisect(f, lo: float, hi: float) -> float:
    """The root of increasing ``f`` in [lo, hi], to machine precision."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


# ---- resistors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("card, expected", [
    ("R1 1 0 r=1k", 1000.0),
    ("R1 1 0 resistance=4k", 4000.0),
    ("R1 1 0 R=2.5k", 2500.0),
])
def test_resistor_value_keywords(card, expected):
    assert ohms(card) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("model, card, expected", [
    ("RSH=100", "RM L=10u W=1u", 100 * 10e-6 / 1e-6),  # (L / W) RSH = 1000
    ("RSH=100 DEFW=2u", "RM L=20u", 100 * 20e-6 / 2e-6),  # W defaults to DEFW
    ("RSH=100 NARROW=.5u SHORT=1u", "RM L=10u W=2u", (10e-6 - 2e-6) / (2e-6 - 1e-6) * 100),  # 800
    ("RSH=100", "RM", 100 * 10e-6 / 10e-6),  # L and W default to 10 um
    ("RSH=100 SHORT=1u", "RM L=1u", (1e-6 - 2e-6) / 10e-6 * 100),  # -10: negative, used as is
    ("R=500", "RM", 500.0),  # model R when there is no geometry
    ("RSH=0 R=7", "RM L=10u W=1u", 7.0),  # RSH = 0: no geometry, model R
    ("R=500", "2k RM", 2000.0),  # a value on the card wins over the model's R ...
    ("RSH=100", "1k RM L=10u W=1u", 1000.0),  # ... and over RSH and the geometry
    ("RSH=100", "3k RM L=1u W=10u", 3000.0),
])
def test_resistor_model_resistance(model, card, expected):
    assert ohms(f".model RM R({model})\nR1 1 0 {card}") == pytest.approx(expected, rel=1e-12)


def test_resistor_without_value_or_model_is_one_milliohm_with_a_warning():
    # ngspice 39: "Warning: rnv: resistance to low, set to 1 mOhm"
    circuit = load("Vdd 1 0 1\nRnv 1 0")
    assert value_of(circuit, "r", "rnv") == 1e-3
    assert warned(circuit, "rnv", "milliohm")


def test_resistor_model_without_rsh_or_r_is_one_milliohm_with_a_warning():
    circuit = load("Vdd 1 0 1\n.model RM R(TC1=0.01)\nRq 1 0 RM")
    assert value_of(circuit, "r", "rq") == 1e-3
    assert warned(circuit, "rq", "milliohm")


@pytest.mark.parametrize("value", ["0", "{1-1}", "0.0"])
def test_zero_ohm_is_one_milliohm_with_a_warning(value):
    circuit = load(f"Vdd 1 0 1\nRz 1 0 {value}\nR2 1 0 1k")
    assert value_of(circuit, "r", "rz") == 1e-3
    assert value_of(circuit, "r", "r2") == 1000.0
    assert warned(circuit, "rz", "milliohm")
    assert resim.solve(circuit).current("Rz") == pytest.approx(1000.0, rel=1e-9)  # 1 V across 1 mOhm


def test_zero_ohm_is_replaced_before_temperature_m_and_scale():
    assert ohms("R1 1 0 0 tc1=0.01 temp=127 m=4 scale=3") == pytest.approx(1e-3 * 2.0 * 3 / 4, rel=1e-12)


@pytest.mark.parametrize("value, expected", [("-2k", -2000.0), ("1e-6", 1e-6), ("1u", 1e-6)])
def test_negative_and_tiny_resistances_are_kept(value, expected):
    circuit = load(f"Vdd 1 0 1\nR1 1 0 {value}")
    assert value_of(circuit, "r", "r1") == pytest.approx(expected, rel=1e-12)
    assert not warned(circuit, "r1")
    assert resim.solve(circuit).current("R1") == pytest.approx(1.0 / expected, rel=1e-9)


@pytest.mark.parametrize("card, expected", [
    ("1k tc1=0.01 temp=127", 1000 * (1 + 0.01 * 100)),  # 2000
    ("1k tc1=0.01 tc2=0.001 temp=127", 1000 * (1 + 0.01 * 100 + 0.001 * 100 ** 2)),  # 12000
    ("1k tc=0.01 0.001 temp=127", 1000 * (1 + 0.01 * 100 + 0.001 * 100 ** 2)),  # ngspice: tc=a b
    ("1k tc=0.01 temp=127", 1000 * (1 + 0.01 * 100)),  # tc=a alone is tc1
    ("1k tc=0.01, 0.001 temp=127", 1000 * (1 + 0.01 * 100 + 0.001 * 100 ** 2)),  # HSPICE's comma form
    ("1k dtemp=100 tc1=0.01", 1000 * (1 + 0.01 * 100)),  # 27 + 100
    ("1k temp=127 dtemp=50 tc1=0.01", 1000 * (1 + 0.01 * 100)),  # temp= given: dtemp ignored
    ("1k tc1=0.01 temp=-23", 1000 * (1 - 0.01 * 50)),
    ("1k tce=1 temp=127", 1000 * 1.01 ** 100),  # 2704.8
    ("1k tce=1 tc1=5 tc2=3 temp=127", 1000 * 1.01 ** 100),  # TCE given: TC1/TC2 ignored
    ("1k tc1=0.01", 1000.0),  # at TNOM: no change
    ("1k m=2", 500.0),
    ("1k scale=3", 3000.0),
    ("1k m=2 scale=3", 1500.0),
    ("1k m=0.5", 2000.0),
    ("1k m=2 scale=3 tc1=0.01 temp=127", 1000 * 2.0 * 3 / 2),
])
def test_resistor_instance_temperature_and_multipliers(card, expected):
    assert ohms(f"R1 1 0 {card}") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("model, card, expected", [
    ("TC1=0.01 TC2=0.001", "1k RT temp=127", 1000 * (1 + 0.01 * 100 + 0.001 * 100 ** 2)),
    ("TC1=0.01 TC2=0.001", "1k RT tc1=0 temp=127", 1000 * (1 + 0.001 * 100 ** 2)),  # instance tc1=0 overrides
    ("TC1=0.01", "1k RT tc1=0.02 temp=127", 1000 * (1 + 0.02 * 100)),
    ("TCE=2 TC1=5", "1k RT temp=37", 1000 * 1.01 ** 20),  # 1220.19: model TCE, TC1 ignored
    ("TC1=5", "1k RT tce=1 temp=127", 1000 * 1.01 ** 100),  # instance TCE, model TC1 ignored
    ("TC1=0.01 TNOM=50", "1k RT", 1000 * (1 + 0.01 * (27 - 50))),  # 770
    ("RSH=100 TC1=0.01", "RT L=20u W=10u temp=127", 200 * (1 + 0.01 * 100)),
    ("R=500 TC1=0.01", "RT m=2 temp=127", 500 * 2.0 / 2),
])
def test_resistor_model_temperature(model, card, expected):
    assert ohms(f".model RT R({model})\nR1 1 0 {card}") == pytest.approx(expected, rel=1e-12)


def test_options_tnom_sets_the_resistors_reference_temperature():
    assert ohms(".options tnom=50\nR1 1 0 1k tc1=0.01") == pytest.approx(1000 * (1 - 0.23), rel=1e-12)
    # a model's own TNOM wins over .options tnom
    assert ohms(".options tnom=50\n.model RT R(TNOM=27 TC1=0.01)\nR1 1 0 1k RT") == pytest.approx(1000.0, rel=1e-12)


def test_circuit_temperature_moves_resistors_without_their_own_temp():
    text = ".temp 127\nR1 1 0 1k tc1=0.01\nR2 1 0 1k tc1=0.01 temp=27\nR3 1 0 1k"
    assert ohms(text, "r1") == pytest.approx(2000.0, rel=1e-12)
    assert ohms(text, "r2") == pytest.approx(1000.0, rel=1e-12)
    assert ohms(text, "r3") == pytest.approx(1000.0, rel=1e-12)  # .temp with no tc: unchanged


def test_resistor_unknown_parameter_is_located_at_its_key():
    err = refused("Vdd 1 0 1\nR1 1 0 1k res=5k")
    assert "unknown parameter 'res'" in err.message
    assert "r1" in err.message.lower()
    assert (err.location.line, err.location.column) == (3, 11)
    assert "resistance" in err.hint and "tc1" in err.hint
    err = refused("Vdd 1 0 1\nR1 1 0 1k value=6k")
    assert "'value'" in err.message and err.location.column == 11


def test_resistor_undefined_model_is_refused_by_name():
    err = refused("Vdd 1 0 1\nR1 1 0 NOSUCH L=1u")
    assert "nosuch" in err.message.lower() and err.location.line == 3


# ---- diodes -------------------------------------------------------------------------------------


def saturation(IS: float, T: float, tnom: float = T27, n: float = 1.0, eg: float = 1.11, xti: float = 3.0) -> float:
    """IS at T (K): IS exp((T/TNOM - 1) EG / (N Vt(T)) + XTI/N ln(T/TNOM))."""
    return IS * math.exp((T / tnom - 1) * eg / (n * vt(T)) + xti / n * math.log(T / tnom))


def junction(IS: float, vd: float, T: float = T27, n: float = 1.0, gmin: float = GMIN) -> float:
    """A forward junction's current (ngspice adds gmin * vd)."""
    return IS * math.expm1(vd / (n * vt(T))) + gmin * vd


def diode_current(body: str, name: str = "D1") -> float:
    circuit = load(body)
    result = resim.solve(circuit)
    assert result.certificate.ok()
    return result.current(name)


def test_plain_diode_at_0v6():
    i = diode_current("V1 a 0 0.6\nD1 a 0 DM\n.model DM D(IS=1e-14)")
    assert i == pytest.approx(junction(1e-14, 0.6), rel=1e-9)
    assert i == pytest.approx(1.18720e-4, rel=1e-5)  # ngspice 39's printed value


@pytest.mark.parametrize("card, factor", [
    ("DM 2", 2.0),  # a bare number after the model: the area
    ("DM AREA=3", 3.0),
    ("DM M=3", 3.0),
    ("DM 2 M=3", 6.0),
    ("DM AREA=2 m=0.5", 1.0),
    ("DM 2 OFF", 2.0),  # OFF: only a starting guess
])
def test_diode_area_and_m_scale_the_saturation_current(card, factor):
    i = diode_current(f"V1 a 0 0.6\nD1 a 0 {card}\n.model DM D(IS=1e-14)")
    assert i == pytest.approx(junction(factor * 1e-14, 0.6), rel=1e-9)


def test_diode_model_area_is_the_default_area():
    i = diode_current("V1 a 0 0.6\nD1 a 0 DM\n.model DM D(IS=1e-14 AREA=4)")
    assert i == pytest.approx(junction(4e-14, 0.6), rel=1e-9)


def test_diode_sidewall_jsw_times_pj_joins_is():
    i = diode_current("V1 a 0 0.6\nD1 a 0 DM PJ=3\n.model DM D(IS=1e-14 JSW=1e-15)")
    assert i == pytest.approx(junction(1e-14 + 3 * 1e-15, 0.6), rel=1e-9)
    assert i == pytest.approx(1.54336e-4, rel=1e-5)  # ngspice 39
    # with an area: IS * area + JSW * PJ (the sidewall does not scale with the area)
    i = diode_current("V1 a 0 0.6\nD1 a 0 DM AREA=2 PJ=3\n.model DM D(IS=1e-14 JSW=1e-15)")
    assert i == pytest.approx(junction(2e-14 + 3e-15, 0.6), rel=1e-9)


@pytest.mark.parametrize("setting, model, T, kw, printed", [
    (".temp 100", "IS=1e-14 N=2 EG=1.2 XTI=4", 373.15, dict(n=2, eg=1.2, xti=4), 1.62846e-8),
    (".options temp=100", "IS=1e-14 N=2 EG=1.2 XTI=4", 373.15, dict(n=2, eg=1.2, xti=4), 1.62846e-8),
    ("", "IS=1e-14 N=1.5 TNOM=50", T27, dict(n=1.5, tnom=323.15), 5.86006e-9),
    (".options tnom=50", "IS=1e-14 N=1.5", T27, dict(n=1.5, tnom=323.15), 5.86006e-9),
    (".temp 127", "IS=1e-14", 400.15, {}, 3.88338e-2),
])
def test_diode_saturation_current_temperature_law(setting, model, T, kw, printed):
    i = diode_current(f"{setting}\nV1 a 0 0.6\nD1 a 0 DM\n.model DM D({model})")
    n = kw.get("n", 1.0)
    assert i == pytest.approx(junction(saturation(1e-14, T, **kw), 0.6, T, n), rel=1e-9)
    assert i == pytest.approx(printed, rel=2e-5)  # ngspice 39's printed value


@pytest.mark.parametrize("model, rs_at_127, printed", [
    ("RS=10 TRS=0.01", 10 * (1 + 0.01 * 100), 0.0210554),
    ("RS=10 TRS1=0.01 TRS2=0.001", 10 * (1 + 0.01 * 100 + 0.001 * 100 ** 2), 0.00398739),
])
def test_diode_series_resistance_temperature(model, rs_at_127, printed):
    T = 400.15
    IS = saturation(1e-14, T)
    vd = bisect(lambda v: junction(IS, v, T) - (1.0 - v) / rs_at_127, 0.0, 1.0)
    i = diode_current(f".temp 127\nV1 a 0 1\nD1 a 0 DM\n.model DM D(IS=1e-14 {model})")
    assert i == pytest.approx((1.0 - vd) / rs_at_127, rel=1e-8)
    assert i == pytest.approx(printed, rel=1e-5)


def test_diode_series_resistance_divided_by_area_and_m():
    vd = bisect(lambda v: junction(2e-14, v) - (1.0 - v) / 5.0, 0.0, 1.0)
    for card in ("DM 2", "DM M=2"):
        i = diode_current(f"V1 a 0 1\nD1 a 0 {card}\n.model DM D(IS=1e-14 RS=10)")
        assert i == pytest.approx((1.0 - vd) / 5.0, rel=1e-8)
        assert i == pytest.approx(0.0521113, rel=1e-5)


def breakdown_current(vd: float, IS: float, bv: float, ibv: float, T: float, n: float = 1.0) -> float:
    """ngspice's level-1 reverse current past breakdown (xbv found as in dioload/diotemp)."""
    v = vt(T)
    if ibv < IS * bv / v:
        xbv = bv
    else:
        xbv = bv - n * v * math.log(1 + ibv / IS)
        for _ in range(25):
            xbv = bv - n * v * math.log(ibv / IS + 1 - xbv / v)
            if abs(IS * (math.exp((bv - xbv) / (n * v)) - 1 + xbv / v) - ibv) <= 1e-3 * ibv:
                break
    return -IS * math.exp(-(xbv + vd) / (n * v)) + GMIN * vd


@pytest.mark.parametrize("setting, model, T, bv_t, printed", [
    ("", "BV=5 IBV=1m", T27, 5.0, -1.0000e-3),
    (".temp 127", "BV=5 IBV=1m", 400.15, 5.0, -9.9986e-4),
    (".temp 127", "BV=5 IBV=1m TCV=0.01", 400.15, 5.0 - 0.01 * 100, -3.9326e9),
])
def test_diode_breakdown_with_tcv(setting, model, T, bv_t, printed):
    i = diode_current(f"{setting}\nV1 a 0 -5\nD1 a 0 DM\n.model DM D(IS=1e-14 {model})")
    expected = breakdown_current(-5.0, saturation(1e-14, T), bv_t, 1e-3, T)
    assert i == pytest.approx(expected, rel=1e-6)
    assert i == pytest.approx(printed, rel=1e-4)


@pytest.mark.parametrize("model, word", [
    ("IS=1e-14 TLEV=1", "TLEV"),
    ("IS=1e-14 LEVEL=3", "LEVEL"),
    ("IS=1e-14 JSW=1e-15 NS=2", "NS"),
])
def test_diode_parameters_resim_does_not_model_are_refused_by_name(model, word):
    err = refused(f"V1 a 0 0.6\nD1 a 0 DM\n.model DM D({model})")
    assert word.lower() in err.message.lower()
    assert "dm" in err.message.lower()
    assert err.location.line == 4


@pytest.mark.parametrize("param", ["temp=100", "dtemp=10"])
def test_diode_instance_temperature_is_refused(param):
    err = refused(f"V1 a 0 0.6\nD1 a 0 DM {param}\n.model DM D(IS=1e-14)")
    assert param.split("=")[0] in err.message.lower()
    assert (err.location.line, err.location.column) == (3, len("D1 a 0 DM ") + 1)


# ---- subcircuits --------------------------------------------------------------------------------

SUB = """
.model DM D(IS=1e-14)
.subckt cell a
R1 a b 1k
D1 b 0 DM
I1 b 0 0.2m
G1 0 b a 0 0.1m
R2 b 0 10k
.ends
V1 in 0 2
Rs in n 500
"""


def test_subcircuit_m_equals_parallel_copies():
    multiplied = resim.solve(load(SUB + "X1 n cell m=3"))
    copies = resim.solve(load(SUB + "X1 n cell\nX2 n cell\nX3 n cell"))
    assert multiplied.voltage("n") == pytest.approx(copies.voltage("n"), rel=1e-10, abs=1e-12)
    assert multiplied.voltage("x1.b") == pytest.approx(copies.voltage("x1.b"), rel=1e-10, abs=1e-12)
    assert multiplied.current("V1") == pytest.approx(copies.current("V1"), rel=1e-9)
    # the source's current (into its + node, so negative) feeds three cells' R1
    assert -multiplied.current("V1") == pytest.approx(3 * copies.current("r.x1.r1"), rel=1e-9)


def test_subcircuit_m_as_expression_and_upper_case():
    a = resim.solve(load(SUB + ".param k=1.5\nX1 n cell M={k*2}"))
    b = resim.solve(load(SUB + "X1 n cell m=3"))
    assert a.voltage("n") == pytest.approx(b.voltage("n"), rel=1e-12)


def test_m_inside_m_multiplies_with_a_warning():
    circuit = load(".subckt sub a\nR1 a 0 1k m=2\n.ends\nV1 in 0 1\nX1 in sub m=3")
    # resim: 3 instances of 2 parallel copies = 6 (ngspice 39 keeps only the last m, 3)
    assert value_of(circuit, "r", "r.x1.r1") == pytest.approx(1000.0 / 6, rel=1e-12)
    assert warned(circuit, "r.x1.r1", "multipl")


def test_subcircuit_that_declares_m_takes_it_as_an_ordinary_parameter():
    circuit = load(".subckt sub a params: r=1k m=1\nR1 a 0 {r*m}\nI1 a 0 1m\n.ends\nV1 in 0 1\nX1 in sub m=5")
    assert value_of(circuit, "r", "r.x1.r1") == pytest.approx(5000.0, rel=1e-12)  # not 1000 / 5
    assert value_of(circuit, "i", "i.x1.i1") == pytest.approx(1e-3, rel=1e-12)  # not multiplied
    assert not warned(circuit, "multipl")


@pytest.mark.parametrize("line, expected", [
    ("X1 x sub w=2 l={w*2}", 4.0),
    ("X1 x sub l={w*2} w=3", 6.0),  # order on the line is irrelevant
    ("X1 x sub l={w*2}", 2.0),  # the subckt's default w=1 shadows the global w=100
    ("X1 x sub l={z*2}", 14.0),  # globals are visible when not shadowed
    ("X1 x sub", 1.0),
])
def test_instance_parameters_are_evaluated_in_the_subcircuit_scope(line, expected):
    body = f".param w=100 z=7\n.subckt sub a params: w=1 l=1\nR1 a 0 {{l}}\n.ends\nV1 x 0 1\n{line}"
    assert value_of(load(body), "r", "r.x1.r1") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("line, l_value", [("X1 x sub w=4", 12.0), ("X1 x sub", 6.0), ("X1 x sub w=4 l=5", 5.0)])
def test_subcircuit_defaults_refer_to_earlier_defaults_and_globals(line, l_value):
    body = (".param g1=5\n.subckt sub a params: w=2 l={w*3} k={g1*2}\nR1 a 0 {l}\nR2 a 0 {k}\n.ends\n"
            f"V1 x 0 1\n{line}")
    circuit = load(body)
    assert value_of(circuit, "r", "r.x1.r1") == pytest.approx(l_value, rel=1e-12)
    assert value_of(circuit, "r", "r.x1.r2") == pytest.approx(10.0, rel=1e-12)


def test_undeclared_instance_parameter_is_ignored_with_a_warning():
    circuit = load(".subckt sub a params: w=1\nR1 a 0 {w}\n.ends\nV1 x 0 1\nX1 x sub w=2 q=9")
    assert value_of(circuit, "r", "r.x1.r1") == 2.0
    assert warned(circuit, "x1", "'q'")


def test_model_inside_subcircuit_uses_each_instances_parameters():
    body = """
.subckt sub a params: rsh=100 isx=1e-14
.model RM R(RSH={rsh})
.model DM D(IS={isx})
R1 a 0 RM L=20u W=10u
D1 a 0 DM
.ends
V1 x 0 0.6
X1 x sub rsh=50 isx=2e-14
X2 x sub rsh=300
"""
    circuit = load(body)
    assert value_of(circuit, "r", "r.x1.r1") == pytest.approx(100.0, rel=1e-12)
    assert value_of(circuit, "r", "r.x2.r1") == pytest.approx(600.0, rel=1e-12)
    result = resim.solve(circuit)
    assert result.current("d.x1.d1") == pytest.approx(junction(2e-14, 0.6), rel=1e-9)
    assert result.current("d.x2.d1") == pytest.approx(junction(1e-14, 0.6), rel=1e-9)


# ---- functions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("definition, call, expected", [
    (".func f(x,y) {x*y+1}", "f(2,3)", 7.0),
    (".func g(x)=x*2", "g(2)", 4.0),
    (".func g(x) = {x*2}", "g(2.5)", 5.0),
    (".param h(x,y)={x+y*10}", "h(2,3)", 32.0),
    (".func f(x,y) {x*y+1}\n.func k(x) {f(x,x)+1}", "k(3)", 11.0),  # nested user functions
    (".func f(x) {x+a}\n.param a=10", "f(1)", 11.0),  # a body sees the parameters
    (".func sq(x) {x*x}\n.func f(x) {sq(sq(x))}", "f(2)", 16.0),
])
def test_user_functions(definition, call, expected):
    assert param(f"{definition}\n.param p={{{call}}}") == pytest.approx(expected, rel=1e-12)


def test_user_function_as_a_resistor_value():
    assert ohms(".func f(x,y) {x*y+1}\nR1 1 0 {f(2,3)*1k}") == pytest.approx(7000.0, rel=1e-12)


@pytest.mark.parametrize("definition, call", [
    (".func r(x) {r(x)+1}", "r(1)"),
    (".func a(x) {b(x)}\n.func b(x) {a(x)}", "a(1)"),
])
def test_recursive_functions_are_refused(definition, call):
    err = refused(f"V1 1 0 1\nR1 1 0 1k\n{definition}\n.param p={{{call}}}")
    assert "recurs" in err.message.lower()


@pytest.mark.parametrize("call", ["f(1)", "f(1,2,3)"])
def test_user_function_wrong_argument_count(call):
    err = refused(f"V1 1 0 1\nR1 1 0 1k\n.func f(x,y) {{x+y}}\n.param p={{{call}}}")
    assert "f()" in err.message and "2 argument" in err.message
    assert err.location.line == 5


@pytest.mark.parametrize("expr, expected", [
    ("sin(0.5)", math.sin(0.5)),
    ("cos(0.5)", math.cos(0.5)),
    ("atan(2)", math.atan(2)),
    ("arctan(2)", math.atan(2)),
    ("sinh(1)", math.sinh(1)),
    ("asinh(1)", math.asinh(1)),
    ("floor(-2.5)", -3.0),
    ("ceil(2.1)", 3.0),
    ("int(2.7)", 2.0),
    ("int(-2.7)", -2.0),
    ("nint(2.5)", 2.0),  # halves to even
    ("nint(3.5)", 4.0),
    ("nint(-2.5)", -2.0),
    ("nint(2.6)", 3.0),
    ("sgn(-3)", -1.0),
    ("sgn(0)", 0.0),
    ("sgn(4)", 1.0),
    ("pwr(-2,3)", 8.0),  # |x|^y in ngspice 39
    ("pow(2,3)", 8.0),
    ("sqr(3)", 9.0),
    ("log(100)", math.log(100)),  # natural
    ("log10(100)", 2.0),
    ("ln(100)", math.log(100)),
    ("2**3", 8.0),
    ("2*3**2", 18.0),
    ("2^3^2", 64.0),  # ngspice's ^ is left-associative
    ("-2^2", -4.0),  # unary minus binds looser than ^ (ngspice 39, checked: .param a={-2^2} is -4)
])
def test_builtin_functions(expr, expected):
    assert param(f".param p={{{expr}}}") == pytest.approx(expected, rel=1e-12, abs=1e-15)


# ---- E and G ------------------------------------------------------------------------------------

CONTROLS = "Va a 0 2\nVb b 0 3\nVc c 0 5\nRo o 0 1\n"  # V(a)=2, V(b)=3, V(c)=5; output on 1 ohm


def v_out(card: str, extra: str = "") -> float:
    result = resim.solve(load(CONTROLS + extra + card))
    assert result.certificate.ok()
    return result.voltage("o")


@pytest.mark.parametrize("card, expected", [
    ("E1 o 0 POLY(1) a 0 1 2", 1 + 2 * 2),
    ("E1 o 0 POLY(1) a 0 0 1", 2.0),
    ("E1 o 0 POLY(2) a 0 b 0 1 2 3", 1 + 2 * 2 + 3 * 3),
    ("E1 o 0 POLY(2) a 0 b 0 1 2", 1 + 2 * 2),  # trailing coefficients omitted: 0
    ("E1 o 0 POLY(2) (a,0) (b,0) 1 2 3", 14.0),
    ("E1 o 0 POLY(2) (a, 0) (b, c) 0.5 2 3", 0.5 + 2 * 2 + 3 * (3 - 5)),
    ("E1 o 0 POLY(3) a 0 b 0 c 0 1 2 3 4", 1 + 2 * 2 + 3 * 3 + 4 * 5),
    ("E1 o 0 POLY(1) a 0 1 2 0 0", 5.0),  # nonlinear coefficients that are 0: linear
    ("E1 o 0 POLY(2) a 0 b 0 0 2 3", 2 * 2 + 3 * 3),  # no constant
    ("E1 o 0 POLY(1) a b 1 2", 1 + 2 * (2 - 3)),
    ("G1 0 o POLY(2) a 0 b 0 1 2 3", 14.0),  # 14 A into o, on 1 ohm
    ("G1 0 o POLY(1) a 0 1", 1.0),  # the constant alone
    ("E1 o 0 a b 2", 2 * (2 - 3)),
    ("E1 o 0 (a,b) 2", 2 * (2 - 3)),
    ("G1 0 o a b 2", 2 * (2 - 3)),
])
def test_poly_linear(card, expected):
    assert v_out(card) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("card, coefficient", [
    ("E1 o 0 POLY(1) a 0 1 2 3", 3),
    ("E1 o 0 POLY(2) a 0 b 0 1 2 3 4 5 6", 4),
    ("G1 0 o POLY(2) a 0 b 0 1 2 3 0 5", 5),
])
def test_nonlinear_poly_is_refused_at_poly(card, coefficient):
    err = refused(CONTROLS + card)
    assert "poly" in err.message.lower()
    assert f"coefficient {coefficient}" in err.message.lower() or f"is {coefficient}" in err.message
    assert (err.location.line, err.location.column) == (6, card.index("POLY") + 1)


@pytest.mark.parametrize("card, extra, expected", [
    ("E1 o 0 VALUE={2*v(a)+1}", "", 2 * 2 + 1),
    ("E1 o 0 value = {2*v(a)+1}", "", 5.0),
    ("E1 o 0 VALUE {2*v(a)+1}", "", 5.0),
    ("E1 o 0 vol='2*v(a)+1'", "", 5.0),
    ("E1 o 0 VALUE={v(a,b)/2}", "", (2 - 3) / 2),
    ("E1 o 0 VALUE={v(a) - v(b) + 0.5*v(c)}", "", 2 - 3 + 2.5),
    ("E1 o 0 VALUE={-(v(a)+v(b))*k}", ".param k=2\n", -10.0),
    ("E1 o 0 VALUE={dbl(3)*v(a) + dbl(0.25)}", ".func dbl(x) {2*x}\n", 6 * 2 + 0.5),
    ("E1 o 0 VALUE={3}", "", 3.0),
    ("G1 0 o VALUE={v(a)*0.5}", "", 1.0),
    ("G1 0 o cur={v(a)+v(b)}", "", 5.0),
])
def test_value_affine(card, extra, expected):
    assert v_out(card, extra) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("card, word", [
    ("E1 o 0 VALUE={v(a)*v(b)}", "product"),
    ("E1 o 0 VALUE={exp(v(a))}", "exp"),
    ("E1 o 0 VALUE={1/v(a)}", "division"),
    ("G1 0 o VALUE={v(a)**2}", "power"),
    ("E1 o 0 VALUE={i(va)*2}", "i("),
])
def test_nonlinear_value_is_refused(card, word):
    err = refused(CONTROLS + card)
    assert word in err.message.lower()
    assert err.location.line == 6


def test_poly_synthesized_elements_and_nodes():
    circuit = load(CONTROLS + "E1 o 0 POLY(2) a 0 b 0 1 2 3")
    e = circuit["e"]
    assert set(e.names) == {"e1", "e1.2"}
    # a series chain o -> e1 -> e1.2 -> v.e1 -> 0, each E controlled by one pair
    nodes = circuit.nodes
    chain = {name: tuple(nodes[k] for k in e.nodes[e.index_of(name)]) for name in e.names}
    assert chain["e1"][0] == "o" and chain["e1"][2:] == ("a", "0")
    assert chain["e1.2"][0] == chain["e1"][1] and chain["e1.2"][2:] == ("b", "0")
    v = circuit["v"]
    k = v.index_of("v.e1")
    assert k is not None and float(v.value[k]) == 1.0
    assert tuple(nodes[j] for j in v.nodes[k]) == (chain["e1.2"][1], "0")
    assert {"e1", "e1.2", "v.e1", chain["e1"][1], chain["e1.2"][1]} <= set(circuit.synthesized)
    assert not {"o", "a", "b", "va", "ro"} & set(circuit.synthesized)


def test_g_poly_synthesized_elements_are_in_parallel():
    circuit = load(CONTROLS + "G1 0 o POLY(2) a 0 b 0 1 2 3")
    g = circuit["g"]
    nodes = circuit.nodes
    assert {tuple(nodes[j] for j in g.nodes[k]) for k in range(len(g))} == {("0", "o", "a", "0"), ("0", "o", "b", "0")}
    i = circuit["i"]
    assert tuple(nodes[j] for j in i.nodes[i.index_of("i.g1")]) == ("0", "o")
    assert float(i.value[i.index_of("i.g1")]) == 1.0


# ---- independent sources ------------------------------------------------------------------------


def volts(spec: str, extra: str = "") -> float:
    return value_of(load(f"{extra}V1 n 0 {spec}\nR1 n 0 1k"), "v", "v1")


@pytest.mark.parametrize("spec, expected", [
    ("1 DC 2", 1.0),  # a value right after the nodes wins over DC (below)
    ("6 DC 7", 6.0),
    ("DC=3", 3.0),
    ("DC 3", 3.0),
    ("5V", 5.0),
    ("5 AC 1", 5.0),
    ("DC 2 AC 1 0", 2.0),
    ("AC 1", 0.0),
    ("", 0.0),
    ("PULSE(1 5 1n 1n 1n 10n 20n)", 1.0),
    ("PULSE 1 5 1n 1n 1n 10n 20n", 1.0),
    ("PULSE(-1 5)", -1.0),
    ("SIN(0.5 2 1k 0 0 90)", 0.5 + 2 * math.sin(math.radians(90))),
    ("SIN(0.5 2 1k 1m 0 30)", 0.5 + 2 * math.sin(math.radians(30))),
    ("SIN(0.5 2 1k 0 0 0)", 0.5),
    ("SIN(0.5 2)", 0.5),
    ("EXP(1.5 3 1n 1n 2n 2n)", 1.5),
    ("EXP(1.5 3)", 1.5),
    ("PWL(0 1 1m 2)", 1.0),
    ("PWL(0,1,1m,2)", 1.0),
    ("PWL(1m 7 2m 8)", 7.0),  # first time > 0: the first value holds before it
    ("PWL(-1m 0 1m 2)", 1.0),  # a negative first time: interpolated at t = 0
    ("PWL(-3m 3 -1m 1 1m 5)", 3.0),
    ("SFFM(0.25 1 1k 0.5 1k)", 0.25),
    ("SFFM(0.25 1 1k 0.5 1k 90 90)", 0.25 + math.sin(math.radians(90) + 0.5 * math.sin(math.radians(90)))),
    ("AM(2 0.5 1k 10k 0)", 0.0),
    ("TRNOISE(20n 0.5n 0 0)", 0.0),
    ("TRRANDOM(2 10m 0 1 0.5)", 0.5),
    ("DC 4 SIN(0.5 2 1k)", 4.0),  # an explicit DC value wins over the waveform
    ("DC 9 PULSE(1 5)", 9.0),
    ("PWL(0 1 1m 2) DC 3", 3.0),
    ("dc 1 ac 1 0 sin(0 1 1k)", 1.0),
])
def test_source_dc_value(spec, expected):
    assert volts(spec) == pytest.approx(expected, rel=1e-12, abs=1e-15)


# A DC value given more than once, each read by ngspice 39 (`print v(n)` after `op`, V and I
# alike): a value right after the nodes wins over every DC keyword; among the DC keywords
# (`DC v`, `DC=v`, `DC(v)`) the last one wins, and a `DC` without a value sets 0.
REPEATED_DC = [
    ("dc 1.0 dc 0.0", 0.0),
    ("DC=1 DC=3", 3.0),
    ("DC 1 AC 1 DC 3", 3.0),
    ("dc=1 dc 3", 3.0),
    ("dc 1 dc=3", 3.0),
    ("DC 1 DC 0 AC 1", 0.0),
    ("dc 1 ac 1 0 dc 4 ac 2", 4.0),
    ("DC 1 DC {2+1}", 3.0),
    ("dc(5) dc 3", 3.0),
    ("dc 3 dc(5)", 5.0),
    ("dc 2 dc 3 pulse(5 6 1 1 1 1 1)", 3.0),
    ("dc 2 pulse(5 6 1 1 1 1 1) dc 3", 3.0),
    ("1 dc 2 dc 3", 1.0),
    ("3 dc=1", 3.0),
    ("2 dc", 2.0),
    ("dc 1 dc", 0.0),
    ("dc 1 dc ac 1", 0.0),
    ("dc pulse(5 6 1 1 1 1 1)", 0.0),
    ("pulse(5 6 1 1 1 1 1) dc", 0.0),
]


@pytest.mark.parametrize("spec, expected", REPEATED_DC)
def test_a_repeated_dc_value_is_read_as_ngspice_reads_it(spec, expected):
    assert volts(spec) == pytest.approx(expected, abs=0.0)
    circuit = load(f"I1 0 n {spec}\nR1 n 0 1k")
    assert value_of(circuit, "i", "i1") == pytest.approx(expected, abs=0.0)


@pytest.mark.parametrize("spec, used", [("dc 1.0 dc 0.0", "the last"), ("1 dc 2", "after the nodes"),
                                        ("dc 1 dc", "without a value")])
def test_a_repeated_dc_value_is_warned_about(spec, used):
    circuit = load(f"V1 n 0 {spec}\nR1 n 0 1k")
    assert warned(circuit, "v1", "dc", used), circuit.warnings
    assert circuit.warnings[0].startswith("<text>:2:"), circuit.warnings


def test_sffm_with_phases_matches_ngspice():
    assert volts("SFFM(0.25 1 1k 0.5 1k 90 90)") == pytest.approx(1.127583, rel=1e-6)


@pytest.mark.parametrize("spec, expected", [
    ("SIN({vo} {va} 1k 0 0 {ph})", 0.5 + 2 * math.sin(math.radians(30))),
    ("PULSE({va*2} 5 1n)", 4.0),
    ("PWL(0 {vo} 1m 2)", 0.5),
    ("PWL({-t1} 0 {t1} {va})", 1.0),
    ("EXP({vo+1} 3)", 1.5),
])
def test_waveform_parameters_as_expressions(spec, expected):
    assert volts(spec, ".param vo=0.5 va=2 ph=30 t1=1m\n") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("spec, expected", [
    ("PULSE(2m 5m 1n)", 2e-3),
    ("SIN(1m 1m 1k 0 0 90)", 2e-3),
    ("3m", 3e-3),
])
def test_current_source_dc_value(spec, expected):
    circuit = load(f"I1 0 n {spec}\nR1 n 0 1k")
    assert value_of(circuit, "i", "i1") == pytest.approx(expected, rel=1e-12)
    assert resim.solve(circuit).voltage("n") == pytest.approx(expected * 1000, rel=1e-9)


def test_unknown_waveform_is_refused_unless_a_dc_value_is_given():
    err = refused("V1 n 0 FOO(1 2)\nR1 n 0 1k")
    assert "foo" in err.message.lower()
    assert (err.location.line, err.location.column) == (2, len("V1 n 0 ") + 1)
    assert volts("DC 1 FOO(1 2)") == 1.0
    assert volts("FOO(1 2) DC 1") == 1.0


# ---- .options and .temp -------------------------------------------------------------------------


@pytest.mark.parametrize("lines", [
    ".temp 127\n.options temp=50",
    ".options temp=50\n.temp 127",
    ".option temp=127",
    ".opt temp=127",
])
def test_dot_temp_wins_over_options_temp(lines):
    circuit = load(f"{lines}\nV1 1 0 1\nR1 1 0 1k tc1=0.01")
    assert value_of(circuit, "r", "r1") == pytest.approx(2000.0, rel=1e-12)
    assert circuit.temperature == pytest.approx(400.15, rel=1e-12)


def test_options_gmin_is_across_each_junction():
    circuit = load(".options gmin=1e-3\nV1 a 0 0.6\nD1 a 0 DM\n.model DM D(IS=1e-14)")
    assert circuit.gmin == 1e-3
    i = resim.solve(circuit).current("D1")
    assert i == pytest.approx(junction(1e-14, 0.6, gmin=1e-3), rel=1e-9)
    assert i == pytest.approx(7.1872e-4, rel=1e-4)
    assert load("V1 a 0 1\nR1 a 0 1k").gmin == 1e-12


def test_unknown_option_warns_and_known_ones_are_silent():
    circuit = load(".options foo=3 reltol=1e-6 abstol=1e-15 vntol=1e-9 itl1=200 method=gear noacct klu\n"
                   "V1 1 0 1\nR1 1 0 1k")
    assert warned(circuit, "foo")
    assert [w for w in circuit.warnings if "option" in w.lower()] == [w for w in circuit.warnings if "foo" in w]
    assert not warned(load(".options reltol=1e-6 gminsteps=5 srcsteps=5 trtol=7 keepopinfo\nV1 1 0 1\nR1 1 0 1k"),
                      "option")


def test_rshunt_adds_a_resistor_from_every_node_to_ground():
    circuit = load(".options rshunt=1k\nV1 a 0 1\nR1 a b 1k\nR2 b 0 1k")
    result = resim.solve(circuit)
    # b sees R2 || rshunt = 500 ohm under R1: 1 * 500 / 1500
    assert result.voltage("b") == pytest.approx(1.0 / 3.0, rel=1e-10)
    shunts = {n for n in circuit["r"].names if n not in ("r1", "r2")}
    assert len(shunts) == 2 and shunts <= set(circuit.synthesized)


def test_rshunt_with_a_diode_matches_the_closed_form():
    circuit = load(".options rshunt=1e3\nI1 0 a 1m\nD1 a 0 DM\n.model DM D(IS=1e-14)")
    v = bisect(lambda x: junction(1e-14, x) + x / 1e3 - 1e-3, 0.0, 1.0)
    result = resim.solve(circuit)
    assert result.voltage("a") == pytest.approx(v, rel=1e-9)
    assert result.voltage("a") == pytest.approx(0.62944, rel=1e-5)  # ngspice 39


@pytest.mark.parametrize("option", ["gmin", "temp", "tnom", "rshunt"])
def test_option_that_needs_a_value_without_one_is_an_error(option):
    err = refused(f"V1 1 0 1\nR1 1 0 1k\n.option {option}")
    assert option in err.message and err.location.line == 4


# ---- continuation lines -------------------------------------------------------------------------


@pytest.mark.parametrize("between", ["", "   ", "* one\n* two\n*three", "\n* comment\n", "*"])
def test_continuation_after_blank_and_comment_lines(between):
    assert ohms(f"R1 1 0\n{between}\n+ 2k") == 2000.0


def test_continuation_of_an_element_with_several_pieces():
    assert ohms("R1 1 0\n\n+ 1k\n* c\n+ m=2") == 500.0


def test_error_on_a_continuation_after_a_blank_line_is_at_the_physical_line():
    err = refused("V1 1 0 1\nR1 1 0\n\n* note\n+ 1k bogus=3")
    assert "bogus" in err.message
    assert (err.location.line, err.location.column) == (6, len("+ 1k ") + 1)
    assert "bogus=3" in err.source_line


# ---- .lib ---------------------------------------------------------------------------------------


def test_lib_reads_only_its_section_even_when_called_on_a_continuation_line(tmp_path):
    """As ngspice 39 (measured): the lines outside the section (R4) and in other sections (R5)
    are not read; the section name may sit on a `+` line."""
    (tmp_path / "parts.lib").write_text("* parts\nR4 2 0 1\n.lib other\nR5 2 0 1\n.endl\n"
                                        ".lib res ; resistors\nR3 2 0 1k\n.endl res\n")
    net = tmp_path / "net.cir"
    net.write_text("lib\nV1 1 0 1\nR1 1 2 1k\n.lib parts.lib\n* the section:\n+ RES\nR2 2 0 1k\n.end\n")
    circuit = resim.load_netlist(net)
    assert sorted(circuit["r"].names) == ["r1", "r2", "r3"]
    assert resim.solve(circuit).voltage("2") == pytest.approx(1 / 3, rel=1e-12)  # 500 / (1000 + 500)


# ---- C and L in a DC operating point ------------------------------------------------------------


def test_capacitor_is_open_and_inductor_is_a_short():
    circuit = load("V1 a 0 2\nR1 a b 1k\nC1 b 0 1u\nR2 a c 1k\nL1 c d 1m\nR3 d 0 1k\nL2 a e 1m\nR4 e 0 1k")
    result = resim.solve(circuit)
    assert result.voltage("b") == pytest.approx(2.0, rel=1e-12)  # no current through R1
    assert result.voltage("c") == pytest.approx(1.0, rel=1e-12)  # R2 and R3 in series
    assert result.voltage("d") == pytest.approx(1.0, rel=1e-12)
    assert result.voltage("e") == pytest.approx(2.0, rel=1e-12)  # reached only through L2
    assert result.current("R4") == pytest.approx(2e-3, rel=1e-12)
    assert warned(circuit, "c1", "open")
    assert warned(circuit, "l1", "l2", "short")


def test_sidewall_with_breakdown_is_refused_at_the_diode():
    """ngspice computes the breakdown knee from the bottom IS alone but conducts IS + JSW*PJ:
    resim folds the sidewall into IS, so it refuses the pair rather than answer 0.1 V off."""
    text = "t\nV1 k 0 -10\nD1 0 k dz area=2 pj=1e-3\n.model dz D(IS=1e-14 JSW=1e-9 BV=5)\n"
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(text)
    assert str(info.value.location) == "<text>:3:1"
    assert "JSW with PJ" in info.value.message and "BV" in info.value.message
    resim.load_netlist(text.replace(" pj=1e-3", ""))  # no sidewall: read


def test_waveform_arguments_may_be_bare_parameter_names():
    """ngspice reads SIN(VO VA FREQ TD THETA PHASE) with bare .param names; at t = 0 the value
    is VO + VA sin(PHASE): VA counts when PHASE is 90 degrees."""
    c = resim.load_netlist("t\n.param a=2.5 f=60 ph=90\nV1 1 0 sin(1 a f 0 0 ph)\nR1 1 0 1k\n")
    assert c["v"].value[0] == pytest.approx(3.5, rel=1e-12)


def test_an_instance_sets_a_param_of_the_subcircuit_body():
    """As ngspice (its alterparam test): X ... rint=7 overrides the body's `.param rint = 5`."""
    text = ("t\n.subckt subr in out rint1=6\n.param rint = 5\nR0 in out {rint}\nR1 in out {rint1}\n.ends\n"
            "Xr 2 0 subr rint=7 rint1=9\nXs 3 0 subr\nV2 2 0 1\nV3 3 0 1\n")
    c = resim.load_netlist(text)
    values = dict(zip(c["r"].names, c["r"].value.tolist()))
    assert values == {"r.xr.r0": 7.0, "r.xr.r1": 9.0, "r.xs.r0": 5.0, "r.xs.r1": 6.0}
    assert not [w for w in c.warnings if "has no parameter" in w]


def test_conditional_netlists_are_refused_by_name():
    with pytest.raises(NetlistError) as info:
        resim.load_netlist("t\n.param a=1\n.if (a == 1)\nR1 1 0 1k\n.else\nR1 1 0 2k\n.endif\nV1 1 0 1\n")
    assert info.value.message.startswith("'.if': conditional netlists")
    assert str(info.value.location) == "<text>:3:1"


def test_a_stray_plus_inside_a_model_line_is_ignored_with_a_warning():
    """`IBV=1e-4+ CJO=2e-12` (a continuation '+' joined into the line): ngspice 39 warns and
    reads every value; so does resim."""
    c = resim.load_netlist("t\n.model dio D(IS=1.8e-10 BV=50 IBV=1e-4+ CJO=2e-12 N=2.06)\nV1 1 0 1\nD1 1 0 dio\n")
    assert (c.models[0].IS, c.models[0].IBV, c.models[0].N) == (1.8e-10, 1e-4, 2.06)
    assert any("stray '+'" in w for w in c.warnings)


def test_an_inductor_coupling_is_dropped_at_dc_with_a_warning():
    c = resim.load_netlist("t\nV1 1 0 1\nR1 1 2 1k\nL1 2 3 1m\nL2 4 0 1m\nR2 3 0 1k\nR3 4 0 1k\nK1 L1 L2 0.9\n")
    assert any("inductor coupling 'k1'" in w and "dropped" in w for w in c.warnings)
    assert resim.solve(c).voltage("3") == pytest.approx(0.5, rel=1e-12)


def test_bare_parameter_names_as_values():
    """ngspice reads `V1 1 0 A` and `R1 1 2 rv` with .params A and rv (a model of that name wins)."""
    c = resim.load_netlist("t\n.param a=3 rv=2k\nV1 1 0 a\nR1 1 2 rv\nR2 2 0 1k\n")
    assert c["v"].value.tolist() == [3.0]
    assert sorted(c["r"].value.tolist()) == [1000.0, 2000.0]
    assert resim.solve(c).voltage("2") == pytest.approx(1.0, rel=1e-12)
