"""What the voltage-controlled sources E and G share: their card and their columns.

The card (as ngspice 39 reads it): ``ctrl+ ctrl- gain``, ``POLY(n) ctrl pairs...
coefficients``, or ``VALUE={expr}`` (``vol=`` for E, ``cur=`` for G); G also takes ``m=``.
A POLY or VALUE form is elaborated into linear elements (:func:`affine_parts`), so a
flat circuit holds only the linear form: nodes ``(p, n, cp, cn)`` and a gain.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

_CONTROL_FORMS = {"e": ("value", "vol"), "g": ("value", "cur")}
_UNSUPPORTED = ("table", "laplace", "freq", "and", "or", "nand", "nor", "ch", "cur", "vol")


@dataclass(frozen=True)
class VoltageControlled:
    """E or G elements in unknown space: outputs ``p``, ``n`` and controls ``cp``, ``cn`` are
    variable indices (-1 = ground); ``gain`` is E's voltage gain, G's transconductance (S).

    E: ``v_p - v_n = gain (v_cp - v_cn)``; G: current ``gain (v_cp - v_cn)`` from ``p``
    through the source to ``n``.
    """

    index: np.ndarray  # indices into the circuit's element group
    p: np.ndarray
    n: np.ndarray
    cp: np.ndarray
    cn: np.ndarray
    gain: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


def compile_voltage_controlled(group, var: np.ndarray, vsource: np.ndarray) -> VoltageControlled:
    """All of ``group`` (E or G elements), its nodes mapped to unknowns by ``var``."""
    return VoltageControlled(np.arange(len(group)), *(var[group.nodes[:, k]] for k in range(4)), group.value.copy())


def control_voltage(rec: VoltageControlled, vv: np.ndarray) -> np.ndarray:
    """``v_cp - v_cn`` per element (``vv[-1] = 0``: ground)."""
    return vv[rec.cp] - vv[rec.cn]


# ---- the card -------------------------------------------------------------------------------


def read_voltage_controlled(card):
    """An E or G card's statement (see the module docstring)."""
    out = card.nodes()
    items = card.flat()
    params: dict = {}
    columns: dict[str, int] = {}
    while card.kind == "g" and items and card.is_(items[-1], "assignment") and card.key(items[-1]) == "m":
        card.params(items.pop(), ("m",), params, columns)  # G ... m=k: k copies in parallel
    first = items[0] if items else None
    word = card.word(first)
    forms = _CONTROL_FORMS[card.kind]
    if word == "poly":
        return replace(_poly(card, out, items), params=params, columns=columns)
    expr = None
    if word in forms and len(items) > 1 and card.is_(items[1], "braced"):  # VALUE {expr}, without '='
        expr, items = items[1], items[1:]
    elif card.is_(first, "assignment") and card.key(first) in forms:
        expr = first.children[1]
    if expr is not None:
        if len(items) > 1:
            raise card.unexpected(items[1])
        return card.stmt(out, None, params=params, columns=columns,
                         control=card.behaviour(card.value(expr), card.column(expr)))
    if word in _UNSUPPORTED:
        raise card.error(first, f"the {word.upper()} form of a controlled source is not supported",
                         "resim reads linear controlled sources: gain, POLY(n) with linear coefficients, "
                         "and VALUE={expression} affine in node voltages")
    if len(items) < 3:
        raise card.unexpected(None, "a name" if len(items) < 2 else card.EXPECT_VALUE)
    if not card.is_(items[2], "number", "braced"):
        raise card.unexpected(items[2], card.EXPECT_VALUE)
    if len(items) > 3:
        raise card.unexpected(items[3])
    return card.stmt(out + (card.node(items[0]), card.node(items[1])), card.value(items[2]),
                     params=params, columns=columns)


def _poly(card, out: tuple[str, str], items: list):
    head = items[0]
    n = card.poly_size(items[1] if len(items) > 1 else None, "controlling voltages",
                       "write: POLY(n) c1+ c1- ... cn+ cn- coefficients...")
    nodes = items[2 : 2 + 2 * n]
    if len(nodes) < 2 * n:
        raise card.unexpected(None, "a name", f"POLY({n}) takes {n} pairs of controlling nodes, then coefficients")
    controls = tuple((card.node(nodes[2 * j]), card.node(nodes[2 * j + 1])) for j in range(n))
    coefficients = card.values(items[2 + 2 * n :])
    return card.stmt(out, None, control=card.poly(controls, tuple(coefficients), card.column(head)))
