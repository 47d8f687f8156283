"""Entries of the MNA system, as COO triples (rows, columns, values; index -1 is ground and
its entries are dropped by the assembly): the vocabulary in which each kind writes its
stamp (:class:`~resim.elements.kind.Linear`) and :mod:`resim.solvers.mna` assembles the
system."""

from __future__ import annotations

import numpy as np


def stamp_g(a: np.ndarray, b: np.ndarray, g: np.ndarray):
    """COO entries of conductances ``g`` between unknowns ``a`` and ``b`` (-1 = ground):
    ``+g`` at ``(a, a), (b, b)``, ``-g`` at ``(a, b), (b, a)``."""
    return (np.concatenate([a, b, a, b]), np.concatenate([a, b, b, a]), np.concatenate([g, g, -g, -g]))


def stamp_branch(col: np.ndarray, p: np.ndarray, n: np.ndarray):
    """A branch current ``col`` leaving ``p`` and entering ``n``: its KCL entries."""
    ones = np.ones(len(col))
    return (np.concatenate([p, n]), np.concatenate([col, col]), np.concatenate([ones, -ones]))


def row_volt(row: np.ndarray, p: np.ndarray, n: np.ndarray, scale: np.ndarray | float = 1.0):
    """Branch row entries ``scale (v_p - v_n)``."""
    s = np.broadcast_to(np.asarray(scale, float), row.shape)
    return (np.concatenate([row, row]), np.concatenate([p, n]), np.concatenate([s, -s]))


def transfer(p: np.ndarray, n: np.ndarray, col_p: np.ndarray, col_n: np.ndarray, gain: np.ndarray):
    """A current ``gain (x[col_p] - x[col_n])`` leaving ``p`` and entering ``n``: the KCL
    entries of a controlled current (``col_n`` may be -1: no second term)."""
    return (np.concatenate([p, p, n, n]), np.concatenate([col_p, col_n, col_p, col_n]),
            np.concatenate([gain, -gain, -gain, gain]))


def joined(*parts):
    """Several stamps' entries as one (rows, columns, values)."""
    return tuple(np.concatenate([part[k] for part in parts]) for k in range(3))
