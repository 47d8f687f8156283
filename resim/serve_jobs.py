"""The commands ``resim serve`` runs: each in a process of its own, stopped when its client
leaves.

A command runs in a child process forked from a warm *fork server* (multiprocessing's
``forkserver``, started once by :class:`Jobs`), which has imported resim and built the
netlist grammar (:mod:`resim.serve_preload`): the child starts in a few milliseconds with
everything loaded, and the server's own threads are never forked. While the command runs,
the server watches its client's connection: when the client hangs up (Ctrl-C, killed, or
gave up waiting), the command is stopped (:func:`stop`: SIGINT first, so that it ends as a
Ctrl-C ends it, its temporary files removed; SIGKILL after :data:`STOP_GRACE` seconds) and
the next command may start. It was not before: the command ran on, at 100 % CPU, in the
server's own process, and every other client waited behind it.

This module imports multiprocessing only when a :class:`Jobs` is made: ``resim`` imports
:mod:`resim.server`, and so this module, on every start.
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

STOP_GRACE = 2.0  # seconds a command has to end after SIGINT before it is killed


class CommandFailed(Exception):
    """A command could not be run, or its process ended without an answer: the message
    says why (the server refuses the request with it, and the client runs the command)."""


class Jobs:
    """Runs commands, each in a child of a warm fork server, with ``handler(argv)``
    (a module-level function: the child finds it by its module and name)."""

    def __init__(self, handler: Callable[[list[str]], int]) -> None:
        import multiprocessing

        self.handler = handler
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload([handler.__module__, "resim.serve_preload"])
        self.running: Any = None  # the child of the command being run (one at a time)
        self._start(_nothing).join()  # start the fork server and load resim in it now, not on the first request

    def _start(self, target: Callable[..., None], *args: Any) -> Any:
        child = self.context.Process(target=target, args=args, daemon=True, name="resim-command")
        child.start()
        return child

    def run(self, request: dict, client: socket.socket) -> dict | None:
        """Run the command of ``request`` (:func:`run_command` in a child process): its
        answer, or None when ``client`` hung up before it came (the child is then stopped).
        :class:`CommandFailed` when the child raised or ended without answering."""
        if hung_up(client):  # it left while waiting for its turn
            return None
        receive, send = self.context.Pipe(duplex=False)
        with receive:
            with send:
                self.running = self._start(_child, request, self.handler, send)
            answered = False
            try:
                if not _answered(receive, client):
                    return None
                answered = True
                try:
                    kind, value = receive.recv()
                except EOFError:
                    self.running.join(STOP_GRACE)
                    raise CommandFailed(f"the command's process ended without an answer (exit code "
                                        f"{self.running.exitcode})") from None
                if kind == "raised":
                    raise CommandFailed(value)
                return value
            finally:
                if answered:  # it ends by itself once it has answered
                    self.running.join(STOP_GRACE)
                stop(self.running)
                self.running = None

    def close(self) -> None:
        """Stop the command being run, if any (the server is stopping)."""
        running = self.running  # (its thread may be done with it meanwhile)
        if running is not None:
            stop(running)


def _nothing() -> None:
    """A child that does nothing: made once to start the fork server."""


def _child(request: dict, handler: Callable[[list[str]], int], answer: Any) -> None:
    """The child process of one command: run it and send ``("answer", reply)`` or
    ``("raised", message)`` on ``answer``; stopped by SIGINT, it sends nothing."""
    try:
        try:
            outcome = ("answer", run_command(request, handler))
        except Exception as exc:  # a bad working folder, or a bug with RESIM_DEBUG set
            outcome = ("raised", f"{type(exc).__name__}: {exc}")
        with contextlib.suppress(OSError):  # the server stopped waiting
            answer.send(outcome)
    except KeyboardInterrupt:  # stopped: its client has gone, and nobody reads an answer
        pass


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


def _answered(receive: Any, client: socket.socket) -> bool:
    """Wait until the child's answer (or its end) can be read from ``receive``: True; or
    until ``client`` hangs up first: False."""
    poller = select.poll()
    poller.register(receive.fileno(), select.POLLIN)
    poller.register(client.fileno(), 0)
    while True:
        ready = dict(poller.poll())
        if receive.fileno() in ready:
            return True
        if client.fileno() in ready:
            return False


def stop(child: Any) -> None:
    """End the process ``child`` (a multiprocessing ``Process``) and wait for it: SIGINT,
    which a command takes as Ctrl-C (exit 130, temporary files removed); SIGKILL if it
    has not ended :data:`STOP_GRACE` seconds later."""
    if child.exitcode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGINT)
        child.join(STOP_GRACE)
    if child.exitcode is None:
        child.kill()
        child.join()
