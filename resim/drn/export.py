"""A trained DRN with one image applied, as a netlist ``resim solve`` and ngspice both run.

Nodes: ``x0..`` the inputs (``vp<i>``/``vn<i>`` sources at ``+gain x_i``/``-gain x_i``),
``h<l>_<j>`` hidden node j of layer l, ``o<k>`` the outputs. Every conductance g > 0 is a
resistor 1/g; zero conductances are left out. Hidden nodes carry their ideal diode to
ground (excitatory half: ``0 -> node``, keeping v >= 0; inhibitory half: ``node -> 0``);
biases are current sources from ground into their node. The prediction is the arg-max of
``v(o0)..v(o<classes-1>)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .network import DRN


def node_names(net: DRN) -> list[list[str]]:
    sizes = net.sizes
    L = len(sizes) - 1
    names = [[f"x{i}" for i in range(sizes[0])]]
    for l in range(1, L):
        names.append([f"h{l}_{j}" for j in range(sizes[l])])
    names.append([f"o{k}" for k in range(sizes[L])])
    return names


def to_netlist(net: DRN, image: np.ndarray, title: str = "trained DRN") -> str:
    """The whole netlist as one string (:func:`netlist_chunks` joined)."""
    return "".join(netlist_chunks(net, image, title))


def netlist_chunks(net: DRN, image: np.ndarray, title: str = "trained DRN",
                   lines_per_chunk: int = 200_000) -> Iterator[str]:
    """The netlist of ``net`` with ``image`` applied, in pieces of about ``lines_per_chunk``
    lines each ending in a newline: DRN-XL's is about 26 M lines (1.2 GB), which a writer
    can stream instead of holding it twice."""
    names = node_names(net)
    x = np.asarray(image, float).ravel()
    n_pix = len(x)
    head = [f"* {title}: {'-'.join(map(str, net.sizes))}, input gain {net.gain:g} (resim export)"]
    volts = net.gain * np.concatenate([x, -x])
    for i, v in enumerate(volts.tolist()):
        kind = "vp" if i < n_pix else "vn"
        head.append(f"{kind}{i % n_pix} {names[0][i]} 0 {v!r}")
    yield "\n".join(head) + "\n"
    for l, w in enumerate(net.W):
        step = max(1, lines_per_chunk // max(1, w.shape[0]))
        for a in range(0, w.shape[1], step):  # column blocks: W is column-major
            block = w[:, a:a + step]
            cols, rows = np.nonzero(block.T > 0)  # in (column, row) order, as the blocks are read
            if not len(rows):
                continue
            g = block[rows, cols].astype(float)
            lines = [f"r{l}_{i}_{j} {names[l][i]} {names[l + 1][j]} {1.0 / gij!r}"
                     for i, j, gij in zip(rows.tolist(), (cols + a).tolist(), g.tolist())]
            yield "\n".join(lines) + "\n"
    tail = []
    for l in range(1, len(names) - 1):
        half = len(names[l]) // 2
        for j, node in enumerate(names[l]):
            tail.append(f"d{l}_{j} 0 {node} dideal" if j < half else f"d{l}_{j} {node} 0 dideal")
    for l, b in enumerate(net.b):
        for j, bj in enumerate(b.astype(float).tolist()):
            if bj != 0.0:
                tail.append(f"ib{l + 1}_{j} 0 {names[l + 1][j]} {bj!r}")
    tail.append(".model dideal D(Ron=0 Vfwd=0)")
    tail += [".op", ".end"]
    yield "\n".join(tail) + "\n"
