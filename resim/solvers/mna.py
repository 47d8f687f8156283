"""Modified nodal analysis: the linear system of a compiled circuit, one diode state at a time.

Unknowns ``x = [v (n_vars), j_V, j_E, ..., j_D]``: node potentials (ground removed, shorts
merged, Shockley internal nodes appended), branch currents of voltage sources, of each
kind with a branch current (E, in the registry's order: :attr:`MNASystem.cols`), and of
ideal diodes (``Ron = 0``). Row ``k < n_vars`` is KCL at unknown node ``k``
(sum of currents leaving = 0); the other rows are the branch equations. For a state
``on`` of the piecewise-linear diodes and a linearisation point ``u`` of the Shockley
junctions the system is linear, :meth:`MNASystem.solve`:

* a conductance ``g`` between ``a`` and ``b`` stamps ``+g`` at ``(a, a), (b, b)`` and
  ``-g`` at ``(a, b), (b, a)`` (:func:`stamp_g`);
* a branch current ``j`` from ``p`` to ``n`` enters KCL rows ``p`` (+1) and ``n`` (-1)
  (:func:`stamp_branch`); its own row (:func:`row_volt`) says ``v_p - v_n = E`` for a
  voltage source, ``v_p - v_n = Vfwd`` for an ideal diode that is on and
  ``j - goff (v_p - v_n) = 0`` for one that is off;
* a controlled source (E, G, ...) stamps what its kind's module says
  (:class:`~resim.elements.kind.Linear`): a VCVS, ``v_p - v_n - gain (v_cp - v_cn) = 0``
  in its branch row; a VCCS, ``gain (v_cp - v_cn)`` into KCL row ``p`` and out of ``n``;
* a soft diode is ``gon`` (on, with an offset current ``Vfwd (goff - gon)``) or ``goff``;
* a Shockley junction is its conductance ``g(u) + gmin`` and the current
  ``i(u) - g(u) u`` (Newton's linearisation of its law,
  :class:`~resim.junction.JunctionLaw`, with the circuit's gmin).

Both solvers use the system: the exact solver solves it, coordinate descent lays its
answer out in the same unknowns for the certificate (:mod:`resim.solvers.certificate`).
Index -1 is ground in every stamp; its entries are dropped.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..compile import CompiledCircuit
from ..elements import ELEMENTS
from ..elements.kind import Branchwise
from ..elements.stamps import row_volt, stamp_branch, stamp_g

DENSE_MAX = 200  # unknowns; up to this the MNA system is solved dense


class Singular(Exception):
    """The system of this diode state is singular (or its solution is not finite)."""


class MNASystem:
    """The MNA system of one compiled circuit; stamps depend on diode state/linearization.

    ``law`` is the Shockley junctions' law (``cc.shockley_law``, with the circuit's gmin
    across each junction). The unknowns' layout:
    ``nv`` potentials, then the columns ``colV`` (voltage sources), ``cols[kind]`` of each
    kind with a branch current (E, ...) and ``colD`` (ideal diodes ``ideal``); ``size``
    unknowns in all. ``at(kind)`` is where a kind finds its columns (for its stamp and its
    current).
    """

    def __init__(self, cc: CompiledCircuit) -> None:
        self.cc = cc
        self.law = cc.shockley_law
        nv = cc.n_vars
        self.nv = nv
        self.nV = len(cc.vsources.index)
        self.ideal = np.flatnonzero(cc.ideal)
        self.soft = np.flatnonzero(~cc.ideal)
        self.nD = len(self.ideal)
        self.colV = nv + np.arange(self.nV)
        end = nv + self.nV
        self.cols: dict[str, np.ndarray] = {}
        for kind, rec in cc.linear.items():
            n = len(rec) if ELEMENTS[kind].linear.branch else 0
            self.cols[kind] = end + np.arange(n)
            end += n
        self.colD = end + np.arange(self.nD)
        self.size = end + self.nD
        # independent sources, for source stepping
        self.rhs_sources = np.zeros(self.size)
        i = cc.isources
        np.add.at(self.rhs_sources, i.a[i.a >= 0], -i.value[i.a >= 0])
        np.add.at(self.rhs_sources, i.b[i.b >= 0], i.value[i.b >= 0])
        self.rhs_sources[self.colV] = cc.vsources.value
        self.vcrit = self.law.vcrit

    # -- assembly -----------------------------------------------------------------------

    @cached_property
    def base(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The entries (rows, columns, values) that do not depend on the diode state: resistors,
        series RS, sources' branch rows and KCL entries, VCVS and VCCS, ideal diodes' KCL entries.

        Built on first use (:meth:`assemble`), not in ``__init__``: coordinate descent needs
        the system's layout only (``colV``, ``colD``, ``size``, :meth:`volts`), and these
        entries are 3 x 4 x 8 = 96 bytes per resistor. On a 1.57 M-resistor DRN netlist,
        building them eagerly made ``MNASystem(cc)`` peak at 192 bytes per element and hold
        96 for the whole solve (150 MB of the 403 MB peak of ``solve_cd``)."""
        cc = self.cc
        r, rs = cc.resistors, cc.shockley_rs
        parts = [
            stamp_g(r.a, r.b, r.value),
            stamp_g(rs.a, rs.b, rs.value),
            stamp_branch(self.colV, cc.vsources.a, cc.vsources.b),
            row_volt(self.colV, cc.vsources.a, cc.vsources.b),
            *(ELEMENTS[kind].linear.stamp(rec, self.at(kind)) for kind, rec in cc.linear.items()),
            stamp_branch(self.colD, cc.pwl.a[self.ideal], cc.pwl.b[self.ideal]),
        ]
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))

    def at(self, kind: str) -> Branchwise:
        """Where ``kind`` finds its unknowns: its own branch columns and the sources'."""
        return Branchwise(self.cols[kind], self.colV)

    def solve(self, on: np.ndarray, u_sh: np.ndarray, gshunt: float, alpha: float) -> np.ndarray:
        """Solve the linear system for PWL state ``on`` and Shockley linearization at ``u_sh``
        (junctions shunted by a further ``gshunt``, independent sources scaled by ``alpha``);
        raises :class:`Singular`."""
        r, c, v, rhs = self.assemble(on, u_sh, gshunt, alpha)
        if self.size == 0:
            return np.zeros(0)
        if self.size <= DENSE_MAX and not self.nD and not len(self.soft):
            # small, and no active set to settle (its state tests need the sparse LU's exact
            # zeros): dense LAPACK, and no scipy import (fast start-up)
            A = self.dense(r, c, v)
            try:
                x = np.linalg.solve(A, rhs)
                x += np.linalg.solve(A, rhs - A @ x)  # one step of iterative refinement
            except np.linalg.LinAlgError as exc:
                raise Singular(str(exc)) from None
        else:
            import scipy.sparse as sp
            import scipy.sparse.linalg as spla

            A = sp.csc_matrix((v, (r, c)), shape=(self.size, self.size))
            try:
                lu = spla.splu(A)
            except RuntimeError as exc:
                raise Singular(str(exc)) from None
            x = lu.solve(rhs)
            x += lu.solve(rhs - A @ x)  # one step of iterative refinement
        if not np.all(np.isfinite(x)):
            raise Singular("non-finite solution")
        return x

    def dense(self, r: np.ndarray, c: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The system's matrix from its entries (:meth:`assemble`), as a dense array."""
        A = np.zeros((self.size, self.size))
        np.add.at(A, (r, c), v)
        return A

    def assemble(self, on: np.ndarray, u_sh: np.ndarray, gshunt: float,
                 alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The system's matrix entries (rows, columns, values: duplicates add up) and its
        right-hand side, for the arguments of :meth:`solve`."""
        cc = self.cc
        rows, cols, vals = [self.base[0]], [self.base[1]], [self.base[2]]
        rhs = alpha * self.rhs_sources
        # soft PWL diodes: conductance by state, offset current when on
        s = self.soft
        a, b = cc.pwl.a[s], cc.pwl.b[s]
        gon, goff, vf = cc.pwl_gon[s], cc.pwl_goff[s], cc.pwl_vfwd[s]
        st = on[s]
        g = np.where(st, gon, goff)
        i0 = np.where(st, vf * (goff - gon), 0.0)
        for rr, cc_, vv in (stamp_g(a, b, g),):
            rows.append(rr), cols.append(cc_), vals.append(vv)
        np.add.at(rhs, a[a >= 0], -i0[a >= 0])
        np.add.at(rhs, b[b >= 0], i0[b >= 0])
        # ideal diodes: on -> u = Vfwd ; off -> j - goff u = 0
        d = self.ideal
        a, b = cc.pwl.a[d], cc.pwl.b[d]
        st = on[d]
        row = self.colD
        jr = row[~st]
        rows.append(jr), cols.append(jr), vals.append(np.ones(len(jr)))
        rr, cc_, vv = row_volt(row, a, b, np.where(st, 1.0, -cc.pwl_goff[d]))
        rows.append(rr), cols.append(cc_), vals.append(vv)
        rhs[row] = np.where(st, cc.pwl_vfwd[d], 0.0)
        # Shockley junctions, linearized at u_sh
        sh = cc.shockley
        if len(sh.index):
            cur, gd = self.law(u_sh)
            cur = cur + gshunt * u_sh
            gd = gd + gshunt
            ieq = cur - gd * u_sh
            rr, cc_, vv = stamp_g(sh.a, sh.b, gd)
            rows.append(rr), cols.append(cc_), vals.append(vv)
            np.add.at(rhs, sh.a[sh.a >= 0], -ieq[sh.a >= 0])
            np.add.at(rhs, sh.b[sh.b >= 0], ieq[sh.b >= 0])
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        v = np.concatenate(vals)
        keep = (r >= 0) & (c >= 0)
        return r[keep], c[keep], v[keep], rhs

    def volts(self, x: np.ndarray) -> np.ndarray:
        """Node potentials with a trailing 0 so that index -1 (ground) reads 0."""
        return np.append(x[: self.nv], 0.0)
