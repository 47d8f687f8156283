"""``resim serve``: resim kept loaded in a background process (:mod:`resim.server`) that runs
the commands it is sent with the CLI's own :func:`resim.cli.run_args`, given to
:func:`serve_command` by the package (this module cannot import its package: a cycle)."""

from __future__ import annotations

import os
from collections.abc import Callable

import click

from ..server import MAX_REQUEST, READ_TIMEOUT
from .common import note


def serve_command(handler: Callable[[list[str]], int]) -> click.Command:
    """The ``resim serve`` command, whose server runs each command with ``handler(argv)`` (the
    exit code; errors reported on stderr): :func:`resim.cli.run_args`, a module-level function,
    which the server's worker processes import by name."""

    @click.command()
    @click.option("--socket", "socket_path", type=click.Path(dir_okay=False), metavar="PATH",
                  help="Where to listen (default: $RESIM_SERVER, else server.sock in a private 0700 folder: "
                       "$XDG_RUNTIME_DIR/resim/ or /tmp/resim-UID/). Only a stale socket is ever replaced.")
    @click.option("--read-timeout", type=click.FloatRange(0, min_open=True), default=READ_TIMEOUT, show_default=True,
                  metavar="SECONDS", help="Seconds a client may take to send its whole request before it is refused.")
    @click.option("--max-request", type=click.IntRange(1), default=MAX_REQUEST, show_default=True, metavar="BYTES",
                  help="Largest request read (a netlist sent on stdin counts); larger ones are refused unread.")
    def serve(socket_path: str | None, read_timeout: float, max_request: int) -> None:
        """Keep resim loaded in a background process, for fast `resim solve` in shell loops.

        Python, numpy and resim's modules take ~0.3 s to load; a `resim solve` whose
        $RESIM_SERVER names this server's socket skips that and takes ~0.05 s. Results, files
        written (with your umask) and exit codes are the same as without the server; if the
        server is gone, runs another version of resim, is busy, does not answer within
        $RESIM_SERVER_TIMEOUT seconds (default 60) or its socket is not yours, `resim` runs
        the command itself. So it does when your RESIM_* variables (but RESIM_SERVER*),
        numpy's (NPY_*) or the BLAS ones (OMP_*, OPENBLAS_*, GOTO_*, MKL_*, VECLIB_*)
        differ from the server's, when RESIM_DEBUG is set, when the table goes to a
        terminal (it is drawn for it: -o, --format csv or json, or a pipe are served), and
        when an argument names /dev/stdin, /dev/stdout, /dev/fd/N, /proc/... or /dev/tty.
        A command is stopped when its client goes (Ctrl-C on it: exit 130,
        "interrupted"), and the next one runs at once. The server answers only your own user; it stops on
        SIGTERM or Ctrl-C and removes its socket.

        \b
        Example:
          resim serve &      # prints its socket, e.g. /tmp/resim-1000/server.sock
          export RESIM_SERVER=/tmp/resim-1000/server.sock
          for f in nets/*.cir; do resim solve "$f" --format csv > "${f%.cir}.csv"; done
        """
        from ..server import default_socket, serve as run_server

        def ready(path: str) -> None:
            note(f"resim server listening on {path}; use it with: export RESIM_SERVER={path}")

        path = socket_path or os.environ.get("RESIM_SERVER") or default_socket()
        run_server(path, handler, read_timeout=read_timeout, max_request=max_request, on_ready=ready)

    return serve
