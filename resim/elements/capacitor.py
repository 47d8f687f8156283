"""C: the capacitor, open at DC as in SPICE: dropped, with a warning (its nodes still count
as connected). Its value and options are read and not used."""

from __future__ import annotations

from .kind import ElementKind


def read_reactive(card):
    """A C or L card: its value, if any; ``ic=``, ``m=``, a model name: nothing at DC."""
    val = None
    for item in card.items:
        if card.is_(item, "number", "braced") and val is None:
            val = card.value(item)
        elif not card.is_(item, "assignment", "comma", "word"):
            raise card.unexpected(item)
    return card.stmt(card.nodes(), val)


def open_at_dc(emit) -> None:
    emit.note("capacitor", "read as open (a DC operating point, as in SPICE)")
    emit.drop()


KIND = ElementKind("c", "capacitor", "capacitor", 2, None, "write: Cname node1 node2 value", in_circuit=False,
                   read=read_reactive, expand=open_at_dc)
