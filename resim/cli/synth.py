"""``resim synth relu`` and ``resim synth pwl``: circuits made of ReLU networks and
piecewise-linear functions (:mod:`resim.synth`)."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence

import click

from .common import OUTPUT_PATH, ProgressBar, emit, model_file, note, output_file, positive, with_options


@click.group()
def synth() -> None:
    """Make resistive circuits from ReLU networks and piecewise-linear functions.

    The circuits use voltage sources, resistors, ideal diodes and amplifiers (E elements):
    inputs are the sources VX0, VX1, ... (drive them with --set vx0=0.3, --dc or
    resim sweep), outputs the nodes y0, y1, ... docs/synth.md has the construction.
    """


def _range(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value.split(":"))
    except ValueError:
        raise click.BadParameter(f"'{value}' is not LO:HI (e.g. 0:1)") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise click.BadParameter(f"'{value}': needs finite LO < HI")
    return lo, hi


_SYNTH_OPTIONS = [
    click.option("--output", "-o", type=OUTPUT_PATH, metavar="FILE",
                 help="Write the netlist here (as solve -o writes) instead of stdout."),
    click.option("--gain", type=float, callback=positive, metavar="A",
                 help="The amplifiers' gain (default: the smallest 1, 2 or 5 x 10^k whose guaranteed error is "
                      "at most 1e-3 of the output scale on the input range)."),
    click.option("--check", type=click.IntRange(0), default=8, show_default=True, metavar="N",
                 help="Solve the circuit at N inputs of the range (its two corners, then random) and report the "
                      "largest error against the network (0: skip)."),
]


_synth_options = with_options(_SYNTH_OPTIONS)


def _synthesise(net, lo: float, hi: float, gain: float | None, check: int, output: str | None, title: str,
                inputs: Sequence[tuple[str, str]] = ()) -> None:
    """Write ``net``'s circuit, then its gain and guaranteed error on stderr. With ``check``,
    the circuit is first solved at that many inputs (a progress bar on a terminal's
    stderr: ~5 s per input for a 784-512-10 network): if a solution fails its
    certificate, nothing is written and no bound is stated."""
    from .. import synth as syn

    output = output_file(output, inputs)
    if gain is not None:
        syn.check_gain(gain)
    gain = gain or syn.default_gain(net, lo, hi)
    bound, scale = syn.guarantee(net, gain, lo, hi)
    text = syn.to_netlist(net, gain, title)
    measured = None
    if check:
        bar = ProgressBar("synth: checking the circuit", "inputs") if sys.stderr.isatty() else None
        try:
            measured = syn.measured_error(net, text, syn.sample_inputs(net, lo, hi, check), progress=bar)
        finally:
            if bar is not None:
                bar.close()
    emit(text, output)
    note(f"synth: {'-'.join(map(str, net.sizes))} ReLU network, gain {gain:g}; guaranteed |circuit - network| "
         f"<= {bound:.3g} for inputs in [{lo:g}, {hi:g}] (output scale {scale:.3g}, ratio {bound / scale:.2g})")
    if measured is not None:
        note(f"synth: measured max |circuit - network| {measured:.3g} at {check} inputs (resim solve)")


@synth.command("relu")
@click.argument("net_file", metavar="NET.npz", type=click.Path())
@click.option("--input-range", callback=_range, default="0:1", show_default=True, metavar="LO:HI",
              help="The range of every input, for the gain and the guaranteed error.")
@_synth_options
def synth_relu(net_file: str, input_range: tuple[float, float], output: str | None, gain: float | None,
               check: int) -> None:
    """Write the ReLU network in NET.npz (arrays W0, b0, W1, b1, ...; layer l maps h to
    h @ W_l + b_l, ReLU after every layer but the last) as a resistive circuit.

    A relu-mlp trained by resim train is such a file (its model.npz, or checkpoint.npz
    while it runs); its run folder means its model.npz, else its last checkpoint.

    \b
    Examples:
      resim synth relu net.npz -o net.cir && resim solve net.cir --set vx0=0.3
      resim synth relu runs/fashion_relu_1h/model.npz --gain 1e6 -o mlp.cir
    """
    from .. import synth as syn

    lo, hi = input_range
    net_file = model_file(net_file, "synth relu")
    _synthesise(syn.load_relu(net_file), lo, hi, gain, check, output, os.path.basename(net_file),
                [("the network", net_file)])


@synth.command("pwl")
@click.option("--points", required=True, metavar="X0:Y0,X1:Y1,...",
              help="The function's points, x increasing; it is linear between them and continues the end slopes.")
@click.option("--input-range", callback=_range, metavar="LO:HI",
              help="The range of the input for the gain and the guaranteed error (default: the points' x range).")
@_synth_options
def synth_pwl(points: str, input_range: tuple[float, float] | None, output: str | None, gain: float | None,
              check: int) -> None:
    """Write a 1-D piecewise-linear function as a resistive circuit (input VX0, output y0),
    through its one-hidden-layer ReLU expansion.

    \b
    Examples:
      resim synth pwl --points "0:0,1:1,2:0" -o tent.cir
      resim sweep tent.cir --dc vx0 0 2 0.01 --probe "v(y0)"
    """
    from .. import synth as syn

    x, y = syn.parse_points(points)
    lo, hi = input_range or (float(x[0]), float(x[-1]))
    _synthesise(syn.pwl_net(x, y), lo, hi, gain, check, output, f"piecewise-linear function {points}")

