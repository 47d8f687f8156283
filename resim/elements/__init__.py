"""The element kinds resim reads: one module per kind, and this registry of them.

A kind is named by the first letter of its elements' names (lower case: ``r1`` is a
resistor), as in SPICE. Each kind's module (``resim/elements/<kind>.py``) holds its
:class:`~.kind.ElementKind`: the facts the front end, the compiler, the solvers, the
formatter and the ngspice translation need to know of it, and the functions over its
columns that are particular to it (how its card reads, how it elaborates, its MNA stamp,
its current and its ngspice card: see :mod:`.kind`). Every stage iterates over
:data:`ELEMENTS` instead of naming kinds. Adding a kind is its module, one line in
``_TABLE`` below, and its rule in the grammar (docs/architecture.md).

=  ========  =================================  =====  ==========  ========  ================
   rule      word (in messages)                 nodes  reciprocal  solvers   ngspice current
=  ========  =================================  =====  ==========  ========  ================
r  resistor  resistor                           2      yes         exact cd  ``@r1[i]``
v  vsource   voltage source                     2      yes         exact cd  branch ``v1``
i  isource   current source                     2      yes         exact cd  ``@i1[current]``
d  diode     diode                              2      yes         exact cd  ``@d1[id]``
e  vcvs      voltage-controlled voltage source  4      no          exact     branch ``e1``
g  vccs      voltage-controlled current source  4      no          exact     ``@g1[i]``
f  cccs      current-controlled current source  2      no          exact     ``@f1[i]``
h  ccvs      current-controlled voltage source  2      no          exact     branch ``h1``
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

from . import capacitor, cccs, ccvs, diode, inductor, instance, isource, resistor, vccs, vcvs, vsource
from .kind import ElementKind

# The registry: one line per kind, in the order of a circuit's element groups.
_TABLE: tuple[ElementKind, ...] = (
    resistor.KIND,
    vsource.KIND,
    isource.KIND,
    diode.KIND,
    vcvs.KIND,
    vccs.KIND,
    cccs.KIND,
    ccvs.KIND,
    instance.KIND,
    capacitor.KIND,
    inductor.KIND,
)

#: Every kind the netlist reader takes, by letter, in the order above.
ELEMENTS: dict[str, ElementKind] = {k.letter: k for k in _TABLE}
#: Letters of the kinds a flat circuit holds, in the order of its element groups.
CIRCUIT_KINDS: tuple[str, ...] = tuple(k.letter for k in _TABLE if k.in_circuit)
#: The kind of each element rule of the grammar.
BY_RULE: dict[str, ElementKind] = {k.rule: k for k in _TABLE}
#: The kinds a flat circuit holds that the solvers know through their MNA part alone.
LINEAR_KINDS: tuple[str, ...] = tuple(k.letter for k in _TABLE if k.in_circuit and k.linear is not None)


#: Element letters of SPICE that resim does not simulate, with what they are (for messages).
REFUSED: dict[str, str] = {
    "b": "behavioural source (B)",
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
SIMULATES = ("resim simulates DC networks of " + ", ".join(k.word + "s" for k in _TABLE if k.in_circuit)
             + " and subcircuits (" + ", ".join(k.letter.upper() for k in _TABLE if k.in_circuit) + ", X; "
             "C is read as open, L as a short, K is dropped)")


def letters(kinds: tuple[str, ...] | str) -> str:
    """Kind letters as messages write them: ``letters("rvi")`` is ``"R, V and I"``."""
    up = [k.upper() for k in kinds]
    return ", ".join(up[:-1]) + " and " + up[-1] if len(up) > 1 else "".join(up)
