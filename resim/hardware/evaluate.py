"""The test error of a trained network built as hardware, over draws of its devices.

For each draw (:func:`~.devices.physical`, seed ``[seed, draw]``) the physical netlist is
written once (:mod:`.netlist`, every input source at a pixel of 1), read and compiled by
resim as any netlist is. Then each image only changes the input sources, so the images' operating points are
solved in batches by resim's batched coordinate descent (:func:`resim.solvers.cd.solve_batch`:
one relaxation over [images, coordinates] arrays, each image's answer then checked against
the KKT conditions). An image whose answer is not certified is solved again alone, by
:func:`resim.solve` (which raises rather than answer wrongly). Not the trainer's relaxation:
the circuit as written, with the profile's diodes and wires. Crossbar wires are first
eliminated exactly (:func:`~.crossbar.reduced`): the arrays' 2 m n crossings would make each
image a stiff circuit of millions of nodes, while their equivalent between the ports has
the node voltages of the full netlist and no more nodes than the network without wires.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..drn.network import DRN
from ..sweep import BATCH_VALUES  # a batch's [images, coordinates] arrays: as a sweep's
from .crossbar import reduced
from .devices import physical
from .netlist import netlist_chunks
from .profile import Profile



@dataclass
class DrawResult:
    """One draw's test error, how its images were solved, and its time."""

    draw: int
    error: float
    predictions: np.ndarray
    batched: int  # images certified in a batch
    alone: int  # images solved again one by one
    seconds: float


@dataclass
class HardwareEvaluation:
    """The draws' errors: :attr:`mean` and :attr:`std` (sample, over draws)."""

    profile: Profile
    images: int
    draws: list[DrawResult] = field(default_factory=list)

    @property
    def errors(self) -> np.ndarray:
        return np.array([d.error for d in self.draws])

    @property
    def mean(self) -> float:
        return float(self.errors.mean())

    @property
    def std(self) -> float:
        return float(self.errors.std(ddof=1)) if len(self.draws) > 1 else 0.0


def evaluate_hardware(net: DRN, profile: Profile, images: np.ndarray, labels: np.ndarray, draws: int = 5,
                      seed: int = 0, progress=None) -> HardwareEvaluation:
    """The test error of ``net`` as ``profile``'s hardware on ``images`` (pixels in [0, 1],
    [N, pixels]) against ``labels``, for ``draws`` draws of the devices (draw k from the
    generator seeded ``[seed, k]``; a profile without randomness gives the same error each
    time). ``progress(draw, done, total)`` is called after each batch."""
    out = HardwareEvaluation(profile, len(images))
    for k in range(draws):
        out.draws.append(_one_draw(net, profile, images, labels, k, np.random.default_rng([seed, k]), progress))
    return out


def _one_draw(net: DRN, profile: Profile, images: np.ndarray, labels: np.ndarray, k: int,
              rng: np.random.Generator, progress) -> DrawResult:
    from .. import api
    from ..compile import compile_circuit
    from ..solvers import cd
    from ..solvers.options import SolverOptions

    start = time.perf_counter()
    phys = reduced(physical(net, profile, rng))  # crossbar wires: their exact equivalent between the ports
    # written with every pixel at 1: a source of 0 V would be compiled as a short, which no batch could move
    template = np.ones(images.shape[1])
    circuit = api.load_netlist("".join(netlist_chunks(phys, template, f"draw {k}", diode_name="dhw")))
    cc = compile_circuit(circuit)
    n_pix = images.shape[1]
    V = circuit["v"]
    sources = np.array([V.index_of(f"vp{i}") for i in range(n_pix)] + [V.index_of(f"vn{i}") for i in range(n_pix)])
    column = np.full(len(V), -1)
    column[cc.vsources.index] = np.arange(len(cc.vsources.index))
    cols = column[sources]  # each input source's column in the compiled sources (-1: merged away, a 0 V short)
    outputs = np.array([circuit.nodes.index(f"o{j}") for j in range(phys.sizes[-1])])
    predictions = np.empty(len(images), np.int64)
    try:
        prob = cd.prepare(cc)
    except cd.CDUnsupported:
        prob = None
    batch = max(1, min(256, BATCH_VALUES // max(1, cc.n_vars)))
    batched = alone = 0
    for a in range(0, len(images), batch):
        x = images[a:a + batch]
        volts = phys.input_volts(x)
        ok = np.zeros(len(x), bool)
        if prob is not None and np.all(cols >= 0):
            E = np.repeat(cc.vsources.value[None, :], len(x), axis=0)
            E[:, cols] = volts
            I = np.repeat(cc.isources.value[None, :], len(x), axis=0)
            res = cd.solve_batch(prob, E, I, SolverOptions(max_sweeps=20_000))
            ok = res.ok
            if ok.any():
                v = np.concatenate([res.v, np.zeros((len(x), 1))], axis=1)
                at = cc.var[outputs]
                o = np.where(at >= 0, v[:, at], 0.0)
                predictions[a:a + len(x)][ok] = np.argmax(o[ok], axis=1)
        for r in np.flatnonzero(~ok).tolist():  # not certified in the batch: alone, by the full solve
            values = {("v", int(s)): float(u) for s, u in zip(sources, volts[r])}
            result = api.solve(circuit.with_element_values(values))
            predictions[a + r] = int(np.argmax([result.voltages[n] for n in outputs]))
        batched += int(ok.sum())
        alone += int((~ok).sum())
        if progress is not None:
            progress(k, min(a + batch, len(images)), len(images))
    error = float(np.mean(predictions != labels))
    return DrawResult(k, error, predictions, batched, alone, time.perf_counter() - start)


def ngspice_check(net: DRN, profile: Profile, images: np.ndarray, seed: int = 0, ngspice: str | None = None) -> dict:
    """The first draw's physical netlist for each of ``images``, solved by resim and by
    ngspice (:func:`resim.compare.compare_with_ngspice`: ideal diodes as ngspice's
    ``sidiode``, the others as written, with resim's diode states checked): the largest node
    voltage difference, in volts and relative to the largest node voltage, and whether every
    image agreed. Raises :class:`~resim.ngspice.NgspiceError` when ngspice is missing."""
    import os
    import tempfile

    from ..compare import compare_with_ngspice

    phys = physical(net, profile, np.random.default_rng([seed, 0]))
    worst, scale, agree, seconds = 0.0, 0.0, True, [0.0, 0.0]
    with tempfile.TemporaryDirectory(prefix="resim-hw-") as folder:
        for k, image in enumerate(images):
            path = os.path.join(folder, f"image{k}.cir")
            with open(path, "w") as fh:
                fh.writelines(netlist_chunks(phys, image, f"draw 0, image {k}", diode_name="dhw"))
            cmp = compare_with_ngspice(path, ngspice=ngspice, diodes="sidiode" if profile.diode.ideal else "states",
                                       as_written=False)
            worst = max(worst, cmp.max_dv)
            scale = max(scale, max((abs(r.resim) for r in cmp.rows), default=0.0))
            agree &= cmp.ok
            seconds[0] += cmp.resim_seconds
            seconds[1] += cmp.ngspice_seconds
    return {"images": len(images), "draw": 0, "max_dv_V": worst, "max_dv_relative": worst / scale if scale else 0.0,
            "agree": bool(agree), "resim_seconds": round(seconds[0], 3), "ngspice_seconds": round(seconds[1], 3)}
