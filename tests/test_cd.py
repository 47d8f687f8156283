"""Coordinate descent (resim.solvers.cd) against the exact solver, the independent truth
for it here (the exact solver is itself checked against closed forms, brute force and
ngspice in the other test files)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import resim
from resim.compile import compile_circuit
from resim.errors import ConvergenceError
from resim.solvers.cd import CDOptions, CDUnsupported, prepare, relax, solve_batch, solve_cd
from resim.solvers.cd.batch import batch_certificate
from resim.solvers.exact import solve_exact

VTOL = 1e-9


def both(text: str, **options):
    cc = compile_circuit(resim.load_netlist(text))
    return solve_cd(cc, CDOptions(**options)), solve_exact(cc)


SHIPPED = sorted(p.name for p in (Path(__file__).parent.parent / "netlists").glob("*.cir"))
# subcircuits.cir has E and G elements; shockley_bridge.cir is the stall that cd hands to
# the exact solver (tests/test_solver_robustness.py)
RECIPROCAL = [name for name in SHIPPED if name not in ("subcircuits.cir", "shockley_bridge.cir")]


def test_every_shipped_example_is_covered():
    assert {"subcircuits.cir", "shockley_bridge.cir"} <= set(SHIPPED) and len(RECIPROCAL) == len(SHIPPED) - 2 >= 4


@pytest.mark.parametrize("name", RECIPROCAL)
def test_shipped_examples_agree_with_exact(netlists_dir, name):
    cd, ex = both((netlists_dir / name).read_text())
    assert cd.method == "cd"
    assert np.max(np.abs(cd.voltages - ex.voltages)) <= VTOL
    assert cd.diode_states == ex.diode_states
    assert cd.certificate.ok()


def test_controlled_sources_are_refused_clearly(netlists_dir):
    """E/G elements make the circuit non-reciprocal: no content to descend."""
    with pytest.raises(CDUnsupported, match="use --method exact"):
        both((netlists_dir / "subcircuits.cir").read_text())


def test_soft_pwl_diode_is_exact_on_each_segment():
    """A soft PWL diode (Ron, Roff, Vfwd) between a driven node and a free one: closed form.
    V1=2 V through R1=1 ohm into node a; diode a->0 with Ron=1, Vfwd=0.5, Roff=inf:
    (2 - v)/1 = (v - 0.5)/1  ->  v = 1.25 V (on segment); with V1=0.3 V it stays off: v = 0.3 V."""
    for v1, expected in ((2.0, 1.25), (0.3, 0.3)):
        text = f"soft\nV1 in 0 {v1}\nR1 in a 1\nD1 a 0 soft\n.model soft D(Ron=1 Vfwd=0.5)\n"
        cd, ex = both(text)
        assert cd.method == "cd"
        assert cd.voltage("a") == pytest.approx(expected, abs=1e-12)
        assert ex.voltage("a") == pytest.approx(expected, abs=1e-12)


def test_layered_network_is_two_coloured(netlists_dir):
    cc = compile_circuit(resim.load_netlist(netlists_dir / "drn_tiny.cir"))
    assert len(prepare(cc).colors) == 2


STALL = "stall (docs/theory.md section 2)\nV1 p 0 1\nV2 m 0 -1\nR1 p a 1\nR2 m b 1\nD1 a b ideal\n.model ideal D(Ron=0)\n"


def test_stall_example_is_detected_and_resolved():
    """From (5, 5) plain coordinate descent stops at (1, 1); the optimum is (0, 0)."""
    cc = compile_circuit(resim.load_netlist(STALL))
    prob = prepare(cc)
    start = np.full((1, prob.m), 5.0)
    v, _, _, converged, _ = relax(prob, cc.vsources.value[None], cc.isources.value[None], CDOptions(), start)
    a, b = (cc.var[cc.circuit.nodes.index(n)] for n in "ab")
    assert converged and v[0, a] == pytest.approx(1.0) and v[0, b] == pytest.approx(1.0)  # the stall
    result = solve_cd(cc, c0=start)
    assert result.method == "cd"  # resolved by moving the diode-joined pair as one block
    assert result.voltage("a") == pytest.approx(0.0, abs=1e-12)
    assert result.voltage("b") == pytest.approx(0.0, abs=1e-12)
    assert result.current("D1") == pytest.approx(1.0, abs=1e-12)


def test_stall_without_block_moves_goes_to_the_exact_solver():
    cc = compile_circuit(resim.load_netlist(STALL))
    start = np.full((1, prepare(cc).m), 5.0)
    result = solve_cd(cc, CDOptions(cluster_rounds=0), c0=start)
    assert result.method == "cd+exact"
    assert result.voltage("a") == pytest.approx(0.0, abs=1e-12)


def test_chain_of_diode_joined_nodes_moves_as_a_block():
    """Three free nodes joined by two conducting ideal diodes, pulled apart from a bad
    start: only a block move of the whole chain reaches the optimum (closed form: all
    three at the conductance-weighted mean of the sources, 0 V)."""
    text = ("chain\nV1 p 0 2\nV2 m 0 -2\nR1 p a 1\nR2 m c 1\nR3 b 0 1e6\n"
            "D1 a b ideal\nD2 b c ideal\n.model ideal D(Ron=0)\n")
    cc = compile_circuit(resim.load_netlist(text))
    start = np.full((1, prepare(cc).m), 7.0)
    result = solve_cd(cc, c0=start)
    ex = solve_exact(cc)
    assert result.method == "cd"
    assert np.max(np.abs(result.voltages - ex.voltages)) <= VTOL


def test_non_convergence_is_an_error():
    text = "ladder\nV1 n0 0 1\n" + "".join(f"R{k} n{k} n{k + 1} 1\nRg{k} n{k + 1} 0 1e6\n" for k in range(30))
    cc = compile_circuit(resim.load_netlist(text))
    with pytest.raises(ConvergenceError, match="coordinate descent"):
        solve_cd(cc, CDOptions(max_sweeps=3))


def test_batched_equals_one_by_one(netlists_dir):
    cc = compile_circuit(resim.load_netlist(netlists_dir / "drn_tiny.cir"))
    prob = prepare(cc)
    rng = np.random.default_rng(1)
    E = cc.vsources.value[None] * rng.uniform(0.2, 2.0, size=(5, len(cc.vsources.value)))
    I = cc.isources.value[None] * rng.uniform(-1, 1, size=(5, len(cc.isources.value)))
    batch = relax(prob, E, I, CDOptions(sweeps=40))[0]
    for k in range(5):
        single = relax(prob, E[k : k + 1], I[k : k + 1], CDOptions(sweeps=40))[0]
        np.testing.assert_allclose(batch[k], single[0], rtol=0, atol=1e-13)



# ---- batches: one relaxation, every item certified -----------------------------------------


def node_voltages(cc, v: np.ndarray) -> np.ndarray:
    """[B, n_nodes] node voltages from [B, n_vars] potentials (ground and shorts: cc.var)."""
    return np.where(cc.var >= 0, np.append(v, np.zeros((len(v), 1)), axis=1)[:, cc.var], 0.0)


@pytest.mark.parametrize("name", ["drn_tiny.cir", "diode_clipper.cir"])
def test_solve_batch_matches_exact_item_by_item(netlists_dir, name):
    """Ideal diodes at their bounds (drn_tiny) and Shockley junctions behind RS (the
    clipper), sources scaled by -2 ... 2 so that diodes sit on both sides of their knees:
    every item is certified, and is the exact solver's operating point for its sources."""
    circuit = resim.load_netlist(netlists_dir / name)
    cc = compile_circuit(circuit)
    E = cc.vsources.value[None] * np.random.default_rng(2).uniform(-2.0, 2.0, size=(6, len(cc.vsources.value)))
    I = np.repeat(cc.isources.value[None], 6, axis=0)
    batch = solve_batch(prepare(cc), E, I)
    assert batch.converged and batch.ok.all() and batch.ok.shape == (6,)
    got = node_voltages(cc, batch.v)
    for k in range(len(E)):
        values = {("v", int(j)): float(e) for j, e in zip(cc.vsources.index, E[k])}
        exact = solve_exact(compile_circuit(circuit.with_element_values(values)))
        np.testing.assert_allclose(got[k], exact.voltages, rtol=0, atol=VTOL)


def test_batch_certificate_rejects_exactly_the_items_that_are_off(netlists_dir):
    """One item's output node moved 1 uV off its answer: KCL there is off by 1e-6 times the
    node's conductance, far above 1e-8 of the item's currents. That item fails, the others
    pass."""
    circuit = resim.load_netlist(netlists_dir / "drn_tiny.cir")
    cc = compile_circuit(circuit)
    prob = prepare(cc)
    E = cc.vsources.value[None] * np.linspace(0.5, 2.0, 4)[:, None]
    I = np.repeat(cc.isources.value[None], 4, axis=0)
    batch = solve_batch(prob, E, I)
    assert batch.ok.all()
    c = batch.c.copy()
    c[2, prob.coord[cc.var[circuit.nodes.index("o1")]]] += 1e-6
    assert batch_certificate(prob, E, I, c).tolist() == [True, True, False, True]


def test_solve_batch_certifies_nothing_it_cannot_judge():
    """Items are left to the caller (ok False) when the batch runs out of sweeps, and when
    an ideal diode joins two free coordinates (the per-point certificate must judge those,
    even where the sweeps converged)."""
    ladder = "ladder\nV1 n0 0 1\n" + "".join(f"R{k} n{k} n{k + 1} 1\nRg{k} n{k + 1} 0 1e6\n" for k in range(30))
    for text, options, converged in ((ladder, CDOptions(max_sweeps=3), False), (STALL, CDOptions(), True)):
        cc = compile_circuit(resim.load_netlist(text))
        E = np.repeat(cc.vsources.value[None], 3, axis=0)
        batch = solve_batch(prepare(cc), E, np.zeros((3, len(cc.isources.value))), options)
        assert batch.converged == converged and not batch.ok.any()


# ---- random reciprocal circuits ------------------------------------------------------------


@st.composite
def reciprocal_circuits(draw):
    """A connected resistor network (a spanning path plus chords, every node also tied to
    ground through a resistor so that floating diodes cannot leave a node undetermined),
    sources to ground and one floating source (a supernode), current sources, ideal
    diodes to ground and between free nodes, and Shockley diodes."""
    n = draw(st.integers(2, 7))
    res = st.sampled_from([0.5, 1.0, 2.0, 10.0, 100.0])
    lines = ["random reciprocal circuit"]
    for k in range(1, n):
        lines.append(f"Rp{k} n{k} n{k + 1} {draw(res)}")
    for k in range(1, n + 1):
        lines.append(f"Rg{k} n{k} 0 {draw(res) * 10}")
    for k in range(draw(st.integers(0, 3))):
        a, b = draw(st.integers(1, n)), draw(st.integers(1, n))
        if a != b:
            lines.append(f"Rc{k} n{a} n{b} {draw(res)}")
    volts = st.sampled_from([-3.0, -1.0, 0.5, 2.0, 5.0])
    lines.append(f"Vs s 0 {draw(volts)}")
    lines.append(f"Rs s n1 {draw(res)}")
    if draw(st.booleans()):
        lines.append(f"Vf f n{draw(st.integers(1, n))} {draw(volts)}")  # floating source: supernode
        lines.append(f"Rf f 0 {draw(res)}")
    for k in range(draw(st.integers(0, 2))):
        lines.append(f"I{k} 0 n{draw(st.integers(1, n))} {draw(st.sampled_from([-0.05, 0.01, 0.1]))}")
    pairs = set()  # two ideal diodes on one node pair make their currents non-unique (see notes)
    for k in range(draw(st.integers(0, 3))):
        a = draw(st.integers(0, n))
        b = draw(st.integers(0, n))
        if a != b and frozenset((a, b)) not in pairs:
            pairs.add(frozenset((a, b)))
            model = draw(st.sampled_from(["ideal", "vf", "dsh", "dsr", "soft"]))
            lines.append(f"D{k} {'n' + str(a) if a else '0'} {'n' + str(b) if b else '0'} {model}")
    lines += [".model ideal D(Ron=0)", ".model vf D(Ron=0 Vfwd=0.3 Roff=1e4)", ".model dsh D(IS=1e-12 N=1.5)",
              ".model dsr D(IS=1e-12 N=0.05 RS=1)",  # near-ideal behind RS: the series law
              ".model soft D(Ron=2 Roff=1e5 Vfwd=0.2)"]
    return "\n".join(lines) + "\n"


@settings(max_examples=int(os.environ.get("RESIM_HYPOTHESIS_EXAMPLES", 120)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(reciprocal_circuits())
def test_random_reciprocal_circuits_agree_with_exact(text):
    note(text)
    cd, ex = both(text)
    assert np.max(np.abs(cd.voltages - ex.voltages)) <= VTOL * (1 + np.max(np.abs(ex.voltages)))
    assert cd.certificate.ok()
    assert cd.method == "cd"  # stalls resolved by block moves, not handed to the exact solver


# ---- --method auto ------------------------------------------------------------------------


def layered_netlist(n_in: int, n_hidden: int, n_out: int, seed: int = 0) -> str:
    """A DRN-shaped network (docs/theory.md §3) with every conductance present."""
    rng = np.random.default_rng(seed)
    lines = ["layered"]
    lines += [f"V{k} x{k} 0 {v:.6f}" for k, v in enumerate(rng.uniform(-1, 1, n_in))]
    lines += [f"Ra{i}_{j} x{i} h{j} {r:.6f}" for i in range(n_in) for j, r in enumerate(rng.uniform(1, 10, n_hidden))]
    lines += [f"Rb{j}_{k} h{j} o{k} {r:.6f}" for j in range(n_hidden) for k, r in enumerate(rng.uniform(1, 10, n_out))]
    lines += [f"D{j} 0 h{j} ideal" if j % 2 == 0 else f"D{j} h{j} 0 ideal" for j in range(n_hidden)]
    return "\n".join(lines + [".model ideal D(Ron=0)"]) + "\n"


def test_auto_picks_cd_for_a_large_layered_network_and_says_why():
    result = resim.solve(resim.load_netlist(layered_netlist(1000, 20, 4)))
    assert result.method == "cd"
    assert "layered network (2 colours" in result.method_reason
    exact = resim.solve(resim.load_netlist(layered_netlist(1000, 20, 4)), method="exact")
    assert np.max(np.abs(result.voltages - exact.voltages)) <= VTOL


@pytest.mark.parametrize("name, why", [("subcircuits.cir", "controlled sources"),
                                       ("ideal_rectifier.cir", "small circuit"),
                                       ("drn_tiny.cir", "small circuit")])
def test_auto_picks_exact_otherwise_and_says_why(netlists_dir, name, why):
    result = resim.solve(resim.load_netlist(netlists_dir / name))
    assert result.method == "exact" and why in result.method_reason


def test_float32_sweeps_track_float64(netlists_dir):
    """float32 on request (for speed in training): same fixed point to float32 precision."""
    cc = compile_circuit(resim.load_netlist(netlists_dir / "drn_tiny.cir"))
    prob = prepare(cc)
    E, I = cc.vsources.value[None], cc.isources.value[None]
    v64 = relax(prob, E, I, CDOptions(sweeps=60))[0]
    v32 = relax(prob, E, I, CDOptions(sweeps=60, precision="float32"))[0]
    assert v32.dtype == np.float32
    np.testing.assert_allclose(v32, v64, rtol=0, atol=1e-5)


def test_infeasible_diode_gets_the_exact_solvers_error():
    """An ideal diode forward-biased straight across a source has no solution: CD must not
    answer, and the user gets the same NoSolutionError as from the exact solver."""
    from resim.errors import NoSolutionError

    cc = compile_circuit(resim.load_netlist("t\nV1 a 0 1\nR1 a 0 1\nD1 a 0 ideal\n.model ideal D(Ron=0)\n"))
    with pytest.raises(NoSolutionError, match="no solution"):
        solve_cd(cc)


def loaded_grid(grid_lines, side: int, vertical_ohms: float = 1.0) -> list[str]:
    """A ``side`` x ``side`` mesh of 1-ohm resistors (``vertical_ohms`` between rows) with a
    1k load from every node ``n<i>_<j>`` to ground."""
    return grid_lines(side, lambda d: 1.0 if d == "h" else vertical_ohms,
                      extra=lambda i, j, node: [f"Rl{i}_{j} {node} 0 1k"])


def test_auto_keeps_grids_on_the_exact_solver(grid_lines):
    """A grid is 2-colourable like a layered network, but Gauss-Seidel crawls on it."""
    lines = ["grid", "V1 n0_0 0 1", *loaded_grid(grid_lines, 35)]
    result = resim.solve(resim.load_netlist("\n".join(lines) + "\n"))
    assert result.method == "exact" and "grid-like" in result.method_reason


def test_warm_start_from_an_earlier_result(netlists_dir):
    """A warm start at the answer needs a sweep or two, and lands on the same answer."""
    circuit = resim.load_netlist(netlists_dir / "drn_tiny.cir")
    cold = resim.solve(circuit, method="cd")
    warm = resim.solve(circuit, method="cd", start=cold)
    assert warm.iterations <= 2 < cold.iterations
    assert np.max(np.abs(warm.voltages - cold.voltages)) <= VTOL
    with pytest.raises(ValueError, match="node voltages"):
        resim.solve(circuit, method="cd", start=np.zeros(3))


def test_adaptive_over_relaxation_on_a_grid(grid_lines):
    """Gauss-Seidel crawls on a grid; adaptive SOR (omega from the observed contraction,
    Hageman-Young) needs several times fewer sweeps, to the same answer."""
    lines = ["grid", "V1 n0_0 0 1", "V2 n19_19 0 -1", *loaded_grid(grid_lines, 20, vertical_ohms=2.0)]
    lines += ["D1 n5_5 0 ideal", "D2 0 n14_14 ideal", ".model ideal D(Ron=0)"]
    cc = compile_circuit(resim.load_netlist("\n".join(lines) + "\n"))
    plain = solve_cd(cc, CDOptions(omega=1.0))
    sor = solve_cd(cc, CDOptions())
    ex = solve_exact(cc)
    assert sor.method == plain.method == "cd"
    assert sor.iterations * 4 < plain.iterations
    for r in (plain, sor):
        assert np.max(np.abs(r.voltages - ex.voltages)) <= VTOL


def test_two_sides_match_a_breadth_first_search():
    """The double-cover bipartition against a plain BFS 2-colouring (lowest vertex of each
    component on side 0), on random graphs with and without odd cycles; and 100,000
    isolated coordinates in one pass (a BFS per component used to be quadratic)."""
    import scipy.sparse as sp

    from resim.solvers.cd.problem import _two_sides

    def bfs_sides(m, edges):
        adj = {v: [] for v in range(m)}
        for a, b in edges:
            adj[a].append(b), adj[b].append(a)
        side = [-1] * m
        for s in range(m):
            if side[s] >= 0:
                continue
            side[s], queue = 0, [s]
            for v in queue:
                for w in adj[v]:
                    if side[w] < 0:
                        side[w] = 1 - side[v]
                        queue.append(w)
                    elif side[w] == side[v]:
                        return None
        return side

    rng = np.random.default_rng(3)
    for _ in range(300):
        m, k = int(rng.integers(1, 30)), int(rng.integers(0, 40))
        a, b = rng.integers(0, m, k), rng.integers(0, m, k)
        if rng.random() < 0.5:  # mostly bipartite: even to odd vertices
            b = np.where(a % 2 == b % 2, (b + 1) % m, b)
        keep = a != b
        edges = list(zip(a[keep].tolist(), b[keep].tolist()))
        A = sp.csr_matrix((np.ones(2 * len(edges)), (np.r_[a[keep], b[keep]], np.r_[b[keep], a[keep]])), shape=(m, m))
        want = bfs_sides(m, edges)
        got = _two_sides(A)
        assert (got is None) == (want is None)
        if want is not None:
            assert got.tolist() == want
    assert _two_sides(sp.csr_matrix((100_000, 100_000))).sum() == 0
