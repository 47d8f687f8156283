"""Small circuits whose operating point is known in closed form.

Every expected value below is worked out by hand (or by bisection on the diode equation),
never taken from resim.
"""

from __future__ import annotations

import math

import pytest

import resim
from resim.circuit import THERMAL_VOLTAGE

GMIN = 1e-12  # ngspice's junction shunt, part of the Shockley model resim implements


def par(*rs: float) -> float:
    return 1.0 / sum(1.0 / r for r in rs)


def solve(text: str, **overrides):
    return resim.solve(resim.load_netlist(text, overrides=overrides or None))


# ---- dividers, Thevenin/Norton, bridges ----------------------------------------------------


def test_divider_netlist_file(netlists_dir):
    r = resim.solve(resim.load_netlist(netlists_dir / "divider.cir"))
    rl = par(1e3, 4e3)
    vout = 10 * rl / (1e3 + rl)
    assert r.voltage("out") == pytest.approx(vout, rel=1e-12)
    assert r.voltage("in") == pytest.approx(10.0, rel=1e-14)
    assert r.current("R1") == pytest.approx((10 - vout) / 1e3, rel=1e-12)
    assert r.current("R2") == pytest.approx(vout / 1e3, rel=1e-12)
    assert r.current("Rload") == pytest.approx(vout / 4e3, rel=1e-12)
    # the source delivers power, so its SPICE current (into +, through the source) is negative
    assert r.current("V1") == pytest.approx(-(10 - vout) / 1e3, rel=1e-12)
    assert r.voltage("gnd") == 0.0 and r.voltage("0") == 0.0


@pytest.mark.parametrize("r1,r2,v", [(1.0, 1.0, 1.0), (1e3, 3e3, 12.0), (47.0, 1e6, -5.0), (1e-3, 1e3, 1e-3)])
def test_divider_values(r1, r2, v):
    r = solve(f"div\nV1 in 0 {v!r}\nR1 in out {r1!r}\nR2 out 0 {r2!r}\n")
    assert r.voltage("out") == pytest.approx(v * r2 / (r1 + r2), rel=1e-12)
    assert r.current("V1") == pytest.approx(-v / (r1 + r2), rel=1e-12)


THEVENIN = """thevenin source network
V1 a 0 12
R1 a x 2k
R2 x 0 3k
R3 x out 800
RL out 0 1k
"""


@pytest.mark.parametrize("rl", [1.0, 470.0, 1e3, 2.2e3, 1e6])
def test_thevenin_and_norton_equivalents(rl):
    """The load sees Vth = 12*3/5 = 7.2 V behind Rth = 2k||3k + 800 = 2k; the Norton form
    (I = Vth/Rth into Rth) must give the load the same voltage."""
    vth, rth = 12 * 3e3 / 5e3, par(2e3, 3e3) + 800
    expected = vth * rl / (rth + rl)
    r = solve(THEVENIN, RL=rl)  # element override
    assert r.voltage("out") == pytest.approx(expected, rel=1e-12)
    assert r.current("RL") == pytest.approx(expected / rl, rel=1e-12)
    norton = solve(f"norton\nI1 0 out {vth / rth!r}\nRn out 0 {rth!r}\nRL out 0 {rl!r}\n")
    assert norton.voltage("out") == pytest.approx(expected, rel=1e-12)
    thev = solve(f"thevenin\nV1 t 0 {vth!r}\nRt t out {rth!r}\nRL out 0 {rl!r}\n")
    assert thev.voltage("out") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "r1,r2,r3,r4,rg",
    [(1e3, 2e3, 5e2, 1e3, 100.0), (1e3, 1e3, 1e3, 1.1e3, 50.0), (10.0, 20.0, 30.0, 40.0, 1e4), (1e3, 2e3, 3e3, 1e3, 1e-2)],
)
def test_wheatstone_bridge(r1, r2, r3, r4, rg):
    """The galvanometer Rg between the two divider midpoints sees
    Vth = V (R2/(R1+R2) - R4/(R3+R4)) behind Rth = R1||R2 + R3||R4."""
    v = 10.0
    text = f"bridge\nV1 top 0 {v}\nR1 top a {r1!r}\nR2 a 0 {r2!r}\nR3 top b {r3!r}\nR4 b 0 {r4!r}\nRg a b {rg!r}\n"
    r = solve(text)
    vth = v * (r2 / (r1 + r2) - r4 / (r3 + r4))
    ig = vth / (par(r1, r2) + par(r3, r4) + rg)
    assert r.current("Rg") == pytest.approx(ig, rel=1e-10, abs=1e-15)
    # with ig known, each side is a divider fed by an extra current
    va = (v / r1 - ig) * par(r1, r2)
    # a 10 mohm galvanometer against kohm arms: a condition number ~1e5, so 1e-10 relative
    assert r.voltage("a") == pytest.approx(va, rel=1e-10)
    assert r.voltage("b") == pytest.approx(va - ig * rg, rel=1e-10)


def test_balanced_bridge_carries_no_current():
    r = solve("balanced\nV1 top 0 9\nR1 top a 1k\nR2 a 0 2k\nR3 top b 5k\nR4 b 0 10k\nRg a b 123\n")
    assert abs(r.current("Rg")) < 1e-15
    assert r.voltage("a") == pytest.approx(6.0, rel=1e-14)
    assert r.voltage("b") == pytest.approx(6.0, rel=1e-14)


# ---- sources and sign conventions --------------------------------------------------------


def test_current_source_direction():
    """``I1 a b val`` pushes ``val`` from a through the source to b."""
    r = solve("isrc\nI1 0 a 1m\nR1 a 0 2k\nI2 b 0 3m\nR2 b 0 1k\n")
    assert r.voltage("a") == pytest.approx(2.0, rel=1e-14)
    assert r.voltage("b") == pytest.approx(-3.0, rel=1e-14)
    assert r.current("I1") == pytest.approx(1e-3, rel=1e-15)


def test_current_sources_superpose():
    """Two current sources into a resistor pair; superposition gives the node voltages."""
    r = solve("two I\nI1 0 a 2m\nI2 b 0 1m\nR1 a 0 1k\nR2 a b 1k\nR3 b 0 1k\n")
    # nodal: (2/k) va - vb/k = 2m ; -va/k + (2/k) vb = -1m  (k = 1k)
    va = (2 * 2e-3 - 1e-3) * 1e3 / 3
    vb = (2e-3 - 2 * 1e-3) * 1e3 / 3
    assert r.voltage("a") == pytest.approx(va, rel=1e-12)
    assert r.voltage("b") == pytest.approx(vb, abs=1e-15)
    assert r.power_delivered == pytest.approx(-2e-3 * (0 - va) - 1e-3 * (vb - 0), rel=1e-12)


def test_voltage_source_current_sign():
    """A source delivering power has a negative current; one absorbing power, positive."""
    r = solve("signs\nV1 a 0 10\nR1 a b 1k\nV2 b 0 4\n")
    i = (10 - 4) / 1e3
    assert r.current("V1") == pytest.approx(-i, rel=1e-12)
    assert r.current("V2") == pytest.approx(+i, rel=1e-12)
    assert r.power_delivered == pytest.approx(10 * i - 4 * i, rel=1e-12)
    assert r.power_dissipated == pytest.approx(i * i * 1e3, rel=1e-12)
    # flipping the source's terminals flips the voltage but keeps the power flow
    r = solve("flipped\nV1 0 a 10\nR1 a 0 1k\n")
    assert r.voltage("a") == pytest.approx(-10.0, rel=1e-14)
    assert r.current("V1") == pytest.approx(-10e-3, rel=1e-12)


def test_dc_keyword_and_suffixes():
    r = solve("spice numbers\nV1 in 0 DC 1.5\nR1 in out 2.2k\nR2 out 0 1meg\nR3 out 0 4.7kOhm\n")
    rl = par(1e6, 4.7e3)
    assert r.voltage("out") == pytest.approx(1.5 * rl / (2.2e3 + rl), rel=1e-12)


# ---- controlled sources ---------------------------------------------------------------------


@pytest.mark.parametrize("gain", [1.0, 10.0, 1e3, 1e6])
def test_vcvs_noninverting_amplifier(gain):
    """E as a finite-gain op amp: vout = A vin / (1 + A beta), beta = R2 / (R1 + R2)."""
    r1, r2, vin = 9e3, 1e3, 0.25
    r = solve(f"amp\nV1 in 0 {vin}\nE1 out 0 in fb {gain!r}\nR1 out fb {r1}\nR2 fb 0 {r2}\nRL out 0 2k\n")
    beta = r2 / (r1 + r2)
    vout = gain * vin / (1 + gain * beta)
    assert r.voltage("out") == pytest.approx(vout, rel=1e-12)
    assert r.voltage("fb") == pytest.approx(vout * beta, rel=1e-12)
    # E's current follows the V-source convention: it delivers, so it is negative
    assert r.current("E1") == pytest.approx(-(vout / 2e3 + vout / (r1 + r2)), rel=1e-12)


def test_vcvs_inverting_gain():
    r = solve("inv\nV1 in 0 2\nR0 in 0 1k\nE1 out 0 0 in 3\nRL out 0 1k\n")
    assert r.voltage("out") == pytest.approx(-6.0, rel=1e-14)


@pytest.mark.parametrize("gm,rl", [(1e-3, 1e3), (2e-2, 50.0), (-5e-4, 1e4)])
def test_vccs_gain(gm, rl):
    """``G p n cp cn gm`` drives ``gm (v_cp - v_cn)`` from p through itself to n, so
    ``G1 0 out`` pushes it into ``out`` and ``G2 out2 0`` pulls it out of ``out2``."""
    vin = 1.5
    r = solve(f"gm\nV1 in 0 {vin}\nRin in 0 1k\nG1 0 out in 0 {gm!r}\nRL out 0 {rl!r}\n"
              f"G2 out2 0 in 0 {gm!r}\nRL2 out2 0 {rl!r}\n")
    assert r.voltage("out") == pytest.approx(gm * vin * rl, rel=1e-12)
    assert r.voltage("out2") == pytest.approx(-gm * vin * rl, rel=1e-12)
    assert r.current("G1") == pytest.approx(gm * vin, rel=1e-12)


# ---- subcircuits with parameters -----------------------------------------------------------


def _ladder(rs: float, gain: float) -> dict[str, float]:
    """netlists/subcircuits.cir by hand. Stage(r): a -r- m -r/2- b, b -r- 0.
    X1 = stage(rs) from in to mid, X2 = stage(2 rs) from mid to out: everything scales
    with rs, so the voltages do not depend on it."""
    load2 = 2 * rs + rs + 2 * rs  # X2: mid -2rs- x2.m -rs- out -2rs- 0, a 5 rs chain
    mid_load = par(rs, load2)  # X1's shunt rs at mid in parallel with X2
    vmid = 1.0 * mid_load / (rs + rs / 2 + mid_load)
    vout = vmid * 2 * rs / load2
    return {
        "in": 1.0,
        "x1.m": 1.0 - (1.0 - vmid) / (1.5 * rs) * rs,
        "mid": vmid,
        "x2.m": vmid - vmid / load2 * 2 * rs,
        "out": vout,
        "amp": gain * vout,
        "sense": -1e-3 * vmid * 1e3,
        "i_v1": -(1.0 - vmid) / (1.5 * rs),
    }


@pytest.mark.parametrize("overrides", [{}, {"rs": 2.5e3}, {"gain": 5.0}, {"rs": 10.0, "gain": -1.0}])
def test_subcircuit_ladder_with_params(netlists_dir, overrides):
    expect = _ladder(overrides.get("rs", 1e3), overrides.get("gain", 2.0))
    r = resim.solve(resim.load_netlist(netlists_dir / "subcircuits.cir", overrides=overrides))
    assert expect["mid"] == pytest.approx(5 / 14, rel=1e-14)  # the hand formula itself
    for node in ("in", "x1.m", "mid", "x2.m", "out", "amp", "sense"):
        assert r.voltage(node) == pytest.approx(expect[node], rel=1e-12), node
    assert r.current("V1") == pytest.approx(expect["i_v1"], rel=1e-12)
    rs = overrides.get("rs", 1e3)
    # hierarchical element names as ngspice prints them
    assert r.current("r.x1.x1.r2") == pytest.approx(expect["mid"] / rs, rel=1e-12)
    assert r.current("r.x2.x1.r2") == pytest.approx(expect["out"] / (2 * rs), rel=1e-12)


def test_subcircuit_default_and_expression_params():
    text = """params
.param vdd=6 rbase=500 rtop={2*rbase}
V1 top 0 {vdd}
X1 top mid half
X2 mid 0 half r={rtop}
.subckt half a b params: r=1k
R1 a b {r}
.ends
"""
    r = solve(text)
    # X1 uses the default r=1k, X2 r = 2*500 = 1k: an even split
    assert r.voltage("mid") == pytest.approx(3.0, rel=1e-14)
    r = solve(text, rbase=250.0, vdd=9.0)  # X2 becomes 500 ohm
    assert r.voltage("mid") == pytest.approx(9.0 * 500 / 1500, rel=1e-14)


# ---- shorts: zero-ohm resistors and zero-volt sources ---------------------------------------


def test_zero_volt_source_as_ammeter_and_zero_ohm_resistor():
    """A resistor set to 0 ohm (--set: a netlist's `0` is ngspice's 1 milliohm) is an ideal short."""
    r = solve("ammeter\nV1 in 0 10\nVsense in a 0\nR1 a b 1k\nR0 b c 1\nR2 c 0 1k\n", r0=0)
    assert r.voltage("a") == pytest.approx(10.0, rel=1e-14)
    assert r.voltage("b") == pytest.approx(5.0, rel=1e-14)
    assert r.voltage("c") == pytest.approx(5.0, rel=1e-14)
    assert r.current("Vsense") == pytest.approx(5e-3, rel=1e-12)  # into + (in), out of - (a)
    assert r.current("R0") == pytest.approx(5e-3, rel=1e-12)
    assert r.current("V1") == pytest.approx(-5e-3, rel=1e-12)


def test_short_tree_splits_current():
    """A tree of shorts joining x, y, z: each short's current is what KCL leaves for it."""
    text = """short tree
V1 in 0 6
R1 in x 1k
R0a x y 1
V0 z x 0
R2 y 0 2k
R3 x 0 2k
R4 z 0 4k
Rg w 0 1
I1 w 0 1m
"""
    r = solve(text, r0a=0, rg=0)  # shorts: set to 0 ohm (a netlist's 0 is 1 milliohm, as ngspice)
    load = par(2e3, 2e3, 4e3)
    vx = 6 * load / (1e3 + load)
    for node in "xyz":
        assert r.voltage(node) == pytest.approx(vx, rel=1e-12)
    assert r.current("R0a") == pytest.approx(vx / 2e3, rel=1e-12)  # x -> y feeds R2
    assert r.current("V0") == pytest.approx(-vx / 4e3, rel=1e-12)  # z is +: R4's current leaves z into R4
    assert r.voltage("w") == 0.0
    assert r.current("Rg") == pytest.approx(-1e-3, rel=1e-12)  # I1 pushes w -> 0, so Rg carries 0 -> w
    assert r.current("R1") == pytest.approx((6 - vx) / 1e3, rel=1e-12)


def test_power_balance():
    text = """power
V1 a 0 5
R1 a b 100
R2 b 0 300
I1 0 b 10m
R3 b c 50
V2 c 0 1
"""
    r = solve(text)
    # nodal at b: (vb-5)/100 + vb/300 + (vb-1)/50 = 10m
    vb = (10e-3 + 5 / 100 + 1 / 50) / (1 / 100 + 1 / 300 + 1 / 50)
    assert r.voltage("b") == pytest.approx(vb, rel=1e-12)
    dissipated = (5 - vb) ** 2 / 100 + vb**2 / 300 + (vb - 1) ** 2 / 50
    assert r.power_dissipated == pytest.approx(dissipated, rel=1e-12)
    assert r.power_delivered == pytest.approx(dissipated, rel=1e-12)


# ---- a Shockley diode driven by a current source --------------------------------------------


def shockley_voltage(i: float, IS: float, n: float, gmin: float = GMIN) -> float:
    """The junction voltage solving ``j(v) + gmin v = i`` by bisection, with ngspice 39's
    junction law (dioload.c): ``j = IS (exp(v / n Vt) - 1)`` for ``v >= -3 n Vt`` and
    ``j = -IS (1 + (3 n Vt / (e v))^3)`` below.

    The left side is strictly increasing in v, so bisection on a bracket that straddles the
    root converges to adjacent floats. (Lambert W would lose ~9 digits here: with gmin
    shunting the junction its closed form is a difference of two numbers near i/gmin.)
    """
    nvt = n * THERMAL_VOLTAGE

    def f(v: float) -> float:
        if v >= -3 * nvt:
            return IS * math.expm1(v / nvt) + gmin * v - i
        return -IS * (1 + (3 * nvt / (math.e * v)) ** 3) + gmin * v - i

    lo, hi = -1.0, 1.0
    while f(lo) > 0:
        lo *= 2
    while f(hi) < 0:
        hi *= 2
    for _ in range(2000):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def test_shockley_bisection_matches_ngspice_reference_value():
    """ngspice 39 reports v = 0.6551178956376125 V for 1 mA into D(IS=1e-14 N=1) (see
    resim/ngspice.py): the reference formula above reproduces it, so it is the right model."""
    assert shockley_voltage(1e-3, 1e-14, 1.0) == pytest.approx(0.6551178956376125, abs=1e-12)
    # at 1 fA the gmin shunt dominates (also an ngspice value)
    assert shockley_voltage(1e-15, 1e-14, 1.0) == pytest.approx(7.1836852876e-04, rel=1e-9)


@pytest.mark.parametrize(
    "i,IS,n,rs,tol",
    [
        (1e-3, 1e-14, 1.0, 0.0, 1e-12),
        (1e-3, 1e-14, 1.0, 10.0, 1e-12),
        (0.1, 2.52e-9, 1.752, 0.568, 1e-12),  # 1N4148-like
        (2.0, 1e-14, 1.0, 0.05, 1e-12),
        (1e-15, 1e-14, 1.0, 0.0, 1e-12),  # the gmin shunt carries a third of it
        (-1e-9, 1e-14, 1.0, 0.0, 1e-9),  # reverse: IS and the gmin shunt, v = -999.99 V
        (-1e-12, 1e-14, 1.0, 0.0, 1e-12),
        # 1 nA behind RS = 1 ohm: the solver computes v_a - v_int (1 nV) from two potentials
        # near 0.36 V, so the diode current is only known to eps 0.36 V / 1 ohm ~ 4e-17 A,
        # i.e. 4e-8 relative, and the junction voltage to N Vt 4e-8 ~ 2e-9 V.
        (1e-9, 1e-12, 2.0, 1.0, 1e-8),
    ],
)
def test_shockley_diode_current_source(i, IS, n, rs, tol):
    text = f"diode\nI1 0 a {i!r}\nD1 a 0 dm\n.model dm D(IS={IS!r} N={n!r} RS={rs!r})\n"
    r = solve(text)
    vj = shockley_voltage(i, IS, n)
    assert r.voltage("a") == pytest.approx(vj + i * rs, abs=tol)
    # the current reported is the junction law at the computed voltage: its relative error
    # is the voltage error over N Vt
    assert r.current("D1") == pytest.approx(i, rel=max(1e-9, 2 * tol / (n * THERMAL_VOLTAGE)), abs=1e-20)
    assert r.diode_states == ("on" if i > 0 else "off",)
    # area factor 4 scales IS up and RS down
    r4 = solve(text.replace("D1 a 0 dm", "D1 a 0 dm 4"))
    assert r4.voltage("a") == pytest.approx(shockley_voltage(i, 4 * IS, n) + i * rs / 4, abs=tol)


def test_shockley_reverse_bias_behind_rs_is_answered():
    """1 pA reverse through RS = 1 ohm into a junction held by its 1e-12 S gmin shunt: the
    node sits near -1 V, and the RS current (1 pA out of terms ~1 A) is only known to
    ~eps 1 V / 1 ohm ~ 2e-16 A, which the shunt turns into ~2e-4 V. resim must answer to
    that precision rather than refuse (it used to raise ConvergenceError here)."""
    i, IS, rs = -1e-12, 1e-14, 1.0
    r = solve(f"reverse\nI1 0 a {i!r}\nD1 a 0 dm\n.model dm D(IS={IS!r} N=1 RS={rs!r})\n")
    assert r.voltage("a") == pytest.approx(shockley_voltage(i, IS, 1.0) + i * rs, abs=1e-3)
    assert r.diode_states == ("off",)


def test_shockley_diode_with_resistor_and_source():
    """V - R - D: the diode current i solves V = i R + vj(i); check by substituting back."""
    r = solve("vrd\nV1 in 0 5\nR1 in a 1k\nD1 a 0 dm\n.model dm D(IS=1e-14 N=1.2)\n")
    i = r.current("D1")
    assert r.current("R1") == pytest.approx(i, rel=1e-12)
    assert r.voltage("a") == pytest.approx(shockley_voltage(i, 1e-14, 1.2), abs=1e-12)
    assert 5.0 - i * 1e3 == pytest.approx(r.voltage("a"), abs=1e-9)
    assert r.diode_states == ("on",)
    assert r.power_dissipated == pytest.approx(r.power_delivered, rel=1e-10)
