"""A resim circuit as a netlist ngspice reads the same way (``docs/ngspice.md``).

The translation starts from the elaborated :class:`~resim.circuit.Circuit`, so it is flat:
subcircuit elements and nodes keep the names ngspice gives them (``r.x1.r1``,
``x1.mid``), and every value is a number written with 17 significant digits (parameters
and expressions already evaluated). What ngspice would read differently is translated:

* Shockley diodes: a ``D`` model of their own (``IS``, ``N``, ``RS``, and ``BV``, ``IBV``,
  ``NBV`` with breakdown; ``ISR``, ``NR``, ``VJ``, ``M`` with a recombination current, and
  ``FC=0``, as ``VJ`` is capped already; ``IKF``, ``IKR``), the element value written as
  ``area=``: it scales ``IS``, ``ISR``, ``IKF``, ``IKR`` and divides ``RS``, not ``IBV``,
  as resim's (ngspice 39 reads no area after the model name:
  it takes it for a model name);
* the circuit's temperature and gmin, where they are not ngspice's defaults: ``.options
  temp= tnom= gmin=``, with ``tnom`` equal to ``temp`` because resim's model values are
  already those at the circuit's temperature;
* piecewise-linear diodes (``Ron``/``Roff``/``Vfwd``, ideal when ``Ron = 0``), which
  ngspice's ``D`` does not have, in one of two ways:

  - ``states`` (default): each diode as the linear element of the state resim found
    (on: a ``Vfwd`` source, or ``Ron`` with a current source for a soft diode; off: its
    ``Roff``, 1e15 ohm when infinite). ngspice solves that linear circuit to rounding,
    and :mod:`resim.compare` checks on *ngspice's* answer that every state is right
    (on: current >= 0, or u >= Vfwd; off: u <= Vfwd). For ideal diodes the answer is
    unique, so this verifies resim's answer, states included, independently;
  - ``sidiode``: XSPICE ``sidiode`` A-elements (``Ron=1e-9 Roff=1e15 Vrev=1e6
    epsilon=1e-9`` for an ideal diode), ngspice's own nonlinear solve. ngspice 39 needs
    gmin stepping on these and stops up to ~1e-5 V off on small circuits (measured,
    docs/ngspice.md), so this mode suits coarse checks only.

* 0-ohm resistors (resim: shorts) become 0 V sources ``v_<name>``, whose current is the
  resistor's;
* names (nodes, elements, models) ngspice does not take as they are get aliases: with
  non-ASCII characters ``ascii0``, ``r_ascii1``, ... (ngspice writes each non-ASCII byte as
  ``_``, so ``ä`` would come back as ``__``, and so would ``ö``), others (``b{1}``, ``time``,
  ``r[1]``: :func:`ngspice_takes_node`, :func:`ngspice_takes_element`) ``alias0``,
  ``r_alias1``, ... :attr:`Translation.nodes` and :attr:`Translation.elements` map resim's
  names to ngspice's.

Every translated element records how its ngspice current maps back to resim's
(:class:`CurrentMap`, in ngspice's names).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .circuit import DEFAULT_GMIN, NOMINAL_TEMPERATURE, Circuit, DiodeModel
from .elements import ELEMENTS
from .elements.kind import NgspiceLine
from .result import Result

DIODE_MODES = ("states", "sidiode")
ROFF_INFINITE = 1e15  # ohm, for Roff = inf (a node held only by off diodes is not left floating)
SIDIODE_IDEAL = {"ron": 1e-9, "roff": ROFF_INFINITE, "vrev": 1e6, "epsilon": 1e-9}


@dataclass(frozen=True)
class CurrentMap:
    """How resim element ``(kind, index)``'s current follows from ngspice's answer:
    ``sum(scale * current[name] for name, scale in parts) + offset + g * (v[anode] - v[cathode])``."""

    kind: str
    index: int
    parts: tuple[tuple[str, float], ...] = ()
    offset: float = 0.0
    g: float = 0.0
    anode: str = "0"
    cathode: str = "0"


@dataclass(frozen=True)
class StateCheck:
    """What ngspice's answer must satisfy for diode ``index`` to be in the state resim found.

    ``on`` ideal: current through source ``name`` >= 0; ``on`` soft: u >= Vfwd;
    ``off``: u <= Vfwd.
    """

    index: int
    state: str
    anode: str
    cathode: str
    vfwd: float
    source: str | None = None  # the Vfwd source of an ideal diode that is on


@dataclass
class Translation:
    """The netlist for ngspice, how to read its answer back, and notes for the report."""

    text: str
    currents: list[CurrentMap] = field(default_factory=list)
    states: list[StateCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    nodes: dict[str, str] = field(default_factory=dict)  # resim's node name -> ngspice's, where they differ
    elements: dict[str, str] = field(default_factory=dict)  # the same for element names

    def node(self, name: str) -> str:
        """ngspice's name for resim's node ``name``."""
        return self.nodes.get(name, name)

    def element(self, name: str) -> str:
        """ngspice's name for resim's element ``name`` (lower case)."""
        return self.elements.get(name.lower(), name.lower())


# What ngspice 39 does not take as it is in a name (measured on a divider, each name alone:
# tests/test_compare_more.py::ODD_NAMES): non-ASCII bytes come back as `_` (`ä` and `ö` both
# as `__`); `b{1}` is read as nodes `b` and `{1}`; `'`, `"`, `,`, `=` and `;` break the line;
# nodes `time` and `frequency` come back as the plot's scale, `*-sweep` as a sweep's, `temper`
# crashes it, `x#branch` is taken for the branch current of `x`, and a parenthesis other than
# one closed group after the name's start (KiCad's `net-(r1-pad2)`) is lost or refused;
# `@r1[i]` reads as a device current; an element with `(`, `[` or `#` in its name loses its
# current (`@r[1][i]`), one with a `"` its name.
_NOT_IN_NAMES = frozenset("{}'\",;=")
_NOT_IN_ELEMENT_NAMES = _NOT_IN_NAMES | frozenset("()[]#")
_RESERVED_NODES = frozenset({"time", "frequency", "temper"})
_KICAD_PARENTHESES = re.compile(r"[^()]+\([^()]*\)")


def ngspice_takes_node(name: str) -> bool:
    """Whether ngspice 39 reads node ``name`` as it is and reports it as ``v(name)``."""
    if not (name.isascii() and name.isprintable()) or _NOT_IN_NAMES.intersection(name):
        return False
    if name in _RESERVED_NODES or name.endswith(("-sweep", "#branch")) or name.startswith("@"):
        return False
    return not ("(" in name or ")" in name) or _KICAD_PARENTHESES.fullmatch(name) is not None


def ngspice_takes_element(name: str) -> bool:
    """Whether ngspice 39 reads element (or model) ``name`` as it is, and reports its current."""
    return name.isascii() and name.isprintable() and not _NOT_IN_ELEMENT_NAMES.intersection(name)


class NgspiceNames:
    """Names for ngspice: a name it does not take as it is (``takes``) gets a fresh alias,
    ``prefix`` then ``ascii`` (a name with non-ASCII characters) or ``alias``, and a number,
    unlike every name in ``taken`` (the aliases are kept in :attr:`aliases`)."""

    def __init__(self, taken: Iterable[str], takes: Callable[[str], bool]) -> None:
        self.taken = set(taken)
        self.takes = takes
        self.aliases: dict[str, str] = {}

    def __call__(self, name: str, prefix: str) -> str:
        if self.takes(name):
            return name
        if name not in self.aliases:
            stem = prefix + ("alias" if name.isascii() else "ascii")
            k = 0
            while f"{stem}{k}" in self.taken:
                k += 1
            self.aliases[name] = f"{stem}{k}"
            self.taken.add(self.aliases[name])
        return self.aliases[name]


def num(x: float) -> str:
    """A float as ngspice reads it back exactly (17 significant digits, no suffix)."""
    return f"{x:.17g}"


def to_ngspice(circuit: Circuit, result: Result | None = None, *, diodes: str = "states",
               savecurrents: bool = True) -> Translation:
    """The ngspice netlist of ``circuit`` (``result``'s diode states needed for ``diodes="states"``)."""
    if diodes not in DIODE_MODES:
        raise ValueError(f"diodes: choose from {', '.join(DIODE_MODES)}")
    out = [f"* {circuit.title or 'circuit'} (translated for ngspice by resim)"]
    tr = Translation("")
    node_alias = NgspiceNames(circuit.nodes, ngspice_takes_node)
    nodes = [node_alias(n, "") for n in circuit.nodes]
    element_alias = NgspiceNames((n for group in circuit.groups.values() for n in group.names), ngspice_takes_element)

    def nd(k: int) -> str:
        return nodes[k]

    def el(name: str) -> str:
        return element_alias(name, f"{name[0]}_")

    R = circuit["r"]
    for k, (name, (a, b), value) in enumerate(zip(R.names, R.nodes.tolist(), R.value.tolist())):
        name = el(name)
        if value == 0.0:
            out.append(f"v_{name} {nd(a)} {nd(b)} 0")
            tr.currents.append(CurrentMap("r", k, ((f"v_{name}", 1.0),)))
        else:
            out.append(f"{name} {nd(a)} {nd(b)} {num(value)}")
            tr.currents += current_maps("r", k, name, savecurrents)
    for kind in (k for k in circuit.groups if ELEMENTS[k].write is not None):  # each kind writes its card
        grp, write = circuit[kind], ELEMENTS[kind].write
        refs = circuit[ELEMENTS[kind].refers].names if ELEMENTS[kind].refers else None
        for k, (name, ns, value) in enumerate(zip(grp.names, grp.nodes.tolist(), grp.value.tolist())):
            name = el(name)
            ref = None if refs is None else el(refs[int(grp.ref[k])])
            out.append(write(NgspiceLine(name, tuple(map(nd, ns)), num(value), ref)))
            tr.currents += current_maps(kind, k, name, savecurrents)
    out += _diodes(circuit, result, diodes, savecurrents, tr, nodes, el)
    tr.nodes = dict(node_alias.aliases)
    tr.elements = dict(element_alias.aliases)
    if tr.nodes or tr.elements:
        renamed = [f"{a} -> {b}" for a, b in [*tr.nodes.items(), *tr.elements.items()]]
        tr.notes.append(f"{len(renamed)} name(s) renamed for ngspice, which does not take them as they are: "
                        + ", ".join(renamed[:5]) + (" ..." if len(renamed) > 5 else ""))
    out += _options(circuit) + [".op", ".end"]
    tr.text = "\n".join(out) + "\n"
    return tr


CELSIUS_ZERO = 273.15  # K (ngspice's CONSTCtoK)


def _options(circuit: Circuit) -> list[str]:
    """The ``.options`` line of the circuit's temperature and gmin (none at ngspice's defaults)."""
    options = []
    if circuit.temperature != NOMINAL_TEMPERATURE:
        celsius = num(circuit.temperature - CELSIUS_ZERO)
        options += [f"temp={celsius}", f"tnom={celsius}"]
    if circuit.gmin != DEFAULT_GMIN:
        options.append(f"gmin={num(circuit.gmin)}")
    return [".options " + " ".join(options)] if options else []


def shockley_model(name: str, model: DiodeModel) -> str:
    """ngspice's ``.model`` card of a Shockley diode model."""
    card = f"IS={num(model.IS)} N={num(model.N)} RS={num(model.RS)}"
    if math.isfinite(model.BV):
        card += f" BV={num(model.BV)} IBV={num(model.IBV)}" + ("" if model.NBV is None else f" NBV={num(model.NBV)}")
    if model.ISR > 0:  # VJ is already capped at 1/FC: FC=0 keeps ngspice from capping it again
        card += f" ISR={num(model.ISR)} NR={num(model.NR)} VJ={num(model.VJ)} M={num(model.MJ)} FC=0"
    for key, value in (("IKF", model.IKF), ("IKR", model.IKR)):
        if math.isfinite(value):
            card += f" {key}={num(value)}"
    return f".model {name} D({card})"


def current_maps(kind: str, k: int, name: str, savecurrents: bool = True) -> list[CurrentMap]:
    """How element ``k`` of ``kind``, called ``name`` in ngspice, gets its current back: the
    branch vector named after it (V, E), else its device current ``@name[param]``
    (:attr:`~resim.elements.ElementKind.ngspice_current`), which ngspice writes only under
    ``.options savecurrents`` (none without)."""
    param = ELEMENTS[kind].ngspice_current
    if param is None:
        return [CurrentMap(kind, k, ((name, 1.0),))]
    return [CurrentMap(kind, k, ((f"@{name}[{param}]", 1.0),))] if savecurrents else []


def _diodes(circuit: Circuit, result: Result | None, mode: str, savecurrents: bool, tr: Translation,
            nodes: list[str], el: Callable[[str], str]) -> list[str]:
    """The diodes' lines (``nodes``: ngspice's node names; ``el``: ngspice's element name)."""
    D = circuit["d"]
    if not len(D):
        return []
    lines: list[str] = []
    models_used: dict[str, str] = {}
    states = result.diode_states if result is not None else None
    model_alias = NgspiceNames((m.name for m in circuit.models), ngspice_takes_element)
    if mode == "states" and states is None and any(circuit.models[m].family == "pwl" for m in D.ref.tolist()):
        raise ValueError("diodes='states' needs resim's result (its diode states)")
    for k, (name, (a, c), area, m) in enumerate(zip(D.names, D.nodes.tolist(), D.value.tolist(), D.ref.tolist())):
        model = circuit.models[m]
        name, model_name = el(name), model_alias(model.name, "")
        an, ca = nodes[a], nodes[c]
        scale = area if area > 0 else 1.0
        if model.family == "shockley":
            mname = f"d_{model_name}"
            models_used[mname] = shockley_model(mname, model)
            lines.append(f"{name} {an} {ca} {mname}" + ("" if area == 1.0 else f" area={num(area)}"))
            tr.currents += current_maps("d", k, name, savecurrents)
            continue
        ron, roff, vf = model.Ron / scale, model.Roff / scale, model.Vfwd
        roff_eff = roff if math.isfinite(roff) else ROFF_INFINITE
        if mode == "sidiode":
            mname = f"sd_{name}" if area != 1.0 else f"sd_{model_name}"
            models_used[mname] = (f".model {mname} sidiode(Ron={num(ron if ron > 0 else SIDIODE_IDEAL['ron'])} "
                                  f"Roff={num(roff_eff)} Vfwd={num(vf)} Vrev={num(SIDIODE_IDEAL['vrev'])} "
                                  f"epsilon={num(SIDIODE_IDEAL['epsilon'])})")
            lines.append(f"a_{name} {an} {ca} {mname}")
            continue
        on = states[k] == "on"
        goff = 0.0 if math.isinf(roff) else 1.0 / roff
        lines.append(f"r_{name} {an} {ca} {num(roff_eff)}")  # the off branch, present in both states
        if on and ron == 0.0:  # u = Vfwd: the source's current plus the off branch's
            lines.append(f"v_{name} {an} {ca} dc {num(vf)}")
            tr.currents.append(CurrentMap("d", k, ((f"v_{name}", 1.0),), offset=goff * vf))
            tr.states.append(StateCheck(k, "on", an, ca, vf, f"v_{name}"))
        elif on:
            # i = goff u + (gon - goff)(u - Vfwd): a resistor 1/(gon - goff) in parallel,
            # and a current (gon - goff) Vfwd from cathode to anode
            g_extra = 1.0 / ron - goff
            lines.append(f"r_{name}_on {an} {ca} {num(1.0 / g_extra)}")
            lines.append(f"i_{name}_on {ca} {an} dc {num(vf * g_extra)}")
            tr.currents.append(CurrentMap("d", k, offset=-vf * g_extra, g=1.0 / ron, anode=an, cathode=ca))
            tr.states.append(StateCheck(k, "on", an, ca, vf))
        else:
            tr.currents.append(CurrentMap("d", k, g=goff, anode=an, cathode=ca))
            tr.states.append(StateCheck(k, "off", an, ca, vf))
    if mode == "states" and any(circuit.models[m].family == "pwl" for m in D.ref.tolist()):
        tr.notes.append("piecewise-linear diodes: each as the linear element of resim's state, "
                        "the states checked on ngspice's answer")
    return lines + sorted(models_used.values())
