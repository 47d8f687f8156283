"""Ideal and piecewise-linear diode circuits against brute-force enumeration of diode states.

For k diodes there are 2**k on/off states; each is a linear circuit solved with the
independent dense MNA of conftest.py. The state that satisfies the diode laws (KKT) is the
answer:

* ideal (``Ron = 0``) on:  ``u == Vfwd`` and excess current ``i - u/Roff >= 0``;
* ideal off:               ``u <= Vfwd``, ``i = u/Roff``;
* PWL (``Ron > 0``) on:    ``u >= Vfwd``, ``i = Vfwd/Roff + (u - Vfwd)/Ron``;
* PWL off:                 ``u <= Vfwd``, ``i = u/Roff``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st

import resim

# ---- strategies --------------------------------------------------------------------------

resistances = st.floats(1.0, 4.0).map(lambda e: float(10.0**e))  # 10 ohm .. 10 kohm


@st.composite
def diode_models(draw):
    """Ideal diodes (Ron = 0) and soft PWL diodes (Ron > 0), with or without a finite Roff.

    Roff > Ron always (a convex, monotone characteristic, as any physical diode), so the
    network stays reciprocal and monotone: its node voltages are unique, which is what
    makes "the" brute-force answer well defined.
    """
    vfwd = draw(st.sampled_from([0.0, 0.0, 0.3, 0.7]) | st.floats(0.0, 1.0))
    roff = draw(st.sampled_from([math.inf, math.inf]) | st.floats(4.0, 6.0).map(lambda e: float(10.0**e)))
    ron = draw(st.sampled_from([0.0, 0.0]) | st.floats(0.0, 2.0).map(lambda e: float(10.0**e)))
    return {"ron": ron, "roff": roff, "vfwd": vfwd}


@st.composite
def diode_networks(draw):
    """A few nodes, a spanning tree of resistors, sources, and 1..5 diodes.

    * The resistor tree connects every node to ground in every diode state, so each
      state's linear system is nonsingular.
    * V sources go from distinct nodes to ground: no loop of sources.
    * An ideal diode that is on is a voltage constraint. So that no state closes a loop of
      constraints (whose voltages would disagree, leaving no solution: that case is
      tested in test_topology_errors.py), ideal diodes are only placed between nodes that
      are not yet tied together by V sources, ground and earlier ideal diodes
      (union-find). Soft diodes go anywhere.
    * Diodes between two non-ground nodes (floating diodes) are drawn as often as those
      touching ground.
    """
    n = draw(st.integers(1, 5))
    resistors = [(k, draw(st.integers(0, k - 1)), draw(resistances)) for k in range(1, n + 1)]
    resistors += [
        (a, b, draw(resistances))
        for a, b in draw(st.lists(st.tuples(st.integers(0, n), st.integers(0, n)), max_size=2))
        if a != b
    ]
    v_nodes = draw(st.lists(st.integers(1, n), unique=True, max_size=min(n, 2)))
    vsources = [(k, 0, draw(st.floats(-5.0, 5.0))) for k in v_nodes]
    isources = [
        (a, b, draw(st.floats(-5e-3, 5e-3)))
        for a, b in draw(st.lists(st.tuples(st.integers(0, n), st.integers(0, n)), max_size=2))
        if a != b
    ]
    parent = list(range(n + 1))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for k in v_nodes:
        parent[find(k)] = find(0)
    diodes = []
    for _ in range(draw(st.integers(1, 5))):
        a, c = draw(st.tuples(st.integers(0, n), st.integers(0, n)))
        if a == c:
            continue
        model = draw(diode_models())
        if model["ron"] == 0.0:
            if find(a) == find(c):
                continue
            parent[find(a)] = find(c)
        diodes.append((a, c, model))
    return {"n": n, "r": resistors, "v": vsources, "i": isources, "d": diodes}


def node_name(k: int) -> str:
    return "0" if k == 0 else f"n{k}"


def to_netlist(net: dict) -> str:
    lines = ["random diode network"]
    lines += [f"R{j} {node_name(a)} {node_name(b)} {r!r}" for j, (a, b, r) in enumerate(net["r"])]
    lines += [f"V{j} {node_name(p)} {node_name(q)} {e!r}" for j, (p, q, e) in enumerate(net["v"])]
    lines += [f"I{j} {node_name(a)} {node_name(b)} {i!r}" for j, (a, b, i) in enumerate(net["i"])]
    for j, (a, c, m) in enumerate(net["d"]):
        lines.append(f"D{j} {node_name(a)} {node_name(c)} dm{j}")
        roff = "" if math.isinf(m["roff"]) else f" Roff={m['roff']!r}"
        lines.append(f".model dm{j} D(Ron={m['ron']!r}{roff} Vfwd={m['vfwd']!r})")
    return "\n".join(lines) + "\n.end\n"


# ---- brute force -------------------------------------------------------------------------


def enumerate_states(mna, net: dict):
    """Solve every diode state; return (voltages, diode currents, states, violation) of the
    state that best satisfies the diode laws (violation ~ 0 for the true solution)."""
    dense_mna, Net = mna
    best = None
    v_scale = max([1.0] + [abs(e) for *_, e in net["v"]])
    i_scale = max([1e-3] + [abs(i) for *_, i in net["i"]])
    for states in itertools.product((False, True), repeat=len(net["d"])):
        resistors, vsources, isources = list(net["r"]), list(net["v"]), list(net["i"])
        constraint_col = {}
        for j, ((a, c, m), on) in enumerate(zip(net["d"], states)):
            goff = 0.0 if math.isinf(m["roff"]) else 1.0 / m["roff"]
            if on and m["ron"] > 0.0:
                # i = Vfwd/Roff + (u - Vfwd)/Ron = u/Ron - Vfwd (1/Ron - 1/Roff): a resistor
                # Ron and a source pushing Vfwd (1/Ron - 1/Roff) from c through itself to a
                resistors.append((a, c, m["ron"]))
                isources.append((c, a, m["vfwd"] * (1.0 / m["ron"] - goff)))
                continue
            if goff:
                resistors.append((a, c, m["roff"]))  # off (and ideal on): u/Roff ...
            if on:  # ... and for an ideal diode on, the constraint u = Vfwd whose
                constraint_col[j] = len(vsources)  # current is the excess current
                vsources.append((a, c, m["vfwd"]))
        sol = dense_mna(Net(net["n"] + 1, resistors, vsources, isources))
        v = sol.v
        currents, viol = [], 0.0
        for j, ((a, c, m), on) in enumerate(zip(net["d"], states)):
            u = v[a] - v[c]
            goff = 0.0 if math.isinf(m["roff"]) else 1.0 / m["roff"]
            if m["ron"] == 0.0:
                excess = sol.i_v[constraint_col[j]] if on else 0.0
                viol = max(viol, -excess / i_scale if on else (u - m["vfwd"]) / v_scale)
            else:
                excess = (u - m["vfwd"]) * (1.0 / m["ron"] - goff) if on else 0.0
                viol = max(viol, (m["vfwd"] - u) / v_scale if on else (u - m["vfwd"]) / v_scale)
            currents.append(goff * u + excess)
        if best is None or viol < best[3]:
            best = (v, np.array(currents), states, viol)
    return best


# ---- tests -------------------------------------------------------------------------------


def check(mna, net: dict) -> None:
    text = to_netlist(net)
    note(text)
    v_ref, i_ref, states_ref, viol = enumerate_states(mna, net)
    assert viol <= 1e-10, "reference: no diode state satisfies the diode laws"
    result = resim.solve(resim.load_netlist(text))
    got_v = np.array([result.voltage(node_name(k)) for k in range(net["n"] + 1)])
    np.testing.assert_allclose(got_v, v_ref, rtol=0, atol=1e-9)
    got_i = result.currents["d"]
    i_scale = max([1e-3, float(np.max(np.abs(i_ref), initial=0.0))] + [abs(i) for *_, i in net["i"]])
    np.testing.assert_allclose(got_i, i_ref, rtol=0, atol=1e-9 * i_scale)

    # states: compare where the reference is clear of the kink (at it both are right)
    for j, (a, c, m) in enumerate(net["d"]):
        u = v_ref[a] - v_ref[c]
        base = 0.0 if math.isinf(m["roff"]) else u / m["roff"]  # excess current = i - base
        if abs(u - m["vfwd"]) > 1e-6 or abs(i_ref[j] - base) > 1e-6 * i_scale:
            assert result.diode_states[j] == ("on" if states_ref[j] else "off"), f"D{j}"

    cert = result.certificate
    assert cert.complementarity <= 1e-12 * max(1.0, i_scale)
    assert cert.dual <= 1e-12 * max(1.0, i_scale)
    assert cert.constraint <= 1e-12 * max(1.0, float(np.max(np.abs(v_ref))))


IDEAL = {"ron": 0.0, "roff": math.inf, "vfwd": 0.0}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=diode_networks())
# found by hypothesis: a diode forward-biased by 1e-15 V (the active set ignored violations
# below 1e-12 V while the certificate demanded 1e-20 V)
@example(net={"n": 2, "r": [(1, 0, 10.0), (2, 1, 10.0)], "v": [(1, 0, 1e-15)], "i": [], "d": [(2, 0, IDEAL)]})
# found by hypothesis: an off diode whose Vfwd (0.3 V) dwarfs the circuit's 10 uV, so the
# complementarity tolerance must scale with Vfwd too
@example(net={"n": 3, "r": [(1, 0, 1e3), (2, 1, 8659.643233600653), (3, 0, 10.0)], "v": [(1, 0, 1e-5)], "i": [],
              "d": [(0, 2, {"ron": 0.0, "roff": 1e4, "vfwd": 0.3})]})
def test_random_diode_networks_match_enumeration(mna, net):
    d = net["d"]
    event(f"floating diodes: {min(sum(a != 0 and c != 0 for a, c, _ in d), 2)}")
    event(f"ideal diodes: {min(sum(m['ron'] == 0 for *_, m in d), 2)}")
    check(mna, net)


def test_floating_ideal_diode_by_hand(mna):
    """An ideal diode between two driven non-ground nodes: 5 V -1k- a -|>|- b -1k- 1 V.
    On: one current (5 - 1)/2k = 2 mA, a = b = 3 V. Reversed it blocks."""
    r = resim.solve(resim.load_netlist(
        "floating\nV1 s 0 5\nV2 t 0 1\nR1 s a 1k\nD1 a b ideal\nR2 b t 1k\n.model ideal D(Ron=0 Vfwd=0)\n"))
    assert r.voltage("a") == pytest.approx(3.0, abs=1e-12)
    assert r.voltage("b") == pytest.approx(3.0, abs=1e-12)
    assert r.current("D1") == pytest.approx(2e-3, rel=1e-12)
    assert r.diode_states == ("on",)
    r = resim.solve(resim.load_netlist(
        "blocking\nV1 s 0 5\nV2 t 0 1\nR1 s a 1k\nD1 b a ideal\nR2 b t 1k\n.model ideal D(Ron=0 Vfwd=0)\n"))
    assert r.voltage("a") == pytest.approx(5.0, abs=1e-12)
    assert r.voltage("b") == pytest.approx(1.0, abs=1e-12)
    assert abs(r.current("D1")) <= 1e-15
    assert r.diode_states == ("off",)
    # the same by enumeration, as a check of the brute force itself
    net = {"n": 4, "r": [(1, 2, 1e3), (3, 4, 1e3)], "v": [(1, 0, 5.0), (4, 0, 1.0)], "i": [],
           "d": [(2, 3, {"ron": 0.0, "roff": math.inf, "vfwd": 0.0})]}
    v, i, states, viol = enumerate_states(mna, net)
    assert states == (True,) and viol <= 0 and v[2] == pytest.approx(3.0) and i[0] == pytest.approx(2e-3)


def test_ideal_rectifier_netlist(mna, netlists_dir):
    """netlists/ideal_rectifier.cir via enumeration (nodes: in a out neg b clamp)."""
    ideal = {"ron": 0.0, "roff": math.inf, "vfwd": 0.0}
    pwl = {"ron": 10.0, "roff": 1e6, "vfwd": 0.3}
    # 1 in, 2 a, 3 out, 4 neg, 5 b, 6 clamp
    net = {
        "n": 6,
        "r": [(1, 2, 1e3), (3, 0, 2e3), (4, 5, 1e3), (5, 0, 5e3)],
        "v": [(1, 0, 5.0), (4, 0, -3.0), (6, 0, 2.0)],
        "i": [],
        "d": [(2, 3, ideal), (5, 0, ideal), (3, 6, pwl)],
    }
    v_ref, i_ref, states, viol = enumerate_states(mna, net)
    assert viol <= 1e-12
    r = resim.solve(resim.load_netlist(netlists_dir / "ideal_rectifier.cir"))
    for k, name in enumerate(["in", "a", "out", "neg", "b", "clamp"], start=1):
        assert r.voltage(name) == pytest.approx(v_ref[k], abs=1e-9), name
    np.testing.assert_allclose(r.currents["d"], i_ref, rtol=0, atol=1e-12)
    assert r.diode_states == tuple("on" if s else "off" for s in states)
    assert r.certificate.complementarity <= 1e-15


def test_drn_tiny_netlist(mna, netlists_dir):
    """netlists/drn_tiny.cir: four ideal diodes clamping hidden nodes, by enumeration."""
    ideal = {"ron": 0.0, "roff": math.inf, "vfwd": 0.0}
    names = ["i1p", "i1n", "i2p", "i2n", "h1", "h2", "h3", "h4", "o1", "o2"]
    k = {name: j + 1 for j, name in enumerate(names)}
    k["0"] = 0
    rs = [("i1p", "h1", 2), ("i1n", "h1", 5), ("i2p", "h1", 4), ("i1p", "h2", 3), ("i2n", "h2", 2),
          ("i1n", "h3", 2), ("i2p", "h3", 3), ("i1p", "h4", 6), ("i2n", "h4", 2), ("i1n", "h4", 4),
          ("h1", "o1", 2), ("h2", "o1", 3), ("h3", "o1", 4), ("h1", "o2", 5), ("h3", "o2", 2), ("h4", "o2", 3)]
    net = {
        "n": len(names),
        "r": [(k[a], k[b], float(r)) for a, b, r in rs],
        "v": [(k["i1p"], 0, 1.6), (k["i1n"], 0, -1.6), (k["i2p"], 0, 0.6), (k["i2n"], 0, -0.6)],
        "i": [(0, k["o1"], 10e-3), (k["o2"], 0, 5e-3)],
        "d": [(0, k["h1"], ideal), (0, k["h2"], ideal), (k["h3"], 0, ideal), (k["h4"], 0, ideal)],
    }
    v_ref, i_ref, states, viol = enumerate_states(mna, net)
    assert viol <= 1e-12
    r = resim.solve(resim.load_netlist(netlists_dir / "drn_tiny.cir"))
    for name in names:
        assert r.voltage(name) == pytest.approx(v_ref[k[name]], abs=1e-9), name
    np.testing.assert_allclose(r.currents["d"], i_ref, rtol=0, atol=1e-12)
    assert r.certificate.complementarity <= 1e-12


def test_a_current_source_circulating_through_a_conducting_ideal_diode_settles():
    """Found by hypothesis (test_random_diode_networks_match_enumeration): at the solution
    every voltage is 0 up to rounding (I0 drives its current round through the conducting
    ideal D0), so a tolerance relative to that state's voltages alone (~1e-30) let rounding
    noise (~1e-19 V) turn D1 on and off forever: "the diode active set did not settle"."""
    import resim

    text = """random diode network
R0 n1 0 10.0
R1 n2 n1 10.0
R2 0 n2 42.169650342858226
I0 n1 n2 -0.003176446710095617
D0 n1 n2 dm0
D1 0 n1 dm1
.model dm0 D(Ron=0 Vfwd=0)
.model dm1 D(Ron=1 Vfwd=0)
.end
"""
    result = resim.solve(resim.load_netlist(text), method="exact")
    assert abs(result.voltage("n1")) < 1e-15 and abs(result.voltage("n2")) < 1e-15
    assert result.current("d0") == pytest.approx(0.003176446710095617, rel=1e-12)
    assert abs(result.current("d1")) < 1e-15
