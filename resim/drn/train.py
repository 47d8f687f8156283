"""Training runs: epochs of mini-batches, metrics, checkpoints, resume, the final model.

A run folder holds ``config.resolved.toml`` (every default filled in), ``metrics.jsonl`` and
``metrics.csv`` (one row per epoch), ``checkpoint.npz`` (after every epoch) and, at the end,
``model.npz``. Every file is written to a temporary name and renamed, so a run killed at any
moment leaves the last complete epoch behind; ``resume=True`` continues from it and ends
with exactly the parameters an uninterrupted run gives (shuffles come from (seed, epoch),
the coordinate-descent warm start is reset at each epoch). A resumed run may have more
epochs than the first one had: the schedule does not depend on the number of epochs.
A folder that already holds a run is refused unless it is resumed or ``overwrite=True``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..atomic import write_bytes
from ..errors import ResimError
from . import blas
from .config import Config, same_run
from .data import Dataset
from .network import DRN, Relaxer, predict
from .rules import apply_gradient, descend, exact_gradient, phases

METRICS = ("epoch", "train_error", "test_error", "cost", "epoch_seconds", "samples_per_second")
#: what a run writes into its folder; the first two hold trained parameters
RUN_FILES = ("checkpoint.npz", "model.npz", "config.resolved.toml", "metrics.jsonl", "metrics.csv")


class RunError(ResimError):
    """A run folder or model that cannot be used as asked: a run folder that would be
    overwritten, or cannot be resumed (no checkpoint, another configuration, a damaged
    file); a model that cannot be read or does not fit the dataset (a usage error: 2)."""

    exit_code = 2


@dataclass
class Progress:
    """Callbacks for the caller's display: ``batch(epoch, done, total, running_error, samples_per_s)``
    and ``epoch(row)``."""

    batch: Callable[..., None] | None = None
    epoch: Callable[[dict], None] | None = None


def save_npz(path: str, **arrays) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes(path, buf.getvalue())


def model_arrays(net: DRN, config: Config | None = None, **extra) -> dict:
    out = {f"W{l}": w for l, w in enumerate(net.W)}
    out.update({f"b{l}": b for l, b in enumerate(net.b)})
    out["gain"] = np.array(net.gain)
    if config is not None:
        out["config"] = np.array(config.to_toml())
    out.update(extra)
    return out


_MODEL_HINT = ("give a model.npz written by resim train; `resim train --config RUN.toml --out DIR --resume` "
               "writes DIR/model.npz again from an intact DIR/checkpoint.npz")


def load_model(path: str) -> tuple[DRN, str]:
    """A ``model.npz`` (or ``checkpoint.npz``): the network and its configuration text."""
    z = read_npz(path, _MODEL_HINT)
    return _network(z, path, _MODEL_HINT), str(z.get("config", ""))


def read_npz(path: str, hint: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``; a :class:`RunError` naming the file (with
    ``hint``) when it cannot be read, is truncated or is no ``.npz`` archive."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array")
        with loaded as z:
            return {k: z[k] for k in z.files}
    except OSError as exc:
        raise RunError(f"cannot read '{path}': {exc.strerror or exc}", hint=hint) from None
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise RunError(f"'{path}' is truncated or corrupt, not a complete .npz archive ({exc})", hint=hint) from None


def _network(z: dict[str, np.ndarray], path: str, hint: str) -> DRN:
    """The DRN stored in the arrays ``z`` of a model or checkpoint file."""
    n = max(1, sum(1 for k in z if k.startswith("W")))
    try:
        return DRN([z[f"W{l}"] for l in range(n)], [z[f"b{l}"] for l in range(n)], float(z["gain"]))
    except KeyError as exc:
        problem = f"no array {exc}"
    except (TypeError, ValueError) as exc:
        problem = str(exc)
    raise RunError(f"'{path}' is not a network written by resim train ({problem})", hint=hint)


def check_model_data(net: DRN, data: Dataset, path: str) -> None:
    """Refuse a dataset whose images or labels the model at ``path`` cannot take."""
    problem = data.misfit(net.sizes[0] // 2, net.sizes[-1])
    if problem:
        raise RunError(f"the model '{path}' does not fit the data: {problem}",
                       hint="use the dataset it was trained on (the [data] section of its configuration)")


def train(config: Config, data: Dataset, out: str, *, resume: bool = False, overwrite: bool = False,
          progress: Progress | None = None, timings: dict[str, float] | None = None,
          threads: int | None = None) -> tuple[DRN, list[dict]]:
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
    restored afterwards."""
    config.check_data(data)
    _prepare_folder(out, resume, overwrite)
    threads = min(2, os.cpu_count() or 1) if threads is None else threads
    previous = blas.set_threads(1)
    pool = ThreadPoolExecutor(1, thread_name_prefix="resim-halves") if threads > 1 and blas.releases_gil() else None
    try:
        return _train(config, data, out, resume, progress, timings, pool)
    finally:
        if pool is not None:
            pool.shutdown()
        if previous is not None:
            blas.set_threads(previous)


def _prepare_folder(out: str, resume: bool, overwrite: bool) -> None:
    """Refuse to train over a run in ``out`` unless resuming; ``overwrite`` deletes its files."""
    if resume and overwrite:
        raise RunError("--resume continues the run in the folder, --overwrite starts it again: give one")
    held = [f for f in RUN_FILES[:2] if os.path.exists(os.path.join(out, f))]
    if held and not resume and not overwrite:
        raise RunError(f"'{out}' already holds a training run ({', '.join(held)}): give --resume to continue it, "
                       "or --overwrite to start it again from scratch (its files are deleted)")
    if overwrite:
        for f in RUN_FILES:
            if os.path.exists(path := os.path.join(out, f)):
                os.unlink(path)


def _train(config: Config, data: Dataset, out: str, resume: bool, progress: Progress | None,
           timings: dict[str, float] | None, pool: ThreadPoolExecutor | None) -> tuple[DRN, list[dict]]:
    clock = _Clock(timings)
    m, t = config["model"], config["training"]
    dtype = np.float32 if t["dtype"] == "float32" else np.float64
    os.makedirs(out, exist_ok=True)
    resolved = config.to_toml()
    ckpt_path = os.path.join(out, "checkpoint.npz")
    net = DRN.init(m["layers"], m["input_gain"], np.random.default_rng(t["seed"]), dtype)
    mom_W = [np.zeros_like(w) for w in net.W]
    mom_b = [np.zeros_like(b) for b in net.b]
    rows: list[dict] = []
    first = 0
    if resume:
        net, mom_W, mom_b, first, rows = _from_checkpoint(ckpt_path, resolved, t["epochs"])
    write_bytes(os.path.join(out, "config.resolved.toml"), resolved.encode())
    lr_w = np.array(t["learning_rates"])
    lr_b = np.array(t["bias_learning_rates"] or t["learning_rates"])
    y_all = np.eye(net.sizes[-1], dtype=dtype)[data.train_y]
    bs = t["batch_size"]
    for epoch in range(first, t["epochs"]):
        t0 = time.perf_counter()
        decay = t["lr_decay"] ** epoch
        order = np.random.default_rng([t["seed"], epoch]).permutation(len(data.train_x))
        relaxer = Relaxer(net, pool=pool)
        n = len(order)
        outs = np.empty((n, net.sizes[-1]), dtype)  # free-phase outputs: the epoch's train error and cost
        shown, counted, wrong = t0, 0, 0  # for the progress display
        v0 = net.inputs(data.train_x[order[:bs]])
        drive0 = v0 @ net.W[0]  # the inputs' currents: shared by every phase of the batch
        warm = None
        for a in range(0, n, bs):
            clock.tick()
            idx = order[a:a + bs]
            y = y_all[idx]
            if warm is not None and len(warm[0]) == len(idx):  # start from the last batch's state
                V = [v0, *warm]
            else:
                V = [v0] + [np.zeros((len(idx), k), dtype) for k in net.sizes[1:]]
            upcoming = order[a + bs:a + 2 * bs]
            v0_next = net.inputs(data.train_x[upcoming]) if len(upcoming) else None
            clock.tock("data")
            V0 = relaxer.relax(V, t["sweeps"], drive0=drive0)
            outs[a:a + len(idx)] = V0[-1]
            feed = None
            if t["algorithm"] == "exact":
                gW, gb = exact_gradient(net, V0, y)
                apply_gradient(net, gW, gb, lr_w * decay, lr_b * decay, t["momentum"], mom_W, mom_b)
            else:
                Va, Vb, scale = phases(relaxer, V0, y, t["algorithm"], t["nudging"], t["sweeps"], drive0)
                clock.tock("relax")
                # the next batch's input currents and W[0]'s new column sums come from the
                # same pass over W[0] as its update
                feed = descend(net, Va, Vb, scale, lr_w * decay, lr_b * decay, t["momentum"], mom_W, mom_b,
                               v0_next, pool)
            if feed is None:
                drive0 = None if v0_next is None else v0_next @ net.W[0]
                colsum0 = None
            else:
                drive0, colsum0 = feed
            relaxer = Relaxer(net, colsum0, pool)
            clock.tock("update")
            warm, v0 = V0[1:], v0_next
            if progress and progress.batch and ((now := time.perf_counter()) - shown > 0.2 or v0 is None):
                seen = a + len(idx)
                wrong += _wrong(outs[counted:seen], data.train_y[order[counted:seen]])
                progress.batch(epoch, seen, n, wrong / seen, seen / (now - t0))
                shown, counted = now, seen
        seconds = time.perf_counter() - t0
        clock.tick()
        test_error = float("nan")
        if len(data.test_x):
            test_error = float(np.mean(predict(net, data.test_x, pool=pool) != data.test_y))
        clock.tock("evaluate")
        miss = outs.astype(np.float64) - y_all[order]
        row = {"epoch": epoch + 1, "train_error": _wrong(outs, data.train_y[order]) / max(n, 1),
               "test_error": test_error, "cost": 0.5 * float(np.einsum("ij,ij->", miss, miss)) / max(n, 1),
               "epoch_seconds": seconds, "samples_per_second": n / seconds}
        rows.append(row)
        _write_metrics(out, rows)
        save_npz(ckpt_path, **model_arrays(net, config, **{f"mW{l}": w for l, w in enumerate(mom_W)},
                                           **{f"mb{l}": b for l, b in enumerate(mom_b)},
                                           epoch=np.array(epoch + 1), metrics=np.array(json.dumps(rows))))
        clock.tock("write")
        if progress and progress.epoch:
            progress.epoch(row)
    save_npz(os.path.join(out, "model.npz"), **model_arrays(net, config))
    return net, rows


def _from_checkpoint(path: str, resolved: str, epochs: int) -> tuple[DRN, list, list, int, list[dict]]:
    """The network, momenta, epochs done and metrics rows of the checkpoint ``path``, which
    must come from the same run (:func:`~resim.drn.config.same_run`) and have no more than
    ``epochs`` epochs."""
    out = os.path.dirname(path)
    if not os.path.exists(path):
        raise RunError(f"--resume: no checkpoint in '{out}'", hint="start the run without --resume")
    hint = ("the checkpoint is written whole after every epoch, so it was damaged later; start the run again "
            "with --overwrite")
    z = read_npz(path, hint)
    if "config" not in z or not same_run(str(z["config"]), resolved):
        raise RunError(f"--resume: '{out}' was run with another configuration",
                       hint=f"compare {os.path.join(out, 'config.resolved.toml')} with the config given "
                            "(only [training] epochs may change)")
    net = _network(z, path, hint)
    try:
        L = len(net.W)
        mom_W = [np.asfortranarray(z[f"mW{l}"]) for l in range(L)]  # the layout of net.W
        mom_b = [z[f"mb{l}"] for l in range(L)]
        done, rows = int(z["epoch"]), json.loads(str(z["metrics"]))
    except KeyError as exc:
        raise RunError(f"'{path}' is not a checkpoint written by resim train (no array {exc})", hint=hint) from None
    if done > epochs:
        raise RunError(f"--resume: '{out}' has run {done} epochs already, more than the {epochs} configured",
                       hint=f"set [training] epochs to {done} or more (more continues the run)")
    return net, mom_W, mom_b, done, rows


def _wrong(outputs: np.ndarray, labels: np.ndarray) -> int:
    """How many images the outputs (arg-max) classify wrongly."""
    return int(np.count_nonzero(np.argmax(outputs, axis=1) != labels))


class _Clock:
    """Accumulates wall time per named part into ``timings`` (does nothing without it)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.t = 0.0

    def tick(self) -> None:
        if self.timings is not None:
            self.t = time.perf_counter()

    def tock(self, part: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[part] = self.timings.get(part, 0.0) + now - self.t
            self.t = now


def _write_metrics(out: str, rows: list[dict]) -> None:
    write_bytes(os.path.join(out, "metrics.jsonl"), "".join(json.dumps(r) + "\n" for r in rows).encode())
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=METRICS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    write_bytes(os.path.join(out, "metrics.csv"), buf.getvalue().encode())
