"""R: the resistor, ``i = (v_a - v_b) / R`` from ``a`` to ``b``.

Its card, as ngspice 39 reads it (:func:`read`)::

    Rname n1 n2 [value] [model] [r=|resistance= l= w= tc1= tc2= tc=a[,b] tce= m= scale= temp= dtemp=]

(``ac=``, ``noisy=`` have no DC meaning and are ignored). Native to elaboration (its
``.model`` R and temperature laws, resim.netlist.models), to the bulk reader (plain
``Rname a b value`` lines without the grammar), to both solvers (coordinate descent is
written for it) and to the ngspice translation (a 0 ohm resistor is written as a 0 V
source, whose current ngspice reports).
"""

from __future__ import annotations

import math

from .kind import ElementKind

#: The warnings of elaboration, one per kind of change (word, text): each names the resistors.
ZERO = ("resistor", "of 0 ohm: read as 1 milliohm, as ngspice does")
DEFAULTED = ("resistor", "without a resistance or a model that gives one: 1 milliohm is used, as ngspice does")
OPEN = ("resistor", "of width W - 2 NARROW = 0: left open, as ngspice does")
OWN_M = ("element", "inside a subcircuit instance with m= has an m of its own: resim multiplies the two "
                    "(ngspice 39 keeps only the instance's)")

KEYS = {"r": "r", "resistance": "r", "l": "l", "w": "w", "tc1": "tc1", "tc2": "tc2", "tc": "tc1",
        "tce": "tce", "m": "m", "scale": "scale", "temp": "temp", "dtemp": "dtemp"}
IGNORED = ("ac", "noisy")


def read(card):
    """An R card's statement: its value (or ``r=``), its model's name, its parameters."""
    val = model = None
    params: dict = {}
    columns: dict[str, int] = {}
    after_tc = False  # the previous items were `tc=a ,`: a value now is tc2
    for item in card.items:
        if card.is_(item, "comma"):
            continue
        if after_tc and card.is_(item, "number", "braced") and "tc2" not in params:
            params["tc2"], columns["tc2"] = card.value(item), card.column(item)
            after_tc = False
            continue
        after_tc = False
        if card.is_(item, "assignment"):
            card.params(item, KEYS, params, columns, IGNORED)
            after_tc = card.key(item) == "tc"
        elif card.is_(item, "number", "braced") and val is None and "r" not in params:
            val = card.value(item)
            columns["value"] = card.column(item)
        elif card.is_(item, "word") and model is None:
            model = card.word(item)
            columns["model"] = card.column(item)
        else:
            raise card.unexpected(item, "a model name or name=value" if val is not None else card.EXPECT_VALUE)
    if "r" in params:
        if val is not None:
            raise card.error(card.item_at(columns["r"]), "resistance given twice (a value and r=)",
                             "give the value or r=, not both")
        val = params.pop("r")
    return card.stmt(card.nodes(), val, model, params, columns)


def expand(emit) -> None:
    """The card's resistance as ngspice 39 computes it (its model, ``L``/``W``, temperature
    factors, ``m`` times the instance's) through the models' machinery; a bare parameter
    name as its value (``R1 a b rv``, ``rv`` a ``.param``); 0 ohm read as 1 milliohm; an
    infinite one (a model width of 0) left open. Each change is said in a warning."""
    stmt, value, params, m = emit.stmt, emit.value, emit.params, emit.m
    model = None
    if stmt.ref is not None:
        model = emit.resistor_model(stmt.ref)
        if model is None and value is None and emit.parameter(stmt.ref) is not None:  # `R1 a b rv`, rv a .param
            value = emit.parameter(stmt.ref)
        elif model is None:
            known = ", ".join(emit.resistor_models()) or "none defined"
            ref = emit.shown(stmt.ref)
            raise emit.error(stmt.columns.get("model", 1), f"resistor '{stmt.name}': undefined resistor model "
                             f"'{ref}'", f"define it with .model {ref} R(...) (known: {known}), or give a resistance")
    if value == 0.0:
        emit.note(*ZERO)
    value, defaulted, factor, celsius = emit.resistance(value, model, {**params, "m": params.get("m", 1.0) * m})
    if defaulted:
        emit.note(*DEFAULTED)
    if factor < 0.0:
        emit.warn(f"resistor '{emit.name}': TC1/TC2 make its temperature factor negative at {celsius:g} C "
                  f"({factor:g}: a resistance of {value:g} ohm); kept, as ngspice does")
    if math.isinf(value):  # a model's width W - 2 NARROW of 0: open, as ngspice
        emit.note(*OPEN)
        emit.drop()
        return
    if "m" in params and m != 1.0:
        emit.note(*OWN_M)
    emit.add("r", emit.name, emit.nodes, value)


KIND = ElementKind("r", "resistor", "resistor", 2, "R", "write: Rname node1 node2 value   (e.g. R1 in out 10k)",
                   ngspice_current="i", sweepable=True, read=read, expand=expand)
