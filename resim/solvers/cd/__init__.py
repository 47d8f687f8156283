"""Exact coordinate descent (docs/theory.md §2): the fast core, for reciprocal circuits.

The circuit's content is minimised one coordinate at a time, each step exactly:

    c_k <- clip( (b_k - sum_{j != k} L_kj c_j) / L_kk , lo_k , hi_k )

where ``c`` are the free coordinates, ``L = P^T G P`` the conductance matrix seen by them
and ``b = P^T (inj - G o)`` the injected currents with the fixed potentials ``o`` moved to
the right-hand side. A coordinate is a node, or a *supernode*: nodes tied together by
voltage sources with no path to ground move as one (``v = P c + o``, ``o`` holding the
sources' offsets). Ideal diodes (``Ron = 0``) are the bounds ``lo``/``hi``; a diode between
two free coordinates bounds each by the other's current value. Shockley junctions make the
1-D problem smooth and convex: a safeguarded Newton iteration per coordinate solves it to
rounding.

Coordinates that share no element are updated together (one sparse product per colour);
the colouring is 2 colours whenever the coupling graph is bipartite (a layered network).
Right-hand sides come in batches: ``c`` has shape ``[B, m]``.

Soft piecewise-linear diodes (``Ron > 0``) add ``(gon - goff) max(u - Vfwd, 0)`` to the
1-D problem (their ``goff`` is in ``G``): Newton on a convex piecewise-linear slope ends
exactly on the right segment. Over-relaxation is adaptive: omega is revised from the
observed contraction every few sweeps; layered networks converge before it starts. Scope:
R, V, I and all diodes but those with a recombination current (``ISR``) or a reverse knee
(``IKR``), whose law steps down; controlled sources (E, G, ...) and those diodes raise
:class:`CDUnsupported` (``method="auto"`` then uses the exact solver).

A result is accepted only through the exact solver's certificate (:func:`solve_cd`). A
stalled point (docs/theory.md §2's example, stuck at (1 V, 1 V): a conducting diode between two free
nodes) fails it; the diodes that join free coordinates at their bound are then *tied*
(held at u = Vfwd like voltage sources, so their clusters move as blocks) and untied when
their current turns negative, until the point is certified. Only what that does not
settle goes to the exact solver (``method = "cd+exact"``); nothing uncertified is returned.

Two more hand-overs, each with its reason in ``method_reason``: sweeps that *stall*
(:func:`relax`: the contraction observed over the last sweeps would not meet the tolerance
within ``max_sweeps``, e.g. a floating Shockley bridge whose common mode hangs on 1 Meg),
and nodes with no conductance to a fixed potential (:class:`Unanchored`: held only by
ideal diodes, which only the active set can decide). So no solve runs unbounded.

A batch of source values (a source sweep, a DRN's inputs) is one relaxation, each item
checked by the coordinate problem's KKT conditions (:func:`solve_batch`).

The modules, one concept each:

* :mod:`resim.solvers.options`: its options, :class:`~resim.solvers.options.SolverOptions`
  (the sweeps' precision, the tolerances, the sweep limit; shared with the exact solver,
  and named :class:`CDOptions` here too);
* :mod:`~resim.solvers.cd.problem`: the coordinate form (:func:`prepare`, :class:`CDProblem`,
  the source forest, the colouring, the anchoring check, right-hand sides);
* :mod:`~resim.solvers.cd.laws`: the 1-D element laws and their Newton minimiser;
* :mod:`~resim.solvers.cd.kernel`: the relaxation (:func:`relax`: colour plans, bounds, SOR);
* :mod:`~resim.solvers.cd.stall`: stall handling (:func:`projected_sweeps`, tying diodes);
* :mod:`~resim.solvers.cd.solve`: one certified operating point (:func:`solve_cd`);
* :mod:`~resim.solvers.cd.batch`: a certified batch (:func:`solve_batch`).
"""

from ..options import SolverOptions as CDOptions  # the name README and earlier releases use
from .batch import BatchResult, solve_batch
from .kernel import Relaxation, relax
from .problem import CDProblem, CDUnsupported, Unanchored, prepare
from .solve import solve_cd
from .stall import STALL_WINDOW, projected_sweeps

__all__ = [
    "BatchResult",
    "CDOptions",
    "CDProblem",
    "CDUnsupported",
    "Relaxation",
    "STALL_WINDOW",
    "Unanchored",
    "prepare",
    "projected_sweeps",
    "relax",
    "solve_batch",
    "solve_cd",
]
