"""Hardware-aware training: the relaxation runs on the network as the profile's devices.

``[training] hardware = "PROFILE"`` (docs/hardware.md, docs/train.md). The trainer keeps its
float32 conductances (the *shadow* weights) and, for every batch, relaxes the network that
the devices would be (:meth:`InTheLoop.forward`):

* each conductance programmed as :func:`~.devices.programmed` does (the window, then the
  levels), in siemens, and brought back to network units;
* times the run's own device variation (drawn once, from the run's seed: the same devices
  all run long) and, if the profile has programming noise, a new write noise each batch;
* the hidden diodes conducting from the PWL threshold ``vfwd / V0`` instead of 0, with
  the on-conductance ``1 / (ron G0)`` (:meth:`resim.drn.network.Relaxer._soft_bounds`). A
  Shockley diode enters as its secant (:func:`shockley_secant`): the PWL diode through
  its law at the currents of :data:`SECANT_UNITS`.

The learning rule's update, computed from those states, goes to the shadow weights
(straight-through: the rounding passes the update on unchanged), which are then kept
inside the window. What stays local and what does not: the update of a device is still
1/2 (dv)^2 across it, measured on the hardware's own states; the shadow weight it is added
to is a number the hardware does not hold (a device holds its level), so a chip would
need a per-device accumulator, or a probabilistic write, to do the same.

Not modelled in the relaxation (refused by the configuration check): crossbar wires. A
network with them is evaluated (``resim evaluate --hardware``), not trained with.
"""

from __future__ import annotations

import math

import numpy as np

from ..circuit import THERMAL_VOLTAGE
from ..drn.network import DRN
from .devices import programmed
from .profile import Diode, Profile


def not_trainable(profile: Profile) -> str | None:
    """Why the relaxation cannot run as ``profile``'s hardware (None: it can)."""
    if profile.wire_ohms:
        return "crossbar wires are not in the trainer's relaxation"
    return None


#: The currents, in units of ``V0 G0`` amperes, between which training draws a Shockley diode's
#: PWL secant: the decade where DRN-1H's conducting diodes work (the ideal-trained network of
#: the follow-up setting: 33 to 294 units from the 10th to the 90th percentile, median 119).
#: At the bottom of the law instead (1 to 10 units) the secant's on-conductance is 30 times
#: too weak, and the relaxation a poor rectifier.
SECANT_UNITS = (30.0, 300.0)


def shockley_secant(diode: Diode, i1: float, i2: float) -> tuple[float, float]:
    r"""The PWL diode ``(vfwd, ron)`` through a Shockley diode's law at the currents ``i1 <
    i2`` (amperes): with the law's voltage at a current

    .. math::

        V(I) = N V_t \ln(1 + I / IS) + I\,RS    \qquad (V_t \text{ at } 27\,^\circ\mathrm{C}),

    ``ron = (V(i2) - V(i1)) / (i2 - i1)`` and ``vfwd = V(i1) - i1 ron``. ``V`` is concave in
    ``I``: between the two currents the line is below the law, outside them above it."""
    def volts(i: float) -> float:
        return diode.n * THERMAL_VOLTAGE * math.log1p(i / diode.is_) + i * diode.rs

    ron = (volts(i2) - volts(i1)) / (i2 - i1)
    return volts(i1) - i1 * ron, ron


class InTheLoop:
    """The forward network of hardware-aware training for one run (see the module docstring)."""

    def __init__(self, profile: Profile, net: DRN, seed: int) -> None:
        self.profile = profile
        rng = np.random.default_rng([seed, 2718])  # the run's devices: their own stream, not the data's
        self.devices = [np.exp(profile.variation * rng.standard_normal(w.shape)).astype(np.float32)
                        if profile.variation else None for w in net.W]
        self.seed = seed
        self.noise = np.random.default_rng([seed, 3141, 0])  # the writes (each epoch its own stream: see start_epoch)
        g0, v0 = profile.siemens_per_unit, profile.volts_per_unit
        vfwd, ron = profile.diode.vfwd, profile.diode.ron
        if profile.diode.model == "shockley":  # its secant where the network's diodes work
            vfwd, ron = shockley_secant(profile.diode, *(i * v0 * g0 for i in SECANT_UNITS))
        elif profile.diode.model != "pwl":
            vfwd, ron = 0.0, 0.0
        self.shift = vfwd / v0
        self.diode_g = 1.0 / (ron * g0) if ron else math.inf
        self.window = (profile.g_min / g0, profile.g_max / g0)  # in network units

    def start_epoch(self, epoch: int) -> None:
        """The write noise of epoch ``epoch``: its own seeded stream, so that a run resumed
        at an epoch's start draws what the uninterrupted run draws."""
        self.noise = np.random.default_rng([self.seed, 3141, epoch])

    def forward(self, net: DRN, write_noise: bool = True) -> DRN:
        """The network the devices are after programming ``net``'s conductances (a new DRN
        on ``net``'s engine, sharing its biases).

        Programmed in network units and in the arrays' own dtype (:func:`~.devices.programmed`):
        a few passes over each matrix, once a batch."""
        p, e = self.profile, net.engine
        W = []
        for l, w in enumerate(net.W):
            g = programmed(e.numpy(w), p, p.siemens_per_unit)  # in network units, in W's dtype
            if self.devices[l] is not None:
                g *= self.devices[l]
            if write_noise and p.programming_noise:
                z = self.noise.standard_normal(g.shape, dtype=np.float32)
                z *= p.programming_noise
                g *= np.exp(z, out=z)
            W.append(e.matrix(g))
        return DRN(W, net.b, net.gain, e, self.shift, self.diode_g)

    def keep_in_window(self, net: DRN) -> None:
        """Clip the shadow conductances into the window, in place (0 stays 0 where a
        weight of 0 is no device)."""
        low, high = self.window
        for w in net.W:
            if self.profile.zero_is_open:
                np.minimum(w, high, out=w)
            else:
                np.clip(w, low, high, out=w)
