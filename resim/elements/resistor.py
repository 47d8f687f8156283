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

from .kind import ElementKind

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


KIND = ElementKind("r", "resistor", "resistor", 2, "R", "write: Rname node1 node2 value   (e.g. R1 in out 10k)",
                   ngspice_current="i", sweepable=True, read=read)
