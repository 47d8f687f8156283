"""Solvers never hang and never answer wrong (issue 12): stalls of coordinate descent are
detected and handed to the exact solver, and random circuits with diodes between free
nodes and floating sources get the same answer, or a clean refusal, from every method.

The truth is the exact solver (itself checked against closed forms and ngspice elsewhere)
and the certificate of the circuit laws. "Bounded" is checked by counting sweeps, and by a
watchdog that turns a hang into a failure (a hang guard, not a speed assertion).
"""

from __future__ import annotations

import re

import contextlib
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import resim
from resim.compile import compile_circuit
from resim.errors import NoSolutionError, ResimError, TopologyError
from resim.solvers import cd
from resim.solvers.cd import kernel, laws
from resim.solvers.exact import solve_exact
from resim.sweep import Axis, run_sweep

BRIDGE = (Path(__file__).parent.parent / "netlists" / "shockley_bridge.cir").read_text()
BRIDGE_NO_RS = BRIDGE.replace("Rs a p 10", "Rs a p 1e-3")


@contextlib.contextmanager
def watchdog(seconds: int):
    """Fail (instead of hanging the suite) if the block runs past ``seconds``."""

    def fire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("text", [BRIDGE, BRIDGE_NO_RS], ids=["series-R", "no-series-R"])
def test_floating_shockley_bridge_stall_is_handed_to_the_exact_solver(text):
    """The bridge contracts by about 1 - 1.5e-6 per sweep (its common mode hangs on 1 Meg):
    it used to run the whole 100,000-sweep budget (30 minutes). It must stop within a few
    hundred sweeps, say why, and give the exact answer."""
    circuit = resim.load_netlist(text)
    with watchdog(120):
        result = resim.solve(circuit, method="cd")
    exact = resim.solve(circuit, method="exact")
    assert result.method == "cd+exact"
    assert "stalled" in result.method_reason and "exact solver" in result.method_reason
    assert result.iterations <= 1000  # sweeps run before the hand-over
    np.testing.assert_allclose(result.voltages, exact.voltages, rtol=0, atol=1e-9)
    assert result.certificate.ok()


def test_relax_reports_the_stall_and_stops_early():
    cc = compile_circuit(resim.load_netlist(BRIDGE))
    prob = cd.prepare(cc)
    out = cd.relax(prob, cc.vsources.value[None], cc.isources.value[None], cd.CDOptions())
    assert not out.converged and out.stalled and "stalled" in out.stalled
    assert out.sweeps < 1000


def test_fixed_sweeps_are_never_cut_short():
    """--sweeps N is the paper's mode: exactly N sweeps, stall or not."""
    cc = compile_circuit(resim.load_netlist(BRIDGE))
    out = cd.relax(cd.prepare(cc), cc.vsources.value[None], cc.isources.value[None], cd.CDOptions(sweeps=300))
    assert out.sweeps == 300 and out.stalled is None


def test_projected_sweeps_from_the_observed_rate():
    """Steps shrinking by exactly lam per sweep: the count is closed-form."""
    lam = 0.9
    steps = [lam**k for k in range(cd.STALL_WINDOW)]
    rate, needed = cd.projected_sweeps(steps, 1e-12)
    assert rate == pytest.approx(lam)
    last = steps[-1]
    assert needed == pytest.approx(np.log(1e-12 * (1 - lam) / last) / np.log(lam))
    assert cd.projected_sweeps([1.0] * cd.STALL_WINDOW, 1e-12)[1] == np.inf  # not contracting


def test_one_dimensional_newton_converges_in_a_few_steps(monkeypatch):
    """Near the solution each 1-D solve must take a handful of Newton steps. A step at
    rounding level used to land on the bracket's end and bisect away from the root,
    taking up to 60 steps (and 20 ms per sweep on this nine-element circuit)."""
    cc = compile_circuit(resim.load_netlist(BRIDGE))
    prob = cd.prepare(cc)
    E, I = cc.vsources.value[None], cc.isources.value[None]
    warm = cd.relax(prob, E, I, cd.CDOptions(sweeps=200))
    calls: list[int] = []
    law = laws.Terms.law

    def counting(self, sel, u):
        calls[-1] += 1
        return law(self, sel, u)

    newton = laws.newton_1d

    def per_solve(*args):
        calls.append(0)
        return newton(*args)

    monkeypatch.setattr(laws.Terms, "law", counting)
    monkeypatch.setattr(kernel, "newton_1d", per_solve)  # where relax looks it up
    cd.relax(prob, E, I, cd.CDOptions(sweeps=5), warm.c)
    assert calls and max(calls) <= 5, calls


def test_sweep_of_the_bridge_finishes_and_matches_exact():
    """`resim sweep bridge.cir --dc V1 9 10 1` (default method) used to hang in the batch."""
    circuit = resim.load_netlist(BRIDGE)
    with watchdog(120):
        sweep = run_sweep(circuit, [Axis("v1", "v", np.array([9.0, 10.0]))], probes=["v(op)", "v(on)"])
    for k, e in enumerate((9.0, 10.0)):
        exact = resim.solve(circuit.with_element_values({circuit.find_element("v1"): e}), method="exact")
        np.testing.assert_allclose(sweep.values[k], [exact.voltage("op"), exact.voltage("on")], rtol=0, atol=1e-9)


# ---- the campaign: random stiff circuits, every method -------------------------------------


@st.composite
def stiff_circuits(draw):
    """Free nodes joined by Shockley and ideal diodes, floating sources, and resistances
    spanning six decades; every node hangs on ground through a kilohm to a megohm (the
    bridge's stiffness), so that each voltage is determined to double precision (a node
    held only by a junction's picosiemens is known only to about 1e-4 V, by any solver).
    Ideal diodes can still leave no solution: refusals are allowed, as long as every
    method refuses or answers the same. Sources stay near a junction's knee (at most
    1 V across any junction, 640 A): a few volts straight across a bare junction is
    1e70 A, beyond what double precision can balance against the megohms."""
    n = draw(st.integers(2, 6))
    node = st.integers(0, n).map(lambda k: f"n{k}" if k else "0")
    res = st.sampled_from([1.0, 10.0, 1e3, 1e6])
    lines = ["random stiff circuit", f"Vs n1 0 {draw(st.sampled_from([-0.5, 0.3, 0.5]))}"]
    for k in range(1, n + 1):
        lines.append(f"Rg{k} n{k} 0 {draw(st.sampled_from([1e3, 1e6]))}")
    for k in range(draw(st.integers(1, 5))):
        a, b = draw(node), draw(node)
        if a != b:
            lines.append(f"R{k} {a} {b} {draw(res)}")
    for k in range(draw(st.integers(0, 1))):  # a floating source between free nodes
        a, b = draw(st.integers(2, n)), draw(st.integers(2, n))
        if a != b:
            lines.append(f"Vf{k} n{a} n{b} {draw(st.sampled_from([-0.5, 0.2, 0.5]))}")
    for k in range(draw(st.integers(1, 5))):
        a, b = draw(node), draw(node)
        if a != b:
            lines.append(f"D{k} {a} {b} {draw(st.sampled_from(['dsh', 'dsr', 'ideal', 'vf']))}")
    for k in range(draw(st.integers(0, 1))):
        a = draw(st.integers(2, n))
        lines.append(f"I{k} 0 n{a} {draw(st.sampled_from([-1e-3, 1e-3]))}")
    lines += [".model dsh D(IS=1e-14 N=1)", ".model dsr D(IS=1e-14 N=1 RS=0.5)",
              ".model ideal D(Ron=0)", ".model vf D(Ron=0 Vfwd=0.6)"]
    return "\n".join(lines) + "\n"


CAMPAIGN_SWEEPS = 5000  # cd's budget in the campaign: slow contractions (1 ohm beside 1 Meg) hand over sooner


def _outcome(circuit, method: str):
    try:
        return resim.solve(circuit, method=method, **({"max_sweeps": CAMPAIGN_SWEEPS} if method == "cd" else {}))
    except ResimError as exc:  # a refusal: a typed error, never an internal one
        return exc


@settings(max_examples=int(os.environ.get("RESIM_HYPOTHESIS_EXAMPLES", 80)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(stiff_circuits())
def test_random_stiff_circuits_agree_or_refuse_in_bounded_time(text):
    note(text)
    try:
        circuit = resim.load_netlist(text)
    except ResimError:
        return  # e.g. a loop of voltage sources drawn at random: the parser's business
    with watchdog(120):
        outcomes = {m: _outcome(circuit, m) for m in ("exact", "cd", "auto")}
    answers = {m: r for m, r in outcomes.items() if not isinstance(r, ResimError)}
    for m, r in answers.items():
        note(f"{m}: {r.method} {r.method_reason}")
        assert r.certificate.ok(), (m, r.certificate)  # whatever is returned is certified
        if m == "cd":
            assert r.iterations <= CAMPAIGN_SWEEPS
    # answers agree where their certificates vouch for them: a node held by picosiemens
    # (a junction's gmin) is known only to cond * eps, and its certificate says so
    trusted = {m: r for m, r in answers.items() if not r.certificate.warnings()}
    if len(trusted) > 1:
        ref = next(iter(trusted.values())).voltages
        scale = 1.0 + np.max(np.abs(ref))
        for m, r in trusted.items():
            assert np.max(np.abs(r.voltages - ref)) <= 1e-6 * scale, m
    refusals = {m: type(r) for m, r in outcomes.items() if isinstance(r, ResimError)}
    note(f"refusals: {refusals}")
    if refusals.get("exact") in (TopologyError, NoSolutionError):  # no method may answer then
        tie = re.search(r"(\S+) and (\S+) conduct between the same two nodes", str(outcomes["exact"]))
        if tie and set(answers) == {"cd"}:
            # two ideal diodes at their threshold with no current to share: exact calls them
            # both on (and the split undetermined), cd both off; the voltages are the same
            r = answers["cd"]
            scale = 1e-12 * (1.0 + float(np.max(np.abs(r.currents["v"]), initial=0.0)))
            assert all(abs(r.current(name)) <= scale for name in tie.groups()), (refusals, list(answers))
        else:
            assert not answers, (refusals, list(answers))


# ---- refusals that name the elements, with the right exit code ------------------------------

IDEAL = ".model ideal D(Ron=0)\n"


def _solve_both(text: str):
    circuit = resim.load_netlist("t\n" + text + IDEAL)
    return [resim.solve(circuit, method=m) for m in ("exact", "cd")]


def test_current_forced_backwards_through_an_ideal_diode_has_no_solution():
    """I1 drives 1 mA into node a; D1 (0 -> a) could only bring current in: KCL at a
    cannot hold. That is exit 5 (no solution), naming both elements, for either method
    (it used to be exit 4, "singular", with no names)."""
    for method in ("exact", "cd"):
        with pytest.raises(NoSolutionError) as err:
            resim.solve(resim.load_netlist("t\nI1 0 a 1m\nD1 0 a ideal\n" + IDEAL), method=method)
        assert err.value.exit_code == 5
        assert "i1" in err.value.message and "d1" in err.value.message and err.value.location.line == 2


def test_current_source_into_an_ideal_diode_that_can_carry_it_is_solved():
    """The all-off start is singular; the diode that can carry the current is turned on:
    v(a) = 0 and i(D1) = 1 mA (closed form). It used to be refused as singular."""
    for result in _solve_both("I1 0 a 1m\nD1 a 0 ideal\n"):
        assert result.voltage("a") == pytest.approx(0.0, abs=1e-12)
        assert result.current("D1") == pytest.approx(1e-3, rel=1e-12)
    for result in _solve_both("I1 a 0 1m\nR1 a b 1k\nD2 0 b vf\n.model vf D(Ron=0 Vfwd=0.6)\n"):
        assert result.voltage("b") == pytest.approx(-0.6, abs=1e-12)  # D2 on, carrying 1 mA from 0 to b
        assert result.voltage("a") == pytest.approx(-1.6, abs=1e-12)


def test_a_node_held_only_by_off_diodes_is_a_topology_error_naming_them():
    text = "t\nV1 p 0 1\nR1 p x 1k\nD1 a x ideal\nD2 a 0 ideal\n" + IDEAL
    for method in ("exact", "cd"):
        with pytest.raises(TopologyError) as err:
            resim.solve(resim.load_netlist(text), method=method)
        msg = err.value.message
        assert err.value.exit_code == 4 and "node(s) a" in msg and "d1" in msg and "d2" in msg


def test_a_singular_controlled_source_is_named():
    with pytest.raises(TopologyError) as err:
        resim.solve(resim.load_netlist("t\nE1 a 0 a 0 1\nR1 a 0 1k\nI1 0 a 1m\n"), method="exact")
    assert "e1" in err.value.message and err.value.location.line == 2


def test_cd_hands_unanchored_nodes_to_the_exact_solver_instead_of_a_usage_error():
    """A node held only by an ideal diode has no conductance: coordinate descent cannot
    move it. That used to be exit 2 (a usage error) saying "held only by diodes"; the
    exact solver decides it now, and the reason says so."""
    result = resim.solve(resim.load_netlist("t\nI1 0 a 1m\nD1 a 0 ideal\n" + IDEAL), method="cd")
    assert result.method == "cd+exact" and "no conductance" in result.method_reason
    with pytest.raises(cd.CDUnsupported) as err:  # E/G with --method cd stays a usage error
        resim.solve(resim.load_netlist("t\nE1 a 0 b 0 2\nR1 a 0 1k\nR2 b 0 1k\nI1 0 b 1m\n"), method="cd")
    assert err.value.exit_code == 2


@pytest.mark.parametrize("order", [1, -1], ids=["tighter-first", "tighter-last"])
def test_parallel_ideal_diodes_with_different_thresholds_are_solved(order):
    """Found by the campaign: D2 (Vfwd 0) and D3 (Vfwd 0.6) from ground to n3, I0 drawing
    1 mA from n3. Only D2 can conduct (closed form: v(n3) = 0, i(D2) = 1 mA, i(D3) = 0);
    the exact solver's state with both on is singular, and it used to call the circuit
    ill-posed while cd answered."""
    diodes = ["D2 0 n3 ideal", "D3 0 n3 vf"][::order]  # the active set must not depend on the order
    text = "I0 0 n3 -1m\nRg3 n3 0 1k\n" + "\n".join(diodes) + "\n.model vf D(Ron=0 Vfwd=0.6)\n"
    for result in _solve_both(text):
        assert result.voltage("n3") == pytest.approx(0.0, abs=1e-12)
        assert result.current("D2") == pytest.approx(1e-3, rel=1e-12)
        assert result.current("D3") == pytest.approx(0.0, abs=1e-15)


def test_parallel_conducting_ideal_diodes_are_refused_by_every_method():
    """Same threshold, both conducting: the voltages are unique, the split is not. Found by
    the campaign: cd used to answer with a least-norm split where exact refused."""
    text = "t\nV1 n1 0 -0.5\nR2 n2 0 1k\nD0 n2 n1 ideal\nD1 n2 n1 ideal\n" + IDEAL
    for method in ("exact", "cd"):
        with pytest.raises(TopologyError, match="d0 and d1 conduct between the same two nodes"):
            resim.solve(resim.load_netlist(text), method=method)


@pytest.mark.parametrize("text", ["V1 a 0 1e300\nR1 a 0 1e-10\n", "I1 0 a 1e300\nR1 a 0 1e100\n",
                                  "V1 a 0 1e200\nR1 a b 1\nR2 b 0 1\n"],
                         ids=["current-overflows", "voltage-overflows", "power-overflows"])
def test_an_operating_point_beyond_double_precision_is_refused_plainly(text):
    """These used to be reported as "singular ... check the E elements" (there are none),
    with numpy's RuntimeWarnings on stderr, or printed as JSON with `Infinity` and exit 0."""
    import warnings

    from resim.errors import ConvergenceError

    circuit = resim.load_netlist("t\n" + text)
    for method in ("exact", "cd"):
        with warnings.catch_warnings(), pytest.raises(ConvergenceError, match="does not fit in double") as err:
            warnings.simplefilter("error")  # a RuntimeWarning would surface as an error here
            resim.solve(circuit, method=method)
        assert err.value.exit_code == 6 and "largest source value" in err.value.message


def test_junction_behind_series_resistance_is_solved_at_any_forward_voltage():
    """i = f(w) with w = u - i RS: the current must satisfy the junction law to rounding.
    Above about 17 V across IS=1e-14, RS=0.5 the old start left the bracket every step
    and 200 steps of bisection ended far from the root (|h| up to 1e17)."""
    from resim.solvers.cd.laws import series_junction
    from resim.junction import GMIN, JunctionLaw, junction

    u = np.linspace(-5.0, 25.0, 301)[None, :]
    n = u.shape[1]
    IS, nvt, RS = np.full(n, 1e-14), np.full(n, 0.025852), np.full(n, 0.5)
    i, g = series_junction(u, JunctionLaw(IS, nvt, np.full(n, np.inf), nvt), RS)
    w = u - i * RS
    f = junction(w, IS, nvt)[0] + GMIN * w
    assert np.all(np.abs(f - i) <= 1e-9 * np.abs(i) + 1e-25)
    assert np.all(np.diff(i[0]) > 0)  # the law is increasing


def test_diodes_turned_on_together_that_contradict_each_other_are_sorted_out():
    """Found by the campaign: D0 (n4 -> 0) and D1 (n4 -> n1, v(n1) = -0.5 V) both turn on
    from the all-off start, pinning n4 to 0 V and -0.5 V at once. The exact solver called
    that "no solution"; the answer (closed form) is D1 on carrying I0 + Rg4's 0.5 mA =
    1.5 mA, v(n4) = -0.5 V, D0 off."""
    text = "Vs n1 0 -0.5\nRg1 n1 0 1k\nRg4 n4 0 1k\nD0 n4 0 ideal\nD1 n4 n1 ideal\nI0 0 n4 1m\n"
    for result in _solve_both(text):
        assert result.voltage("n4") == pytest.approx(-0.5, abs=1e-12)
        assert result.current("D1") == pytest.approx(1.5e-3, rel=1e-12)
        assert result.current("D0") == pytest.approx(0.0, abs=1e-15)
