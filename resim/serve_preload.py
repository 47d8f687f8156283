"""Imported once by ``resim serve``'s fork server (:mod:`resim.serve_jobs`), before it
forks the process of any command: loads what a served command needs and builds the netlist
grammar, so that every command starts warm. Importing it is its whole job."""

from . import api  # noqa: F401
from .compile import compile_circuit  # noqa: F401
from .netlist import grammar, parser  # noqa: F401
from .solvers import auto, cd, exact  # noqa: F401

grammar.grammar()
