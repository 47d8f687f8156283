"""``resim serve``: resim kept loaded in one process, so that short commands start fast.

The protocol and the client are in :mod:`resim.client`. The server:

* listens on a socket of mode 0600; it never removes anything at its path but a stale
  socket of ours (one that refuses connections): a file, a folder, a link, a live server
  or another user's socket there is a :class:`SocketPathError`;
* by default listens in a private folder (:func:`default_socket`: ``$XDG_RUNTIME_DIR/resim/``
  or ``/tmp/resim-<uid>/``, mode 0700, ours, not a link), never at a predictable path in a
  folder that other users can write;
* answers only clients of its own uid (``SO_PEERCRED``, :func:`resim.client.peer_trusted`);
* reads each request in its own thread, for at most ``read_timeout`` seconds in all (one
  deadline, however slowly the bytes come) and ``max_request`` bytes, so a stuck, slow or
  huge client delays no one; a malformed request gets an error answer. At most
  :data:`MAX_CONNECTIONS` requests are read or run at once: the accept loop never waits,
  and answers one more at once with a "busy" refusal (its client runs the command itself);
* runs a command only when the client's :func:`resim.client.behaviour_env` is its own.
  Commands run one at a time, in a worker process (:mod:`resim.serve_jobs`), in the
  client's working folder, with its umask, by the function :func:`serve` is given
  (``resim serve`` gives :func:`resim.cli.run_args`: this module does not import the CLI
  that imports it). The server's own stdin is ``/dev/null``;
* stops a command whose client has left (hung up: Ctrl-C, killed, or tired of waiting),
  with its worker, so that it neither runs on nor holds up the next client.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable

from .client import FORWARDED, RequestTooLarge, behaviour_env, code_key, peer_trusted, peer_uid, read_all
from .errors import ResimError

MAX_REQUEST = 64 << 20  # bytes: a netlist sent on stdin fits many times over
READ_TIMEOUT = 10.0  # seconds a client may take to send its whole request
MAX_CONNECTIONS = 64  # requests being read or run at once; one more is refused at once ("busy")


class SocketPathError(ResimError):
    """The server cannot listen at this path: something other than a stale socket of
    ours is there, or the default folder is not private."""

    exit_code = 2


def runtime_folder(environ: dict[str, str] | None = None) -> str:
    """The private folder of the default socket: ``$XDG_RUNTIME_DIR/resim``, else
    ``/tmp/resim-<uid>``."""
    base = (os.environ if environ is None else environ).get("XDG_RUNTIME_DIR")
    return os.path.join(base, "resim") if base else f"/tmp/resim-{os.getuid()}"


def private_folder(path: str) -> str:
    """Create the folder ``path`` (mode 0700) unless it exists, and check that it is a
    folder (not a link), ours, and closed to everyone else; ``path``."""
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        st = os.lstat(path)
    except OSError as exc:
        raise SocketPathError(f"cannot create the server folder {path}: {exc.strerror}",
                              hint="choose a socket with --socket PATH") from None
    problem = _not_private(st)
    if problem:
        raise SocketPathError(f"refusing the server folder {path}: {problem}",
                              hint="remove it, or choose a socket with --socket PATH")
    return path


def _not_private(st: os.stat_result) -> str | None:
    """Why the folder of ``os.lstat`` result ``st`` is not private, or None."""
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a folder"  # a file, or a link (even to a private folder)
    if st.st_uid != os.getuid():
        return f"it belongs to uid {st.st_uid}, not to you (uid {os.getuid()})"
    if st.st_mode & 0o077:
        return f"its mode is {stat.S_IMODE(st.st_mode):04o}, not 0700"
    return None


def default_socket(environ: dict[str, str] | None = None) -> str:
    """The default socket path, in :func:`runtime_folder` (created, and checked to be private)."""
    return os.path.join(private_folder(runtime_folder(environ)), "server.sock")


def clear_stale_socket(path: str) -> None:
    """Remove ``path`` if it is a stale socket of ours (nothing listens on it); do nothing
    when nothing is there; else :class:`SocketPathError`."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    hint = "choose another path with --socket, or remove it yourself if it is not needed"
    if not stat.S_ISSOCK(st.st_mode):
        kind = "folder" if stat.S_ISDIR(st.st_mode) else "symbolic link" if stat.S_ISLNK(st.st_mode) else "file"
        raise SocketPathError(f"{path} exists and is a {kind}, not a socket: refusing to replace it", hint=hint)
    if st.st_uid != os.getuid():
        raise SocketPathError(f"{path} is a socket of uid {st.st_uid}, not yours: refusing to replace it", hint=hint)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            os.unlink(path)  # stale: its server is gone
            return
        except OSError:
            pass  # a server too busy to accept is still a server
    raise SocketPathError(f"a server is already listening on {path}",
                          hint=f"use it (export RESIM_SERVER={path}) or choose another path with --socket")


def serve(path: str, handler: Callable[[list[str]], int], *, read_timeout: float = READ_TIMEOUT,
          max_request: int = MAX_REQUEST,
          on_ready: Callable[[str], None] | None = None) -> None:  # pragma: no cover - run in a subprocess by tests
    """Listen on ``path`` until SIGTERM (then return) or Ctrl-C (KeyboardInterrupt), and
    remove the socket; ``on_ready(path)`` once resim is loaded and requests are answered.

    ``handler(argv)`` runs one command (``argv`` without the program name, e.g.
    ``["solve", "net.cir"]``) and returns its exit code, having reported errors on its
    stderr: :func:`resim.cli.run_args`. It is called in a worker process, with the
    request's working folder, stdin, stdout and stderr in place, one command at a time
    (:class:`resim.serve_jobs.Jobs`: it must be a module-level function). Passing it in
    keeps this module free of :mod:`resim.cli`, which imports it for ``resim serve``."""
    from .serve_jobs import Jobs

    listener = _bind(path)  # a path that cannot be used fails before the second of imports
    ours = os.lstat(path).st_ino
    restore = _stop_on_sigterm()
    jobs = None
    try:
        listener.listen(16)  # early clients wait in the queue while resim loads
        _stdin_from_devnull()
        jobs = Jobs(handler)  # resim loaded in the fork server of the commands' processes
        session = _Session(code_key(), jobs.run, read_timeout, max_request)
        slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        if on_ready:
            on_ready(path)
        while True:
            conn, _ = listener.accept()
            if slots.acquire(blocking=False):
                threading.Thread(target=session.answer, args=(conn, slots.release), daemon=True).start()
            else:  # never wait here: that would block every client behind slow ones
                _busy(conn)
    except _Stop:
        pass
    finally:
        restore()
        listener.close()
        if jobs is not None:
            jobs.close()
        with contextlib.suppress(OSError):
            if os.lstat(path).st_ino == ours:  # never remove what another server put there since
                os.unlink(path)


def _stdin_from_devnull() -> None:  # pragma: no cover - run in a subprocess by tests
    """Point file descriptor 0 at /dev/null: a command never reads the terminal or pipe the
    server was started from (its client's stdin is sent as text, or the client runs it)."""
    with contextlib.suppress(OSError):
        fd = os.open(os.devnull, os.O_RDONLY)
        if fd != 0:
            os.dup2(fd, 0)
            os.close(fd)


def _busy(conn: socket.socket) -> None:
    """Refuse ``conn`` at once, without reading it: every slot is taken."""
    with conn, contextlib.suppress(OSError):
        conn.setblocking(False)  # a small answer fits a fresh socket's buffer; never wait on it
        if peer_trusted(peer_uid(conn)):
            conn.sendall(json.dumps(_refusal(f"busy: {MAX_CONNECTIONS} requests are being read or run")).encode())


def _bind(path: str) -> socket.socket:
    """A socket bound at ``path`` (mode 0600), after :func:`clear_stale_socket`."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        clear_stale_socket(path)
        listener.bind(path)
    except OSError as exc:  # a missing or closed folder, a path too long for a socket, ...
        listener.close()
        raise SocketPathError(f"cannot listen on {path}: {exc.strerror or exc}",
                              hint="choose another path with --socket") from None
    except BaseException:
        listener.close()
        raise
    finally:
        os.umask(old)
    return listener


class _Stop(Exception):
    """SIGTERM: stop serving."""


def _stop_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM raise :class:`_Stop` in the main thread (so that the socket is
    removed); a function that puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise _Stop

    old = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, old)


class _Session:
    """What every connection of one server shares: the code key, the function that runs a
    command, the limits, and the lock that runs commands one at a time.

    ``run(request, conn)`` runs the command of a valid ``request`` and returns the answer,
    or None when the client of ``conn`` has hung up and the command was stopped
    (:meth:`resim.serve_jobs.Jobs.run`)."""

    def __init__(self, key: str, run: Callable[[dict, socket.socket], dict | None], read_timeout: float,
                 max_request: int, env: dict[str, str] | None = None) -> None:
        self.key, self.run = key, run
        self.read_timeout, self.max_request = read_timeout, max_request
        self.env = behaviour_env() if env is None else env  # a client with others runs its command itself
        self.lock = threading.Lock()

    def answer(self, conn: socket.socket, done: Callable[[], None]) -> None:
        """Read one request from ``conn`` (within ``read_timeout`` seconds of now, in all),
        answer it, close ``conn``, call ``done``."""
        deadline = time.monotonic() + self.read_timeout
        try:
            with conn:
                if not peer_trusted(peer_uid(conn)):
                    return  # another user: not a byte read, not a byte answered
                reply = self._reply(conn, deadline)
                if reply is None:  # the client has gone: nobody to answer
                    return
                with contextlib.suppress(OSError):
                    conn.settimeout(self.read_timeout)  # a client that reads no answer
                    conn.sendall(json.dumps(reply).encode())
        except OSError:
            pass
        finally:
            done()

    def _reply(self, conn: socket.socket, deadline: float) -> dict | None:
        try:
            request = json.loads(read_all(conn, self.max_request, deadline))
        except RequestTooLarge:
            return _refusal(f"request larger than {self.max_request} bytes: not read")
        except TimeoutError:
            return _refusal(f"no complete request within {self.read_timeout:g} s")
        except (ValueError, RecursionError) as exc:
            return _refusal(f"request is not JSON ({exc})")
        problem = _malformed(request)
        if problem:
            return _refusal(f"malformed request: {problem}")
        if (request.get("key") != self.key or request["env"] != self.env or not request["argv"]
                or request["argv"][0] not in FORWARDED):
            return {"code": None}  # other code or settings, or a command this server does not run
        from .serve_jobs import CommandFailed  # (not imported by every `resim` start, as this module is)

        try:
            with self.lock:
                return self.run(request, conn)
        except CommandFailed as exc:  # a bad cwd, a bug with RESIM_DEBUG set, a crash: answer, stay up
            return _refusal(str(exc))
        except Exception as exc:
            return _refusal(f"{type(exc).__name__}: {exc}")


def _refusal(message: str) -> dict:
    return {"code": None, "error": message}


def _malformed(request: object) -> str | None:
    """What is wrong with the shape of ``request``, or None."""
    if not isinstance(request, dict):
        return f"expected a JSON object, got {type(request).__name__}"
    argv = request.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return "'argv' must be a list of strings"
    if not isinstance(request.get("cwd"), str):
        return "'cwd' must be a string"
    if not isinstance(request.get("stdin"), (str, type(None))):
        return "'stdin' must be a string or null"
    umask = request.get("umask")
    if not (isinstance(umask, int) and not isinstance(umask, bool) and 0 <= umask <= 0o777):
        return "'umask' must be an integer from 0 to 511 (0o777)"
    env = request.get("env")
    if not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
        return "'env' must be an object of strings"
    return None
