"""What every ``resim`` command shares: the mapping of errors to messages on stderr and exit
codes (:func:`run_group`), stderr and stdout writing that survives a reader gone away, the
output-file checks, the progress bar and small click helpers.

Library errors become messages on stderr and the exit codes of :mod:`resim.errors`;
no Python traceback is shown unless ``RESIM_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence

import click

from ..atomic import check_writable, write_chunks, write_text
from ..errors import Interrupted
from ..streams import silence

# An output file (-o, --plot): click's Path would refuse an existing one it cannot read
# (0200); whether it may be written is resim.atomic's to say (docs/output.md).
OUTPUT_PATH = click.Path(dir_okay=False, readable=False)


def exit_help(codes: dict[int, str]) -> str:
    """The "Exit codes" epilog of a command's --help, listing ``codes`` (kept as written: \\b)."""
    return ("\b\nExit codes (docs/exit-codes.md has the details):\n"
            + "\n".join(f"  {code:<3}  {meaning}" for code, meaning in codes.items()))


def with_options(options):
    """A decorator that gives a command the click ``options``, in their order."""
    def apply(f):
        for option in reversed(options):
            f = option(f)
        return f
    return apply


def positive(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A number > 0 (not NaN); for --timeout also at most 1e9 seconds (what the clock can wait)."""
    top = 1e9 if param.name == "timeout" else None
    if value is not None and not (0 < value and (top is None or value <= top)):  # NaN fails too
        raise click.BadParameter(f"{value} is not a number > 0" + ("" if top is None else f" and <= {top:g}"))
    return value


# ---- output -----------------------------------------------------------------------------


def emit(text: str, output: str | None) -> None:
    """``text`` to the file ``output`` (through :func:`resim.atomic.write_text`), else
    (None) to stdout."""
    if output is not None:
        write_text(output, text)
    else:
        write_stdout(text)


def emit_chunks(chunks: Iterable[str], output: str | None) -> None:
    """:func:`emit` of text made piece by piece, each piece written as it comes
    (:func:`resim.atomic.write_chunks`): millions of elements are never one string."""
    if output is not None:
        write_chunks(output, (chunk.encode("utf-8") for chunk in chunks))
    else:
        for chunk in chunks:
            write_stdout(chunk)


def output_file(output: str | None, inputs: Sequence[tuple[str, str | None]] = ()) -> str | None:
    """The file a text output option (``-o``) names, checked before any work
    (:func:`resim.atomic.check_writable`: not empty, writable, none of the ``inputs``);
    None for stdout: no option, or ``-`` (docs/output.md)."""
    if output is None or output == "-":
        return None
    check_writable(output, inputs)
    return output


def figure_file(path: str, param_hint: str) -> None:
    """Refuse a figure file (``plot -o``, ``sweep --plot``) whose extension names no format:
    the same rule for both, and ``-`` is no file (docs/output.md)."""
    from ..figure import format_of

    try:
        format_of(path)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None


class StdoutClosed(Exception):
    """stdout's reader went away (``resim solve big.cir | head``) before all was written."""


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout and flush it; :class:`StdoutClosed` if its reader is gone."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise StdoutClosed from None


def model_file(path: str, command: str) -> str:
    """The model file that the MODEL argument ``path`` names (:func:`resim.drn.runs.model_file`);
    its note, if any (a run folder's checkpoint is used), on stderr."""
    from ..drn.runs import model_file as find_model

    path, message = find_model(path, command)
    if message:
        note(f"{command}: {message}")
    return path


class ProgressBar:
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


# ---- errors and messages on stderr ----------------------------------------------------------


def run_group(group: click.Group, args: list[str] | None = None) -> int:
    """Run the command line ``args`` (default: ``sys.argv[1:]``) of ``group``; the exit code,
    errors already reported on stderr."""
    from ..errors import ResimError

    try:
        code = group(args=args, standalone_mode=False)  # ctx.exit(n) returns n here
        return code if isinstance(code, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        return report(exc.show, exc.exit_code)
    except click.exceptions.Abort as exc:  # click's form of a KeyboardInterrupt or EOFError in a command
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return _interrupted(Interrupted())
        if isinstance(exc.__cause__, EOFError):  # not from a prompt (resim has none): a bug
            return _internal_error(exc.__cause__)
        return say("aborted", 1)
    except StdoutClosed:  # `| head` has all it wants: stop quietly, as success
        silence(sys.stdout)
        return 0
    except SystemExit as exc:  # click's own answer to a broken pipe in what it writes (--help, --version)
        if exc.code == 1 and isinstance(sys.stdout, click.utils.PacifyFlushWrapper):
            silence(sys.stdout)  # stdout's reader has gone, as for StdoutClosed (stderr's: every line is note'd)
            return 0
        raise
    except Interrupted as exc:  # Ctrl-C, where the command says how to go on (resim train)
        return _interrupted(exc)
    except ResimError as exc:
        return say(f"error: {exc.render()}", exc.exit_code)
    except KeyboardInterrupt:
        return _interrupted(Interrupted())
    except MemoryError:
        return say("error: out of memory: this job needs more memory than the process may have "
                   "(see docs/benchmarks.md for what large netlists and DRN-XL need); free memory, raise the "
                   "limit (ulimit -v), or run a smaller job", 11)
    except Exception as exc:  # a bug: say so plainly
        return _internal_error(exc)


def _interrupted(exc: Interrupted) -> int:
    """Report a Ctrl-C (an :class:`~resim.errors.Interrupted`) on stderr: its exit code, 130."""
    return say(exc.render(), exc.exit_code)


def _internal_error(exc: BaseException) -> int:
    """Report a bug (re-raised with its traceback under RESIM_DEBUG=1): exit code 1."""
    if os.environ.get("RESIM_DEBUG"):
        raise exc
    return say(f"internal error: {type(exc).__name__}: {exc}\n(set RESIM_DEBUG=1 for a traceback; please report it)", 1)


def note(message: str) -> None:
    """Write a warning or a progress line on stderr; when stderr's reader has gone, the line
    is lost and the command goes on (:func:`report`; click would end it with exit 1)."""
    say(message, 0)


def say(message: str, code: int) -> int:
    """Write ``message`` on stderr (see :func:`report`); ``code``."""
    return report(lambda: click.echo(message, err=True), code)


def report(show: Callable[[], None], code: int) -> int:
    """Run ``show``, which writes a message on stderr; ``code``. When stderr's reader has
    gone (``resim ... 2>&1 | true``), the message is lost but not the exit code: stderr
    is pointed at /dev/null (so that nothing fails again at exit) and ``code`` returned."""
    try:
        show()
    except BrokenPipeError:
        silence(sys.stderr)
    return code
