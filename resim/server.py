"""``resim serve``: resim kept loaded in one process, so that short commands start fast.

Protocol (a UNIX socket, one request per connection): the client sends one JSON object
``{"argv": [...], "cwd": "...", "stdin": "..." | null, "key": "..."}`` followed by EOF
(``shutdown(SHUT_WR)``); the server answers ``{"code": N, "stdout": "...", "stderr": "..."}``.
``key`` identifies the installed resim (:func:`code_key`): a server running other code
answers ``{"code": null}`` and the client runs the command itself. Requests run one at a
time, in the client's working directory. The socket is created with mode 0600.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sys

FORWARDED = ("solve",)  # commands the client hands to a server


def code_key() -> str:
    """The newest modification time of resim's source files (a server built from other
    code must not answer)."""
    root = os.path.dirname(os.path.abspath(__file__))
    newest = 0
    for folder, _, files in os.walk(root):
        for f in files:
            if f.endswith((".py", ".lark")):
                newest = max(newest, os.stat(os.path.join(folder, f)).st_mtime_ns)
    return str(newest)


def default_socket() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return os.path.join(base, f"resim-{os.getuid()}.sock")


def serve(path: str) -> None:  # pragma: no cover - exercised in a subprocess by tests/test_server.py
    """Listen on ``path`` until killed."""
    from . import api, cli  # noqa: F401 - load everything once
    from .compile import compile_circuit  # noqa: F401
    from .netlist import parser
    from .solvers import auto, cd, exact  # noqa: F401

    parser.grammar()
    key = code_key()
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(path)
    finally:
        os.umask(old)
    server.listen(16)
    try:
        while True:
            conn, _ = server.accept()
            with conn:
                try:
                    request = json.loads(_read_all(conn))
                    reply = _handle(request, key, cli)
                except (ValueError, KeyError, OSError) as exc:
                    reply = {"code": None, "error": str(exc)}
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(reply).encode())
    finally:
        server.close()
        with contextlib.suppress(OSError):
            os.unlink(path)


def _handle(request: dict, key: str, cli) -> dict:
    if request.get("key") != key or request["argv"][:1] != ["solve"]:
        return {"code": None}
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    stdin = sys.stdin
    try:
        os.chdir(request["cwd"])
        if request.get("stdin") is not None:
            sys.stdin = io.StringIO(request["stdin"])
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.run_args(list(request["argv"]))
    finally:
        sys.stdin = stdin
        os.chdir(here)
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def _read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def forward(path: str, argv: list[str]) -> int | None:
    """Run ``argv`` on the server at ``path``; its exit code, or None when it cannot (no
    server, another version): the caller then runs the command itself."""
    stdin = None
    if "-" in argv[1:]:
        stdin = sys.stdin.read()
    request = {"argv": argv, "cwd": os.getcwd(), "stdin": stdin, "key": code_key()}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(path)
            conn.sendall(json.dumps(request).encode())
            conn.shutdown(socket.SHUT_WR)
            reply = json.loads(_read_all(conn))
    except (OSError, ValueError):
        if stdin is not None:  # stdin is consumed: it cannot be read again locally
            sys.stdin = io.StringIO(stdin)
        return None
    if reply.get("code") is None:
        if stdin is not None:
            sys.stdin = io.StringIO(stdin)
        return None
    sys.stdout.write(reply["stdout"])
    sys.stderr.write(reply["stderr"])
    return int(reply["code"])
