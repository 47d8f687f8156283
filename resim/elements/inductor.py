"""L: the inductor, a short at DC as in SPICE: a 0 V source ``v.<name>``, with a warning.
Its card is read as C's; its value and options are not used."""

from __future__ import annotations

from .capacitor import read_reactive
from .kind import ElementKind


def short_at_dc(emit) -> None:
    emit.add("v", emit.element_name("v", "v." + emit.stmt.name), emit.nodes, 0.0, synthesized=True)
    emit.note("inductor", "read as a short, a 0 V source 'v.<name>' (a DC operating point, as in SPICE)")


KIND = ElementKind("l", "inductor", "inductor", 2, None, "write: Lname node1 node2 value", in_circuit=False,
                   read=read_reactive, expand=short_at_dc)
