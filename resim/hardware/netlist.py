"""The netlist of a network's devices (:class:`~.devices.PhysicalNetwork`) with one image applied.

Nodes: ``x0..`` the inputs (sources ``vp<i>``/``vn<i>`` at ``+gain x_i V0``/``-gain x_i V0``),
``h<l>_<j>`` hidden node j of layer l, ``o<k>`` the outputs. Each device of conductance
G > 0 is a resistor ``r<l>_<i>_<j>`` of 1/G ohms; a conductance of 0 is no device. Hidden
nodes carry their diode to ground (excitatory half ``0 -> node``: v >= 0; inhibitory half
``node -> 0``); biases are current sources from ground into their node.

With ideal wires each device joins its two nodes. With ``wire_ohms`` r > 0 each layer of
fan-in m and fan-out n is laid out as crossbar arrays of at most R x C devices (the
profile's ``array_rows`` and ``array_columns``; 0: one m x n array): in each array, row i is
a wire from input node i along the crossings ``a<l>_<i>_<j>``, column j a wire along the
crossings ``b<l>_<i>_<j>`` whose end (the array's last row) joins hidden node j; each wire
segment between neighbouring crossings, and between a node and its wire, is a resistor of r
(``rw...`` on rows, ``rc...`` on columns); device (i, j) joins ``a<l>_<i>_<j>`` to
``b<l>_<i>_<j>``. A layer has 2 m n crossings, present devices or not.

A network whose crossbars were reduced to their ports (:func:`~.crossbar.reduced`) also has
conductances between the nodes of one layer: resistors ``rl<k>_<i>_<j>``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .devices import PhysicalNetwork


def node_names(sizes: list[int]) -> list[list[str]]:
    """The node names of each layer: ``x<i>``, ``h<l>_<j>``, ``o<k>``."""
    L = len(sizes) - 1
    names = [[f"x{i}" for i in range(sizes[0])]]
    for l in range(1, L):
        names.append([f"h{l}_{j}" for j in range(sizes[l])])
    names.append([f"o{k}" for k in range(sizes[L])])
    return names


def netlist_chunks(phys: PhysicalNetwork, image: np.ndarray, title: str, diode_name: str = "dideal",
                   lines_per_chunk: int = 200_000, crossbar: bool | None = None) -> Iterator[str]:
    """The netlist of ``phys`` with ``image`` applied (its first line ``* title``), in pieces
    of about ``lines_per_chunk`` lines, each ending in a newline (DRN-XL's is 50 M lines,
    which a writer streams instead of holding). ``crossbar``: lay the layers out as crossbars
    (default: when the wires have resistance); wires of 0 ohms are then 0 V sources, exact
    shorts."""
    if crossbar is None:
        crossbar = phys.wire_ohms > 0
    names = node_names(phys.sizes)
    volts = phys.input_volts(image)
    n_pix = len(volts) // 2
    head = [f"* {title}"]
    for i, v in enumerate(volts.tolist()):
        head.append(f"{'vp' if i < n_pix else 'vn'}{i % n_pix} {names[0][i]} 0 {v!r}")
    yield "\n".join(head) + "\n"
    for l, g in enumerate(phys.G):
        if crossbar:
            yield from _crossbar(l, g, names[l], names[l + 1], phys.wire_ohms, phys.array_shape(*g.shape))
        else:
            yield from _devices(l, g, names[l], names[l + 1], lines_per_chunk)
    for k, lat in enumerate(phys.lateral or ()):
        if lat is not None:
            yield from _lateral(k, lat, names[k])
    tail = []
    for l in range(1, len(names) - 1):
        half = len(names[l]) // 2
        for j, node in enumerate(names[l]):
            tail.append(f"d{l}_{j} 0 {node} {diode_name}" if j < half else f"d{l}_{j} {node} 0 {diode_name}")
    for l, b in enumerate(phys.bias):
        for j, bj in enumerate(np.asarray(b, float).tolist()):
            if bj != 0.0:
                tail.append(f"ib{l + 1}_{j} 0 {names[l + 1][j]} {bj!r}")
    tail.append(phys.diode.model_card(diode_name))
    tail += [".op", ".end"]
    yield "\n".join(tail) + "\n"


def _devices(l: int, g: np.ndarray, inputs: list[str], outputs: list[str], lines_per_chunk: int) -> Iterator[str]:
    """Layer ``l``'s devices between its nodes, a column block at a time (as ``g`` is stored)."""
    step = max(1, lines_per_chunk // max(1, g.shape[0]))
    for a in range(0, g.shape[1], step):
        block = g[:, a:a + step]
        cols, rows = np.nonzero(block.T > 0)  # in (column, row) order, as the blocks are read
        if not len(rows):
            continue
        values = block[rows, cols].astype(float)
        yield "\n".join(f"r{l}_{i}_{j} {inputs[i]} {outputs[j]} {1.0 / gij!r}"
                        for i, j, gij in zip(rows.tolist(), (cols + a).tolist(), values.tolist())) + "\n"


def _lateral(k: int, g: np.ndarray, nodes: list[str]) -> Iterator[str]:
    """Conductances ``g`` [n, n] (symmetric) between the nodes of one layer, each pair once."""
    i, j = np.nonzero(np.triu(g, 1) > 0)
    if len(i):
        yield "\n".join(f"rl{k}_{a}_{b} {nodes[a]} {nodes[b]} {1.0 / gab!r}"
                         for a, b, gab in zip(i.tolist(), j.tolist(), g[i, j].tolist())) + "\n"


def _crossbar(l: int, g: np.ndarray, inputs: list[str], outputs: list[str], r: float,
              arrays: tuple[int, int]) -> Iterator[str]:
    """Layer ``l`` as crossbar arrays of ``arrays`` (rows, columns) with wire segments of
    ``r`` ohms (see the module docstring)."""
    m, n = g.shape
    R, C = arrays
    wire = "r" if r > 0 else "v"  # a segment of 0 ohms: a 0 V source (a resistor of 0 is read as 1 mOhm)
    r = repr(float(r))
    for i in range(m):  # row i: its wires, then its devices
        lines = [f"{wire}w{l}_{i}_{j} {inputs[i] if j % C == 0 else f'a{l}_{i}_{j - 1}'} a{l}_{i}_{j} {r}"
                 for j in range(n)]  # each array's row wire starts at the input node
        row = np.asarray(g[i], float)
        present = np.flatnonzero(row > 0)
        lines += [f"r{l}_{i}_{j} a{l}_{i}_{j} b{l}_{i}_{j} {1.0 / gij!r}"
                  for j, gij in zip(present.tolist(), row[present].tolist())]
        last = (i + 1) % R == 0 or i + 1 == m  # the array's last row: its columns end at the output nodes
        lines += [f"{wire}c{l}_{i}_{j} b{l}_{i}_{j} {outputs[j] if last else f'b{l}_{i + 1}_{j}'} {r}"
                  for j in range(n)]
        yield "\n".join(lines) + "\n"
