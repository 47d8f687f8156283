"""resim: a simulator and trainer for nonlinear resistive networks.

    >>> import resim
    >>> circuit = resim.load_netlist("netlists/divider.cir")   # or the netlist text
    >>> result = resim.solve(circuit)
    >>> result.voltage("out"), result.current("R1"), result.certificate.kcl

Heavy modules (numpy, scipy, lark) are imported on first use, so ``resim --help`` and
small solves start fast.
"""

from __future__ import annotations

from .errors import ConvergenceError, NetlistError, NoSolutionError, ResimError, TopologyError

__version__ = "0.1.0"
__all__ = [
    "load_netlist",
    "solve",
    "ResimError",
    "NetlistError",
    "TopologyError",
    "NoSolutionError",
    "ConvergenceError",
]


def __getattr__(name: str):
    if name in ("load_netlist", "solve"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'resim' has no attribute {name!r}")
