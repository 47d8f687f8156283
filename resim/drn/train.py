"""Training runs: epochs of mini-batches, metrics, checkpoints, resume, the final model.

A run folder holds ``config.resolved.toml`` (every default filled in), ``metrics.jsonl`` and
``metrics.csv`` (one row per epoch), ``checkpoint.npz`` (after every epoch) and, at the end,
``model.npz``. Every file is written to a temporary name and renamed, so a run killed at any
moment leaves the last complete epoch behind; ``resume=True`` continues from it and ends
with exactly the parameters an uninterrupted run gives (shuffles come from (seed, epoch),
the coordinate-descent warm start is reset at each epoch). A resumed run may have more
epochs than the first one had: the schedule does not depend on the number of epochs.
A folder that already holds a run is refused unless it is resumed or ``overwrite=True``.
A ``[model] kind = "relu-mlp"`` run (:mod:`resim.drn.mlp_train`) writes the same files; what
both loops share is :mod:`resim.drn.runs` (its names are also importable from here).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Executor

import numpy as np

from .config import Config
from .data import Dataset
from .engine import Engine, EngineUnavailable
from .engines import make_engine
from .mlp import MLP
from .mlp_train import train_mlp
from .network import DRN, Relaxer, predict
from .rules import apply_gradient, descend, exact_gradient, phases
from .runs import (RUN_FILES, BatchDisplay, Clock, EpochImages, Progress, RunError, check_model_data, classify, end_epoch,
                   load_model, model_arrays, prepare_folder, read_npz, save_npz, start_run)
from .tbp import truncated_gradient

WARM_BYTES = 256 << 20  # the most memory the test set's carried equilibria may take

__all__ = ["RUN_FILES", "EngineUnavailable", "Progress", "RunError", "check_model_data", "classify", "load_model",
           "model_arrays", "read_npz", "save_npz", "train"]


def train(config: Config, data: Dataset, out: str, *, resume: bool = False, overwrite: bool = False,
          progress: Progress | None = None, timings: dict[str, float] | None = None,
          threads: int | None = None) -> tuple[DRN | MLP, list[dict]]:
    """Run (or resume) training as configured; returns the final network and the metrics.

    ``layers`` that do not fit ``data`` are a ConfigError. A folder ``out`` that holds a run
    (a checkpoint or a model) is refused unless ``resume`` continues it or ``overwrite``
    (which deletes its files first) starts it again.

    ``timings``, when given, accumulates seconds per part of the batch loop: ``data``
    (batch and targets), ``relax`` (every phase), ``update`` (gradient and parameter
    update), ``evaluate`` (test error), ``write`` (metrics and checkpoint).

    ``threads`` (default: 2, or 1 on a one-core machine): with 2, the second column half of
    every large matrix product (weight updates, relaxation, test-error evaluation) runs on
    a worker thread; the results are the same bit for bit with 1. OpenBLAS's own threads
    are set to 1 meanwhile (they cost more than they give at these batch sizes) and
    restored afterwards. With the torch engine ([training] backend), torch's own threads
    are set to ``threads`` instead. A relu-mlp runs on one core with numpy, on torch's
    threads with torch.

    The engine (:mod:`resim.drn.engine`) is made from [training] backend, device, dtype and
    precision before the folder is touched: asking for one this machine does not have
    (torch not installed, no CUDA device) is an :class:`EngineUnavailable` error."""
    t = config["training"]
    engine = make_engine(t["backend"], t["device"], t["dtype"], t["precision"] or None)
    config.check_data(data)
    prepare_folder(out, resume, overwrite)
    threads = min(2, os.cpu_count() or 1) if threads is None else threads
    with engine.threads(threads) as pool:
        return _train(config, data, out, resume, progress, timings, pool, engine)


def _in_the_loop(t: dict, net: DRN):
    """Hardware-aware training's devices (resim.hardware.training), the weights put in
    their window; None for training on ideal conductances."""
    if not t["hardware"]:
        return None
    from ..hardware.profile import load_profile
    from ..hardware.training import InTheLoop

    hw = InTheLoop(load_profile(t["hardware"]), net, t["seed"])  # (the config check resolved its path)
    hw.keep_in_window(net)
    return hw


def _test_error(net: DRN, hw, data: Dataset, pool: Executor | None, sweeps: int, order: str,
                warm: list | None) -> float:
    """The test set's error (nan without one), on the devices as programmed when ``hw``."""
    if not len(data.test_x):
        return float("nan")
    measured = net if hw is None else hw.forward(net, write_noise=False)
    guess = predict(measured, data.test_x, pool=pool, sweeps=sweeps, order=order, warm=warm)
    return float(np.mean(guess != data.test_y))


def _next_relaxer(net: DRN, hw, colsum0, pool: Executor | None) -> Relaxer:
    """The relaxation of the next batch: on the updated network (``colsum0``: its first
    layer's column sums, from the update's pass), or, in hardware-aware training, on the
    devices with the shadow weights put back into their window."""
    if hw is None:
        return Relaxer(net, colsum0, pool)
    hw.keep_in_window(net)
    return Relaxer(hw.forward(net), pool=pool)


def _train_other(config: Config, data: Dataset, out: str, resume: bool, progress: Progress | None, clock: Clock,
                 engine: Engine) -> tuple:
    """The epoch loops of the other model kinds: the ReLU network's, the drn-vf's."""
    if config["model"]["kind"] == MLP.kind:
        return train_mlp(config, data, out, resume, progress, clock, engine)
    from .vf_train import train_vf

    return train_vf(config, data, out, resume, progress, clock)


def _train(config: Config, data: Dataset, out: str, resume: bool, progress: Progress | None,
           timings: dict[str, float] | None, pool: Executor | None, engine: Engine) -> tuple[DRN | MLP, list[dict]]:
    clock = Clock(timings)
    m, t = config["model"], config["training"]
    if m["kind"] != "drn":
        return _train_other(config, data, out, resume, progress, clock, engine)
    dtype = np.float32 if t["dtype"] == "float32" else np.float64
    net, mom_W, mom_b, first, rows = start_run(
        config, out, resume, lambda rng: DRN.init(m["layers"], m["input_gain"], rng, dtype), progress)
    # the run's arrays onto the engine (a run is stored as numpy arrays: it resumes on any engine)
    net = net.on(engine) if engine.backend != "numpy" else net
    mom_W, mom_b = [engine.matrix(w) for w in mom_W], [engine.asarray(b) for b in mom_b]
    lr_w = np.array(t["learning_rates"])
    lr_b = np.array(t["bias_learning_rates"] or t["learning_rates"])
    y_all = np.eye(net.sizes[-1], dtype=dtype)[data.train_y]
    bs = t["batch_size"]
    # the layer order of the free phase (and inference), and of the nudged phases
    free, nudged = ("forward", "backward") if t["layer_order"] == "forward-backward" else ("odd-even", "odd-even")
    hw = _in_the_loop(t, net)
    # the test set's equilibria, carried from epoch to epoch (converged evaluation), unless
    # they would take more than WARM_BYTES (DRN-XL's: 1.3 GB; warm starts save little: ~6 %)
    states = len(data.test_x) * sum(net.sizes[1:]) * np.dtype(dtype).itemsize
    warm_test: list | None = [] if states <= WARM_BYTES else None
    for epoch in range(first, t["epochs"]):
        t0 = time.perf_counter()
        decay = t["lr_decay"] ** epoch
        images = EpochImages(data, t["seed"], epoch, config["data"]["flip"])
        order = images.order
        if hw is not None:
            hw.start_epoch(epoch)
        relaxer = Relaxer(net if hw is None else hw.forward(net), pool=pool)
        n = len(order)
        outs = np.empty((n, net.sizes[-1]), dtype)  # free-phase outputs: the epoch's train error and cost
        display = BatchDisplay(progress, epoch, data.train_y[order], t0)
        v0 = net.inputs(images[:bs])
        drive0 = relaxer.drive(v0)  # the inputs' currents: shared by every phase of the batch
        warm = None
        for a in range(0, n, bs):
            clock.tick()
            idx = order[a:a + bs]
            y = engine.asarray(y_all[idx])
            V = [v0, *warm] if warm is not None and len(warm[0]) == len(idx) else (  # the last batch's state
                [v0] + [engine.zeros((len(idx), k)) for k in net.sizes[1:]])
            upcoming = order[a + bs:a + 2 * bs]
            v0_next = net.inputs(images[a + bs:a + 2 * bs]) if len(upcoming) else None
            clock.tock("data")
            V0 = relaxer.relax(V, t["sweeps"], drive0=drive0, order=free)
            outs[a:a + len(idx)] = engine.numpy(V0[-1])
            feed = None
            if t["algorithm"] in ("exact", "truncated-bp"):
                if t["algorithm"] == "exact":
                    gW, gb = exact_gradient(net, V0, y)
                else:
                    gW, gb = truncated_gradient(relaxer, V0, y, t["sweeps"], free, drive0)
                clock.tock("relax")
                apply_gradient(net, gW, gb, lr_w * decay, lr_b * decay, t["momentum"], mom_W, mom_b)
            else:
                Va, Vb, scale = phases(relaxer, V0, y, t["algorithm"], t["nudging"], t["sweeps"], drive0, nudged)
                clock.tock("relax")
                # the next batch's input currents and W[0]'s new column sums come from the
                # same pass over W[0] as its update
                feed = descend(net, Va, Vb, scale, lr_w * decay, lr_b * decay, t["momentum"], mom_W, mom_b,
                               v0_next if hw is None else None, pool)
            drive0, colsum0 = (None, None) if feed is None else feed
            relaxer = _next_relaxer(net, hw, colsum0, pool)
            if feed is None and v0_next is not None:
                drive0 = relaxer.drive(v0_next)
            clock.tock("update")
            warm, v0 = V0[1:], v0_next
            display(outs, a + len(idx))
        seconds = time.perf_counter() - t0
        clock.tick()
        test_error = _test_error(net, hw, data, pool, t["eval_sweeps"], free, warm_test)
        clock.tock("evaluate")
        end_epoch(out, config, net, mom_W, mom_b, rows, outs, data.train_y[order], y_all[order], test_error, seconds,
                  clock, progress)
    save_npz(os.path.join(out, "model.npz"), **model_arrays(net, config))
    return net, rows
