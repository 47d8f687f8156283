"""The Python API: ``load_netlist`` and ``solve``. The CLI is a thin shell over these.

>>> import resim
>>> c = resim.load_netlist('''divider
... V1 in 0 10
... R1 in out 1k
... R2 out 0 1k
... ''')
>>> round(resim.solve(c).voltage("out"), 12)
5.0
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from dataclasses import replace
from typing import Any, Mapping

import numpy as np

from .circuit import Circuit
from .errors import ResimError
from .result import Result
from .solvers.options import CD_ONLY, SolverOptions

METHODS = ("auto", "exact", "cd")


class OverrideError(ResimError):
    """A ``--set NAME=VALUE`` names no parameter or element."""

    exit_code = 2


def load_netlist(
    source: str | os.PathLike,
    *,
    overrides: Mapping[str, float] | None = None,
    fast: bool = True,
) -> Circuit:
    """Read a netlist (a path, or the text itself when it contains a newline) into a :class:`Circuit`.

    ``overrides`` maps ``.param`` names or element names to new values (``--set``):
    parameters are replaced before any expression is evaluated, element values after.
    ``fast=False`` reads every line with the Lark grammar (no bulk fast path).
    """
    t0 = time.perf_counter()
    with _no_gc():
        circuit = _load(source, overrides, fast)
    return replace(circuit, timings={"parse": time.perf_counter() - t0})


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector: parsing allocates millions of small objects and
    none of them form cycles, so collections there are pure overhead (about 2x)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(source, overrides, fast) -> Circuit:
    from .netlist.elaborate import elaborate
    from .netlist.parser import parse_file, parse_text

    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source):
        parsed = parse_file(source, fast=fast)
    else:
        parsed = parse_text(source, "<text>", fast=fast)
    overrides = {k.lower(): float(v) for k, v in (overrides or {}).items()}
    param_names = {p.name for p in parsed.params}
    params = {k: v for k, v in overrides.items() if k in param_names}
    circuit = elaborate(parsed, params)
    element_values = {}
    for name, value in overrides.items():
        if name in params:
            continue
        hit = circuit.find_element(name)
        if hit is None:
            known = ", ".join(sorted(param_names)) or "none"
            raise OverrideError(
                f"--set {name}: no parameter or element called '{name}'",
                hint=f"parameters in this netlist: {known}; or give an element name such as R1",
            )
        element_values[hit] = value
    if element_values:
        circuit = circuit.with_element_values(element_values)
    return circuit


def _option_chosen(options: SolverOptions) -> tuple[str, str] | None:
    """("cd", why) when every option given is coordinate descent's (given with
    ``method="auto"``, they choose it), else None. The reason names the precision by its
    earlier keyword, ``dtype``, as results have always said."""
    given = options.given()
    if not given or not set(given) <= set(CD_ONLY):
        return None
    names = sorted("dtype" if name == "precision" else name for name in given)
    return "cd", f"coordinate-descent options given ({', '.join(names)})"


def _quiet_floats():
    """numpy's overflow and invalid-value warnings off during a solve: a solver that meets
    them fails its certificate or its range check and says so as a typed error, instead of
    numpy printing RuntimeWarnings between resim's own lines."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def solve(circuit: Circuit | str | os.PathLike, *, method: str = "auto", start: Result | np.ndarray | None = None,
          options: SolverOptions | None = None, **keywords: Any) -> Result:
    """The DC operating point of ``circuit``.

    ``method``: ``"exact"`` (sparse MNA with an active set for ideal diodes and Newton for
    Shockley diodes), ``"cd"`` (exact coordinate descent, reciprocal circuits with ideal and
    Shockley diodes; see :mod:`resim.solvers.cd`) or ``"auto"`` (chosen from the circuit's
    structure, :mod:`resim.solvers.auto`; the result's ``method_reason`` says why).
    ``options`` (a :class:`~resim.solvers.options.SolverOptions`) go to the solver, with
    ``keywords`` set on them (``sweeps=40``, ``precision="float32"``; ``dtype=np.float32``
    as in earlier releases); giving options that only coordinate descent takes with
    ``method="auto"`` selects it. ``start`` warm-starts coordinate descent from an earlier
    result (or node voltages in ``circuit.nodes`` order), e.g. the previous point of a sweep.
    Raises :class:`~resim.errors.TopologyError`,
    :class:`~resim.errors.NoSolutionError` or :class:`~resim.errors.ConvergenceError`;
    :class:`~resim.solvers.options.SolverOptionsError` for options that cannot be used
    (an unknown name, an option the solver does not take); never returns an unverified answer.
    """
    from .compile import compile_circuit

    opts = SolverOptions.from_keywords(options, **keywords)
    if not isinstance(circuit, Circuit):
        circuit = load_netlist(circuit)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    t0 = time.perf_counter()
    compiled = compile_circuit(circuit)
    t1 = time.perf_counter()
    reason = f"requested: {method}"
    if method == "auto":
        from .solvers.auto import choose

        method, reason = _option_chosen(opts) or choose(compiled)
    if method == "cd":
        from .solvers.cd import solve_cd

        v0 = None
        if start is not None:
            v0 = np.asarray(start.voltages if isinstance(start, Result) else start, float)
            if v0.shape != (circuit.n_nodes,):
                raise ValueError(f"start: expected {circuit.n_nodes} node voltages, got shape {v0.shape}")
        with _quiet_floats():
            result = solve_cd(compiled, opts, v0=v0)
    else:
        from .solvers.exact import solve_exact

        with _quiet_floats():
            result = solve_exact(compiled, opts)
    t2 = time.perf_counter()
    timings = {"parse": circuit.timings.get("parse", 0.0), "compile": t1 - t0, "solve": t2 - t1}
    if result.method_reason:  # the solver's own account, e.g. a hand-over to the exact solver
        reason = f"{reason}; {result.method_reason}"
    return replace(result, timings=timings, method_reason=reason)
