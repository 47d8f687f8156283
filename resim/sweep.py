"""DC sweeps: many operating points of one netlist (``resim sweep``).

A sweep is a list of :class:`Axis` (the first varies fastest, as in ngspice's ``.dc``);
its points are their Cartesian product. How the points are solved:

* every axis a V or I source (``.dc V1 0 5 0.1``): same conductances, different sources,
  so **one batched solve** per chunk of up to :data:`BATCH_POINTS` points when the circuit
  is reciprocal (:func:`resim.solvers.cd.solve_batch`: one relaxation on [points,
  coordinates] arrays, each point then checked by a vectorised KKT certificate); points
  it does not certify (and circuits with controlled sources: E, G, ...) are solved one by one;
* an axis that changes conductances or parameters (a resistor, ``--param``): point by
  point, each from the netlist with its values set (``--param`` re-reads the netlist, so
  expressions that use the parameter follow it).

Points are split into chunks that can run in this process, in ``jobs`` local processes,
or on a Dask cluster (:mod:`resim.distribute`); each chunk is solved by the same function,
and the chunk boundaries depend on the circuit and the points, never on ``jobs``, so where
and in how many processes they run does not change the answer, bit for bit. A sweep of more
than :data:`MAX_POINTS` points is refused before its grid is made.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .circuit import Circuit
from .elements import CIRCUIT_KINDS, ELEMENTS
from .errors import ResimError
from .scheduler import DEFAULT_TIMEOUT as SCHEDULER_TIMEOUT

SOURCE_KINDS = ("v", "i")
SWEEPABLE = tuple(k for k in CIRCUIT_KINDS if ELEMENTS[k].sweepable)  # V, I, R
MAX_POINTS = 10_000_000  # points of one sweep: a larger grid is refused before it is made
MAX_VALUES = 100_000_000  # numbers in its table, points x (swept values + probes): 800 MB as float64
BATCH_VALUES = 2**24  # a batched chunk's [points, nodes] arrays hold at most this many numbers (128 MiB)
BATCH_POINTS = 1024  # points per batched chunk at most (fewer, bigger batches: each chunk compiles once)
EACH_POINTS = 64  # points per chunk solved one by one (each chunk's first point starts cold)


class SweepError(ResimError):
    """A sweep specification that cannot be run (unknown source, bad range, bad probe)."""

    exit_code = 2


@dataclass(frozen=True)
class Axis:
    """One swept quantity: an element's value (``kind`` v, i or r) or a ``.param``."""

    name: str  # element or parameter name, lower case
    kind: str  # "v" | "i" | "r" | "param"
    values: np.ndarray

    @property
    def label(self) -> str:
        return self.name


def dc_values(start: float, stop: float, step: float, what: str = ".dc") -> np.ndarray:
    """ngspice's ``.dc`` points: ``start, start + step, ...`` up to ``stop`` (included when
    it falls on the grid, to 1e-9 of a step). ngspice steps by accumulation, so its points
    differ from ``start + k step`` in the last digit or two (1e-14 V here).

    ``what`` names the request in errors (``--dc V1``); more than :data:`MAX_POINTS`
    points are refused before any is made."""
    if step == 0 or not all(map(math.isfinite, (start, stop, step))):
        raise SweepError(f"{what} step must be a finite non-zero number (got start={start}, stop={stop}, step={step})")
    if (stop - start) * step < 0:
        raise SweepError(f"{what} from {start} to {stop} never gets there with step {step}",
                         hint="use a negative step to sweep downwards")
    steps = (stop - start) / step  # inf when the span overflows
    if not steps < MAX_POINTS:
        count = f"{math.floor(steps + 1e-9) + 1:,}" if math.isfinite(steps) else "too many"
        raise SweepError(f"{what} from {start:g} to {stop:g} in steps of {step:g}: {count} points, more than "
                         f"a sweep may have ({MAX_POINTS:,})", hint="use a larger step")
    n = int(math.floor(steps + 1e-9)) + 1
    return start + step * np.arange(n)


def param_values(spec: str) -> tuple[str, np.ndarray]:
    """``NAME=START:STOP:NUM[:log]`` -> name and NUM values (linear, or logarithmic)."""
    from .netlist.numbers import parse_number

    name, eq, rng = spec.partition("=")
    parts = rng.split(":")
    if not eq or not name.strip() or len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("lin", "log")):
        raise SweepError(f"--param {spec!r}: expected NAME=START:STOP:NUM[:log], e.g. --param rload=1k:10k:10:log")
    try:
        start, stop = (parse_number(p.strip())[0] for p in parts[:2])
        num = int(parts[2])
    except ValueError:
        raise SweepError(f"--param {spec!r}: START and STOP must be numbers, NUM an integer") from None
    if num < 1:
        raise SweepError(f"--param {spec!r}: NUM must be at least 1")
    if num > MAX_POINTS:
        raise SweepError(f"--param {spec!r}: {num:,} points, more than a sweep may have ({MAX_POINTS:,})")
    if len(parts) == 4 and parts[3] == "log":
        if start <= 0 or stop <= 0:
            raise SweepError(f"--param {spec!r}: a log sweep needs START and STOP > 0")
        return name.strip().lower(), np.geomspace(start, stop, num)
    return name.strip().lower(), np.linspace(start, stop, num)


def element_axis(circuit: Circuit, name: str, values: np.ndarray) -> Axis:
    hit = circuit.find_element(name)
    if hit is None or hit[0] not in SWEEPABLE:
        what = "not an element of this netlist" if hit is None else f"a {hit[0].upper()} element"
        raise SweepError(f"cannot sweep '{name}': {what}",
                         hint=f"sweep one of its {', '.join(ELEMENTS[k].word + 's' for k in SWEEPABLE)} "
                              "(or a .param with --param)")
    return Axis(name.lower(), hit[0], np.asarray(values, float))


def axes_from_netlist(circuit: Circuit) -> list[Axis]:
    """The axes of the netlist's first ``.dc`` line (empty when it has none)."""
    if not circuit.dc:
        return []
    return [element_axis(circuit, s.source, dc_values(s.start, s.stop, s.step)) for s in circuit.dc[0]]


@dataclass
class SweepResult:
    axes: list[Axis]
    points: np.ndarray  # [P, n_axes] swept values, first axis fastest
    probes: list[str]
    values: np.ndarray  # [P, n_probes]
    methods: dict[str, int] = field(default_factory=dict)  # how the points were solved: method -> count
    seconds: float = 0.0

    def column(self, probe: str) -> np.ndarray:
        return self.values[:, self.probes.index(probe)]


def check_size(axes: list[Axis], n_probes: int) -> int:
    """The number of points of the grid of ``axes``, checked before the grid is made:
    :class:`SweepError` beyond :data:`MAX_POINTS` points or :data:`MAX_VALUES` numbers in
    the table (a point's swept values and ``n_probes`` probes)."""
    count = math.prod(len(a.values) for a in axes)
    sizes = " x ".join(f"{a.name} ({len(a.values):,})" for a in axes)
    if count > MAX_POINTS:
        raise SweepError(f"the sweep has {count:,} points: {sizes}; more than a sweep may have ({MAX_POINTS:,})",
                         hint="sweep fewer points (a larger --dc step, a smaller --param NUM)")
    values = count * (len(axes) + n_probes)
    if values > MAX_VALUES:
        raise SweepError(f"the sweep's table would hold {values:,} numbers ({count:,} points x "
                         f"{len(axes) + n_probes} columns), more than {MAX_VALUES:,}",
                         hint="record fewer probes (e.g. --probe 'v(out)'), or sweep fewer points")
    return count


def grid(axes: list[Axis]) -> np.ndarray:
    """[P, n_axes] points, the first axis varying fastest (check their number first: :func:`check_size`)."""
    mesh = np.meshgrid(*[a.values for a in reversed(axes)], indexing="ij")
    return np.stack([m.ravel() for m in reversed(mesh)], axis=1) if axes else np.zeros((1, 0))


def parse_probe(circuit: Circuit, probe: str) -> tuple[str, str | int]:
    """``v(node)`` -> ("v", node index); ``i(element)`` -> ("i", element name)."""
    p = probe.strip().lower().replace(" ", "")
    if len(p) > 3 and p[1] == "(" and p[-1] == ")" and p[0] in "vi":
        inner = p[2:-1]
        if p[0] == "v":
            try:
                return "v", circuit.nodes.index("0" if inner == "gnd" else inner)
            except ValueError:
                raise SweepError(f"--probe {probe}: no node '{inner}'",
                                 hint=f"nodes: {', '.join(circuit.nodes[1:8])}{' ...' if circuit.n_nodes > 8 else ''}") from None
        if circuit.find_element(inner) is None:
            raise SweepError(f"--probe {probe}: no element '{inner}'")
        return "i", inner
    raise SweepError(f"--probe {probe!r}: write v(NODE) or i(ELEMENT), e.g. v(out) or i(R1)")


def run_sweep(source: str | os.PathLike | Circuit, axes: list[Axis] | None = None, *, probes: list[str] | None = None,
              overrides: dict[str, float] | None = None, method: str = "auto", jobs: int = 1,
              scheduler: str | None = None, scheduler_timeout: float = SCHEDULER_TIMEOUT, chunk_size: int | None = None,
              progress=None) -> SweepResult:
    """Sweep ``axes`` (default: the netlist's ``.dc``) and record ``probes`` (default: every
    node voltage) at each point, here, in ``jobs`` processes or on the Dask ``scheduler``
    (reached within ``scheduler_timeout`` seconds, :mod:`resim.scheduler`).
    ``progress(done, total)`` is called as chunks finish."""
    from . import api

    t0 = time.perf_counter()
    path = None if isinstance(source, Circuit) else source
    circuit = source if isinstance(source, Circuit) else api.load_netlist(source, overrides=overrides)
    axes = axes_from_netlist(circuit) if axes is None else axes
    if not axes:
        raise SweepError("nothing to sweep: the netlist has no .dc line and no --dc/--param was given",
                         hint="add e.g. --dc V1 0 5 0.1, or a .dc line to the netlist")
    if any(a.kind == "param" for a in axes) and path is None:
        raise SweepError("--param sweeps need the netlist file (parameters are re-read per point)")
    probes = [f"v({n})" for n in circuit.nodes[1:]] if not probes else [p.strip().lower() for p in probes]
    for p in probes:
        parse_probe(circuit, p)
    check_size(axes, len(probes))
    points = grid(axes)
    batched = all(a.kind in SOURCE_KINDS for a in axes)
    chunks = _chunks(len(points), chunk_size or _chunk_size(circuit, batched))
    task = SweepTask(path=None if path is None else os.fspath(path), circuit=circuit,
                     overrides=dict(overrides or {}), axes=axes, probes=probes, method=method, batched=batched)
    from .distribute import run_chunks

    parts = run_chunks(solve_chunk, task, points, chunks, jobs=jobs, scheduler=scheduler,
                       scheduler_timeout=scheduler_timeout, progress=progress)
    values = np.concatenate([p[0] for p in parts], axis=0) if parts else np.zeros((0, len(probes)))
    methods: dict[str, int] = {}
    for _, m in parts:
        for k, v in m.items():
            methods[k] = methods.get(k, 0) + v
    return SweepResult(axes, points, probes, values, methods, time.perf_counter() - t0)


def _chunk_size(circuit: Circuit, batched: bool) -> int:
    """Points per chunk, from the circuit alone: never from ``jobs``, so that every point is
    solved in the same chunk (the same batch, the same warm start) wherever chunks run."""
    if not batched:
        return EACH_POINTS
    return max(1, min(BATCH_POINTS, BATCH_VALUES // max(1, circuit.n_nodes)))


def _chunks(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """Point ranges ``[a, b)`` of ``chunk_size`` points (the last one shorter)."""
    return [(a, min(n, a + chunk_size)) for a in range(0, n, chunk_size)]


@dataclass
class SweepTask:
    """Everything a worker needs to solve a chunk of points (picklable)."""

    path: str | None  # the netlist, re-read per point for --param sweeps
    circuit: Circuit | None  # the netlist as read once (every other point starts from it)
    overrides: dict[str, float]
    axes: list[Axis]
    probes: list[str]
    method: str
    batched: bool

    def load(self, params: dict[str, float] | None = None) -> Circuit:
        from . import api

        if self.circuit is not None and not params:
            return self.circuit
        return api.load_netlist(self.path, overrides={**self.overrides, **(params or {})})


def solve_chunk(task: SweepTask, points: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Probe values [len(points), n_probes] of these points, and how they were solved."""
    if task.batched:
        return _solve_batched(task, points)
    return _solve_each(task, points)


def _point_circuit(task: SweepTask, base: Circuit, point: np.ndarray) -> Circuit:
    params = {a.name: float(x) for a, x in zip(task.axes, point) if a.kind == "param"}
    circuit = task.load(params) if params else base
    values = {}
    for a, x in zip(task.axes, point):
        if a.kind != "param":
            hit = circuit.find_element(a.name)
            values[hit] = float(x)
    return circuit.with_element_values(values) if values else circuit


def _solve_each(task: SweepTask, points: np.ndarray, base: Circuit | None = None):
    from . import api

    base = base or task.load()
    out = np.empty((len(points), len(task.probes)))
    methods: dict[str, int] = {}
    previous = None
    for k, point in enumerate(points):
        circuit = _point_circuit(task, base, point)
        # coordinate descent starts from the previous point's answer (same nodes: the
        # netlist's structure does not change along a sweep); the exact solver ignores it
        start = previous if previous is not None and previous.circuit.nodes == circuit.nodes else None
        result = api.solve(circuit, method=task.method, start=start)
        previous = result
        out[k] = probe_values(result, task.probes)
        methods[result.method] = methods.get(result.method, 0) + 1
    return out, methods


def probe_values(result, probes: list[str]) -> np.ndarray:
    c = result.circuit
    row = np.empty(len(probes))
    for j, p in enumerate(probes):
        kind, what = parse_probe(c, p)
        row[j] = result.voltages[what] if kind == "v" else result.current(what)
    return row


def _solve_batched(task: SweepTask, points: np.ndarray):
    """Source sweeps: one coordinate-descent batch, certified per point; the rest one by one."""
    from .compile import compile_circuit
    from .solvers import cd
    from .solvers.options import SolverOptions

    base = task.load()
    cc = compile_circuit(base)
    method = task.method
    if method == "auto":
        method = "cd" if cc.reciprocal and len(points) > 1 else "exact"
    if method != "cd" or len(points) == 0:
        return _solve_each(task, points, base)
    try:
        prob = cd.prepare(cc)
    except cd.CDUnsupported:
        return _solve_each(task, points, base)
    E = np.repeat(cc.vsources.value[None, :], len(points), axis=0)
    I = np.repeat(cc.isources.value[None, :], len(points), axis=0)
    V, Iall = base["v"], base["i"]
    for j, a in enumerate(task.axes):
        if a.kind == "v":
            col = np.flatnonzero(cc.vsources.index == V.index_of(a.name))
            if len(col):
                E[:, col[0]] = points[:, j]
            elif np.any(points[:, j] != 0):  # a 0 V source is a short, merged away: it cannot move
                return _solve_each(task, points, base)
        else:
            I[:, Iall.index_of(a.name)] = points[:, j]
    batch = cd.solve_batch(prob, E, I, SolverOptions(max_sweeps=20_000))
    v, ok = batch.v, batch.ok
    if not all(_from_voltages(base, p) for p in task.probes):
        ok[:] = False  # currents other than resistors': from full per-point results
    out = np.empty((len(points), len(task.probes)))
    methods = {"cd-batch": int(ok.sum())}
    if ok.any():
        volts = np.where(cc.var >= 0, np.concatenate([v, np.zeros((len(v), 1))], axis=1)[:, cc.var], 0.0)
        for j, p in enumerate(task.probes):
            kind, what = parse_probe(base, p)
            if kind == "v":
                out[ok, j] = volts[ok, what]
            else:
                k = base["r"].index_of(what)
                a, b = base["r"].nodes[k]
                out[ok, j] = (volts[ok, a] - volts[ok, b]) / base["r"].value[k]
    if (~ok).any():
        rest, m = _solve_each(task, points[~ok], base)
        out[~ok] = rest
        for key, val in m.items():
            methods[key] = methods.get(key, 0) + val
    return out, {k: v for k, v in methods.items() if v}


def _from_voltages(circuit: Circuit, probe: str) -> bool:
    """Whether ``probe`` follows from node voltages alone: a voltage or a resistor's current."""
    kind, what = parse_probe(circuit, probe)
    return kind == "v" or circuit.find_element(what)[0] == "r"
