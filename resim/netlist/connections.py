"""Nodes with fewer than two connections: SPICE's warning for a misspelled node name.

A node that only one element touches carries no current (``R2 mdi 0`` where ``mid`` was
meant: ``v(mdi) = 0``, silently). Every terminal counts, the controlling terminals of E and
G included; an element's several terminals on one node count once; ground never counts.
Elements that elaboration leaves out (a capacitor at DC, a resistor of zero width) count as
written, and so does a subcircuit instance's port that nothing inside uses; the resistors
that ``.options rshunt`` adds at every node do not. A node whose one connection is the
output of a V or E source is not warned about: its voltage is set (a node written to be
measured, ``E13 13 0 1 3 1`` for ``v(1, 3)``).
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

import numpy as np

from ..circuit import ElementGroup, source_location
from ..elements import ELEMENTS
from ..errors import SourceLocation

MAX_NAMED = 10  # nodes named one warning each; the others are summed up in one more


def single_connections(nodes: Sequence[str], groups: Mapping[str, ElementGroup], files: Sequence[str],
                       lines: Sequence[list[str]], skip_last_r: int = 0,
                       dropped: Sequence[tuple[str, str, tuple[str, ...], SourceLocation]] = ()) -> list[str]:
    """The warnings for the nodes of a circuit that one element alone connects.

    ``nodes``: the node names by number (0 is ground); ``groups``: the element groups,
    whose last ``skip_last_r`` resistors are left out (``.options rshunt``); ``dropped``:
    ``(kind, name, node names, location)`` of the connections that no element of the
    circuit carries (elements elaboration left out, unused subcircuit ports); ``files``
    and ``lines``: the netlist's, to say where each element is.
    """
    counts = np.zeros(len(nodes), np.int64)
    for kind, group in groups.items():
        terminals = group.nodes[: len(group.names) - skip_last_r] if kind == "r" else group.nodes
        if not terminals.size:
            continue
        counts += _touches(terminals, len(nodes))
    elsewhere: Counter[str] = Counter()  # nodes that only dropped elements touch
    index = {name: k for k, name in enumerate(nodes)} if dropped else {}
    for _, _, names, _ in dropped:
        for name in set(names) - {"0"}:
            if name in index:
                counts[index[name]] += 1
            else:
                elsewhere[name] += 1
    for kind in (k for k in groups if ELEMENTS[k].sets_voltage):
        counts[groups[kind].nodes[:, :2].ravel()] += 2  # set by the source: not dangling
    single = [(nodes[k], int(k)) for k in np.flatnonzero(counts[1:] < 2) + 1]
    single += [(name, -1) for name, c in elsewhere.items() if c < 2]
    order = {f: j for j, f in enumerate(files)}
    named = sorted((_connection(name, k, groups, files, lines, dropped) for name, k in single[:MAX_NAMED]),
                   key=lambda found: (order.get(found[0].file, 0), found[0].line, found[1]))  # as written
    out = [f"{where}: warning: node '{name}' has only one connection ({word} '{element}'): is its name misspelled?"
           for where, name, word, element in named]
    if len(single) > MAX_NAMED:
        rest = [name for name, _ in single[MAX_NAMED:]]
        shown = ", ".join(f"'{n}'" for n in rest[:5])
        out.append(f"warning: and {len(rest)} more nodes with only one connection ({shown}"
                   f"{', ...' if len(rest) > 5 else ''})")
    return out


def _touches(terminals: np.ndarray, n: int) -> np.ndarray:
    """How many rows of ``terminals`` (node indices, a row an element) touch each of the
    ``n`` nodes, an element's several terminals on one node counting once."""
    if terminals.shape[1] == 2:  # nearly every element: no sort of each row (slow for millions of rows)
        a, b = terminals[:, 0], terminals[:, 1]
        return np.bincount(a, minlength=n) + np.bincount(b[a != b], minlength=n)
    ordered = np.sort(terminals, axis=1)
    distinct = np.ones(ordered.shape, bool)
    distinct[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    return np.bincount(ordered[distinct], minlength=n)


def _connection(name: str, k: int, groups: Mapping[str, ElementGroup], files, lines,
                dropped) -> tuple[SourceLocation, str, str, str]:
    """Where the one element on node ``name`` (number ``k``, -1 when only dropped elements
    touch it) is written, the node, the element kind's word and the element's name."""
    for kind, group in groups.items():
        rows = np.flatnonzero((group.nodes == k).any(axis=1)) if k > 0 else ()
        if len(rows):
            row = int(rows[0])
            location, _ = source_location(files, lines, int(group.file[row]), int(group.line[row]))
            return location, name, ELEMENTS[kind].word, group.names[row]
    kind, element, _, location = next(d for d in dropped if name in d[2])
    return location, name, ELEMENTS[kind].word, element
