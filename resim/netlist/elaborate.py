"""Statements to the element graph: parameters, subcircuit expansion, node numbering.

Parameters are evaluated in order (a ``.param`` may use earlier ones); a subcircuit
instance sees the global parameters, then the ``.subckt`` defaults, then its own
overrides (evaluated in the scope of the instance's parent), then the ``.param`` lines of
the body. Names inside instance ``x1`` follow ngspice: node ``mid`` becomes ``x1.mid``,
element ``r1`` becomes ``r.x1.r1``; nested instances stack (``x1.x2.n3``), at most
:data:`MAX_SUBCKT_DEPTH` deep.

Every computed value must be a finite number (a netlist error otherwise).

The parsed netlist is only read: the elements and nodes that expansion adds, and the
values of expressions, go into arrays of the circuit's own, so elaborating one parsed
netlist again (with other parameters, or after an error) gives a circuit as if it were fresh.
"""

from __future__ import annotations

import math
from operator import itemgetter
from typing import Mapping

import numpy as np

from ..circuit import Circuit, DcSweep, DiodeModel, ElementGroup, source_location
from ..elements import CIRCUIT_KINDS
from ..errors import NetlistError
from .expressions import Expr, ExpressionError, Value
from .numbers import FINITE_HINT
from .statements import ColumnArrays, Columns, ElementStmt, ParamStmt, ParsedNetlist

MAX_SUBCKT_DEPTH = 100  # subcircuit instances nested deeper than this are refused
_SHOCKLEY = {"is": "IS", "n": "N", "rs": "RS"}
_PWL = {"ron": "Ron", "roff": "Roff", "vfwd": "Vfwd"}
# Diode parameters with no effect on a DC operating point at the nominal temperature.
_NO_DC_EFFECT = {"cjo", "cj0", "cj", "vj", "pb", "m", "mj", "tt", "fc", "eg", "xti", "kf", "af",
                 "tnom", "cjsw", "mjsw", "vjsw", "fcs", "trs", "tt1", "tt2", "tm1", "tm2", "tcv",
                 "iss", "ns", "level", "area", "pj", "ik", "ikf", "ikr", "jsw", "cp"}


def element_name(kind: str, path: tuple[str, ...], name: str) -> str:
    """ngspice's name for element ``name`` inside instance ``path`` (``r.x1.x2.r1``)."""
    return f"{kind}.{'.'.join(path)}.{name}" if path else name


def elaborate(parsed: ParsedNetlist, params: Mapping[str, float] | None = None) -> Circuit:
    """The flat :class:`Circuit` of a parsed netlist, with ``params`` overriding ``.param`` values."""
    return _Elaborator(parsed, dict(params or {})).run()


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

    def global_scope(self) -> dict[str, float]:
        scope: dict[str, float] = {}
        for stmt in self.p.params:
            if stmt.name in self.overrides:
                scope[stmt.name] = self.overrides[stmt.name]
            else:
                scope[stmt.name] = self._eval(stmt.value, scope, stmt.line, f"parameter '{stmt.name}'")
        return scope

    # -- main -----------------------------------------------------------------------------
    def run(self) -> Circuit:
        p = self.p
        scope = self.scope = self.global_scope()
        fixed = [(fix, self._eval(fix.expr, scope, fix.line, f"value of '{p.columns[fix.kind].names[fix.index]}'"))
                 for fix in p.fixups]
        for inst in p.instances:
            self.expand(inst, scope, (), ())
        models, model_index = self.models()
        nodes, groups = self.number_nodes(model_index, fixed)
        dc = tuple(
            tuple(DcSweep(src, *(self._eval(v, scope, d.line, f".dc {src}") for v in rest)) for src, *rest in d.sweeps)
            for d in p.dc
        )
        return Circuit(
            title=p.title,
            nodes=nodes,
            groups=groups,
            models=models,
            params=scope,
            dc=dc,
            has_op=p.has_op,
            files=tuple(p.files),
            source_lines=tuple(p.lines),
            warnings=tuple(self.warnings),
        )

    # -- subcircuits ----------------------------------------------------------------------
    def expand(self, inst: ElementStmt, parent_scope: Mapping[str, float], path: tuple[str, ...],
               subckt_stack: tuple) -> None:
        p = self.p
        sub = p.subckts.get(inst.ref or "")
        line = inst.line
        if sub is None:
            known = ", ".join(sorted(p.subckts)) or "none defined"
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
        unknown = set(inst.params) - set(sub.defaults)
        if unknown:
            bad = sorted(unknown)[0]
            raise NetlistError(
                f"subcircuit instance '{inst.name}': '{sub.name}' has no parameter '{bad}'",
                location=inst.location, source_line=line.physical_text(inst.location.line),
                hint="declared parameters: " + (" ".join(sub.defaults) or "none") + " (after params: on the .subckt line)",
            )
        scope = dict(self.scope)  # an instance sees the global parameters, then its own
        for key, value in sub.defaults.items():
            if key in inst.params:
                scope[key] = self._eval(inst.params[key], parent_scope, line, f"parameter '{key}' of '{inst.name}'")
            else:  # reported at the .subckt line, naming the instance that needed it
                scope[key] = self._eval(value, scope, sub.line,
                                        f"default of parameter '{key}' of '{sub.name}' (for instance '{inst.name}')")
        my_path = (*path, inst.name)
        prefix = ".".join(my_path) + "."
        ports = dict(zip(sub.ports, inst.nodes))

        def node(name: str) -> str:
            if name == "0":
                return "0"
            mapped = ports.get(name)
            return mapped if mapped is not None else prefix + name

        for stmt in sub.body:
            if isinstance(stmt, ParamStmt):
                scope[stmt.name] = self._eval(stmt.value, scope, stmt.line, f"parameter '{stmt.name}'")
                continue
            nodes = tuple(node(n) for n in stmt.nodes)
            if stmt.kind == "x":
                child = ElementStmt("x", stmt.name, nodes, 0.0, stmt.ref, stmt.params, stmt.location, stmt.line)
                self.expand(child, scope, my_path, (*subckt_stack, sub.name))
                continue
            if stmt.params:
                bad = next(iter(stmt.params))
                raise NetlistError(f"unknown instance parameter '{bad}' on '{stmt.name}'", location=stmt.location,
                                   source_line=stmt.line.physical_text(stmt.location.line))
            col = self.added[stmt.kind]
            col.append(element_name(stmt.kind, my_path, stmt.name), tuple(map(self.node_id, nodes)),
                       self._eval(stmt.value, scope, stmt.line, f"value of '{stmt.name}' in '{inst.name}'"),
                       self.file_index.get(stmt.location.file, 0), stmt.location.line)
            if stmt.kind == "d":
                col.refs.append(stmt.ref or "")

    # -- models ---------------------------------------------------------------------------
    def models(self) -> tuple[tuple[DiodeModel, ...], dict[str, int]]:
        out: list[DiodeModel] = []
        index: dict[str, int] = {}
        for name, m in self.p.models.items():
            loc = m.location
            src = m.line.physical_text(loc.line)
            if m.type != "d":
                self.warnings.append(f"{loc}: warning: model '{name}' of type '{m.type.upper()}' ignored (resim uses D models only)")
                continue
            shockley: dict[str, float] = {}
            pwl: dict[str, float] = {}
            for key, value in m.params.items():
                if key in _SHOCKLEY:
                    shockley[_SHOCKLEY[key]] = value
                elif key in _PWL:
                    pwl[_PWL[key]] = value
                elif key in ("bv", "ibv"):
                    self.warnings.append(f"{loc}: warning: model '{name}': reverse breakdown ({key.upper()}) is not modelled")
                elif key in ("vrev", "rrev", "revepsilon", "epsilon", "ilimit", "revilimit"):
                    raise NetlistError(f"model '{name}': parameter '{key}' (reverse breakdown/smoothing) is not supported",
                                       location=loc, source_line=src, hint="resim's piecewise-linear diode takes Ron, Roff and Vfwd")
                elif key in _NO_DC_EFFECT:
                    continue
                else:
                    raise NetlistError(f"model '{name}': unknown diode parameter '{key}'", location=loc, source_line=src,
                                       hint="Shockley diodes take IS, N, RS; piecewise-linear diodes take Ron, Roff, Vfwd")
            if pwl and shockley:
                raise NetlistError(f"model '{name}' mixes Shockley ({', '.join(shockley)}) and piecewise-linear "
                                   f"({', '.join(pwl)}) parameters", location=loc, source_line=src,
                                   hint="use IS/N/RS or Ron/Roff/Vfwd, not both")
            try:
                model = DiodeModel(name, "pwl", location=loc, **pwl) if pwl else DiodeModel(name, "shockley", location=loc, **shockley)
            except TypeError as exc:  # pragma: no cover
                raise NetlistError(str(exc), location=loc, source_line=src) from None
            bad = _check_model(model)
            if bad:
                raise NetlistError(f"model '{name}': {bad}", location=loc, source_line=src)
            index[name] = len(out)
            out.append(model)
        return tuple(out), index

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
        node_names = p.node_names + list(self.added_nodes) if self.added_nodes else p.node_names
        names_in_order, numbered = number_node_ids([arrays[kind].nodes for kind in CIRCUIT_KINDS], node_names)
        files = p.files
        groups: dict[str, ElementGroup] = {}
        for kind, nodes in zip(CIRCUIT_KINDS, numbered):
            arr, names = arrays[kind], names_of[kind]
            if len(set(names)) != len(names):
                self._duplicate(names, arr)
            model = None
            if kind == "d":
                model = np.empty(len(names), np.int32)
                for j, ref in enumerate(refs[kind]):
                    m = model_index.get(ref)
                    if m is None:
                        loc, src = source_location(files, self.p.lines, arr.file[j], arr.line[j])
                        known = ", ".join(sorted(model_index)) or "none defined"
                        raise NetlistError(f"diode '{names[j]}': undefined model '{ref}'", location=loc,
                                           source_line=src,
                                           hint=f"define it with .model {ref} D(...) (known diode models: {known})")
                    model[j] = m
            groups[kind] = ElementGroup(tuple(names), nodes, arr.values, arr.file, arr.line, model)
        return names_in_order, groups

    @staticmethod
    def _joined(parsed: Columns, added: Columns) -> tuple[ColumnArrays, list[str], list[str]]:
        """The arrays, names and diode model names of ``parsed``'s rows then ``added``'s, the
        arrays new but for the node indices when nothing is added (they are only read)."""
        mine, more = parsed.arrays(), added.arrays()
        if not len(added):
            return (ColumnArrays(mine.nodes, mine.values.copy(), mine.file.copy(), mine.line.copy()),
                    parsed.names, parsed.refs)
        arrays = ColumnArrays(*(np.concatenate((getattr(mine, f), getattr(more, f)))
                                for f in ("nodes", "values", "file", "line")))
        return arrays, parsed.names + added.names, parsed.refs + added.refs

    def _duplicate(self, names: list[str], arr: ColumnArrays) -> None:
        seen: dict[str, int] = {}
        for j, name in enumerate(names):
            if name in seen:
                first = seen[name]
                files = self.p.files
                loc, src = source_location(files, self.p.lines, int(arr.file[j]), int(arr.line[j]))
                raise NetlistError(
                    f"element '{name}' is defined twice (first at {files[arr.file[first]]}:{arr.line[first]})",
                    location=loc, source_line=src, hint="element names must be unique",
                )
            seen[name] = j


def number_node_ids(blocks: list[np.ndarray], names: list[str]) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """Number the nodes in order of first appearance (ground = 0), reading each block of
    node indices column by column, block after block.

    ``blocks`` are [rows, terminals] indices into ``names`` (0 is ground). Returns the
    names by number and the blocks renumbered.
    """
    stream = np.concatenate([blk.T.ravel() for blk in blocks] + [np.zeros(0, np.int64)])
    first = np.full(len(names), len(stream), np.int64)
    np.minimum.at(first, stream, np.arange(len(stream)))
    first[0] = -1  # ground first
    present = np.flatnonzero(first < len(stream))
    order = present[np.argsort(first[present], kind="stable")]
    number = np.zeros(len(names), np.int64)
    number[order] = np.arange(len(order))
    return tuple(_gather(names, order.tolist())), [number[blk] for blk in blocks]


def _gather(seq: list, ids: list[int]) -> tuple:
    """``tuple(seq[i] for i in ids)`` at C speed."""
    if len(ids) < 2:
        return tuple(seq[i] for i in ids)
    return itemgetter(*ids)(seq)


def _check_model(m: DiodeModel) -> str | None:
    if m.family == "shockley":
        if not (m.IS > 0 and math.isfinite(m.IS)):
            return f"IS must be positive, got {m.IS}"
        if not m.N > 0:
            return f"N must be positive, got {m.N}"
        if m.RS < 0:
            return f"RS must be >= 0, got {m.RS}"
    else:
        if m.Ron < 0:
            return f"Ron must be >= 0, got {m.Ron}"
        if not m.Roff > 0:
            return f"Roff must be positive, got {m.Roff}"
        if m.Roff <= m.Ron:
            return f"Roff ({m.Roff}) must exceed Ron ({m.Ron})"
    return None
