"""A trained DRN with one image applied, as a netlist ``resim solve`` and ngspice both run.

Nodes: ``x0..`` the inputs (``vp<i>``/``vn<i>`` sources at ``+gain x_i``/``-gain x_i``),
``h<l>_<j>`` hidden node j of layer l, ``o<k>`` the outputs. Every conductance g > 0 is a
resistor 1/g; zero conductances are left out. Hidden nodes carry their diode to ground
(excitatory half: ``0 -> node``, keeping v >= 0; inhibitory half: ``node -> 0``): ideal
unless another is given (the near-ideal Shockley diode ngspice converges with, for
benchmarks); biases are current sources from ground into their node. The prediction is the
arg-max of ``v(o0)..v(o<classes-1>)``.

This is the one writer of DRN netlists: ``resim export`` and the benchmarks' generated
networks (``bench/drn.py``) both use it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..hardware.profile import Diode
from .network import DRN


def to_netlist(net: DRN, image: np.ndarray, title: str = "trained DRN", diode: Diode | None = None) -> str:
    """The whole netlist as one string (:func:`netlist_chunks` joined)."""
    return "".join(netlist_chunks(net, image, title, diode=diode))


def netlist_chunks(net: DRN, image: np.ndarray, title: str = "trained DRN",
                   lines_per_chunk: int = 200_000, diode: Diode | None = None) -> Iterator[str]:
    """The netlist of ``net`` with ``image`` applied, in pieces of about ``lines_per_chunk``
    lines each ending in a newline: DRN-XL's is about 50 M lines (2.3 GB), which a writer
    can stream instead of holding it twice. The network as it is, in its own units: the
    ideal hardware profile (:mod:`resim.hardware`), with ``diode`` as the hidden units'
    diodes if given (model ``dideal`` when it is ideal, else ``dhidden``)."""
    from ..hardware.devices import physical
    from ..hardware.netlist import netlist_chunks as physical_chunks
    from ..hardware.profile import Profile

    profile = Profile() if diode is None else Profile(diode=diode)
    name = "dideal" if profile.diode.ideal else "dhidden"
    line = f"{title}: {'-'.join(map(str, net.sizes))}, input gain {net.gain:g} (resim export)"
    yield from physical_chunks(physical(net, profile), image, line, diode_name=name, lines_per_chunk=lines_per_chunk)
