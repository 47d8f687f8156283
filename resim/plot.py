"""Learning curves of training runs (``resim plot``).

:func:`read_run` reads the train and test error per epoch of a run folder written by
``resim train --out DIR`` (its ``metrics.jsonl``, as far as it goes while the run is still
going). :func:`read_seeds` reads a folder of one configuration's seeds: either the runs'
per-epoch metrics kept as ``seed<k>.csv`` files (what ``docs/runs/<row>/`` holds, so a
figure can be redrawn without the run folders) or run folders named ``seed<k>/``.
:func:`render` draws one or more of these on one figure, each in its own colour, test
error solid and train error dashed, in percent against the epoch; several seeds are drawn
as their mean with the band between the lowest and the highest seed. :func:`write_plot`
reads and draws, and writes the figure (PNG, SVG or PDF, after the file's extension)
through :func:`resim.atomic.write_bytes`. matplotlib (``resim[plot]``) is imported only
when a figure is drawn.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import stat
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .atomic import check_writable, write_bytes
from .errors import RunError
from .figure import FORMATS, format_of, output_format, save
from .figure import pyplot as figure_pyplot

__all__ = ["FORMATS", "Curves", "default_labels", "output_format", "pyplot", "read", "read_csv", "read_run",
           "read_seeds", "render", "write_plot"]


@dataclass(frozen=True)
class Curves:
    """A run's errors per epoch: ``train_error`` and ``test_error`` are fractions (0.1685
    for 16.85 %; NaN where a run had no test images), aligned with ``epoch``."""

    folder: str
    epoch: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray


def read_run(folder: str) -> Curves:
    """The curves in ``folder``'s ``metrics.jsonl``; :class:`~resim.errors.RunError`
    (exit code 2) naming the file if it is missing, empty or damaged. A last line without
    its newline that cannot be read, after rows that can, is a row still being written (a
    copy in progress): it is left out."""
    path = os.path.join(folder, "metrics.jsonl")
    try:
        text = _text(path)
    except (FileNotFoundError, NotADirectoryError):
        started = os.path.exists(os.path.join(folder, "config.resolved.toml"))
        raise RunError(f"'{folder}' holds no metrics.jsonl",
                       hint="its run has not finished an epoch yet" if started
                       else "give a run folder written by resim train --out DIR, or a folder of "
                            "seed<k>.csv files or seed<k>/ run folders") from None
    lines = text.split("\n")
    return _curves(folder, path, [(n, line, lambda line=line: _row(json.loads(line)), n == len(lines))
                                  for n, line in enumerate(lines, 1) if line.strip()],
                   "resim train writes one JSON object per epoch, with epoch, train_error and test_error")


def read_csv(path: str) -> Curves:
    """The curves (``folder``: ``path``) in ``path``, a run's ``metrics.csv`` (as ``docs/runs/<row>/seed<k>.csv``
    keeps it); :class:`~resim.errors.RunError` naming the file and line if it is
    missing, empty or damaged."""
    try:
        text = _text(path)
    except (FileNotFoundError, NotADirectoryError):
        raise RunError(f"'{path}' does not exist") from None
    lines = text.split("\n")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"epoch", "train_error", "test_error"} <= set(reader.fieldnames):
        raise RunError(f"'{path}' line 1 is not a metrics.csv header",
                       hint="its first line names the columns, among them epoch, train_error and test_error")
    rows = []
    for record in reader:
        number = reader.line_num
        rows.append((number, lines[number - 1], lambda record=record: _row(_numbers(record)), number == len(lines)))
    return _curves(path, path, rows,
                   "resim train writes one row per epoch, with epoch, train_error and test_error")


def _numbers(record: dict) -> dict:
    """A CSV row's fields as numbers where they read as one (``nan`` too), else as given."""
    def number(text):
        try:
            return float(text) if text is not None else None
        except ValueError:
            return text
    return {key: number(value) for key, value in record.items()}


def read_seeds(folder: str) -> list[Curves]:
    """The runs of one configuration's seeds in ``folder``, in the order of their seeds:
    its ``seed<k>.csv`` files (a run's metrics kept as ``docs/runs/<row>/`` keeps them),
    else its run folders ``seed<k>/``. An empty list when it holds neither."""
    try:
        names = os.listdir(folder)
    except OSError as exc:
        raise RunError(f"cannot read '{folder}': {exc.strerror or exc}") from None

    def seeds(pattern):
        found = [(int(m.group(1)), name) for name in names if (m := re.fullmatch(pattern, name))]
        return [name for _, name in sorted(found)]

    files = [n for n in seeds(r"seed(\d+)\.csv") if os.path.isfile(os.path.join(folder, n))]
    if files:
        return [read_csv(os.path.join(folder, n)) for n in files]
    runs = [n for n in seeds(r"seed(\d+)") if os.path.isfile(os.path.join(folder, n, "metrics.jsonl"))]
    return [read_run(os.path.join(folder, n)) for n in runs]


def read(folder: str) -> list[Curves]:
    """What ``resim plot`` draws of ``folder`` as one curve: a run folder (its
    metrics.jsonl) as one run, a folder of seeds (:func:`read_seeds`) as their band; the
    :class:`~resim.errors.RunError` of :func:`read_run` when it is neither."""
    if not os.path.exists(os.path.join(folder, "metrics.jsonl")):
        seeds = read_seeds(folder)
        if seeds:
            return seeds
    return [read_run(folder)]


def _text(path: str) -> str:
    """The UTF-8 text of the file ``path``; FileNotFoundError/NotADirectoryError as they
    come, any other failure a :class:`~resim.errors.RunError` naming the file."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise RunError(f"'{path}' is not a file")
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as exc:
        raise RunError(f"cannot read '{path}': {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RunError(f"'{path}' is damaged: it is not UTF-8 text") from None


def _curves(folder: str, path: str, lines: list, hint: str) -> Curves:
    """The Curves of a file's rows: ``lines`` holds (line number, text, parse, last) for
    each row, ``parse()`` its (epoch, train_error, test_error) or a ValueError. A last line
    without its newline that cannot be read, after rows that can, is a row still being
    written: it is left out."""
    rows = []
    for number, _, parse, last in lines:
        try:
            row = parse()
            if rows and row[0] <= rows[-1][0]:  # a run appends epoch after epoch (a resumed one rewrites the file)
                raise ValueError(f"'epoch' is {_json_number(row[0])}, after epoch {_json_number(rows[-1][0])}: "
                                 "epochs only increase")
            rows.append(row)
        except ValueError as exc:
            if last and rows:  # no newline after it: being written
                break
            raise RunError(f"'{path}' line {number} is damaged: {exc}", hint=hint) from None
    if not rows:
        raise RunError(f"'{path}' holds no epoch", hint="its run has not finished an epoch yet")
    epoch, train, test = np.array(rows, dtype=np.float64).T
    return Curves(folder, epoch, train, test)


def _row(row: object) -> tuple[float, float, float]:
    """(epoch, train_error, test_error) of one row of metrics (a JSON object or a CSV
    row); ValueError saying what is wrong with it. What resim train writes: an epoch 1, 2,
    ..., error rates in [0, 1], and a test error of NaN for a run without test images
    (drawn as no test curve); anything else (Infinity, NaN elsewhere, 1.5, epoch 0) is
    damage."""
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


def render(runs: Sequence[Curves | Sequence[Curves]], labels: Sequence[str], fmt: str = "png",
           title: str | None = None) -> bytes:
    """The figure of ``runs`` (one label each) as ``fmt`` (one of :data:`FORMATS`): errors
    in percent against the epoch, test solid and train dashed in the run's colour. An entry
    of ``runs`` that is a sequence of Curves (one configuration's seeds) is drawn as the
    seeds' mean per epoch, with the band from the lowest to the highest seed shaded, and
    ``(n seeds)`` after its label. SVG keeps its text as text."""
    groups = [[r] if isinstance(r, Curves) else list(r) for r in runs]
    if len(labels) != len(groups) or fmt not in FORMATS or not all(groups):
        raise ValueError(f"render: {len(groups)} runs need as many labels (got {len(labels)}), each at least "
                         f"one run, and fmt one of {FORMATS} (got {fmt!r})")
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "resim"}):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        try:
            lines, names = [], []
            banded = False
            for i, (group, label) in enumerate(zip(groups, labels)):
                epoch, test, train = _stack(group)
                # markers for a few epochs (1 epoch is 1 point); plain lines for a long run and for a band
                markers = 3 if len(epoch) <= 30 and len(group) == 1 else 0
                style = {"color": f"C{i % 10}", "marker": "o", "markersize": markers}
                if len(group) > 1:
                    banded = True
                    for values in (test, train):
                        with warnings.catch_warnings():  # an epoch without a test error in any seed: no band
                            warnings.simplefilter("ignore", RuntimeWarning)
                            low, high = np.nanmin(values, 0), np.nanmax(values, 0)
                        ax.fill_between(epoch, 100 * low, 100 * high, color=style["color"], alpha=0.18, linewidth=0)
                    label = f"{label} ({len(group)} seeds)"
                with np.errstate(all="ignore"):  # an epoch no seed has reached is NaN: not drawn
                    test_mean, train_mean = _nanmean(test), _nanmean(train)
                lines += ax.plot(epoch, 100 * test_mean, "-", **style)
                ax.plot(epoch, 100 * train_mean, "--", **style)
                names.append(_literal(label))
            lines += [Line2D([], [], color="0.4", linestyle="-"), Line2D([], [], color="0.4", linestyle="--")]
            names += ["test error", "train error"]
            if banded:
                from matplotlib.patches import Patch
                lines.append(Patch(color="0.4", alpha=0.18, linewidth=0))
                names.append("seeds' range (mean drawn)")
            ax.legend(lines, names, fontsize="small")
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


def _stack(group: Sequence[Curves]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The epochs 1..E that any run of ``group`` reached, and its runs' test and train
    errors as [runs, E] arrays, NaN where a run has not reached an epoch (a run still
    going)."""
    last = int(max(c.epoch.max() for c in group))
    test = np.full((len(group), last), np.nan)
    train = np.full((len(group), last), np.nan)
    for k, c in enumerate(group):
        index = c.epoch.astype(np.int64) - 1
        test[k, index], train[k, index] = c.test_error, c.train_error
    return np.arange(1, last + 1, dtype=np.float64), test, train


def _nanmean(values: np.ndarray) -> np.ndarray:
    """The mean over the rows of ``values`` leaving NaNs out; NaN where a column has none."""
    counts = np.sum(~np.isnan(values), axis=0)
    return np.where(counts > 0, np.nansum(values, axis=0) / np.maximum(counts, 1), np.nan)


def _literal(text: str) -> str:
    """``text`` shown as written: a ``$`` would start matplotlib's math mode."""
    return text.replace("$", r"\$")


def write_plot(folders: Sequence[str], path: str, labels: Sequence[str] | None = None,
               title: str | None = None) -> None:
    """Draw the runs in ``folders`` (each a run folder or a folder of seeds, :func:`read`;
    labelled ``labels``, default :func:`default_labels`) into ``path``, whose extension names the format (ValueError if none of
    :data:`FORMATS`). matplotlib and ``path`` are checked before any run is read:
    :class:`~resim.figure.PlotUnavailable`, :class:`~resim.errors.OutputError` (also for
    a ``path`` that is a run's metrics.jsonl);
    a run that cannot be read is a :class:`~resim.errors.RunError`."""
    fmt = format_of(path)
    pyplot()
    check_writable(path, [("the metrics", os.path.join(f, "metrics.jsonl")) for f in folders]
                   + [("the metrics", os.path.join(f, name)) for f in folders if os.path.isdir(f)
                      for name in os.listdir(f) if name.endswith(".csv")])
    runs = [read(f) for f in folders]
    write_bytes(path, render(runs, labels or default_labels(folders), fmt, title))
