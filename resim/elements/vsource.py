"""V: the independent voltage source, ``v_p - v_n = value``; its current flows into ``p``,
through the source, out of ``n`` (a source delivering power has a negative current).

Native to the front end (DC values and waveforms at t = 0, the bulk reader) and to both
solvers; a 0 V source is a short, merged by compilation unless a current-controlled
source reads its current.
"""

from .kind import ElementKind, NgspiceLine


def write(line: NgspiceLine) -> str:
    return f"{line.name} {' '.join(line.nodes)} dc {line.value}"


KIND = ElementKind("v", "vsource", "voltage source", 2, "V", "write: Vname node+ node- [DC] value   (e.g. V1 in 0 DC 5)",
                   source=True, sweepable=True, holds_voltage=True, write=write)
