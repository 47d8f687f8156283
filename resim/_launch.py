"""The ``resim`` console script: hand ``resim solve`` to a running ``resim serve`` when
``$RESIM_SERVER`` names its socket (no numpy, click or resim solver import here: that is
the point; :mod:`resim.client` checks the socket is ours), else run the command in this
process. When the server cannot be used for a reason worth knowing (a socket that is not
ours, no answer in time), a line on stderr says so and the command runs here."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Entry point of the ``resim`` console script."""
    try:
        _run()
    except KeyboardInterrupt:  # Ctrl-C before a command could take it: while Python loads resim
        from resim.client import interrupted

        sys.exit(interrupted())


def _run() -> None:
    """Forward the command to the server, or run it here (see the module's docstring)."""
    server = os.environ.get("RESIM_SERVER")
    if server and len(sys.argv) > 1:
        from resim.client import FORWARDED, NotServed, forward

        if sys.argv[1] in FORWARDED:
            try:
                code = forward(server, sys.argv[1:])
            except NotServed as exc:
                if str(exc):
                    print(f"resim: {exc}; running the command here", file=sys.stderr, flush=True)
            else:
                sys.exit(code)  # a Ctrl-C while served: main's; hanging up tells the server to stop the command
    from resim.cli import run

    run()
