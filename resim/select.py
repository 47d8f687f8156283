"""What of an operating point is written: ``resim solve --nodes/--elements/--probe``.

A netlist of millions of elements has a solution of millions of numbers, and a user
usually wants a few of them (the outputs of a network). A :class:`Selection` names the
node voltages and element currents to write, by glob patterns on names (``--nodes 'o*'``,
``--elements 'd1_*'``, as :mod:`fnmatch` reads them, case-insensitive as names are) and by
probes as ``resim sweep`` takes them (``--probe 'v(o3)'``, ``--probe 'i(r1)'``). Without
any of them everything is written, as before.

A pattern that matches nothing, or a probe of a node or element that is not there, is a
:class:`SelectionError` (exit code 2): a misspelled name should not give an empty answer;
so is ground (``0``, ``gnd``), which is never written. A pattern that matches no name as a
glob but is one (``a[1]``) selects it.
A pattern without wildcards is a name, looked up without decoding every name
(:meth:`resim.circuit.ElementGroup.index_of`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .circuit import Circuit
from .errors import ResimError

_WILD = re.compile(r"[*?\[]")


class SelectionError(ResimError):
    """A --nodes, --elements or --probe that selects nothing."""

    exit_code = 2


@dataclass(frozen=True)
class Selection:
    """Indices of the nodes (into ``circuit.nodes``, ground never) and of each kind's
    elements to write, in the circuit's order; None for "all of them"."""

    nodes: np.ndarray | None = None
    elements: dict[str, np.ndarray] | None = None

    @property
    def everything(self) -> bool:
        return self.nodes is None and self.elements is None

    def node_indices(self, circuit: Circuit) -> np.ndarray:
        return np.arange(1, circuit.n_nodes) if self.nodes is None else self.nodes

    def element_indices(self, circuit: Circuit, kind: str) -> np.ndarray:
        if self.elements is None:
            return np.arange(len(circuit[kind]))
        return self.elements.get(kind, np.zeros(0, np.int64))


ALL = Selection()


def select(circuit: Circuit, nodes: Sequence[str] = (), elements: Sequence[str] = (),
           probes: Sequence[str] = ()) -> Selection:
    """The :class:`Selection` of ``nodes`` and ``elements`` (glob patterns) and ``probes``
    (``v(NODE)``, ``i(ELEMENT)``); everything when all three are empty. Asking only for
    nodes writes no element, and the other way round."""
    if not (nodes or elements or probes):
        return ALL
    node_set: set[int] = set()
    element_sets: dict[str, set[int]] = {}
    for pattern in nodes:
        _not_ground(pattern, f"--nodes {pattern}")
        found = _match_nodes(circuit, pattern.lower())
        if not found:
            raise SelectionError(f"--nodes {pattern}: no node matches",
                                 hint=f"node names look like: {_examples(circuit.nodes[1:])}")
        node_set.update(found)
    for pattern in elements:
        found = _match_elements(circuit, pattern.lower())
        if not found:
            names = [n for g in circuit.groups.values() for n in g.names[:3]]
            raise SelectionError(f"--elements {pattern}: no element matches",
                                 hint=f"element names look like: {_examples(names)}")
        for kind, k in found:
            element_sets.setdefault(kind, set()).add(k)
    for probe in probes:
        what, name = _probe(probe)
        if what == "v":
            _not_ground(name, f"--probe {probe}")
            found = _match_nodes(circuit, "0" if name == "gnd" else name, glob=False)
            if not found:
                raise SelectionError(f"--probe {probe}: no node '{name}'",
                                     hint=f"node names look like: {_examples(circuit.nodes[1:])}")
            node_set.update(found)
        else:
            hit = circuit.find_element(name)
            if hit is None:
                raise SelectionError(f"--probe {probe}: no element '{name}'")
            element_sets.setdefault(hit[0], set()).add(hit[1])
    return Selection(np.array(sorted(node_set - {0}), np.int64),
                     {kind: np.array(sorted(ks), np.int64) for kind, ks in element_sets.items()})


def _not_ground(name: str, option: str) -> None:
    """Ground is 0 V by definition and never among the written nodes: asking for it alone
    would write nothing, so it is refused."""
    if name.strip().lower() in ("0", "gnd"):
        raise SelectionError(f"{option}: ground ('0', 'gnd') is 0 V by definition and is not written",
                             hint="ask for the other nodes, e.g. --nodes 'out*'")


def _probe(probe: str) -> tuple[str, str]:
    p = probe.strip().lower().replace(" ", "")
    if len(p) > 3 and p[1] == "(" and p[-1] == ")" and p[0] in "vi":
        return p[0], p[2:-1]
    raise SelectionError(f"--probe {probe!r}: write v(NODE) or i(ELEMENT), e.g. v(out) or i(R1)")


def _match_nodes(circuit: Circuit, pattern: str, glob: bool = True) -> list[int]:
    if not (glob and _WILD.search(pattern)):
        index = circuit.node_index(pattern)
        return [] if index is None else [index]
    match = re.compile(fnmatch.translate(pattern)).match
    found = [k for k, name in enumerate(circuit.nodes) if k and match(name)]
    named = circuit.node_index(pattern)
    return found or ([named] if named else [])  # a name such as 'a[1]' that reads as a pattern


def _match_elements(circuit: Circuit, pattern: str) -> list[tuple[str, int]]:
    if not _WILD.search(pattern):
        hit = circuit.find_element(pattern)
        return [] if hit is None else [hit]
    match = re.compile(fnmatch.translate(pattern)).match
    kinds = [pattern[0]] if pattern[0] not in "*?[" else list(circuit.groups)
    found = [(kind, k) for kind in kinds if kind in circuit.groups
             for k, name in enumerate(circuit.groups[kind].names) if match(name)]
    named = None if found else circuit.find_element(pattern)  # a name such as 'r[1]'
    return found or ([named] if named else [])


def _examples(names: Sequence[str]) -> str:
    shown = [names[k] for k in range(min(5, len(names)))]
    return ", ".join(shown) + (" ..." if len(names) > 5 else "")
