"""I: the independent current source, a current ``value`` from ``p`` through the source to
``n``; ``m=`` makes m copies in parallel.

Native to the front end (its card is V's) and to both solvers.
"""

from .kind import ElementKind, NgspiceLine


def write(line: NgspiceLine) -> str:
    return f"{line.name} {' '.join(line.nodes)} dc {line.value}"


KIND = ElementKind("i", "isource", "current source", 2, "I",
                   "write: Iname node+ node- [DC] value   (current flows from node+ through the source to node-)",
                   source=True, ngspice_current="current", sweepable=True, parallel=True, write=write)
