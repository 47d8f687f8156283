"""resim against ngspice on the same netlist (``resim compare-with-ngspice``).

resim solves the netlist; :mod:`resim.translate` writes the circuit as ngspice reads it;
:func:`resim.ngspice.run_op` runs ngspice in batch mode (ASCII rawfile, tightened options
by default); nodes and element currents are matched by name (hierarchical names as
ngspice prints them; names with non-ASCII characters through the translation's ASCII
aliases). The verdict is on node voltages, the largest difference against ``tol``, and on
element currents, each difference against ``tol_i`` times the current's scale (its own
size, or the circuit's largest source current when that is larger: :func:`current_scale`).
Every node and every current resim reports must be in ngspice's output. With the
``states`` translation of piecewise-linear diodes, ngspice's answer must also confirm every
diode state resim found (a wrong state fails the comparison even where the voltages happen
to agree).

The translation is written from resim's reading of the netlist, so it cannot catch a
misreading. By default ngspice also runs the netlist as written, where it can read it as it
is (:func:`why_not_as_written`), and resim's answer must agree with that too
(:attr:`Comparison.as_written`). A comparison that cannot be made (names ngspice reads
otherwise under ``--against``, a node lost by the translation) is :class:`CouldNotCompare`
(exit 8), not a difference (:class:`ResultsDiffer`, exit 9).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import time
from dataclasses import dataclass, field

import numpy as np

from . import api
from .circuit import Circuit
from .elements import CIRCUIT_KINDS, ELEMENTS
from .errors import ResimError, printable
from .ngspice import DEFAULT_OPTIONS, KEPT_FILES, NgspiceError, NgspiceResult, run_op
from .result import Result
from .translate import Translation, current_maps, ngspice_takes_element, ngspice_takes_node, to_ngspice

DEFAULT_TOL = 1e-6  # volts
# amperes: smaller current differences always agree. ngspice runs with abstol 1e-15 A and stops
# its Newton iteration once a current moves by less than reltol |i| + abstol: its answer is only
# within a few abstol (2.7e-15 A seen on a real netlist's 6e-11 A supply current).
CURRENT_FLOOR = 1e-14
DEFAULT_TIMEOUT = 600.0  # seconds ngspice may run
SAVECURRENTS_MAX = 20_000  # elements; above this ngspice is not asked for every device current


class ResultsDiffer(ResimError):
    """resim and ngspice disagree beyond the tolerance."""

    exit_code = 9


class CouldNotCompare(ResimError):
    """The comparison could not be made: ngspice cannot be run on this netlist so that its
    answer matches resim's names (``--against`` with names ngspice does not take as they
    are), or ngspice's run of resim's own translation lacks a node or current it was given.
    Exit 8, as when ngspice fails: it is not a difference between the two."""

    exit_code = 8


@dataclass
class NodeRow:
    name: str
    resim: float
    ngspice: float

    @property
    def diff(self) -> float:
        return abs(self.resim - self.ngspice)


@dataclass
class Comparison:
    netlist: str
    tol: float
    rows: list[NodeRow]  # worst first
    max_dv: float
    rms_dv: float
    max_di: float
    max_di_element: str | None
    currents_compared: int
    state_violations: list[str]
    resim_seconds: float
    ngspice_seconds: float
    resim_method: str
    ngspice_options: str | None
    diodes: str
    missing: list[str] = field(default_factory=list)  # resim nodes ngspice did not report
    notes: list[str] = field(default_factory=list)
    tol_i: float = DEFAULT_TOL
    current_scale: float = 0.0  # amperes: the circuit's largest source current (resim's)
    current_violations: list[str] = field(default_factory=list)  # currents beyond tol_i, worst first
    missing_currents: list[str] = field(default_factory=list)  # resim elements whose current ngspice did not report
    dc_points: int = 0  # points of the netlist's .dc sweep compared (0: none)
    dc_max_dv: float = 0.0
    dc_worst: str | None = None  # "node at source=value"
    # what ngspice ran: "translation" (resim's reading of the netlist, translated), "as written"
    # (the netlist itself), "against" (--against FILE)
    ran: str = "translation"
    as_written: Comparison | None = None  # with a translation: ngspice on the netlist as written
    as_written_note: str | None = None  # why the netlist as written was not compared
    warnings: list[str] = field(default_factory=list)  # resim's warnings about the netlist (its reader's)

    @property
    def differs(self) -> bool:
        """A difference beyond the tolerances, in this run or in the netlist as written."""
        own = self._beyond_tolerances or (self.ran != "translation" and self._missing_any)
        return own or (self.as_written is not None and self.as_written.differs)

    @property
    def _beyond_tolerances(self) -> bool:
        """This run's own values differ: a voltage or current beyond its tolerance, a diode state."""
        return (self.max_dv > self.tol or self.dc_max_dv > self.tol or bool(self.state_violations)
                or bool(self.current_violations))

    @property
    def _missing_any(self) -> bool:
        return bool(self.missing or self.missing_currents)

    @property
    def outcome(self) -> str:
        """``agree``, ``differ`` (exit 9), or ``could not compare`` (exit 8): ngspice's run of
        resim's own translation lacks a node or current it was given, a translation problem,
        not a difference (a difference elsewhere wins)."""
        if self.differs:
            return "differ"
        if self.ran == "translation" and self._missing_any:
            return "could not compare"
        return "agree"

    @property
    def ok(self) -> bool:
        return self.outcome == "agree"

    @property
    def speedup(self) -> float:
        return self.ngspice_seconds / self.resim_seconds if self.resim_seconds > 0 else math.inf

    @property
    def label(self) -> str:
        """What ngspice ran, in the report's words."""
        return {"translation": "resim's reading, translated", "as written": "the netlist as written",
                "against": "the --against netlist"}[self.ran]

    def verdict(self) -> str:
        """The outcome and why: each comparison's findings (with the netlist as written, both)."""
        head = {"agree": "agree", "differ": "DIFFER", "could not compare": "could not compare"}[self.outcome]
        if self.as_written is None:
            text = f"{head}: {self._findings()}"
        else:
            text = f"{head}: {self.label}: {self._findings()}; {self.as_written.label}: {self.as_written._findings()}"
        if self.as_written_note:
            text += f" (the netlist as written was not compared: {self.as_written_note})"
        return text

    def _findings(self) -> str:
        """This run's differences, else what is missing, else how close it agrees."""
        if not (self._beyond_tolerances or self._missing_any):
            dc = f" (.dc: {self.dc_points} points, largest |dv| {self.dc_max_dv:.3g} V)" if self.dc_points else ""
            return (f"largest |dv| {self.max_dv:.3g} V <= tol {self.tol:.3g} V, {self.currents_compared} "
                    f"currents within tol-i {self.tol_i:.3g} of their scale{dc}")
        why = []
        if self.max_dv > self.tol:
            why.append(f"largest |dv| {self.max_dv:.3g} V > tol {self.tol:.3g} V (node {self.rows[0].name})")
        if self.dc_max_dv > self.tol:
            why.append(f".dc sweep: largest |dv| {self.dc_max_dv:.3g} V > tol {self.tol:.3g} V ({self.dc_worst})")
        if self.state_violations:
            why.append(f"{len(self.state_violations)} diode state(s) contradicted by ngspice: "
                       + "; ".join(self.state_violations[:3]))
        if self.current_violations:
            why.append(f"{len(self.current_violations)} current(s) differ by more than tol-i {self.tol_i:.3g} of "
                       f"their scale: " + "; ".join(self.current_violations[:3]))
        whose = "ngspice's run of resim's translation" if self.ran == "translation" else "ngspice's output"
        if self.missing:
            why.append(f"{len(self.missing)} node(s) missing from {whose}: {', '.join(self.missing[:5])}")
        if self.missing_currents:
            why.append(f"{len(self.missing_currents)} current(s) missing from {whose}: "
                       + ", ".join(self.missing_currents[:5]))
        return "; ".join(why)

    def as_dict(self, top: int = 20) -> dict:
        return {
            "netlist": self.netlist,
            "verdict": self.outcome,
            "ngspice_ran": self.ran,
            "tolerance_V": self.tol,
            "max_abs_dv_V": self.max_dv,
            "rms_dv_V": self.rms_dv,
            "max_abs_di_A": self.max_di,
            "max_abs_di_element": self.max_di_element,
            "currents_compared": self.currents_compared,
            "current_tolerance_rel": self.tol_i,
            "current_scale_A": self.current_scale,
            "current_violations": self.current_violations,
            "missing_currents": self.missing_currents,
            "diode_state_violations": self.state_violations,
            "missing_nodes": self.missing,
            "worst_nodes": [{"node": r.name, "resim": r.resim, "ngspice": r.ngspice, "abs_diff": r.diff}
                            for r in self.rows[:top]],
            "resim_seconds": self.resim_seconds,
            "ngspice_seconds": self.ngspice_seconds,
            "speedup": self.speedup,
            "resim_method": self.resim_method,
            "ngspice_options": self.ngspice_options,
            "diodes": self.diodes,
            "dc_points": self.dc_points,
            "dc_max_abs_dv_V": self.dc_max_dv,
            "dc_worst": self.dc_worst,
            "notes": self.notes,
            "as_written": None if self.as_written is None else self.as_written.as_dict(top),
            "as_written_not_compared": self.as_written_note,
        }


AS_WRITTEN_DIR = "as-written"  # --keep DIR's folder for ngspice's run of the netlist as written
DC_DIR = "dc"  # --keep DIR's folder for ngspice's run of the .dc line


def kept_files(keep: str | os.PathLike) -> list[str]:
    """Every file that :func:`compare_with_ngspice` may write into its ``keep`` folder."""
    folders = (os.fspath(keep), os.path.join(keep, DC_DIR), os.path.join(keep, AS_WRITTEN_DIR))
    return [os.path.join(folder, name) for folder in folders for name in KEPT_FILES]


def compare_with_ngspice(netlist: str | os.PathLike, *, tol: float = DEFAULT_TOL, ngspice: str | None = None,
                         options: str | None = DEFAULT_OPTIONS, keep: str | os.PathLike | None = None,
                         diodes: str = "states", against: str | os.PathLike | None = None,
                         method: str = "auto", tol_i: float | None = None,
                         timeout: float = DEFAULT_TIMEOUT, as_written: bool = True) -> Comparison:
    """Solve ``netlist`` with resim and with ngspice and compare (see the module docstring).

    ngspice runs resim's translation of the circuit (:mod:`resim.translate`), and, with
    ``as_written``, the netlist itself too, where ngspice can read it as it is
    (:func:`why_not_as_written`): a reader that takes the netlist otherwise than ngspice
    does cannot agree there, however well its reading is solved. That comparison is
    :attr:`Comparison.as_written` (or :attr:`Comparison.as_written_note` says why there is
    none); a difference in either is a difference.

    ``tol``: volts; ``tol_i``: relative to each current's scale (default: the number
    ``tol`` is, so that loosening one loosens both). ``options``: ngspice
    ``.options`` (None: ngspice's defaults). ``keep``: a folder that keeps the translated
    netlist, the rawfile and ngspice's log (the netlist as written's in ``as-written/``).
    ``against``: an ngspice netlist to run instead of the translation (names must match).
    ``timeout``: seconds each ngspice run may take.
    Raises :class:`~resim.ngspice.NgspiceError` when ngspice is missing, fails on the
    translation or on ``against``, or runs past ``timeout``
    (:class:`~resim.ngspice.NgspiceTimeout`); :class:`CouldNotCompare` when ``against`` is
    given and the circuit has names ngspice does not take as they are; and resim's own
    errors when resim cannot solve the netlist.
    """
    path = os.fspath(netlist)
    tol_i = tol if tol_i is None else tol_i
    _warm_imports()
    t0 = time.perf_counter()
    circuit = api.load_netlist(path)
    result = api.solve(circuit, method=method)
    resim_seconds = time.perf_counter() - t0
    run = _Runs(path, circuit, result, tol, tol_i, ngspice, options, timeout, resim_seconds)
    if against is not None:
        odd = names_ngspice_does_not_take(circuit, models=False)  # FILE's models need not match resim's
        if odd:
            raise CouldNotCompare(
                f"could not compare: ngspice does not take {_listed(odd)} as written, so its answer for "
                f"{os.fspath(against)} cannot be matched to resim's by name",
                hint="compare without --against: resim's translation renames them for ngspice (docs/ngspice.md)")
        cmp = run.as_given(os.fspath(against), keep, "against", dc=True)
    else:
        cmp = run.translation(diodes, keep)
        if as_written:
            _add_as_written(cmp, run, keep)
    cmp.warnings = list(circuit.warnings)
    return cmp


def _add_as_written(cmp: Comparison, run: "_Runs", keep) -> None:
    """Set ``cmp.as_written`` to ngspice's run of the netlist as written, or
    ``cmp.as_written_note`` to why there is none (:func:`why_not_as_written`, or ngspice failed)."""
    cmp.as_written_note = why_not_as_written(run.circuit, run.path)
    if cmp.as_written_note is not None:
        return
    folder = None if keep is None else os.path.join(os.fspath(keep), AS_WRITTEN_DIR)
    try:
        cmp.as_written = run.as_given(run.path, folder, "as written", dc=False)
    except NgspiceError as exc:
        cmp.as_written_note = f"ngspice could not run it: {_why_ngspice_failed(exc)}"


@dataclass
class _Runs:
    """One resim answer, and the ngspice runs it is compared with."""

    path: str
    circuit: Circuit
    result: Result
    tol: float
    tol_i: float
    ngspice: str | None
    options: str | None
    timeout: float
    resim_seconds: float

    @property
    def savecurrents(self) -> bool:
        return self.circuit.n_elements <= SAVECURRENTS_MAX

    def _run(self, deck: str, tr: Translation, keep, diodes: str, notes: list[str], ran: str) -> Comparison:
        if self.savecurrents:
            deck = _with_savecurrents(deck)
        else:
            notes.append(f"{self.circuit.n_elements:,} elements: currents compared for V and E sources and "
                         f"piecewise-linear diodes only (no .options savecurrents above {SAVECURRENTS_MAX:,} elements)")
        ng = run_op(deck, ngspice=self.ngspice, options=self.options,
                    keep_dir=None if keep is None else os.fspath(keep), timeout=self.timeout)
        cmp = _compare(self.path, self.circuit, self.result, tr, ng, self.tol, self.resim_seconds, self.options,
                       diodes, notes, self.tol_i)
        cmp.ran = ran
        return cmp

    def translation(self, diodes: str, keep) -> Comparison:
        """ngspice on resim's translation of the circuit, its .dc sweep too."""
        circuit = self.circuit
        tr = to_ngspice(circuit, self.result, diodes=diodes, savecurrents=self.savecurrents)
        cmp = self._run(tr.text, tr, keep, diodes, list(tr.notes), "translation")
        if circuit.dc:
            if diodes == "states" and _has_pwl_diodes(circuit):
                cmp.notes.append(".dc sweep not compared: piecewise-linear diode states change along a sweep "
                                 "(compare it with --diodes sidiode)")
            else:
                _compare_dc(cmp, circuit, tr.text, tr, self.ngspice, self.options, keep, self.timeout)
        return cmp

    def as_given(self, netlist: str, keep, ran: str, dc: bool) -> Comparison:
        """ngspice on a netlist as it is (``netlist``: the user's own, or ``--against``),
        matched by name; its .dc sweep too when ``dc``. Only the V and E sources' currents are
        compared (their branch currents, by name)."""
        with open(netlist, encoding="utf-8", errors="surrogateescape") as fh:  # ngspice gets its bytes as they are
            deck = operating_point_deck(fh.read(), os.path.dirname(os.path.abspath(netlist)), only_op=not dc)
        circuit = self.circuit
        branches = [kind for kind in CIRCUIT_KINDS if ELEMENTS[kind].ngspice_current is None]  # V, E
        tr = Translation(deck, currents=[m for kind in branches for k, name in enumerate(circuit[kind].names)
                                         if name not in circuit.synthesized for m in current_maps(kind, k, name)])
        notes = [f"ngspice ran {netlist} as given (no translation)"] if ran == "against" else []
        cmp = self._run(deck, tr, keep, "as given", notes, ran)
        if dc and circuit.dc:
            _compare_dc(cmp, circuit, deck, None, self.ngspice, self.options, keep, self.timeout)
        return cmp


def _has_pwl_diodes(circuit: Circuit) -> bool:
    return any(circuit.models[m].family == "pwl" for m in circuit["d"].ref.tolist())


def names_ngspice_does_not_take(circuit: Circuit, models: bool = True) -> list[str]:
    """The circuit's node and element names (those the netlist wrote), and with ``models``
    its diodes' model names, that ngspice 39 does not read as they are
    (:func:`~resim.translate.ngspice_takes_node`, :func:`~resim.translate.ngspice_takes_element`)."""
    nodes = [n for n in circuit.nodes[1:] if n not in circuit.synthesized and not ngspice_takes_node(n)]
    elements = [n for group in circuit.groups.values() for n in group.names
                if n not in circuit.synthesized and not ngspice_takes_element(n)]
    used = [circuit.models[m].name for m in sorted(set(circuit["d"].ref.tolist()))] if models else []
    return nodes + elements + [m for m in used if not ngspice_takes_element(m)]


def why_not_as_written(circuit: Circuit, path: str) -> str | None:
    """Why ngspice cannot be run on the netlist at ``path`` as it is, for a comparison with
    resim's reading of it (None: it can): a netlist that is no regular file (a pipe is read
    once), piecewise-linear diodes (ngspice's D has no ``Ron``/``Roff``/``Vfwd``: it would
    ignore them), names ngspice reads otherwise (:func:`names_ngspice_does_not_take`)."""
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        regular = False
    if not regular:
        return "it is not a regular file (it was read once)"
    if _has_pwl_diodes(circuit):
        return "it has piecewise-linear diodes (Ron, Roff, Vfwd), which ngspice's D does not have"
    odd = names_ngspice_does_not_take(circuit)
    if odd:
        return f"ngspice does not take {_listed(odd)} as written (renamed in the translation)"
    return None


def _why_ngspice_failed(exc: NgspiceError) -> str:
    """The first line of ngspice's failure, and its first line that says what it refused."""
    summary = str(exc).splitlines()[0]
    said = next((line.strip() for line in exc.log.splitlines()
                 if re.search(r"error|undefined|unknown|unrecognized", line, re.I) and line.strip() not in summary), None)
    return f"{summary}: {printable(said, 200)}" if said else summary


def _listed(names: list[str]) -> str:
    shown = ", ".join(f"'{printable(n)}'" for n in names[:5]) + (" ..." if len(names) > 5 else "")
    return f"the name{'s' if len(names) > 1 else ''} {shown}"


def _compare_dc(cmp: Comparison, circuit, deck: str, tr: Translation | None, ngspice, options, keep,
                timeout: float) -> None:
    """Every point of the netlist's first ``.dc`` line, resim's sweep against ngspice's
    (``tr``: the translation ``deck`` came from; None when it is the user's own netlist)."""
    from .ngspice import run_dc
    from .sweep import run_sweep
    from .translate import num

    if tr is not None:
        line = ".dc " + " ".join(f"{tr.element(s.source)} {num(s.start)} {num(s.stop)} {num(s.step)}"
                                 for s in circuit.dc[0])
        deck = deck.replace("\n.op\n", f"\n{line}\n")
    ours = run_sweep(circuit)
    theirs = run_dc(deck, ngspice=ngspice, options=options,
                    keep_dir=None if keep is None else os.path.join(os.fspath(keep), DC_DIR), timeout=timeout)
    if len(theirs.sweep) != len(ours.points):
        cmp.notes.append(f".dc: ngspice ran {len(theirs.sweep)} points, resim {len(ours.points)}: not compared")
        return
    worst, where = 0.0, None
    for j, probe in enumerate(ours.probes):
        other = theirs.voltages.get(probe[2:-1] if tr is None else tr.node(probe[2:-1]))
        if other is None:
            continue
        d = np.abs(ours.values[:, j] - other)
        k = int(np.argmax(d))
        if d[k] > worst:
            worst, where = float(d[k]), f"v({probe[2:-1]}) at {ours.axes[0].name} = {ours.points[k, 0]:.6g}"
    cmp.dc_points, cmp.dc_max_dv, cmp.dc_worst = len(ours.points), worst, where


# A netlist's .save would hide nodes from the comparison, and its other analyses may fail
# at the tightened tolerances (a .tran's "timestep too small") after the operating point.
_OTHER_CARDS = "save|tran|ac|noise|pz|disto|sens|four|tf|meas|measure"
_NOT_THE_OPERATING_POINT = re.compile(rf"^[ \t]*\.(?:{_OTHER_CARDS})\b.*$", re.I | re.M)
_NOT_THE_OPERATING_POINT_OR_DC = re.compile(rf"^[ \t]*\.(?:{_OTHER_CARDS}|dc)\b.*$", re.I | re.M)
_CONTROL_BLOCK = re.compile(r"^[ \t]*\.control\b.*?(?:^[ \t]*\.endc\b[^\n]*|\Z)", re.I | re.M | re.S)
_INCLUDE = re.compile(r"""^(\s*\.(?:include|inc|lib)\s+)(['"]?)([^'"\s]+)\2(\s+\S+)?""", re.I | re.M)


def operating_point_deck(deck: str, folder: str, only_op: bool = False) -> str:
    """A user's netlist as ngspice must run it for a comparison (``--against``, the netlist
    as written): relative ``.include``/``.lib`` paths made absolute from ``folder``
    (:func:`absolute_includes`), and its ``.save`` lines and analyses other than
    ``.op``/``.dc`` commented out; with ``only_op``, its ``.dc`` lines and ``.control``
    blocks too (a script's commands are not run, and it would leave no rawfile)."""
    deck = absolute_includes(deck, folder)
    if only_op:
        deck = _CONTROL_BLOCK.sub(lambda m: re.sub(r"(?m)^", "* (resim compare: no .control) ", m.group(0)), deck)
    pattern = _NOT_THE_OPERATING_POINT_OR_DC if only_op else _NOT_THE_OPERATING_POINT
    return pattern.sub(r"* (resim compare: only the operating point, every vector) \g<0>", deck)


def absolute_includes(deck: str, folder: str) -> str:
    """``deck`` with its relative ``.include path`` and ``.lib path section`` paths made
    absolute from ``folder`` (ngspice runs in a work folder of its own). A ``.lib name`` that
    starts a library section is left alone."""
    def fix(m: re.Match) -> str:
        head, quote, path, section = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        if os.path.isabs(path) or (head.strip().lower() == ".lib" and not section):
            return m.group(0)
        return f"{head}{quote}{os.path.join(folder, path)}{quote}{section}"

    return _INCLUDE.sub(fix, deck)


def _warm_imports() -> None:
    """Import what a solve imports lazily, so that resim's time is the solve, not scipy's import."""
    from .compile import compile_circuit  # noqa: F401
    from .netlist import elaborate, grammar, parser  # noqa: F401
    from .solvers import auto, cd, exact  # noqa: F401

    grammar.grammar()


def _with_savecurrents(deck: str) -> str:
    lines = deck.rstrip("\n").split("\n")
    end = next((i for i in range(len(lines) - 1, 0, -1) if lines[i].strip().lower() == ".end"), len(lines))
    return "\n".join(lines[:end] + [".options savecurrents"] + lines[end:]) + "\n"


def _compare(path, circuit, result, tr: Translation, ng: NgspiceResult, tol, resim_seconds, options, diodes,
             notes, tol_i: float | None = None) -> Comparison:
    rows, missing = [], []
    for name, v in zip(circuit.nodes[1:], result.voltages[1:].tolist()):
        other = ng.voltages.get(tr.node(name))
        if other is None and name in circuit.synthesized:  # resim's own node: not in ngspice's run of the netlist
            continue
        if other is None:
            missing.append(name)
        else:
            rows.append(NodeRow(name, v, other))
    rows.sort(key=lambda r: -r.diff)
    diffs = np.array([r.diff for r in rows]) if rows else np.zeros(1)
    volts = dict(ng.voltages, **{"0": 0.0, "gnd": 0.0})
    tol_i = tol if tol_i is None else tol_i
    currents = _compare_currents(circuit, result, tr, ng, volts, tol_i)
    violations = []
    itol = 1e-9 * max(1.0, float(np.max(np.abs(np.concatenate([np.abs(x) for x in result.currents.values()]
                                                                + [np.zeros(1)])))))
    for st in tr.states:
        name = circuit["d"].names[st.index]
        u = volts.get(st.anode, math.nan) - volts.get(st.cathode, math.nan)
        if st.state == "on" and st.source is not None:
            i = ng.currents.get(st.source, math.nan)
            if not i >= -itol:
                violations.append(f"{name} on in resim, but ngspice's current through it is {i:.3g} A")
        elif st.state == "on":
            if not u >= st.vfwd - tol:
                violations.append(f"{name} on in resim, but ngspice's u = {u:.6g} V < Vfwd = {st.vfwd:g} V")
        elif not u <= st.vfwd + tol:
            violations.append(f"{name} off in resim, but ngspice's u = {u:.6g} V > Vfwd = {st.vfwd:g} V")
    return Comparison(
        netlist=path, tol=tol, rows=rows, max_dv=float(diffs.max()), rms_dv=float(np.sqrt(np.mean(diffs**2))),
        state_violations=violations, resim_seconds=resim_seconds, ngspice_seconds=ng.wall_time,
        resim_method=result.method, ngspice_options=options, diodes=diodes, missing=missing, notes=notes,
        tol_i=tol_i, **currents,
    )


def current_scale(result: Result) -> float:
    """The circuit's typical current: its largest source current (V, I, E, G), in resim's
    answer. In a resistive network driven by one source no element carries more than the
    source (with several, no more than their sum), so this is the scale of the circuit's
    currents, the one a small current's difference is judged at (docs/ngspice.md)."""
    return max((float(np.max(np.abs(result.currents[k]), initial=0.0)) for k in CIRCUIT_KINDS
                if ELEMENTS[k].source and k in result.currents), default=0.0)


def _compare_currents(circuit, result, tr: Translation, ng: NgspiceResult, volts: dict[str, float],
                      tol_i: float) -> dict:
    """Every element current the translation maps, resim's against ngspice's: a current
    agrees when ``|di| <= max(tol_i * max(|i|, current_scale), CURRENT_FLOOR)``."""
    scale = current_scale(result)
    max_di, worst, compared = 0.0, None, 0
    over: list[tuple[float, str]] = []
    missing = []
    for cm in tr.currents:
        name = circuit[cm.kind].names[cm.index]
        if any(part not in ng.currents for part, _ in cm.parts) or (
                cm.g and (cm.anode not in volts or cm.cathode not in volts)):
            missing.append(name)
            continue
        theirs = sum(k * ng.currents[part] for part, k in cm.parts) + cm.offset
        if cm.g:
            theirs += cm.g * (volts[cm.anode] - volts[cm.cathode])
        ours = float(result.currents[cm.kind][cm.index])
        compared += 1
        d = abs(ours - theirs)
        if d > max_di:
            max_di, worst = d, name
        limit = max(tol_i * max(abs(ours), scale), CURRENT_FLOOR)
        if d > limit:
            over.append((d / limit, f"{name}: resim {ours:.6g} A, ngspice {theirs:.6g} A, |di| {d:.3g} A "
                                    f"> {limit:.3g} A"))
    return {"max_di": max_di, "max_di_element": worst, "currents_compared": compared, "current_scale": scale,
            "current_violations": [text for _, text in sorted(over, reverse=True)], "missing_currents": missing}


def to_json(cmp: Comparison) -> str:
    return json.dumps(cmp.as_dict(), indent=2) + "\n"


def to_table(cmp: Comparison, top: int = 10) -> str:
    """A plain-text report: the worst nodes first, then the summary and the verdict (with
    the netlist as written, its own nodes and summary after the translation's). Names
    are escaped as in error messages (:func:`~resim.errors.printable`)."""
    out = [f"resim vs ngspice: {cmp.netlist}", ""]
    if cmp.as_written is not None:
        out += [f"{cmp.label}:", *_table_rows(cmp, top), "", f"{cmp.as_written.label}, read by ngspice:",
                *_table_rows(cmp.as_written, top)]
    else:
        out += _table_rows(cmp, top)
    out.append(f"time               : resim {cmp.resim_seconds:.3f} s ({cmp.resim_method}, file to answer), "
               f"ngspice {cmp.ngspice_seconds:.3f} s (process): {cmp.speedup:.1f}x")
    out.append(f"ngspice options    : {cmp.ngspice_options or 'ngspice defaults'}; diodes: {cmp.diodes}")
    if cmp.dc_points:
        out.append(f".dc sweep          : {cmp.dc_points} points, largest |dv| {cmp.dc_max_dv:.3g} V ({cmp.dc_worst})")
    for note in cmp.notes + ([] if cmp.as_written is None else cmp.as_written.notes):
        out.append(f"note               : {note}")
    out.append(f"verdict            : {cmp.verdict()}")
    return "\n".join(printable(line) for line in out) + "\n"  # names with control characters, escaped


def _table_rows(cmp: Comparison, top: int) -> list[str]:
    """One comparison's worst nodes and its node and current summary."""
    out = []
    names = [printable(r.name) for r in cmp.rows[:top]]  # as to_table shows them
    width = max([len(n) for n in names] + [4])
    out.append(f"{'node':<{width}}  {'resim (V)':>22}  {'ngspice (V)':>22}  {'|diff| (V)':>10}")
    for name, r in zip(names, cmp.rows[:top]):
        out.append(f"{name:<{width}}  {r.resim:>22.15g}  {r.ngspice:>22.15g}  {r.diff:>10.3g}")
    if len(cmp.rows) > top:
        out.append(f"... {len(cmp.rows) - top} more nodes")
    out.append("")
    out.append(f"nodes compared     : {len(cmp.rows)}   largest |dv| {cmp.max_dv:.3g} V   rms {cmp.rms_dv:.3g} V")
    elem = f" ({cmp.max_di_element})" if cmp.max_di_element else ""
    out.append(f"currents compared  : {cmp.currents_compared}   largest |di| {cmp.max_di:.3g} A{elem}   "
               f"(tol-i {cmp.tol_i:.3g} of max(|i|, {cmp.current_scale:.3g} A))")
    return out
