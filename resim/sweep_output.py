"""Sweep results as CSV, JSON and a plot (``resim sweep``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

import numpy as np

from .atomic import check_writable, write_bytes
from .errors import printable
from .figure import PlotUnavailable, format_of, pyplot, save
from .sweep import SweepResult

__all__ = ["PlotUnavailable", "check_plot", "columns", "plot", "pyplot", "to_csv", "to_json"]


def columns(result: SweepResult) -> list[str]:
    return [a.label for a in result.axes] + result.probes


def to_csv(result: SweepResult) -> str:
    """One row per point: the swept values first, then the probes (full float precision).
    Names with control characters are escaped as in error messages (:func:`~resim.errors.printable`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([printable(c) for c in columns(result)])
    for point, row in zip(result.points.tolist(), result.values.tolist()):
        w.writerow([repr(x) for x in point + row])
    return buf.getvalue()


def to_json(result: SweepResult, netlist: str) -> str:
    doc = {
        "netlist": netlist,
        "axes": [{"name": a.name, "kind": a.kind, "values": a.values.tolist()} for a in result.axes],
        "columns": columns(result),
        "rows": np.concatenate([result.points, result.values], axis=1).tolist(),
        "methods": result.methods,
        "seconds": result.seconds,
    }
    return json.dumps(doc) + "\n"


def check_plot(path: str, inputs: Iterable[tuple[str, str]] = ()) -> None:
    """Raise before a sweep if :func:`plot` to ``path`` is bound to fail: no matplotlib
    (:class:`~resim.figure.PlotUnavailable`), or a path that cannot be written or is one
    of the ``inputs`` (:class:`~resim.errors.OutputError`, see
    :func:`resim.atomic.check_writable`)."""
    pyplot()
    check_writable(path, inputs)


def plot(result: SweepResult, path: str) -> None:
    """Probes against the (inner) swept value; a heat map of the first probe for 2-D sweeps.
    Written as the format ``path``'s extension names (:func:`resim.figure.format_of`;
    ValueError if none)."""
    fmt = format_of(path)
    plt = pyplot()
    axes = result.axes
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if len(axes) == 2:
        nx, ny = len(axes[0].values), len(axes[1].values)
        z = result.values[:, 0].reshape(ny, nx)
        mesh = ax.pcolormesh(axes[0].values, axes[1].values, z, shading="auto")
        fig.colorbar(mesh, ax=ax, label=result.probes[0])
        ax.set_xlabel(axes[0].label)
        ax.set_ylabel(axes[1].label)
    else:
        x = result.points[:, 0]
        inner = len(axes[0].values)
        for j, probe in enumerate(result.probes[:12]):
            for start in range(0, len(x), inner):  # one curve per outer point
                ax.plot(x[start:start + inner], result.values[start:start + inner, j],
                        label=probe if start == 0 else None)
        ax.set_xlabel(axes[0].label)
        ax.legend(fontsize="small")
    ax.set_title(f"resim sweep ({len(result.points)} points)")
    fig.tight_layout()
    try:
        data = save(fig, fmt)
    finally:
        plt.close(fig)
    write_bytes(path, data)
