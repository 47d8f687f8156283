"""``.options`` and ``.temp``: what changes a DC answer is applied, the rest accepted.

Applied: ``temp`` (C; ``.temp`` wins over ``.options temp``, as in ngspice), ``tnom`` (C),
``gmin`` (S across each junction) and ``rshunt`` (a resistor from every node to ground).
Accepted silently: the tolerances and iteration limits that only decide how closely and
how ngspice converges, and options of other analyses (:data:`NO_DC_EFFECT`). Any other
option is reported in a warning and ignored. A temperature at or below absolute zero
(-273.15 C) is a located error (:func:`check_temperature`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..circuit import CELSIUS, DEFAULT_GMIN, NOMINAL_TEMPERATURE
from .expressions import Value
from .statements import OptionsStmt

ABSOLUTE_ZERO_HINT = "give a temperature above absolute zero, -273.15 C (SPICE temperatures are in degrees Celsius)"
NO_DC_EFFECT = frozenset("""
reltol abstol vntol chgtol pivtol pivrel itl1 itl2 itl3 itl4 itl5 itl6 gminsteps srcsteps method trtol noacct acct
keepopinfo savecurrents numdgt post ingold klu sparse nopage noinit list nomod node opts maxord xmu trytocompact
interp warn seed norefvalue maxwarns maxstep autostop cshunt badmos3 bypass defad defas defl defw dcon rseries
maxevtiter maxopalter noopalter nosteprelax noopiter rampup gmin_fac savesnodes nodeset_fac lvltim probe
measure accurate brief echo captab nomod noecho trapratio newtol
""".split())


@dataclass(frozen=True)
class Options:
    """The DC options of a netlist."""

    temperature: float = NOMINAL_TEMPERATURE  # K
    tnom: float = NOMINAL_TEMPERATURE  # K
    gmin: float = DEFAULT_GMIN  # S
    rshunt: float | None = None  # ohm from every node to ground, or None


def read_options(statements: list[OptionsStmt], evaluate: Callable[[OptionsStmt, Value, str], float],
                 warnings: list[str]) -> Options:
    """The :class:`Options` that ``statements`` set (``evaluate(stmt, value, key)``: a value's number)."""
    found: dict[str, float] = {}
    dot_temp = None
    for stmt in statements:
        for key, value, column in stmt.options:
            where = stmt.line.location(column)
            if key == ".temp":
                dot_temp = check_temperature(evaluate(stmt, value, ".temp"), stmt, column, "'.temp'")
            elif key in ("temp", "tnom", "gmin", "rshunt"):
                if value is None or isinstance(value, str):
                    raise stmt.line.error(column, f"option '{key}' needs a number", f"write: .options {key}=value")
                found[key] = evaluate(stmt, value, key)
                if key in ("temp", "tnom"):
                    check_temperature(found[key], stmt, column, f"option '{key}'")
            elif key not in NO_DC_EFFECT:
                warnings.append(f"{where}: warning: option '{key}' is not known to resim and was ignored")
    temperature = dot_temp if dot_temp is not None else found.get("temp")
    return Options(
        temperature=NOMINAL_TEMPERATURE if temperature is None else temperature + CELSIUS,
        tnom=found["tnom"] + CELSIUS if "tnom" in found else NOMINAL_TEMPERATURE,
        gmin=found.get("gmin", DEFAULT_GMIN),
        rshunt=found.get("rshunt"),
    )


def above_absolute_zero(celsius: float) -> bool:
    """Whether ``celsius`` (C) is a temperature: above -273.15 C, 0 K."""
    return celsius + CELSIUS > 0.0


def below_absolute_zero(what: str, celsius: float) -> str:
    """The message for a temperature ``what`` of ``celsius`` C at or below absolute zero (its
    hint: :data:`ABSOLUTE_ZERO_HINT`); the temperature laws divide by and take logarithms of
    ``T`` in K."""
    return f"{what}: {celsius:g} C is at or below absolute zero (-273.15 C)"


def check_temperature(celsius: float, stmt: OptionsStmt, column: int, what: str) -> float:
    """``celsius``, or a :class:`~resim.errors.NetlistError` at ``column`` of ``stmt`` when it is at or
    below absolute zero (:func:`below_absolute_zero`)."""
    if not above_absolute_zero(celsius):
        raise stmt.line.error(column, below_absolute_zero(what, celsius), ABSOLUTE_ZERO_HINT)
    return celsius
