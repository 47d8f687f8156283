"""The client half of ``resim serve``: hand a command to a running server, safely.

The ``resim`` console script (:mod:`resim._launch`) imports this module before anything
else, so it imports only the standard library, :mod:`resim.errors` and :mod:`resim.streams`
(no numpy, click or resim's solvers: that is the point of the server).

Protocol (a UNIX socket, one request per connection): the client sends one JSON object
``{"argv": [...], "cwd": "...", "stdin": "..." | null, "key": "...", "umask": N, "env": {...}}``
followed by EOF (``shutdown(SHUT_WR)``); the server answers ``{"code": N, "stdout": "...",
"stderr": "..."}``, or ``{"code": null}`` (possibly with an ``"error"``) when it will not run
the command: a server of other code (``key``, :func:`code_key`) or of other settings
(``env``, :func:`behaviour_env`), a malformed, stuck or oversized request, or a server busy
with :data:`resim.server.MAX_CONNECTIONS` requests.

Same results, files and exit codes: the server runs the command in the client's working
folder, with its stdin text and its umask (files it writes get the client's modes), and
only when the environment variables that change what resim does are the same for both
(:func:`behaviour_env`). The client runs the command itself (:func:`runs_here`) when it
could not be the same: a table goes to stdout, a terminal (it is drawn for it), ``RESIM_DEBUG`` is
set (a traceback belongs to this process), or an argument names a file of this process
(``/dev/stdout``, ``/dev/fd/3``, ``/proc/self/...``, ``/dev/tty``: in the server they would
name the server's own).

Trust: the client only talks to a socket owned by its own uid (checked with ``os.lstat``
before connecting, and the server process's uid with ``SO_PEERCRED`` after), so a socket
planted by another user never sees the argv, the working directory or the netlist, and
cannot forge an answer. The server refuses clients of other uids the same way.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import stat
import struct
import sys
import time

from .errors import Interrupted
from .streams import silence

FORWARDED = ("solve",)  # commands the client hands to a server
TIMEOUT_ENV = "RESIM_SERVER_TIMEOUT"
DEFAULT_TIMEOUT = 60.0  # seconds the client waits on each socket operation before running the command itself
STDIN_LIMIT = 32 << 20  # characters of a netlist on stdin sent to the server; a longer one runs here
# Environment variables that change what a command does (or its last bits: BLAS and OpenMP
# thread counts and kernels, numpy's CPU features), read once at import by some: the server
# runs a command only when the client's are the same as its own. Not the client's own settings.
BEHAVIOUR_PREFIXES = ("RESIM_", "NPY_", "OMP_", "OPENBLAS_", "GOTO_", "MKL_", "VECLIB_")
CLIENT_ONLY = "RESIM_SERVER"  # RESIM_SERVER, RESIM_SERVER_TIMEOUT: where and how long to ask
# Names that mean this process's own streams or files: the server would open its own
_OWN_FILES = ("/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/tty")


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


def behaviour_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables of ``environ`` (default ``os.environ``) that change what a command
    does: :data:`BEHAVIOUR_PREFIXES`, less the client's own (``RESIM_SERVER*``)."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k.startswith(BEHAVIOUR_PREFIXES) and not k.startswith(CLIENT_ONLY)}


def current_umask() -> int:
    """This process's umask (set and put back: the client has one thread)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def names_own_file(path: str) -> bool:
    """Whether ``path`` names a file of this process (``/dev/stdout``, ``/dev/fd/3``,
    anything in ``/proc``, ``/dev/tty``), itself or through symbolic links: in the server's
    process it would name the server's own."""
    here = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        with contextlib.suppress(OSError, ValueError):  # a name too long, a NUL: not one of ours
            here = os.path.join(os.path.realpath(os.path.dirname(here)), os.path.basename(here))
        if here in _OWN_FILES or here.startswith(("/dev/fd/", "/proc/")) or here in ("/dev/fd", "/proc"):
            return True
        try:
            if not os.path.islink(here):
                return False
            here = os.path.join(os.path.dirname(here), os.readlink(here))
        except (OSError, ValueError):
            return False
    return False


def runs_here(argv: list[str]) -> bool:
    """Whether the command ``argv`` must run in this process rather than the server's, to
    give the same output: it draws a table for the terminal that stdout is
    (:func:`table_to_stdout`), ``RESIM_DEBUG`` is set, or an argument (or the VALUE of
    ``--opt=VALUE`` or ``-oVALUE``) names a file of this process (:func:`names_own_file`;
    ``-`` is not one: stdin's text is sent)."""
    try:
        if sys.stdout.isatty() and table_to_stdout(argv):
            return True
    except (ValueError, AttributeError):  # a closed or missing stdout
        return True
    if os.environ.get("RESIM_DEBUG"):
        return True
    for arg in argv[1:]:
        values = {arg}
        if arg.startswith("-") and not arg.startswith("--"):
            values.add(arg[2:])
        if "=" in arg:
            values.add(arg.split("=", 1)[1])
        if any(v not in ("", "-") and names_own_file(v) for v in values):
            return True
    return False


def table_to_stdout(argv: list[str]) -> bool:
    """Whether ``resim solve`` with ``argv`` may print its table on stdout (drawn for a
    terminal's width, in bold, when stdout is one): no ``--format json|csv`` and no
    ``-o``/``--output``. In doubt, yes."""
    fmt, to_file = "table", False
    args = argv[1:]
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--format" and i + 1 < len(args):
            fmt = args[i + 1]
        elif arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
        elif arg in ("-o", "--output") or arg.startswith(("-o", "--output=")):
            to_file = True
    return fmt not in ("json", "csv") and not to_file


def read_all(conn: socket.socket, limit: int | None = None, deadline: float | None = None) -> bytes:
    """Everything ``conn`` sends until EOF; :class:`RequestTooLarge` as soon as more than
    ``limit`` bytes arrived (the rest is never read); ``TimeoutError`` if EOF has not come
    by ``deadline`` (a ``time.monotonic()`` time: one limit for the whole read, however
    slowly the bytes trickle in)."""
    chunks, total = [], 0
    while True:
        want = 1 << 16 if limit is None else min(1 << 16, limit + 1 - total)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no EOF by the deadline")
            conn.settimeout(left)
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
    exit code. Raises :class:`NotServed` when it cannot or must not (no server, another
    version or other settings, a socket that is not ours, no answer within ``timeout``
    seconds, default :func:`client_timeout`, or a command that must run here,
    :func:`runs_here`): the caller then runs the command itself, stdin intact."""
    distrust = socket_distrust(path)
    if distrust:
        raise NotServed(f"not using the server socket {path}: {distrust}")
    if runs_here(argv):
        raise NotServed("")
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
    request = {"argv": argv, "cwd": os.getcwd(), "stdin": stdin, "key": code_key(), "umask": current_umask(),
               "env": behaviour_env()}
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
    return relay(out, err, code)


def relay(out: str, err: str, code: int) -> int:
    """Write a served command's stdout ``out`` and stderr ``err`` here (stderr first, as
    a command run here writes its warnings before its result); its exit code ``code``, as
    if it had run here: a stdout whose reader has gone (``| head``) ends it quietly, exit
    code 0, and a message lost to a stderr whose reader has gone keeps its code
    (:func:`resim.streams.silence` spares the exit a broken pipe)."""
    try:
        sys.stderr.write(err)
        sys.stderr.flush()
    except BrokenPipeError:
        silence(sys.stderr)
    try:
        sys.stdout.write(out)
        sys.stdout.flush()
    except BrokenPipeError:
        silence(sys.stdout)
        return 0
    return code


def interrupted() -> int:
    """Report a Ctrl-C that stopped a served command (closing the connection has told the
    server to stop it) as a command run here reports it: its one line, exit code 130."""
    with contextlib.suppress(OSError):
        print(Interrupted().render(), file=sys.stderr, flush=True)
    return Interrupted.exit_code
