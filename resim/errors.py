"""Typed errors raised by the resim library.

Library code never prints or exits: it raises one of these, and the CLI maps each class to
a message and an exit code (the table below is also in ``resim --help`` and ``docs/``).

=====  =====================  ==========================================================
code   class                  meaning
=====  =====================  ==========================================================
0      -                      success
1      (any other)            internal error: a bug in resim, please report it
2      -                      command-line usage error (unknown option, bad --set, ...)
3      NetlistError           the netlist cannot be read: syntax, unknown model, ...
4      TopologyError          the circuit is structurally ill-posed (floating nodes, ...)
5      NoSolutionError        the circuit equations have no solution
6      ConvergenceError       a solver did not converge; no answer is reported
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
        """The full message: ``file:line:col: message``, the source line with a caret, a hint."""
        head = f"{self.location}: {self.message}" if self.location else self.message
        parts = [head]
        if self.source_line is not None and self.location is not None:
            text = self.source_line.rstrip("\n").expandtabs(1)
            parts.append("  " + text)
            parts.append("  " + " " * max(self.location.column - 1, 0) + "^")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


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


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "internal error (a bug in resim)",
    2: "usage error (bad command-line option or --set)",
    3: "netlist error (syntax, undefined model/subcircuit/parameter, missing file)",
    4: "topology error (floating nodes, voltage-source loops, current source into a cut set)",
    5: "no solution (e.g. ideal diode forward-biased across a voltage source)",
    6: "solver did not converge",
    7: "dataset error (resim train/evaluate: files not found, not downloadable, checksum or format wrong)",
    8: "ngspice missing or failed (compare-with-ngspice; the tail of its output is shown)",
    9: "resim and ngspice differ beyond the tolerance (compare-with-ngspice)",
}
