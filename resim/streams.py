"""The standard streams when their reader has gone (``resim ... | head``, ``2>&1 | true``).

Standard library only: the ``resim`` console script's client (:mod:`resim.client`) uses
it before anything else is imported."""

from __future__ import annotations

import contextlib
import os
from typing import TextIO


def silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor (stdout's or stderr's) at /dev/null, so that
    Python's flush at exit finds no broken pipe to report ("Exception ignored ...
    BrokenPipeError", and exit status 120): the recipe of Python's documentation of SIGPIPE.
    A stream without a descriptor (a ``StringIO``) is left as it is."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
