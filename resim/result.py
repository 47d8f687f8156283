"""Solutions: node voltages, element currents, diode states, power, certificate, timings."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .circuit import Circuit

KCL_RELATIVE_WARN = 1e-6  # a node KCL residual above this fraction of the node's currents is warned about


@dataclass(frozen=True)
class Certificate:
    """How well a solution satisfies the circuit laws (docs/theory.md §1).

    * ``kcl``: largest KCL residual at any node (A), every element law included;
    * ``constraint``: largest violation of a source equation or diode bound (V);
    * ``complementarity``: largest ``|i_d (Vfwd - u)|`` over ideal diodes (W);
    * ``dual``: largest negative excess current through an ideal diode (A);
    * ``kcl_relative``: largest KCL residual at a node divided by the sum of ``|current|``
      of the elements meeting there (the node's own current scale, ``kcl_relative_scale``,
      A), at the node ``kcl_relative_node``; residuals below a floor relative to the
      circuit's largest current count as 0 (:data:`resim.solvers.certificate.KCL_RELATIVE_FLOOR`).
      Above :data:`KCL_RELATIVE_WARN` the currents at that node are not trustworthy (see
      :meth:`warnings`), even when ``kcl`` is small against the circuit's current scale.
    """

    kcl: float
    constraint: float
    complementarity: float
    dual: float
    current_scale: float
    voltage_scale: float
    kcl_floor: float = 0.0  # the KCL residual rounding alone can leave (A); always accepted
    kcl_relative: float = 0.0
    kcl_relative_node: str = ""
    kcl_relative_scale: float = 0.0

    def ok(self, rtol: float = 1e-8) -> bool:
        """True when every residual is small against the circuit's own scales."""
        i_tol = rtol * max(self.current_scale, 1e-15)
        v_tol = rtol * max(self.voltage_scale, 1e-12)
        return (
            self.kcl <= max(i_tol, self.kcl_floor)
            and self.dual <= i_tol
            and self.constraint <= v_tol
            and self.complementarity <= i_tol * v_tol * 1e3
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "kcl_residual_A": self.kcl,
            "constraint_violation_V": self.constraint,
            "complementarity_W": self.complementarity,
            "dual_violation_A": self.dual,
            "kcl_relative": self.kcl_relative,
        }

    def warnings(self) -> tuple[str, ...]:
        """What a user must know about this solution: a node whose KCL residual is not small
        against the currents meeting there (``kcl_relative`` > :data:`KCL_RELATIVE_WARN`)."""
        if not self.kcl_relative > KCL_RELATIVE_WARN:
            return ()
        residual = self.kcl_relative * self.kcl_relative_scale
        return (
            f"warning: node {self.kcl_relative_node}: KCL residual {residual:.3g} A against "
            f"{self.kcl_relative_scale:.3g} A of currents meeting there (relative {self.kcl_relative:.2g}): "
            "the answer at this node (its currents, maybe its voltage) is not trustworthy: its "
            "conductances differ by too many orders of magnitude for double precision; rescale the "
            "circuit, or remove the tiny resistor (replace it by a short, 0 ohm)",
        )


@dataclass(frozen=True)
class Result:
    """A DC operating point.

    ``voltages[k]`` is the voltage of ``circuit.nodes[k]`` (ground included, = 0);
    ``currents[kind]`` is aligned with ``circuit[kind].names`` (SPICE sign conventions,
    see :mod:`resim.circuit`); ``diode_states`` holds ``"on"``/``"off"`` per diode.
    """

    circuit: Circuit
    voltages: np.ndarray
    currents: dict[str, np.ndarray]
    diode_states: tuple[str, ...]
    certificate: Certificate
    power_dissipated: float
    power_delivered: float
    method: str
    iterations: int
    timings: dict[str, float] = field(default_factory=dict)
    method_reason: str = ""  # why this method ran (``--method auto`` explains its choice)

    def voltage(self, node: str) -> float:
        """Voltage of the node called ``node`` (case-insensitive; ``gnd`` is ``0``)."""
        name = node.lower()
        name = "0" if name == "gnd" else name
        try:
            return float(self.voltages[self._node_index()[name]])
        except KeyError:
            raise KeyError(f"no node called {node!r}") from None

    def current(self, element: str) -> float:
        """Current through the element called ``element`` (case-insensitive)."""
        hit = self.circuit.find_element(element)
        if hit is None:
            raise KeyError(f"no element called {element!r}")
        kind, k = hit
        return float(self.currents[kind][k])

    def node_voltages(self) -> dict[str, float]:
        """Every node but ground, by name."""
        return {n: float(v) for n, v in zip(self.circuit.nodes[1:], self.voltages[1:])}

    def _node_index(self) -> dict[str, int]:
        cache = self.__dict__.get("_nidx")
        if cache is None:
            cache = {n: k for k, n in enumerate(self.circuit.nodes)}
            object.__setattr__(self, "_nidx", cache)
        return cache
