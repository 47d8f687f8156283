"""The client half of ``resim serve``: hand a command to a running server, safely.

The ``resim`` console script (:mod:`resim._launch`) imports this module before anything
else, so it imports only the standard library and :mod:`resim.errors` (no numpy, click or
resim's solvers: that is the point of the server).

Protocol (a UNIX socket, one request per connection): the client sends one JSON object
``{"argv": [...], "cwd": "...", "stdin": "..." | null, "key": "..."}`` followed by EOF
(``shutdown(SHUT_WR)``); the server answers ``{"code": N, "stdout": "...", "stderr": "..."}``,
or ``{"code": null}`` (possibly with an ``"error"``) when it will not run the command: a
server of other code (``key``, :func:`code_key`), a malformed, stuck or oversized request.

Trust: the client only talks to a socket owned by its own uid (checked with ``os.lstat``
before connecting, and the server process's uid with ``SO_PEERCRED`` after), so a socket
planted by another user never sees the argv, the working directory or the netlist, and
cannot forge an answer. The server refuses clients of other uids the same way.
"""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import struct
import sys

FORWARDED = ("solve",)  # commands the client hands to a server
TIMEOUT_ENV = "RESIM_SERVER_TIMEOUT"
DEFAULT_TIMEOUT = 60.0  # seconds the client waits on each socket operation before running the command itself
STDIN_LIMIT = 32 << 20  # characters of a netlist on stdin sent to the server; a longer one runs here


class NotServed(Exception):
    """The server did not run the command; the caller runs it itself. The message, when
    not empty, says why (for stderr: it is not silent when something is wrong)."""


class RequestTooLarge(ValueError):
    """More bytes arrived than the limit allows."""


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


def peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end of the UNIX socket ``conn``
    (``SO_PEERCRED``); None where the platform cannot tell."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:  # pragma: no cover - not Linux: the 0600 socket mode is the only guard
        return None
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return uid


def peer_trusted(uid: int | None, own_uid: int | None = None) -> bool:
    """Whether a peer of uid ``uid`` may be talked to: only our own uid (``own_uid``,
    default ``os.getuid()``); an unknown uid (None, no ``SO_PEERCRED``) is let through."""
    return uid is None or uid == (os.getuid() if own_uid is None else own_uid)


def socket_distrust(path: str) -> str | None:
    """Why the socket at ``path`` must not be used (it is not a socket, or belongs to
    another user), or None: a socket of ours, or nothing there at all (``os.lstat``: a
    symbolic link is not followed, so it is not a socket)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None  # no server: connecting fails and the command runs here, silently
    except OSError as exc:
        return f"cannot check it ({exc.strerror})"
    if not stat.S_ISSOCK(st.st_mode):
        return "it is not a socket"
    if st.st_uid != os.getuid():
        return f"it belongs to uid {st.st_uid}, not to you (uid {os.getuid()})"
    return None


def read_all(conn: socket.socket, limit: int | None = None) -> bytes:
    """Everything ``conn`` sends until EOF; :class:`RequestTooLarge` as soon as more than
    ``limit`` bytes arrived (the rest is never read)."""
    chunks, total = [], 0
    while True:
        want = 1 << 16 if limit is None else min(1 << 16, limit + 1 - total)
        chunk = conn.recv(want)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if limit is not None and total > limit:
            raise RequestTooLarge(f"request larger than {limit} bytes")


def client_timeout() -> float:
    """Seconds to wait on the server (``$RESIM_SERVER_TIMEOUT``, else :data:`DEFAULT_TIMEOUT`)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def forward(path: str, argv: list[str], timeout: float | None = None) -> int:
    """Run ``argv`` on the server at ``path`` and write its stdout and stderr here; its
    exit code. Raises :class:`NotServed` when it cannot (no server, another version, a
    socket that is not ours, no answer within ``timeout`` seconds, default
    :func:`client_timeout`): the caller then runs the command itself, stdin intact."""
    distrust = socket_distrust(path)
    if distrust:
        raise NotServed(f"not using the server socket {path}: {distrust}")
    stdin = _stdin_text() if "-" in argv[1:] else None
    try:
        return _exchange(path, argv, stdin, client_timeout() if timeout is None else timeout)
    except NotServed:
        if stdin is not None:  # stdin is consumed: the local run reads it from here
            sys.stdin = io.StringIO(stdin)
        raise


def endless_device(stream) -> bool:
    """Whether ``stream`` is a character device other than a terminal (``< /dev/zero``):
    reading it would never end."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, io.UnsupportedOperation):  # not a file descriptor (a StringIO)
        return False
    return stat.S_ISCHR(mode) and not stream.isatty()


class _Prefixed(io.TextIOBase):
    """A text stream that reads ``head``, then the rest of ``rest``: stdin with what the
    client read of it put back, for the local run."""

    def __init__(self, head: str, rest) -> None:
        self._head, self._rest = head, rest

    def read(self, size: int | None = -1) -> str:
        if size is None or size < 0:
            out, self._head = self._head + self._rest.read(), ""
            return out
        out, self._head = self._head[:size], self._head[size:]
        return out + (self._rest.read(size - len(out)) if len(out) < size else "")


def _stdin_text() -> str:
    """The netlist on stdin, for the request. :class:`NotServed` (the local run then reads
    or refuses it) for an endless device, or past :data:`STDIN_LIMIT` characters."""
    if endless_device(sys.stdin):
        raise NotServed("")
    text = sys.stdin.read(STDIN_LIMIT + 1)
    if len(text) > STDIN_LIMIT:
        sys.stdin = _Prefixed(text, sys.stdin)
        raise NotServed("")
    return text


def _exchange(path: str, argv: list[str], stdin: str | None, timeout: float) -> int:
    request = {"argv": argv, "cwd": os.getcwd(), "stdin": stdin, "key": code_key()}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(path)
            uid = peer_uid(conn)
            if not peer_trusted(uid):
                raise NotServed(f"not using the server socket {path}: its server runs as uid {uid}, not as you")
            conn.sendall(json.dumps(request).encode())
            conn.shutdown(socket.SHUT_WR)
            reply = json.loads(read_all(conn))
    except TimeoutError:
        raise NotServed(f"the server at {path} did not answer within {timeout:g} s") from None
    except (OSError, ValueError):
        raise NotServed("") from None  # no server (gone, stale socket): run here, silently
    if not isinstance(reply, dict):
        raise NotServed(f"the server at {path} sent a malformed answer")
    code, out, err = reply.get("code"), reply.get("stdout"), reply.get("stderr")
    if code is None:  # another version (silently), or a refused request (say why)
        raise NotServed(f"the server at {path} refused: {reply['error']}" if reply.get("error") else "")
    if not (isinstance(code, int) and isinstance(out, str) and isinstance(err, str)):
        raise NotServed(f"the server at {path} sent a malformed answer")
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code
