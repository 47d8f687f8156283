"""The epoch loop of ``resim train`` for ``[model] kind = "relu-mlp"`` (docs/theory.md §5's
baseline): backpropagation (:func:`resim.drn.mlp.gradient`) and SGD with momentum, the
batches, learning rates, decay, metrics, checkpoints and resume of a DRN run
(:mod:`resim.drn.train`, whose helpers it uses)."""

from __future__ import annotations

import os
import time

import numpy as np

from .config import Config
from .data import Dataset
from .engine import Engine
from .mlp import MLP, gradient, predict, sgd_step
from .runs import BatchDisplay, Clock, EpochImages, Progress, end_epoch, model_arrays, save_npz, start_run


def train_mlp(config: Config, data: Dataset, out: str, resume: bool, progress: Progress | None,
              clock: Clock, engine: Engine) -> tuple[MLP, list[dict]]:
    """Train (or resume) the configured ReLU network on ``data`` into the run folder ``out``
    (prepared by :func:`resim.drn.train.train`); returns it and the metrics rows.

    Each batch: the forward pass, the exact gradient of the batch-mean squared error, then
    m = mu m + g, theta -= lr decay^epoch m for every weight and bias. The train error and
    cost of an epoch are those of the outputs before each batch's update; the test error
    is the arg-max's on the test images after the epoch. ``clock`` times ``data``,
    ``update`` (gradient and step), ``evaluate`` and ``write``. ``engine``: where the arrays
    live (its precision does not apply: an MLP has no relaxation)."""
    m, t = config["model"], config["training"]
    dtype = np.float32 if t["dtype"] == "float32" else np.float64
    net, mom_W, mom_b, first, rows = start_run(config, out, resume, lambda rng: MLP.init(m["layers"], rng, dtype),
                                               progress)
    if engine.backend != "numpy":
        net = net.on(engine)
        mom_W, mom_b = [engine.asarray(w) for w in mom_W], [engine.asarray(b) for b in mom_b]
    rates = [*t["learning_rates"], *(t["bias_learning_rates"] or t["learning_rates"])]
    y_all = np.eye(net.sizes[-1], dtype=dtype)[data.train_y]
    bs = t["batch_size"]
    for epoch in range(first, t["epochs"]):
        t0 = time.perf_counter()
        decayed = [rate * t["lr_decay"] ** epoch for rate in rates]
        images = EpochImages(data, t["seed"], epoch, config["data"]["flip"])
        order = images.order
        outs = np.empty((len(order), net.sizes[-1]), dtype)  # outputs before each update
        display = BatchDisplay(progress, epoch, data.train_y[order], t0)
        for a in range(0, len(order), bs):
            clock.tick()
            idx = order[a:a + bs]
            x, y = images[a:a + bs].astype(dtype), y_all[idx]
            clock.tock("data")
            gW, gb, seen = gradient(net.W, net.b, x, y)
            outs[a:a + len(idx)] = engine.numpy(seen)
            sgd_step(net.W + net.b, gW + gb, mom_W + mom_b, decayed, t["momentum"])
            clock.tock("update")
            display(outs, a + len(idx))
        seconds = time.perf_counter() - t0
        clock.tick()
        test_error = float("nan")
        if len(data.test_x):
            test_error = float(np.mean(predict(net.W, net.b, data.test_x) != data.test_y))
        clock.tock("evaluate")
        end_epoch(out, config, net, mom_W, mom_b, rows, outs, data.train_y[order], y_all[order], test_error, seconds,
                  clock, progress)
    save_npz(os.path.join(out, "model.npz"), **model_arrays(net, config))
    return net, rows
