"""The ``resim`` command: a thin shell over :mod:`resim.api`.

Library errors become messages on stderr and the exit codes of :mod:`resim.errors`;
no Python traceback is shown unless ``RESIM_DEBUG=1``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence

import click

from .atomic import check_distinct, check_writable, write_bytes, write_chunks, write_text

from .errors import EXIT_CODES, Interrupted, exit_codes_of, printable
from .status import Status
from .scheduler import DEFAULT_TIMEOUT as SCHEDULER_TIMEOUT
from .server import MAX_REQUEST, READ_TIMEOUT
from .streams import silence


def _exit_help(codes: dict[int, str]) -> str:
    """The "Exit codes" epilog of a command's --help, listing ``codes`` (kept as written: \\b)."""
    return ("\b\nExit codes (docs/exit-codes.md has the details):\n"
            + "\n".join(f"  {code:<3}  {meaning}" for code, meaning in codes.items()))


def _parse_set(values: tuple[str, ...]) -> dict[str, float]:
    from .netlist.numbers import NumberRangeError, parse_number

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=_exit_help(EXIT_CODES))
@click.version_option(package_name="resim")
def main() -> None:
    """resim: simulate nonlinear resistive networks from SPICE-style netlists.

    \b
    Examples:
      resim solve netlists/divider.cir
      resim solve netlists/ideal_rectifier.cir --format json --output op.json
      resim solve netlists/diode_clipper.cir --set vin=1.2 --set R1=2k
      resim sweep netlists/diode_clipper.cir --probe 'v(out)'
      resim compare-with-ngspice netlists/ideal_rectifier.cir
    """


# An output file (-o, --plot): click's Path would refuse an existing one it cannot read
# (0200); whether it may be written is resim.atomic's to say (docs/output.md).
_OUTPUT_PATH = click.Path(dir_okay=False, readable=False)


@main.command()
@click.argument("netlist", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "npz"]), default="table",
              show_default=True, help="Output format (JSON schema: docs/json.md); npz: NumPy arrays, for millions "
                                      "of elements (needs -o; docs/output.md).")
@click.option("--output", "-o", type=_OUTPUT_PATH, help="Write the result to this file instead of stdout (- is stdout): atomically, "
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

    overrides = _parse_set(sets)
    options: dict = {k: v for k, v in (("sweeps", sweeps), ("max_sweeps", max_sweeps), ("tol", tol)) if v is not None}
    if single:
        import numpy as np

        options["dtype"] = np.float32
    if options and method == "exact":
        raise click.UsageError(f"--{'/--'.join(k.replace('_', '-') if k != 'dtype' else 'float32' for k in options)} "
                               "apply to --method cd (or auto), not exact")
    output = _output_file(output, [("the netlist", netlist)])  # before the work, not after
    if fmt == "npz" and output is None:
        raise click.UsageError("--format npz writes binary arrays: give the file with -o (e.g. -o op.npz)")
    status = Status() if sys.stderr.isatty() else None
    try:
        _solve_and_write(netlist, fmt, output, overrides, method, options, (node_patterns, element_patterns, probes),
                         status.phase if status else lambda text: None)
    finally:
        if status:
            status.close()


def _solve_and_write(netlist: str, fmt: str, output: str | None, overrides: dict, method: str, options: dict,
                     selected: tuple, phase) -> None:
    """The work of ``resim solve`` once its options are checked; ``phase(text)`` says what it is doing."""
    from . import api, format as fmt_mod
    from .select import select

    if netlist == "-":
        phase("reading the netlist from stdin")
        circuit = api.load_netlist(_read_stdin() + "\n", overrides=overrides)
    else:
        phase(f"reading {netlist}" + (f" ({os.path.getsize(netlist) / 1e6:,.0f} MB)" if os.path.isfile(netlist) else ""))
        circuit = api.load_netlist(netlist, overrides=overrides)
    _not_included(circuit, output)
    selection = select(circuit, *selected)  # a typo found before the solve
    for w in circuit.warnings:
        _note(printable(w))
    phase(f"solving {circuit.n_elements:,} elements, {circuit.n_nodes:,} nodes")
    result = api.solve(circuit, method=method, **options)
    for w in result.certificate.warnings():  # e.g. a node whose currents rounding swamped
        _note(printable(w))
    phase(f"writing the {fmt}")
    if fmt == "npz":
        write_bytes(output, fmt_mod.to_npz(result, selection))
        return
    if fmt == "table":
        _emit(fmt_mod.table_text(result, terminal=not output and sys.stdout.isatty(), selection=selection), output)
    else:
        _emit_chunks((fmt_mod.json_chunks if fmt == "json" else fmt_mod.csv_chunks)(result, selection), output)


@main.command()
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
@click.option("--output", "-o", type=_OUTPUT_PATH, help="Write to this file instead of stdout (as solve -o does).")
@click.option("--plot", type=_OUTPUT_PATH, metavar="FILE.png",
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
    from . import api, sweep as sw, sweep_output
    from .netlist.numbers import parse_number

    overrides = _parse_set(sets)
    if scheduler is not None:  # its form: before the work (reaching it is run_sweep's first step)
        from .scheduler import check_address

        check_address(scheduler)
    output = _output_file(output, [("the netlist", netlist)])  # before the work, not after
    if plot is not None:
        _figure_file(plot, "'--plot'")
        sweep_output.check_plot(plot, [("the netlist", netlist), ("-o", output)])
    circuit = api.load_netlist(netlist, overrides=overrides)
    _not_included(circuit, output, plot)
    for w in circuit.warnings:
        _note(printable(w))
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
    progress = _progress_bar() if sys.stderr.isatty() else None
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
    _emit(text, output)


def _read_stdin() -> str:
    """The netlist on stdin, as a netlist file is read: an endless device (``< /dev/zero``)
    is refused, and so is more than the memory available would let resim solve
    (:func:`resim.netlist.reader.read_stream`)."""
    from .client import endless_device
    from .errors import NetlistError
    from .netlist.reader import read_stream

    if endless_device(sys.stdin):
        raise NetlistError("cannot read the netlist from stdin: it is a device, not a file or a pipe",
                           hint="redirect a netlist file (resim solve - < circuit.cir) or pipe one in")
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes under it (a test's StringIO)
        return sys.stdin.read()
    return read_stream(stream, "the netlist on stdin").decode("utf-8", "replace")


def _emit(text: str, output: str | None) -> None:
    """``text`` to the file ``output`` (through :func:`resim.atomic.write_text`), else
    (None) to stdout."""
    if output is not None:
        write_text(output, text)
    else:
        _write_stdout(text)


def _emit_chunks(chunks: Iterable[str], output: str | None) -> None:
    """:func:`_emit` of text made piece by piece, each piece written as it comes
    (:func:`resim.atomic.write_chunks`): millions of elements are never one string."""
    if output is not None:
        write_chunks(output, (chunk.encode("utf-8") for chunk in chunks))
    else:
        for chunk in chunks:
            _write_stdout(chunk)


def _output_file(output: str | None, inputs: Sequence[tuple[str, str | None]] = ()) -> str | None:
    """The file a text output option (``-o``) names, checked before any work
    (:func:`resim.atomic.check_writable`: not empty, writable, none of the ``inputs``);
    None for stdout: no option, or ``-`` (docs/output.md)."""
    if output is None or output == "-":
        return None
    check_writable(output, inputs)
    return output


def _not_included(circuit, *outputs: str | None) -> None:
    """Refuse an output that is one of the files the netlist ``.include``s or ``.lib``s:
    an input too, known once the netlist is read (still before solving)."""
    included = [("the file the netlist includes", f) for f in circuit.files[1:]]
    for output in outputs:
        if output is not None:
            check_distinct(output, included)


def _figure_file(path: str, param_hint: str) -> None:
    """Refuse a figure file (``plot -o``, ``sweep --plot``) whose extension names no format:
    the same rule for both, and ``-`` is no file (docs/output.md)."""
    from .figure import format_of

    try:
        format_of(path)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None


class _StdoutClosed(Exception):
    """stdout's reader went away (``resim solve big.cir | head``) before all was written."""


def _write_stdout(text: str) -> None:
    """Write ``text`` to stdout and flush it; :class:`_StdoutClosed` if its reader is gone."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise _StdoutClosed from None


class _progress_bar:
    """A rich progress bar on stderr (only used on a terminal): ``what``, a bar, done/total
    ``unit``, the time left; called as ``bar(done, total)``."""

    def __init__(self, what: str = "sweep", unit: str = "points") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn(what, markup=False), BarColumn(),
                            TextColumn("{task.completed}/{task.total} " + unit), TimeRemainingColumn(),
                            transient=True, console=Console(stderr=True))  # not rich's default, stdout
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task("work", total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.task is not None:
            self.bar.stop()


_ENGINE_OPTIONS = (
    click.option("--backend", type=click.Choice(["numpy", "torch"]), default=None,
                 help="Overrides [training] backend: numpy (default) or torch (pip install 'resim[torch]')."),
    click.option("--device", default=None, metavar="DEVICE",
                 help="Overrides [training] device (torch): cpu, cuda or cuda:N."),
    click.option("--precision", type=click.Choice(["float64", "float32", "bfloat16"]), default=None,
                 help="Overrides [training] precision: the relaxation's products; bfloat16 needs torch and "
                      "float32 (the conductances and every sum stay float32)."),
)


def _options(options):
    """A decorator that gives a command the click ``options``, in their order."""
    def apply(f):
        for option in reversed(options):
            f = option(f)
        return f
    return apply


_engine_options = _options(_ENGINE_OPTIONS)  # the engine keys of [training], as overrides


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="The run's TOML file (docs/train.md lists every key).")
@click.option("--out", type=click.Path(file_okay=False), default="runs/latest", show_default=True,
              help="Run folder: config.resolved.toml, metrics.jsonl/.csv, checkpoint.npz, model.npz. "
                   "One that holds a run needs --resume or --overwrite.")
@click.option("--resume", is_flag=True, help="Continue from the run folder's last checkpoint (the config may "
                                             "raise [training] epochs; nothing else may change).")
@click.option("--overwrite", is_flag=True, help="Delete the run in the run folder and start again.")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="The folder of the IDX files (or of a subfolder named after the dataset); nothing else is "
                   "tried. Default: [data] data_dir, else $RESIM_DATA, the cache, a download.")
@click.option("--threads", type=click.IntRange(1, 2), default=None,
              help="Cores for the large matrix products (updates, relaxation, test error): 2 (default where "
                   "there are two) or 1. The results are the same bit for bit.")
@click.option("--seed", type=click.IntRange(0), default=None,
              help="Overrides [training] seed (the initial conductances, the batches' order, the mirroring): "
                   "one config, several seeds.")
@_engine_options
def train(config_path: str, out: str, resume: bool, overwrite: bool, data_dir: str | None,
          threads: int | None, seed: int | None, backend: str | None, device: str | None,
          precision: str | None) -> None:
    """Train a deep resistive network by equilibrium propagation (or a relative, or
    truncated backpropagation), or the ReLU-network baseline by backpropagation.

    Ctrl-C stops the run (exit code 130) and prints the command that resumes it.

    \b
    Examples:
      resim train --config examples/drn_xs_fashion.toml --out runs/xs
      resim train --config examples/drn_xs_fashion.toml --out runs/xs --resume
      resim train --config examples/drn_1h_fashion.toml --out runs/1h --threads 1
      resim train --config examples/fashion_drn_1h_tbp.toml --out runs/fashion_drn_1h_tbp --seed 1
      resim train --config examples/relu_mlp_1h_fashion.toml --out runs/fashion_relu_1h
      resim train --config examples/fashion_drn_3h_ep.toml --out runs/3h --backend torch --precision bfloat16
      resim train --config examples/fashion_drn_3h_ep.toml --out runs/3h --backend torch --device cuda
    """
    from .drn import data as data_mod
    from .drn.config import load_config, with_engine, with_seed
    from .drn.engines import make_engine
    from .drn.train import Progress, train as run_train

    if resume and overwrite:
        raise click.UsageError("--resume continues the run in --out, --overwrite starts it again: give one")
    overrides = {"backend": backend, "device": device, "precision": precision}
    config = with_seed(with_engine(load_config(config_path), **overrides), seed)
    t = config["training"]
    # an engine this machine cannot give is refused before the data are read
    engine = make_engine(t["backend"], t["device"], t["dtype"], t["precision"] or None)
    d = config["data"]
    bar = None
    try:
        data = data_mod.load(d["dataset"], data_dir or d["data_dir"] or None, d["train_limit"], d["test_limit"])
        _note(f"{config['model']['layers']} on {data.name} ({len(data.train_x):,} train / "
              f"{len(data.test_x):,} test images from {data.folder}); {config['training']['algorithm']} on "
              f"{engine.describe()}, run folder {out}")
        bar = _epoch_bar(config["training"]["epochs"]) if sys.stderr.isatty() else None

        def epoch_line(row: dict) -> None:
            if bar is not None:
                bar.done()
            _note(f"epoch {row['epoch']}: train error {row['train_error']:.2%}, test error "
                  f"{row['test_error']:.2%}, cost {row['cost']:.4g}, {row['epoch_seconds']:.1f} s "
                  f"({row['samples_per_second']:.0f} samples/s)")

        def resumed(done: int, epochs: int) -> None:
            checkpoint = os.path.join(out, "checkpoint.npz")
            _note(f"resuming at epoch {done + 1} of {epochs} ({done} done, in {checkpoint})" if done < epochs
                  else f"resuming: all {epochs} epochs are done; writing the model again")

        run_train(config, data, out, resume=resume, overwrite=overwrite,
                  progress=Progress(batch=bar, epoch=epoch_line, resumed=resumed), threads=threads)
    except KeyboardInterrupt:
        if bar is not None:
            bar.done()
        raise _train_interrupted(config_path, out, data_dir, threads, {"seed": seed, **overrides}) from None


def _train_interrupted(config_path: str, out: str, data_dir: str | None, threads: int | None,
                       overrides: dict[str, object] | None = None) -> Interrupted:
    """The Interrupted error of a stopped `resim train`, with the command that goes on from
    its last checkpoint (or starts it again when no epoch was complete)."""
    import shlex

    from .drn.train import read_npz
    from .errors import ResimError

    args = ["resim", "train", "--config", config_path, "--out", out]
    args += ["--data-dir", data_dir] if data_dir else []
    args += ["--threads", str(threads)] if threads else []
    args += [a for key, value in (overrides or {}).items() if value is not None for a in (f"--{key}", str(value))]
    checkpoint = os.path.join(out, "checkpoint.npz")
    try:
        done = int(read_npz(checkpoint, "")["epoch"]) if os.path.exists(checkpoint) else 0
    except (ResimError, KeyError, ValueError):
        done = 0
    if not done:
        return Interrupted("interrupted before the first epoch was complete",
                           hint=f"start again with: {shlex.join(args)}")
    return Interrupted(f"interrupted; the run folder '{out}' keeps its last complete epoch ({done})",
                       hint=f"continue with: {shlex.join(args + ['--resume'])}")


class _epoch_bar:
    """Per-epoch rich progress bar on stderr: batches, running error, samples/s."""

    def __init__(self, epochs: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("epoch {task.fields[epoch]}/" + str(epochs)), BarColumn(),
                            TextColumn("{task.completed}/{task.total} images"),
                            TextColumn("error {task.fields[err]:.2%}"), TextColumn("{task.fields[rate]:.0f}/s"),
                            TimeRemainingColumn(), transient=True, console=Console(stderr=True))
        self.task = None

    def __call__(self, epoch: int, done: int, total: int, err: float, rate: float) -> None:
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, epoch=epoch + 1, err=err, rate=rate)
        self.bar.update(self.task, completed=done, epoch=epoch + 1, err=err, rate=rate)

    def done(self) -> None:
        if self.task is not None:
            self.bar.stop()
            self.task = None


@main.command()
@click.argument("model", type=click.Path())
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="The folder of the IDX files (default: the training's data_dir, else the usual places).")
@click.option("--dataset", help="Evaluate on this dataset instead of the model's (mnist, fashion-mnist, kmnist, "
                                "idx:<folder>); its files come from --data-dir or the usual places.")
@click.option("--limit", type=click.IntRange(1), metavar="N", help="Only the first N test images.")
@click.option("--hardware", type=click.Path(dir_okay=False), metavar="PROFILE",
              help="Also the test error of the network built as this hardware profile's devices "
                   "(docs/hardware.md), solved as a circuit by resim, over --draws draws of the devices.")
@click.option("--draws", type=click.IntRange(1), default=5, show_default=True, help="Draws of the devices, with --hardware.")
@click.option("--seed", type=int, default=0, show_default=True, help="The first draw's seed, with --hardware.")
@click.option("--ngspice", "ngspice_images", type=click.IntRange(1), metavar="N",
              help="With --hardware: solve the first draw's netlist for the first N images with ngspice too, "
                   "and report the largest difference (exit 8 if ngspice is missing or fails).")
@_engine_options
def evaluate(model: str, data_dir: str | None, dataset: str | None, limit: int | None, hardware: str | None,
             draws: int, seed: int, ngspice_images: int | None, backend: str | None, device: str | None,
             precision: str | None) -> None:
    """Test error of a trained MODEL (model.npz) on its dataset's test images.

    MODEL may be a run's checkpoint.npz, or its folder: its model.npz, else its last
    checkpoint (a run that has not finished).

    The engine is the run's ([training] backend, device, precision), unless overridden; a
    DRN is evaluated at its equilibrium, with products at the arrays' own precision.

    With --hardware, the JSON also has "hardware": the test error of the network built as
    that profile's devices, mean and std over the draws, each draw's error and time. Each
    draw's operating points are those of its physical netlist (what `resim export
    --hardware` writes), solved by resim's batched coordinate descent and checked image by
    image.

    \b
    Examples:
      resim evaluate runs/xs/model.npz
      resim evaluate runs/3h --backend torch --device cuda
      resim evaluate runs/xs --hardware examples/hardware/memristor.toml --draws 5 --limit 1000
      resim evaluate runs/xs --hardware examples/hardware/discrete.toml --draws 1 --limit 100 --ngspice 3
    """
    from .drn.train import classify

    if ngspice_images and hardware is None:
        raise click.UsageError("--ngspice checks a hardware netlist: give --hardware PROFILE too")
    profile = None
    if hardware is not None:
        from .hardware.profile import load_profile

        profile = load_profile(hardware)
    model = _model_file(model, "evaluate")
    net, data = _model_and_data(model, data_dir, dataset, circuit=profile is not None,
                                engine={"backend": backend, "device": device, "precision": precision})
    x, y = data.test_x[:limit], data.test_y[:limit]
    wrong = classify(net, x) != y
    report = {"model": model, "dataset": data.name, "test_images": int(len(wrong)), "test_error": float(wrong.mean())}
    if profile is not None:
        from .drn.network import DRN
        from .hardware.evaluate import evaluate_hardware

        ideal = DRN([net.engine.numpy(w) for w in net.W], [net.engine.numpy(b) for b in net.b], net.gain)
        ev = evaluate_hardware(ideal, profile, x, y, draws=draws, seed=seed)
        report["hardware"] = {
            "profile": profile.name, "path": hardware, "draws": draws, "seed": seed,
            "test_error_mean": ev.mean, "test_error_std": ev.std, "test_errors": ev.errors.tolist(),
            "solved_in_batches": sum(d.batched for d in ev.draws), "solved_alone": sum(d.alone for d in ev.draws),
            "seconds_per_draw": [round(d.seconds, 3) for d in ev.draws],
        }
        if ngspice_images:
            from .hardware.evaluate import ngspice_check

            report["hardware"]["ngspice"] = ngspice_check(ideal, profile, x[:ngspice_images], seed)
    click.echo(json.dumps(report))


def _model_file(path: str, command: str) -> str:
    """The model file that the MODEL argument ``path`` names (:func:`resim.drn.runs.model_file`);
    its note, if any (a run folder's checkpoint is used), on stderr."""
    from .drn.runs import model_file

    path, note = model_file(path, command)
    if note:
        _note(f"{command}: {note}")
    return path


def _model_and_data(model: str, data_dir: str | None, dataset: str | None = None, circuit: bool = False,
                    engine: dict[str, str | None] | None = None):
    """The network in MODEL and the dataset to use it on: ``dataset`` (default: the one it
    was trained on) from ``data_dir`` (default: the training's data_dir, for that dataset
    only: the folder of one dataset must not stand in for another). ``circuit``: refuse a
    model that is not one (a relu-mlp). ``engine``: the network on the engine of its run's
    [training] keys, with these overrides (else numpy)."""
    import shlex

    from .drn import data as data_mod
    from .drn.config import parse_toml
    from .drn.mlp import MLP
    from .drn.train import RunError, check_model_data, load_model

    net, config_text = load_model(model)
    if circuit and isinstance(net, MLP):
        raise RunError(f"'{model}': a relu-mlp is not a circuit; `resim synth relu` makes one of it",
                       hint=f"resim synth relu {shlex.quote(model)} -o net.cir; resim export writes a deep resistive "
                            "network ([model] kind = \"drn\")")
    try:
        doc = parse_toml(config_text) if config_text else {}
    except ValueError as exc:
        raise RunError(f"'{model}': its stored configuration is not valid TOML ({exc})") from None
    trained = doc.get("data", {})
    if engine is not None:
        net = _on_engine(net, doc.get("training", {}), engine)
    name = trained.get("dataset", "fashion-mnist")
    if data_dir is None and dataset in (None, name):
        data_dir = trained.get("data_dir") or None
    data = data_mod.load(dataset or name, data_dir)
    check_model_data(net, data, model)
    return net, data


def _on_engine(net, training: dict, overrides: dict[str, str | None]):
    """``net`` on the engine of a run's ``[training]`` keys with ``overrides`` (not None)."""
    from .drn.engines import make_engine

    keys = {k: training.get(k, d) for k, d in (("backend", "numpy"), ("device", "cpu"), ("precision", ""))}
    if overrides.get("backend") not in (None, keys["backend"]):  # the run's device and precision were its backend's
        keys.update(device="cpu", precision="")
    keys.update({k: v for k, v in overrides.items() if v is not None})
    engine = make_engine(keys["backend"], keys["device"], str(net.W[0].dtype), keys["precision"] or None)
    return net.on(engine) if engine.backend != "numpy" else net


@main.command()
@click.argument("model", type=click.Path())
@click.option("--input", "index", required=True, type=click.IntRange(0), metavar="K", help="Test image number.")
@click.option("--hardware", type=click.Path(dir_okay=False), metavar="PROFILE",
              help="Write the devices of this hardware profile (a TOML file, docs/hardware.md): real values, "
                   "the profile's diode, crossbar wires.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The draw of the devices (variation and programming noise) with --hardware.")
@click.option("--data-dir", type=click.Path(file_okay=False))
def export(model: str, index: int, hardware: str | None, seed: int, data_dir: str | None) -> None:
    """Write the trained MODEL with test image K applied as a netlist (stdout).

    MODEL may be a run's checkpoint.npz, or its folder: its model.npz, else its last
    checkpoint (a run that has not finished). With --hardware, the netlist is the network
    built from that profile's devices: volts and siemens, conductances in the window and on
    its levels, one seeded draw of their variation, the profile's diodes and wires.

    \b
    Examples:
      resim export runs/xs/model.npz --input 0 > net.cir && resim solve net.cir
      resim export runs/xs --input 0 --hardware examples/hardware/memristor.toml --seed 3 > hw.cir
    """
    from .drn.network import outputs

    import numpy as np

    profile = None
    if hardware is not None:
        from .hardware.profile import load_profile

        profile = load_profile(hardware)
    model = _model_file(model, "export")
    net, data = _model_and_data(model, data_dir, circuit=True)
    if index >= len(data.test_x):
        raise click.UsageError(f"--input {index}: the test set has {len(data.test_x)} images (0..{len(data.test_x) - 1})")
    image = data.test_x[index]
    out = outputs(net, image[None, :])[0]
    title = f"{data.name} test image {index} (label {data.test_y[index]}, model predicts {int(np.argmax(out))})"
    if profile is None:
        from .drn.export import netlist_chunks

        chunks = netlist_chunks(net, image, title)
    else:
        from .hardware.devices import physical
        from .hardware.netlist import netlist_chunks as physical_chunks

        phys = physical(net, profile, np.random.default_rng(seed))
        line = (f"{title}: {'-'.join(map(str, net.sizes))}, input gain {net.gain:g}, as hardware '{profile.name}' "
                f"({profile.volts_per_unit:g} V and {profile.siemens_per_unit:g} S per unit, draw {seed}) "
                "(resim export --hardware)")
        chunks = physical_chunks(phys, image, line, diode_name="dhw")
    for chunk in chunks:
        _write_stdout(chunk)


@main.command()
@click.option("--socket", "socket_path", type=click.Path(dir_okay=False), metavar="PATH",
              help="Where to listen (default: $RESIM_SERVER, else server.sock in a private 0700 folder: "
                   "$XDG_RUNTIME_DIR/resim/ or /tmp/resim-UID/). Only a stale socket is ever replaced.")
@click.option("--read-timeout", type=click.FloatRange(0, min_open=True), default=READ_TIMEOUT, show_default=True,
              metavar="SECONDS", help="Seconds a client may take to send its whole request before it is refused.")
@click.option("--max-request", type=click.IntRange(1), default=MAX_REQUEST, show_default=True, metavar="BYTES",
              help="Largest request read (a netlist sent on stdin counts); larger ones are refused unread.")
def serve(socket_path: str | None, read_timeout: float, max_request: int) -> None:
    """Keep resim loaded in a background process, for fast `resim solve` in shell loops.

    Python, numpy and resim's modules take ~0.3 s to load; a `resim solve` whose
    $RESIM_SERVER names this server's socket skips that and takes ~0.05 s. Results, files
    written (with your umask) and exit codes are the same as without the server; if the
    server is gone, runs another version of resim, is busy, does not answer within
    $RESIM_SERVER_TIMEOUT seconds (default 60) or its socket is not yours, `resim` runs
    the command itself. So it does when your RESIM_* variables (but RESIM_SERVER*),
    numpy's (NPY_*) or the BLAS ones (OMP_*, OPENBLAS_*, GOTO_*, MKL_*, VECLIB_*)
    differ from the server's, when RESIM_DEBUG is set, when the table goes to a
    terminal (it is drawn for it: -o, --format csv or json, or a pipe are served), and
    when an argument names /dev/stdin, /dev/stdout, /dev/fd/N, /proc/... or /dev/tty.
    A command is stopped when its client goes (Ctrl-C on it: exit 130,
    "interrupted"), and the next one runs at once. The server answers only your own user; it stops on
    SIGTERM or Ctrl-C and removes its socket.

    \b
    Example:
      resim serve &      # prints its socket, e.g. /tmp/resim-1000/server.sock
      export RESIM_SERVER=/tmp/resim-1000/server.sock
      for f in nets/*.cir; do resim solve "$f" --format csv > "${f%.cir}.csv"; done
    """
    from .server import default_socket, serve as run_server

    def ready(path: str) -> None:
        _note(f"resim server listening on {path}; use it with: export RESIM_SERVER={path}")

    path = socket_path or os.environ.get("RESIM_SERVER") or default_socket()
    run_server(path, run_args, read_timeout=read_timeout, max_request=max_request, on_ready=ready)


@main.command("plot")
@click.argument("runs", nargs=-1, required=True, metavar="RUN_DIR...", type=click.Path(file_okay=False, exists=True))
@click.option("--output", "-o", required=True, type=_OUTPUT_PATH, metavar="FILE",
              help="The figure: .png, .svg or .pdf, after its extension; written as solve -o writes.")
@click.option("--label", "labels", multiple=True, metavar="NAME",
              help="A run's name in the legend: one per RUN_DIR, in order (default: the folders' names).")
@click.option("--title", help="A title above the figure.")
def plot_runs(runs: tuple[str, ...], output: str, labels: tuple[str, ...], title: str | None) -> None:
    """Draw the train and test error per epoch of training runs on one figure.

    Each RUN_DIR is a folder written by `resim train --out` (its metrics.jsonl), or a
    folder of one configuration's seeds: seed<k>.csv files (a run's metrics.csv, as
    docs/runs/<row>/ keeps them) or seed<k>/ run folders, drawn as the seeds' mean with
    the band from the lowest to the highest. A run still going is drawn as far as it has
    gone. Each RUN_DIR has its own colour: test error solid, train error dashed, in
    percent. Needs matplotlib (resim[plot]).

    \b
    Examples:
      resim plot runs/xs -o curves.png
      resim plot runs/1h runs/2h --label DRN-1H --label DRN-2H --title 'Fashion-MNIST' -o curves.svg
      resim plot docs/runs/drn-1h-ep docs/runs/drn-1h-tbp --label EP --label TBP -o 1h.png
    """
    from . import plot

    if labels and len(labels) != len(runs):
        raise click.UsageError(f"--label was given {len(labels)} times for {len(runs)} runs: give one per RUN_DIR")
    _figure_file(output, "'--output' / '-o'")
    plot.write_plot(runs, output, labels, title)


def _positive(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A number > 0 (not NaN); for --timeout also at most 1e9 seconds (what the clock can wait)."""
    top = 1e9 if param.name == "timeout" else None
    if value is not None and not (0 < value and (top is None or value <= top)):  # NaN fails too
        raise click.BadParameter(f"{value} is not a number > 0" + ("" if top is None else f" and <= {top:g}"))
    return value


@main.group()
def synth() -> None:
    """Make resistive circuits from ReLU networks and piecewise-linear functions.

    The circuits use voltage sources, resistors, ideal diodes and amplifiers (E elements):
    inputs are the sources VX0, VX1, ... (drive them with --set vx0=0.3, --dc or
    resim sweep), outputs the nodes y0, y1, ... docs/synth.md has the construction.
    """


def _range(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value.split(":"))
    except ValueError:
        raise click.BadParameter(f"'{value}' is not LO:HI (e.g. 0:1)") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise click.BadParameter(f"'{value}': needs finite LO < HI")
    return lo, hi


_SYNTH_OPTIONS = [
    click.option("--output", "-o", type=_OUTPUT_PATH, metavar="FILE",
                 help="Write the netlist here (as solve -o writes) instead of stdout."),
    click.option("--gain", type=float, callback=_positive, metavar="A",
                 help="The amplifiers' gain (default: the smallest 1, 2 or 5 x 10^k whose guaranteed error is "
                      "at most 1e-3 of the output scale on the input range)."),
    click.option("--check", type=click.IntRange(0), default=8, show_default=True, metavar="N",
                 help="Solve the circuit at N inputs of the range (its two corners, then random) and report the "
                      "largest error against the network (0: skip)."),
]


_synth_options = _options(_SYNTH_OPTIONS)


def _synthesise(net, lo: float, hi: float, gain: float | None, check: int, output: str | None, title: str,
                inputs: Sequence[tuple[str, str]] = ()) -> None:
    """Write ``net``'s circuit, then its gain and guaranteed error on stderr. With ``check``,
    the circuit is first solved at that many inputs (a progress bar on a terminal's
    stderr: ~5 s per input for a 784-512-10 network): if a solution fails its
    certificate, nothing is written and no bound is stated."""
    from . import synth as syn

    output = _output_file(output, inputs)
    if gain is not None:
        syn.check_gain(gain)
    gain = gain or syn.default_gain(net, lo, hi)
    bound, scale = syn.guarantee(net, gain, lo, hi)
    text = syn.to_netlist(net, gain, title)
    measured = None
    if check:
        bar = _progress_bar("synth: checking the circuit", "inputs") if sys.stderr.isatty() else None
        try:
            measured = syn.measured_error(net, text, syn.sample_inputs(net, lo, hi, check), progress=bar)
        finally:
            if bar is not None:
                bar.close()
    _emit(text, output)
    _note(f"synth: {'-'.join(map(str, net.sizes))} ReLU network, gain {gain:g}; guaranteed |circuit - network| "
          f"<= {bound:.3g} for inputs in [{lo:g}, {hi:g}] (output scale {scale:.3g}, ratio {bound / scale:.2g})")
    if measured is not None:
        _note(f"synth: measured max |circuit - network| {measured:.3g} at {check} inputs (resim solve)")


@synth.command("relu")
@click.argument("net_file", metavar="NET.npz", type=click.Path())
@click.option("--input-range", callback=_range, default="0:1", show_default=True, metavar="LO:HI",
              help="The range of every input, for the gain and the guaranteed error.")
@_synth_options
def synth_relu(net_file: str, input_range: tuple[float, float], output: str | None, gain: float | None,
               check: int) -> None:
    """Write the ReLU network in NET.npz (arrays W0, b0, W1, b1, ...; layer l maps h to
    h @ W_l + b_l, ReLU after every layer but the last) as a resistive circuit.

    A relu-mlp trained by resim train is such a file (its model.npz, or checkpoint.npz
    while it runs); its run folder means its model.npz, else its last checkpoint.

    \b
    Examples:
      resim synth relu net.npz -o net.cir && resim solve net.cir --set vx0=0.3
      resim synth relu runs/fashion_relu_1h/model.npz --gain 1e6 -o mlp.cir
    """
    from . import synth as syn

    lo, hi = input_range
    net_file = _model_file(net_file, "synth relu")
    _synthesise(syn.load_relu(net_file), lo, hi, gain, check, output, os.path.basename(net_file),
                [("the network", net_file)])


@synth.command("pwl")
@click.option("--points", required=True, metavar="X0:Y0,X1:Y1,...",
              help="The function's points, x increasing; it is linear between them and continues the end slopes.")
@click.option("--input-range", callback=_range, metavar="LO:HI",
              help="The range of the input for the gain and the guaranteed error (default: the points' x range).")
@_synth_options
def synth_pwl(points: str, input_range: tuple[float, float] | None, output: str | None, gain: float | None,
              check: int) -> None:
    """Write a 1-D piecewise-linear function as a resistive circuit (input VX0, output y0),
    through its one-hidden-layer ReLU expansion.

    \b
    Examples:
      resim synth pwl --points "0:0,1:1,2:0" -o tent.cir
      resim sweep tent.cir --dc vx0 0 2 0.01 --probe "v(y0)"
    """
    from . import synth as syn

    x, y = syn.parse_points(points)
    lo, hi = input_range or (float(x[0]), float(x[-1]))
    _synthesise(syn.pwl_net(x, y), lo, hi, gain, check, output, f"piecewise-linear function {points}")


@main.command("compare-with-ngspice")
@click.argument("netlist", type=click.Path(dir_okay=False, exists=True))
@click.option("--tol", type=float, callback=_positive, default=1e-6, show_default=True, metavar="VOLTS",
              help="Largest node-voltage difference that still agrees.")
@click.option("--tol-i", "tol_i", type=float, callback=_positive, metavar="REL",
              help="Largest element-current difference that still agrees, relative to the larger of the "
                   "current and the circuit's largest source current  [default: the number --tol is]")
@click.option("--timeout", type=float, callback=_positive, default=600, show_default=True, metavar="SECONDS",
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
    from . import compare
    from .ngspice import DEFAULT_OPTIONS

    if keep is not None:
        for path in compare.kept_files(keep):
            check_distinct(path, [("the netlist", netlist), ("--against", against)])
    cmp = compare.compare_with_ngspice(netlist, tol=tol, ngspice=ngspice_path, keep=keep, diodes=diodes,
                                       options=None if ngspice_defaults else DEFAULT_OPTIONS, against=against,
                                       method=method, tol_i=tol_i, timeout=timeout, as_written=as_written)
    for w in cmp.warnings:  # as solve shows them: a repeated DC value, a node with one connection, ...
        _note(printable(w))
    _write_stdout(compare.to_json(cmp) if fmt == "json" else compare.to_table(cmp))
    if cmp.outcome == "differ":
        raise compare.ResultsDiffer(cmp.verdict())
    if cmp.outcome == "could not compare":
        raise compare.CouldNotCompare(cmp.verdict())


def _list_exit_codes(group: click.Group, prefix: str = "") -> None:
    """Give each command under ``group`` the epilog that lists its own exit codes
    (:func:`resim.errors.exit_codes_of`; all of them for a command not declared there)."""
    for name, command in group.commands.items():
        try:
            codes = exit_codes_of(prefix + name)
        except KeyError:
            codes = EXIT_CODES
        command.epilog = _exit_help(codes)
        if isinstance(command, click.Group):
            _list_exit_codes(command, f"{prefix}{name} ")


_list_exit_codes(main)


def run_args(args: list[str] | None = None) -> int:
    """Run the command line ``args`` (default: ``sys.argv[1:]``); the exit code, errors
    already reported on stderr (the console script and ``resim serve`` both use this)."""
    from .errors import ResimError

    try:
        code = main(args=args, standalone_mode=False)  # ctx.exit(n) returns n here
        return code if isinstance(code, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        return _report(exc.show, exc.exit_code)
    except click.exceptions.Abort as exc:  # click's form of a KeyboardInterrupt or EOFError in a command
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return _interrupted(Interrupted())
        if isinstance(exc.__cause__, EOFError):  # not from a prompt (resim has none): a bug
            return _internal_error(exc.__cause__)
        return _say("aborted", 1)
    except _StdoutClosed:  # `| head` has all it wants: stop quietly, as success
        silence(sys.stdout)
        return 0
    except SystemExit as exc:  # click's own answer to a broken pipe in what it writes (--help, --version)
        if exc.code == 1 and isinstance(sys.stdout, click.utils.PacifyFlushWrapper):
            silence(sys.stdout)  # stdout's reader has gone, as for _StdoutClosed (stderr's: every line is _note'd)
            return 0
        raise
    except Interrupted as exc:  # Ctrl-C, where the command says how to go on (resim train)
        return _interrupted(exc)
    except ResimError as exc:
        return _say(f"error: {exc.render()}", exc.exit_code)
    except KeyboardInterrupt:
        return _interrupted(Interrupted())
    except MemoryError:
        return _say("error: out of memory: this job needs more memory than the process may have "
                    "(see docs/benchmarks.md for what large netlists and DRN-XL need); free memory, raise the "
                    "limit (ulimit -v), or run a smaller job", 11)
    except Exception as exc:  # a bug: say so plainly
        return _internal_error(exc)


def _interrupted(exc: Interrupted) -> int:
    """Report a Ctrl-C (an :class:`~resim.errors.Interrupted`) on stderr: its exit code, 130."""
    return _say(exc.render(), exc.exit_code)


def _internal_error(exc: BaseException) -> int:
    """Report a bug (re-raised with its traceback under RESIM_DEBUG=1): exit code 1."""
    if os.environ.get("RESIM_DEBUG"):
        raise exc
    return _say(f"internal error: {type(exc).__name__}: {exc}\n(set RESIM_DEBUG=1 for a traceback; please report it)", 1)


def _note(message: str) -> None:
    """Write a warning or a progress line on stderr; when stderr's reader has gone, the line
    is lost and the command goes on (:func:`_report`; click would end it with exit 1)."""
    _say(message, 0)


def _say(message: str, code: int) -> int:
    """Write ``message`` on stderr (see :func:`_report`); ``code``."""
    return _report(lambda: click.echo(message, err=True), code)


def _report(show: Callable[[], None], code: int) -> int:
    """Run ``show``, which writes a message on stderr; ``code``. When stderr's reader has
    gone (``resim ... 2>&1 | true``), the message is lost but not the exit code: stderr
    is pointed at /dev/null (so that nothing fails again at exit) and ``code`` returned."""
    try:
        show()
    except BrokenPipeError:
        silence(sys.stderr)
    return code


def run() -> None:
    """Entry point with error mapping (``python -m resim.cli``)."""
    sys.exit(run_args())


if __name__ == "__main__":  # pragma: no cover
    run()
