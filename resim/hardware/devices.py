"""One instance of a network's devices under a hardware profile (pure functions of arrays).

A trained DRN is unit-free. Its circuit is positively homogeneous (docs/hardware.md): every
voltage scales with the sources, and conductances and currents can be scaled together
without changing a voltage. So the network maps onto hardware through two scales:

    V = V0 v,    G = G0 g,    I = V0 G0 b,

where ``V0`` is the profile's ``volts_per_unit`` and ``G0`` its ``siemens_per_unit``. A device
is then *programmed* (:func:`programmed`): its conductance clipped into the window
``[g_min, g_max]`` (a weight of 0 becomes ``g_min``, the off state; with ``g_min = 0``, or
``zero_is_open`` for discrete parts, it is no device at all) and rounded to a level: one of
``2**bits`` evenly spaced from ``g_min`` to ``g_max``, or the nearest resistor of a series
(E96: 96 values a decade, nearest in log). One *draw* of the devices (:func:`drawn`) multiplies each programmed conductance by
two log-normal factors, ``exp(sigma_v z1) exp(sigma_p z2)``: the device's own deviation
(``variation``) and the write's (``programming_noise``), from a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..drn.network import DRN
from .profile import Diode, Profile

# IEC 60063 preferred values, mantissas of one decade (E48 and E96 are 3-digit; E12, E24 2-digit)
_E96 = (100, 102, 105, 107, 110, 113, 115, 118, 121, 124, 127, 130, 133, 137, 140, 143, 147, 150, 154, 158, 162,
        165, 169, 174, 178, 182, 187, 191, 196, 200, 205, 210, 215, 221, 226, 232, 237, 243, 249, 255, 261, 267,
        274, 280, 287, 294, 301, 309, 316, 324, 332, 340, 348, 357, 365, 374, 383, 392, 402, 412, 422, 432, 442,
        453, 464, 475, 487, 499, 511, 523, 536, 549, 562, 576, 590, 604, 619, 634, 649, 665, 681, 698, 715, 732,
        750, 768, 787, 806, 825, 845, 866, 887, 909, 931, 953, 976)
_E24 = (10, 11, 12, 13, 15, 16, 18, 20, 22, 24, 27, 30, 33, 36, 39, 43, 47, 51, 56, 62, 68, 75, 82, 91)
SERIES_MANTISSAS = {
    "E96": np.array(_E96) / 100.0,
    "E48": np.array(_E96[::2]) / 100.0,
    "E24": np.array(_E24) / 10.0,
    "E12": np.array(_E24[::2]) / 10.0,
}


@dataclass(frozen=True)
class PhysicalNetwork:
    """A DRN as devices: conductances ``G`` in siemens (``G[l][i, j]`` between node i of
    layer l and node j of layer l + 1; 0: no device), bias currents in amperes, the input
    sources' volts per unit of image (``volts_per_input``: gain V0), the diode, and the
    crossbar wire resistance per segment (0: ideal wires), the largest crossbar array
    (``arrays``: rows, columns; 0: a layer's whole size), and conductances between the nodes
    of one layer (``lateral[k]`` [n_k, n_k], symmetric, or None: none), which a crossbar
    reduced to its ports has (:func:`~.crossbar.reduced`)."""

    G: list[np.ndarray]
    bias: list[np.ndarray]
    volts_per_input: float
    diode: Diode
    wire_ohms: float = 0.0
    arrays: tuple[int, int] = (0, 0)
    lateral: tuple[np.ndarray | None, ...] | None = None

    @property
    def sizes(self) -> list[int]:
        return [self.G[0].shape[0]] + [g.shape[1] for g in self.G]

    def array_shape(self, m: int, n: int) -> tuple[int, int]:
        """The rows and columns of the arrays a layer of fan-in ``m`` and fan-out ``n`` is
        laid out on (the last ones of a row or column of arrays may be smaller)."""
        rows, columns = self.arrays
        return min(rows or m, m), min(columns or n, n)

    def input_volts(self, images: np.ndarray) -> np.ndarray:
        """The input sources' voltages for ``images`` ([images, pixels] in [0, 1], or one
        image): ``+gain x V0``, then ``-gain x V0``, a row per image (one image: a vector)."""
        x = np.asarray(images, float)
        rows = x.reshape(-1 if x.ndim > 1 else 1, x.shape[-1] if x.ndim > 1 else x.size)
        volts = self.volts_per_input * np.concatenate([rows, -rows], axis=1)
        return volts if x.ndim > 1 else volts[0]


def series_nearest(resistance: np.ndarray, series: str) -> np.ndarray:
    """Each resistance (ohms, > 0) rounded to the nearest value of ``series`` (nearest in log)."""
    mantissas = np.log10(np.r_[SERIES_MANTISSAS[series], 10.0])  # the next decade's first value too
    logr = np.log10(resistance)
    decade = np.floor(logr)
    frac = logr - decade
    k = np.clip(np.searchsorted(mantissas, frac), 1, len(mantissas) - 1)
    lower = frac - mantissas[k - 1] <= mantissas[k] - frac
    return 10.0 ** (decade + np.where(lower, mantissas[k - 1], mantissas[k]))


CELLS_PER_DECADE = 2048  # the lookup grid of series_conductances: far finer than a series' steps (E96: 1/96 decade)


def series_conductances(g: np.ndarray, series: str, siemens_per_unit: float = 1.0) -> np.ndarray:
    """Each conductance ``g > 0`` (in units of ``siemens_per_unit``) as the nearest resistor of
    ``series`` (nearest in log, as :func:`series_nearest`), in ``g``'s dtype; 0 stays 0.

    A table lookup instead of a search, since hardware-aware training programs 1.6 M
    conductances a batch: the series' conductances ``levels`` over the decades ``g`` spans,
    their boundaries (midpoints in log), and a grid of ``CELLS_PER_DECADE`` cells a decade
    giving, for each cell, the level just below it. A cell is far narrower than a step of
    the series, so a value is at most two boundaries above its cell's level: two
    comparisons finish the rounding."""
    positive = g > 0
    if not positive.any():
        return g.copy()
    gmin, gmax = float(g[positive].min()), float(g.max())
    d0 = int(np.floor(np.log10(1.0 / (gmax * siemens_per_unit)))) - 1
    d1 = int(np.ceil(np.log10(1.0 / (gmin * siemens_per_unit)))) + 1
    ohms = (SERIES_MANTISSAS[series][None, :] * 10.0 ** np.arange(d0, d1 + 1)[:, None]).ravel()
    levels = (1.0 / (ohms * siemens_per_unit))[::-1]  # ascending
    log_bounds = 0.5 * (np.log10(levels[:-1]) + np.log10(levels[1:]))
    x0 = float(np.log10(levels[0]))
    cells = int(np.ceil((np.log10(levels[-1]) - x0) * CELLS_PER_DECADE)) + 2
    starts = x0 + (np.arange(cells) - 1.0) / CELLS_PER_DECADE  # a cell of margin for the log's rounding
    below = np.searchsorted(log_bounds, starts, side="right").astype(np.int32)
    dt = g.dtype
    bounds = np.append(10.0 ** log_bounds, np.inf).astype(dt)
    x = np.log10(np.where(positive, g, levels[0]).astype(dt))
    x -= x0
    x *= CELLS_PER_DECADE
    np.clip(x, 0, cells - 1, out=x)
    k = below.take(x.astype(np.int32))
    k += g >= bounds.take(k)
    k += g >= bounds.take(k)
    out = levels.astype(dt).take(k)
    out[~positive] = 0.0
    return out


def programmed(G: np.ndarray, profile: Profile, siemens_per_unit: float = 1.0) -> np.ndarray:
    """Conductances as the devices are programmed: clipped into the window, then rounded to
    a level (``bits``) or to the series (``series``); 0 stays 0 where ``g_min`` is 0 or
    ``zero_is_open`` (no device). ``G`` is in units of ``siemens_per_unit`` (1: siemens;
    hardware-aware training passes network units), and so is the result, a new array of
    ``G``'s floating dtype (float32 stays float32: DRN-1H's 1.6 M conductances, once a batch)."""
    p = profile
    G = np.asarray(G)
    if not np.issubdtype(G.dtype, np.floating):
        G = G.astype(float)
    low, high = p.g_min / siemens_per_unit, p.g_max / siemens_per_unit
    out = np.clip(G, low, high)
    if p.bits:
        step = (high - low) / (2 ** p.bits - 1)
        out -= low
        out *= 1.0 / step
        np.rint(out, out=out)
        out *= step
        out += low
    elif p.series:
        out = series_conductances(out, p.series, siemens_per_unit)
        np.clip(out, low, high, out=out)
    if p.zero_is_open:
        out[G == 0] = 0.0
    return out


def drawn(G: np.ndarray, profile: Profile, rng: np.random.Generator) -> np.ndarray:
    """One instance of the devices programmed to ``G`` (siemens): each conductance times
    ``exp(variation z1) exp(programming_noise z2)``, z standard normal. A new array."""
    out = np.array(G, float)
    for sigma in (profile.variation, profile.programming_noise):
        if sigma:
            out *= np.exp(sigma * rng.standard_normal(out.shape))
    return out


def physical(net: DRN, profile: Profile, rng: np.random.Generator | None = None) -> PhysicalNetwork:
    """``net`` as one draw of ``profile``'s devices (``rng``: the draw's generator; needed
    only when the profile has variation or noise)."""
    v0, g0 = profile.volts_per_unit, profile.siemens_per_unit
    random = profile.variation or profile.programming_noise
    if random and rng is None:
        raise ValueError("a profile with variation or noise needs a random generator (a seed)")
    G = []
    for w in net.W:
        g = programmed(np.asarray(net.engine.numpy(w), float) * g0, profile)
        G.append(drawn(g, profile, rng) if random else g)
    bias = [np.asarray(net.engine.numpy(b), float) * (v0 * g0) for b in net.b]
    return PhysicalNetwork(G, bias, net.gain * v0, profile.diode, profile.wire_ohms,
                           (profile.array_rows, profile.array_columns))
