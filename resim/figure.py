"""Figures written to files (``resim plot -o``, ``resim sweep --plot``): one rule for both.

The format follows the file's extension, one of :data:`FORMATS` (``-``, stdout, is no
figure file); matplotlib (``resim[plot]``) is imported only when a figure is drawn, on its
Agg backend (no display needed), and :func:`save` leaves out the date, so that the same
data give the same file.
"""

from __future__ import annotations

import io
import os

from .errors import ResimError

FORMATS = ("png", "svg", "pdf")  # what a figure file's extension may be
_SAVE = {  # savefig's metadata per format: no date, so the same data give the same file
    "png": {},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None},
}


class PlotUnavailable(ResimError):
    """A figure was asked for but matplotlib is not installed (usage: exit 2)."""

    exit_code = 2


def output_format(path: str) -> str | None:
    """The figure format that ``path``'s extension names (one of :data:`FORMATS`), or None."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return ext if ext in FORMATS else None


def format_of(path: str) -> str:
    """:func:`output_format` of ``path``, or ValueError saying which extensions a figure
    file may have (the one message of ``plot -o`` and ``sweep --plot``)."""
    fmt = output_format(path)
    if fmt is None:
        raise ValueError(f"'{path}': a figure is written to a file whose extension names its format, "
                         f"one of {', '.join('.' + f for f in FORMATS)}")
    return fmt


def pyplot(what: str = "--plot"):
    """matplotlib.pyplot on the Agg backend, or :class:`PlotUnavailable` saying that
    ``what`` (an option or a command) needs it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotUnavailable(f"{what} needs matplotlib, which is not installed",
                              hint="pip install 'resim[plot]'") from None
    return plt


def save(fig, fmt: str) -> bytes:
    """The figure ``fig`` as ``fmt`` (one of :data:`FORMATS`), without a date."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110, metadata=_SAVE[fmt])
    return buf.getvalue()
