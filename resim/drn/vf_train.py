"""The epoch loop of ``resim train`` for ``[model] kind = "drn-vf"``: vector-field EP
(:mod:`resim.drn.vf`) with the batches, learning rates, decay, momentum, metrics,
checkpoints and resume of a DRN run (:mod:`resim.drn.runs`).

Each batch: the free phase (``[training] sweeps`` sweeps in the free order, from the last
batch's state), the two nudged phases of the rule from the free state (in the nudged
order), vector-field EP's estimate, and ``m = mu m + g``, ``theta -= lr decay^epoch m``,
conductances clipped at 0. The free outputs give the epoch's train error and cost; the
test error is measured after each epoch as ``[training] eval_sweeps`` says (0: at the
fixed point; K: after K sweeps from zero states). numpy only, the arrays of
``[training] dtype``.
"""

from __future__ import annotations

import os
import time

import numpy as np

from . import vf
from .config import Config
from .data import Dataset
from .runs import BatchDisplay, Clock, EpochImages, Progress, end_epoch, model_arrays, save_npz, start_run


def orders(layer_order: str) -> tuple[str, str]:
    """The free and nudged phases' sweep orders of ``[training] layer_order``."""
    return ("forward", "backward") if layer_order == "forward-backward" else ("odd-even", "odd-even")


def train_vf(config: Config, data: Dataset, out: str, resume: bool, progress: Progress | None,
             clock: Clock) -> tuple[vf.VFNet, list[dict]]:
    """Train (or resume) the configured drn-vf on ``data`` into the run folder ``out``;
    returns it and the metrics rows (see the module docstring)."""
    m, t = config["model"], config["training"]
    dtype = np.float32 if t["dtype"] == "float32" else np.float64
    net, mom_W, mom_b, first, rows = start_run(
        config, out, resume, lambda rng: vf.VFNet.init(m["layers"], m["input_gain"], rng, m["symmetry"], dtype),
        progress)
    lr_w = np.array(t["learning_rates"])
    lr_b = np.array(t["bias_learning_rates"] or t["learning_rates"])
    y_all = np.eye(net.sizes[-1], dtype=dtype)[data.train_y]
    bs, free, nudged = t["batch_size"], *orders(t["layer_order"])
    for epoch in range(first, t["epochs"]):
        t0 = time.perf_counter()
        decay = t["lr_decay"] ** epoch
        images = EpochImages(data, t["seed"], epoch, config["data"]["flip"])
        order = images.order
        outs = np.empty((len(order), net.sizes[-1]), dtype)
        display = BatchDisplay(progress, epoch, data.train_y[order], t0)
        warm = None
        for a in range(0, len(order), bs):
            clock.tick()
            idx = order[a:a + bs]
            x, y = images[a:a + bs].astype(dtype), y_all[idx]
            V = vf.start(net, x)
            if warm is not None and len(warm[0]) == len(idx):
                V = [V[0], *warm]
            clock.tock("data")
            drive = V[0] @ net.F[0]  # the input currents, the same in the batch's three phases
            V0 = vf.relax(net, V, t["sweeps"], order=free, drive=drive)
            outs[a:a + len(idx)] = V0[-1]
            Va, Vb, scale = vf.phases(net, V0, y, t["algorithm"], t["nudging"], t["sweeps"], nudged, drive)
            clock.tock("relax")
            vf.step(net, Va, Vb, scale, lr_w * decay, lr_b * decay, t["momentum"], mom_W, mom_b)
            clock.tock("update")
            warm = V0[1:]
            display(outs, a + len(idx))
        seconds = time.perf_counter() - t0
        clock.tick()
        test_error = float("nan")
        if len(data.test_x):
            test_error = float(np.mean(vf.predict(net, data.test_x, t["eval_sweeps"], free) != data.test_y))
        clock.tock("evaluate")
        end_epoch(out, config, net, mom_W, mom_b, rows, outs, data.train_y[order], y_all[order], test_error, seconds,
                  clock, progress)
    save_npz(os.path.join(out, "model.npz"), **model_arrays(net, config))
    return net, rows
