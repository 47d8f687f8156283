r"""A crossbar's wires eliminated exactly: the network of conductances it is between its ports.

A layer laid out as crossbar arrays (:mod:`.netlist`) has 2 m n nodes of its own: the
crossings ``a`` on the row wires and ``b`` on the column wires. Only its ports matter to the
rest of the circuit: the row drivers (the layer's input nodes) and the column ends (its
output nodes). The array is linear, so it is, between its ports, exactly the network whose
Laplacian is the Schur complement of its own (Kron reduction):

.. math::

    Y = L_{PP} - L_{PI} L_{II}^{-1} L_{IP},

with ``I`` the crossings and ``P`` the ports. ``Y`` is again the Laplacian of a resistive
network (its rows sum to 0 and its off-diagonal entries are <= 0): ``-Y_pq`` is the
conductance between ports p and q. Every port pair of one array is joined: a row to each
column (the devices, seen through the wires), and rows among themselves and columns among
themselves (the currents that the wires share).

:func:`array_ports` reduces arrays (a row of crossings at a time, in dense blocks); :func:`reduced`
turns a :class:`~.devices.PhysicalNetwork` with wires into the plain layered network with
those equivalent conductances, plus the conductances between nodes of one layer
(``lateral``). The node voltages of the two circuits are the same (tests/test_hardware.py
checks it against the full netlist, solved by resim); the reduced one has no crossings, so
``resim evaluate --hardware`` solves it in batches as it solves a network without wires.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .devices import PhysicalNetwork


def array_ports(g: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The exact equivalent of arrays of devices ``g`` [A, m, n] (or one, [m, n]; siemens,
    0: no device) with wire segments of ``r`` ohms, laid out as :mod:`.netlist` writes them:
    row i driven at its first crossing, column j ending at its last.

    Returns the conductances between the ports (siemens, each >= 0): ``rows_columns``
    [A, m, n], ``rows_rows`` [A, m, m] and ``columns_columns`` [A, n, n] (symmetric, zero
    diagonals; without the A axis for one array).

    The crossings are eliminated a row at a time, in dense blocks over the A arrays at once
    (w = 1/r):

    1. Row i's wire ``a_i`` (a tridiagonal ``T_i``: w to each neighbour, the first to port
       ``x_i``, and ``g_ij`` to ``b_ij``) leaves, between ``x_i`` and the crossings ``b_i``
       of the column wires, ``S_i = diag(w, g_i) - B_i^T T_i^{-1} B_i`` with
       ``B_i = -[w e_0 | diag(g_i)]``.
    2. The column wires join ``b_i`` to ``b_{i+1}`` (to the ports ``h`` after the last
       row) with w each. Carrying the matrix ``K`` over the frontier {b_i, x_0..x_i},
       eliminating ``b_i`` leaves ``-w^2 K_bb^{-1}`` on the next crossings,
       ``w K_bb^{-1} K_bx`` between them and the ports, and ``K_xx - K_xb K_bb^{-1} K_bx``.

    About ``n^3 + (n + m) n^2`` work per row of crossings, and memory for one row's blocks
    and ``K`` (``A (n + m)^2`` numbers): no sparse solve with m + n right-hand sides.
    """
    g = np.asarray(g, float)
    one = g.ndim == 2
    if one:
        g = g[None]
    A, m, n = g.shape
    w = 1.0 / r
    eye = np.eye(n)
    K = np.zeros((A, n + m, n + m))  # over [b_i (n), x_0..x_i]
    for i in range(m):
        x = n + i + 1  # the frontier's size once row i has joined
        S_xx, S_xb, S_bb = _row_wire(g[:, i], w)
        K[:, :n, :n] += S_bb + (2 * w if i else w) * eye  # its column segments: above (past the first row) and below
        K[:, x - 1, x - 1] = S_xx
        K[:, :n, x - 1] = K[:, x - 1, :n] = S_xb
        Kbb, Kbx, Kxx = K[:, :n, :n], K[:, :n, n:x], K[:, n:x, n:x]
        inv = np.linalg.inv(Kbb)
        inv_bx = inv @ Kbx
        Kxx -= np.swapaxes(Kbx, 1, 2) @ inv_bx  # in place: K's entries past x are still 0
        K[:, :n, n:x] = w * inv_bx  # b_i eliminated: what it leaves on the next crossings (or the ports h)
        K[:, n:x, :n] = np.swapaxes(K[:, :n, n:x], 1, 2)
        K[:, :n, :n] = (-w * w) * inv
    K[:, :n, :n] += w * eye  # the ports h: their own segment
    Y = 0.5 * (K + np.swapaxes(K, 1, 2))  # over [h (n), x (m)]
    G = -Y
    G[:, np.arange(n + m), np.arange(n + m)] = 0.0
    np.maximum(G, 0.0, out=G)  # -Y_pq >= 0 exactly; rounding may leave -1e-20
    rows_columns, rows_rows, columns_columns = np.swapaxes(G[:, :n, n:], 1, 2), G[:, n:, n:], G[:, :n, :n]
    if one:
        return rows_columns[0], rows_rows[0], columns_columns[0]
    return rows_columns, rows_rows, columns_columns


def _row_wire(g: np.ndarray, w: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 1 for one row of each array, ``g`` [A, n]: ``S_xx`` [A], ``S_xb`` [A, n] and
    ``S_bb`` [A, n, n], the row wire's equivalent between its port and its crossings."""
    A, n = g.shape
    k = np.arange(n)
    T = np.zeros((A, n, n))
    T[:, k, k] = g + w + w * (k < n - 1)
    T[:, k[:-1], k[1:]] = T[:, k[1:], k[:-1]] = -w
    Tinv = np.linalg.inv(T)
    S_xx = w - w * w * Tinv[:, 0, 0]
    S_xb = -w * g * Tinv[:, 0, :]
    S_bb = g[:, :, None] * np.eye(n) - g[:, :, None] * Tinv * g[:, None, :]
    return S_xx, S_xb, S_bb


def reduced(phys: PhysicalNetwork) -> PhysicalNetwork:
    """``phys`` with every crossbar array replaced by its exact equivalent between its ports
    (:func:`array_ports`): the conductances ``G`` between layers, and ``lateral[k]`` [n_k, n_k]
    between the nodes of layer k (None for the inputs: conductances between two sources
    change no node voltage, so they are left out). Without wires, ``phys`` itself."""
    if not phys.wire_ohms:
        return phys
    sizes = phys.sizes
    lateral: list[np.ndarray | None] = [None] + [np.zeros((s, s)) for s in sizes[1:]]
    G = []
    for l, g in enumerate(phys.G):
        m, n = g.shape
        R, C = phys.array_shape(m, n)
        eq = np.zeros((m, n))
        corners = [(i, j) for i in range(0, m, R) for j in range(0, n, C)]
        shapes: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for i, j in corners:  # arrays of one shape are reduced together
            shapes.setdefault((min(R, m - i), min(C, n - j)), []).append((i, j))
        for (h, w), at in shapes.items():
            rc, rr, cc = array_ports(np.stack([g[i:i + h, j:j + w] for i, j in at]), phys.wire_ohms)
            for k, (i, j) in enumerate(at):
                eq[i:i + h, j:j + w] = rc[k]
                if lateral[l] is not None:
                    lateral[l][i:i + h, i:i + h] += rr[k]
                lateral[l + 1][j:j + w, j:j + w] += cc[k]
        G.append(eq)
    return dataclasses.replace(phys, G=G, wire_ohms=0.0, arrays=(0, 0), lateral=tuple(lateral))
