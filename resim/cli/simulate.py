"""``resim solve``, ``resim sweep`` and ``resim compare-with-ngspice``: their options, checked,
then one call each into :mod:`resim.api`, :mod:`resim.sweep` or :mod:`resim.compare`, and
the result written (:mod:`resim.cli.common`)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from ..atomic import check_distinct, write_bytes
from ..errors import printable
from ..scheduler import DEFAULT_TIMEOUT as SCHEDULER_TIMEOUT
from ..status import Status
from .common import (OUTPUT_PATH, ProgressBar, emit, emit_chunks, figure_file, note, output_file, positive,
                     write_stdout)

if TYPE_CHECKING:
    from ..solvers.options import SolverOptions


def _parse_set(values: tuple[str, ...]) -> dict[str, float]:
    """The ``--set NAME=VALUE`` options as {name: number} (SPICE suffixes read); a usage
    error names the one that is not of that form."""
    from ..netlist.numbers import NumberRangeError, parse_number

    out: dict[str, float] = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise click.UsageError(f"--set {item!r}: expected NAME=VALUE, e.g. --set R1=2k or --set vdd=3.3")
        try:
            out[name.strip()] = parse_number(value.strip())[0]
        except NumberRangeError as exc:
            raise click.UsageError(f"--set {item!r}: {exc}") from None
        except ValueError:
            raise click.UsageError(f"--set {item!r}: '{value}' is not a number (SPICE suffixes like 2k, 1meg work)") from None
    return out


@click.command()
@click.argument("netlist", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "npz"]), default="table",
              show_default=True, help="Output format (JSON schema: docs/json.md); npz: NumPy arrays, for millions "
                                      "of elements (needs -o; docs/output.md).")
@click.option("--output", "-o", type=OUTPUT_PATH, help="Write the result to this file instead of stdout (- is stdout): atomically, "
                   "through a symbolic link to its target, in place for a FIFO, a device or a file with hard links; "
                   "never over an input; checked before solving (docs/output.md).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Override a .param or an element's value (repeatable), e.g. --set R1=2k.")
@click.option("--method", type=click.Choice(["auto", "exact", "cd"]), default="auto", show_default=True,
              help="Solver: exact sparse MNA, or cd (coordinate descent: R, V, I, ideal and Shockley "
                   "diodes; verified by the same certificate). auto picks cd for large layered "
                   "networks, exact otherwise, and reports why.")
@click.option("--sweeps", type=click.IntRange(1), metavar="N",
              help="cd: run exactly N sweeps (the paper's fixed-sweep mode, no tolerance stop); "
                   "the answer is still checked by the certificate.")
@click.option("--max-sweeps", type=click.IntRange(1), metavar="N", help="cd: sweep limit  [default: 100000]")
@click.option("--tol", type=click.FloatRange(0, min_open=True), metavar="T",
              help="cd: stop when the estimated distance to the solution is below T (1 + max|E|) volts  [default: 1e-13]")
@click.option("--float32", "single", is_flag=True, help="cd: sweep in float32 (faster, ~1e-6 relative; the "
                                                        "certificate is computed in float64 and may refuse it).")
@click.option("--nodes", "node_patterns", multiple=True, metavar="PATTERN",
              help="Write only the voltages of the nodes matching this glob (repeatable), e.g. --nodes 'o*'.")
@click.option("--elements", "element_patterns", multiple=True, metavar="PATTERN",
              help="Write only the elements matching this glob (repeatable), e.g. --elements 'd1_*'.")
@click.option("--probe", "probes", multiple=True, metavar="v(NODE)|i(ELEMENT)",
              help="Write only this voltage or current (repeatable; with --nodes/--elements, their union).")
def solve(netlist: str, fmt: str, output: str | None, sets: tuple[str, ...], method: str, sweeps: int | None,
          max_sweeps: int | None, tol: float | None, single: bool, node_patterns: tuple[str, ...],
          element_patterns: tuple[str, ...], probes: tuple[str, ...]) -> None:
    """Solve the DC operating point of NETLIST.

    Reports every node voltage, the current through every element (SPICE sign
    conventions: into the + node of a source), each diode's state, the power, the
    certificate (largest KCL residual, constraint violation, complementarity) and the
    timings. Use - to read the netlist from stdin.

    \b
    Examples:
      resim solve netlists/divider.cir
      resim solve netlists/diode_clipper.cir --format json -o op.json
      resim solve netlists/diode_clipper.cir --set vin=1.2 --format csv
      resim solve netlists/drn_tiny.cir --method cd --sweeps 40
      resim solve netlists/drn_tiny.cir --nodes 'o*' --probe 'i(d1)' --format json
      resim solve netlists/drn_tiny.cir --format npz -o op.npz

    On a terminal, a line on stderr says what a solve that takes more than a few
    seconds is doing (reading, solving, writing) and for how long.
    """
    from ..solvers.options import SolverOptions

    overrides = _parse_set(sets)
    given = [flag for flag, value in (("sweeps", sweeps), ("max-sweeps", max_sweeps), ("tol", tol),
                                      ("float32", single or None)) if value is not None]
    if given and method == "exact":
        raise click.UsageError(f"--{'/--'.join(given)} apply to --method cd (or auto), not exact")
    options = SolverOptions(precision="float32" if single else "float64", sweeps=sweeps, max_sweeps=max_sweeps, tol=tol)
    output = output_file(output, [("the netlist", netlist)])  # before the work, not after
    if fmt == "npz" and output is None:
        raise click.UsageError("--format npz writes binary arrays: give the file with -o (e.g. -o op.npz)")
    status = Status() if sys.stderr.isatty() else None
    try:
        _solve_and_write(netlist, fmt, output, overrides, method, options, (node_patterns, element_patterns, probes),
                         status.phase if status else lambda text: None)
    finally:
        if status:
            status.close()


def _solve_and_write(netlist: str, fmt: str, output: str | None, overrides: dict, method: str, options: SolverOptions,
                     selected: tuple, phase) -> None:
    """The work of ``resim solve`` once its options are checked; ``phase(text)`` says what it is doing."""
    from .. import api, format as fmt_mod
    from ..select import select

    if netlist == "-":
        phase("reading the netlist from stdin")
        circuit = api.load_netlist(_read_stdin() + "\n", overrides=overrides)
    else:
        phase(f"reading {netlist}" + (f" ({os.path.getsize(netlist) / 1e6:,.0f} MB)" if os.path.isfile(netlist) else ""))
        circuit = api.load_netlist(netlist, overrides=overrides)
    _not_included(circuit, output)
    selection = select(circuit, *selected)  # a typo found before the solve
    for w in circuit.warnings:
        note(printable(w))
    phase(f"solving {circuit.n_elements:,} elements, {circuit.n_nodes:,} nodes")
    result = api.solve(circuit, method=method, options=options)
    for w in result.certificate.warnings():  # e.g. a node whose currents rounding swamped
        note(printable(w))
    phase(f"writing the {fmt}")
    if fmt == "npz":
        write_bytes(output, fmt_mod.to_npz(result, selection))
        return
    if fmt == "table":
        emit(fmt_mod.table_text(result, terminal=not output and sys.stdout.isatty(), selection=selection), output)
    else:
        emit_chunks((fmt_mod.json_chunks if fmt == "json" else fmt_mod.csv_chunks)(result, selection), output)


@click.command()
@click.argument("netlist", type=click.Path(dir_okay=False, exists=True))
@click.option("--dc", "dcs", multiple=True, nargs=4, metavar="SOURCE START STOP STEP",
              help="Sweep a V or I source (or a resistor) as ngspice's .dc does; repeatable, the first "
                   "varies fastest. Replaces the netlist's own .dc line.")
@click.option("--param", "params", multiple=True, metavar="NAME=START:STOP:NUM[:log]",
              help="Sweep a .param (NUM points, linear or log); repeatable; outer to every --dc.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Fixed override of a .param or element value.")
@click.option("--probe", "probes", multiple=True, metavar="v(NODE)|i(ELEMENT)",
              help="What to record at each point (repeatable; default: every node voltage).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", "-o", type=OUTPUT_PATH, help="Write to this file instead of stdout (as solve -o does).")
@click.option("--plot", type=OUTPUT_PATH, metavar="FILE.png",
              help="Draw the probes against the swept value (a heat map for 2-D sweeps): .png, .svg or .pdf, "
                   "after its extension, as plot -o; needs resim[plot].")
@click.option("--method", type=click.Choice(["auto", "exact", "cd"]), default="auto", show_default=True,
              help="Solver. auto: one batched coordinate-descent solve for source sweeps of reciprocal "
                   "circuits (each point certified), the exact solver point by point otherwise.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Local worker processes (at most one per chunk of points: 1,024 for source "
                   "sweeps, 64 otherwise). The results are the same, bit for bit, for any N.")
@click.option("--scheduler", metavar="ADDRESS", help="Run the points on a Dask cluster (tcp://host:8786); "
                                                     "needs resim[distributed].")
@click.option("--scheduler-timeout", type=click.FloatRange(0, 3600, min_open=True), default=SCHEDULER_TIMEOUT,
              show_default=True, metavar="SECONDS", help="How long to wait for the --scheduler to answer.")
def sweep(netlist: str, dcs, params, sets, probes, fmt: str, output: str | None, plot: str | None, method: str,
          jobs: int, scheduler: str | None, scheduler_timeout: float) -> None:
    """Solve NETLIST at many operating points: its .dc line, or --dc / --param sweeps.

    Writes one row per point, the swept values first, then the probes (CSV on stdout by
    default). Results do not depend on --jobs or --scheduler.

    \b
    Examples:
      resim sweep netlists/diode_clipper.cir                       # its own .dc line
      resim sweep netlists/diode_clipper.cir --dc V1 -1 1 0.01 --probe 'v(out)'
      resim sweep netlists/divider.cir --dc V1 0 10 1 --param r2=1k:10k:5:log --format json -o s.json
      resim sweep netlists/diode_clipper.cir --plot clip.png
      resim sweep big.cir --param gain=1:2:40 --jobs 2
    """
    from .. import api, sweep as sw, sweep_output
    from ..netlist.numbers import parse_number

    overrides = _parse_set(sets)
    if scheduler is not None:  # its form: before the work (reaching it is run_sweep's first step)
        from ..scheduler import check_address

        check_address(scheduler)
    output = output_file(output, [("the netlist", netlist)])  # before the work, not after
    if plot is not None:
        figure_file(plot, "'--plot'")
        sweep_output.check_plot(plot, [("the netlist", netlist), ("-o", output)])
    circuit = api.load_netlist(netlist, overrides=overrides)
    _not_included(circuit, output, plot)
    for w in circuit.warnings:
        note(printable(w))
    axes = []
    for source, *rng in dcs:
        try:
            start, stop, step = (parse_number(x)[0] for x in rng)
        except ValueError:
            raise click.UsageError(f"--dc {source} {' '.join(rng)}: START STOP STEP must be numbers") from None
        axes.append(sw.element_axis(circuit, source, sw.dc_values(start, stop, step, what=f"--dc {source}")))
    for spec in params:
        name, values = sw.param_values(spec)
        axes.append(sw.Axis(name, "param", values))
    progress = ProgressBar() if sys.stderr.isatty() else None
    try:
        result = sw.run_sweep(netlist if any(a.kind == "param" for a in axes) else circuit, axes or None,
                              probes=list(probes), overrides=overrides, method=method, jobs=jobs,
                              scheduler=scheduler, scheduler_timeout=scheduler_timeout, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    text = sweep_output.to_json(result, netlist) if fmt == "json" else sweep_output.to_csv(result)
    if plot is not None:  # first: if it fails, nothing has gone to stdout
        sweep_output.plot(result, plot)
    emit(text, output)


def _read_stdin() -> str:
    """The netlist on stdin, as a netlist file is read: an endless device (``< /dev/zero``)
    is refused, and so is more than the memory available would let resim solve
    (:func:`resim.netlist.reader.read_stream`)."""
    from ..client import endless_device
    from ..errors import NetlistError
    from ..netlist.reader import read_stream

    if endless_device(sys.stdin):
        raise NetlistError("cannot read the netlist from stdin: it is a device, not a file or a pipe",
                           hint="redirect a netlist file (resim solve - < circuit.cir) or pipe one in")
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes under it (a test's StringIO)
        return sys.stdin.read()
    return read_stream(stream, "the netlist on stdin").decode("utf-8", "replace")


def _not_included(circuit, *outputs: str | None) -> None:
    """Refuse an output that is one of the files the netlist ``.include``s or ``.lib``s:
    an input too, known once the netlist is read (still before solving)."""
    included = [("the file the netlist includes", f) for f in circuit.files[1:]]
    for output in outputs:
        if output is not None:
            check_distinct(output, included)


@click.command("compare-with-ngspice")
@click.argument("netlist", type=click.Path(dir_okay=False, exists=True))
@click.option("--tol", type=float, callback=positive, default=1e-6, show_default=True, metavar="VOLTS",
              help="Largest node-voltage difference that still agrees.")
@click.option("--tol-i", "tol_i", type=float, callback=positive, metavar="REL",
              help="Largest element-current difference that still agrees, relative to the larger of the "
                   "current and the circuit's largest source current  [default: the number --tol is]")
@click.option("--timeout", type=float, callback=positive, default=600, show_default=True, metavar="SECONDS",
              help="Stop ngspice (and everything it started) after this long: exit 8.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--ngspice", "ngspice_path", metavar="PATH", help="ngspice executable (default: $RESIM_NGSPICE, then $PATH).")
@click.option("--keep", type=click.Path(file_okay=False), metavar="DIR",
              help="Keep the translated netlist, the rawfile and ngspice's log in DIR.")
@click.option("--ngspice-defaults", is_flag=True,
              help="Run ngspice with its own tolerances (reltol=1e-3, vntol=1e-6) instead of the tightened "
                   "reltol=1e-9 vntol=1e-12 abstol=1e-15.")
@click.option("--diodes", type=click.Choice(["states", "sidiode"]), default="states", show_default=True,
              help="How piecewise-linear/ideal diodes reach ngspice: as the linear element of resim's state, "
                   "the states then checked on ngspice's answer; or as XSPICE sidiode elements (coarse, "
                   "docs/ngspice.md).")
@click.option("--against", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
              help="Run this ngspice netlist instead of translating NETLIST (names must match).")
@click.option("--as-written/--translation-only", "as_written", default=True, show_default=True,
              help="Also run ngspice on NETLIST as written, where it can read it as it is, and compare that too "
                   "(a reader that differs from ngspice's shows there); or compare resim's translation only.")
@click.option("--method", type=click.Choice(["auto", "exact", "cd"]), default="auto", show_default=True,
              help="resim's solver.")
def compare_with_ngspice(netlist: str, tol: float, tol_i: float | None, timeout: float, fmt: str, ngspice_path: str | None,
                         keep: str | None, ngspice_defaults: bool, diodes: str, against: str | None,
                         as_written: bool, method: str) -> None:
    """Solve NETLIST with resim and with ngspice, and compare them node by node.

    ngspice runs resim's reading of NETLIST, translated, and NETLIST as written where it can
    read it as it is (no piecewise-linear diodes, no names it reads otherwise); both must
    agree. Prints the worst nodes first, the largest and RMS voltage difference, the largest
    current difference, both wall times and a verdict. Exits 0 when every node agrees
    within --tol, every element current within --tol-i (and ngspice confirms every diode
    state), 9 when not, 8 when ngspice is missing, fails or runs past --timeout, or the
    comparison could not be made. The translation is described in docs/ngspice.md.

    \b
    Examples:
      resim compare-with-ngspice netlists/diode_clipper.cir
      resim compare-with-ngspice netlists/ideal_rectifier.cir --format json --keep ng/
      resim compare-with-ngspice mine.cir --against mine_for_ngspice.cir --tol 1e-9
    """
    from .. import compare
    from ..ngspice import DEFAULT_OPTIONS

    if keep is not None:
        for path in compare.kept_files(keep):
            check_distinct(path, [("the netlist", netlist), ("--against", against)])
    cmp = compare.compare_with_ngspice(netlist, tol=tol, ngspice=ngspice_path, keep=keep, diodes=diodes,
                                       options=None if ngspice_defaults else DEFAULT_OPTIONS, against=against,
                                       method=method, tol_i=tol_i, timeout=timeout, as_written=as_written)
    for w in cmp.warnings:  # as solve shows them: a repeated DC value, a node with one connection, ...
        note(printable(w))
    write_stdout(compare.to_json(cmp) if fmt == "json" else compare.to_table(cmp))
    if cmp.outcome == "differ":
        raise compare.ResultsDiffer(cmp.verdict())
    if cmp.outcome == "could not compare":
        raise compare.CouldNotCompare(cmp.verdict())
