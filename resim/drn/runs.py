"""What every training run shares, DRN or relu-mlp: its folder and files, checkpoints and
resume, metrics, the model files and their loading, the progress display and the clock.

A run folder holds ``config.resolved.toml`` (every default filled in), ``metrics.jsonl`` and
``metrics.csv`` (one row per epoch), ``checkpoint.npz`` (after every epoch) and, at the end,
``model.npz``. Every file is written to a temporary name and renamed (:mod:`resim.atomic`),
so a run killed at any moment leaves the last complete epoch behind (and a hard-linked
backup of the folder, ``cp -al``, keeps its content). The epoch loops are
:mod:`resim.drn.train` (DRN) and :mod:`resim.drn.mlp_train` (relu-mlp).
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..atomic import write_bytes
from ..errors import RunError
from .config import Config, same_run
from .data import Dataset
from .engines import engine_of
from .mlp import MLP, cost
from .mlp import predict as predict_mlp
from .network import DRN, predict

METRICS = ("epoch", "train_error", "test_error", "cost", "epoch_seconds", "samples_per_second")
#: what a run writes into its folder; the first two hold trained parameters
RUN_FILES = ("checkpoint.npz", "model.npz", "config.resolved.toml", "metrics.jsonl", "metrics.csv")


@dataclass
class Progress:
    """Callbacks for the caller's display: ``batch(epoch, done, total, running_error, samples_per_s)``,
    ``epoch(row)``, and ``resumed(done, epochs)`` when a run resumes with ``done`` of its
    ``epochs`` epochs done."""

    batch: Callable[..., None] | None = None
    epoch: Callable[[dict], None] | None = None
    resumed: Callable[[int, int], None] | None = None


def save_npz(path: str, **arrays) -> None:
    """``np.savez`` of ``arrays`` written atomically to ``path`` (its buffer written as it
    is, not copied: DRN-XL's checkpoint is 414 MB)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes(path, buf.getbuffer(), keep_links=False)


def model_arrays(net: DRN | MLP, config: Config | None = None, **extra) -> dict:
    """The arrays of a model.npz: ``W<l>``, ``b<l>``, ``kind`` ([model] kind), a DRN's
    ``gain``, the resolved ``config`` text when given, and ``extra``; numpy arrays, whatever
    engine the network is on (so that a run resumes on any engine or device)."""
    out = {f"W{l}": host(w) for l, w in enumerate(net.W)}
    out.update({f"b{l}": host(b) for l, b in enumerate(net.b)})
    if isinstance(net, MLP):
        out["kind"] = np.array(MLP.kind)
    else:
        out["kind"] = np.array(getattr(net, "kind", "drn"))  # a DRN, or a drn-vf (resim.drn.vf.VFNet)
        out["gain"] = np.array(net.gain)
    if config is not None:
        out["config"] = np.array(config.to_toml())
    out.update(extra)
    return out


def host(a) -> np.ndarray:
    """An array of any engine as a numpy array (a numpy array itself)."""
    return engine_of(a).numpy(a)


_MODEL_HINT = ("give a model.npz written by resim train; `resim train --config RUN.toml --out DIR --resume` "
               "writes DIR/model.npz again from an intact DIR/checkpoint.npz")


def load_model(path: str) -> tuple[DRN | MLP, str]:
    """A ``model.npz`` (or ``checkpoint.npz``): the network (a DRN, or an MLP for kind
    "relu-mlp") and its configuration text."""
    z = read_npz(path, _MODEL_HINT)
    return _network(z, path, _MODEL_HINT), str(z.get("config", ""))


def model_file(path: str, command: str) -> tuple[str, str | None]:
    """The file that ``path`` names for ``resim COMMAND`` (export, evaluate, synth relu) and
    a note for the user (else None): ``path`` itself if it is a file; in a run folder its
    ``model.npz``, else the ``checkpoint.npz`` a run that has not finished leaves (the
    note says so). A :class:`RunError` for a ``path`` that does not exist, saying, for a
    missing ``model.npz`` beside a checkpoint, that the checkpoint works."""
    import shlex

    if os.path.isdir(path):
        model, checkpoint = os.path.join(path, "model.npz"), os.path.join(path, "checkpoint.npz")
        if os.path.exists(model):
            return model, None
        if os.path.exists(checkpoint):
            return checkpoint, (f"'{path}' holds no model.npz: its run has not finished ({_epochs_done(checkpoint)}); "
                                f"using its last checkpoint, {checkpoint}")
        raise RunError(f"'{path}' holds no model.npz or checkpoint.npz", hint=_MODEL_FILE_HINT)
    if os.path.exists(path):
        return path, None
    folder = os.path.dirname(path)
    checkpoint = os.path.join(folder, "checkpoint.npz")
    if os.path.basename(path) == "model.npz" and os.path.isfile(checkpoint):
        config = os.path.join(folder, "config.resolved.toml")  # every run folder has one; it resumes the run
        config = shlex.quote(config) if os.path.isfile(config) else "RUN.toml"
        raise RunError(f"'{path}' does not exist: the run in '{folder or '.'}' has not finished "
                       f"({_epochs_done(checkpoint)}), and its last checkpoint works",
                       hint=f"resim {command} {shlex.quote(checkpoint)} (with the same options); or finish the "
                            f"run first: resim train --config {config} --out {shlex.quote(folder or '.')} --resume")
    raise RunError(f"'{path}' does not exist", hint=_MODEL_FILE_HINT)


_MODEL_FILE_HINT = "give a model.npz or checkpoint.npz written by resim train, or its run folder"


def _epochs_done(checkpoint: str) -> str:
    """``epoch N done`` of a checkpoint (only that array is read), or words saying that it
    cannot be read (the error is reported when it is loaded)."""
    try:
        with np.load(checkpoint, allow_pickle=False) as z:
            return f"epoch {int(z['epoch'])} done"
    except (OSError, ValueError, TypeError, KeyError, AttributeError, EOFError, zipfile.BadZipFile, zlib.error):
        return "its checkpoint cannot be read"


def read_npz(path: str, hint: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``; a :class:`RunError` naming the file (with
    ``hint``) when it cannot be read, is truncated or is no ``.npz`` archive."""
    try:
        if os.path.isfile(path) and os.path.getsize(path) == 0:
            raise RunError(f"'{path}' is truncated or corrupt: it is empty (0 bytes), not an .npz archive", hint=hint)
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise RunError(f"'{path}' is a single .npy array, not an .npz archive of named arrays", hint=hint)
        with loaded as z:
            return {k: _array(z, k, path, hint) for k in z.files}
    except OSError as exc:
        raise RunError(f"cannot read '{path}': {exc.strerror or exc}", hint=hint) from None
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise RunError(f"'{path}' is truncated or corrupt, not a complete .npz archive ({exc})", hint=hint) from None


def _array(z: np.lib.npyio.NpzFile, key: str, path: str, hint: str) -> np.ndarray:
    """Array ``key`` of the open archive ``z``; an object array (which only a pickle can
    load: resim loads none) is a :class:`RunError` naming it, not a corrupt archive."""
    try:
        return z[key]
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise
        raise RunError(f"'{path}': array '{key}' holds Python objects (a pickle), not numbers", hint=hint) from None


def _network(z: dict[str, np.ndarray], path: str, hint: str) -> DRN | MLP:
    """The network stored in the arrays ``z`` of a model or checkpoint file: its array
    ``kind`` says which (a file without it, written before there were two, is a DRN). A
    drn-vf keeps more conductance matrices than layers (``W<k>``: resim.drn.vf.VFNet.W)."""
    def count(prefix: str) -> int:
        return sum(1 for k in z if k.startswith(prefix) and k[1:].isdigit())

    kind = str(z.get("kind", "drn"))
    n_b = max(1, count("b"))
    try:
        W = [z[f"W{l}"] for l in range(max(n_b, count("W")) if kind == "drn-vf" else n_b)]
        b = [z[f"b{l}"] for l in range(n_b)]
        if kind == MLP.kind:
            return MLP(W, b)
        if kind == "drn":
            return DRN(W, b, float(z["gain"]))
        if kind == "drn-vf":
            from .vf import VFNet

            return VFNet.from_arrays(W, b, float(z["gain"]))
        problem = f"unknown kind '{kind}'"
    except KeyError as exc:
        problem = f"no array {exc}"
    except (TypeError, ValueError) as exc:
        problem = str(exc)
    raise RunError(f"'{path}' is not a network written by resim train ({problem})", hint=hint)


def check_model_data(net: DRN | MLP, data: Dataset, path: str) -> None:
    """Refuse a dataset whose images or labels the model at ``path`` cannot take."""
    pixels = net.sizes[0] if isinstance(net, MLP) else net.sizes[0] // 2  # a DRN's inputs are doubled
    problem = data.misfit(pixels, net.sizes[-1])
    if problem:
        raise RunError(f"the model '{path}' does not fit the data: {problem}",
                       hint="use the dataset it was trained on (the [data] section of its configuration)")


def classify(net: DRN | MLP, x: np.ndarray) -> np.ndarray:
    """The class of each image ``x`` by a model :func:`load_model` returned: a DRN's at
    its free equilibrium (what its exported circuit gives), an MLP's forward pass."""
    if getattr(net, "kind", "drn") == "drn-vf":
        from .vf import predict as predict_vf

        return predict_vf(net, x)
    return predict_mlp(net.W, net.b, x) if isinstance(net, MLP) else predict(net, x)


def prepare_folder(out: str, resume: bool, overwrite: bool) -> None:
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


def start_run(config: Config, out: str, resume: bool, init: Callable[[np.random.Generator], DRN | MLP],
              progress: Progress | None = None) -> tuple[DRN | MLP, list, list, int, list[dict]]:
    """What a run starts from: the network, its momenta, the epochs done and their metrics
    rows. ``init(rng)`` (``rng`` seeded with [training] seed) with zero momenta, or the
    checkpoint in ``out`` when resuming (then ``progress.resumed`` is told); writes
    ``out/config.resolved.toml``."""
    os.makedirs(out, exist_ok=True)
    resolved = config.to_toml()
    if resume:
        epochs = config["training"]["epochs"]
        state = _from_checkpoint(os.path.join(out, "checkpoint.npz"), resolved, epochs)
        if progress and progress.resumed:
            progress.resumed(state[3], epochs)
    else:
        net = init(np.random.default_rng(config["training"]["seed"]))
        state = net, [np.zeros_like(w) for w in net.W], [np.zeros_like(b) for b in net.b], 0, []
    write_bytes(os.path.join(out, "config.resolved.toml"), resolved.encode(), keep_links=False)
    return state


def shuffle(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of the ``n`` training images in ``epoch``: a function of (seed, epoch) only,
    so that a resumed run sees the same batches."""
    return np.random.default_rng([seed, epoch]).permutation(n)


class EpochImages:
    """The training images of one epoch: their order (:func:`shuffle`) and, when ``flip`` > 0,
    which of them are mirrored left-right (each with probability ``flip``). Both are
    functions of (seed, epoch) only, so a resumed run sees the same images."""

    def __init__(self, data: "Dataset", seed: int, epoch: int, flip: float = 0.0) -> None:
        n = len(data.train_x)
        self.data = data
        self.order = shuffle(seed, epoch, n)
        self.mirror = np.random.default_rng([seed, epoch, 1]).random(n) < flip if flip > 0 else None

    def __getitem__(self, positions: slice) -> np.ndarray:
        """The images at ``positions`` of the epoch's order (a new array)."""
        x = self.data.train_x[self.order[positions]]
        if self.mirror is not None:
            mirror = self.mirror[positions]
            if mirror.any():
                x[mirror] = self.data.mirrored(x[mirror])
        return x


def end_epoch(out: str, config: Config, net: DRN | MLP, mom_W: list, mom_b: list, rows: list[dict],
              outs: np.ndarray, labels: np.ndarray, targets: np.ndarray, test_error: float, seconds: float,
              clock: "Clock", progress: Progress | None) -> None:
    """Append the epoch's metrics row to ``rows``, write the metrics and the checkpoint
    (timed as ``write``) and show the row (``progress.epoch``). The train error and cost
    are those of the outputs ``outs`` the training saw (before each batch's update),
    against ``labels`` and one-hot ``targets``."""
    n = len(outs)
    row = {"epoch": len(rows) + 1, "train_error": _wrong(outs, labels) / max(n, 1), "test_error": test_error,
           "cost": cost(outs, targets), "epoch_seconds": seconds, "samples_per_second": n / seconds}
    rows.append(row)
    _write_metrics(out, rows)
    save_npz(os.path.join(out, "checkpoint.npz"),
             **model_arrays(net, config, **{f"mW{l}": host(w) for l, w in enumerate(mom_W)},
                            **{f"mb{l}": host(b) for l, b in enumerate(mom_b)},
                            epoch=np.array(len(rows)), metrics=np.array(json.dumps(rows))))
    clock.tock("write")
    if progress and progress.epoch:
        progress.epoch(row)


class BatchDisplay:
    """``Progress.batch`` during one epoch: the running train error of the outputs so far
    (against ``labels``, in training order) and the speed, at most every 0.2 s and at the
    epoch's last batch."""

    def __init__(self, progress: Progress | None, epoch: int, labels: np.ndarray, t0: float) -> None:
        self.show = progress.batch if progress else None
        self.epoch, self.labels, self.t0 = epoch, labels, t0
        self.shown, self.counted, self.wrong = t0, 0, 0

    def __call__(self, outs: np.ndarray, seen: int) -> None:
        """``seen`` images of the epoch done, their outputs in ``outs[:seen]``."""
        if self.show is None:
            return
        now = time.perf_counter()
        if now - self.shown > 0.2 or seen == len(self.labels):
            self.wrong += _wrong(outs[self.counted:seen], self.labels[self.counted:seen])
            self.show(self.epoch, seen, len(self.labels), self.wrong / seen, seen / (now - self.t0))
            self.shown, self.counted = now, seen


def _from_checkpoint(path: str, resolved: str, epochs: int) -> tuple[DRN | MLP, list, list, int, list[dict]]:
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
        mom_W = [np.asfortranarray(z[f"mW{l}"]) for l in range(L)]  # a DRN's W layout (for an MLP's, no matter)
        mom_b = [z[f"mb{l}"] for l in range(len(net.b))]
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


class Clock:
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
    write_bytes(os.path.join(out, "metrics.jsonl"), "".join(json.dumps(r) + "\n" for r in rows).encode(),
                keep_links=False)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=METRICS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    write_bytes(os.path.join(out, "metrics.csv"), buf.getvalue().encode(), keep_links=False)
