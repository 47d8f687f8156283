"""Random connected linear networks against a dense nodal solve written from scratch.

The reference is ``dense_mna`` in conftest.py: plain loops over the elements, a dense
``numpy.linalg.solve``, nothing shared with resim.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import resim

# ---- strategies --------------------------------------------------------------------------

# Resistances log-uniform over 1 ohm .. 100 kohm: five decades is realistic and keeps the
# nodal matrix's condition number (~ ratio of conductances times size) near 1e6, where
# double precision still leaves ~1e-10 relative accuracy in any correct solver.
resistances = st.floats(0.0, 5.0).map(lambda e: float(10.0**e))



def signed(low: float, high: float):
    """Exact zero sometimes (a zero-volt source is a short that resim merges), otherwise a
    magnitude log-uniform in [low, high] with either sign: bounded away from zero so that
    "relative" error means something, and drawn without filters."""
    magnitude = st.floats(np.log10(low), np.log10(high)).map(lambda e: float(10.0**e))
    nonzero = st.tuples(st.sampled_from([-1.0, 1.0]), magnitude).map(lambda sm: sm[0] * sm[1])
    return st.one_of(st.just(0.0), nonzero)


volts = signed(1e-3, 10.0)
amps = signed(1e-6, 1e-2)


def distinct_pair(n: int):
    """Two different nodes of 0..n, drawn directly (no filter): b skips over a."""
    return st.tuples(st.integers(0, n), st.integers(0, n - 1)).map(lambda ab: (ab[0], ab[1] + (ab[1] >= ab[0])))


@st.composite
def linear_networks(draw, controlled: bool = True):
    """A connected network of R, V-to-ground, I, and (optionally) E and G elements.

    * A random spanning tree of resistors (node k hangs off a random earlier node, ground
      is node 0) makes every node reach ground through resistors, so the network is never
      floating whatever else is drawn; extra resistors add meshes.
    * V sources go from distinct nodes to ground (either orientation): distinct nodes can
      never close a loop of voltage sources.
    * E outputs go from a node that carries no V source and no other E output to ground,
      for the same reason; G sources may sit anywhere.
    * Controlled sources can still make the equations singular (e.g. E p 0 p 0 1): such
      draws are rejected with ``assume`` on the reference matrix's condition number.
    """
    n = draw(st.integers(1, 8))  # non-ground nodes 1..n
    pair = distinct_pair(n)
    resistors = [(k, draw(st.integers(0, k - 1)), draw(resistances)) for k in range(1, n + 1)]
    resistors += [(a, b, draw(resistances)) for a, b in draw(st.lists(pair, max_size=n))]
    v_nodes = draw(st.lists(st.integers(1, n), unique=True, max_size=min(n, 3)))
    vsources = []
    for k in v_nodes:
        value = draw(volts)
        vsources.append((k, 0, value) if draw(st.booleans()) else (0, k, value))
    isources = [(a, b, draw(amps)) for a, b in draw(st.lists(pair, max_size=3))]
    vcvs, vccs = [], []
    if controlled:
        free = [k for k in range(1, n + 1) if k not in v_nodes]
        outs = draw(st.lists(st.sampled_from(free), unique=True, max_size=2)) if free else []
        for p in outs:
            cp, cn = draw(pair)
            vcvs.append((p, 0, cp, cn, draw(st.floats(-3.0, 3.0))))
        for _ in range(draw(st.integers(0, 2))):
            (p, q), (cp, cn) = draw(pair), draw(pair)
            vccs.append((p, q, cp, cn, draw(signed(1e-6, 1e-3))))
    return {"n": n, "r": resistors, "v": vsources, "i": isources, "e": vcvs, "g": vccs}


def node_name(k: int) -> str:
    return "0" if k == 0 else f"n{k}"


def to_netlist(net: dict) -> str:
    """SPICE text; every value written with repr() so it reads back bit for bit."""
    lines = ["random linear network"]
    lines += [f"R{j} {node_name(a)} {node_name(b)} {r!r}" for j, (a, b, r) in enumerate(net["r"])]
    lines += [f"V{j} {node_name(p)} {node_name(q)} {e!r}" for j, (p, q, e) in enumerate(net["v"])]
    lines += [f"I{j} {node_name(a)} {node_name(b)} {i!r}" for j, (a, b, i) in enumerate(net["i"])]
    lines += [f"E{j} {' '.join(map(node_name, nodes))} {g!r}" for j, (*nodes, g) in enumerate(net["e"])]
    lines += [f"G{j} {' '.join(map(node_name, nodes))} {g!r}" for j, (*nodes, g) in enumerate(net["g"])]
    return "\n".join(lines) + "\n.end\n"


def reference(mna, net: dict):
    dense_mna, Net = mna
    return dense_mna(Net(net["n"] + 1, net["r"], net["v"], net["i"], net["e"], net["g"]))


def check_against_reference(mna, net: dict, rtol: float = 1e-9) -> None:
    """resim agrees with the reference to ``rtol`` of the circuit's own voltage and
    current scales (taken from the sources, so an all-zero answer is judged fairly)."""
    ref = reference(mna, net)
    text = to_netlist(net)
    result = resim.solve(resim.load_netlist(text))

    r_max = max(r for *_, r in net["r"])
    v_scale = max([1e-12, float(np.max(np.abs(ref.v)))] + [abs(e) for *_, e in net["v"]]
                  + [abs(i) * r_max for *_, i in net["i"]])
    got_v = np.array([result.voltage(node_name(k)) for k in range(net["n"] + 1)])
    np.testing.assert_allclose(got_v, ref.v, rtol=0, atol=rtol * v_scale)

    ref_i = np.concatenate([ref.i_r, ref.i_v, ref.i_e, ref.i_g, [i for *_, i in net["i"]]])
    got_i = np.concatenate([result.currents[k] for k in "rvegi"])
    r_min = min(r for *_, r in net["r"])
    i_scale = max(float(np.max(np.abs(ref_i))), v_scale / r_max, 1e-15)
    np.testing.assert_allclose(got_i, ref_i, rtol=0, atol=rtol * max(i_scale, v_scale / r_min))

    # Tellegen: what the sources deliver, the resistors dissipate (no diodes here)
    p_ref = float(np.sum(ref.i_r**2 * np.array([r for *_, r in net["r"]])))
    p_tol = rtol * v_scale * v_scale / r_min
    assert result.power_dissipated == pytest.approx(p_ref, rel=rtol, abs=p_tol)
    assert result.power_delivered == pytest.approx(p_ref, rel=rtol, abs=p_tol)
    assert result.certificate.kcl <= 1e-9 * i_scale + 1e-13 * v_scale / r_min


def check_drawn(mna, net: dict) -> None:
    ref = reference(mna, net)
    assume(ref.cond < 1e8)  # controlled sources can make a (nearly) singular network
    note(to_netlist(net))
    check_against_reference(mna, net)


# ---- tests -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=linear_networks(controlled=False))
def test_random_reciprocal_networks(mna, net):
    """R, V, I only: the nodal matrix is symmetric positive definite after grounding."""
    check_drawn(mna, net)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=linear_networks(controlled=True))
def test_random_networks_with_controlled_sources(mna, net):
    check_drawn(mna, net)


def test_reference_solver_on_a_divider(mna):
    """The reference itself, on something checkable by hand."""
    dense_mna, Net = mna
    sol = dense_mna(Net(3, [(1, 2, 1e3), (2, 0, 3e3)], [(1, 0, 8.0)], [(0, 2, 1e-3)]))
    # v2: (v2 - 8)/1k + v2/3k = 1m  ->  v2 = (8/1k + 1m) / (1/1k + 1/3k) = 6.75
    assert sol.v[2] == pytest.approx(6.75, rel=1e-14)
    assert sol.i_v[0] == pytest.approx(-(8 - 6.75) / 1e3, rel=1e-12)  # delivering: negative


def test_large_random_grid(mna):
    """A 12 x 12 resistor mesh with sources at the corners, seeded: the sparse path at a
    size where fill-in and pivoting matter more than in the small hypothesis draws."""
    rng = np.random.default_rng(20240611)
    side = 12

    def idx(x, y):
        return 1 + x * side + y

    resistors = []
    for x in range(side):
        for y in range(side):
            if x + 1 < side:
                resistors.append((idx(x, y), idx(x + 1, y), float(10 ** rng.uniform(-1, 2))))
            if y + 1 < side:
                resistors.append((idx(x, y), idx(x, y + 1), float(10 ** rng.uniform(-1, 2))))
    resistors += [(idx(x, y), 0, 1e4) for x, y in rng.integers(0, side, size=(10, 2))]
    net = {
        "n": side * side,
        "r": resistors,
        "v": [(idx(0, 0), 0, 1.8), (0, idx(side - 1, side - 1), 1.2)],
        "i": [(idx(int(x), int(y)), 0, float(rng.uniform(0, 0.05))) for x, y in rng.integers(0, side, size=(30, 2))],
        "e": [],
        "g": [],
    }
    check_against_reference(mna, net, rtol=1e-10)
