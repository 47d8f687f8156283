"""Statements to the element graph: parameters, subcircuit expansion, node numbering.

Parameters are evaluated in order (a ``.param`` may use earlier ones; ``temper`` is the
circuit's temperature in C); a subcircuit instance sees its surroundings' parameters, then
the ``.subckt`` defaults and its own overrides, evaluated together in dependency order as
ngspice does (:meth:`_Elaborator.instance_scope`), then the ``.param`` lines and ``.model``
cards of the body. Names inside instance ``x1`` follow ngspice: node ``mid`` becomes
``x1.mid`` (a ``.global`` node keeps its name), element ``r1`` becomes ``r.x1.r1``; nested
instances stack (``x1.x2.n3``), at most :data:`MAX_SUBCKT_DEPTH` deep. ``m=`` on an
instance makes it that many copies in parallel.

Each card becomes elements as ngspice reads it (:meth:`_Elaborator.emit`): model and
instance parameters applied (:mod:`.models`), linear POLY and VALUE sources made of E/G
elements, a capacitor dropped (open), an inductor a 0 V source (short), a 0 ohm resistor
1 milliohm; each such change is said in one warning per kind.

Every computed value must be a finite number (a netlist error otherwise). A node that one
element alone connects is warned about (:mod:`.connections`).

The parsed netlist is only read: the elements and nodes that expansion adds, and the
values of expressions, go into arrays of the circuit's own, so elaborating one parsed
netlist again (with other parameters, or after an error) gives a circuit as if it were fresh.
"""

from __future__ import annotations

import math
from dataclasses import replace
from operator import itemgetter
from typing import Mapping

import numpy as np

from ..circuit import CELSIUS, NOMINAL_TEMPERATURE, Circuit, DcSweep, ElementGroup, source_location
from ..elements import CIRCUIT_KINDS, ELEMENTS
from ..elements.resistor import ZERO as ZERO_NOTE
from ..errors import NetlistError
from .connections import single_connections
from .expressions import Expr, ExpressionError, Function, Value, affine, netlist_budget
from .models import DiodeModels, ModelError, ResistorModels, resistance
from .names import Names, as_names
from .numbers import FINITE_HINT
from .options import read_options
from .syntax_errors import shown
from .statements import (ColumnArrays, Columns, ElementStmt, FuncStmt, ModelStmt, ParamStmt, ParsedNetlist, Poly,
                         Refused)

MAX_SUBCKT_DEPTH = 100  # subcircuit instances nested deeper than this are refused
ZERO_OHM = 1e-3  # ngspice's resistance for a resistor of exactly 0 ohm


def element_name(kind: str, path: tuple[str, ...], name: str) -> str:
    """ngspice's name for element ``name`` inside instance ``path`` (``r.x1.x2.r1``)."""
    return f"{kind}.{'.'.join(path)}.{name}" if path else name


def elaborate(parsed: ParsedNetlist, params: Mapping[str, float] | None = None) -> Circuit:
    """The flat :class:`Circuit` of a parsed netlist, with ``params`` overriding ``.param`` values.
    A :class:`NetlistError` names the netlist's unknown dot cards (a ``.modle`` leads to an
    "undefined model")."""
    try:
        with netlist_budget():  # a bound on the user-function work of all its expressions
            return _Elaborator(parsed, dict(params or {})).run()
    except NetlistError as exc:
        raise parsed.blame_unknown_cards(exc) from None


def _value_error(exc: ExpressionError, line, fallback_column: int, what: str) -> NetlistError:
    column = exc.column or fallback_column
    loc = line.location(column)
    return NetlistError(f"{what}: {exc.message}", location=loc, source_line=line.physical_text(loc.line), hint=exc.hint)


class _Elaborator:
    def __init__(self, parsed: ParsedNetlist, overrides: dict[str, float]) -> None:
        self.p = parsed
        self.overrides = {k.lower(): v for k, v in overrides.items()}
        self.warnings = list(parsed.warnings)
        # per kind: the elements of subcircuit instances, after the parsed netlist's own
        self.added = {kind: Columns(col.terminals) for kind, col in parsed.columns.items()}
        # the nodes of subcircuit instances that the parsed netlist does not name, numbered after its own
        self.added_nodes: dict[str, int] = {}
        self.file_index = {f: k for k, f in enumerate(parsed.files)}
        self.scope: dict[str, float] = {}  # the global parameters, set by run()
        self.notes: dict[tuple[str, str], list[str]] = {}  # what elaboration changed, by topic: one warning each (see _notes)
        self.synthesized: set[str] = set()  # see Circuit.synthesized
        # connections no element carries (elements left out, unused subcircuit ports): (kind, name, nodes, location)
        self.dropped: list[tuple[str, str, tuple[str, ...], object]] = []
        self.shunted = 0  # resistors .options rshunt added (the last of the r group)

    def node_id(self, name: str) -> int:
        """The index of node ``name`` (as :meth:`ParsedNetlist.node_id`, adding to :attr:`added_nodes`)."""
        k = self.p.node_index.get(name)
        if k is None:
            k = self.added_nodes.get(name)
            if k is None:
                k = self.added_nodes[name] = len(self.p.node_names) + len(self.added_nodes)
        return k

    # -- parameters -----------------------------------------------------------------------
    def _eval(self, value: Value, scope: Mapping[str, float], line, what: str) -> float:
        """``value`` evaluated in ``scope``; a located NetlistError if that fails or is not finite
        (an overriding parameter may be infinite or NaN)."""
        if not isinstance(value, Expr):
            return value
        try:
            result = value.evaluate(scope)
        except ExpressionError as exc:
            raise _value_error(exc, line, value.column, what) from None
        if not math.isfinite(result):
            raise _value_error(ExpressionError(f"evaluates to {result}", None, FINITE_HINT), line, value.column, what)
        return result

    def define(self, stmt: ParamStmt | FuncStmt, scope: dict) -> None:
        """Add a ``.param`` (its value) or a user function to ``scope``."""
        if isinstance(stmt, FuncStmt):
            body = stmt.body.tree if isinstance(stmt.body, Expr) else ("num", stmt.body)
            scope[stmt.name + "()"] = Function(stmt.name, stmt.args, body)
        elif stmt.name in self.overrides and scope is self.scope:
            scope[stmt.name] = self.overrides[stmt.name]
        else:
            scope[stmt.name] = self._eval(stmt.value, scope, stmt.line, f"parameter '{stmt.name}'")

    def global_scope(self, temper: float = NOMINAL_TEMPERATURE - CELSIUS) -> dict[str, float]:
        """The global parameters; ``temper`` is the circuit's temperature in C (ngspice's
        built-in parameter)."""
        scope = self.scope = {"temper": temper}
        for stmt in self.p.params:
            self.define(stmt, scope)
        return scope

    def _model_value(self, m, value: Value, key: str) -> float:
        return self._eval(value, self.scope, m.line, f"parameter '{key}' of model '{m.name}'")

    def _option_value(self, stmt, value: Value, key: str) -> float:
        return self._eval(value, self.scope, stmt.line, f"option '{key}'")

    # -- main -----------------------------------------------------------------------------
    def run(self) -> Circuit:
        p = self.p
        scope = self.global_scope()
        self.options = read_options(p.options, self._option_value, self.warnings)
        if self.options.temperature != NOMINAL_TEMPERATURE:  # again, with temper at the circuit's temperature
            scope = self.global_scope(self.options.temperature - CELSIUS)
        self.diodes = DiodeModels(p.models, self._model_value, self.options.temperature, self.options.tnom,
                                  self.warnings)
        self.resistors = ResistorModels(p.models, self._model_value)
        for name, m in p.models.items():
            if m.type not in ("d", "r", "res"):
                self.warnings.append(f"{m.location}: warning: model '{name}' of type '{m.type.upper()}' ignored "
                                     "(resim uses D and R models only)")
        fixed = [(fix, self._eval(fix.expr, scope, fix.line, f"value of '{p.columns[fix.kind].names[fix.index]}'"))
                 for fix in p.fixups]
        for card in p.cards:
            self.emit(card, scope, (), card.nodes, 1.0)
        for inst in p.instances:
            self.expand(inst, scope, (), (), 1.0)
        if self.options.rshunt is not None:
            self.shunt(self.options.rshunt)
        nodes, groups = self.number_nodes(self.diodes.index, fixed)
        self.warnings += single_connections(nodes, groups, p.files, p.lines, self.shunted, self.dropped)
        models = tuple(self.diodes.models)
        dc = tuple(
            tuple(DcSweep(src, *(self._eval(v, scope, d.line, f".dc {src}") for v in rest)) for src, *rest in d.sweeps)
            for d in p.dc
        )
        return Circuit(
            title=p.title,
            nodes=nodes,
            groups=groups,
            models=models,
            params={k: v for k, v in scope.items() if k != "temper" and not k.endswith("()")},
            dc=dc,
            has_op=p.has_op,
            files=tuple(p.files),
            source_lines=tuple(p.lines),
            warnings=tuple(self.warnings + self._notes()),
            temperature=self.options.temperature,
            gmin=self.options.gmin,
            synthesized=frozenset(self.synthesized),
        )

    # -- subcircuits ----------------------------------------------------------------------
    def expand(self, inst: ElementStmt, parent_scope: Mapping[str, float], path: tuple[str, ...],
               subckt_stack: tuple, m: float, local: dict[str, str] | None = None, outer: tuple = ()) -> None:
        """Expand instance ``inst`` (see :meth:`instance_scope` for its parameters and ``m``;
        ``local``: the model names its surroundings define; ``outer``: the definitions of the
        subcircuits it sits in, whose own subcircuits it sees first)."""
        p = self.p
        sub = next((d.local[inst.ref] for d in reversed(outer) if inst.ref in d.local), None) or p.subckts.get(
            inst.ref or "")
        line = inst.line
        if sub is None:
            known = ", ".join(sorted({*p.subckts, *(k for d in outer for k in d.local)})) or "none defined"
            raise NetlistError(
                f"subcircuit instance '{inst.name}': undefined subcircuit '{inst.ref}'",
                location=inst.location, source_line=line.physical_text(inst.location.line),
                hint=f"define it with .subckt {inst.ref} ... .ends (known: {known})",
            )
        if sub.name in subckt_stack:
            chain = " -> ".join((*subckt_stack, sub.name))
            raise NetlistError(f"recursive subcircuit: {chain}", location=inst.location,
                               source_line=line.physical_text(inst.location.line),
                               hint="a subcircuit may not contain an instance of itself")
        if len(path) >= MAX_SUBCKT_DEPTH:
            chain = (*path[:2], "...", *path[-2:], inst.name)
            raise NetlistError(f"subcircuit instances nested more than {MAX_SUBCKT_DEPTH} deep "
                               f"({' -> '.join(chain)})", location=inst.location,
                               source_line=line.physical_text(inst.location.line),
                               hint=f"resim expands at most {MAX_SUBCKT_DEPTH} levels of subcircuits")
        if len(inst.nodes) != len(sub.ports):
            raise NetlistError(
                f"subcircuit instance '{inst.name}' connects {len(inst.nodes)} node(s) but "
                f"subcircuit '{sub.name}' has {len(sub.ports)} port(s) ({' '.join(sub.ports)})",
                location=inst.location, source_line=line.physical_text(inst.location.line),
                hint=f"give exactly {len(sub.ports)} nodes before the subcircuit name",
            )
        scope, m = self.instance_scope(inst, sub, parent_scope, m)
        set_here = set(inst.params)  # body .params the instance sets keep the instance's value
        local = dict(local or {})  # model names: the subcircuit's own models shadow outer ones
        my_path = (*path, inst.name)
        prefix = ".".join(my_path) + "."
        ports = dict(zip(sub.ports, inst.nodes))

        globals_ = p.globals

        def node(name: str) -> str:
            if name == "0" or name in globals_:
                return name
            mapped = ports.get(name)
            return mapped if mapped is not None else prefix + name

        for stmt in sub.body:  # parameters first, then models: elements may come before either
            if isinstance(stmt, FuncStmt) or (isinstance(stmt, ParamStmt) and stmt.name not in set_here):
                self.define(stmt, scope)
        for stmt in sub.body:
            if isinstance(stmt, ModelStmt):
                self.local_model(stmt, scope, prefix, local)
        used = {n for stmt in sub.body if isinstance(stmt, ElementStmt) for n in stmt.nodes}
        self.dropped.extend(("x", element_name("x", path, inst.name), (outer,), inst.location)
                            for port, outer in ports.items() if port not in used)  # a connection all the same
        for stmt in sub.body:
            if isinstance(stmt, Refused):
                raise stmt.error
            if isinstance(stmt, (ParamStmt, FuncStmt, ModelStmt)):
                continue
            if stmt.kind == "x":
                child = replace(stmt, nodes=tuple(node(n) for n in stmt.nodes))
                self.expand(child, scope, my_path, (*subckt_stack, sub.name), m, local, (*outer, sub))
            else:
                self.emit(stmt, scope, my_path, tuple(node(n) for n in stmt.nodes), m, node, local)

    def local_model(self, stmt: ModelStmt, scope: Mapping[str, float], prefix: str, local: dict[str, str]) -> None:
        """A ``.model`` inside a subcircuit: made for this instance (its parameters may use
        the instance's), named ``<instance path>.<name>``, seen only inside the instance."""
        def evaluate(m, value, key):
            return self._eval(value, scope, m.line, f"parameter '{key}' of model '{m.name}'")

        name = prefix + stmt.name
        local[stmt.name] = name
        if stmt.type == "d":
            self.diodes.add(name, stmt, evaluate)
        elif stmt.type in ("r", "res"):
            self.resistors.add(name, stmt, evaluate)

    def instance_scope(self, inst: ElementStmt, sub, parent_scope: Mapping[str, float],
                       m: float) -> tuple[dict, float]:
        """The parameters inside instance ``inst`` of ``sub`` and its multiplier.

        As in ngspice, the subcircuit's parameters are its defaults, overridden by the
        instance's; both may refer to each other (``w=2 l={w*2}``), to the instance's
        surroundings (``parent_scope``) and to the global parameters. ``m=`` on an instance of
        a subcircuit that does not declare ``m`` is a multiplier: the instance is ``m``
        copies in parallel (``m`` times every current-carrying element inside)."""
        line = inst.line
        given = dict(inst.params)
        if "m" in given and "m" not in sub.defaults:
            m *= self._eval(given.pop("m"), parent_scope, line, f"multiplier 'm' of '{inst.name}'")
            if not m > 0:
                raise line.error(inst.columns.get("m", 1), f"subcircuit instance '{inst.name}': m must be positive",
                                 "m is the number of copies in parallel")
        body_params = {stmt.name: stmt.value for stmt in sub.body if isinstance(stmt, ParamStmt)}
        for bad in sorted(set(given) - set(sub.defaults) - set(body_params)):  # ngspice ignores them, silently
            self.warnings.append(f"{line.location(inst.columns.get(bad, 1))}: warning: subcircuit instance "
                                 f"'{inst.name}': '{sub.name}' has no parameter '{bad}'; it was ignored")
            del given[bad]
        # a .param of the body that the instance sets is a default too, as in ngspice
        defaults = {**sub.defaults, **{k: v for k, v in body_params.items() if k in given}}
        definitions = {key: (given[key], line, f"parameter '{key}' of '{inst.name}'") if key in given else
                       (value, sub.line, f"default of parameter '{key}' of '{sub.name}' (for instance '{inst.name}')")
                       for key, value in defaults.items()}
        scope = dict(parent_scope)
        todo = list(definitions)
        while todo:  # in dependency order: each definition once the others it names are known
            ready = [k for k in todo if not (_names(definitions[k][0]) - {k}) & set(todo) - {k}] or todo[:1]
            for key in ready:
                value, where, what = definitions[key]
                scope[key] = self._eval(value, scope, where, what)
                todo.remove(key)
        return scope, m

    def emit(self, stmt: ElementStmt, scope: Mapping[str, float], path: tuple[str, ...], nodes: tuple[str, ...],
             m: float, node=None, local: dict[str, str] | None = None) -> None:
        """Add element card ``stmt`` (of instance ``path``, with ``nodes`` already mapped and
        the instances' multiplier ``m``, ``local``: the names of the instance's own models) to
        the circuit: its parameters evaluated in ``scope``, then the kind's own elaboration
        (:attr:`~resim.elements.kind.ElementKind.expand`, through an :class:`Emit`: models and
        instance parameters applied, POLY and VALUE forms made of linear elements, a capacitor
        dropped, an inductor made a 0 V source), or, for a kind without one, the card as one
        element (its value times the copies in parallel, for a kind that has them)."""
        kind, line = stmt.kind, stmt.line
        where = f" in '{path[-1]}'" if path else ""
        params = {k: self._eval(v, scope, line, f"parameter '{k}' of '{stmt.name}'{where}")
                  for k, v in stmt.params.items()}
        name = element_name(kind, path, stmt.name)
        spec = ELEMENTS[kind]
        if spec.expand is not None:  # the kind elaborates itself (resim.elements.kind)
            spec.expand(Emit(self, stmt, scope, path, nodes, m, params, name, node or (lambda n: n), local or {}))
            return
        value = None if stmt.value is None else self._eval(stmt.value, scope, line, f"value of '{stmt.name}'{where}")
        if spec.parallel:
            value *= m * params.get("m", 1.0)
        self._add(kind, name, nodes, value, stmt)

    def _add(self, kind: str, name: str, nodes: tuple[str, ...], value: float, stmt: ElementStmt,
             ref: str | None = None, synthesized: bool = False) -> None:
        if synthesized:
            self.synthesized.add(name)
        col = self.added[kind]
        col.append(name, tuple(map(self.node_id, nodes)), value, self.file_index.get(stmt.location.file, 0),
                   stmt.location.line)
        if ELEMENTS[kind].refers:
            col.refs.append(ref or "")

    def affine(self, stmt: ElementStmt, scope, node) -> tuple[float, list[tuple[tuple[str, ...], float]]]:
        """A POLY or VALUE control of ``stmt`` as ``out = c + sum(k_j x_j)``: the constant
        ``c`` and the terms ``(control, k_j)`` whose ``k_j`` is not 0 (a control is a pair of
        nodes, mapped by ``node``, for E and G; a source's name for F and H)."""
        line, ctrl = stmt.line, stmt.control
        what = f"{ELEMENTS[stmt.kind].word} '{stmt.name}'"
        if isinstance(ctrl, Poly):
            coefficients = [self._eval(c, scope, line, f"POLY coefficient of '{stmt.name}'") for c in ctrl.coefficients]
            n = len(ctrl.controls)
            nonlinear = [k for k, c in enumerate(coefficients) if k > n and c != 0.0]
            if nonlinear:
                raise line.error(ctrl.column, f"{what}: POLY({n}) with nonlinear terms (coefficient "
                                 f"{nonlinear[0] + 1} is {coefficients[nonlinear[0]]:g}) is not supported",
                                 "resim simulates linear controlled sources: keep the constant and the "
                                 f"first {n} coefficient(s)")
            constant = coefficients[0] if coefficients else 0.0
            terms = [(pair, coefficients[k + 1]) for k, pair in enumerate(ctrl.controls) if k + 1 < len(coefficients)]
        else:
            expr = ctrl.expr
            try:
                constant, by_pair = affine(expr.tree, scope) if isinstance(expr, Expr) else (expr, {})
            except ExpressionError as exc:
                raise _value_error(exc, line, ctrl.column, f"{what}: VALUE") from None
            terms = list(by_pair.items())
        return constant, [(tuple(node(n) for n in pair), k) for pair, k in terms if k != 0.0]

    def shunt(self, ohm: float) -> None:
        """``.options rshunt``: a resistor ``r.rshunt.<node>`` from every node to ground."""
        names = [n for n in self.p.node_names[1:]] + list(self.added_nodes)
        col = self.added["r"]
        for name in names:
            col.append(f"r.rshunt.{name}", (self.node_id(name), 0), ohm, 0, 0)
            self.synthesized.add(f"r.rshunt.{name}")
        self.shunted = len(names)

    def _note(self, topic: tuple[str, str], name: str) -> None:
        self.notes.setdefault(topic, []).append(name)

    def _notes(self) -> list[str]:
        """One warning per kind of change elaboration made (a topic: the kind's word and what
        was done, :meth:`Emit.note`), naming the elements."""
        out = []
        for (word, text), names in self.notes.items():
            shown = ", ".join(f"'{n}'" for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            out.append(f"warning: {word}{'s' if len(names) > 1 else ''} {shown}: {text}")
        return out

    # -- numbering ------------------------------------------------------------------------
    def number_nodes(self, model_index: dict[str, int], fixed: list) -> tuple[tuple[str, ...], dict[str, ElementGroup]]:
        """The node names by number and the element groups: the parsed netlist's elements,
        then those of the subcircuit instances, in new arrays (``fixed``: the values of the
        expressions, written there)."""
        p = self.p
        arrays, names_of, refs = {}, {}, {}
        for kind in CIRCUIT_KINDS:
            arrays[kind], names_of[kind], refs[kind] = self._joined(p.columns[kind], self.added[kind])
        for fix, value in fixed:
            arrays[fix.kind].values[fix.index] = value
        zero = np.flatnonzero(arrays["r"].values[: len(p.columns["r"])] == 0.0)  # cards' are done in emit
        if len(zero):
            arrays["r"].values[zero] = ZERO_OHM
            self.notes.setdefault(ZERO_NOTE, []).extend(names_of["r"][k] for k in zero.tolist())
        node_names = p.node_names + list(self.added_nodes) if self.added_nodes else p.node_names
        names_in_order, numbered = number_node_ids([arrays[kind].nodes for kind in CIRCUIT_KINDS], node_names)
        files = p.files
        groups: dict[str, ElementGroup] = {}
        for kind, nodes in zip(CIRCUIT_KINDS, numbered):
            arr, names = arrays[kind], names_of[kind]
            twice = names.first_duplicate()
            if twice is not None:
                raise self._duplicate(names, arr, *twice)
            refers = ELEMENTS[kind].refers
            ref = self._refs(kind, refers, names, refs[kind], arr, model_index, groups) if refers else None
            groups[kind] = ElementGroup(as_names(names), nodes, arr.values, arr.file, arr.line, ref)
        return names_in_order, groups

    def _refs(self, kind: str, refers: str, names, refs: list[str], arr: ColumnArrays, model_index: dict[str, int],
              groups: dict[str, ElementGroup]) -> np.ndarray:
        """The ``ref`` column of ``kind``: each element's ``refs`` name as an index into the
        circuit's models (``refers == "model"``) or into the group of kind ``refers``,
        numbered before it; an error at the first name that is neither."""
        out = np.empty(len(names), np.int32)
        target = None if refers == "model" else groups[refers]
        for j, name in enumerate(refs):
            k = model_index.get(name) if target is None else target.index_of(name)
            if k is None:
                loc, src = source_location(self.p.files, self.p.lines, arr.file[j], arr.line[j])
                word = ELEMENTS[kind].word
                if target is None:
                    known = ", ".join(sorted(model_index)) or "none defined"
                    raise NetlistError(f"{word} '{names[j]}': undefined model '{name}'", location=loc, source_line=src,
                                       hint=f"define it with .model {name} D(...) (known diode models: {known})")
                what = ELEMENTS[refers].word
                known = ", ".join(list(target.names)[:6]) or "none in the circuit"
                raise NetlistError(f"{word} '{names[j]}': no {what} '{name}' to read the current of",
                                   location=loc, source_line=src,
                                   hint=f"name a {what} of the circuit (known: {known}); inside a subcircuit, "
                                        "one of the same subcircuit")
            out[j] = k
        return out

    @staticmethod
    def _joined(parsed: Columns, added: Columns) -> tuple[ColumnArrays, Names, list[str]]:
        """The arrays, names and diode model names of ``parsed``'s rows then ``added``'s: new
        arrays, but for those only read (node indices, files, lines) when nothing is added."""
        mine, more = parsed.arrays(), added.arrays()
        if not len(added):  # values are written (expressions, 0 ohm); files and lines shared, read-only
            return ColumnArrays(mine.nodes, mine.values.copy(), _read_only(mine.file), _read_only(mine.line)), \
                parsed.names, parsed.refs
        arrays = ColumnArrays(*(np.concatenate((getattr(mine, f), getattr(more, f)))
                                for f in ("nodes", "values", "file", "line")))
        return arrays, parsed.names + added.names, parsed.refs + added.refs

    def _duplicate(self, names: Names, arr: ColumnArrays, first: int, j: int) -> NetlistError:
        """The error of element ``j``, whose name element ``first`` has already."""
        files = self.p.files
        loc, src = source_location(files, self.p.lines, int(arr.file[j]), int(arr.line[j]))
        return NetlistError(
            f"element '{names[j]}' is defined twice (first at {files[arr.file[first]]}:{arr.line[first]})",
            location=loc, source_line=src, hint="element names must be unique",
        )


class Emit:
    """One card being elaborated, as a kind's ``expand`` sees it
    (:attr:`~resim.elements.kind.ElementKind.expand`): its statement, its full name, its
    nodes (mapped into the instance), its parameters evaluated, and the ways to add
    elements to the circuit."""

    def __init__(self, owner: _Elaborator, stmt: ElementStmt, scope: Mapping[str, float], path: tuple[str, ...],
                 nodes: tuple[str, ...], m: float, params: dict[str, float], name: str, node,
                 local: dict[str, str]) -> None:
        self._owner, self._scope, self._path, self._node, self._local = owner, scope, path, node, local
        self.stmt, self.nodes, self.m, self.params, self.name = stmt, nodes, m, params, name

    @property
    def value(self) -> float | None:
        """The card's value, evaluated (None: it has none)."""
        stmt = self.stmt
        if stmt.value is None:
            return None
        where = f" in '{self._path[-1]}'" if self._path else ""
        return self._owner._eval(stmt.value, self._scope, stmt.line, f"value of '{stmt.name}'{where}")

    @property
    def ref(self) -> str | None:
        """The full name of what the card refers to (its kind's ``refers``), as the
        instance sees it: ``vx`` inside ``x1`` is ``v.x1.vx``."""
        refers = ELEMENTS[self.stmt.kind].refers
        return None if self.stmt.ref is None else element_name(refers, self._path, self.stmt.ref)

    def m_total(self) -> float:
        """The card's own ``m=`` times its instance's: its copies in parallel."""
        return self.m * self.params.get("m", 1.0)

    def control(self) -> tuple[float, list[tuple[tuple[str, ...], float]]]:
        """The card's POLY or VALUE control as a constant and linear terms (:meth:`_Elaborator.affine`)."""
        return self._owner.affine(self.stmt, self._scope, self._node)

    def add(self, kind: str, name: str, nodes: tuple[str, ...], value: float, ref: str | None = None,
            synthesized: bool = False) -> None:
        """An element of ``kind`` in the circuit (``synthesized``: resim made its name)."""
        self._owner._add(kind, name, nodes, value, self.stmt, ref, synthesized)

    def element_name(self, kind: str, local: str) -> str:
        """The full name of an element called ``local`` inside this card's instance."""
        return element_name(kind, self._path, local)

    def local_node(self, local: str) -> str:
        """A node resim makes inside this card's instance (named, e.g., ``x1.e1.n1``)."""
        name = ".".join(self._path) + "." + local if self._path else local
        self._owner.synthesized.add(name)
        return name

    def note(self, word: str, text: str) -> None:
        """One warning for all the elements elaboration changed the same way."""
        self._owner._note((word, text), self.name)

    def drop(self) -> None:
        """Leave the card out of the circuit (its nodes still count as connected)."""
        self._owner.dropped.append((self.stmt.kind, self.name, self.nodes, self.stmt.location))

    def error(self, column: int, message: str, hint: str | None = None) -> NetlistError:
        return self.stmt.line.error(column, message, hint)

    def warn(self, text: str) -> None:
        """A warning at the card."""
        self._owner.warnings.append(f"{self.stmt.location}: warning: {text}")

    @property
    def where(self) -> str:
        """`` in 'x1'`` for a card of an instance (for messages), else empty."""
        return f" in '{self._path[-1]}'" if self._path else ""

    @staticmethod
    def shown(text: str) -> str:
        """``text`` as a message shows it (:func:`resim.netlist.syntax_errors.shown`)."""
        return shown(text)

    def parameter(self, name: str) -> float | None:
        """The value of ``.param name`` as the card sees it, or None."""
        return self._scope.get(name)

    def model_name(self, name: str) -> str:
        """The ``.model`` a name on the card means: the instance's own model of that name, if any."""
        return self._local.get(name, name)

    # -- the models' machinery (resim.netlist.models), for R and D ------------------------
    def resistor_model(self, name: str) -> dict[str, float] | None:
        """The parameters of the resistor model ``name`` (:meth:`model_name` applied), or None."""
        return self._owner.resistors.params.get(self.model_name(name))

    def resistor_models(self) -> list[str]:
        return sorted(self._owner.resistors.params)

    def resistance(self, value: float | None, model: dict[str, float] | None, inst: dict[str, float]):
        """:func:`resim.netlist.models.resistance` at the circuit's temperature; its errors
        located at the card."""
        o = self._owner.options
        try:
            return resistance(value, model, inst, o.temperature, o.tnom)
        except ModelError as exc:
            raise self.error(1, f"{ELEMENTS[self.stmt.kind].word} '{self.stmt.name}'{self.where}: {exc.message}",
                             exc.hint) from None

    def diode(self, name: str, area: float | None, pj: float | None, m: float) -> tuple[str, float]:
        """:meth:`resim.netlist.models.DiodeModels.ref` of the model ``name`` (:meth:`model_name`
        applied): the model the diode uses and its value; its errors located at the card."""
        try:
            return self._owner.diodes.ref(self.model_name(name), area, pj, m)
        except ModelError as exc:
            raise self.error(1, f"{ELEMENTS[self.stmt.kind].word} '{self.stmt.name}': {exc.message}", exc.hint) from None


def _read_only(a: np.ndarray) -> np.ndarray:
    """A view of ``a`` that cannot be written: the circuit shares the parsed netlist's file
    and line columns (4 bytes each per element: 0.4 GB for DRN-XL) without letting a write
    into the circuit reach the parsed netlist."""
    view = a.view()
    view.flags.writeable = False
    return view


def _names(value: Value) -> set[str]:
    """The parameter names a value refers to."""
    return value.names() if isinstance(value, Expr) else set()


_STEP = 1 << 22  # node indices numbered at a time (their positions: a 32 MB array)


def number_node_ids(blocks: list[np.ndarray], names: list[str]) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """Number the nodes in order of first appearance (ground = 0), reading each block of
    node indices column by column, block after block.

    ``blocks`` are [rows, terminals] indices into ``names`` (0 is ground). Returns the
    names by number and the blocks renumbered.
    """
    never = np.iinfo(np.int64).max
    first = np.full(len(names), never, np.int64)
    offset = 0
    for blk in blocks:  # the stream of node indices, a column at a time, a few million at a time
        for column in blk.T:
            for a in range(0, len(column), _STEP):
                part = column[a:a + _STEP]
                np.minimum.at(first, part, np.arange(offset + a, offset + a + len(part)))
            offset += len(column)
    first[0] = -1  # ground first
    present = np.flatnonzero(first < never)
    order = present[np.argsort(first[present], kind="stable")]
    number = np.zeros(len(names), np.int32 if len(names) < 2**31 else np.int64)  # int32: 8 bytes less per resistor
    number[order] = np.arange(len(order))
    return tuple(_gather(names, order.tolist())), [number[blk] for blk in blocks]


def _gather(seq: list, ids: list[int]) -> tuple:
    """``tuple(seq[i] for i in ids)`` at C speed."""
    if len(ids) < 2:
        return tuple(seq[i] for i in ids)
    return itemgetter(*ids)(seq)
