"""Typos that passed silently (issue 23, item 16).

* A node with fewer than two element connections (``R2 mdi 0`` for ``mid``) is warned
  about, as SPICE does, naming the node and the element; ground never is, and no netlist
  of ``netlists/`` or ``tests/data/`` gets the warning.
* A ``.model`` whose ``(`` is never closed is a syntax error at the ``(``; a ``)`` on the
  next line of its own still closes it (a construct of real netlists that ngspice reads).
* A misspelled dot card (``.modle``) that leads to an error is named with the error, with
  the card it probably meant.

Netlists are real files in ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import resim
from resim.cli import run_args
from resim.errors import NetlistError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(params=[True, False], ids=["fast", "grammar"])
def fast(request) -> bool:
    return request.param


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.cir"
    path.write_text(text)
    return path


def dangling(circuit) -> list[str]:
    return [w for w in circuit.warnings if "connection" in w]


# ---- 16a: nodes with one connection ----------------------------------------------------------------


def test_a_misspelled_node_is_warned_about(tmp_path, fast, capsys):
    path = write(tmp_path, "typo\nV1 in 0 1\nR1 in mid 1k\nR2 mdi 0 1k\n.op\n.end\n")
    warnings = dangling(resim.load_netlist(path, fast=fast))
    assert len(warnings) == 2, warnings
    mid, mdi = sorted(warnings, key=lambda w: "mdi" in w)
    assert mdi.startswith(f"{path}:4:1: warning: node 'mdi'") and "only one connection" in mdi and "'r2'" in mdi
    assert mid.startswith(f"{path}:3:1: warning: node 'mid'") and "'r1'" in mid
    assert run_args(["solve", str(path)]) == 0
    assert "node 'mdi' has only one connection" in capsys.readouterr().err


def test_ground_and_two_terminal_connections_are_not_warned_about(tmp_path, fast):
    """Ground (0, gnd) never; a node joined by a current source and a diode has two."""
    text = "t\nI1 0 a 1m\nD1 a 0 dm\n.model dm D(IS=1e-14)\nR1 gnd b 1k\nV1 b 0 1\n"
    assert dangling(resim.load_netlist(write(tmp_path, text), fast=fast)) == []


def test_an_element_with_both_terminals_on_one_node_is_one_connection(tmp_path):
    circuit = resim.load_netlist(write(tmp_path, "t\nV1 a 0 1\nR1 a 0 1k\nR2 b b 1k\n"))
    assert [w.split(": warning: ")[1].split(" (")[0] for w in dangling(circuit)] == ["node 'b' has only one connection"]


def test_connections_that_elaboration_drops_or_adds_count_as_written(tmp_path):
    """A capacitor is dropped (open) at DC but connects its nodes; .options rshunt adds a
    resistor at every node, which does not hide a dangling one."""
    text = "t\nV1 a 0 1\nR1 a b 1k\nC1 b 0 1u\nR2 a c 1k\n.options rshunt=1e9\n"
    warnings = dangling(resim.load_netlist(write(tmp_path, text)))
    assert len(warnings) == 1 and "node 'c'" in warnings[0] and "'r2'" in warnings[0]


def test_a_node_inside_a_subcircuit_instance(tmp_path):
    text = "t\n.subckt s in out\nR1 in out 1k\nR2 out mdi 1k\n.ends\nV1 a 0 1\nX1 a 0 s\n"
    warnings = dangling(resim.load_netlist(write(tmp_path, text)))
    assert len(warnings) == 1 and "node 'x1.mdi'" in warnings[0] and "'r.x1.r2'" in warnings[0]


def test_a_node_a_source_sets_is_not_warned_about(tmp_path):
    """``E13 13 0 1 3 1`` makes node 13 to measure v(1, 3): its voltage is set (as a V source's)."""
    text = "t\nV1 1 0 1\nR1 1 3 1k\nR2 3 0 1k\nE13 13 0 1 3 1\nVp p 0 2\n"
    assert dangling(resim.load_netlist(write(tmp_path, text))) == []


def test_an_instance_port_that_nothing_inside_uses_is_a_connection(tmp_path):
    """(corpus_global.cir: ``X1 n1 su`` whose port is unused inside, and ``Rn n1 0``.) A
    misspelled node on an instance whose port is used is still warned about."""
    text = ("t\n.subckt su p q\nR3 q 0 2k\n.ends\nV1 a 0 1\nR1 a n1 1k\nX1 n1 a su\n"
            ".subckt load p\nRl p 0 1k\n.ends\nX2 mdi load\n")
    warnings = dangling(resim.load_netlist(write(tmp_path, text)))
    assert len(warnings) == 1 and "node 'mdi'" in warnings[0] and "'r.x2.rl'" in warnings[0]


def test_many_dangling_nodes_are_summed_up(tmp_path):
    text = "t\nV1 a 0 1\n" + "".join(f"R{k} a n{k} 1k\n" for k in range(30))
    warnings = dangling(resim.load_netlist(write(tmp_path, text)))
    assert len(warnings) == 11 and "20 more" in warnings[-1]


def netlists_of_the_project() -> list[Path]:
    return sorted((REPO / "netlists").glob("*.cir")) + sorted((REPO / "tests" / "data").rglob("*.cir"))


@pytest.mark.parametrize("path", netlists_of_the_project(), ids=lambda p: p.name)
def test_no_netlist_of_the_project_has_a_dangling_node(path):
    assert dangling(resim.load_netlist(path)) == []


# ---- 16b: an unclosed '(' in a .model -------------------------------------------------------------


def test_an_unclosed_model_parenthesis_is_a_syntax_error(tmp_path, fast):
    text = "unclosed\nV1 in 0 1\nR1 in a 1k\nD1 a 0 dm\n.model dm D(IS=1e-14 N=1.5\n.op\n.end\n"
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(write(tmp_path, text), fast=fast)
    err = info.value
    assert str(err.location) == f"{tmp_path / 'net.cir'}:5:12"
    assert err.message == "'.model': '(' is never closed; expected ')'"
    assert "N=1.5)" in err.hint


@pytest.mark.parametrize(
    "text, line, column",
    [
        ("t\nV1 a 0 1\n.model dm D(IS=1e-14\n", 3, 12),  # the last line of the file
        ("t\nV1 a 0 1\n.model dm D (IS=1e-14\n+ N=2\nR1 a 0 1k\n)\n", 3, 13),  # ')' only after another line
        ("t\nV1 a 0 1\n.subckt s a\n.model dm D(IS=1e-14\nR1 a 0 1k\n.ends\n", 4, 12),
    ],
)
def test_an_unclosed_model_parenthesis_anywhere(tmp_path, fast, text, line, column):
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(write(tmp_path, text), fast=fast)
    assert (info.value.location.line, info.value.location.column) == (line, column)


@pytest.mark.parametrize("close", ["\n)\n", "\n* a comment\n\n)\n", "\n+ N=2)\n"])
def test_a_model_closed_on_a_line_of_its_own_is_read(tmp_path, fast, close):
    text = "t\nV1 a 0 1\nR1 a b 1k\nD1 b 0 dm\n.model dm D(IS=1e-14" + close + "R2 a 0 1k\n"
    circuit = resim.load_netlist(write(tmp_path, text), fast=fast)
    assert circuit.models[0].IS == 1e-14 and len(circuit["r"].names) == 2


# ---- 16c: an unknown dot card named with the error it caused -----------------------------------------


def test_a_misspelled_model_card_is_named_with_the_undefined_model_error(tmp_path, fast, capsys):
    text = "modle\nV1 in 0 1\nR1 in a 1k\nD1 a 0 dm\n.modle dm D(IS=1e-14 N=1.5)\n.op\n.end\n"
    path = write(tmp_path, text)
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(path, fast=fast)
    err = info.value
    assert "undefined model 'dm'" in err.message and err.location.line == 4
    assert f"{path}:5:1" in err.hint and "'.modle'" in err.hint and "did you mean '.model'" in err.hint
    assert run_args(["solve", str(path)]) == 3
    assert "did you mean '.model'" in capsys.readouterr().err


def test_a_misspelled_card_is_named_with_an_error_of_the_reader(tmp_path, fast):
    """``.subkct``: its body is read as top-level elements, and its ``.ends`` is stray."""
    text = "t\nV1 a 0 1\n.subkct s a\nR1 a 0 1k\n.ends\n"
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(write(tmp_path, text), fast=fast)
    assert "'.subkct'" in info.value.hint and "did you mean '.subckt'" in info.value.hint


def test_known_spice_cards_are_not_blamed_for_an_error(tmp_path, fast):
    """``.tran`` and ``.print`` are ignored (with a warning) but are no typos."""
    text = "t\n.tran 1n 1u\n.print dc v(a)\nV1 a 0 1\nD1 a 0 dm\n"
    with pytest.raises(NetlistError) as info:
        resim.load_netlist(write(tmp_path, text), fast=fast)
    assert ".tran" not in (info.value.hint or "") and ".print" not in (info.value.hint or "")


def test_an_unknown_card_is_still_a_warning_when_the_netlist_solves(tmp_path):
    circuit = resim.load_netlist(write(tmp_path, "t\nV1 a 0 1\nR1 a 0 1k\n.prnt v(a)\n"))
    assert any("'.prnt'" in w and "did you mean '.print'" in w for w in circuit.warnings)
