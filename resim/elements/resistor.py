"""R: the resistor, ``i = (v_a - v_b) / R`` from ``a`` to ``b``.

Native to the front end (its card's many forms, ``.model`` R, the bulk reader), to both
solvers (coordinate descent is written for it) and to the ngspice translation (a 0 ohm
resistor is written as a 0 V source, whose current ngspice reports).
"""

from .kind import ElementKind

KIND = ElementKind("r", "resistor", "resistor", 2, "R", "write: Rname node1 node2 value   (e.g. R1 in out 10k)",
                   ngspice_current="i", sweepable=True)
