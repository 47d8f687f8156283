"""What resim's solvers can be told: one frozen :class:`SolverOptions`, made once (by the
``resim solve`` options, or from :func:`resim.api.solve`'s keywords) and read by the exact
solver (:func:`~resim.solvers.exact.solve_exact`) and by coordinate descent
(:func:`~resim.solvers.cd.solve.solve_cd`, :func:`~resim.solvers.cd.kernel.relax`,
:func:`~resim.solvers.cd.batch.solve_batch`).

**Precision.** Coordinate descent sweeps in float64 or float32 (``precision``); everything
that depends on it follows from that one field:

* ``dtype``: the arrays the sweeps run in;
* ``certificate_rtol``: every answer is certified in float64
  (:mod:`resim.solvers.certificate`), its largest KCL residual and constraint violation
  at most ``rtol`` times the circuit's current and voltage scales. That is 1e-8 for the
  exact solver and float64 sweeps; float32 sweeps are certified at their own precision,
  1e-5 (float32's eps is 1.2e-7; a node's residual sums a few rounded currents);
* ``cd_method``: the method a certified coordinate-descent answer reports, ``"cd"`` or
  ``"cd-float32"``.

The stopping rule does not depend on the precision: the sweeps stop when the estimated
distance to the solution is below ``tol (1 + max|E|)`` volts (``tol`` 1e-13 unless given;
in float32 that is met when a sweep no longer changes the coordinates).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from ..errors import ResimError

Precision = Literal["float64", "float32"]
PRECISIONS: tuple[str, ...] = ("float64", "float32")

CERTIFICATE_RTOL: dict[str, float] = {"float64": 1e-8, "float32": 1e-5}
"""The certificate tolerance of answers computed at each precision (see the module's docstring)."""
FLOAT32_RTOL = CERTIFICATE_RTOL["float32"]
DEFAULT_TOL = 1e-13  # the sweeps' stop: estimated distance to the solution / (1 + max|E|), in volts
DEFAULT_MAX_SWEEPS = 100_000

CD_ONLY = ("precision", "sweeps", "max_sweeps", "tol", "omega", "newton_iterations", "cluster_rounds")
"""The options only coordinate descent takes (given with ``method="auto"``, they choose it)."""
EXACT_ONLY = ("max_newton", "max_active_set")
"""The options only the exact solver takes (``rtol`` is both solvers')."""


class SolverOptionsError(ResimError):
    """Solver options that cannot be used: an unknown name or precision, a value out of
    range, or an option the chosen solver does not take."""

    exit_code = 2


@dataclass(frozen=True, kw_only=True)
class SolverOptions:
    """The options of the exact solver and of coordinate descent (the module's docstring
    says what follows from ``precision``). ``None`` means the default stated."""

    precision: Precision = "float64"  # coordinate descent's sweeps: "float64" or "float32"
    sweeps: int | None = None  # cd: exactly this many sweeps (the paper's mode); no tolerance stop
    max_sweeps: int | None = None  # cd: the sweep limit (DEFAULT_MAX_SWEEPS)
    tol: float | None = None  # cd: the stop, relative to 1 + max|E| (DEFAULT_TOL)
    omega: float | None = None  # cd: over-relaxation on coordinates without nonlinear terms; None: adaptive
    newton_iterations: int = 60  # cd: Newton steps of one coordinate's 1-D problem
    cluster_rounds: int = 50  # cd: block moves of diode-joined clusters before the exact fallback
    max_newton: int = 200  # exact: Newton iterations per active set
    max_active_set: int = 1000  # exact: changes of the diodes' active set
    rtol: float | None = None  # the certificate tolerance (the precision's, CERTIFICATE_RTOL)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise SolverOptionsError(f"precision {self.precision!r}: choose {' or '.join(PRECISIONS)}")
        for name in ("sweeps", "max_sweeps"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, numbers.Integral) and value >= 1):
                raise SolverOptionsError(f"{name} {value!r}: expected a whole number >= 1")
        for name in ("tol", "rtol"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0):
                raise SolverOptionsError(f"{name} {value!r}: expected a number > 0")

    @property
    def dtype(self) -> Any:
        """The numpy dtype of coordinate descent's sweeps."""
        import numpy as np

        return np.dtype(self.precision)

    @property
    def certificate_rtol(self) -> float:
        """The tolerance answers are certified at: ``rtol`` if given, else the precision's."""
        return self.rtol if self.rtol is not None else CERTIFICATE_RTOL[self.precision]

    @property
    def cd_method(self) -> str:
        """The method a certified coordinate-descent answer reports: "cd" or "cd-float32"."""
        return "cd" if self.precision == "float64" else f"cd-{self.precision}"

    @property
    def stop_tol(self) -> float:
        """The sweeps' tolerance stop: ``tol`` if given, else :data:`DEFAULT_TOL`."""
        return self.tol if self.tol is not None else DEFAULT_TOL

    @property
    def sweep_limit(self) -> int:
        """The most sweeps one relaxation runs: ``sweeps`` when fixed, else ``max_sweeps``
        (default :data:`DEFAULT_MAX_SWEEPS`)."""
        if self.sweeps is not None:
            return self.sweeps
        return self.max_sweeps if self.max_sweeps is not None else DEFAULT_MAX_SWEEPS

    def given(self) -> tuple[str, ...]:
        """The names of the options set to other than their defaults, in field order."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) != f.default)

    def check_for(self, method: str) -> None:
        """Refuse options that the solver ``method`` ("exact" or "cd") does not take."""
        other, solver = (CD_ONLY, "cd") if method == "exact" else (EXACT_ONLY, "exact")
        wrong = [name for name in self.given() if name in other]
        if wrong:
            raise SolverOptionsError(f"{', '.join(wrong)}: {'options' if len(wrong) > 1 else 'an option'} of "
                                     f"method {solver}, not {method}")

    @classmethod
    def from_keywords(cls, base: SolverOptions | None = None, **keywords: Any) -> SolverOptions:
        """``base`` (default: every default) with ``keywords`` set, e.g.
        ``from_keywords(sweeps=40)``: :func:`resim.api.solve`'s keyword options.
        ``dtype`` (numpy's float32 or float64, the keyword of earlier releases) gives the
        precision of that name."""
        if "dtype" in keywords:
            if "precision" in keywords:
                raise SolverOptionsError("give precision or dtype, not both")
            keywords["precision"] = _precision_of(keywords.pop("dtype"))
        unknown = sorted(set(keywords) - {f.name for f in fields(cls)})
        if unknown:
            raise SolverOptionsError(f"unknown solver option{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
                                     hint=f"the options: {', '.join(f.name for f in fields(cls))}")
        return replace(base, **keywords) if base is not None else cls(**keywords)


def _precision_of(dtype: Any) -> str:
    """The precision that a numpy float type (or its name) names."""
    import numpy as np

    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = repr(dtype)
    if name not in PRECISIONS:
        raise SolverOptionsError(f"dtype {name}: choose numpy's float64 or float32")
    return name
