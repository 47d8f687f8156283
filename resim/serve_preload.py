"""Imported once by ``resim serve``'s fork server (:mod:`resim.serve_jobs`), before it
forks the process of any command: loads what a served command needs, builds the netlist
grammar, and solves two small circuits (Shockley and ideal diodes: both solvers' lazy
imports, scipy's linear algebra among them) in every output format, so that every command
starts as warm as a second command in one process would. Importing it is its whole job:
each command's process would otherwise pay these first-time costs again (measured: 30 ms
for a diode clipper, 110 ms for the ideal rectifier)."""

from . import api
from . import format as formats
from .netlist import grammar

_WARM_UP = """warm-up circuits of resim serve
V1 in 0 5
R1 in a 1k
D1 a out ideal
R2 out 0 2k
R3 in s 1k
D2 s 0 shockley
.model ideal D(Ron=0 Vfwd=0)
.model shockley D(IS=1e-14 N=1)
"""


def _warm_up() -> None:
    grammar.grammar()
    result = api.solve(api.load_netlist(_WARM_UP))
    formats.to_csv(result), formats.to_json(result), formats.table_text(result, terminal=False)


_warm_up()
