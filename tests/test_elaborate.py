"""elaborate() reads the parsed netlist it is given and never changes it.

The reference for each elaboration is the circuit elaborated from a freshly parsed copy of
the same text: elaborating one parsed netlist twice, or with other parameters in between,
must give exactly that circuit, and the parsed netlist must read the same afterwards.
"""

from __future__ import annotations

import numpy as np
import pytest

from resim.circuit import Circuit
from resim.errors import NetlistError
from resim.netlist.elaborate import elaborate
from resim.netlist.parser import parse_text

# Everything elaboration touches: top-level columns (the bulk fast path and the grammar),
# values given as expressions, nested subcircuit instances with parameters and diodes
# (elements and nodes added by expansion), models, .dc sweeps with expressions, warnings.
NETLIST = """\
elaboration reads, never writes
.param vin=2 rl={2*vin} k=1
.model dm D(Ron=1 Roff=1e6)
.model q1 NPN(BF=100)
V1 in 0 {vin}
R1 in mid 1k
R2 mid 0 {rl}
I1 0 mid 1m
X1 mid out half r=3k
X2 out 0 pair
E1 e 0 mid 0 2
G1 g 0 mid 0 1m
Rg g 0 1
Re e 0 1
.subckt half a b r=1k
R1 a m {r}
D1 m b dm
.ends half
.subckt pair p q
.param rr={5*k}
X1 p mid half r={rr}
X2 mid q half
.ends pair
.dc V1 0 {vin} 0.5
.foo ignored
.op
.end
"""


def fingerprint(c: Circuit):
    """Everything observable about a circuit, as plain values (bitwise for floats)."""
    groups = {
        kind: (g.names, g.nodes.tolist(), np.asarray(g.value, np.float64).view(np.int64).tolist(),
               g.file.tolist(), g.line.tolist(), None if g.ref is None else g.ref.tolist())
        for kind, g in c.groups.items()
    }
    return (c.title, c.nodes, groups, c.models, c.params, c.dc, c.has_op, c.files, c.source_lines, c.warnings)


def parsed_fingerprint(parsed):
    """The parsed netlist's content: columns read through their arrays, everything else as is."""
    columns = {}
    for kind, col in parsed.columns.items():
        a = col.arrays()
        columns[kind] = (list(col.names), list(col.refs), a.nodes.tolist(), a.values.view(np.int64).tolist(),
                         a.file.tolist(), a.line.tolist())
    return (columns, list(parsed.node_names), dict(parsed.node_index), list(parsed.warnings),
            repr(parsed.fixups), repr(parsed.instances), repr(parsed.subckts), repr(parsed.models),
            repr(parsed.params), repr(parsed.dc), parsed.title, list(parsed.files))


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "grammar"])
def test_elaborating_twice_gives_the_same_circuit(fast):
    fresh = fingerprint(elaborate(parse_text(NETLIST, fast=fast)))
    assert len(fresh[2]["d"][0]) == 3 and "x2.x1.m" in fresh[1]  # the expansion is really exercised
    parsed = parse_text(NETLIST, fast=fast)
    before = parsed_fingerprint(parsed)
    assert fingerprint(elaborate(parsed)) == fresh
    assert parsed_fingerprint(parsed) == before
    assert fingerprint(elaborate(parsed)) == fresh
    assert parsed_fingerprint(parsed) == before


def test_other_parameters_in_between_leave_no_trace():
    parsed = parse_text(NETLIST)
    other = elaborate(parsed, {"vin": 3.0})
    assert other["v"].value.tolist() == [3.0] and other["r"].value.tolist()[:2] == [1000.0, 6.0]
    assert fingerprint(elaborate(parsed)) == fingerprint(elaborate(parse_text(NETLIST)))


def test_a_failed_elaboration_leaves_no_trace():
    parsed = parse_text(NETLIST)
    before = parsed_fingerprint(parsed)
    with pytest.raises(NetlistError, match="parameter 'rr'"):  # in X2, after X1 is expanded
        elaborate(parsed, {"k": float("inf")})
    assert parsed_fingerprint(parsed) == before
    assert fingerprint(elaborate(parsed)) == fingerprint(elaborate(parse_text(NETLIST)))


def test_the_circuit_shares_no_arrays_with_the_parsed_netlist():
    """Writing into a circuit's arrays cannot reach the parsed netlist (nor the next circuit)."""
    parsed = parse_text(NETLIST)
    first = elaborate(parsed)
    expected = fingerprint(first)
    for g in first.groups.values():
        g.value[...] = -1.0
        g.nodes[...] = 0
    assert fingerprint(elaborate(parsed)) == expected


def test_the_files_and_lines_the_circuit_shares_cannot_be_written():
    """Without subcircuits they are the parsed netlist's own (no copy of 8 bytes per element),
    read-only; with them, new arrays."""
    parsed = parse_text("t\nV1 a 0 1\nR1 a b 1\nR2 b 0 {2 * 1}\n")
    first = elaborate(parsed)
    for g in first.groups.values():
        if len(g):
            with pytest.raises(ValueError, match="read-only"):
                g.line[0] = 7
    assert fingerprint(elaborate(parsed)) == fingerprint(first)
