"""The netlist of a network's devices (:class:`~.devices.PhysicalNetwork`) with one image applied.

Nodes: ``x0..`` the inputs (sources ``vp<i>``/``vn<i>`` at ``+gain x_i V0``/``-gain x_i V0``),
``h<l>_<j>`` hidden node j of layer l, ``o<k>`` the outputs. Each device of conductance
G > 0 is a resistor ``r<l>_<i>_<j>`` of 1/G ohms; a conductance of 0 is no device. Hidden
nodes carry their diode to ground (excitatory half ``0 -> node``: v >= 0; inhibitory half
``node -> 0``); biases are current sources from ground into their node.

With ideal wires each device joins its two nodes. With ``wire_ohms`` r > 0 each layer of
fan-in m and fan-out n is an m x n crossbar: row i is a wire from input node i along the
crossings ``a<l>_<i>_<j>`` (j = 0..n-1), column j a wire along the crossings ``b<l>_<i>_<j>``
(i = 0..m-1) whose end (i = m-1) is hidden node j; each wire segment between neighbouring
crossings, and from a node to its wire, is a resistor of r (``rw...`` on rows, ``rc...`` on
columns); device (i, j) joins ``a<l>_<i>_<j>`` to ``b<l>_<i>_<j>``. The crossbar has 2 m n
nodes of its own, present devices or not.
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
            yield from _crossbar(l, g, names[l], names[l + 1], phys.wire_ohms, lines_per_chunk)
        else:
            yield from _devices(l, g, names[l], names[l + 1], lines_per_chunk)
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


def _crossbar(l: int, g: np.ndarray, inputs: list[str], outputs: list[str], r: float,
              lines_per_chunk: int) -> Iterator[str]:
    """Layer ``l`` as a crossbar with wire segments of ``r`` ohms (see the module docstring)."""
    m, n = g.shape
    wire = "r" if r > 0 else "v"  # a segment of 0 ohms: a 0 V source (a resistor of 0 is read as 1 mOhm)
    r = repr(float(r))
    for i in range(m):  # row i: its wire, then its devices
        lines = [f"{wire}w{l}_{i}_0 {inputs[i]} a{l}_{i}_0 {r}"]
        lines += [f"{wire}w{l}_{i}_{j} a{l}_{i}_{j - 1} a{l}_{i}_{j} {r}" for j in range(1, n)]
        row = np.asarray(g[i], float)
        present = np.flatnonzero(row > 0)
        lines += [f"r{l}_{i}_{j} a{l}_{i}_{j} b{l}_{i}_{j} {1.0 / gij!r}"
                  for j, gij in zip(present.tolist(), row[present].tolist())]
        lines += [f"{wire}c{l}_{i}_{j} b{l}_{i}_{j} {f'b{l}_{i + 1}_{j}' if i + 1 < m else outputs[j]} {r}"
                  for j in range(n)]
        yield "\n".join(lines) + "\n"
