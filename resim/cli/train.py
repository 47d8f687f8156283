"""``resim train``, ``resim evaluate``, ``resim export`` and ``resim plot``: trained networks
and their runs (:mod:`resim.drn`, :mod:`resim.hardware`, :mod:`resim.plot`), each command a
thin layer over them."""

from __future__ import annotations

import json
import os
import sys

import click

from ..errors import Interrupted
from .common import OUTPUT_PATH, figure_file, model_file, note, with_options, write_stdout


_ENGINE_OPTIONS = (
    click.option("--backend", type=click.Choice(["numpy", "torch"]), default=None,
                 help="Overrides [training] backend: numpy (default) or torch (pip install 'resim[torch]')."),
    click.option("--device", default=None, metavar="DEVICE",
                 help="Overrides [training] device (torch): cpu, cuda or cuda:N."),
    click.option("--precision", type=click.Choice(["float64", "float32", "bfloat16"]), default=None,
                 help="Overrides [training] precision: the relaxation's products; bfloat16 needs torch and "
                      "float32 (the conductances and every sum stay float32)."),
)

_engine_options = with_options(_ENGINE_OPTIONS)  # the engine keys of [training], as overrides


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="The run's TOML file (docs/train.md lists every key).")
@click.option("--out", type=click.Path(file_okay=False), default="runs/latest", show_default=True,
              help="Run folder: config.resolved.toml, metrics.jsonl/.csv, checkpoint.npz, model.npz. "
                   "One that holds a run needs --resume or --overwrite.")
@click.option("--resume", is_flag=True, help="Continue from the run folder's last checkpoint (the config may "
                                             "raise [training] epochs; nothing else may change).")
@click.option("--overwrite", is_flag=True, help="Delete the run in the run folder and start again.")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="The folder of the IDX files (or of a subfolder named after the dataset); nothing else is "
                   "tried. Default: [data] data_dir, else $RESIM_DATA, the cache, a download.")
@click.option("--threads", type=click.IntRange(1, 2), default=None,
              help="Cores for the large matrix products (updates, relaxation, test error): 2 (default where "
                   "there are two) or 1. The results are the same bit for bit.")
@click.option("--seed", type=click.IntRange(0), default=None,
              help="Overrides [training] seed (the initial conductances, the batches' order, the mirroring): "
                   "one config, several seeds.")
@_engine_options
def train(config_path: str, out: str, resume: bool, overwrite: bool, data_dir: str | None,
          threads: int | None, seed: int | None, backend: str | None, device: str | None,
          precision: str | None) -> None:
    """Train a deep resistive network by equilibrium propagation (or a relative, or
    truncated backpropagation), or the ReLU-network baseline by backpropagation.

    Ctrl-C stops the run (exit code 130) and prints the command that resumes it.

    \b
    Examples:
      resim train --config examples/drn_xs_fashion.toml --out runs/xs
      resim train --config examples/drn_xs_fashion.toml --out runs/xs --resume
      resim train --config examples/drn_1h_fashion.toml --out runs/1h --threads 1
      resim train --config examples/fashion_drn_1h_tbp.toml --out runs/fashion_drn_1h_tbp --seed 1
      resim train --config examples/relu_mlp_1h_fashion.toml --out runs/fashion_relu_1h
      resim train --config examples/fashion_drn_3h_ep.toml --out runs/3h --backend torch --precision bfloat16
      resim train --config examples/fashion_drn_3h_ep.toml --out runs/3h --backend torch --device cuda
    """
    from ..drn import data as data_mod
    from ..drn.config import load_config, with_engine, with_seed
    from ..drn.engines import make_engine
    from ..drn.train import Progress, train as run_train

    if resume and overwrite:
        raise click.UsageError("--resume continues the run in --out, --overwrite starts it again: give one")
    overrides = {"backend": backend, "device": device, "precision": precision}
    config = with_seed(with_engine(load_config(config_path), **overrides), seed)
    t = config["training"]
    # an engine this machine cannot give is refused before the data are read
    engine = make_engine(t["backend"], t["device"], t["dtype"], t["precision"] or None)
    d = config["data"]
    bar = None
    try:
        data = data_mod.load(d["dataset"], data_dir or d["data_dir"] or None, d["train_limit"], d["test_limit"])
        note(f"{config['model']['layers']} on {data.name} ({len(data.train_x):,} train / "
             f"{len(data.test_x):,} test images from {data.folder}); {config['training']['algorithm']} on "
             f"{engine.describe()}, run folder {out}")
        bar = _epoch_bar(config["training"]["epochs"]) if sys.stderr.isatty() else None

        def epoch_line(row: dict) -> None:
            if bar is not None:
                bar.done()
            note(f"epoch {row['epoch']}: train error {row['train_error']:.2%}, test error "
                 f"{row['test_error']:.2%}, cost {row['cost']:.4g}, {row['epoch_seconds']:.1f} s "
                 f"({row['samples_per_second']:.0f} samples/s)")

        def resumed(done: int, epochs: int) -> None:
            checkpoint = os.path.join(out, "checkpoint.npz")
            note(f"resuming at epoch {done + 1} of {epochs} ({done} done, in {checkpoint})" if done < epochs
                 else f"resuming: all {epochs} epochs are done; writing the model again")

        run_train(config, data, out, resume=resume, overwrite=overwrite,
                  progress=Progress(batch=bar, epoch=epoch_line, resumed=resumed), threads=threads)
    except KeyboardInterrupt:
        if bar is not None:
            bar.done()
        raise _train_interrupted(config_path, out, data_dir, threads, {"seed": seed, **overrides}) from None


def _train_interrupted(config_path: str, out: str, data_dir: str | None, threads: int | None,
                       overrides: dict[str, object] | None = None) -> Interrupted:
    """The Interrupted error of a stopped `resim train`, with the command that goes on from
    its last checkpoint (or starts it again when no epoch was complete)."""
    import shlex

    from ..drn.train import read_npz
    from ..errors import ResimError

    args = ["resim", "train", "--config", config_path, "--out", out]
    args += ["--data-dir", data_dir] if data_dir else []
    args += ["--threads", str(threads)] if threads else []
    args += [a for key, value in (overrides or {}).items() if value is not None for a in (f"--{key}", str(value))]
    checkpoint = os.path.join(out, "checkpoint.npz")
    try:
        done = int(read_npz(checkpoint, "")["epoch"]) if os.path.exists(checkpoint) else 0
    except (ResimError, KeyError, ValueError):
        done = 0
    if not done:
        return Interrupted("interrupted before the first epoch was complete",
                           hint=f"start again with: {shlex.join(args)}")
    return Interrupted(f"interrupted; the run folder '{out}' keeps its last complete epoch ({done})",
                       hint=f"continue with: {shlex.join(args + ['--resume'])}")


class _epoch_bar:
    """Per-epoch rich progress bar on stderr: batches, running error, samples/s."""

    def __init__(self, epochs: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("epoch {task.fields[epoch]}/" + str(epochs)), BarColumn(),
                            TextColumn("{task.completed}/{task.total} images"),
                            TextColumn("error {task.fields[err]:.2%}"), TextColumn("{task.fields[rate]:.0f}/s"),
                            TimeRemainingColumn(), transient=True, console=Console(stderr=True))
        self.task = None

    def __call__(self, epoch: int, done: int, total: int, err: float, rate: float) -> None:
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, epoch=epoch + 1, err=err, rate=rate)
        self.bar.update(self.task, completed=done, epoch=epoch + 1, err=err, rate=rate)

    def done(self) -> None:
        if self.task is not None:
            self.bar.stop()
            self.task = None


@click.command()
@click.argument("model", type=click.Path())
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="The folder of the IDX files (default: the training's data_dir, else the usual places).")
@click.option("--dataset", help="Evaluate on this dataset instead of the model's (mnist, fashion-mnist, kmnist, "
                                "idx:<folder>); its files come from --data-dir or the usual places.")
@click.option("--limit", type=click.IntRange(1), metavar="N", help="Only the first N test images.")
@click.option("--hardware", type=click.Path(dir_okay=False), metavar="PROFILE",
              help="Also the test error of the network built as this hardware profile's devices "
                   "(docs/hardware.md), solved as a circuit by resim, over --draws draws of the devices.")
@click.option("--draws", type=click.IntRange(1), default=5, show_default=True, help="Draws of the devices, with --hardware.")
@click.option("--seed", type=int, default=0, show_default=True, help="The first draw's seed, with --hardware.")
@click.option("--ngspice", "ngspice_images", type=click.IntRange(1), metavar="N",
              help="With --hardware: solve the first draw's netlist for the first N images with ngspice too, "
                   "and report the largest difference (exit 8 if ngspice is missing or fails).")
@_engine_options
def evaluate(model: str, data_dir: str | None, dataset: str | None, limit: int | None, hardware: str | None,
             draws: int, seed: int, ngspice_images: int | None, backend: str | None, device: str | None,
             precision: str | None) -> None:
    """Test error of a trained MODEL (model.npz) on its dataset's test images.

    MODEL may be a run's checkpoint.npz, or its folder: its model.npz, else its last
    checkpoint (a run that has not finished).

    The engine is the run's ([training] backend, device, precision), unless overridden; a
    DRN is evaluated at its equilibrium, with products at the arrays' own precision.

    With --hardware, the JSON also has "hardware": the test error of the network built as
    that profile's devices, mean and std over the draws, each draw's error and time. Each
    draw's operating points are those of its physical netlist (what `resim export
    --hardware` writes), solved by resim's batched coordinate descent and checked image by
    image.

    \b
    Examples:
      resim evaluate runs/xs/model.npz
      resim evaluate runs/3h --backend torch --device cuda
      resim evaluate runs/xs --hardware examples/hardware/memristor.toml --draws 5 --limit 1000
      resim evaluate runs/xs --hardware examples/hardware/discrete.toml --draws 1 --limit 100 --ngspice 3
    """
    from ..drn.train import classify

    if ngspice_images and hardware is None:
        raise click.UsageError("--ngspice checks a hardware netlist: give --hardware PROFILE too")
    profile = None
    if hardware is not None:
        from ..hardware.profile import load_profile

        profile = load_profile(hardware)
    model = model_file(model, "evaluate")
    net, data = _model_and_data(model, data_dir, dataset, circuit=profile is not None,
                                engine={"backend": backend, "device": device, "precision": precision})
    if profile is not None and getattr(net, "kind", "drn") == "drn-vf":
        raise click.UsageError("--hardware builds a DRN's devices; a drn-vf has no hardware profile yet")
    x, y = data.test_x[:limit], data.test_y[:limit]
    wrong = classify(net, x) != y
    report = {"model": model, "dataset": data.name, "test_images": int(len(wrong)), "test_error": float(wrong.mean())}
    if profile is not None:
        from ..drn.network import DRN
        from ..hardware.evaluate import evaluate_hardware

        ideal = DRN([net.engine.numpy(w) for w in net.W], [net.engine.numpy(b) for b in net.b], net.gain)
        ev = evaluate_hardware(ideal, profile, x, y, draws=draws, seed=seed)
        report["hardware"] = {
            "profile": profile.name, "path": hardware, "draws": draws, "seed": seed,
            "test_error_mean": ev.mean, "test_error_std": ev.std, "test_errors": ev.errors.tolist(),
            "solved_in_batches": sum(d.batched for d in ev.draws), "solved_alone": sum(d.alone for d in ev.draws),
            "seconds_per_draw": [round(d.seconds, 3) for d in ev.draws],
        }
        if ngspice_images:
            from ..hardware.evaluate import ngspice_check

            report["hardware"]["ngspice"] = ngspice_check(ideal, profile, x[:ngspice_images], seed)
    click.echo(json.dumps(report))


def _model_and_data(model: str, data_dir: str | None, dataset: str | None = None, circuit: bool = False,
                    engine: dict[str, str | None] | None = None):
    """The network in MODEL and the dataset to use it on: ``dataset`` (default: the one it
    was trained on) from ``data_dir`` (default: the training's data_dir, for that dataset
    only: the folder of one dataset must not stand in for another). ``circuit``: refuse a
    model that is not one (a relu-mlp). ``engine``: the network on the engine of its run's
    [training] keys, with these overrides (else numpy)."""
    import shlex

    from ..drn import data as data_mod
    from ..drn.config import parse_toml
    from ..drn.mlp import MLP
    from ..drn.train import RunError, check_model_data, load_model

    net, config_text = load_model(model)
    if circuit and isinstance(net, MLP):
        raise RunError(f"'{model}': a relu-mlp is not a circuit; `resim synth relu` makes one of it",
                       hint=f"resim synth relu {shlex.quote(model)} -o net.cir; resim export writes a deep resistive "
                            "network ([model] kind = \"drn\")")
    try:
        doc = parse_toml(config_text) if config_text else {}
    except ValueError as exc:
        raise RunError(f"'{model}': its stored configuration is not valid TOML ({exc})") from None
    trained = doc.get("data", {})
    if engine is not None:
        net = _on_engine(net, doc.get("training", {}), engine)
    name = trained.get("dataset", "fashion-mnist")
    if data_dir is None and dataset in (None, name):
        data_dir = trained.get("data_dir") or None
    data = data_mod.load(dataset or name, data_dir)
    check_model_data(net, data, model)
    return net, data


def _on_engine(net, training: dict, overrides: dict[str, str | None]):
    """``net`` on the engine of a run's ``[training]`` keys with ``overrides`` (not None)."""
    from ..drn.engines import make_engine

    keys = {k: training.get(k, d) for k, d in (("backend", "numpy"), ("device", "cpu"), ("precision", ""))}
    if overrides.get("backend") not in (None, keys["backend"]):  # the run's device and precision were its backend's
        keys.update(device="cpu", precision="")
    keys.update({k: v for k, v in overrides.items() if v is not None})
    engine = make_engine(keys["backend"], keys["device"], str(net.W[0].dtype), keys["precision"] or None)
    return net.on(engine) if engine.backend != "numpy" else net


@click.command()
@click.argument("model", type=click.Path())
@click.option("--input", "index", required=True, type=click.IntRange(0), metavar="K", help="Test image number.")
@click.option("--hardware", type=click.Path(dir_okay=False), metavar="PROFILE",
              help="Write the devices of this hardware profile (a TOML file, docs/hardware.md): real values, "
                   "the profile's diode, crossbar wires.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The draw of the devices (variation and programming noise) with --hardware.")
@click.option("--data-dir", type=click.Path(file_okay=False))
def export(model: str, index: int, hardware: str | None, seed: int, data_dir: str | None) -> None:
    """Write the trained MODEL with test image K applied as a netlist (stdout).

    MODEL may be a run's checkpoint.npz, or its folder: its model.npz, else its last
    checkpoint (a run that has not finished). With --hardware, the netlist is the network
    built from that profile's devices: volts and siemens, conductances in the window and on
    its levels, one seeded draw of their variation, the profile's diodes and wires.

    \b
    Examples:
      resim export runs/xs/model.npz --input 0 > net.cir && resim solve net.cir
      resim export runs/xs --input 0 --hardware examples/hardware/memristor.toml --seed 3 > hw.cir
    """
    from ..drn.network import outputs

    import numpy as np

    profile = None
    if hardware is not None:
        from ..hardware.profile import load_profile

        profile = load_profile(hardware)
    model = model_file(model, "export")
    net, data = _model_and_data(model, data_dir, circuit=True)
    if index >= len(data.test_x):
        raise click.UsageError(f"--input {index}: the test set has {len(data.test_x)} images (0..{len(data.test_x) - 1})")
    image = data.test_x[index]
    if getattr(net, "kind", "drn") == "drn-vf":  # forward and feedback conductances: R where tied, else G pairs
        from ..drn import vf

        if profile is not None:
            raise click.UsageError("--hardware builds a DRN's devices; a drn-vf is exported without it")
        guess = int(vf.predict(net, image[None, :])[0])
        write_stdout(vf.netlist(net, image, f"{data.name} test image {index} (label {data.test_y[index]}, "
                                            f"model predicts {guess}): drn-vf"))
        return
    out = outputs(net, image[None, :])[0]
    title = f"{data.name} test image {index} (label {data.test_y[index]}, model predicts {int(np.argmax(out))})"
    if profile is None:
        from ..drn.export import netlist_chunks

        chunks = netlist_chunks(net, image, title)
    else:
        from ..hardware.devices import physical
        from ..hardware.netlist import netlist_chunks as physical_chunks

        phys = physical(net, profile, np.random.default_rng(seed))
        line = (f"{title}: {'-'.join(map(str, net.sizes))}, input gain {net.gain:g}, as hardware '{profile.name}' "
                f"({profile.volts_per_unit:g} V and {profile.siemens_per_unit:g} S per unit, draw {seed}) "
                "(resim export --hardware)")
        chunks = physical_chunks(phys, image, line, diode_name="dhw")
    for chunk in chunks:
        write_stdout(chunk)


@click.command("plot")
@click.argument("runs", nargs=-1, required=True, metavar="RUN_DIR...", type=click.Path(file_okay=False, exists=True))
@click.option("--output", "-o", required=True, type=OUTPUT_PATH, metavar="FILE",
              help="The figure: .png, .svg or .pdf, after its extension; written as solve -o writes.")
@click.option("--label", "labels", multiple=True, metavar="NAME",
              help="A run's name in the legend: one per RUN_DIR, in order (default: the folders' names).")
@click.option("--title", help="A title above the figure.")
def plot_runs(runs: tuple[str, ...], output: str, labels: tuple[str, ...], title: str | None) -> None:
    """Draw the train and test error per epoch of training runs on one figure.

    Each RUN_DIR is a folder written by `resim train --out` (its metrics.jsonl), or a
    folder of one configuration's seeds: seed<k>.csv files (a run's metrics.csv, as
    docs/runs/<row>/ keeps them) or seed<k>/ run folders, drawn as the seeds' mean with
    the band from the lowest to the highest. A run still going is drawn as far as it has
    gone. Each RUN_DIR has its own colour: test error solid, train error dashed, in
    percent. Needs matplotlib (resim[plot]).

    \b
    Examples:
      resim plot runs/xs -o curves.png
      resim plot runs/1h runs/2h --label DRN-1H --label DRN-2H --title 'Fashion-MNIST' -o curves.svg
      resim plot docs/runs/drn-1h-ep docs/runs/drn-1h-tbp --label EP --label TBP -o 1h.png
    """
    from .. import plot

    if labels and len(labels) != len(runs):
        raise click.UsageError(f"--label was given {len(labels)} times for {len(runs)} runs: give one per RUN_DIR")
    figure_file(output, "'--output' / '-o'")
    plot.write_plot(runs, output, labels, title)



@click.command()
@click.argument("source", type=click.Path(exists=True))
@click.option("--images", type=click.IntRange(1), default=8, show_default=True,
              help="The batch: the first N training images.")
@click.option("--beta", "betas", type=float, multiple=True, metavar="B",
              help="Nudging strengths to compare at (repeatable; default 0.001 and the run's [training] nudging).")
@click.option("--sweeps", "sweep_counts", type=click.IntRange(1), multiple=True, metavar="K",
              help="Free sweeps K before the cost (repeatable; default the run's [training] sweeps and 100).")
@click.option("--order", "orders", multiple=True, metavar="FREE[/NUDGED]",
              help="Sweep orders of the free and nudged phases (repeatable), from jacobi, odd-even, even-odd, "
                   "forward, backward; NUDGED defaults to FREE. Default: the run's layer order, and the free "
                   "order with its reverse.")
@click.option("--steps", type=click.IntRange(1), default=None, help="Nudged steps compared (default: K).")
@click.option("--linear", is_flag=True, help="Without the hidden diodes: the linear network (the exact case).")
@click.option("--centred", is_flag=True, help="EP's updates from phases at +beta and -beta (error of second order in beta).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="The step-by-step figure of the first setting (.png, .svg, .pdf).")
@click.option("--seed", type=click.IntRange(0), default=None,
              help="With a config: the initial conductances' seed (default [training] seed).")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="The folder of the IDX files (default: the run's data_dir, else the usual places).")
def gdu(source: str, images: int, betas: tuple[float, ...], sweep_counts: tuple[int, ...], orders: tuple[str, ...],
        steps: int | None, linear: bool, centred: bool, plot_path: str | None, seed: int | None,
        data_dir: str | None) -> None:
    """EP's updates against BPTT's gradients, step by step, for one batch (JSON on stdout).

    SOURCE is a run's TOML config (a network at its initial conductances) or a trained
    model (model.npz, checkpoint.npz or a run folder). For each free/nudged order, K and
    beta: K free sweeps, BPTT backward from the cost at their end, and a nudged phase from
    there; per layer, how EP's neural and weight updates at step t agree with minus BPTT's
    gradients at step t (+1 for the weights): median and largest relative difference,
    smallest cosine. docs/theory.md ("EP against BPTT") says what to expect: exact for a
    nudged phase in the reverse order of the free one, as beta -> 0, on a converged free
    phase without diodes; approximate with them; not with the same order both ways.

    \b
    Examples:
      resim gdu examples/drn_xs_fashion.toml --images 4 --linear --order jacobi --centred --beta 1e-4 --sweeps 400
      resim gdu runs/table/drn-1h-ep/seed0 --order forward/backward --plot gdu.png
    """
    import numpy as np

    from ..drn import gdu as gdu_mod

    if plot_path is not None:
        figure_file(plot_path, "--plot")
    pairs = [_order_pair(o) for o in orders]
    net, data, training = _gdu_network(source, seed, data_dir)
    layer_order = training.get("layer_order", "odd-even")
    free = "forward" if layer_order == "forward-backward" else layer_order
    nudged = "backward" if layer_order == "forward-backward" else layer_order
    pairs = pairs or list(dict.fromkeys([(free, nudged), (free, gdu_mod.REVERSE[free])]))
    betas = betas or tuple(dict.fromkeys([1e-3, float(training.get("nudging", 1.0))]))
    sweep_counts = sweep_counts or tuple(dict.fromkeys([int(training.get("sweeps", 4)), 100]))
    p = gdu_mod.Params.of([net.engine.numpy(w) for w in net.W], [net.engine.numpy(b) for b in net.b],
                          diodes=not linear)
    x0 = net.gain * np.concatenate([data.train_x[:images], -data.train_x[:images]], axis=1).astype(np.float64)
    y = np.eye(net.sizes[-1])[data.train_y[:images]]
    rows, first = [], None
    for f, n in pairs:
        for K in sweep_counts:
            for beta in betas:
                a = gdu_mod.measure(p, x0, y, beta, K, f, steps, n, centred)
                first = first or (a, f"{f}/{n}, K = {K}, beta = {beta:g}")
                rows.append({"free": f, "nudged": n, "sweeps": K, "beta": beta, "layers": a.summary()})
    if plot_path is not None:
        from ..atomic import write_bytes
        from ..figure import format_of, save

        write_bytes(plot_path, save(gdu_mod.figure(first[0], f"{os.path.basename(source)}: {first[1]}"),
                                    format_of(plot_path)))
    write_stdout(json.dumps({"source": source, "images": images, "linear": linear, "centred": centred,
                             "settings": rows}) + "\n")


def _order_pair(text: str) -> tuple[str, str]:
    """``FREE[/NUDGED]`` as a pair of :data:`resim.drn.gdu.ORDERS`; a usage error else."""
    from ..drn.gdu import ORDERS

    free, _, nudged = text.partition("/")
    for o in (free, nudged or free):
        if o not in ORDERS:
            raise click.BadParameter(f"unknown order '{o}' (choose from {', '.join(ORDERS)})", param_hint="--order")
    return free, nudged or free


_GDU_HINT = ("give it a [model] kind = \"drn\" config or run (e.g. examples/drn_xs_fashion.toml); a drn-vf's "
             "vector-field EP is measured against the true gradient by bench/vf_angle.py (docs/gdu.md), "
             "a ReLU network has no EP to compare")


def _gdu_network(source: str, seed: int | None, data_dir: str | None):
    """The DRN of ``source`` (a config: at its initial conductances; else a trained model),
    its dataset and its [training] table."""
    import numpy as np

    from ..drn import data as data_mod
    from ..drn.config import load_config, parse_toml
    from ..drn.mlp import MLP
    from ..drn.network import DRN
    from ..drn.train import RunError, load_model

    if source.endswith(".toml"):
        config = load_config(source)
        m, t = config["model"], config["training"]
        if m["kind"] != "drn":
            raise RunError(f"'{source}': gdu compares EP and BPTT on a DRN, and this config's model is a {m['kind']}",
                           hint=_GDU_HINT)
        net = DRN.init(m["layers"], m["input_gain"], np.random.default_rng(t["seed"] if seed is None else seed))
        d = config["data"]
        return net, data_mod.load(d["dataset"], data_dir or d.get("data_dir") or None), t
    model = model_file(source, "gdu")
    net, data = _model_and_data(model, data_dir)
    if isinstance(net, MLP) or getattr(net, "kind", "drn") != "drn":
        raise RunError(f"'{model}': gdu compares EP and BPTT on a DRN, and this is a {net.kind}", hint=_GDU_HINT)
    _, text = load_model(model)
    return net, data, (parse_toml(text) if text else {}).get("training", {})
