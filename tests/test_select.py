"""`resim solve --nodes/--elements/--probe` and `--format npz` (resim/select.py,
resim/format.py): what is written of a selection is exactly those entries of the full
output, in every format; a selection that names nothing is an error before the solve."""

from __future__ import annotations

import csv
import fnmatch
import io
import json

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from resim.cli import run_args

REPO = Path(__file__).resolve().parents[1]
NET = str(REPO / "netlists" / "drn_tiny.cir")  # every element line simple: the names are the bulk path's, decoded when read


def resim(capsys, *args) -> tuple[int, str, str]:
    code = run_args([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def full() -> dict:
    """The whole JSON output of NET."""
    from resim import api, format as fmt

    return json.loads(fmt.to_json(api.solve(api.load_netlist(NET))))


PATTERNS = st.lists(st.sampled_from(["o*", "h?", "i1*", "*n", "h1", "[io]2*", "gnd*"]), max_size=3)
ELEMENTS = st.lists(st.sampled_from(["r*", "d?", "v*", "r1[12]", "d1", "i*", "*1"]), max_size=3)
PROBES = st.lists(st.sampled_from(["v(o1)", "V(H2)", "i(d3)", "i(R12)", "v(i2n)"]), max_size=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # capsys: read each time
@given(nodes=PATTERNS, elements=ELEMENTS, probes=PROBES)
def test_a_selection_is_those_entries_of_the_full_output(full, capsys, nodes, elements, probes):
    args = [a for p in nodes for a in ("--nodes", p)] + [a for p in elements for a in ("--elements", p)]
    args += [a for p in probes for a in ("--probe", p)]
    code, out, err = resim(capsys, "solve", NET, "--format", "json", *args)
    if "gnd*" in nodes:  # ground is never a node of the output: nothing else matches it
        assert code == 2 and "--nodes gnd*: no node matches" in err
        return
    assert code == 0, err
    got = json.loads(out)
    if not (nodes or elements or probes):
        assert got["nodes"] == full["nodes"] and got["elements"] == full["elements"]
        return
    for name, value in got["nodes"].items():
        assert full["nodes"][name] == value
    for name, entry in got["elements"].items():
        assert full["elements"][name] == entry
    wanted_nodes = {n for n in full["nodes"] if any(fnmatch.fnmatch(n, p) for p in nodes)}
    wanted_nodes |= {p[2:-1].lower() for p in probes if p.lower().startswith("v(")}
    wanted_elements = {e for e in full["elements"] if any(fnmatch.fnmatch(e, p) for p in elements)}
    wanted_elements |= {p[2:-1].lower() for p in probes if p.lower().startswith("i(")}
    assert set(got["nodes"]) == wanted_nodes and set(got["elements"]) == wanted_elements


def test_csv_and_npz_of_a_selection_agree_with_the_json(full, capsys, tmp_path):
    args = ["--nodes", "o*", "--elements", "d*", "--probe", "i(r12)"]
    code, out, err = resim(capsys, "solve", NET, "--format", "csv", *args)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    voltages = {r["name"]: float(r["value"]) for r in rows if r["kind"] == "node"}
    currents = {r["name"]: float(r["value"]) for r in rows if r["quantity"] == "current_A"}
    assert voltages == {n: v for n, v in full["nodes"].items() if n.startswith("o")}
    assert currents == {n: e["current"] for n, e in full["elements"].items() if n.startswith("d") or n == "r12"}
    code, _, err = resim(capsys, "solve", NET, "--format", "npz", "-o", tmp_path / "op.npz", *args)
    assert code == 0, err
    with np.load(tmp_path / "op.npz") as z:
        assert dict(zip(z["node_names"].astype(str), z["voltages"].tolist())) == voltages
        assert dict(zip(z["d_names"].astype(str), z["d_current"].tolist())) == {
            n: c for n, c in currents.items() if n.startswith("d")}
        assert z["d_state"].tolist() == [full["elements"][n]["state"] == "on" for n in z["d_names"].astype(str)]
        assert "d_terminals" not in z.files  # only when every node is written
        assert json.loads(z["summary"].item())["title"] == full["title"]


def test_npz_of_everything_holds_the_whole_solution(full, capsys, tmp_path):
    assert resim(capsys, "solve", NET, "--format", "npz", "-o", tmp_path / "op.npz")[0] == 0
    with np.load(tmp_path / "op.npz") as z:
        names = z["node_names"].astype(str)
        assert names[0] == "0" and z["voltages"][0] == 0.0
        assert dict(zip(names[1:], z["voltages"][1:].tolist())) == full["nodes"]
        for kind in "rvd":
            for name, current, (a, b) in zip(z[f"{kind}_names"].astype(str), z[f"{kind}_current"].tolist(),
                                             z[f"{kind}_terminals"].tolist()):
                assert full["elements"][name]["current"] == current
                assert full["elements"][name]["nodes"] == [names[a], names[b]]


@pytest.mark.parametrize("args, words", [
    (["--nodes", "nope*"], "--nodes nope*: no node matches"),
    (["--elements", "q*"], "--elements q*: no element matches"),
    (["--probe", "v(nowhere)"], "--probe v(nowhere): no node 'nowhere'"),
    (["--probe", "i(r99)"], "--probe i(r99): no element 'r99'"),
    (["--probe", "w(o1)"], "write v(NODE) or i(ELEMENT)"),
    (["--format", "npz"], "--format npz writes binary arrays: give the file with -o"),
    (["--nodes", "0"], "--nodes 0: ground ('0', 'gnd') is 0 V by definition"),
    (["--nodes", "GND"], "--nodes GND: ground"),
    (["--probe", "v(gnd)"], "--probe v(gnd): ground"),
])
def test_a_selection_of_nothing_is_a_usage_error(capsys, args, words):
    code, out, err = resim(capsys, "solve", NET, *args)
    assert code == 2 and words in err and out == "" and "Traceback" not in err


@pytest.mark.parametrize("args, shown, left_out", [
    (["--nodes", "o*"], "Node voltages", "Elements"),
    (["--elements", "d*"], "Elements", "Node voltages"),
    (["--probe", "v(o1)", "--probe", "i(d1)"], "Elements", None),
])
def test_the_table_of_a_selection_shows_only_what_was_asked_for(capsys, args, shown, left_out):
    code, out, err = resim(capsys, "solve", NET, *args)
    assert code == 0, err
    assert shown in out and (left_out is None or left_out not in out), out
    assert "certificate:" in out


def test_a_name_that_reads_as_a_glob_is_still_a_name(capsys, tmp_path):
    net = tmp_path / "brackets.cir"
    net.write_text("t\nV1 a[1] 0 2\nR[1] a[1] b 1\nR2 b 0 1\n")
    code, out, err = resim(capsys, "solve", net, "--nodes", "a[1]", "--elements", "r[1]", "--format", "json")
    assert code == 0, err
    got = json.loads(out)
    assert got["nodes"] == {"a[1]": 2.0} and list(got["elements"]) == ["r[1]"]
