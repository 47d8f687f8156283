"""D: the diode, from anode ``a`` to cathode ``k``; its value is the area factor, its
``ref`` the index of its ``.model`` in ``Circuit.models``.

Its card, as ngspice 39 reads it (:func:`read`)::

    Dname a k model [area] [area= pj= m= off ic=]

(``off`` and ``ic=`` are starting guesses: no effect on the operating point). Native to
elaboration (the models' temperature laws, resim.netlist.models), to the bulk reader (plain
four-token cards), to the solvers (each family has its law: resim.junction, the
piecewise-linear and ideal forms in resim.solvers) and to the ngspice translation, which
writes each family differently.
"""

from __future__ import annotations

from .kind import ElementKind
from .resistor import OWN_M

KEYS = ("area", "pj", "m")
IGNORED = ("ic",)


def read(card):
    """A D card's statement: its nodes, its model's name, its area and parameters."""
    area = None
    params: dict = {}
    columns: dict[str, int] = {}
    for item in card.items:
        if card.is_(item, "comma") or card.word(item) == "off":
            continue  # `off`: a starting guess for the Newton iteration, no effect on the answer
        if card.is_(item, "number", "braced") and area is None and "area" not in params:
            area = card.value(item)
        elif card.is_(item, "assignment"):
            if card.key(item) in ("temp", "dtemp"):
                raise card.error(item, f"a diode's own '{card.key(item)}' is not supported",
                                 "set the circuit's temperature with .temp or .options temp=")
            card.params(item, KEYS, params, columns, IGNORED)
        else:
            raise card.unexpected(item, "an area, name=value or the end of the line")
    if area is not None:
        if "area" in params:
            raise card.error(None, "area given twice (a value and area=)", "give one of them")
        params["area"] = area
    val = params.pop("area", None)  # None: the model's AREA (1 by default)
    anode, cathode, model = card.heads
    return card.stmt(card.nodes()[:2], val, card.lower(model), params, columns)


def expand(emit) -> None:
    """The card with its model's variant for its ``area``, ``pj`` and ``m`` (times the
    instance's) through the models' machinery (resim.netlist.models)."""
    stmt, params, m = emit.stmt, emit.params, emit.m
    if "m" in params and m != 1.0:
        emit.note(*OWN_M)
    ref, value = emit.diode(stmt.ref or "", params.get("area", emit.value), params.get("pj"), params.get("m", 1.0) * m)
    emit.add("d", emit.name, emit.nodes, value, ref=ref)


KIND = ElementKind("d", "diode", "diode", 2, "D",
                   "write: Dname anode cathode model [area]   (and define the model with .model)",
                   ngspice_current="id", refers="model", read=read, expand=expand)
