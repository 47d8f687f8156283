"""The ``resim`` console script: hand ``resim solve`` to a running ``resim serve`` when
``$RESIM_SERVER`` names its socket (no numpy, click or resim import here: that is the
point), else run the command in this process."""

from __future__ import annotations

import os
import sys


def main() -> None:
    server = os.environ.get("RESIM_SERVER")
    if server and len(sys.argv) > 1 and sys.argv[1] == "solve":
        from resim.server import forward

        code = forward(server, sys.argv[1:])
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    from resim.cli import run

    run()
