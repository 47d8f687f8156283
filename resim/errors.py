"""Typed errors raised by the resim library.

Library code never prints or exits: it raises one of these, and the CLI maps each class to
a message and its ``exit_code``. :data:`EXIT_CODES` is the one table of exit codes (``resim
--help``, docs/exit-codes.md), and :data:`COMMAND_EXIT_CODES` says which command returns which
(each command's ``--help`` lists its own). The classes (those not defined here name their module):

=====  =====================  ==========================================================
code   class                  meaning
=====  =====================  ==========================================================
0      -                      success
1      (any other)            internal error: a bug in resim, please report it
2      -                      command-line usage error (unknown option, bad --set, ...)
       RunError               or a run folder or model that cannot be used as asked
3      NetlistError           the netlist cannot be read: syntax, unknown model, ...
4      TopologyError          the circuit is structurally ill-posed (floating nodes, ...)
5      NoSolutionError        the circuit equations have no solution
6      ConvergenceError       a solver did not converge; no answer is reported
7      DataError              a dataset is missing or damaged (resim.drn.data)
8      NgspiceError,          compare-with-ngspice: ngspice missing, failed or timed out
       CouldNotCompare        (resim.ngspice), or the comparison could not be made (resim.compare)
9      ResultsDiffer          compare-with-ngspice: resim and ngspice differ (resim.compare)
10     OutputError            an output file cannot be written (missing folder, disk full, ...)
11     OutOfMemory            the job needs more memory than the process may have (also a MemoryError)
130    Interrupted            stopped by Ctrl-C (SIGINT)
=====  =====================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """A place in a netlist file: 1-based line and column."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ResimError(Exception):
    """Base of every error resim raises on purpose."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: SourceLocation | None = None,
        source_line: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.source_line = source_line
        self.hint = hint

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """The full message: ``file:line:col: message``, the source line with a caret, a hint.

        Safe to print whatever the netlist held: non-printable characters are escaped
        (:func:`printable`), message and hint lines are cut at :data:`MESSAGE_WIDTH`
        characters, and the source line is shown as a window of :data:`SOURCE_WINDOW`
        characters around the caret.
        """
        head = f"{self.location}: {self.message}" if self.location else self.message
        parts = [printable(line, MESSAGE_WIDTH) for line in head.split("\n")]
        if self.source_line is not None and self.location is not None:
            text, caret = _excerpt(self.source_line, self.location.column)
            parts.append("  " + text)
            parts.append("  " + " " * caret + "^")
        if self.hint:
            parts.extend(printable(line, MESSAGE_WIDTH) for line in f"hint: {self.hint}".split("\n"))
        return "\n".join(parts)


MESSAGE_WIDTH = 500  # characters of one message or hint line that render() shows
SOURCE_WINDOW = 100  # characters of the source line that render() shows around the caret


def printable(text: str, limit: int | None = None) -> str:
    r"""``text`` safe for a terminal: non-printable characters other than tab (control
    bytes, escape sequences, bidirectional overrides) written as ``\xNN``/``\uNNNN``, and,
    past ``limit`` characters, cut with ``...``.

    >>> printable("r1\x1b[2J")
    'r1\\x1b[2J'
    """
    if limit is not None and len(text) > limit:
        text = text[:limit] + "..."
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == "\t" else ascii(ch)[1:-1] for ch in text)


def _excerpt(line: str, column: int) -> tuple[str, int]:
    """The printable window of ``line`` shown around 1-based ``column``, and the caret's offset in it."""
    text = line.rstrip("\n").expandtabs(1)
    pos = min(max(column - 1, 0), len(text))
    start = max(0, min(pos - SOURCE_WINDOW // 2, len(text) - SOURCE_WINDOW))
    end = min(len(text), start + SOURCE_WINDOW)
    before = ("..." if start else "") + printable(text[start:pos])
    after = printable(text[pos:end]) + ("..." if end < len(text) else "")
    return before + after, len(before)


class NetlistError(ResimError):
    """The netlist text is malformed or refers to something undefined."""

    exit_code = 3


class TopologyError(ResimError):
    """The circuit is structurally ill-posed: found before any solve."""

    exit_code = 4


class NoSolutionError(ResimError):
    """The circuit equations have no solution (e.g. an ideal diode forced forward)."""

    exit_code = 5


class ConvergenceError(ResimError):
    """A solver stopped without meeting its tolerance."""

    exit_code = 6


class RunError(ResimError):
    """A run folder or model that cannot be used as asked: a run folder that would be
    overwritten, or cannot be resumed (no checkpoint, another configuration, a damaged
    file); a model that cannot be read or does not fit the dataset; a run's metrics that
    cannot be read (a usage error: 2). Raised by :mod:`resim.drn.runs` and
    :mod:`resim.plot`; defined here so that reading a run's files needs no trainer."""

    exit_code = 2


class OutputError(ResimError):
    """An output file cannot be written: its folder is missing or not writable, the disk
    is full, ... The message names the path the user gave."""

    exit_code = 10


class OutOfMemory(ResimError):
    """The job would need more memory than this process may have: refused before it starts
    (a netlist file against the memory available, :mod:`resim.memory`)."""

    exit_code = 11


class Interrupted(ResimError):
    """The user stopped the command (Ctrl-C, SIGINT): exit code 130, as a shell reports a
    program stopped by SIGINT. Printed without the ``error:`` prefix; by default just
    "interrupted", as every command but ``resim train`` says it."""

    exit_code = 130

    def __init__(self, message: str = "interrupted", **kwargs) -> None:
        super().__init__(message, **kwargs)


EXIT_CODES: dict[int, str] = {
    0: "success (also when stdout is closed early, e.g. by | head: resim then stops quietly)",
    1: "internal error (a bug in resim)",
    2: "usage error (a bad command-line option, argument or --set, or one the command cannot act on)",
    3: "netlist or run.toml error (syntax, undefined model/subcircuit/parameter, unknown key, missing file)",
    4: "topology error (floating nodes, voltage-source loops, current source into a cut set, nodes held only by off diodes)",
    5: "no solution (e.g. ideal diode forward-biased across a voltage source)",
    6: "solver did not converge, or the operating point overflows double precision",
    7: "dataset error (files not found, not downloadable, checksum or format wrong)",
    8: "ngspice missing, failed or past --timeout (the tail of its output is shown), or the comparison could not be made",
    9: "resim and ngspice differ beyond the tolerances",
    10: "cannot write output (missing or read-only folder or file, disk full, an output that is an input, ...)",
    11: "out of memory (the netlist or model needs more memory than the process may have)",
    130: "interrupted (Ctrl-C)",
}
"""Every exit code and what it means (``resim --help``; docs/exit-codes.md has the details)."""

ANY_COMMAND_EXIT_CODES = (0, 1, 2, 11, 130)  # success, a bug, a usage error, out of memory, Ctrl-C
COMMAND_EXIT_CODES: dict[str, tuple[int, ...]] = {
    # command (a subcommand after its group's name): the codes it returns besides those above
    "solve": (3, 4, 5, 6, 10),
    "sweep": (3, 4, 5, 6, 10),
    "compare-with-ngspice": (3, 4, 5, 6, 8, 9, 10),
    "train": (3, 7, 10),
    "evaluate": (3, 7, 8),
    "export": (3, 7),
    "plot": (10,),
    "gdu": (3, 7, 10),
    "serve": (),
    "synth relu": (6, 10),
    "synth pwl": (6, 10),
}
"""The exit codes each command can return (its ``--help`` lists them), besides
:data:`ANY_COMMAND_EXIT_CODES`."""


def exit_codes_of(command: str) -> dict[int, str]:
    """The exit codes ``command`` can return (``"solve"``, ``"synth relu"``; a group such as
    ``"synth"``: those of its commands), each with its meaning, in increasing order;
    ``KeyError`` for a command not in :data:`COMMAND_EXIT_CODES`."""
    own = [codes for name, codes in COMMAND_EXIT_CODES.items() if name == command or name.startswith(command + " ")]
    if not own:
        raise KeyError(command)
    return {code: EXIT_CODES[code] for code in sorted(set(ANY_COMMAND_EXIT_CODES).union(*own))}
