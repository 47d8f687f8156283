"""What the coordinate-descent solver can be told (:class:`CDOptions`), and the certificate
tolerance its answers are judged at."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exact import ExactOptions

FLOAT32_RTOL = 1e-5  # certificate tolerance for float32 sweeps (float32 eps is 1.2e-7)


@dataclass(frozen=True)
class CDOptions:
    """Options of :func:`~resim.solvers.cd.solve.solve_cd`, :func:`~resim.solvers.cd.kernel.relax`
    and :func:`~resim.solvers.cd.batch.solve_batch`."""

    tol: float = 1e-13  # stop when the estimated distance to the solution is below tol * (1 + max |E|)
    max_sweeps: int = 100_000
    sweeps: int | None = None  # fixed number of sweeps (the paper's mode); no tolerance stop
    # over-relaxation on coordinates without nonlinear terms; None: adaptive (see relax)
    omega: float | None = None
    dtype: type = np.float64
    newton_iterations: int = 60
    cluster_rounds: int = 50  # block moves of diode-joined clusters before the exact fallback


def certificate_rtol(opts: CDOptions) -> float:
    """The certificate tolerance of answers swept at ``opts.dtype``: the exact solver's for
    float64, :data:`FLOAT32_RTOL` for float32 (sweeps certified at their own precision)."""
    return ExactOptions().rtol if np.dtype(opts.dtype).itemsize >= 8 else FLOAT32_RTOL
