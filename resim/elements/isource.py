"""I: the independent current source, a current ``value`` from ``p`` through the source to
``n``; ``m=`` makes m copies in parallel.

Its card is V's (:func:`resim.elements.vsource.read`), with ``m=``. Native to the bulk
reader and to both solvers.
"""

from .kind import ElementKind, NgspiceLine
from .vsource import read


def write(line: NgspiceLine) -> str:
    return f"{line.name} {' '.join(line.nodes)} dc {line.value}"


KIND = ElementKind("i", "isource", "current source", 2, "I",
                   "write: Iname node+ node- [DC] value   (current flows from node+ through the source to node-)",
                   source=True, ngspice_current="current", sweepable=True, parallel=True, read=read, write=write)
