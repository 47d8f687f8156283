"""D: the diode, from anode ``a`` to cathode ``k``; its value is the area factor, its
``ref`` the index of its ``.model`` in ``Circuit.models``.

Native everywhere: its models (Shockley with breakdown and high injection, piecewise
linear, ideal) have laws of their own in each solver (resim.junction, resim.solvers), and
the ngspice translation writes each family differently.
"""

from .kind import ElementKind

KIND = ElementKind("d", "diode", "diode", 2, "D",
                   "write: Dname anode cathode model [area]   (and define the model with .model)",
                   ngspice_current="id", refers="model")
