"""SPICE numbers, read the way ngspice reads them.

A number is a decimal mantissa, an optional exponent, and an optional scale suffix;
any letters after the suffix are ignored (``10kOhm`` is ``1e4``)::

    T=1e12  G=1e9  Meg=1e6  K=1e3  mil=25.4e-6  m=1e-3  u=1e-6  n=1e-9  p=1e-12  f=1e-15

Where ngspice 39 surprises, we follow it and warn:

* suffixes are case-insensitive, so ``1M`` is one *milli*, not mega;
* ngspice has no atto suffix: ``1a`` is read as ``1`` (the ``a`` is an ignored letter).

A number too large for a 64-bit float (``1e400``, ``1e308k``) is refused
(:class:`NumberRangeError`) rather than read as infinity.
"""

from __future__ import annotations

import math
import re

from ..errors import printable

_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([A-Za-z][A-Za-z0-9]*)?")

# The hint for every refused non-finite value (numbers, expressions, element values).
FINITE_HINT = "values must be finite, at most 1.8e308 in magnitude; for an open circuit, leave the element out"


class NumberRangeError(ValueError):
    """A number token whose value is beyond the range of a 64-bit float."""


_SCALE = {"t": 1e12, "g": 1e9, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}


def split_number(token: str) -> tuple[str, str] | None:
    """``(mantissa_and_exponent, letters)`` of a SPICE number token, or None if it is not one."""
    m = _NUMBER.fullmatch(token)
    return (m.group(1), m.group(2) or "") if m else None


def scale_of(letters: str) -> float:
    """The multiplier named by the letters after a number (1.0 when they name none)."""
    low = letters.lower()
    if low.startswith("meg"):
        return 1e6
    if low.startswith("mil"):
        return 25.4e-6
    return _SCALE.get(low[:1], 1.0)


def parse_number(token: str) -> tuple[float, str | None]:
    """The value of a SPICE number token and a warning (or None) when ngspice's reading surprises.

    Raises ValueError when ``token`` is not a number, :class:`NumberRangeError` (a
    ValueError) when its value overflows.

    >>> parse_number("10kOhm")[0]
    10000.0
    >>> parse_number("1M")
    (0.001, "'1M' means 1 milli (1e-3) as in ngspice; write '1Meg' for 1e6")
    """
    parts = split_number(token)
    if parts is None:
        raise ValueError(f"not a number: {token!r}")
    mantissa, letters = parts
    value = float(mantissa) * scale_of(letters)
    if not math.isfinite(value):
        raise NumberRangeError(f"number '{printable(token, 40)}' is out of range (beyond 1.8e308)")
    if not letters:
        return value, None
    warning = None
    if letters[0] in "aA":
        warning = f"'{token}' is read as {mantissa} as ngspice 39 reads it (it has no atto suffix); write {mantissa}e-18 for atto"
    elif letters[0] == "M" and not letters.lower().startswith(("meg", "mil")):
        warning = f"'{token}' means {mantissa} milli ({mantissa}e-3) as in ngspice; write '{mantissa}Meg' for {mantissa}e6"
    elif any(c.isdigit() for c in letters):  # RKM notation (2k2 for 2.2k) is not ngspice 39's
        warning = (f"'{token}' is read as {value:g} as ngspice 39 reads it (the digits after its letters are "
                   f"ignored: no RKM notation); write {mantissa}.{''.join(c for c in letters if c.isdigit())}"
                   f"{letters.rstrip('0123456789')} if you mean that")
    return value, warning
