"""The element-kind registry (resim/elements.py) against the grammar and the parser, and the
compiled circuit's reciprocity and controlled-source fields.

The grammar file is the specification of the language, so the registry is checked against
its text: every ``<letter>_NAME`` terminal has an entry, and every entry's rule is an
element statement starting with that terminal. Terminal counts are checked on what the
parser does with a sample card per kind: exactly ``terminals`` nodes are read (through the
grammar and through the bulk fast path), one node more is a netlist error.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import resim
from resim.compile import compile_circuit
from resim.elements import BY_RULE, CIRCUIT_KINDS, ELEMENTS, REFUSED, SIMULATES
from resim.errors import NetlistError
from resim.netlist.parser import parse_text
from resim.solvers import cd

GRAMMAR = (Path(resim.__file__).parent / "netlist" / "grammar.lark").read_text()

# A card per kind with its nodes spelled out: (nodes, the card with {nodes} to fill in).
SAMPLES = {
    "r": (("a", "b"), "r1 {nodes} 1k"),
    "v": (("a", "b"), "v1 {nodes} dc 1"),
    "i": (("a", "b"), "i1 {nodes} 1m"),
    "d": (("a", "b"), "d1 {nodes} dmod 2"),
    "e": (("a", "b", "c", "d"), "e1 {nodes} 2"),
    "g": (("a", "b", "c", "d"), "g1 {nodes} 1m"),
    "f": (("a", "b"), "f1 {nodes} vx 2"),
    "h": (("a", "b"), "h1 {nodes} vx 1k"),
}


def _rule(name: str) -> str:
    match = re.search(rf"^{name}:\s*(.*)$", GRAMMAR, re.M)
    assert match, f"no rule '{name}' in grammar.lark"
    return match.group(1)


def test_every_element_letter_of_the_grammar_has_an_entry():
    letters = set(re.findall(r"^([A-Z])_NAME:", GRAMMAR, re.M))
    assert letters == {k.upper() for k in ELEMENTS}
    statements = {s.strip() for s in re.search(r"^\?statement:(.*?)\n\n", GRAMMAR, re.M | re.S).group(1)
                  .replace("|", " ").split()}
    for kind in ELEMENTS.values():
        assert kind.rule in statements
        assert _rule(kind.rule).split()[0] == f"{kind.letter.upper()}_NAME"
        assert BY_RULE[kind.rule] is kind


@pytest.mark.parametrize("kind", CIRCUIT_KINDS)
def test_terminals_in_the_grammar(kind):
    """A card's rule reads its node names (NODE) before its items; E and G read their two
    output nodes so, and their controlling nodes as items (POLY(n) has 2n of them)."""
    words = _rule(ELEMENTS[kind].rule).split("//")[0].split()
    count = 2 if kind in "eg" else ELEMENTS[kind].terminals
    assert words[1:1 + count] == ["NODE"] * count


@pytest.mark.parametrize("fast", [False, True], ids=["grammar", "fast"])
@pytest.mark.parametrize("kind", CIRCUIT_KINDS)
def test_terminal_count_is_what_the_parser_reads(kind, fast):
    nodes, card = SAMPLES[kind]
    parsed = parse_text("title\n" + card.format(nodes=" ".join(nodes)) + "\n", fast=fast)
    columns = parsed.columns[kind]
    assert columns.terminals == ELEMENTS[kind].terminals
    arrays = columns.arrays()
    assert arrays.nodes.shape == (1, ELEMENTS[kind].terminals)
    assert [parsed.node_names[k] for k in arrays.nodes[0]] == list(nodes)
    with pytest.raises(NetlistError) as err:  # one node too many
        resim.load_netlist("title\n" + card.format(nodes=" ".join((*nodes, "extra"))) + "\n", fast=fast)
    if kind == "r":  # a word after the nodes is a resistor's model
        assert err.value.message == f"resistor '{card.split()[0]}': undefined resistor model 'extra'"
    else:
        assert err.value.message.startswith(f"{ELEMENTS[kind].word} '{card.split()[0]}': unexpected")
        assert err.value.hint == ELEMENTS[kind].hint


def test_every_letter_is_read_or_refused_by_name():
    """Each letter is an element kind or a construct refused by name (resim.elements.REFUSED)."""
    assert set(ELEMENTS) | set(REFUSED) | {"k"} == set("abcdefghijklmnopqrstuvwxyz")  # k: dropped at DC
    with pytest.raises(NetlistError) as err:
        parse_text("title\nq1 a b c qmod\n")
    assert err.value.message == "'q1': a bipolar transistor (Q) is not supported"
    assert err.value.hint == SIMULATES


def test_json_types_are_docs_json():
    """docs/json.md lists the element types the JSON output uses."""
    docs = (Path(resim.__file__).parent.parent / "docs" / "json.md").read_text()
    row = next(line for line in docs.splitlines() if line.startswith("| `elements.*.type`"))
    assert re.findall(r"`([A-Z])`", row) == [ELEMENTS[k].json_type for k in CIRCUIT_KINDS]


BASE = "reciprocity\nV1 in 0 1\nR1 in a 1k\nR2 a 0 2k\nD1 a 0 dm\n.model dm D(Ron=1 Vfwd=0.5)\n"


@pytest.mark.parametrize("extra, reciprocal", [
    ("", True),
    ("E1 b 0 a 0 2\nR3 b 0 1k\n", False),
    ("G1 b 0 a 0 1m\nR3 b 0 1k\n", False),
    ("E1 b 0 a 0 2\nG1 c 0 a 0 1m\nR3 b 0 1k\nR4 c 0 1k\n", False),
    ("E1 b 0 a 0 0\nR3 b 0 1k\n", False),  # the kind decides, not the gain
])
def test_reciprocal(extra, reciprocal):
    cc = compile_circuit(resim.load_netlist(BASE + extra))
    assert cc.reciprocal is reciprocal
    if reciprocal:
        cd.prepare(cc)
    else:
        with pytest.raises(cd.CDUnsupported, match="reciprocal circuits only"):
            cd.prepare(cc)


def test_controlled_sources_fields():
    """E1 out+ out- ctrl+ ctrl- gain, G1 likewise: named fields in unknown space."""
    c = resim.load_netlist("cs\nV1 in 0 1\nR1 in a 1k\nR2 a 0 1k\nE1 b 0 a in 3\nR3 b 0 1k\n"
                           "G1 0 c in a 2m\nR4 c 0 1k\n")
    cc = compile_circuit(c)
    var = {name: int(cc.var[k]) for k, name in enumerate(c.nodes)}
    e, g = cc.linear["e"], cc.linear["g"]
    assert (len(e), len(g)) == (1, 1)
    assert (e.p[0], e.n[0], e.cp[0], e.cn[0], e.gain[0]) == (var["b"], -1, var["a"], var["in"], 3.0)
    assert (g.p[0], g.n[0], g.cp[0], g.cn[0], g.gain[0]) == (-1, var["c"], var["in"], var["a"], 2e-3)
    # independent truth: v(a) = 0.5, v(b) = 3 (0.5 - 1) = -1.5, v(c) = 1k * 2m * (1 - 0.5) = 1
    r = resim.solve(c)
    assert np.allclose([r.voltage("b"), r.voltage("c")], [-1.5, 1.0], atol=1e-12)
