"""The element kinds resim reads: one row per kind, the one place that spells them out.

A kind is named by the first letter of its elements' names (lower case: ``r1`` is a
resistor), as in SPICE. Each :class:`ElementKind` row holds what the front end, the
compiler, the solvers, the formatter and the ngspice translation need to know about the
kind as a whole; the per-kind *math* (stamps, currents, bounds) stays with the solvers.

=  ========  =================================  =====  ==========  ========  ================
   rule      word (in messages)                 nodes  reciprocal  solvers   ngspice current
=  ========  =================================  =====  ==========  ========  ================
r  resistor  resistor                           2      yes         exact cd  ``@r1[i]``
v  vsource   voltage source                     2      yes         exact cd  branch ``v1``
i  isource   current source                     2      yes         exact cd  ``@i1[current]``
d  diode     diode                              2      yes         exact cd  ``@d1[id]``
e  vcvs      voltage-controlled voltage source  4      no          exact     branch ``e1``
g  vccs      voltage-controlled current source  4      no          exact     ``@g1[i]``
x  instance  subcircuit instance                any    n/a         n/a       n/a
c  capacitor capacitor                          2      n/a         n/a       n/a
l  inductor  inductor                           2      n/a         n/a       n/a
=  ========  =================================  =====  ==========  ========  ================

A subcircuit instance (``x``) is expanded into its elements before anything else sees it.
In a DC operating point, as in SPICE, a capacitor is open (it is dropped, with a warning)
and an inductor is a short (a 0 V source named ``v.<name>``, with a warning).

Kinds resim refuses by name (:data:`REFUSED`) get a message that names the construct.

*Reciprocal*: the kind's elements keep the conductance matrix symmetric, so the operating
point minimises the circuit's content (docs/theory.md §1); a controlled source couples a branch to
a control voltage elsewhere and breaks that (:attr:`resim.compile.CompiledCircuit.reciprocal`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ElementKind:
    """One element kind (see the module docstring's table)."""

    letter: str  # first letter of its elements' names, lower case; the key of Circuit.groups
    rule: str  # its rule in netlist/grammar.lark
    word: str  # how messages name it ("resistor 'r1': ...")
    terminals: int | None  # nodes on its card; None: any number (a subcircuit instance's ports)
    json_type: str | None  # "type" of its elements in the JSON output (docs/json.md); None: not output
    hint: str  # the card's syntax, for messages about a malformed card
    reciprocal: bool = True  # keeps the conductance matrix symmetric (see the module docstring)
    source: bool = False  # drives the circuit: an independent or controlled source
    ngspice_current: str | None = None  # ngspice's device parameter for its current (@name[param],
    #                                     under .options savecurrents); None: ngspice's branch
    #                                     vector named after the element (an MNA unknown)

    @property
    def solvers(self) -> tuple[str, ...]:
        """The solvers that accept it: coordinate descent needs a content to minimise, so
        only reciprocal kinds; the exact solver takes every kind."""
        return ("exact", "cd") if self.reciprocal else ("exact",)

    in_circuit: bool = True  # a flat Circuit holds elements of this kind (not x, c, l)


_TABLE = (
    ElementKind("r", "resistor", "resistor", 2, "R", "write: Rname node1 node2 value   (e.g. R1 in out 10k)",
                ngspice_current="i"),
    ElementKind("v", "vsource", "voltage source", 2, "V", "write: Vname node+ node- [DC] value   (e.g. V1 in 0 DC 5)",
                source=True),
    ElementKind("i", "isource", "current source", 2, "I",
                "write: Iname node+ node- [DC] value   (current flows from node+ through the source to node-)",
                source=True, ngspice_current="current"),
    ElementKind("d", "diode", "diode", 2, "D",
                "write: Dname anode cathode model [area]   (and define the model with .model)", ngspice_current="id"),
    ElementKind("e", "vcvs", "voltage-controlled voltage source", 4, "E", "write: Ename out+ out- ctrl+ ctrl- gain",
                reciprocal=False, source=True),
    ElementKind("g", "vccs", "voltage-controlled current source", 4, "G",
                "write: Gname out+ out- ctrl+ ctrl- transconductance",
                reciprocal=False, source=True, ngspice_current="i"),
    ElementKind("x", "instance", "subcircuit instance", None, None,
                "write: Xname node... subckt_name [name=value ...]", in_circuit=False),
    ElementKind("c", "capacitor", "capacitor", 2, None, "write: Cname node1 node2 value", in_circuit=False),
    ElementKind("l", "inductor", "inductor", 2, None, "write: Lname node1 node2 value", in_circuit=False),
)

#: Every kind the netlist reader takes, by letter, in the order above.
ELEMENTS: dict[str, ElementKind] = {k.letter: k for k in _TABLE}
#: Letters of the kinds a flat circuit holds, in the order of its element groups.
CIRCUIT_KINDS: tuple[str, ...] = tuple(k.letter for k in _TABLE if k.in_circuit)
#: The kind of each element rule of the grammar.
BY_RULE: dict[str, ElementKind] = {k.rule: k for k in _TABLE}


#: Element letters of SPICE that resim does not simulate, with what they are (for messages).
REFUSED: dict[str, str] = {
    "b": "behavioural source (B)",
    "f": "current-controlled current source (F)",
    "h": "current-controlled voltage source (H)",
    "q": "bipolar transistor (Q)",
    "m": "MOSFET (M)",
    "j": "JFET (J)",
    "z": "MESFET (Z)",
    "t": "transmission line (T)",
    "o": "lossy transmission line (O)",
    "u": "distributed RC line (U)",
    "s": "voltage-controlled switch (S)",
    "w": "current-controlled switch (W)",
    "a": "XSPICE code model (A)",
    "p": "coupled transmission line (P)",
    "y": "transmission line (Y)",
    "n": "Verilog-A / OSDI device (N)",
}
#: What resim simulates, for the messages that refuse something else.
SIMULATES = ("resim simulates DC networks of resistors, independent and linear voltage-controlled sources, "
             "diodes and subcircuits (R, V, I, E, G, D, X; C is read as open, L as a short, K is dropped)")


def letters(kinds: tuple[str, ...] | str) -> str:
    """Kind letters as messages write them: ``letters("rvi")`` is ``"R, V and I"``."""
    up = [k.upper() for k in kinds]
    return ", ".join(up[:-1]) + " and " + up[-1] if len(up) > 1 else "".join(up)
