"""The commands ``resim serve`` runs: in a worker process that is stopped when the client of
its command leaves.

Commands run one at a time in a *worker*, a process forked from a warm *fork server*
(multiprocessing's ``forkserver``, started once by :class:`Jobs`), which has imported resim,
built the netlist grammar and solved two small circuits (:mod:`resim.serve_preload`): a
worker starts in milliseconds with everything loaded, and the server's own threads are
never forked. A worker runs command after command, as the server's own process did (a
command costs a pipe's round trip more: forking a process per command measured 23 ms).

While a command runs, the server watches its client's connection. When the client hangs
up (Ctrl-C, killed, or tired of waiting), the worker is stopped (:func:`stop`: SIGINT
first, so that the command ends as a Ctrl-C ends it, its temporary files removed; SIGKILL
after :data:`STOP_GRACE` seconds), a fresh one is forked, and the next command may start.
It was not so before: the command ran on in the server's own process, at 100 % CPU, and
every other client waited behind it. A worker that dies (killed by the kernel for memory,
a crash) is replaced the same way; its command is refused (:class:`CommandFailed`), and
its client runs it itself.

This module imports multiprocessing only when a :class:`Jobs` is made; :mod:`resim.server`,
which ``resim`` imports on every start, imports this module only to serve.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

STOP_GRACE = 2.0  # seconds a command has to end after SIGINT before its worker is killed


class CommandFailed(Exception):
    """A command could not be run, or its worker ended without an answer: the message
    says why (the server refuses the request with it, and the client runs the command)."""


class _Worker:
    """A worker process and the two pipes the server talks to it through."""

    def __init__(self, context: Any, handler: Callable[[list[str]], int]) -> None:
        their_requests, self.requests = context.Pipe(duplex=False)  # (reading end, writing end)
        self.answers, their_answers = context.Pipe(duplex=False)
        with their_requests, their_answers:  # the worker has its own copies
            self.process = context.Process(target=_work, args=(handler, their_requests, their_answers),
                                           daemon=True, name="resim-worker")
            self.process.start()

    def stop(self) -> None:
        """End the worker and wait for it (:func:`stop`); close the pipes (its EOF)."""
        self.requests.close()  # a worker between commands ends at once
        self.answers.close()
        stop(self.process)


class Jobs:
    """Runs commands one at a time in a warm worker process, with ``handler(argv)``
    (a module-level function: the worker finds it by its module and name)."""

    def __init__(self, handler: Callable[[list[str]], int]) -> None:
        import multiprocessing

        self.handler = handler
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload([handler.__module__, "resim.serve_preload"])
        # The first worker: Process.start returns once the fork server has loaded resim
        # (serve_preload) and forked it, so the first request finds everything warm.
        self.worker: _Worker | None = _Worker(self.context, handler)

    def run(self, request: dict, client: socket.socket) -> dict | None:
        """Run the command of ``request`` (:func:`run_command`) in the worker: its answer,
        or None when ``client`` hung up before it came (the worker is then stopped and
        replaced). :class:`CommandFailed` when the command raised or its worker died."""
        if hung_up(client):  # it left while waiting for its turn
            return None
        if self.worker is None or not self.worker.process.is_alive():
            self._replace()
        worker = self.worker
        try:
            worker.requests.send(request)
            if not _answered(worker.answers, client):
                self._replace()
                return None
            kind, value = worker.answers.recv()
        except (EOFError, OSError):  # it died, before or while running the command
            worker.process.join(STOP_GRACE)
            code = worker.process.exitcode
            self._replace()
            raise CommandFailed(f"the command's process ended without an answer (exit code {code})") from None
        if kind == "raised":
            raise CommandFailed(value)
        return value

    def _replace(self) -> None:
        """Stop the worker, if any, and start a fresh one."""
        self.close()
        self.worker = _Worker(self.context, self.handler)

    def close(self) -> None:
        """Stop the worker and the command it runs, if any (the server is stopping)."""
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop()


def _work(handler: Callable[[list[str]], int], requests: Any, answers: Any) -> None:
    """A worker process: run each request received on ``requests`` and send
    ``("answer", reply)`` or ``("raised", message)`` on ``answers``, until ``requests``
    ends (the server closed it) or SIGINT stops it (its client has gone). SIGINT is taken as
    Ctrl-C even when the server was started with it ignored (``resim serve &`` in a script:
    a shell without job control ignores it in background commands), since it is how
    :func:`stop` ends a command."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while True:
            request = requests.recv()
            try:
                outcome = ("answer", run_command(request, handler))
            except Exception as exc:  # a bad working folder, or a bug with RESIM_DEBUG set
                outcome = ("raised", f"{type(exc).__name__}: {exc}")
            answers.send(outcome)


def run_command(request: dict, handler: Callable[[list[str]], int]) -> dict:
    """Run the request's command with ``handler``, in its working folder, with its stdin
    text and umask, its output collected; the answer ``{"code", "stdout", "stderr"}``.
    The process's folder, umask and stdin are put back after."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    stdin = sys.stdin
    umask = os.umask(request["umask"])
    try:
        os.chdir(request["cwd"])
        if request.get("stdin") is not None:
            sys.stdin = io.StringIO(request["stdin"])
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = handler(list(request["argv"]))
    finally:
        sys.stdin = stdin
        os.umask(umask)
        os.chdir(here)
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def hung_up(client: socket.socket) -> bool:
    """Whether the client at the other end of ``client`` has closed its connection (it
    has already shut its sending side after its request: that alone is not hanging up)."""
    poller = select.poll()
    poller.register(client.fileno(), 0)  # POLLHUP and POLLERR are always reported
    return bool(poller.poll(0))


def _answered(answers: Any, client: socket.socket) -> bool:
    """Wait until the worker's answer (or its end) can be read from ``answers``: True; or
    until ``client`` hangs up first: False."""
    poller = select.poll()
    poller.register(answers.fileno(), select.POLLIN)
    poller.register(client.fileno(), 0)
    while True:
        ready = dict(poller.poll())
        if answers.fileno() in ready:
            return True
        if client.fileno() in ready:
            return False


def stop(process: Any) -> None:
    """End ``process`` (a multiprocessing ``Process``) and wait for it: SIGINT, which a
    command takes as Ctrl-C (exit 130, temporary files removed); SIGKILL if it has not
    ended :data:`STOP_GRACE` seconds later."""
    if process.exitcode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGINT)
        process.join(STOP_GRACE)
    if process.exitcode is None:
        process.kill()
        process.join()
