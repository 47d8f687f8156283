"""Learning curves of training runs (``resim plot``).

:func:`read_run` reads the train and test error per epoch of a run folder written by
``resim train --out DIR`` (its ``metrics.jsonl``, as far as it goes while the run is still
going); :func:`render` draws one or more runs on one figure, each in its own colour, test
error solid and train error dashed, in percent against the epoch; :func:`write_plot` does
both and writes the figure (PNG, SVG or PDF, after the file's extension) through
:func:`resim.atomic.write_bytes`. matplotlib (``resim[plot]``) is imported only when a figure
is drawn.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .atomic import check_writable, write_bytes
from .drn.train import RunError
from .figure import FORMATS, format_of, output_format, save
from .figure import pyplot as figure_pyplot

__all__ = ["FORMATS", "Curves", "default_labels", "output_format", "pyplot", "read_run", "render", "write_plot"]


@dataclass(frozen=True)
class Curves:
    """A run's errors per epoch: ``train_error`` and ``test_error`` are fractions (0.1685
    for 16.85 %; NaN where a run had no test images), aligned with ``epoch``."""

    folder: str
    epoch: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray


def read_run(folder: str) -> Curves:
    """The curves in ``folder``'s ``metrics.jsonl``; :class:`~resim.drn.train.RunError`
    (exit code 2) naming the file if it is missing, empty or damaged. A last line without
    its newline that cannot be read, after rows that can, is a row still being written (a
    copy in progress): it is left out."""
    path = os.path.join(folder, "metrics.jsonl")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise RunError(f"'{path}' is not a file")
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        started = os.path.exists(os.path.join(folder, "config.resolved.toml"))
        raise RunError(f"'{folder}' holds no metrics.jsonl",
                       hint="its run has not finished an epoch yet" if started
                       else "give a run folder written by: resim train --out DIR") from None
    except OSError as exc:
        raise RunError(f"cannot read '{path}': {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RunError(f"'{path}' is damaged: it is not UTF-8 text") from None
    lines = text.split("\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = _row(line)
            if rows and row[0] <= rows[-1][0]:  # a run appends epoch after epoch (a resumed one rewrites the file)
                raise ValueError(f"'epoch' is {_json_number(row[0])}, after epoch {_json_number(rows[-1][0])}: "
                                 "epochs only increase")
            rows.append(row)
        except ValueError as exc:
            if number == len(lines) and rows:  # no newline after it: being written
                break
            raise RunError(f"'{path}' line {number} is damaged: {exc}",
                           hint="resim train writes one JSON object per epoch, with epoch, train_error "
                                "and test_error") from None
    if not rows:
        raise RunError(f"'{path}' holds no epoch", hint="its run has not finished an epoch yet")
    epoch, train, test = np.array(rows, dtype=np.float64).T
    return Curves(folder, epoch, train, test)


def _row(line: str) -> tuple[float, float, float]:
    """(epoch, train_error, test_error) of one line of metrics.jsonl; ValueError saying
    what is wrong with it. What resim train writes: an epoch 1, 2, ..., error rates in
    [0, 1], and a test error of NaN for a run without test images (drawn as no test
    curve); anything else (Infinity, NaN elsewhere, 1.5, epoch 0) is damage."""
    row = json.loads(line)  # json.JSONDecodeError is a ValueError; NaN and Infinity are read
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    values = []
    for key in ("epoch", "train_error", "test_error"):
        value = row.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"no number '{key}'")
        value = float(value)
        if key == "epoch":
            if not (math.isfinite(value) and value >= 1 and value == int(value)):
                raise ValueError(f"'epoch' is {_json_number(value)}, not a whole number from 1")
        elif not (0 <= value <= 1 or (key == "test_error" and math.isnan(value))):
            raise ValueError(f"'{key}' is {_json_number(value)}, not an error rate between 0 and 1"
                             + (" (NaN only for test_error, a run without test images)" if math.isnan(value) else ""))
        values.append(value)
    return values[0], values[1], values[2]


def _json_number(value: float) -> str:
    """``value`` as the JSON of metrics.jsonl writes it (NaN, Infinity, -Infinity, 1.5, 0)."""
    return json.dumps(int(value) if math.isfinite(value) and value == int(value) else value)


def default_labels(folders: Sequence[str]) -> list[str]:
    """Each folder's name (``runs/1h`` -> ``1h``); the folders as given when two names are
    the same (``a/run`` and ``b/run``)."""
    names = [os.path.basename(os.path.abspath(f)) for f in folders]
    return names if len(set(names)) == len(names) else list(folders)


def pyplot():
    """matplotlib.pyplot on the Agg backend; :class:`~resim.figure.PlotUnavailable`
    (exit code 2) saying how to install it."""
    return figure_pyplot("resim plot")


def render(runs: Sequence[Curves], labels: Sequence[str], fmt: str = "png", title: str | None = None) -> bytes:
    """The figure of ``runs`` (one label each) as ``fmt`` (one of :data:`FORMATS`): errors
    in percent against the epoch, test solid and train dashed in the run's colour. SVG
    keeps its text as text."""
    if len(labels) != len(runs) or fmt not in FORMATS:
        raise ValueError(f"render: {len(runs)} runs need as many labels (got {len(labels)}), "
                         f"and fmt one of {FORMATS} (got {fmt!r})")
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "resim"}):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        try:
            lines = []
            for i, run in enumerate(runs):
                style = {"color": f"C{i % 10}", "marker": "o", "markersize": 3}  # a marker: 1 epoch is 1 point
                lines += ax.plot(run.epoch, 100 * run.test_error, "-", **style)
                ax.plot(run.epoch, 100 * run.train_error, "--", **style)
            lines += [Line2D([], [], color="0.4", linestyle="-"), Line2D([], [], color="0.4", linestyle="--")]
            ax.legend(lines, [_literal(s) for s in labels] + ["test error", "train error"], fontsize="small")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.set_ylabel("error (%)")
            ax.grid(alpha=0.3)
            if title:
                ax.set_title(_literal(title))
            fig.tight_layout()
            return save(fig, fmt)
        finally:
            plt.close(fig)


def _literal(text: str) -> str:
    """``text`` shown as written: a ``$`` would start matplotlib's math mode."""
    return text.replace("$", r"\$")


def write_plot(folders: Sequence[str], path: str, labels: Sequence[str] | None = None,
               title: str | None = None) -> None:
    """Draw the runs in ``folders`` (labelled ``labels``, default :func:`default_labels`)
    into ``path``, whose extension names the format (ValueError if none of
    :data:`FORMATS`). matplotlib and ``path`` are checked before any run is read:
    :class:`~resim.figure.PlotUnavailable`, :class:`~resim.errors.OutputError` (also for
    a ``path`` that is a run's metrics.jsonl);
    a run that cannot be read is a :class:`~resim.drn.train.RunError`."""
    fmt = format_of(path)
    pyplot()
    check_writable(path, [("the metrics", os.path.join(f, "metrics.jsonl")) for f in folders])
    runs = [read_run(f) for f in folders]
    write_bytes(path, render(runs, labels or default_labels(folders), fmt, title))
